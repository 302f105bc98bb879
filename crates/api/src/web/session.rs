//! Who is looking at a page: the browser's session cookie resolved to a
//! [`WebSession`] (`sluice_engine::web_sessions`), and the CSRF check every form POST
//! passes.
//!
//! Cookies (all `HttpOnly; SameSite=Lax; Path=/`, `Secure` when the public URL is
//! https):
//! - `sluice_session`: the session's secret, set at sign-in, cleared at sign-out;
//! - `sluice_anon`: a random secret for a browser that is not signed in, set with the
//!   first page that shows it a form, so the sign-in and sign-up forms carry a CSRF
//!   token too (bound to this browser, not to a session).
//!
//! The CSRF token is derived from whichever secret the browser holds and sent back in
//! every form as `authenticity_token` (Rails' name, as Mastodon's forms). SameSite=Lax
//! already keeps the session cookie off cross-site POSTs; the token also covers
//! same-site attackers and browsers that ignore SameSite.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use sluice_engine::web_sessions::{WebSession, csrf_token, is_secret};
use sluice_model::Id;

use super::WebError;
use crate::AppState;
use crate::auth::client_ip;
use crate::params::Params;

pub const SESSION_COOKIE: &str = "sluice_session";
pub const ANON_COOKIE: &str = "sluice_anon";
/// How long a browser stays signed in without signing in again (a session can be
/// ended sooner from settings or by signing out).
const SESSION_MAX_AGE_SECS: u64 = 365 * 24 * 3600;
/// The anonymous cookie outlives a sign-in form left open for a day.
const ANON_MAX_AGE_SECS: u64 = 7 * 24 * 3600;

/// The browser behind a page request.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub session: Option<WebSession>,
    /// The anonymous secret: sent by the browser, or made for this response.
    anon: String,
    anon_is_new: bool,
    pub ip: String,
    pub user_agent: String,
    /// The page's path and query: where its forms come back to.
    pub here: String,
    /// The language of the pages (the browser's `Accept-Language`).
    pub lang: super::i18n::Lang,
}

/// The value of cookie `name`, when the browser sent one.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let ip = client_ip(parts, state);
        let session = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(secret) => state.engine.web_session(secret, &ip).await?,
            None => None,
        };
        let sent_anon = cookie(&parts.headers, ANON_COOKIE).filter(|s| is_secret(s));
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let here = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        Ok(Visitor {
            lang: state.pages.lang(&parts.headers),
            here,
            session,
            anon: sent_anon.map_or_else(sluice_engine::oauth::random_secret, str::to_string),
            anon_is_new: sent_anon.is_none(),
            ip,
            user_agent,
        })
    }
}

/// The CSRF field every form sends.
#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    authenticity_token: String,
}

impl Visitor {
    /// Message `id` of the catalogs, in this visitor's language.
    pub fn t(&self, state: &AppState, id: &str) -> String {
        state.pages.catalogs().text(self.lang, id)
    }

    /// Message `id` with arguments, in this visitor's language.
    pub fn tf(&self, state: &AppState, id: &str, args: &[(&str, super::i18n::Arg<'_>)]) -> String {
        state.pages.catalogs().format_with(self.lang, id, args)
    }

    pub fn account_id(&self) -> Option<Id> {
        self.session.as_ref().map(|s| s.account_id)
    }

    /// The signed-in session, or a redirect to the sign-in page that comes back to
    /// `return_to` (a local path).
    pub fn signed_in(&self, return_to: &str) -> Result<&WebSession, WebError> {
        self.session.as_ref().ok_or_else(|| {
            let mut to = String::from("/auth/sign_in");
            if is_local_path(return_to) && return_to != "/" {
                to.push_str("?return_to=");
                to.extend(form_urlencoded::byte_serialize(return_to.as_bytes()));
            }
            WebError::Redirect(to)
        })
    }

    /// The session behind a form's POST that changes something: signed in (else to
    /// sign in, then back to `return_to`), the form's CSRF token checked, within the
    /// session's write limit.
    pub fn posting(
        &self,
        state: &AppState,
        return_to: &str,
        p: &Params,
    ) -> Result<&WebSession, WebError> {
        let me = self.signed_in(return_to)?;
        self.check_csrf(p)?;
        state
            .limits
            .check(crate::ratelimit::Bucket::Write, &format!("web:{}", me.id))?;
        Ok(me)
    }

    /// What binds a waiting two-factor sign-in to this browser: its anonymous
    /// cookie (a form check passed, so the browser sent one).
    pub fn anon_binding(&self) -> String {
        format!("web:{}", self.anon)
    }

    /// The token this browser's forms carry.
    pub fn csrf(&self) -> String {
        match &self.session {
            Some(s) => s.csrf.clone(),
            None => csrf_token(&self.anon),
        }
    }

    /// Refuses a form that does not carry this browser's token (403): made by another
    /// site, or shown before the browser signed in or out.
    pub fn check_csrf(&self, p: &Params) -> Result<(), WebError> {
        let sent = p
            .parse::<CsrfField>()
            .map(|f| f.authenticity_token)
            .unwrap_or_default();
        // A browser without our anonymous cookie has no token yet: whatever it sent
        // was not made for it.
        let expected = if self.session.is_none() && self.anon_is_new {
            None
        } else {
            Some(self.csrf())
        };
        match expected {
            Some(e) if constant_time_eq(e.as_bytes(), sent.as_bytes()) => Ok(()),
            _ => Err(WebError::Message(
                StatusCode::FORBIDDEN,
                "error-form-expired",
            )),
        }
    }

    /// Sets the anonymous cookie on a response that showed this browser a form, when
    /// it had none.
    pub fn remember(&self, state: &AppState, r: &mut Response) {
        if self.session.is_none() && self.anon_is_new {
            set_cookie(state, r, ANON_COOKIE, &self.anon, ANON_MAX_AGE_SECS);
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A path on this site (`/x`, not `//host/x` or a URL): where a redirect after
/// sign-in may go.
pub fn is_local_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.starts_with("/\\")
        && !p.chars().any(|c| c.is_control())
}

/// Adds a `Set-Cookie` for `name`; `max_age` 0 deletes it.
pub fn set_cookie(state: &AppState, r: &mut Response, name: &str, value: &str, max_age: u64) {
    let secure = if state.base().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The session cookie for a browser that has just signed in.
pub fn set_session_cookie(state: &AppState, r: &mut Response, secret: &str) {
    set_cookie(state, r, SESSION_COOKIE, secret, SESSION_MAX_AGE_SECS);
}

pub fn clear_session_cookie(state: &AppState, r: &mut Response) {
    set_cookie(state, r, SESSION_COOKIE, "", 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert!(is_local_path("/home"));
        assert!(is_local_path("/@alice/1?x=y"));
        assert!(!is_local_path("//evil.example/"));
        assert!(!is_local_path("/\\evil.example"));
        assert!(!is_local_path("https://evil.example/"));
        assert!(!is_local_path("/a\r\nSet-Cookie: x"));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
