//! Two-factor sign-in for local accounts: TOTP (RFC 6238: a 30 s step, 6 digits,
//! HMAC-SHA-1, as authenticator apps expect) with recovery codes.
//!
//! Enabling: [`Engine::start_two_factor`] makes a secret that is only *pending* (shown
//! on the settings page, stored apart) until a code from it is confirmed
//! ([`Engine::confirm_two_factor`]), which turns it on and returns the recovery codes,
//! once. [`Engine::disable_two_factor`] and [`Engine::regenerate_recovery_codes`]
//! need the password; [`Engine::reset_two_factor`] is the administrator's, without.
//!
//! Signing in: [`Engine::sign_in`] stays the password step; for an account with
//! two-factor it answers [`SignIn::NeedsCode`](crate::sign_in::SignIn) without
//! clearing the account's failures or remembering the client, and the caller keeps a
//! *challenge* ([`Engine::start_second_factor`]): a random token stored hashed
//! server-side, bound to the browser (or OAuth request) that entered the password,
//! valid [`CHALLENGE_TTL_MS`], used once, dropped after [`CHALLENGE_MAX_ATTEMPTS`]
//! wrong codes. [`Engine::finish_sign_in`] checks the code: a wrong one counts as a
//! failed sign-in of the account (the same per-account slowdown as wrong passwords).
//!
//! A code is accepted in the current time step or one step either side (clock
//! drift), and never twice: the last step used is stored and only a later one is
//! accepted. A recovery code works once.

use rand::Rng;
use sluice_model::Id;
use sluice_store::UserRow;
use totp_rs::{Builder, Secret, Totp};

use crate::oauth::hash_secret;
use crate::sign_in::SignInClient;
use crate::{Engine, EngineError, Result};

/// Recovery codes made when two-factor sign-in is turned on.
pub const RECOVERY_CODES: usize = 10;
/// How long the second step of a sign-in may wait after the password.
pub const CHALLENGE_TTL_MS: i64 = 5 * 60_000;
/// Wrong codes one challenge takes before the password must be entered again.
pub const CHALLENGE_MAX_ATTEMPTS: i64 = 5;
/// The refusal of a challenge that expired, was used, or never was.
pub const CHALLENGE_EXPIRED: &str = "This sign-in has expired. Enter your password again.";
/// The refusal of a wrong code.
pub const WRONG_CODE: &str = "Invalid two-factor code";
/// Bytes of a new secret (160 bits, RFC 4226's recommendation).
const SECRET_BYTES: usize = 20;

/// What the settings page shows.
#[derive(Debug, Clone, Default)]
pub struct TwoFactorStatus {
    pub enabled: bool,
    /// A secret waiting to be confirmed: base32 and the `otpauth://` URI.
    pub pending: Option<PendingSecret>,
    pub recovery_codes_left: i64,
}

#[derive(Debug, Clone)]
pub struct PendingSecret {
    pub secret: String,
    pub uri: String,
}

/// The TOTP of a base32 secret: SHA-1, 6 digits, 30 s, one step of drift.
fn totp(secret_b32: &str, issuer: &str, label: &str) -> Result<Totp> {
    let secret = Secret::try_from_base32(secret_b32)
        .map_err(|_| EngineError::Internal("a stored TOTP secret is not base32".into()))?;
    // `:` separates issuer and label in the URI: neither may hold one.
    let issuer = issuer.replace(':', "_");
    Builder::new()
        .with_secret(secret)
        .with_skew(1)
        .with_step_duration(30)
        .with_digits(6)
        .with_issuer(Some(issuer))
        .with_account_name(label.replace(':', "_"))
        .build()
        .map_err(|e| EngineError::Internal(format!("TOTP: {e}")))
}

fn now_secs() -> u64 {
    (sluice_model::id::now_millis() / 1000).max(0) as u64
}

/// The time step a code matches now, if any.
fn matching_step(secret_b32: &str, code: &str) -> Result<Option<i64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    Ok(totp(secret_b32, "x", "x")?
        .check(&code, now_secs())
        .map(|s| s as i64))
}

/// A recovery code as typed, in the form it was hashed: lower case, no spaces or
/// dashes.
fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Ten new recovery codes, `xxxxx-xxxxx` from an alphabet without look-alikes (50
/// bits each).
fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let s: String = (0..10)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &s[..5], &s[5..])
        })
        .collect()
}

impl Engine {
    /// Whether signing in to the account needs a second step.
    pub async fn two_factor_enabled(&self, account_id: Id) -> Result<bool> {
        Ok(self
            .store
            .two_factor(account_id)
            .await?
            .is_some_and(|r| r.secret.is_some()))
    }

    /// The account's two-factor state; a pending secret's URI names `issuer` and
    /// `label` (the instance and the account, as apps list them).
    pub async fn two_factor_status(
        &self,
        account_id: Id,
        issuer: &str,
        label: &str,
    ) -> Result<TwoFactorStatus> {
        let Some(row) = self.store.two_factor(account_id).await? else {
            return Ok(TwoFactorStatus::default());
        };
        let pending = match &row.pending_secret {
            Some(s) => Some(PendingSecret {
                secret: s.clone(),
                uri: totp(s, issuer, label)?
                    .to_url()
                    .map_err(|e| EngineError::Internal(format!("TOTP: {e}")))?,
            }),
            None => None,
        };
        Ok(TwoFactorStatus {
            enabled: row.secret.is_some(),
            pending,
            recovery_codes_left: self.store.recovery_codes_left(account_id).await?,
        })
    }

    /// Makes a new secret to enable two-factor sign-in with; nothing changes for
    /// signing in until a code from it is confirmed.
    pub async fn start_two_factor(&self, account_id: Id) -> Result<()> {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rng().fill(&mut bytes);
        let secret = Secret::from(bytes.to_vec()).to_base32();
        let mut tx = self.store.begin().await?;
        tx.set_pending_two_factor(account_id, &secret).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Turns two-factor sign-in on with the pending secret, when `code` is one of its
    /// codes now. Returns the recovery codes: they are shown this once.
    pub async fn confirm_two_factor(&self, account_id: Id, code: &str) -> Result<Vec<String>> {
        let row = self.store.two_factor(account_id).await?;
        let Some(pending) = row.and_then(|r| r.pending_secret) else {
            return Err(EngineError::invalid(
                "There is no secret to confirm: start again.",
            ));
        };
        let Some(step) = matching_step(&pending, code)? else {
            return Err(EngineError::invalid(
                "That code is not right: check the app's clock and try the next code.",
            ));
        };
        let codes = new_recovery_codes();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| hash_secret(&normalize_recovery_code(c)))
            .collect();
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        if !tx
            .enable_two_factor(account_id, &pending, step, &hashes, now)
            .await?
        {
            return Err(EngineError::invalid(
                "The secret changed meanwhile: start again.",
            ));
        }
        tx.commit().await?;
        Ok(codes)
    }

    /// Checks the password of a signed-in person confirming a change, as a sign-in's
    /// is (a wrong one counts as a failure and is a 422, not a 401: they are signed in).
    async fn confirm_password(
        &self,
        account_id: Id,
        password: &str,
        client: &SignInClient,
    ) -> Result<()> {
        let user = self
            .store
            .user(account_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        self.check_password(&user, password, client)
            .await
            .map_err(|e| match e {
                EngineError::Unauthorized(_) => EngineError::invalid("The password is not right"),
                e => e,
            })?;
        Ok(())
    }

    /// Turns two-factor sign-in off; `password` is checked as a sign-in's is (a
    /// wrong one counts as a failure).
    pub async fn disable_two_factor(
        &self,
        account_id: Id,
        password: &str,
        client: &SignInClient,
    ) -> Result<()> {
        self.confirm_password(account_id, password, client).await?;
        let mut tx = self.store.begin().await?;
        tx.disable_two_factor(account_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// New recovery codes for an account with two-factor sign-in on, in place of the
    /// old ones (used or not); `password` is checked as a sign-in's is. Returns the
    /// codes: they are shown this once.
    pub async fn regenerate_recovery_codes(
        &self,
        account_id: Id,
        password: &str,
        client: &SignInClient,
    ) -> Result<Vec<String>> {
        self.confirm_password(account_id, password, client).await?;
        if !self.two_factor_enabled(account_id).await? {
            return Err(EngineError::invalid("Two-factor sign-in is off"));
        }
        let codes = new_recovery_codes();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| hash_secret(&normalize_recovery_code(c)))
            .collect();
        let mut tx = self.store.begin().await?;
        tx.replace_recovery_codes(account_id, &hashes).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// An administrator's way out for someone who lost both their authenticator app
    /// and their recovery codes: two-factor sign-in is turned off without the
    /// password (the secret, recovery codes and waiting sign-ins are forgotten), and
    /// the account's web sessions are ended (their tokens revoked). Returns whether it
    /// was on (or being set up), and how many sessions ended.
    pub async fn reset_two_factor(&self, account_id: Id) -> Result<(bool, u64)> {
        let was_on = self.store.two_factor(account_id).await?.is_some();
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        tx.disable_two_factor(account_id).await?;
        let ended = tx.end_web_sessions_of(account_id, now).await?;
        tx.commit().await?;
        self.cache.sessions_revoked();
        Ok((was_on, ended))
    }

    /// Uses `code` for the account: a TOTP code of a step later than the last used,
    /// or a recovery code not used yet. False when neither.
    async fn use_code(&self, account_id: Id, code: &str) -> Result<bool> {
        let Some(secret) = self
            .store
            .two_factor(account_id)
            .await?
            .and_then(|r| r.secret)
        else {
            return Ok(false);
        };
        let mut tx = self.store.begin().await?;
        let ok = match matching_step(&secret, code)? {
            Some(step) => tx.use_two_factor_step(account_id, step).await?,
            None => {
                let normalized = normalize_recovery_code(code);
                !normalized.is_empty()
                    && tx
                        .take_recovery_code(account_id, &hash_secret(&normalized))
                        .await?
            }
        };
        tx.commit().await?;
        Ok(ok)
    }

    /// Keeps a sign-in whose password was right for its second step: the token the
    /// second form carries, bound to `bound_to` (what only the same browser or
    /// request can show again).
    pub async fn start_second_factor(&self, account_id: Id, bound_to: &str) -> Result<String> {
        let token = crate::oauth::random_secret();
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        tx.insert_two_factor_challenge(
            &hash_secret(&token),
            account_id,
            &hash_secret(bound_to),
            now + CHALLENGE_TTL_MS,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The second step of a sign-in: `code` (TOTP or recovery) for the challenge
    /// `token`. Success ends the challenge and does what a successful sign-in does
    /// (the account's failures cleared, the client remembered). A wrong code counts
    /// as a failed sign-in; a challenge unknown, expired or used is refused with
    /// [`CHALLENGE_EXPIRED`].
    pub async fn finish_sign_in(
        &self,
        token: &str,
        bound_to: &str,
        code: &str,
        client: &SignInClient,
    ) -> Result<UserRow> {
        let token_hash = hash_secret(token);
        let now = sluice_model::id::now_millis();
        let expired = || EngineError::Unauthorized(CHALLENGE_EXPIRED.into());
        let challenge = self
            .store
            .two_factor_challenge(&token_hash, &hash_secret(bound_to), now)
            .await?
            .ok_or_else(expired)?;
        let account = challenge.account_id;
        let user = self.store.user(account).await?.ok_or_else(expired)?;
        if user.disabled {
            return Err(EngineError::forbidden("Your login is currently disabled"));
        }
        if self.store.account(account).await?.is_none() {
            return Err(EngineError::forbidden(crate::sign_in::SUSPENDED));
        }
        self.refuse_while_slowed(account, client, now).await?;
        if !self.use_code(account, code).await? {
            let mut tx = self.store.begin().await?;
            let failures = tx.record_sign_in_failure(account, now).await?;
            tx.fail_two_factor_challenge(&token_hash, CHALLENGE_MAX_ATTEMPTS)
                .await?;
            tx.commit().await?;
            tracing::debug!(account, client = %client.ip, failures, "wrong two-factor code");
            return Err(EngineError::Unauthorized(WRONG_CODE.into()));
        }
        let mut tx = self.store.begin().await?;
        if !tx.take_two_factor_challenge(&token_hash).await? {
            return Err(expired());
        }
        tx.clear_sign_in_failures(account).await?;
        tx.remember_sign_in_clients(
            account,
            &client.hashes(),
            crate::sign_in::KNOWN_CLIENTS,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_distinct_and_normalize_as_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let set: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(set.len(), RECOVERY_CODES);
        let c = &codes[0];
        assert_eq!(
            normalize_recovery_code(&format!(" {} ", c.to_uppercase())),
            c.replace('-', "")
        );
    }

    #[test]
    fn a_code_of_the_secret_matches_and_others_do_not() {
        let secret = Secret::from([7u8; 20].to_vec()).to_base32();
        let t = totp(&secret, "example.com:8080", "alice@example.com").unwrap();
        assert!(t.to_url().unwrap().starts_with("otpauth://totp/"));
        let code = t.generate(now_secs()).to_string();
        assert!(matching_step(&secret, &code).unwrap().is_some());
        assert!(matching_step(&secret, "12345").unwrap().is_none());
        assert!(matching_step(&secret, "abcdef").unwrap().is_none());
    }
}
