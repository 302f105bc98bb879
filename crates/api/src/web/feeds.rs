//! Feeds of public posts: RSS 2.0 and Atom, for a person (`/@name.rss`,
//! `/@name.atom`) and a hashtag (`/tags/name.rss`, `/tags/name.atom`). A boost carries
//! the boosted post's text (it says whose); media are enclosures (RSS) and enclosure
//! links (Atom), with their descriptions.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use sluice_engine::rows::Page;
use sluice_model::api::Status;
use sluice_model::{Timestamp, content::escape_html};

use super::{PAGE_POSTS, WebError, WebResult};
use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Rss,
    Atom,
}

/// What a feed is about.
struct Channel<'a> {
    title: &'a str,
    /// The page the feed follows.
    link: &'a str,
    /// The feed's own URL (Atom's `self`).
    this: &'a str,
    description: &'a str,
}

/// `/@name.rss` and `/@name.atom`: a local account's public posts.
pub(super) async fn account_feed(state: &AppState, name: &str, kind: Kind) -> WebResult {
    let Some(account) = state.engine.local_account(name).await? else {
        return Err(
            match super::public::unavailable_account(state, name).await? {
                Some(e) => e,
                None => WebError::not_found(),
            },
        );
    };
    let statuses = state.engine.public_posts(account.id, PAGE_POSTS).await?;
    let entity = state.engine.account_entity(&account);
    let shown = if entity.display_name.is_empty() {
        &entity.username
    } else {
        &entity.display_name
    };
    let title = format!(
        "{shown} (@{}@{})",
        entity.username,
        state.engine.urls.domain()
    );
    let this = format!(
        "{}/@{}.{}",
        state.base(),
        entity.username,
        if kind == Kind::Rss { "rss" } else { "atom" }
    );
    let description = sluice_model::content::html_to_plain(&account.note);
    let channel = Channel {
        title: &title,
        link: &entity.url,
        this: &this,
        description: &description,
    };
    Ok(render(kind, &channel, &statuses))
}

/// `/tags/name.rss` and `/tags/name.atom`: this server's public posts with the tag.
pub(super) async fn tag_feed(state: &AppState, tag: &str, kind: Kind) -> WebResult {
    let tag = tag.to_lowercase();
    let page = Page {
        limit: PAGE_POSTS,
        ..Default::default()
    };
    let out = state
        .engine
        .tag_timeline(&tag, None, true, false, page)
        .await?;
    let title = format!("#{tag}");
    let link = state.engine.urls.tag(&tag);
    let this = format!("{link}.{}", if kind == Kind::Rss { "rss" } else { "atom" });
    let description = format!(
        "Public posts tagged #{tag} on {}",
        state.engine.urls.domain()
    );
    let channel = Channel {
        title: &title,
        link: &link,
        this: &this,
        description: &description,
    };
    Ok(render(kind, &channel, &out.statuses))
}

fn render(kind: Kind, channel: &Channel, statuses: &[Status]) -> Response {
    let (ctype, body) = match kind {
        Kind::Rss => ("application/rss+xml; charset=utf-8", rss(channel, statuses)),
        Kind::Atom => (
            "application/atom+xml; charset=utf-8",
            atom(channel, statuses),
        ),
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// One entry of a feed: what is shown for a post or a boost.
struct Entry {
    url: String,
    published: Timestamp,
    /// The post's title line: its content warning, or who boosted whom.
    title: String,
    /// The post's HTML, with its content warning above it and media descriptions.
    html: String,
    author: String,
    media: Vec<(String, String, String)>,
}

fn entry(s: &Status) -> Entry {
    let body = s.reblog.as_deref().unwrap_or(s);
    let url = s.url.clone().unwrap_or_else(|| s.uri.clone());
    let mut html = String::new();
    if !body.spoiler_text.is_empty() {
        html.push_str(&format!(
            "<p><strong>{}</strong></p>",
            escape_html(&body.spoiler_text)
        ));
    }
    html.push_str(&body.content);
    let media: Vec<(String, String, String)> = body
        .media_attachments
        .iter()
        .filter_map(|m| {
            let url = m.get("url")?.as_str()?.to_string();
            let description = m
                .get("description")
                .and_then(|d| d.as_str())
                .unwrap_or_default()
                .to_string();
            Some((mime_of(&url).to_string(), url, description))
        })
        .collect();
    for (_, _, description) in &media {
        if !description.is_empty() {
            html.push_str(&format!("<p>[{}]</p>", escape_html(description)));
        }
    }
    let title = if s.reblog.is_some() {
        format!("{} boosted @{}", s.account.acct, body.account.acct)
    } else if !body.spoiler_text.is_empty() {
        body.spoiler_text.clone()
    } else {
        sluice_model::content::html_to_plain(&body.content)
            .chars()
            .take(80)
            .collect()
    };
    Entry {
        url,
        published: Timestamp::parse_rfc3339(&s.created_at).unwrap_or(Timestamp(0)),
        title,
        html,
        author: body.account.acct.clone(),
        media,
    }
}

/// A media type for an enclosure, from the file's extension (uploads keep theirs).
fn mime_of(url: &str) -> &'static str {
    let ext = url
        .rsplit('/')
        .next()
        .and_then(|f| f.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "ogg" | "oga" => "audio/ogg",
        _ => "application/octet-stream",
    }
}

fn rss(c: &Channel, statuses: &[Status]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>",
    );
    xml.push_str(&format!(
        "<title>{}</title><link>{}</link><description>{}</description><atom:link rel=\"self\" type=\"application/rss+xml\" href=\"{}\"/><generator>Sluice</generator>",
        escape_html(c.title),
        escape_html(c.link),
        escape_html(c.description),
        escape_html(c.this),
    ));
    for s in statuses {
        let e = entry(s);
        xml.push_str(&format!(
            "<item><guid isPermaLink=\"true\">{url}</guid><link>{url}</link><title>{title}</title><pubDate>{date}</pubDate><description>{html}</description>",
            url = escape_html(&e.url),
            title = escape_html(&e.title),
            date = e.published.to_rfc2822(),
            html = escape_html(&e.html),
        ));
        // RSS allows one enclosure an item: the first medium.
        if let Some((mime, url, _)) = e.media.first() {
            xml.push_str(&format!(
                "<enclosure url=\"{}\" length=\"0\" type=\"{mime}\"/>",
                escape_html(url)
            ));
        }
        xml.push_str("</item>");
    }
    xml.push_str("</channel></rss>\n");
    xml
}

fn atom(c: &Channel, statuses: &[Status]) -> String {
    let updated = statuses
        .first()
        .and_then(|s| Timestamp::parse_rfc3339(&s.created_at))
        .unwrap_or(Timestamp(0));
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">",
    );
    xml.push_str(&format!(
        "<id>{this}</id><title>{}</title><subtitle>{}</subtitle><link rel=\"alternate\" type=\"text/html\" href=\"{}\"/><link rel=\"self\" type=\"application/atom+xml\" href=\"{this}\"/><updated>{}</updated><generator>Sluice</generator>",
        escape_html(c.title),
        escape_html(c.description),
        escape_html(c.link),
        updated.to_rfc3339(),
        this = escape_html(c.this),
    ));
    for s in statuses {
        let e = entry(s);
        xml.push_str(&format!(
            "<entry><id>{url}</id><link rel=\"alternate\" type=\"text/html\" href=\"{url}\"/><title>{title}</title><author><name>{author}</name></author><published>{date}</published><updated>{date}</updated><content type=\"html\">{html}</content>",
            url = escape_html(&e.url),
            title = escape_html(&e.title),
            author = escape_html(&e.author),
            date = e.published.to_rfc3339(),
            html = escape_html(&e.html),
        ));
        for (mime, url, description) in &e.media {
            xml.push_str(&format!(
                "<link rel=\"enclosure\" type=\"{mime}\" href=\"{}\" title=\"{}\"/>",
                escape_html(url),
                escape_html(description)
            ));
        }
        xml.push_str("</entry>");
    }
    xml.push_str("</feed>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enclosures_get_a_type_from_the_file_name() {
        assert_eq!(mime_of("https://x.example/media/ab.JPG"), "image/jpeg");
        assert_eq!(mime_of("https://x.example/media/ab.mp4"), "video/mp4");
        assert_eq!(
            mime_of("https://x.example/media/noext"),
            "application/octet-stream"
        );
    }
}
