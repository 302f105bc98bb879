//! Sessions of the web app: a browser that signed in holds a cookie with a random
//! secret; the database keeps only its hash ([`sluice_store::WebSessionRow`]).
//!
//! Two more secrets are derived from the cookie's, each with its own label, so one
//! cannot be turned into another and none into the cookie:
//! - the CSRF token every form of the session carries ([`WebSession::csrf`]);
//! - the session's read-only bearer token for its pages' live stream
//!   ([`WebSession::stream_token`]), a row in `tokens` (scope `read`) made with the
//!   session and revoked with it. The API accepts that token and never the cookie; the
//!   web pages accept the cookie and never a token.
//!
//! A session ends when its owner signs out or revokes it in settings, or when the
//! account's tokens are revoked (a password reset): the session is live only while its
//! token is.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use sluice_model::Id;
use sluice_store::{NewToken, WebSessionRow};

use crate::oauth::{hash_secret, random_secret};
use crate::{Engine, Result};

/// The streaming token's scope: it reads, it never writes.
pub const STREAM_TOKEN_SCOPES: &str = "read";
/// A session's `last_seen_at` is written at most this often (a page view is a read).
const TOUCH_EVERY_MS: i64 = 10 * 60 * 1000;
/// User agents are kept this long, to tell sessions apart in settings.
const MAX_USER_AGENT_CHARS: usize = 200;

/// A signed-in browser, as each page request sees it.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub id: Id,
    pub account_id: Id,
    /// The token every form of this session must send back.
    pub csrf: String,
    /// The bearer token the session's pages open the streaming API with.
    pub stream_token: String,
}

/// `secret` labelled with `label`, hashed: a value that names the session without
/// revealing the cookie.
fn derive(label: &str, secret: &str) -> String {
    let digest = Sha256::digest(format!("sluice-web-{label}:{secret}").as_bytes());
    URL_SAFE_NO_PAD.encode(digest)
}

/// The CSRF token of forms shown to a browser with this cookie secret (the session's,
/// or the anonymous one sign-in and sign-up pages set).
pub fn csrf_token(secret: &str) -> String {
    derive("csrf", secret)
}

fn session(row: &WebSessionRow, secret: &str) -> WebSession {
    WebSession {
        id: row.id,
        account_id: row.account_id,
        csrf: csrf_token(secret),
        stream_token: derive("stream", secret),
    }
}

/// Whether `s` looks like a secret we made (43 URL-safe base64 characters): anything
/// else is not looked up.
pub fn is_secret(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Engine {
    /// Starts a session for a user who has just signed in; returns the cookie's secret.
    pub async fn start_web_session(
        &self,
        account_id: Id,
        ip: &str,
        user_agent: &str,
    ) -> Result<(String, WebSession)> {
        let secret = random_secret();
        let stream_token = derive("stream", &secret);
        let now = sluice_model::id::now_millis();
        let token_id = self.new_id();
        let row = WebSessionRow {
            id: self.new_id(),
            account_id,
            token_id,
            user_agent: user_agent.chars().take(MAX_USER_AGENT_CHARS).collect(),
            ip: ip.to_string(),
            created_at: now,
            last_seen_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_token(&NewToken {
            id: token_id,
            token_hash: hash_secret(&stream_token),
            refresh_hash: None,
            app_id: None,
            account_id: Some(account_id),
            scopes: STREAM_TOKEN_SCOPES.into(),
            created_at: now,
            expires_at: None,
        })
        .await?;
        tx.insert_web_session(&row, &hash_secret(&secret)).await?;
        tx.commit().await?;
        let s = session(&row, &secret);
        Ok((secret, s))
    }

    /// The session a cookie names: `None` when it is unknown, ended, or its user may
    /// no longer sign in (disabled, not approved). Cached for a few seconds
    /// ([`crate::cache::SESSION_TTL`], as bearer tokens are); ending a session here
    /// drops the cache at once.
    pub async fn web_session(&self, secret: &str, ip: &str) -> Result<Option<WebSession>> {
        if !is_secret(secret) {
            return Ok(None);
        }
        let hash = hash_secret(secret);
        if let Some(row) = self.cache.web_sessions.get(&hash) {
            return Ok(Some(session(&row, secret)));
        }
        let Some(found) = self.store.web_session_by_hash(&hash).await? else {
            return Ok(None);
        };
        if found.disabled || !found.approved {
            return Ok(None);
        }
        let now = sluice_model::id::now_millis();
        if now - found.session.last_seen_at > TOUCH_EVERY_MS || found.session.ip != ip {
            // Best effort: a page is served even when this bookkeeping cannot be written.
            let touched = async {
                let mut tx = self.store.begin().await?;
                tx.touch_web_session(found.session.id, now, ip).await?;
                tx.commit().await
            }
            .await;
            if let Err(e) = touched {
                tracing::debug!(error = %e, "web session not touched");
            }
        }
        let s = session(&found.session, secret);
        self.cache.web_sessions.put(hash, found.session);
        Ok(Some(s))
    }

    /// Ends one of the account's sessions (signing out, or revoking it in settings);
    /// false when it has no such session.
    pub async fn end_web_session(&self, account_id: Id, session_id: Id) -> Result<bool> {
        let mut tx = self.store.begin().await?;
        let ended = tx
            .delete_web_session(account_id, session_id, sluice_model::id::now_millis())
            .await?;
        tx.commit().await?;
        // Its streaming token was revoked: no cached copy may outlive that.
        self.cache.sessions_revoked();
        Ok(ended)
    }

    /// The account's live sessions, the most recently used first.
    pub async fn web_sessions(&self, account_id: Id) -> Result<Vec<WebSessionRow>> {
        Ok(self.store.web_sessions_of(account_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_secrets_differ_from_each_other_and_the_cookie() {
        let secret = random_secret();
        assert!(is_secret(&secret));
        let csrf = csrf_token(&secret);
        let stream = derive("stream", &secret);
        assert_ne!(csrf, stream);
        assert_ne!(csrf, secret);
        assert_ne!(stream, secret);
        assert_eq!(csrf, csrf_token(&secret), "derivation is stable");
        assert!(!is_secret("short"));
        assert!(!is_secret(&format!("{}=", &secret[..42])));
    }
}
