//! Custom emoji in the pages: `:shortcode:` of an emoji in the entity's `emojis` becomes
//! an `<img class="emoji">` (its `alt` the shortcode), in post HTML (text only, never
//! inside a tag) and in plain-text names. The CSP's `img-src` allows our own images
//! and any `https:` one, so remote emojis load when served over HTTPS.

use minijinja::Value;
use sluice_model::content::escape_html;

/// The emojis of an entity: shortcode -> image URL.
fn emoji_urls(emojis: &Value) -> Vec<(String, String)> {
    let Ok(iter) = emojis.try_iter() else {
        return vec![];
    };
    iter.filter_map(|e| {
        let code = e.get_attr("shortcode").ok()?.as_str()?.to_string();
        let url = e.get_attr("url").ok()?.as_str()?.to_string();
        (url.starts_with("https://") || url.starts_with("http://")).then_some((code, url))
    })
    .collect()
}

fn img(code: &str, url: &str) -> String {
    format!(
        "<img class=\"emoji\" src=\"{}\" alt=\":{code}:\" title=\":{code}:\">",
        escape_html(url)
    )
}

/// Replaces the known shortcodes in `text` (a text run, already escaped).
fn replace_codes(text: &str, emojis: &[(String, String)], out: &mut String) {
    let mut rest = text;
    for code in sluice_engine::emojis::shortcodes_in(text) {
        let Some((c, url)) = emojis.iter().find(|(c, _)| c == code) else {
            continue;
        };
        let needle = format!(":{c}:");
        if let Some(at) = rest.find(&needle) {
            out.push_str(&rest[..at]);
            out.push_str(&img(c, url));
            rest = &rest[at + needle.len()..];
        }
    }
    out.push_str(rest);
}

/// `html|emojify_html(emojis)`: sanitized HTML with its emojis as images.
pub fn emojify_html(html: String, emojis: Value) -> Value {
    let emojis = emoji_urls(&emojis);
    if emojis.is_empty() {
        return Value::from_safe_string(html);
    }
    let mut out = String::with_capacity(html.len());
    let mut text_start = 0;
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'<' {
            replace_codes(&html[text_start..i], &emojis, &mut out);
            // Copy the tag, quotes and all.
            let start = i;
            let mut quote = None;
            while i < bytes.len() {
                match (quote, bytes[i]) {
                    (None, b'"' | b'\'') => quote = Some(bytes[i]),
                    (Some(q), b) if b == q => quote = None,
                    (None, b'>') => break,
                    _ => {}
                }
                i += 1;
            }
            i = (i + 1).min(bytes.len());
            out.push_str(&html[start..i]);
            text_start = i;
        } else {
            i += 1;
        }
    }
    replace_codes(&html[text_start..], &emojis, &mut out);
    Value::from_safe_string(out)
}

/// `text|emojify_text(emojis)`: plain text escaped, its emojis as images.
pub fn emojify_text(text: String, emojis: Value) -> Value {
    emojify_html(escape_html(&text), emojis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_is_replaced() {
        let cat = Value::from(std::collections::BTreeMap::from([
            ("shortcode", Value::from("cat")),
            ("url", Value::from("https://x.example/cat.png")),
        ]));
        let emojis = Value::from(vec![cat]);
        let out = emojify_html(
            "<p>a :cat: <a href=\"https://y/ :cat: \">:cat:</a> :dog:</p>".into(),
            emojis.clone(),
        );
        assert_eq!(
            out.as_str().unwrap(),
            "<p>a <img class=\"emoji\" src=\"https://x.example/cat.png\" alt=\":cat:\" title=\":cat:\"> \
             <a href=\"https://y/ :cat: \"><img class=\"emoji\" src=\"https://x.example/cat.png\" alt=\":cat:\" title=\":cat:\"></a> :dog:</p>"
        );
        let name = emojify_text("<b>:cat:</b>".into(), emojis);
        assert!(
            name.as_str().unwrap().starts_with("&lt;b&gt;<img"),
            "{name}"
        );
    }
}
