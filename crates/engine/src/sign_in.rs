//! Checking a password, with guessing slowed per account.
//!
//! The API limits sign-in attempts per IP, but many addresses together guess without
//! end (5 addresses × 30 guesses, then a sixth address, …). So failures are also
//! counted per account, in the database (one count for every serving process and
//! machine, kept across restarts): after [`FREE_FAILURES`] failures, a client the
//! account has never seen must wait [`FIRST_DELAY`] after the last failure before it may
//! try again, doubling with each further failure up to [`MAX_DELAY`]; until then it is
//! refused (429 with `Retry-After`) without its password being checked.
//!
//! A stranger must not be able to lock the owner out: clients that have signed in to
//! the account before (its address, or the device cookie the sign-in page sets) are
//! never slowed. A successful sign-in, and a password reset, clear the count.

use sluice_model::Id;
use sluice_store::UserRow;

use crate::accounts::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, hash_password, verify_password};
use crate::oauth::hash_secret;
use crate::{Engine, EngineError, Result};

/// Failures allowed before strangers are slowed: a person who mistypes a few times is
/// never kept waiting.
pub const FREE_FAILURES: i64 = 5;
/// The wait after the first failure beyond [`FREE_FAILURES`], doubled for each one
/// after it. A minute is long enough that guessing stops paying (one guess a minute,
/// then every two, four…) and short enough for an owner on a new device to wait out.
pub const FIRST_DELAY_MS: i64 = 60_000;
/// The longest wait: an hour keeps a patient guesser at 24 guesses a day per account,
/// and bounds how long the owner's new device is kept out.
pub const MAX_DELAY_MS: i64 = 3_600_000;
/// Clients remembered per account, the most recently seen: a person's few devices and
/// networks.
pub const KNOWN_CLIENTS: i64 = 10;

/// Who is signing in, as far as the server can tell.
#[derive(Debug, Clone, Default)]
pub struct SignInClient {
    /// The client's address (as the API's rate limits see it).
    pub ip: String,
    /// The device cookie the sign-in page set on an earlier success, if sent.
    pub device: Option<String>,
}

/// What a right password leads to.
#[derive(Debug, Clone)]
#[must_use]
pub enum SignIn {
    /// Signed in.
    Done(UserRow),
    /// The account has two-factor sign-in: nothing is done until a code is checked
    /// (`crate::two_factor`: keep a challenge, then `finish_sign_in`).
    NeedsCode(UserRow),
}

impl SignInClient {
    /// What the database holds for this client: hashes, so a stored cookie cannot be
    /// replayed.
    pub(crate) fn hashes(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.ip.is_empty() {
            out.push(hash_secret(&format!("ip:{}", self.ip)));
        }
        if let Some(d) = self.device.as_deref().filter(|d| !d.is_empty()) {
            out.push(hash_secret(&format!("device:{d}")));
        }
        out
    }
}

/// How long a stranger must still wait after `failures` failures, the last at
/// `last_failure_at`; 0 when it may try now.
pub fn wait_ms(failures: i64, last_failure_at: i64, now: i64) -> i64 {
    let beyond = failures - FREE_FAILURES;
    if beyond < 0 {
        return 0;
    }
    // 2^beyond minutes, without overflowing for large counts.
    let delay = FIRST_DELAY_MS
        .checked_shl(beyond.min(32) as u32)
        .unwrap_or(MAX_DELAY_MS)
        .min(MAX_DELAY_MS);
    (last_failure_at + delay - now).max(0)
}

/// Refuses a new password too short or too long.
fn check_password_length(password: &str) -> Result<()> {
    let len = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&len) {
        return Err(EngineError::invalid(format!(
            "The password must be between {MIN_PASSWORD_CHARS} and {MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// Why a suspended account's owner cannot sign in.
pub const SUSPENDED: &str = "Your account is suspended";

impl Engine {
    /// Checks a login (e-mail or username) and password. The error does not say which
    /// of the two was wrong. A client the account does not know is refused, unchecked,
    /// while the account's failures make it wait ([`wait_ms`]). For an account with
    /// two-factor sign-in a right password is only the first step
    /// ([`SignIn::NeedsCode`]): its failures stay counted and the client is not
    /// remembered until the code is right.
    pub async fn sign_in(
        &self,
        login: &str,
        password: &str,
        client: &SignInClient,
    ) -> Result<SignIn> {
        let user = self.store.user_by_login(login.trim()).await?;
        let Some(user) = user else {
            // Spend the same time as a real check, so timing does not reveal accounts.
            let _ = hash_password(password.to_string()).await;
            return Err(EngineError::Unauthorized(
                "Invalid login or password".into(),
            ));
        };
        let had_failures = self.check_password(&user, password, client).await?;
        if user.disabled {
            return Err(EngineError::forbidden("Your login is currently disabled"));
        }
        // A suspended account is left out of account lookups.
        if self.store.account(user.account_id).await?.is_none() {
            return Err(EngineError::forbidden(SUSPENDED));
        }
        if !user.approved {
            return Err(EngineError::forbidden(
                "Your login is currently pending approval",
            ));
        }
        if !user.confirmed {
            return Err(EngineError::forbidden(crate::email::UNCONFIRMED));
        }
        if self.two_factor_enabled(user.account_id).await? {
            return Ok(SignIn::NeedsCode(user));
        }
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        if had_failures {
            tx.clear_sign_in_failures(user.account_id).await?;
        }
        tx.remember_sign_in_clients(user.account_id, &client.hashes(), KNOWN_CLIENTS, now)
            .await?;
        tx.commit().await?;
        Ok(SignIn::Done(user))
    }

    /// Refuses (429), while the account's failures make strangers wait, a client the
    /// account does not know. True when the account has failures counted.
    pub(crate) async fn refuse_while_slowed(
        &self,
        account: Id,
        client: &SignInClient,
        now: i64,
    ) -> Result<bool> {
        let failures = self.store.sign_in_failures(account).await?;
        if let Some(f) = &failures {
            let wait = wait_ms(f.failures, f.last_failure_at, now);
            if wait > 0
                && !self
                    .store
                    .is_known_sign_in_client(account, &client.hashes())
                    .await?
            {
                tracing::info!(
                    account,
                    client = %client.ip,
                    failures = f.failures,
                    "sign-in refused unchecked: too many failures for this account"
                );
                return Err(EngineError::TooManyAttempts {
                    retry_after_secs: (wait as u64).div_ceil(1000),
                });
            }
        }
        Ok(failures.is_some())
    }

    /// Checks `password` against `user`'s, as signing in does: a client the account
    /// does not know is refused, unchecked, while the account's failures make it wait
    /// ([`wait_ms`]); a wrong password counts as a failure. True when the account had
    /// failures counted (for the caller to clear).
    pub(crate) async fn check_password(
        &self,
        user: &UserRow,
        password: &str,
        client: &SignInClient,
    ) -> Result<bool> {
        let account = user.account_id;
        let now = sluice_model::id::now_millis();
        let had_failures = self.refuse_while_slowed(account, client, now).await?;
        if !verify_password(password.to_string(), user.password_hash.clone()).await {
            let mut tx = self.store.begin().await?;
            let failures = tx.record_sign_in_failure(account, now).await?;
            tx.commit().await?;
            tracing::debug!(account, client = %client.ip, failures, "wrong password");
            return Err(EngineError::Unauthorized(
                "Invalid login or password".into(),
            ));
        }
        Ok(had_failures)
    }

    /// A signed-in user's own password change: `current` is checked as a sign-in's
    /// password is (a wrong one counts as a failure, and too many make strangers
    /// wait), then the new one is set and, as on a reset, the account is signed out
    /// everywhere else: every token revoked and every web session ended but
    /// `keep_session` (the browser that made the change), whose stream token stays.
    /// Returns the tokens revoked.
    pub async fn change_password(
        &self,
        account_id: Id,
        current: &str,
        new: &str,
        client: &SignInClient,
        keep_session: Option<Id>,
    ) -> Result<u64> {
        check_password_length(new)?;
        let user = self
            .store
            .user(account_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        self.check_password(&user, current, client)
            .await
            .map_err(|e| match e {
                EngineError::Unauthorized(_) => {
                    EngineError::invalid("The current password is not right")
                }
                e => e,
            })?;
        let hash = hash_password(new.to_string()).await?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        tx.set_password(account_id, &hash).await?;
        tx.clear_sign_in_failures(account_id).await?;
        let revoked = match keep_session {
            Some(keep) => {
                let n = tx
                    .revoke_account_tokens_but_session(account_id, keep, now)
                    .await?;
                tx.delete_other_web_sessions(account_id, keep).await?;
                n
            }
            None => {
                let n = tx.revoke_account_tokens(account_id, now).await?;
                tx.delete_web_sessions_of(account_id).await?;
                n
            }
        };
        tx.commit().await?;
        self.cache.sessions_revoked();
        Ok(revoked)
    }

    /// Sets a local user's password (an administrator's reset). As Mastodon does on a
    /// password change, the account is signed out everywhere: its tokens are revoked
    /// and its authorization codes dropped (other processes may go on trusting a
    /// session for the few seconds they cache it). The account's sign-in failures are
    /// forgotten, so its owner is not kept waiting. Returns the tokens revoked.
    pub async fn reset_password(&self, account_id: Id, password: &str) -> Result<u64> {
        check_password_length(password)?;
        let hash = hash_password(password.to_string()).await?;
        let mut tx = self.store.begin().await?;
        tx.set_password(account_id, &hash).await?;
        tx.clear_sign_in_failures(account_id).await?;
        let revoked = tx
            .revoke_account_tokens(account_id, sluice_model::id::now_millis())
            .await?;
        tx.delete_web_sessions_of(account_id).await?;
        tx.commit().await?;
        self.cache.sessions_revoked();
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strangers_wait_longer_after_each_failure_up_to_an_hour() {
        let minute = 60_000;
        assert_eq!(wait_ms(0, 0, 0), 0);
        assert_eq!(wait_ms(FREE_FAILURES - 1, 1000, 1000), 0);
        assert_eq!(wait_ms(FREE_FAILURES, 1000, 1000), minute);
        assert_eq!(wait_ms(FREE_FAILURES, 1000, 1000 + minute), 0);
        assert_eq!(wait_ms(FREE_FAILURES + 1, 0, 0), 2 * minute);
        assert_eq!(wait_ms(FREE_FAILURES + 3, 0, 30_000), 8 * minute - 30_000);
        assert_eq!(wait_ms(FREE_FAILURES + 6, 0, 0), 60 * minute);
        assert_eq!(wait_ms(FREE_FAILURES + 40, 0, 0), 60 * minute);
        assert_eq!(wait_ms(i64::MAX, 0, 0), 60 * minute);
    }
}
