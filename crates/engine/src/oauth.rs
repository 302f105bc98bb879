//! OAuth 2 as Mastodon clients use it: app registration, authorization codes (with
//! PKCE S256), the password, client_credentials and refresh_token grants, revocation,
//! and resolving a bearer token to who is calling with which scopes.
//!
//! Secrets (codes, access and refresh tokens) are 256-bit random values, handed out once
//! and stored only as SHA-256 hashes, so a database leak does not leak sessions.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sluice_model::{Id, api, scope::Scopes};
use sluice_store::{AppRow, CodeRow, NewToken, UserRow};

use crate::{Engine, EngineError, Result};

/// An app an account has authorized, as settings list it ([`Engine::authorized_apps`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuthorizedApp {
    pub app_id: Id,
    pub name: String,
    pub website: Option<String>,
    /// Every scope any of its live tokens has, in the order first seen.
    pub scopes: Vec<String>,
    /// When its newest live token was made (ms).
    pub authorized_at: i64,
    /// Its live tokens.
    pub tokens: usize,
}

/// The redirect URI that shows the code on a page instead of redirecting.
pub const OOB_REDIRECT: &str = "urn:ietf:wg:oauth:2.0:oob";
/// How long an authorization code may wait before it is exchanged (RFC 6749 suggests
/// at most 10 minutes).
pub const CODE_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// Limits on what an app may register.
pub const MAX_APP_NAME_CHARS: usize = 200;
pub const MAX_REDIRECT_URIS: usize = 16;
pub const MAX_REDIRECT_URI_CHARS: usize = 2000;

/// Schemes a redirect URI may not have: a browser sent there by `/oauth/authorize` would
/// run script or show local content in the context of the page it came from. Anything
/// else is allowed: `https`, `http` (apps on localhost), and the custom schemes of
/// native apps (`myapp://callback`).
const REFUSED_REDIRECT_SCHEMES: [&str; 7] = [
    "javascript",
    "data",
    "vbscript",
    "file",
    "blob",
    "filesystem",
    "about",
];

/// Whether an app may register `uri` as a redirect URI (and be sent there): the
/// out-of-band URN, or an absolute URI whose scheme is not one of
/// [`REFUSED_REDIRECT_SCHEMES`].
pub fn redirect_uri_allowed(uri: &str) -> bool {
    if uri == OOB_REDIRECT {
        return true;
    }
    uri.len() <= MAX_REDIRECT_URI_CHARS
        && url::Url::parse(uri).is_ok_and(|u| !REFUSED_REDIRECT_SCHEMES.contains(&u.scheme()))
}

/// A resolved bearer token: who is calling (none for app-only tokens) and what they may do.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_id: Id,
    pub app_id: Option<Id>,
    pub account_id: Option<Id>,
    pub scopes: Scopes,
}

/// 32 random bytes, URL-safe base64 (43 characters).
pub fn random_secret() -> String {
    let mut buf = [0u8; 32];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// PKCE S256: BASE64URL(SHA256(verifier)) must equal the challenge.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let digest = Sha256::digest(verifier.as_bytes());
    let computed = URL_SAFE_NO_PAD.encode(digest);
    constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What `POST /api/v1/apps` takes.
#[derive(Debug, Clone)]
pub struct NewApp {
    pub name: String,
    pub website: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: String,
}

/// What a client asked for when sending the user to `/oauth/authorize`.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// A checked authorize request: the app and the scopes that will be granted.
#[derive(Debug, Clone)]
pub struct CheckedAuthorize {
    pub app: AppRow,
    pub scopes: Scopes,
    pub redirect_uri: String,
}

impl Engine {
    pub async fn create_app(&self, a: NewApp) -> Result<AppRow> {
        let name = a.name.trim();
        if name.is_empty() {
            return Err(EngineError::invalid(
                "Validation failed: Application name can't be blank",
            ));
        }
        if name.chars().count() > MAX_APP_NAME_CHARS {
            return Err(EngineError::invalid(
                "Validation failed: Application name is too long",
            ));
        }
        if a.redirect_uris.is_empty() {
            return Err(EngineError::invalid(
                "Validation failed: Redirect URI can't be blank",
            ));
        }
        if a.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(EngineError::invalid(
                "Validation failed: too many redirect URIs",
            ));
        }
        for uri in &a.redirect_uris {
            if !redirect_uri_allowed(uri) {
                return Err(EngineError::invalid(
                    "Validation failed: Redirect URI must be an absolute URI that does not run script or open local content (no javascript:, data:, vbscript:, file:).",
                ));
            }
        }
        let website = a.website.filter(|w| !w.trim().is_empty());
        // Clients link the website where they show an app's name: a web address only
        // (as Mastodon validates it).
        if let Some(w) = &website
            && !url::Url::parse(w.trim())
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        {
            return Err(EngineError::invalid(
                "Validation failed: Website must be an http(s) URL",
            ));
        }
        let scopes = Scopes::parse(if a.scopes.trim().is_empty() {
            "read"
        } else {
            &a.scopes
        })
        .map_err(|bad| {
            EngineError::invalid(format!("Validation failed: Scopes are invalid ({bad})"))
        })?;
        let app = AppRow {
            id: self.new_id(),
            name: name.to_string(),
            website: website.map(|w| w.trim().to_string()),
            redirect_uris: a.redirect_uris.join("\n"),
            scopes: scopes.to_string(),
            client_id: random_secret(),
            client_secret: random_secret(),
            created_at: sluice_model::id::now_millis(),
        };
        let mut tx = self.store.begin().await?;
        tx.insert_app(&app).await?;
        tx.commit().await?;
        Ok(app)
    }

    /// Checks the parameters of an authorize request before showing the consent page.
    pub async fn check_authorize(&self, r: &AuthorizeRequest) -> Result<CheckedAuthorize> {
        let app = self
            .store
            .app_by_client_id(&r.client_id)
            .await?
            .ok_or_else(|| {
                EngineError::oauth(
                    "invalid_client",
                    "Client authentication failed due to unknown client.",
                )
            })?;
        let redirect = if r.redirect_uri.is_empty() {
            app.redirect_uris
                .lines()
                .next()
                .unwrap_or_default()
                .to_string()
        } else {
            r.redirect_uri.clone()
        };
        // An app registered before dangerous schemes were refused is never redirected
        // to one.
        if !app.redirect_uris.lines().any(|u| u == redirect) || !redirect_uri_allowed(&redirect) {
            return Err(EngineError::oauth(
                "invalid_redirect_uri",
                "The redirect uri included is not valid.",
            ));
        }
        let scopes = self.grantable_scopes(&app, r.scope.as_deref())?;
        if let Some(method) = &r.code_challenge_method
            && method != "S256"
        {
            return Err(EngineError::oauth(
                "invalid_request",
                "Only the S256 code challenge method is supported.",
            ));
        }
        Ok(CheckedAuthorize {
            app,
            scopes,
            redirect_uri: redirect,
        })
    }

    /// Scopes requested (default: the app's), which must be within the app's.
    fn grantable_scopes(&self, app: &AppRow, requested: Option<&str>) -> Result<Scopes> {
        let registered = Scopes::parse(&app.scopes).unwrap_or_default();
        let requested = match requested.map(str::trim).filter(|s| !s.is_empty()) {
            None => return Ok(registered),
            Some(s) => Scopes::parse(s).map_err(|_| {
                EngineError::oauth(
                    "invalid_scope",
                    "The requested scope is invalid, unknown, or malformed.",
                )
            })?,
        };
        if !requested.is_subset_of(&registered) {
            return Err(EngineError::oauth(
                "invalid_scope",
                "The requested scope is invalid, unknown, or malformed.",
            ));
        }
        Ok(requested)
    }

    /// The user approved: mint an authorization code.
    pub async fn issue_code(
        &self,
        checked: &CheckedAuthorize,
        user: &UserRow,
        challenge: Option<String>,
    ) -> Result<String> {
        let code = random_secret();
        let now = sluice_model::id::now_millis();
        let row = CodeRow {
            code_hash: hash_secret(&code),
            app_id: checked.app.id,
            account_id: user.account_id,
            scopes: checked.scopes.to_string(),
            redirect_uri: checked.redirect_uri.clone(),
            code_challenge: challenge.filter(|c| !c.is_empty()),
            expires_at: now + CODE_LIFETIME_MS,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_code(&row, now).await?;
        tx.commit().await?;
        Ok(code)
    }

    /// Authenticates a client by id and secret.
    pub async fn client(&self, client_id: &str, client_secret: &str) -> Result<AppRow> {
        let app = self.store.app_by_client_id(client_id).await?;
        match app {
            Some(app)
                if constant_time_eq(app.client_secret.as_bytes(), client_secret.as_bytes()) =>
            {
                Ok(app)
            }
            _ => Err(EngineError::oauth(
                "invalid_client",
                "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
            )),
        }
    }

    /// The authorization_code grant. A public client (PKCE) may omit its secret.
    pub async fn exchange_code(
        &self,
        client_id: &str,
        client_secret: Option<&str>,
        code: &str,
        redirect_uri: &str,
        verifier: Option<&str>,
    ) -> Result<api::Token> {
        let app = match client_secret {
            Some(secret) => self.client(client_id, secret).await?,
            None => self
                .store
                .app_by_client_id(client_id)
                .await?
                .ok_or_else(|| {
                    EngineError::oauth(
                        "invalid_client",
                        "Client authentication failed due to unknown client.",
                    )
                })?,
        };
        let invalid = || {
            EngineError::oauth(
                "invalid_grant",
                "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
            )
        };
        let mut tx = self.store.begin().await?;
        let row = tx
            .take_code(&hash_secret(code))
            .await?
            .ok_or_else(invalid)?;
        let now = sluice_model::id::now_millis();
        if row.app_id != app.id
            || row.expires_at < now
            || (!redirect_uri.is_empty() && row.redirect_uri != redirect_uri)
        {
            tx.commit().await?; // the code is spent either way
            return Err(invalid());
        }
        match (&row.code_challenge, verifier) {
            (Some(challenge), Some(v)) if pkce_matches(v, challenge) => {}
            (Some(_), _) => {
                tx.commit().await?;
                return Err(invalid());
            }
            (None, _) if client_secret.is_none() => {
                tx.commit().await?;
                return Err(EngineError::oauth(
                    "invalid_client",
                    "Client authentication failed.",
                ));
            }
            (None, _) => {}
        }
        let token = self
            .mint_token(
                &mut tx,
                Some(app.id),
                Some(row.account_id),
                &row.scopes,
                true,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The password grant (used by toot and scripts): login is an e-mail or username.
    pub async fn password_grant(
        &self,
        client_id: &str,
        client_secret: &str,
        login: &str,
        password: &str,
        scope: Option<&str>,
        client: &crate::sign_in::SignInClient,
    ) -> Result<api::Token> {
        let app = self.client(client_id, client_secret).await?;
        let scopes = self.grantable_scopes(&app, scope)?;
        let invalid_grant = || {
            EngineError::oauth(
                "invalid_grant",
                "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
            )
        };
        let signed_in = self
            .sign_in(login, password, client)
            .await
            .map_err(|e| match e {
                EngineError::Unauthorized(_) => invalid_grant(),
                e => e,
            })?;
        // This grant has no place for a second factor: an account with two-factor
        // sign-in signs in through the authorize page (as Mastodon does).
        let user = match signed_in {
            crate::sign_in::SignIn::Done(user) => user,
            crate::sign_in::SignIn::NeedsCode(_) => return Err(invalid_grant()),
        };
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let token = self
            .mint_token(
                &mut tx,
                Some(app.id),
                Some(user.account_id),
                &scopes.to_string(),
                true,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The client_credentials grant: a token for the app itself, no user.
    pub async fn client_credentials(
        &self,
        client_id: &str,
        client_secret: &str,
        scope: Option<&str>,
    ) -> Result<api::Token> {
        let app = self.client(client_id, client_secret).await?;
        let scopes = self.grantable_scopes(&app, scope)?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let token = self
            .mint_token(&mut tx, Some(app.id), None, &scopes.to_string(), false, now)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The refresh_token grant: the old token is revoked, a new pair is issued.
    pub async fn refresh(
        &self,
        client_id: &str,
        client_secret: &str,
        refresh: &str,
        scope: Option<&str>,
    ) -> Result<api::Token> {
        let app = self.client(client_id, client_secret).await?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let old = tx
            .take_refresh(&hash_secret(refresh), now)
            .await?
            .filter(|t| t.app_id == Some(app.id))
            .ok_or_else(|| EngineError::oauth("invalid_grant", "The refresh token is invalid."))?;
        let old_scopes = Scopes::parse(&old.scopes).unwrap_or_default();
        let scopes = match scope.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => {
                let s = Scopes::parse(s).map_err(|_| {
                    EngineError::oauth("invalid_scope", "The requested scope is invalid.")
                })?;
                if !s.is_subset_of(&old_scopes) {
                    return Err(EngineError::oauth(
                        "invalid_scope",
                        "The requested scope is invalid.",
                    ));
                }
                s
            }
            None => old_scopes,
        };
        let token = self
            .mint_token(
                &mut tx,
                Some(app.id),
                old.account_id,
                &scopes.to_string(),
                true,
                now,
            )
            .await?;
        tx.commit().await?;
        // The old token was revoked: no cached copy may outlive that.
        self.cache.sessions_revoked();
        Ok(token)
    }

    /// Revokes an access or refresh token of the authenticated client. Unknown tokens
    /// are not an error (RFC 7009).
    pub async fn revoke(&self, client_id: &str, client_secret: &str, token: &str) -> Result<()> {
        let app = self.client(client_id, client_secret).await?;
        let mut tx = self.store.begin().await?;
        tx.revoke_token(&hash_secret(token), app.id, sluice_model::id::now_millis())
            .await?;
        tx.commit().await?;
        self.cache.sessions_revoked();
        Ok(())
    }

    /// The apps the account has authorized (live tokens with an app), the most
    /// recently authorized first, each with the union of its tokens' scopes. A web
    /// session's stream token has no app and is not one of them.
    pub async fn authorized_apps(&self, account_id: Id) -> Result<Vec<AuthorizedApp>> {
        let now = sluice_model::id::now_millis();
        let tokens = self.store.authorized_tokens(account_id, now).await?;
        let mut out: Vec<AuthorizedApp> = Vec::new();
        for t in tokens {
            let i = match out.iter().position(|a| a.app_id == t.app_id) {
                Some(i) => i,
                None => {
                    out.push(AuthorizedApp {
                        app_id: t.app_id,
                        name: t.app_name,
                        website: t.app_website.filter(|w| !w.is_empty()),
                        scopes: Vec::new(),
                        authorized_at: t.created_at,
                        tokens: 0,
                    });
                    out.len() - 1
                }
            };
            let app = &mut out[i];
            app.tokens += 1;
            for scope in t.scopes.split_whitespace() {
                if !app.scopes.iter().any(|s| s == scope) {
                    app.scopes.push(scope.to_string());
                }
            }
        }
        Ok(out)
    }

    /// Takes back an authorization: every live token of the account for the app is
    /// revoked (with its codes not yet exchanged). False when there was none.
    pub async fn revoke_authorized_app(&self, account_id: Id, app_id: Id) -> Result<bool> {
        let mut tx = self.store.begin().await?;
        let revoked = tx
            .revoke_app_tokens(account_id, app_id, sluice_model::id::now_millis())
            .await?;
        tx.commit().await?;
        self.cache.sessions_revoked();
        Ok(revoked > 0)
    }

    async fn mint_token(
        &self,
        tx: &mut sluice_store::WriteTx,
        app_id: Option<Id>,
        account_id: Option<Id>,
        scopes: &str,
        with_refresh: bool,
        now: i64,
    ) -> Result<api::Token> {
        let access = random_secret();
        let refresh = with_refresh.then(random_secret);
        tx.insert_token(&NewToken {
            id: self.new_id(),
            token_hash: hash_secret(&access),
            refresh_hash: refresh.as_deref().map(hash_secret),
            app_id,
            account_id,
            scopes: scopes.to_string(),
            created_at: now,
            expires_at: None,
        })
        .await?;
        Ok(api::Token {
            access_token: access,
            token_type: "Bearer".into(),
            scope: scopes.to_string(),
            created_at: now / 1000,
            refresh_token: refresh,
        })
    }

    /// Issues a user token right after registration, with the scopes of the app token
    /// that registered.
    pub async fn token_for_new_user(
        &self,
        app_id: Option<Id>,
        account_id: Id,
        scopes: &Scopes,
    ) -> Result<api::Token> {
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let t = self
            .mint_token(
                &mut tx,
                app_id,
                Some(account_id),
                &scopes.to_string(),
                true,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(t)
    }

    /// Resolves a bearer token. `None` when it is unknown, revoked or expired; an error
    /// when its user may not sign in (pending approval, disabled).
    pub async fn session(&self, bearer: &str) -> Result<Option<Session>> {
        if bearer.is_empty() || bearer.len() > 512 {
            return Ok(None);
        }
        let hash = hash_secret(bearer);
        if let Some(s) = self.cache.sessions.get(&hash) {
            return Ok(Some(s));
        }
        let now = sluice_model::id::now_millis();
        let Some((t, user)) = self.store.token_by_hash(&hash, now).await? else {
            return Ok(None);
        };
        if t.account_id.is_some() {
            match user {
                Some(u) if u.disabled => {
                    return Err(EngineError::forbidden("Your login is currently disabled"));
                }
                Some(u) if !u.approved => {
                    return Err(EngineError::forbidden(
                        "Your login is currently pending approval",
                    ));
                }
                Some(u) if !u.confirmed => {
                    return Err(EngineError::forbidden(crate::email::UNCONFIRMED));
                }
                Some(_) => {}
                None => return Ok(None),
            }
        }
        let session = Session {
            token_id: t.id,
            app_id: t.app_id,
            account_id: t.account_id,
            scopes: Scopes::parse(&t.scopes).unwrap_or_default(),
        };
        // A token that expires is re-checked on every request instead of cached.
        if t.expires_at.is_none() {
            self.cache.sessions.put(hash, session.clone());
        }
        Ok(Some(session))
    }
}

/// Renders an app for the API; secrets only when just created.
pub fn app_entity(app: &AppRow, with_secrets: bool) -> api::Application {
    let uris: Vec<String> = app.redirect_uris.lines().map(str::to_string).collect();
    api::Application {
        id: app.id.to_string(),
        name: app.name.clone(),
        website: app.website.clone(),
        scopes: app
            .scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        redirect_uri: uris.join("\n"),
        redirect_uris: uris,
        vapid_key: String::new(),
        client_id: with_secrets.then(|| app.client_id.clone()),
        client_secret: with_secrets.then(|| app.client_secret.clone()),
        client_secret_expires_at: with_secrets.then_some(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636_example() {
        // RFC 7636 appendix B.
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "wrong",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = random_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_secret());
        assert_eq!(hash_secret(&a).len(), 64);
    }
}
