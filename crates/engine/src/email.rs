//! Mail to people: the confirmation of a new account's address and password-reset
//! links. The engine is handed a [`Mailer`] at start (the binary's SMTP client, from
//! `SLUICE_SMTP_URL`); without one, nothing is mailed, new accounts need no
//! confirmation, and an administrator resets passwords from the command line.
//!
//! A link carries a random secret; the database keeps its hash, what it is for and
//! until when it works (`sluice_store::EmailPurpose`). Asking for a reset says the
//! same whether or not the address is known.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sluice_model::Id;
use sluice_store::{AccountRow, EmailPurpose, UserRow};

use crate::oauth::{hash_secret, random_secret};
use crate::{Engine, EngineError, Result};

/// Why a signed-up person cannot sign in yet (Mastodon's words).
pub const UNCONFIRMED: &str = "Your login is missing a confirmed e-mail address";
/// How long a confirmation link works.
pub const CONFIRM_VALID_MS: i64 = 48 * 3600 * 1000;
/// How long a password-reset link works.
pub const RESET_VALID_MS: i64 = 3600 * 1000;

/// A message to one person.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    /// Plain text.
    pub body: String,
}

/// Sends mail (the binary's SMTP client; a test's own).
pub trait Mailer: Send + Sync + 'static {
    fn send(
        &self,
        mail: Mail,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<(), String>> + Send + '_>>;
}

impl Engine {
    /// Installs the mailer (once, at start).
    pub fn install_mailer(&self, mailer: Arc<dyn Mailer>) {
        let _ = self.mailer.set(mailer);
    }

    /// Whether this server sends mail.
    pub fn sends_mail(&self) -> bool {
        self.mailer.get().is_some()
    }

    pub(crate) async fn mail(&self, mail: Mail) -> Result<()> {
        let Some(mailer) = self.mailer.get() else {
            return Err(EngineError::invalid("This server sends no mail"));
        };
        mailer
            .send(mail)
            .await
            .map_err(|e| EngineError::Internal(format!("mail not sent: {e}")))
    }

    /// A new link's secret, stored (hashed) for `purpose`.
    async fn email_link(
        &self,
        account: Id,
        purpose: EmailPurpose,
        valid_ms: i64,
    ) -> Result<String> {
        let secret = random_secret();
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        tx.insert_email_token(&hash_secret(&secret), account, purpose, now + valid_ms, now)
            .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// Mails the link that confirms a new account's address.
    pub async fn send_confirmation(&self, account: &AccountRow, user: &UserRow) -> Result<()> {
        let secret = self
            .email_link(account.id, EmailPurpose::Confirm, CONFIRM_VALID_MS)
            .await?;
        let link = format!("{}/auth/confirm?token={secret}", self.urls.base());
        self.mail(Mail {
            to: user.email.clone(),
            subject: format!("Confirm your account on {}", self.urls.domain()),
            body: format!(
                "Hello @{},\n\nTo confirm this address and start using your account on {}, open:\n\n{link}\n\nThe link works for 48 hours. If you did not sign up, ignore this message.\n",
                account.username,
                self.urls.domain()
            ),
        })
        .await
    }

    /// Sends the confirmation link again to `login`'s address, when that account
    /// still has to confirm it (nothing is said either way).
    pub async fn resend_confirmation(&self, login: &str) -> Result<()> {
        let Some(user) = self.store.user_by_login(login.trim()).await? else {
            return Ok(());
        };
        if user.confirmed {
            return Ok(());
        }
        let Some(account) = self.store.account(user.account_id).await? else {
            return Ok(());
        };
        self.send_confirmation(&account, &user).await
    }

    /// Uses a confirmation link: the account it confirmed.
    pub async fn confirm_email(&self, secret: &str) -> Result<Id> {
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let account = tx
            .take_email_token(&hash_secret(secret), EmailPurpose::Confirm, now)
            .await?
            .ok_or_else(|| {
                EngineError::invalid("This confirmation link is not valid (any more)")
            })?;
        tx.set_confirmed(account).await?;
        tx.commit().await?;
        self.cache.sessions_revoked();
        Ok(account)
    }

    /// Mails a password-reset link to the user with this address, if there is one.
    /// Says nothing about whether there is: the answer is the same.
    pub async fn request_password_reset(&self, email: &str) -> Result<()> {
        let Some(user) = self.store.user_by_login(email.trim()).await? else {
            return Ok(());
        };
        if !user.email.eq_ignore_ascii_case(email.trim()) {
            // A username matched: resets go by address only.
            return Ok(());
        }
        let secret = self
            .email_link(user.account_id, EmailPurpose::Reset, RESET_VALID_MS)
            .await?;
        let link = format!("{}/auth/password/edit?token={secret}", self.urls.base());
        self.mail(Mail {
            to: user.email.clone(),
            subject: format!("Reset your password on {}", self.urls.domain()),
            body: format!(
                "Someone asked to reset the password of your account on {}. To choose a new one, open:\n\n{link}\n\nThe link works for an hour. If it was not you, ignore this message: your password stays.\n",
                self.urls.domain()
            ),
        })
        .await
    }

    /// Uses a password-reset link: sets the new password and signs the account out
    /// everywhere ([`Engine::reset_password`]). A link that worked also confirms the
    /// address it was sent to.
    pub async fn reset_password_by_link(&self, secret: &str, password: &str) -> Result<Id> {
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let account = tx
            .take_email_token(&hash_secret(secret), EmailPurpose::Reset, now)
            .await?
            .ok_or_else(|| EngineError::invalid("This reset link is not valid (any more)"))?;
        tx.set_confirmed(account).await?;
        tx.commit().await?;
        self.reset_password(account, password).await?;
        Ok(account)
    }
}
