//! Link preview cards: which link of a post gets one, what a page's head says about
//! itself (OpenGraph, Twitter card tags, oEmbed discovery), an oEmbed answer, and the
//! card (Mastodon's `PreviewCard`) made of them. Pure: the fetching is federation's
//! (`federation::cards`), the storing the engine's.
//!
//! HTML is read with html5ever's tokenizer (the parser ammonia already builds on): a
//! page's head needs no tree, only its `<meta>`, `<link>` and `<title>` tags, and the
//! tokenizer reads a page cut anywhere without complaint.

use std::cell::RefCell;
use std::time::Instant;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use serde::{Deserialize, Serialize};
use url::Url;

/// Longest title kept, in characters (Mastodon's column is a string of 255 chars).
pub const MAX_TITLE_CHARS: usize = 255;
/// Longest description kept, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;
/// Longest URL kept anywhere in a card.
pub const MAX_URL_CHARS: usize = 2_048;

/// Paths with these endings are media, not pages: a link to one gets no card.
const MEDIA_EXTENSIONS: &[&str] = &[
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg", ".mp4", ".webm", ".mov", ".m4v",
    ".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav", ".m4a", ".pdf",
];

/// A preview card as stored and served (Mastodon's `PreviewCard` entity, 4.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub url: String,
    pub title: String,
    pub description: String,
    /// `link`, `photo`, `video` (`rich` is never kept: its HTML would be a script).
    #[serde(rename = "type")]
    pub kind: String,
    pub author_name: String,
    pub author_url: String,
    pub provider_name: String,
    pub provider_url: String,
    /// An embed made by us from an allowed host's player URL (escaped), else empty.
    pub html: String,
    pub width: i64,
    pub height: i64,
    pub image: Option<String>,
    pub image_description: String,
    pub embed_url: String,
    pub blurhash: Option<String>,
    pub published_at: Option<String>,
    pub language: Option<String>,
    pub authors: Vec<serde_json::Value>,
}

impl Card {
    /// The card as the API shows it.
    pub fn entity(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Whether an `<a>` of a post is a mention or a hashtag (microformats, as Mastodon
/// marks them and as other servers do too), not a link to a page.
fn is_mention_or_tag(rel: &str, class: &str) -> bool {
    rel.split_ascii_whitespace().any(|r| r == "tag")
        || class
            .split_ascii_whitespace()
            .any(|c| matches!(c, "mention" | "hashtag" | "u-url" | "h-card"))
}

/// Whether a URL's path names a media file.
pub fn is_media_url(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    MEDIA_EXTENSIONS.iter().any(|e| path.ends_with(e))
}

/// The link of a post that gets a card, as Mastodon chooses it: the first `<a href>`
/// of its HTML that is `http(s)` with a host, not a mention or a hashtag (by the
/// anchor's `rel`/`class`, or its target being one of `skip`: the mentioned accounts'
/// URLs, the attachments' URLs), not a media file, and not on `local_origin` (our own
/// pages). The URL is returned without its fragment.
pub fn first_link(html: &str, skip: &[&str], local_origin: &str) -> Option<Url> {
    if !html.contains("href") {
        return None;
    }
    let anchors = RefCell::new(Vec::new());
    tokenize(html, AnchorSink(&anchors), None);
    let local = Url::parse(local_origin).ok().map(|u| u.origin());
    anchors
        .into_inner()
        .into_iter()
        .find_map(|(href, rel, class)| {
            if is_mention_or_tag(&rel, &class) || skip.contains(&href.as_str()) {
                return None;
            }
            let mut url = Url::parse(&href).ok()?;
            if !matches!(url.scheme(), "http" | "https")
                || url.host_str().is_none_or(str::is_empty)
                || href.len() > MAX_URL_CHARS
                || is_media_url(&url)
                || local.as_ref() == Some(&url.origin())
            {
                return None;
            }
            url.set_fragment(None);
            Some(url)
        })
}

struct AnchorSink<'a>(&'a RefCell<Vec<(String, String, String)>>);

impl TokenSink for AnchorSink<'_> {
    type Handle = ();
    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        if let Token::TagToken(tag) = token
            && tag.kind == TagKind::StartTag
            && &*tag.name == "a"
            && let Some(href) = attr(&tag, "href")
        {
            self.0.borrow_mut().push((
                href.trim().to_string(),
                attr(&tag, "rel").unwrap_or_default().to_ascii_lowercase(),
                attr(&tag, "class").unwrap_or_default(),
            ));
        }
        TokenSinkResult::Continue
    }
}

fn attr(tag: &Tag, name: &str) -> Option<String> {
    tag.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| a.value.to_string())
}

/// Runs the tokenizer over `text` in slices, stopping early when `done` says so or the
/// deadline passes (checked between slices). Returns false when the deadline passed.
fn tokenize<S: TokenSink<Handle = ()> + Done>(
    text: &str,
    sink: S,
    deadline: Option<Instant>,
) -> (S, bool) {
    const SLICE: usize = 8 * 1024;
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let queue = BufferQueue::default();
    let mut rest = text;
    while !rest.is_empty() {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return (tokenizer.sink, false);
        }
        let mut cut = rest.len().min(SLICE);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        queue.push_back(StrTendril::from_slice(&rest[..cut]));
        rest = &rest[cut..];
        let _ = tokenizer.feed(&queue);
        if tokenizer.sink.done() {
            return (tokenizer.sink, true);
        }
    }
    tokenizer.end();
    (tokenizer.sink, true)
}

/// Whether a sink has seen all it needs.
trait Done {
    fn done(&self) -> bool {
        false
    }
}

impl Done for AnchorSink<'_> {}

/// What a page's head says about it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageMeta {
    /// The text of `<title>`.
    pub title: String,
    /// `<meta property|name=… content=…>`, keys lowercased, the first of each kept.
    pub meta: Vec<(String, String)>,
    /// `<link rel="alternate" type="application/json+oembed" href>`.
    pub oembed: Option<String>,
    /// `<link rel="canonical">`.
    pub canonical: Option<String>,
}

impl PageMeta {
    fn get(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The card these tags describe for the page `url` (served from `base`, after
    /// redirects), or None without a title. `embed_hosts`: hosts whose players may be
    /// embedded (`twitter:player`).
    pub fn card(&self, url: &str, base: &Url, embed_hosts: &[String]) -> Option<Card> {
        let title = self
            .get("og:title")
            .or_else(|| self.get("twitter:title"))
            .or(Some(self.title.trim()).filter(|t| !t.is_empty()))?;
        let description = self
            .get("og:description")
            .or_else(|| self.get("twitter:description"))
            .or_else(|| self.get("description"))
            .unwrap_or("");
        let image = self
            .get("og:image:secure_url")
            .or_else(|| self.get("og:image"))
            .or_else(|| self.get("og:image:url"))
            .or_else(|| self.get("twitter:image"))
            .or_else(|| self.get("twitter:image:src"))
            .and_then(|i| absolute(base, i));
        let dimension = |k: &str| {
            self.get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .filter(|v| (0..=10_000).contains(v))
                .unwrap_or(0)
        };
        let mut card = Card {
            url: url.to_string(),
            title: clip(title, MAX_TITLE_CHARS),
            description: clip(description, MAX_DESCRIPTION_CHARS),
            kind: "link".into(),
            author_name: clip(
                self.get("author")
                    .or_else(|| self.get("article:author"))
                    .filter(|a| !a.starts_with("http"))
                    .unwrap_or(""),
                MAX_TITLE_CHARS,
            ),
            provider_name: clip(self.get("og:site_name").unwrap_or(""), MAX_TITLE_CHARS),
            image_description: clip(
                self.get("og:image:alt")
                    .or_else(|| self.get("twitter:image:alt"))
                    .unwrap_or(""),
                MAX_DESCRIPTION_CHARS,
            ),
            language: self
                .get("og:locale")
                .map(|l| {
                    l.split(['_', '-'])
                        .next()
                        .unwrap_or("")
                        .to_ascii_lowercase()
                })
                .filter(|l| l.len() == 2 && l.bytes().all(|b| b.is_ascii_lowercase())),
            published_at: self.get("article:published_time").map(|t| clip(t, 40)),
            ..Card::default()
        };
        if image.is_some() {
            card.width = dimension("og:image:width");
            card.height = dimension("og:image:height");
        }
        card.image = image;
        if let Some(player) = self.get("twitter:player").and_then(|p| absolute(base, p)) {
            let (w, h) = (
                dimension("twitter:player:width"),
                dimension("twitter:player:height"),
            );
            if let Some(html) = embed(&player, w, h, embed_hosts) {
                card.kind = "video".into();
                card.embed_url = player;
                card.html = html;
                card.width = w;
                card.height = h;
            }
        }
        Some(card)
    }
}

/// The page's head, read from `html` (the first bytes of a page): parsing stops at the
/// body, or returns None when `deadline` passes first.
pub fn parse_head(html: &str, deadline: Option<Instant>) -> Option<PageMeta> {
    let (sink, finished) = tokenize(html, HeadSink::default(), deadline);
    finished.then(|| sink.meta.into_inner())
}

/// Whether `bytes` hold the end of a page's head (`</head` or `<body`, any case): no
/// more needs reading.
pub fn head_ended(bytes: &[u8]) -> bool {
    bytes
        .windows(6)
        .any(|w| w.eq_ignore_ascii_case(b"</head") || w[..5].eq_ignore_ascii_case(b"<body"))
}

#[derive(Default)]
struct HeadSink {
    meta: RefCell<PageMeta>,
    /// Inside `<title>`.
    in_title: std::cell::Cell<bool>,
    /// Reached the body.
    done: std::cell::Cell<bool>,
}

impl Done for HeadSink {
    fn done(&self) -> bool {
        self.done.get()
    }
}

impl TokenSink for HeadSink {
    type Handle = ();
    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        if self.done.get() {
            return TokenSinkResult::Continue;
        }
        match token {
            Token::TagToken(tag) => {
                let name = &*tag.name;
                if tag.kind == TagKind::EndTag {
                    match name {
                        "title" => self.in_title.set(false),
                        "head" => self.done.set(true),
                        _ => {}
                    }
                    return TokenSinkResult::Continue;
                }
                match name {
                    "body" => self.done.set(true),
                    "title" => {
                        self.in_title.set(true);
                        return TokenSinkResult::RawData(RawKind::Rcdata);
                    }
                    "script" => return TokenSinkResult::RawData(RawKind::ScriptData),
                    "style" | "noscript" | "template" => {
                        return TokenSinkResult::RawData(RawKind::Rawtext);
                    }
                    "meta" => {
                        let key = attr(&tag, "property")
                            .or_else(|| attr(&tag, "name"))
                            .map(|k| k.trim().to_ascii_lowercase());
                        if let (Some(key), Some(content)) = (key, attr(&tag, "content")) {
                            let mut meta = self.meta.borrow_mut();
                            if meta.meta.len() < 200 && !meta.meta.iter().any(|(k, _)| *k == key) {
                                meta.meta.push((key, content));
                            }
                        }
                    }
                    "link" => {
                        let rel = attr(&tag, "rel").unwrap_or_default().to_ascii_lowercase();
                        let kind = attr(&tag, "type").unwrap_or_default().to_ascii_lowercase();
                        let href = attr(&tag, "href");
                        let mut meta = self.meta.borrow_mut();
                        let rels: Vec<&str> = rel.split_ascii_whitespace().collect();
                        if rels.contains(&"alternate")
                            && kind.trim() == "application/json+oembed"
                            && meta.oembed.is_none()
                        {
                            meta.oembed = href;
                        } else if rels.contains(&"canonical") && meta.canonical.is_none() {
                            meta.canonical = href;
                        }
                    }
                    _ => {}
                }
            }
            Token::CharacterTokens(text) if self.in_title.get() => {
                let mut meta = self.meta.borrow_mut();
                if meta.title.len() < 4 * MAX_TITLE_CHARS {
                    meta.title.push_str(&text);
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// An oEmbed answer (the fields a card takes).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OEmbed {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub author_name: Option<String>,
    #[serde(default)]
    pub author_url: Option<String>,
    #[serde(default)]
    pub provider_name: Option<String>,
    #[serde(default)]
    pub provider_url: Option<String>,
    #[serde(default)]
    pub thumbnail_url: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub width: Option<i64>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub height: Option<i64>,
    #[serde(default)]
    pub html: Option<String>,
}

/// A number or a numeric string (providers send both); anything else is None.
fn lenient_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n| (0..=10_000).contains(n)))
}

impl OEmbed {
    /// The card of this answer for the page `url` (the answer came from `base`), as
    /// Mastodon makes it: `link` (its thumbnail the image), `photo` (its url the image
    /// and the embed), `video` (an embed only from an allowed host, else a link with
    /// the thumbnail). `rich` gives None (its HTML is a script; the page's own tags are
    /// used instead), as does an answer without a title that is not a photo.
    pub fn card(&self, url: &str, base: &Url, embed_hosts: &[String]) -> Option<Card> {
        let text = |v: &Option<String>| clip(v.as_deref().unwrap_or("").trim(), MAX_TITLE_CHARS);
        let link = |v: &Option<String>| {
            v.as_deref()
                .and_then(|u| absolute(base, u))
                .unwrap_or_default()
        };
        let mut card = Card {
            url: url.to_string(),
            title: text(&self.title),
            kind: "link".into(),
            author_name: text(&self.author_name),
            author_url: link(&self.author_url),
            provider_name: text(&self.provider_name),
            provider_url: link(&self.provider_url),
            ..Card::default()
        };
        let thumbnail = self
            .thumbnail_url
            .as_deref()
            .and_then(|u| absolute(base, u));
        match self.kind.as_str() {
            "link" => card.image = thumbnail,
            "photo" => {
                let photo = self.url.as_deref().and_then(|u| absolute(base, u))?;
                card.kind = "photo".into();
                card.embed_url = photo.clone();
                card.image = Some(photo);
                card.width = self.width.unwrap_or(0);
                card.height = self.height.unwrap_or(0);
            }
            "video" => {
                card.image = thumbnail;
                let (w, h) = (self.width.unwrap_or(0), self.height.unwrap_or(0));
                let player = self.html.as_deref().and_then(iframe_src);
                if let Some((src, html)) = player.and_then(|src| {
                    let src = absolute(base, &src)?;
                    embed(&src, w, h, embed_hosts).map(|html| (src, html))
                }) {
                    card.kind = "video".into();
                    card.embed_url = src;
                    card.html = html;
                    card.width = w;
                    card.height = h;
                }
            }
            _ => return None,
        }
        if card.title.is_empty() && card.kind != "photo" {
            return None;
        }
        Some(card)
    }
}

/// The `src` of the first `<iframe>` in `html`.
fn iframe_src(html: &str) -> Option<String> {
    struct Sink(RefCell<Option<String>>);
    impl Done for Sink {
        fn done(&self) -> bool {
            self.0.borrow().is_some()
        }
    }
    impl TokenSink for Sink {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            if let Token::TagToken(tag) = token
                && tag.kind == TagKind::StartTag
                && &*tag.name == "iframe"
                && self.0.borrow().is_none()
            {
                *self.0.borrow_mut() = attr(&tag, "src");
            }
            TokenSinkResult::Continue
        }
    }
    tokenize(html, Sink(RefCell::new(None)), None)
        .0
        .0
        .into_inner()
}

/// Our own embed of a player: an `<iframe>` made of escaped values, only for an
/// `https` player on one of `embed_hosts` (exact host match); None otherwise. The
/// provider's own HTML is never kept.
pub fn embed(src: &str, width: i64, height: i64, embed_hosts: &[String]) -> Option<String> {
    let url = Url::parse(src).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    if url.scheme() != "https" || !embed_hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
        return None;
    }
    Some(format!(
        "<iframe src=\"{}\" width=\"{width}\" height=\"{height}\" frameborder=\"0\" allowfullscreen=\"true\" sandbox=\"allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox\"></iframe>",
        crate::content::escape_html(url.as_str())
    ))
}

/// `value` resolved against `base`, when it is an `http(s)` URL of sane length.
fn absolute(base: &Url, value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() || value.len() > MAX_URL_CHARS {
        return None;
    }
    let url = base.join(value).ok()?;
    matches!(url.scheme(), "http" | "https")
        .then(|| url.to_string())
        .filter(|u| u.len() <= MAX_URL_CHARS)
}

/// `text` with runs of whitespace made one space, cut to `max` characters.
fn clip(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for (n, word) in text.split_whitespace().enumerate() {
        if n > 0 {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > 4 * max {
            break;
        }
    }
    if out.chars().count() > max {
        out = out.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: &str = "https://sluice.test";

    #[test]
    fn the_first_link_skips_mentions_tags_media_and_our_own_pages() {
        let html = r#"<p><span class="h-card"><a href="https://ex.com/@bob" class="u-url mention">@bob</a></span>
            <a href="https://sluice.test/tags/x" class="mention hashtag" rel="tag">#x</a>
            <a href="https://sluice.test/@me/1">mine</a>
            <a href="https://other.example/@carol">carol</a>
            <a href="https://img.example/a.JPG">pic</a>
            <a href="mailto:a@b.c">m</a>
            <a href="https://news.example/story?id=1#top">story</a>
            <a href="https://later.example/">later</a></p>"#;
        let url = first_link(html, &["https://other.example/@carol"], LOCAL).unwrap();
        assert_eq!(url.as_str(), "https://news.example/story?id=1");
        assert_eq!(first_link("<p>no links</p>", &[], LOCAL), None);
        assert_eq!(
            first_link(r#"<a href="javascript:alert(1)">x</a>"#, &[], LOCAL),
            None
        );
    }

    #[test]
    fn opengraph_then_twitter_then_title() {
        let page = r#"<!doctype html><html><head>
            <title>Plain &amp; title</title>
            <meta property="og:title" content="  The   story ">
            <meta name="description" content="desc">
            <meta property="og:image" content="/img/a.png">
            <meta property="og:image:width" content="640">
            <meta property="og:site_name" content="News">
            <script>var x = "<meta property='og:title' content='no'>";</script>
            <link rel="alternate" type="application/json+oembed" href="https://news.example/oembed?u=1">
            </head><body><meta property="og:description" content="from the body"></body></html>"#;
        let meta = parse_head(page, None).unwrap();
        assert_eq!(
            meta.oembed.as_deref(),
            Some("https://news.example/oembed?u=1")
        );
        let base = Url::parse("https://news.example/story").unwrap();
        let card = meta.card("https://news.example/story", &base, &[]).unwrap();
        assert_eq!(card.title, "The story");
        assert_eq!(card.description, "desc");
        assert_eq!(
            card.image.as_deref(),
            Some("https://news.example/img/a.png")
        );
        assert_eq!(card.width, 640);
        assert_eq!(card.provider_name, "News");
        assert_eq!(card.kind, "link");
        assert_eq!(card.html, "");

        let plain = parse_head("<title>Only &lt;this&gt;</title>", None).unwrap();
        assert_eq!(
            plain.card("https://a.example/", &base, &[]).unwrap().title,
            "Only <this>"
        );
        let none = parse_head("<head><meta name=x content=y></head>", None).unwrap();
        assert_eq!(none.card("https://a.example/", &base, &[]), None);
    }

    #[test]
    fn a_cut_page_still_gives_its_head() {
        let page = "<head><meta property=\"og:title\" content=\"Cut\"><meta name=\"description\" content=\"unfinis";
        let meta = parse_head(page, None).unwrap();
        let base = Url::parse("https://a.example/").unwrap();
        assert_eq!(
            meta.card("https://a.example/", &base, &[]).unwrap().title,
            "Cut"
        );
        assert!(head_ended(b"xx</HEAD>"));
        assert!(head_ended(b"<BODY class=x>"));
        assert!(!head_ended(b"<head><meta>"));
    }

    #[test]
    fn oembed_kinds_as_mastodon_and_embeds_only_from_allowed_hosts() {
        let base = Url::parse("https://video.example/oembed").unwrap();
        let allowed = vec!["player.example".to_string()];
        let video: OEmbed = serde_json::from_str(
            r#"{"type":"video","title":"Clip","width":"480","height":270,
                "thumbnail_url":"/t.jpg","provider_name":"V",
                "html":"<iframe src=\"https://player.example/e/1?a=1&b=2\" onload=\"x()\"></iframe><script>x()</script>"}"#,
        )
        .unwrap();
        let card = video
            .card("https://video.example/1", &base, &allowed)
            .unwrap();
        assert_eq!(card.kind, "video");
        assert_eq!(card.width, 480);
        assert_eq!(card.image.as_deref(), Some("https://video.example/t.jpg"));
        assert!(
            card.html
                .starts_with("<iframe src=\"https://player.example/e/1?a=1&amp;b=2\"")
        );
        assert!(!card.html.contains("onload") && !card.html.contains("<script"));
        let not_allowed = video.card("https://video.example/1", &base, &[]).unwrap();
        assert_eq!(not_allowed.kind, "link");
        assert_eq!(not_allowed.html, "");

        let rich: OEmbed =
            serde_json::from_str(r#"{"type":"rich","title":"R","html":"<script></script>"}"#)
                .unwrap();
        assert_eq!(rich.card("https://x.example/", &base, &allowed), None);
        let photo: OEmbed = serde_json::from_str(
            r#"{"type":"photo","url":"https://p.example/1.png","width":10,"height":"x"}"#,
        )
        .unwrap();
        let card = photo.card("https://x.example/", &base, &[]).unwrap();
        assert_eq!(
            (card.kind.as_str(), card.width, card.height),
            ("photo", 10, 0)
        );
        assert_eq!(card.embed_url, "https://p.example/1.png");
    }

    #[test]
    fn a_deadline_passed_abandons_the_parse() {
        let page = "<head>".to_string() + &"<meta name=a content=b>".repeat(10_000);
        assert_eq!(parse_head(&page, Some(Instant::now())), None);
    }

    #[test]
    fn clip_folds_whitespace_and_cuts() {
        assert_eq!(clip(" a \n b ", 10), "a b");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
