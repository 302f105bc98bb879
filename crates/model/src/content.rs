//! Status text and HTML handling: the one place where user-supplied text
//! turns into HTML and where foreign HTML is made safe.
//!
//! Mastodon clients send a post as plain text (the `status` parameter) and
//! expect to get back HTML shaped the way Mastodon renders it (links with
//! invisible scheme spans, `h-card` mentions, `hashtag` links), while remote
//! servers send us HTML we must never trust. Keeping the scanning of mentions
//! and hashtags, the rendering, the sanitizer policy and the reverse
//! HTML-to-text conversion together means the rules for "what counts as a
//! mention" and "what markup is allowed" are written down exactly once.
//!
//! Everything here is a pure function: lookups that need the database
//! (does `@bob@example.com` exist? what is the URL of tag `rust`?) are passed
//! in as callbacks by the caller.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};

/// Longest hashtag name (in characters) that we recognise. Longer runs are
/// left as plain text: nobody types such tags, and it keeps tag rows and
/// URLs bounded.
pub const MAX_TAG_CHARS: usize = 100;

/// How many characters of a link (after the scheme) are shown before the rest
/// is hidden behind an ellipsis. Same value Mastodon uses, so clients that
/// rely on the `ellipsis`/`invisible` classes render our links identically.
pub const URL_DISPLAY_CHARS: usize = 30;

/// Largest HTML input the sanitizer processes, in bytes. Parsing with
/// html5ever and walking the DOM costs time and memory proportional to the
/// input (plus a constant factor for the tree), so a hostile remote server
/// could otherwise make us do unbounded work per object. Real posts and
/// profile notes are a few kilobytes; anything beyond this is truncated at a
/// character boundary before parsing, which bounds the work per call.
pub const MAX_HTML_BYTES: usize = 512 * 1024;

/// Longest character reference (`&...;`) `html_to_plain` tries to decode,
/// counting the bytes between `&` and `;`. `#x10FFFF` is 8 bytes; names we
/// decode are shorter. Bounding it keeps the scan linear on input full of
/// stray `&`.
const MAX_ENTITY_LEN: usize = 10;

/// An account reference as written in text: `@username` (local, `domain` is
/// `None`) or `@username@domain`. Case is preserved as typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Acct {
    pub username: String,
    pub domain: Option<String>,
}

/// Mentions and hashtags found in a plain-text status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scan {
    /// Deduplicated case-insensitively, in first-seen order, case as typed.
    pub mentions: Vec<Acct>,
    /// Normalised (lowercase), deduplicated, in first-seen order.
    pub tags: Vec<String>,
}

/// Where a resolved mention links to and the username to display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionTarget {
    pub url: String,
    pub username: String,
}

/// Whether a JSON value holds a NUL character, in a string or a property name, at any
/// depth. No text we keep may hold one: it means nothing in any field we know, and
/// PostgreSQL cannot store it in text (SQLite can, so refusing it everywhere keeps the
/// two engines alike). Iterative: a value of any depth is safe.
pub fn json_has_nul(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    let mut pending = vec![v];
    while let Some(v) = pending.pop() {
        match v {
            Value::String(s) if s.contains('\0') => return true,
            Value::Array(a) => pending.extend(a),
            Value::Object(o) => {
                if o.keys().any(|k| k.contains('\0')) {
                    return true;
                }
                pending.extend(o.values());
            }
            _ => {}
        }
    }
    false
}

/// Escapes text for use in HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------
// Tokenizing plain text
// ---------------------------------------------------------------------------

/// One piece of plain text, in order. Concatenating the raw text of all tokens
/// gives back the input.
#[derive(Debug, PartialEq)]
enum Token<'a> {
    Text(&'a str),
    Url(&'a str),
    /// `raw` is the whole `@user@domain` as written.
    Mention {
        raw: &'a str,
        acct: Acct,
    },
    /// The tag name as written, without `#`.
    Tag(&'a str),
}

/// Characters of a local username (Mastodon allows `.` and `-` only inside).
fn is_username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// "Word" characters in the sense of the mention/URL boundary rules.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// An approximation of Unicode general category M (combining marks), which
/// `char` does not expose. Covers the generic combining blocks and the marks
/// of the common Indic and Thai scripts that are not already `Alphabetic`
/// (viramas, tone marks), so tags such as decomposed `#café` or Hindi words
/// are not cut in the middle.
fn is_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05BD}'
        | '\u{064B}'..='\u{065F}'
        | '\u{094D}' | '\u{09CD}' | '\u{0A4D}' | '\u{0ACD}' | '\u{0B4D}'
        | '\u{0BCD}' | '\u{0C4D}' | '\u{0CCD}' | '\u{0D4D}' | '\u{0DCA}'
        | '\u{0E31}' | '\u{0E34}'..='\u{0E3A}' | '\u{0E47}'..='\u{0E4E}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{3099}'..='\u{309A}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FE20}'..='\u{FE2F}')
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || is_mark(c)
}

/// Separators Mastodon accepts inside (never at the end of) a hashtag:
/// middle dot, katakana middle dot and zero-width non-joiner.
fn is_tag_separator(c: char) -> bool {
    matches!(c, '\u{00B7}' | '\u{30FB}' | '\u{200C}')
}

/// May an `@` that follows `prev` start a mention? Not after a word
/// character (that is an e-mail address) nor after `/` or `=` (URL paths and
/// query strings written without a scheme).
fn mention_may_follow(prev: Option<char>) -> bool {
    match prev {
        None => true,
        Some(c) => !(is_word_char(c) || is_mark(c) || matches!(c, '/' | '=')),
    }
}

/// May a `#` that follows `prev` start a hashtag? Only at the start or after
/// whitespace/punctuation, and not after `&` (character references such as
/// `&#39;`), `/` or `=` (URL fragments), or `)`.
fn tag_may_follow(prev: Option<char>) -> bool {
    match prev {
        None => true,
        Some(c) => !(is_word_char(c) || is_mark(c) || matches!(c, '&' | '/' | '=' | ')')),
    }
}

fn url_may_follow(prev: Option<char>) -> bool {
    prev.is_none_or(|c| !is_word_char(c))
}

/// Length of the scheme prefix (`http://` or `https://`, any case) of `s`.
fn url_scheme_len(s: &str) -> Option<usize> {
    let starts = |prefix: &str| {
        s.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    if starts("https://") {
        Some("https://".len())
    } else if starts("http://") {
        Some("http://".len())
    } else {
        None
    }
}

/// If `s` starts with a link, its length in bytes.
fn match_url(s: &str) -> Option<usize> {
    let scheme_len = url_scheme_len(s)?;
    let end = s
        .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
        .unwrap_or(s.len());
    let mut candidate = &s[..end];
    // Punctuation closing a sentence is not part of the link, and neither is
    // a `)` closing a parenthesis opened before the link.
    loop {
        if let Some(shorter) = candidate.strip_suffix(['.', ',', ';', ':', '!', '?', '\'', '"']) {
            candidate = shorter;
        } else if let Some(shorter) = candidate.strip_suffix(')') {
            let opens = candidate.matches('(').count();
            let closes = candidate.matches(')').count();
            if closes > opens {
                candidate = shorter;
            } else {
                break;
            }
        } else {
            break;
        }
    }
    if candidate.len() <= scheme_len {
        return None;
    }
    let parsed = url::Url::parse(candidate).ok()?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return None;
    }
    Some(candidate.len())
}

/// If `s` (the text right after an `@`) starts with a mention, the length of
/// the mention after the `@` and the account.
fn match_mention(s: &str) -> Option<(usize, Acct)> {
    let run = s
        .find(|c: char| !(is_username_char(c) || c == '.' || c == '-'))
        .unwrap_or(s.len());
    let username = s[..run].trim_end_matches(['.', '-']);
    if !username.starts_with(is_username_char) {
        return None;
    }
    let mut len = username.len();
    let mut domain = None;
    if let Some(after) = s[len..].strip_prefix('@') {
        let run = after
            .find(|c: char| !(is_word_char(c) || c == '.' || c == '-'))
            .unwrap_or(after.len());
        let host = after[..run].trim_end_matches(['.', '-']);
        if host.starts_with(is_word_char) {
            // A port, as loopback and private deployments have: `@bob@host:8443`
            // (digits right after the colon, and nothing word-like after them).
            let rest = &after[host.len()..];
            let port = rest
                .strip_prefix(':')
                .map(|p| {
                    p.find(|c: char| !c.is_ascii_digit())
                        .map_or(p, |end| &p[..end])
                })
                .filter(|digits| {
                    (1..=5).contains(&digits.len())
                        && !rest[1 + digits.len()..].starts_with(is_word_char)
                        && digits.parse::<u16>().is_ok_and(|p| p > 0)
                });
            let full = match port {
                Some(digits) => &after[..host.len() + 1 + digits.len()],
                None => host,
            };
            len += 1 + full.len();
            domain = Some(full.to_owned());
        }
    }
    Some((
        len,
        Acct {
            username: username.to_owned(),
            domain,
        },
    ))
}

/// If `s` (the text right after a `#`) starts with a hashtag, its length.
fn match_tag(s: &str) -> Option<usize> {
    let run = s
        .find(|c: char| !(is_tag_char(c) || is_tag_separator(c)))
        .unwrap_or(s.len());
    let name = s[..run].trim_end_matches(is_tag_separator);
    if !name.starts_with(is_tag_char) {
        return None;
    }
    // At least one letter: `#1` or `#2024` are numbers, not tags.
    if !name.chars().any(|c| c.is_alphabetic() || is_mark(c)) {
        return None;
    }
    if name.chars().count() > MAX_TAG_CHARS {
        return None;
    }
    Some(name.len())
}

/// A hashtag name as people type it (`#Rust`, ` rust `): lowercased, without `#`;
/// None when it is not a whole hashtag as posts recognise them.
pub fn normalize_tag(input: &str) -> Option<String> {
    let name = input.trim();
    let name = name.strip_prefix('#').unwrap_or(name);
    (match_tag(name)? == name.len()).then(|| name.to_lowercase())
}

/// Splits plain text into text, links, mentions and hashtags. Links are
/// recognised first, so `@` and `#` inside a link never start anything.
fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    let mut prev: Option<char> = None;
    while let Some(c) = text[i..].chars().next() {
        let rest = &text[i..];
        let found = match c {
            'h' | 'H' if url_may_follow(prev) => {
                match_url(rest).map(|len| (len, Token::Url(&rest[..len])))
            }
            '@' if mention_may_follow(prev) => match_mention(&rest[1..]).map(|(len, acct)| {
                let raw = &rest[..1 + len];
                (1 + len, Token::Mention { raw, acct })
            }),
            '#' if tag_may_follow(prev) => {
                match_tag(&rest[1..]).map(|len| (1 + len, Token::Tag(&rest[1..1 + len])))
            }
            _ => None,
        };
        match found {
            Some((len, token)) => {
                if text_start < i {
                    tokens.push(Token::Text(&text[text_start..i]));
                }
                tokens.push(token);
                i += len;
                text_start = i;
                prev = text[..i].chars().next_back();
            }
            None => {
                i += c.len_utf8();
                prev = Some(c);
            }
        }
    }
    if text_start < text.len() {
        tokens.push(Token::Text(&text[text_start..]));
    }
    tokens
}

/// Finds the mentions and hashtags in a plain-text status.
pub fn scan(text: &str) -> Scan {
    let mut result = Scan::default();
    let mut seen_mentions = HashSet::new();
    let mut seen_tags = HashSet::new();
    for token in tokenize(text) {
        match token {
            Token::Mention { acct, .. } => {
                let key = (
                    acct.username.to_lowercase(),
                    acct.domain.as_deref().map(str::to_lowercase),
                );
                if seen_mentions.insert(key) {
                    result.mentions.push(acct);
                }
            }
            Token::Tag(name) => {
                let name = name.to_lowercase();
                if seen_tags.insert(name.clone()) {
                    result.tags.push(name);
                }
            }
            Token::Text(_) | Token::Url(_) => {}
        }
    }
    result
}

// ---------------------------------------------------------------------------
// Plain text to HTML
// ---------------------------------------------------------------------------

/// Renders a plain-text status as HTML the way Mastodon does: escaped text,
/// `<p>` per paragraph (separated by blank lines), `<br />` for single line
/// breaks, and links for URLs, resolved mentions and hashtags.
///
/// `tag_url` receives the lowercase tag name; `mention` decides whether an
/// `@user[@domain]` refers to a known account (unresolved mentions stay text).
pub fn plain_to_html(
    text: &str,
    tag_url: &dyn Fn(&str) -> String,
    mention: &dyn Fn(&Acct) -> Option<MentionTarget>,
) -> String {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::new();
    let mut paragraph: Vec<&str> = Vec::new();
    for line in normalized.split('\n') {
        if line.trim().is_empty() {
            push_paragraph(&mut out, &mut paragraph, tag_url, mention);
        } else {
            paragraph.push(line);
        }
    }
    push_paragraph(&mut out, &mut paragraph, tag_url, mention);
    out
}

/// Renders the value of a local profile field as Mastodon does: plain text on one
/// line, escaped, with links and hashtags made clickable (no paragraphs, no mentions).
/// Fields are stored as their owner typed them and rendered when read, so a value
/// stored by any version is shown safely.
pub fn field_value_html(text: &str, tag_url: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    for token in tokenize(text) {
        push_token(&mut out, token, tag_url, &|_| None);
    }
    out
}

fn push_paragraph(
    out: &mut String,
    lines: &mut Vec<&str>,
    tag_url: &dyn Fn(&str) -> String,
    mention: &dyn Fn(&Acct) -> Option<MentionTarget>,
) {
    if lines.is_empty() {
        return;
    }
    out.push_str("<p>");
    for (n, line) in lines.iter().enumerate() {
        if n > 0 {
            out.push_str("<br />");
        }
        for token in tokenize(line) {
            push_token(out, token, tag_url, mention);
        }
    }
    out.push_str("</p>");
    lines.clear();
}

fn push_token(
    out: &mut String,
    token: Token<'_>,
    tag_url: &dyn Fn(&str) -> String,
    mention: &dyn Fn(&Acct) -> Option<MentionTarget>,
) {
    match token {
        Token::Text(text) => push_escaped(out, text),
        Token::Url(url) => push_link(out, url),
        Token::Mention { raw, acct } => match mention(&acct) {
            Some(target) => {
                out.push_str(r#"<span class="h-card" translate="no"><a href=""#);
                push_escaped(out, &target.url);
                out.push_str(r#"" class="u-url mention">@<span>"#);
                push_escaped(out, &target.username);
                out.push_str("</span></a></span>");
            }
            None => push_escaped(out, raw),
        },
        Token::Tag(name) => {
            out.push_str(r#"<a href=""#);
            push_escaped(out, &tag_url(&name.to_lowercase()));
            out.push_str(r##"" class="mention hashtag" rel="tag">#<span>"##);
            push_escaped(out, name);
            out.push_str("</span></a>");
        }
    }
}

fn push_link(out: &mut String, url: &str) {
    let scheme_len = url_scheme_len(url).unwrap_or(0);
    let (scheme, rest) = url.split_at(scheme_len);
    out.push_str(r#"<a href=""#);
    push_escaped(out, url);
    out.push_str(
        r#"" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">"#,
    );
    push_escaped(out, scheme);
    out.push_str("</span>");
    match rest.char_indices().nth(URL_DISPLAY_CHARS) {
        Some((cut, _)) => {
            out.push_str(r#"<span class="ellipsis">"#);
            push_escaped(out, &rest[..cut]);
            out.push_str(r#"</span><span class="invisible">"#);
            push_escaped(out, &rest[cut..]);
            out.push_str("</span>");
        }
        None => {
            out.push_str(r#"<span class="">"#);
            push_escaped(out, rest);
            out.push_str(r#"</span><span class="invisible"></span>"#);
        }
    }
    out.push_str("</a>");
}

// ---------------------------------------------------------------------------
// Markdown to HTML
// ---------------------------------------------------------------------------

/// The source formats a local post may be written in (Pleroma's `content_type`).
pub const CONTENT_TYPES: [&str; 2] = ["text/plain", MARKDOWN];
/// Markdown's media type.
pub const MARKDOWN: &str = "text/markdown";

/// The parser's extensions: `~~strikethrough~~` besides CommonMark.
fn markdown_options() -> pulldown_cmark::Options {
    pulldown_cmark::Options::ENABLE_STRIKETHROUGH
}

/// Whether text events at this point are linked (not inside a link, an image's text,
/// or code).
struct MarkdownState {
    opaque_depth: usize,
}

/// Renders a Markdown post as HTML (CommonMark with strikethrough): raw HTML in it is
/// shown as text, never passed; single line breaks are kept; images become links;
/// text outside links and code gets links, mentions and hashtags exactly as a plain
/// post's; the result then passes [`sanitize_html`].
pub fn markdown_to_html(
    text: &str,
    tag_url: &dyn Fn(&str) -> String,
    mention: &dyn Fn(&Acct) -> Option<MentionTarget>,
) -> String {
    use pulldown_cmark::{CowStr, Event, Parser, Tag, TagEnd, TextMergeStream};
    let mut state = MarkdownState { opaque_depth: 0 };
    let events = TextMergeStream::new(Parser::new_ext(text, markdown_options())).map(|ev| {
        match ev {
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                state.opaque_depth += 1;
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            }
            Event::End(TagEnd::Image) => {
                state.opaque_depth = state.opaque_depth.saturating_sub(1);
                Event::End(TagEnd::Link)
            }
            Event::Start(t @ (Tag::Link { .. } | Tag::CodeBlock(_))) => {
                state.opaque_depth += 1;
                Event::Start(t)
            }
            Event::End(t @ (TagEnd::Link | TagEnd::CodeBlock)) => {
                state.opaque_depth = state.opaque_depth.saturating_sub(1);
                Event::End(t)
            }
            // Raw HTML is text here: escaped by the writer.
            Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
            Event::SoftBreak => Event::HardBreak,
            Event::Text(t) if state.opaque_depth == 0 => {
                let mut out = String::new();
                for token in tokenize(&t) {
                    push_token(&mut out, token, tag_url, mention);
                }
                Event::Html(CowStr::from(out))
            }
            other => other,
        }
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    sanitize_html(&html)
}

/// The text of a Markdown post that is linked (outside links and code), one piece
/// per line: what [`scan`] reads for its mentions and hashtags.
pub fn markdown_linked_text(text: &str) -> String {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd, TextMergeStream};
    let mut depth = 0usize;
    let mut out = String::new();
    for ev in TextMergeStream::new(Parser::new_ext(text, markdown_options())) {
        match ev {
            Event::Start(Tag::Link { .. } | Tag::Image { .. } | Tag::CodeBlock(_)) => depth += 1,
            Event::End(TagEnd::Link | TagEnd::Image | TagEnd::CodeBlock) => {
                depth = depth.saturating_sub(1)
            }
            Event::Text(t) if depth == 0 => {
                out.push_str(&t);
                out.push('\n');
            }
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Sanitizing HTML
// ---------------------------------------------------------------------------

/// Class names allowed on `a` and `span` besides microformats: what Mastodon
/// itself emits for mentions, hashtags and shortened links.
const ALLOWED_CLASSES: [&str; 4] = ["mention", "hashtag", "invisible", "ellipsis"];

/// Microformats class prefixes (`h-card`, `u-url`, `p-name`, `dt-published`,
/// `e-content`), kept because clients and other servers read them.
const MICROFORMAT_PREFIXES: [&str; 5] = ["h-", "p-", "u-", "dt-", "e-"];

fn is_allowed_class(class: &str) -> bool {
    ALLOWED_CLASSES.contains(&class)
        || MICROFORMAT_PREFIXES.iter().any(|prefix| {
            class.len() > prefix.len()
                && class.starts_with(prefix)
                && class
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Final say over every attribute that passed the tag/attribute allowlist.
fn filter_attribute<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    match attribute {
        "class" => {
            let kept: Vec<&str> = value
                .split_ascii_whitespace()
                .filter(|class| is_allowed_class(class))
                .collect();
            if kept.is_empty() {
                None
            } else {
                Some(Cow::Owned(kept.join(" ")))
            }
        }
        "translate" => {
            let value = value.trim();
            (value.eq_ignore_ascii_case("yes") || value.eq_ignore_ascii_case("no"))
                .then(|| Cow::Owned(value.to_ascii_lowercase()))
        }
        // Numbers only: nothing else means anything there.
        "start" | "value" => value
            .trim()
            .parse::<i64>()
            .ok()
            .map(|n| Cow::Owned(n.to_string())),
        "reversed" if element == "ol" => Some(Cow::Borrowed("")),
        _ => Some(Cow::Borrowed(value)),
    }
}

/// The sanitizer policy, built once: building it allocates a dozen sets.
static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::default();
    builder
        .tags(HashSet::from([
            "p",
            "br",
            "span",
            "a",
            "del",
            "pre",
            "blockquote",
            "code",
            "b",
            "strong",
            "u",
            "i",
            "em",
            "ul",
            "ol",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
        ]))
        // Elements dropped together with everything inside them: their
        // content is code, styling or foreign markup, never readable text.
        .clean_content_tags(HashSet::from([
            "script", "style", "svg", "math", "iframe", "object", "embed", "noscript", "template",
            "textarea", "select",
        ]))
        .tag_attributes(HashMap::from([
            ("a", HashSet::from(["href", "class", "translate"])),
            ("span", HashSet::from(["class", "translate"])),
            ("ol", HashSet::from(["start", "reversed"])),
            ("li", HashSet::from(["value"])),
        ]))
        .tag_attribute_values(HashMap::new())
        .generic_attributes(HashSet::new())
        .set_tag_attribute_values(HashMap::from([(
            "a",
            HashMap::from([("target", "_blank")]),
        )]))
        .url_schemes(HashSet::from(["http", "https", "mailto", "xmpp"]))
        // Relative links mean nothing once the HTML leaves its origin server.
        .url_relative(UrlRelative::Deny)
        .link_rel(Some("nofollow noopener noreferrer"))
        .strip_comments(true)
        .attribute_filter(filter_attribute);
    builder
});

/// Cleans HTML with an allowlist modelled on Mastodon's: basic text markup,
/// links (http/https/mailto/xmpp only, with forced `rel` and `target`) and
/// the classes Mastodon uses for mentions, hashtags and microformats.
/// Everything else is removed; script-like elements lose their content too.
pub fn sanitize_html(html: &str) -> String {
    let html = &html[..html.floor_char_boundary(MAX_HTML_BYTES)];
    SANITIZER.clean(html).to_string()
}

// ---------------------------------------------------------------------------
// HTML to plain text
// ---------------------------------------------------------------------------

/// Converts HTML to readable plain text (RSS titles, search, the `text`
/// fallback): `<br>` becomes a newline, paragraphs and other blocks are
/// separated by a blank line, list items start a new line, tags are
/// dropped, `script`/`style` content and comments are skipped, and the
/// common character references are decoded. Never panics; unterminated
/// tags at the end are dropped.
pub fn html_to_plain(html: &str) -> String {
    let mut out = String::new();
    // Newlines owed before the next text (2 = paragraph break).
    let mut pending_breaks = 0;
    let mut pre_depth = 0usize;
    let mut rest = html;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        if starts_tag(rest) {
            let Some((tag, len)) = parse_tag(rest) else {
                break;
            };
            rest = &rest[len..];
            match tag.name.as_str() {
                "br" => {
                    trim_trailing_spaces(&mut out);
                    out.push('\n');
                }
                "p" | "div" | "blockquote" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "h5"
                | "h6" | "hr" | "table" | "section" | "article" | "header" | "footer" => {
                    pending_breaks = pending_breaks.max(2);
                }
                "li" | "tr" | "dt" | "dd" => pending_breaks = pending_breaks.max(1),
                "pre" => {
                    pending_breaks = pending_breaks.max(2);
                    if tag.closing {
                        pre_depth = pre_depth.saturating_sub(1);
                    } else {
                        pre_depth += 1;
                    }
                }
                "script" | "style" if !tag.closing => {
                    rest = skip_raw_text(rest, &tag.name);
                }
                _ => {}
            }
            continue;
        }
        // Text up to the next `<` (a `<` that does not start a tag is text).
        let end = rest
            .char_indices()
            .skip(1)
            .find(|&(_, c)| c == '<')
            .map_or(rest.len(), |(i, _)| i);
        let raw = &rest[..end];
        rest = &rest[end..];
        let mut text = String::new();
        if pre_depth > 0 {
            decode_entities(raw, &mut text);
        } else {
            decode_entities(&collapse_whitespace(raw), &mut text);
        }
        let at_line_start = out.is_empty() || out.ends_with('\n') || pending_breaks > 0;
        let text = if at_line_start && pre_depth == 0 {
            text.trim_start().to_owned()
        } else {
            text
        };
        if text.is_empty() {
            continue;
        }
        if !out.is_empty() && pending_breaks > 0 {
            trim_trailing_spaces(&mut out);
            let have = out.len() - out.trim_end_matches('\n').len();
            for _ in have..pending_breaks {
                out.push('\n');
            }
        }
        pending_breaks = 0;
        out.push_str(&text);
    }
    out.trim().to_owned()
}

struct Tag {
    /// Lowercase ASCII name; empty for `<!...>` and `<?...>`.
    name: String,
    closing: bool,
}

/// Does `s` start with something an HTML parser treats as markup?
fn starts_tag(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.get(1), b.get(2)) {
        (Some(b'<'), Some(c), _) if c.is_ascii_alphabetic() || *c == b'!' || *c == b'?' => true,
        (Some(b'<'), Some(b'/'), Some(c)) => c.is_ascii_alphabetic(),
        _ => false,
    }
}

/// Parses the tag at the start of `s` (which satisfies `starts_tag`),
/// returning it and its length, or `None` if it never ends.
fn parse_tag(s: &str) -> Option<(Tag, usize)> {
    let body = &s[1..];
    let (closing, body) = match body.strip_prefix('/') {
        Some(after) => (true, after),
        None => (false, body),
    };
    let name_len = body
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(body.len());
    let name = body[..name_len].to_ascii_lowercase();
    // Find the closing `>`, skipping quoted attribute values.
    let mut quote = None;
    for (i, c) in body.char_indices().skip(name_len) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '>') => {
                let len = s.len() - body.len() + i + 1;
                return Some((Tag { name, closing }, len));
            }
            _ => {}
        }
    }
    None
}

/// Skips the content of a raw-text element (`script`, `style`) up to and
/// including its end tag; returns what follows, or `""` if it never ends.
fn skip_raw_text<'a>(s: &'a str, name: &str) -> &'a str {
    let end_tag = format!("</{name}");
    let found = s
        .as_bytes()
        .windows(end_tag.len())
        .position(|window| window.eq_ignore_ascii_case(end_tag.as_bytes()));
    match found {
        // The match is ASCII, so these are char boundaries.
        Some(pos) => {
            let after = &s[pos + end_tag.len()..];
            after.find('>').map_or("", |gt| &after[gt + 1..])
        }
        None => "",
    }
}

fn trim_trailing_spaces(out: &mut String) {
    let kept = out.trim_end_matches([' ', '\t']).len();
    out.truncate(kept);
}

/// Collapses runs of ASCII whitespace into one space, as HTML rendering does.
fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_space = false;
    for c in s.chars() {
        if c.is_ascii_whitespace() {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}

fn decode_entities(s: &str, out: &mut String) {
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        match decode_entity(after) {
            Some((c, len)) => {
                out.push(c);
                rest = &after[len..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

/// Decodes the character reference at the start of `s` (just after `&`),
/// returning the character and the length consumed including `;`.
fn decode_entity(s: &str) -> Option<(char, usize)> {
    let semi = s.bytes().take(MAX_ENTITY_LEN + 1).position(|b| b == b';')?;
    let name = &s[..semi];
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        // Plain text consumers (search, titles) want an ordinary space.
        "nbsp" => ' ',
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse::<u32>().ok()?,
            };
            if code == 0 {
                return None;
            }
            char::from_u32(code)?
        }
    };
    Some((c, semi + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(username: &str, domain: Option<&str>) -> Acct {
        Acct {
            username: username.to_owned(),
            domain: domain.map(str::to_owned),
        }
    }

    /// Expected mentions as `(username, domain)`.
    type ExpectedMentions = &'static [(&'static str, Option<&'static str>)];

    #[test]
    fn scan_mentions() {
        let cases: &[(&str, ExpectedMentions)] = &[
            ("hello @alice", &[("alice", None)]),
            ("@alice@example.com hi", &[("alice", Some("example.com"))]),
            (
                "(@bob.smith-x@sub.example.org).",
                &[("bob.smith-x", Some("sub.example.org"))],
            ),
            ("end of sentence @carol.", &[("carol", None)]),
            ("@dave@example.com.", &[("dave", Some("example.com"))]),
            ("@bob@host:8443 hi", &[("bob", Some("host:8443"))]),
            ("@bob@127.0.0.1:3000.", &[("bob", Some("127.0.0.1:3000"))]),
            ("@bob@host: hello", &[("bob", Some("host"))]),
            ("@bob@host:99999 x", &[("bob", Some("host"))]),
            ("@bob@host:80ab x", &[("bob", Some("host"))]),
            (
                "@Alice @alice @ALICE@Example.com @alice@example.COM",
                &[("Alice", None), ("ALICE", Some("Example.com"))],
            ),
            ("mail me at a@b.c or alice@example.com", &[]),
            (
                "see https://example.com/@alice and https://x.y/users/@bob@z.w",
                &[],
            ),
            ("example.com/@alice ?x=@bob", &[]),
            ("@ alone, @.dot, @-dash", &[]),
            ("@eve@ trailing at", &[("eve", None)]),
            (
                "line\n@frank\t@grace@h.i",
                &[("frank", None), ("grace", Some("h.i"))],
            ),
            ("@@heidi", &[("heidi", None)]),
        ];
        for (text, expected) in cases {
            let expected: Vec<Acct> = expected.iter().map(|(u, d)| acct(u, *d)).collect();
            assert_eq!(scan(text).mentions, expected, "input: {text:?}");
        }
    }

    #[test]
    fn tag_names_as_typed() {
        assert_eq!(normalize_tag("#Rust").as_deref(), Some("rust"));
        assert_eq!(normalize_tag(" café ").as_deref(), Some("café"));
        assert_eq!(normalize_tag("rust_lang").as_deref(), Some("rust_lang"));
        assert_eq!(normalize_tag("two words"), None);
        assert_eq!(normalize_tag("2024"), None);
        assert_eq!(normalize_tag(""), None);
        assert_eq!(normalize_tag("a%"), None);
    }

    #[test]
    fn scan_tags() {
        let long = format!("#{} #ok", "a".repeat(MAX_TAG_CHARS + 1));
        let exact = format!("#{}", "b".repeat(MAX_TAG_CHARS));
        let cases: &[(&str, &[&str])] = &[
            ("#rust is fun", &["rust"]),
            ("#café and #日本語", &["café", "日本語"]),
            ("#Rust #RUST #rust #Go", &["rust", "go"]),
            ("#123 #2024 but #1a and #a1", &["1a", "a1"]),
            ("https://x.y/#frag and https://x.y/p#frag2", &[]),
            ("x.y/#frag a#b &#39; (x)#y", &[]),
            (
                "(#paren) #end. #comma, #q?",
                &["paren", "end", "comma", "q"],
            ),
            ("#snake_case_ #under_score", &["snake_case_", "under_score"]),
            ("#中文·标签· end", &["中文·标签"]),
            ("##double", &["double"]),
            ("# space, #", &[]),
            (&long, &["ok"]),
        ];
        for (text, expected) in cases {
            assert_eq!(scan(text).tags, *expected, "input: {text:?}");
        }
        assert_eq!(scan(&exact).tags, vec!["b".repeat(MAX_TAG_CHARS)]);
        // Decomposed é (e + U+0301) stays one tag.
        assert_eq!(scan("#cafe\u{301}!").tags, vec!["cafe\u{301}".to_owned()]);
    }

    fn tag_url(name: &str) -> String {
        format!("https://sluice.test/tags/{name}")
    }

    fn resolve(acct: &Acct) -> Option<MentionTarget> {
        match (acct.username.as_str(), acct.domain.as_deref()) {
            ("alice", None) => Some(MentionTarget {
                url: "https://sluice.test/@alice".to_owned(),
                username: "alice".to_owned(),
            }),
            ("bob", Some("remote.example")) => Some(MentionTarget {
                url: "https://remote.example/@bob?a=1&b=\"2\"".to_owned(),
                username: "bob".to_owned(),
            }),
            _ => None,
        }
    }

    fn render(text: &str) -> String {
        plain_to_html(text, &tag_url, &resolve)
    }

    #[test]
    fn plain_to_html_structure_and_escaping() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("  \n\n \t\n", ""),
            ("hello", "<p>hello</p>"),
            ("one\ntwo", "<p>one<br />two</p>"),
            ("one\r\ntwo\rthree", "<p>one<br />two<br />three</p>"),
            ("a\n\nb", "<p>a</p><p>b</p>"),
            ("a\n\n\n\nb\nc", "<p>a</p><p>b<br />c</p>"),
            ("a\n  \nb", "<p>a</p><p>b</p>"),
            ("\n\na\n\n", "<p>a</p>"),
            (
                "<script>alert('x')</script> & \"q\"",
                "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</p>",
            ),
            ("@nobody is here", "<p>@nobody is here</p>"),
            ("@nobody@<x>", "<p>@nobody@&lt;x&gt;</p>"),
            ("a@b.c", "<p>a@b.c</p>"),
            ("#123", "<p>#123</p>"),
        ];
        for (text, expected) in cases {
            assert_eq!(render(text), *expected, "input: {text:?}");
        }
    }

    #[test]
    fn field_values_are_escaped_text_with_links() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            (
                "<img src=x onerror=alert(1)>",
                "&lt;img src=x onerror=alert(1)&gt;",
            ),
            (
                "https://example.com/me",
                "<a href=\"https://example.com/me\" target=\"_blank\" rel=\"nofollow noopener\" translate=\"no\"><span class=\"invisible\">https://</span><span class=\"\">example.com/me</span><span class=\"invisible\"></span></a>",
            ),
            (
                "#rust & @bob\nnext",
                "<a href=\"https://sluice.test/tags/rust\" class=\"mention hashtag\" rel=\"tag\">#<span>rust</span></a> &amp; @bob\nnext",
            ),
            ("javascript:alert(1)", "javascript:alert(1)"),
        ];
        for (text, expected) in cases {
            assert_eq!(
                field_value_html(text, &tag_url),
                *expected,
                "input: {text:?}"
            );
        }
    }

    #[test]
    fn plain_to_html_links() {
        let cases: &[(&str, &str)] = &[
            (
                "see https://example.com/a.",
                "<p>see <a href=\"https://example.com/a\" target=\"_blank\" rel=\"nofollow noopener\" translate=\"no\"><span class=\"invisible\">https://</span><span class=\"\">example.com/a</span><span class=\"invisible\"></span></a>.</p>",
            ),
            (
                "(http://example.com/x_(y))!",
                "<p>(<a href=\"http://example.com/x_(y)\" target=\"_blank\" rel=\"nofollow noopener\" translate=\"no\"><span class=\"invisible\">http://</span><span class=\"\">example.com/x_(y)</span><span class=\"invisible\"></span></a>)!</p>",
            ),
            (
                "https://example.com/search?q=1&r=\"2\"",
                "<p><a href=\"https://example.com/search?q=1&amp;r=\" target=\"_blank\" rel=\"nofollow noopener\" translate=\"no\"><span class=\"invisible\">https://</span><span class=\"\">example.com/search?q=1&amp;r=</span><span class=\"invisible\"></span></a>&quot;2&quot;</p>",
            ),
            (
                "https://example.com/a/very/long/path/that/goes/on?and=on",
                "<p><a href=\"https://example.com/a/very/long/path/that/goes/on?and=on\" target=\"_blank\" rel=\"nofollow noopener\" translate=\"no\"><span class=\"invisible\">https://</span><span class=\"ellipsis\">example.com/a/very/long/path/t</span><span class=\"invisible\">hat/goes/on?and=on</span></a></p>",
            ),
            // Not links: no host, embedded in a word, other schemes.
            ("https:// nothing", "<p>https:// nothing</p>"),
            ("xhttps://example.com", "<p>xhttps://example.com</p>"),
            ("ftp://example.com", "<p>ftp://example.com</p>"),
        ];
        for (text, expected) in cases {
            assert_eq!(render(text), *expected, "input: {text:?}");
        }
        // Exactly URL_DISPLAY_CHARS after the scheme: no ellipsis.
        let exact = format!("https://{}", "e".repeat(URL_DISPLAY_CHARS - 4) + ".com");
        let html = render(&exact);
        assert!(!html.contains("ellipsis"), "{html}");
        assert!(
            html.contains(&format!("<span class=\"\">{}</span>", &exact[8..])),
            "{html}"
        );
        // Multibyte characters are cut on a character, not a byte.
        let unicode = format!("https://example.com/{}", "ü".repeat(40));
        let html = render(&unicode);
        assert!(
            html.contains(&format!(
                "<span class=\"ellipsis\">example.com/{}</span>",
                "ü".repeat(18)
            )),
            "{html}"
        );
    }

    #[test]
    fn plain_to_html_mentions_and_tags() {
        let cases: &[(&str, &str)] = &[
            (
                "hi @alice!",
                "<p>hi <span class=\"h-card\" translate=\"no\"><a href=\"https://sluice.test/@alice\" class=\"u-url mention\">@<span>alice</span></a></span>!</p>",
            ),
            (
                "@bob@remote.example @carol@remote.example",
                "<p><span class=\"h-card\" translate=\"no\"><a href=\"https://remote.example/@bob?a=1&amp;b=&quot;2&quot;\" class=\"u-url mention\">@<span>bob</span></a></span> @carol@remote.example</p>",
            ),
            (
                "#Rust rocks",
                "<p><a href=\"https://sluice.test/tags/rust\" class=\"mention hashtag\" rel=\"tag\">#<span>Rust</span></a> rocks</p>",
            ),
            (
                "#Café",
                "<p><a href=\"https://sluice.test/tags/café\" class=\"mention hashtag\" rel=\"tag\">#<span>Café</span></a></p>",
            ),
            (
                "https://example.com/#tag @alice",
                "<p><a href=\"https://example.com/#tag\" target=\"_blank\" rel=\"nofollow noopener\" translate=\"no\"><span class=\"invisible\">https://</span><span class=\"\">example.com/#tag</span><span class=\"invisible\"></span></a> <span class=\"h-card\" translate=\"no\"><a href=\"https://sluice.test/@alice\" class=\"u-url mention\">@<span>alice</span></a></span></p>",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(render(text), *expected, "input: {text:?}");
        }
        // Whatever the callbacks return is escaped inside the attribute.
        let html = plain_to_html("#x", &|_| "\"><script>".to_owned(), &|_| None);
        assert!(html.contains("href=\"&quot;&gt;&lt;script&gt;\""), "{html}");
    }

    const FORBIDDEN: [&str; 10] = [
        "<script",
        "onerror",
        "onload",
        "onclick",
        "javascript:",
        "data:",
        "<svg",
        "<style",
        "<iframe",
        "style=",
    ];

    #[test]
    fn sanitize_blocks_xss_vectors() {
        let vectors = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
            "<a href=\"&#106;avascript:alert(1)\">x</a>",
            "<a href=\"java\tscript:alert(1)\">x</a>",
            "<a href=\" javascript:alert(1)\">x</a>",
            "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">x</a>",
            "<svg onload=alert(1)>",
            "<svg><script>alert(1)</script></svg>",
            "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
            "<p style=\"background:url(javascript:alert(1))\">x</p>",
            "<style>body{}</style>",
            "<div onclick=\"x\">y</div>",
            "<p><a href=\"https://ok\"><script>",
            "<<script>script>alert(1)<</script>/script>",
            "<iframe src=\"https://x\"></iframe>",
            "<a href=\"vbscript:x\">x</a>",
            "<p>ok</p><!-- <script> -->",
            "<svg><iframe><a title=\"</iframe><img src onerror=alert(1)>\">t</a></iframe></svg>",
            "<object data=\"data:x\"></object><embed src=\"javascript:x\">",
            "<form action=\"javascript:x\"><button onclick=x>b</button></form>",
            "<span style=\"color:red\" onmouseover=x>s</span>",
            "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
        ];
        for input in vectors {
            let out = sanitize_html(input);
            let lower = out.to_ascii_lowercase();
            for bad in FORBIDDEN {
                assert!(
                    !lower.contains(bad),
                    "{input:?} -> {out:?} contains {bad:?}"
                );
            }
            assert!(!lower.contains("<img"), "{input:?} -> {out:?}");
            assert!(!lower.contains("<form"), "{input:?} -> {out:?}");
        }
        assert_eq!(sanitize_html("<p>ok</p><!-- <script> -->"), "<p>ok</p>");
        assert_eq!(sanitize_html("<script>alert(1)</script>after"), "after");
    }

    #[test]
    fn sanitize_keeps_allowed_content() {
        let mention = "<p><span class=\"h-card\" translate=\"no\"><a href=\"https://ex.com/@bob\" class=\"u-url mention\">@<span>bob</span></a></span> hi<br>there</p>";
        let out = sanitize_html(mention);
        for expected in [
            "<p>",
            "<br>",
            "</p>",
            "<span class=\"h-card\" translate=\"no\">",
            "href=\"https://ex.com/@bob\"",
            "class=\"u-url mention\"",
            "rel=\"nofollow noopener noreferrer\"",
            "target=\"_blank\"",
            "@<span>bob</span>",
        ] {
            assert!(out.contains(expected), "missing {expected:?} in {out:?}");
        }

        let cases: &[(&str, &str)] = &[
            // Unknown classes are dropped, known and microformat ones kept.
            (
                "<span class=\"evil invisible p-name big\">x</span>",
                "<span class=\"invisible p-name\">x</span>",
            ),
            ("<span class=\"evil\">x</span>", "<span>x</span>"),
            // rel and target are forced whatever the input says.
            (
                "<a href=\"https://x.y/\" rel=\"opener\" target=\"_self\">x</a>",
                "<a href=\"https://x.y/\" target=\"_blank\" rel=\"nofollow noopener noreferrer\">x</a>",
            ),
            // Relative links lose their href.
            (
                "<a href=\"/local\">x</a>",
                "<a target=\"_blank\" rel=\"nofollow noopener noreferrer\">x</a>",
            ),
            (
                "<a href=\"mailto:a@b.c\">m</a>",
                "<a href=\"mailto:a@b.c\" target=\"_blank\" rel=\"nofollow noopener noreferrer\">m</a>",
            ),
            (
                "<ol start=\"3\" reversed><li value=\"7\">x</li></ol>",
                "<ol start=\"3\" reversed=\"\"><li value=\"7\">x</li></ol>",
            ),
            (
                "<ol start=\"x\"><li value=\"y\">z</li></ol>",
                "<ol><li>z</li></ol>",
            ),
            (
                "<blockquote><pre><code>a &lt; b</code></pre></blockquote><del>d</del><h2>t</h2>",
                "<blockquote><pre><code>a &lt; b</code></pre></blockquote><del>d</del><h2>t</h2>",
            ),
            ("<div><b>bold</b> <i>it</i></div>", "<b>bold</b> <i>it</i>"),
            ("<p id=\"x\" title=\"t\" lang=\"en\">p</p>", "<p>p</p>"),
        ];
        for (input, expected) in cases {
            assert_eq!(sanitize_html(input), *expected, "input: {input:?}");
        }
    }

    #[test]
    fn sanitize_accepts_own_rendering() {
        let html = render("hi @alice #Rust https://example.com/a/very/long/path/that/goes/on");
        let out = sanitize_html(&html);
        for expected in [
            "class=\"h-card\"",
            "class=\"u-url mention\"",
            "class=\"mention hashtag\"",
            "class=\"ellipsis\"",
            "class=\"invisible\"",
            "href=\"https://sluice.test/tags/rust\"",
            "translate=\"no\"",
        ] {
            assert!(out.contains(expected), "missing {expected:?} in {out:?}");
        }
    }

    #[test]
    fn sanitize_truncates_huge_input() {
        // A multibyte character straddles the limit: truncation must not panic
        // and the output must stay bounded.
        let input = format!("<p>{}</p>", "é".repeat(MAX_HTML_BYTES));
        let out = sanitize_html(&input);
        assert!(
            out.len() <= MAX_HTML_BYTES + "<p></p>".len(),
            "{}",
            out.len()
        );
        assert!(out.starts_with("<p>éé"));
    }

    #[test]
    fn html_to_plain_shapes() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("plain", "plain"),
            ("<p>one</p><p>two</p>", "one\n\ntwo"),
            ("<p>a</p>\n<p>b</p>", "a\n\nb"),
            ("a<br>b<br/>c<BR />d", "a\nb\nc\nd"),
            ("a<br><br>b", "a\n\nb"),
            (
                "<p><span class=\"h-card\"><a href=\"https://x/@bob\" class=\"u-url mention\">@<span>bob</span></a></span> hi</p><p>x &amp; y</p>",
                "@bob hi\n\nx & y",
            ),
            (
                "&lt;b&gt; &quot;q&quot; &#39;s&#x27; a&nbsp;b &apos; &#233;",
                "<b> \"q\" 's' a b ' é",
            ),
            (
                "&bogus; &#xZZ; &#x110000; &#0; & &amp",
                "&bogus; &#xZZ; &#x110000; &#0; & &amp",
            ),
            ("<script>alert('<p>x</p>')</script>ok", "ok"),
            ("<STYLE>p{}</STYLE>ok<style>never closed", "ok"),
            ("<!-- c -->x<!-- unclosed", "x"),
            ("<p>unclosed <b", "unclosed"),
            ("<a title=\"a>b\">link</a>", "link"),
            ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
            ("a <3 b", "a <3 b"),
            (
                "<ul><li>one</li><li>two</li></ul>after",
                "one\ntwo\n\nafter",
            ),
            ("<p>  lots   of\n\tspace </p>", "lots of space"),
            ("<pre>keep\n  this</pre>", "keep\n  this"),
            ("</p></p>x<p></p>", "x"),
            ("<!DOCTYPE html><?xml x?>t", "t"),
        ];
        for (input, expected) in cases {
            assert_eq!(html_to_plain(input), *expected, "input: {input:?}");
        }
    }

    #[test]
    fn html_to_plain_never_panics() {
        let nasty = "<p a='1>\"<é&#x1F600;&#\u{10FFFF}<!--<-<</é>&amp<br/&é";
        // Every prefix and suffix on a char boundary.
        for (i, _) in nasty.char_indices() {
            let _ = html_to_plain(&nasty[..i]);
            let _ = html_to_plain(&nasty[i..]);
        }
        assert_eq!(html_to_plain("&#x1F600;"), "😀");
    }
}
