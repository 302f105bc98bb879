//! OAuth 2 state: registered applications, authorization codes and access tokens.
//! Codes and tokens are stored only as SHA-256 hashes; the clear values exist only in the
//! response that hands them out.

use sluice_model::Id;

use crate::{AppRow, CodeRow, Query, Result, Store, TokenRow, WriteTx};

#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: Id,
    pub token_hash: String,
    pub refresh_hash: Option<String>,
    pub app_id: Option<Id>,
    pub account_id: Option<Id>,
    pub scopes: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

impl Store {
    pub async fn app_by_client_id(&self, client_id: &str) -> Result<Option<AppRow>> {
        self.opt(Query::new("SELECT * FROM apps WHERE client_id = $1").bind(client_id))
            .await
    }

    pub async fn app(&self, id: Id) -> Result<Option<AppRow>> {
        self.opt(Query::new("SELECT * FROM apps WHERE id = $1").bind(id))
            .await
    }

    pub async fn apps(&self, ids: &[Id]) -> Result<Vec<AppRow>> {
        let mut q = Query::new("SELECT * FROM apps WHERE id IN ");
        let list = q.in_list(ids);
        q.push(&list);
        self.all(q).await
    }

    /// The live token with this hash (not revoked, not expired at `now`), with the
    /// state of its user, in one query: this runs on every authenticated request.
    pub async fn token_by_hash(
        &self,
        hash: &str,
        now: i64,
    ) -> Result<Option<(TokenRow, Option<UserState>)>> {
        let row = self
            .opt::<TokenWithUser>(
                Query::new(
                    "SELECT t.id, t.app_id, t.account_id, t.scopes, t.created_at, t.expires_at, t.revoked_at,
                            u.approved, u.disabled, u.confirmed
                     FROM tokens t LEFT JOIN users u ON u.account_id = t.account_id
                     WHERE t.token_hash = $1 AND t.revoked_at IS NULL
                       AND (t.expires_at IS NULL OR t.expires_at > $2)",
                )
                .bind(hash)
                .bind(now),
            )
            .await?;
        Ok(row.map(|r| {
            let user = match (r.approved, r.disabled, r.confirmed) {
                (Some(approved), Some(disabled), Some(confirmed)) => Some(UserState {
                    approved,
                    disabled,
                    confirmed,
                }),
                _ => None,
            };
            (
                TokenRow {
                    id: r.id,
                    app_id: r.app_id,
                    account_id: r.account_id,
                    scopes: r.scopes,
                    created_at: r.created_at,
                    expires_at: r.expires_at,
                    revoked_at: r.revoked_at,
                },
                user,
            )
        }))
    }
}

impl Store {
    /// The live tokens an account gave apps (OAuth authorizations and password
    /// grants), with their app, the newest first. Tokens without an app (a web
    /// session's stream token) are not among them.
    pub async fn authorized_tokens(
        &self,
        account_id: Id,
        now: i64,
    ) -> Result<Vec<AuthorizedToken>> {
        self.all(
            Query::new(
                "SELECT t.id, t.app_id, a.name AS app_name, a.website AS app_website, t.scopes, t.created_at
                 FROM tokens t JOIN apps a ON a.id = t.app_id
                 WHERE t.account_id = $1 AND t.revoked_at IS NULL
                   AND (t.expires_at IS NULL OR t.expires_at > $2)
                 ORDER BY t.created_at DESC, t.id DESC",
            )
            .bind(account_id)
            .bind(now),
        )
        .await
    }
}

/// A live token an account gave an app.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuthorizedToken {
    pub id: Id,
    pub app_id: Id,
    pub app_name: String,
    pub app_website: Option<String>,
    pub scopes: String,
    pub created_at: i64,
}

/// Whether a token's user may act.
#[derive(Debug, Clone, Copy)]
pub struct UserState {
    pub approved: bool,
    pub disabled: bool,
    pub confirmed: bool,
}

#[derive(sqlx::FromRow)]
struct TokenWithUser {
    id: Id,
    app_id: Option<Id>,
    account_id: Option<Id>,
    scopes: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    approved: Option<bool>,
    disabled: Option<bool>,
    confirmed: Option<bool>,
}

impl WriteTx {
    pub async fn insert_app(&mut self, app: &AppRow) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO apps (id, name, website, redirect_uris, scopes, client_id, client_secret, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(app.id)
            .bind(&app.name)
            .bind(app.website.clone())
            .bind(&app.redirect_uris)
            .bind(&app.scopes)
            .bind(&app.client_id)
            .bind(&app.client_secret)
            .bind(app.created_at),
        )
        .await?;
        Ok(())
    }

    pub async fn insert_code(&mut self, c: &CodeRow, now: i64) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO oauth_codes (code_hash, app_id, account_id, scopes, redirect_uri,
                   code_challenge, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&c.code_hash)
            .bind(c.app_id)
            .bind(c.account_id)
            .bind(&c.scopes)
            .bind(&c.redirect_uri)
            .bind(c.code_challenge.clone())
            .bind(c.expires_at)
            .bind(now),
        )
        .await?;
        Ok(())
    }

    /// Takes an authorization code: returns it and deletes it, so it works once.
    pub async fn take_code(&mut self, hash: &str) -> Result<Option<CodeRow>> {
        let row = self
            .opt::<CodeRow>(Query::new("SELECT * FROM oauth_codes WHERE code_hash = $1").bind(hash))
            .await?;
        if row.is_some() {
            self.exec(Query::new("DELETE FROM oauth_codes WHERE code_hash = $1").bind(hash))
                .await?;
        }
        Ok(row)
    }

    pub async fn insert_token(&mut self, t: &NewToken) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO tokens (id, token_hash, refresh_hash, app_id, account_id, scopes, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(t.id)
            .bind(&t.token_hash)
            .bind(t.refresh_hash.clone())
            .bind(t.app_id)
            .bind(t.account_id)
            .bind(&t.scopes)
            .bind(t.created_at)
            .bind(t.expires_at),
        )
        .await?;
        Ok(())
    }

    /// Signs an account out everywhere: revokes its live tokens (with their refresh
    /// tokens) and deletes its authorization codes not yet exchanged. Returns the
    /// number of tokens revoked.
    pub async fn revoke_account_tokens(&mut self, account_id: Id, now: i64) -> Result<u64> {
        self.exec(Query::new("DELETE FROM oauth_codes WHERE account_id = $1").bind(account_id))
            .await?;
        let n = self.exec(
            Query::new(
                "UPDATE tokens SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL",
            )
            .bind(account_id)
            .bind(now),
        )
        .await?;
        self.drop_revoked_push_subscriptions(account_id).await?;
        Ok(n)
    }

    /// Takes back what an account gave one app: revokes its live tokens for the app
    /// and deletes its authorization codes for it not yet exchanged. Returns the
    /// number of tokens revoked.
    pub async fn revoke_app_tokens(&mut self, account_id: Id, app_id: Id, now: i64) -> Result<u64> {
        self.exec(
            Query::new("DELETE FROM oauth_codes WHERE account_id = $1 AND app_id = $2")
                .bind(account_id)
                .bind(app_id),
        )
        .await?;
        let n = self
            .exec(
                Query::new(
                    "UPDATE tokens SET revoked_at = $3
                 WHERE account_id = $1 AND app_id = $2 AND revoked_at IS NULL",
                )
                .bind(account_id)
                .bind(app_id)
                .bind(now),
            )
            .await?;
        self.drop_revoked_push_subscriptions(account_id).await?;
        Ok(n)
    }

    /// [`WriteTx::revoke_account_tokens`], except the stream token of the web session
    /// `keep_session` (the browser that changed the password stays signed in).
    pub async fn revoke_account_tokens_but_session(
        &mut self,
        account_id: Id,
        keep_session: Id,
        now: i64,
    ) -> Result<u64> {
        self.exec(Query::new("DELETE FROM oauth_codes WHERE account_id = $1").bind(account_id))
            .await?;
        let n = self.exec(
            Query::new(
                "UPDATE tokens SET revoked_at = $2
                 WHERE account_id = $1 AND revoked_at IS NULL
                   AND id NOT IN (SELECT token_id FROM web_sessions WHERE id = $3 AND account_id = $1)",
            )
            .bind(account_id)
            .bind(now)
            .bind(keep_session),
        )
        .await?;
        self.drop_revoked_push_subscriptions(account_id).await?;
        Ok(n)
    }

    /// Finds the live token that owns a refresh token, and revokes it (rotation).
    pub async fn take_refresh(&mut self, refresh_hash: &str, now: i64) -> Result<Option<TokenRow>> {
        let row = self
            .opt::<TokenRow>(
                Query::new(
                    "SELECT id, app_id, account_id, scopes, created_at, expires_at, revoked_at
                     FROM tokens WHERE refresh_hash = $1 AND revoked_at IS NULL",
                )
                .bind(refresh_hash),
            )
            .await?;
        if let Some(t) = &row {
            self.exec(
                Query::new("UPDATE tokens SET revoked_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(t.id),
            )
            .await?;
            self.drop_push_subscription_of_token(t.id).await?;
        }
        Ok(row)
    }

    /// Revokes the token whose access or refresh hash is `hash`, if it belongs to `app_id`.
    pub async fn revoke_token(&mut self, hash: &str, app_id: Id, now: i64) -> Result<u64> {
        let n = self.exec(
            Query::new(
                "UPDATE tokens SET revoked_at = $1
                 WHERE (token_hash = $2 OR refresh_hash = $2) AND app_id = $3 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(hash)
            .bind(app_id),
        )
        .await?;
        if n > 0 {
            self.drop_push_subscription_of_hash(hash).await?;
        }
        Ok(n)
    }

    /// Deletes expired codes and long-revoked tokens, in one small batch.
    pub async fn prune_oauth(&mut self, now: i64, revoked_before: i64) -> Result<u64> {
        let a = self
            .exec(Query::new("DELETE FROM oauth_codes WHERE expires_at < $1").bind(now))
            .await?;
        let b = self
            .exec(
                Query::new(
                    "DELETE FROM tokens WHERE id IN (SELECT id FROM tokens WHERE revoked_at < $1 LIMIT 500)",
                )
                .bind(revoked_before),
            )
            .await?;
        Ok(a + b)
    }
}
