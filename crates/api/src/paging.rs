//! Mastodon paging: `max_id`/`since_id`/`min_id`/`limit` in, `Link` header out, written
//! exactly as Mastodon writes it:
//! `<URL?max_id=N>; rel="next", <URL?min_id=M>; rel="prev"`.

use axum::http::{HeaderMap, HeaderValue, Uri};
use serde::Deserialize;
use sluice_engine::rows::Page;
use sluice_model::Id;

use crate::error::ApiResult;
use crate::form::field;
use crate::params::Params;

/// Default and maximum page sizes for statuses and notifications (Mastodon: 20/40).
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 40;
/// Default and maximum page sizes for account lists (Mastodon: 40/80).
pub const DEFAULT_ACCOUNTS_LIMIT: i64 = 40;
pub const MAX_ACCOUNTS_LIMIT: i64 = 80;

/// The paging parameters of a list endpoint.
#[derive(Debug, Deserialize)]
pub struct PageForm {
    #[serde(default, deserialize_with = "field::int")]
    pub limit: Option<i64>,
    #[serde(default, deserialize_with = "field::id")]
    pub max_id: Option<Id>,
    #[serde(default, deserialize_with = "field::id")]
    pub since_id: Option<Id>,
    #[serde(default, deserialize_with = "field::id")]
    pub min_id: Option<Id>,
}

impl PageForm {
    /// The page asked for, its size `default` when not given, at most `max`.
    pub fn page(&self, default: i64, max: i64) -> Page {
        Page {
            max_id: self.max_id,
            since_id: self.since_id,
            min_id: self.min_id,
            limit: self.limit.unwrap_or(default).clamp(1, max),
        }
    }
}

/// The page a list endpoint's parameters ask for (see [`PageForm::page`]).
pub fn page(p: &Params, default: i64, max: i64) -> ApiResult<Page> {
    Ok(p.parse::<PageForm>()?.page(default, max))
}

/// Builds the `Link` header for a page whose items have cursors `ids` (newest first).
/// `next` is offered when the page is full; `prev` whenever it is not empty.
pub fn link_header(base: &str, uri: &Uri, page: &Page, ids: &[Id]) -> HeaderMap {
    let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
        return HeaderMap::new();
    };
    link_header_span(base, uri, *first, *last, ids.len() as i64 >= page.limit)
}

/// Builds the `Link` header for a page covering the cursors `newest` down to `oldest`;
/// `next` is offered when `more` may lie past the page, `prev` always.
pub fn link_header_span(base: &str, uri: &Uri, newest: Id, oldest: Id, more: bool) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let (first, last) = (&newest, &oldest);
    let kept: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| {
                    !matches!(
                        k.as_ref(),
                        "max_id" | "min_id" | "since_id" | "access_token"
                    )
                })
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let url = |key: &str, id: Id| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &kept {
            ser.append_pair(k, v);
        }
        ser.append_pair(key, &id.to_string());
        format!("{base}{}?{}", uri.path(), ser.finish())
    };
    let mut parts = Vec::new();
    if more {
        parts.push(format!("<{}>; rel=\"next\"", url("max_id", *last)));
    }
    parts.push(format!("<{}>; rel=\"prev\"", url("min_id", *first)));
    if let Ok(v) = HeaderValue::from_str(&parts.join(", ")) {
        headers.insert("link", v);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_like_mastodon() {
        let uri: Uri = "/api/v1/timelines/home?limit=2&max_id=50".parse().unwrap();
        let page = Page {
            limit: 2,
            max_id: Some(50),
            ..Default::default()
        };
        let h = link_header("https://x.example", &uri, &page, &[40, 30]);
        assert_eq!(
            h.get("link").unwrap(),
            "<https://x.example/api/v1/timelines/home?limit=2&max_id=30>; rel=\"next\", \
             <https://x.example/api/v1/timelines/home?limit=2&min_id=40>; rel=\"prev\""
        );
        let h = link_header("https://x.example", &uri, &page, &[40]);
        assert!(!h.get("link").unwrap().to_str().unwrap().contains("next"));
        assert!(link_header("https://x.example", &uri, &page, &[]).is_empty());
    }
}
