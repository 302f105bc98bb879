//! Who is calling: the bearer token (from `Authorization: Bearer …` or the
//! `access_token` query parameter, as Doorkeeper accepts) resolved to a session, and the
//! scope checks every endpoint makes, with Mastodon's status codes:
//! no or bad token 401, scope missing 403, app token where a user is needed 422.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header::AUTHORIZATION};
use sluice_engine::moderation::Role;
use sluice_engine::oauth::Session;
use sluice_model::Id;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// The caller: `None` when no token was sent.
#[derive(Debug, Clone)]
pub struct Auth(pub Option<Session>);

/// A signed-in user with the scopes checked.
#[derive(Debug, Clone, Copy)]
pub struct User {
    pub account_id: Id,
    pub app_id: Option<Id>,
    pub token_id: Id,
}

pub fn bearer(parts: &Parts) -> Option<String> {
    if let Some(h) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let h = h.trim();
        if h.len() > 7 && h[..7].eq_ignore_ascii_case("bearer ") {
            return Some(h[7..].trim().to_string());
        }
    }
    parts.uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
    })
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer(parts) else {
            return Ok(Auth(None));
        };
        match state.engine.session(&token).await? {
            Some(s) => Ok(Auth(Some(s))),
            None => Err(ApiError::unauthorized()),
        }
    }
}

impl Auth {
    /// Requires a token (user or app) allowing one of `scopes`.
    pub fn token(&self, scopes: &[&str]) -> ApiResult<&Session> {
        let s = self.0.as_ref().ok_or_else(ApiError::unauthorized)?;
        if !s.scopes.allows_any(scopes) {
            return Err(ApiError::forbidden(
                "This action is outside the authorized scopes",
            ));
        }
        Ok(s)
    }

    /// Requires a user token allowing one of `scopes`.
    pub fn user(&self, scopes: &[&str]) -> ApiResult<User> {
        let s = self.token(scopes)?;
        let account_id = s.account_id.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "This method requires an authenticated user",
            )
        })?;
        Ok(User {
            account_id,
            app_id: s.app_id,
            token_id: s.token_id,
        })
    }

    /// The viewer's account when a user token was sent (optional-auth endpoints). A
    /// token that lacks the read scope is treated as anonymous for viewing.
    pub fn viewer(&self) -> Option<Id> {
        self.0.as_ref().and_then(|s| s.account_id)
    }
}

/// A signed-in moderator or admin: scopes, role and permission checked.
#[derive(Debug, Clone, Copy)]
pub struct Staff {
    pub account_id: Id,
    pub role: Role,
}

impl Auth {
    /// Requires a user token allowing one of `scopes` (`admin:read…`/`admin:write…`)
    /// whose user's role allows `permission` (a bit of
    /// [`sluice_engine::moderation::permission`]): 401 without a token, 403 when a scope
    /// or the permission is missing, as Mastodon answers.
    pub async fn staff(
        &self,
        state: &AppState,
        scopes: &[&str],
        permission: u64,
    ) -> ApiResult<Staff> {
        let u = self.user(scopes)?;
        let role = state
            .engine
            .require_permission(u.account_id, permission)
            .await?;
        Ok(Staff {
            account_id: u.account_id,
            role,
        })
    }
}

/// The client's address, for rate limiting: the TCP peer, or the address a trusted
/// proxy forwarded ([`crate::forwarded`]); "local" for a unix-socket peer that
/// forwarded none.
pub fn client_ip(parts: &Parts, state: &AppState) -> String {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    state
        .config
        .trusted_proxies
        .client(peer, &parts.headers)
        .map_or_else(|| "local".into(), |ip| ip.to_string())
}

/// Extractor for [`client_ip`].
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts, state)))
    }
}
