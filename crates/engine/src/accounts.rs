//! Local users: registration, sign-in, profile changes, and the per-user state that
//! does not federate (mutes, bookmarks, markers, notifications housekeeping).
//!
//! Password hashing is Argon2id and runs on the blocking pool: one hash costs tens of
//! milliseconds of CPU, which would stall every request sharing an async worker.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use serde_json::json;
use sluice_model::{Id, content};
use sluice_store::{
    AccountRow, NewAccount, NewRelation, NewUser, ProfileUpdate, Relation, Saved, UserRow,
};

use crate::effects::Changes;
use crate::media::ProfileImage;
use crate::{Engine, EngineError, Outcome, Registrations, Result};

/// Longest username, as Mastodon allows.
pub const MAX_USERNAME_CHARS: usize = 30;
/// Password length bounds (Argon2 takes any length; 72 is Mastodon's cap, kept for
/// compatibility with what clients validate).
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 72;
/// Display name and bio limits, as Mastodon's.
pub const MAX_DISPLAY_NAME_CHARS: usize = 30;
pub const MAX_NOTE_CHARS: usize = 500;
/// Profile metadata fields.
pub const MAX_FIELDS: usize = 4;
pub const MAX_FIELD_CHARS: usize = 255;

/// A registration request.
#[derive(Debug, Clone)]
pub struct Registration {
    pub username: String,
    pub email: String,
    pub password: String,
    pub agreement: bool,
    pub locale: String,
    pub reason: String,
    pub admin: bool,
    /// The client's address (the IP blocks are checked against it); None for the
    /// command line.
    pub ip: Option<String>,
}

/// Hashes a password with Argon2id on the blocking pool.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| EngineError::Internal(format!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| EngineError::Internal(e.to_string()))?
}

/// Checks a password against a stored hash, on the blocking pool.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A change of a local account's profile, made as one activity
/// ([`crate::Activity::UpdateProfile`]).
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    /// The text fields and settings that change (its image URLs are not read: the
    /// images are `avatar` and `header`).
    pub profile: ProfileUpdate,
    pub avatar: Option<ImageChange>,
    pub header: Option<ImageChange>,
}

/// A new avatar or header, or none.
#[derive(Debug, Clone)]
pub enum ImageChange {
    /// The uploaded file: an image (JPEG, PNG, GIF, WebP) of at most
    /// [`crate::media::PROFILE_IMAGE_MAX_BYTES`], identified and stripped as uploads are.
    Set(bytes::Bytes),
    /// Back to the default image.
    Remove,
}

/// Builds the actor document of a local account: the federation crate's, handed to
/// the engine at start ([`Engine::install_actor_documents`]), so that a profile change
/// queues its `Update` in its own transaction.
pub trait ActorDocuments: Send + Sync {
    fn actor_document<'a>(
        &'a self,
        engine: &'a Engine,
        account: &'a AccountRow,
    ) -> ActorDocumentFuture<'a>;
}

/// An actor document being built.
pub type ActorDocumentFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<serde_json::Value>> + Send + 'a>>;

/// `a` as it is once `p` is applied at `now` (what the actor document is built from
/// before the transaction writes it).
fn with_profile(a: &AccountRow, p: &ProfileUpdate, now: i64) -> AccountRow {
    let mut a = a.clone();
    let set = |field: &mut String, v: &Option<String>| {
        if let Some(v) = v {
            field.clone_from(v);
        }
    };
    set(&mut a.display_name, &p.display_name);
    set(&mut a.note, &p.note);
    set(&mut a.note_source, &p.note_source);
    set(&mut a.fields, &p.fields);
    set(&mut a.avatar_url, &p.avatar_url);
    set(&mut a.header_url, &p.header_url);
    for (field, v) in [
        (&mut a.locked, p.locked),
        (&mut a.bot, p.bot),
        (&mut a.discoverable, p.discoverable),
        (&mut a.indexable, p.indexable),
        (&mut a.hide_collections, p.hide_collections),
    ] {
        if let Some(v) = v {
            *field = v;
        }
    }
    a.updated_at = now;
    a
}

/// A registration refused because `field` (`username`, `email`) is taken.
fn taken(field: &str) -> EngineError {
    let (k, v) = field_error(field, "ERR_TAKEN", "is already taken");
    EngineError::Validation {
        message: format!("Validation failed: {k}"),
        details: json!({ k: v }),
    }
}

fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_USERNAME_CHARS
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn field_error(field: &str, code: &str, description: &str) -> (String, serde_json::Value) {
    (
        field.to_string(),
        json!([{ "error": code, "description": description }]),
    )
}

/// Longest private note on an account, in characters (Mastodon's limit).
pub const MAX_PRIVATE_NOTE_CHARS: usize = 2000;

impl Engine {
    /// Creates a local account and user. `approved` is false when registrations need
    /// approval (the admin CLI always creates approved users).
    pub async fn register(
        &self,
        r: Registration,
        via_admin: bool,
    ) -> Result<(AccountRow, UserRow)> {
        if !via_admin {
            match self.config.registrations {
                Registrations::Closed => {
                    return Err(EngineError::forbidden(
                        "Registrations are closed on this server",
                    ));
                }
                Registrations::Open | Registrations::Approval => {}
            }
        }
        let email = self.check_registration(&r, via_admin).await?;
        // IP blocks (issue 17): a sign-up from a blocked address is refused, one from
        // an address that needs approval waits for it.
        let gate = if via_admin {
            crate::federation_moderation::SignUpGate::Open
        } else {
            self.sign_up_gate(r.ip.as_deref()).await?
        };
        if gate == crate::federation_moderation::SignUpGate::Refused {
            return Err(EngineError::forbidden(
                "Sign-ups from this address are not allowed",
            ));
        }
        let hash = hash_password(r.password.clone()).await?;
        // The actor's key pair is made with it (on the blocking pool) and stored in the
        // same transaction: an account never exists without one.
        let key_pair = self.new_key_pair().await?;
        let id = self.new_id();
        let now = sluice_model::id::now_millis();
        let account = self.new_account_row(id, &r.username, now);
        let user = NewUser {
            email,
            password_hash: hash,
            admin: r.admin,
            approved: via_admin
                || (self.config.registrations == Registrations::Open
                    && gate == crate::federation_moderation::SignUpGate::Open),
            locale: if r.locale.is_empty() {
                "en".into()
            } else {
                r.locale.clone()
            },
            registration_reason: r.reason.clone(),
            // With mail, a new account confirms its address first (not one an admin
            // makes).
            confirmed: via_admin || !self.sends_mail(),
        };
        let mut tx = self.store.begin().await?;
        match tx.insert_account(&account).await {
            Err(sluice_store::StoreError::Conflict(_)) => return Err(taken("username")),
            r => r?,
        }
        match tx.insert_user(id, &user, now).await {
            Err(sluice_store::StoreError::Conflict(_)) => return Err(taken("email")),
            r => r?,
        }
        let key_id = self.urls.key_id(&account.uri);
        tx.upsert_key(&self.local_key_row(id, &key_id, &key_pair))
            .await?;
        tx.commit().await?;
        let a = self.store.account(id).await?.ok_or(EngineError::NotFound)?;
        let u = self.store.user(id).await?.ok_or(EngineError::NotFound)?;
        if !u.confirmed {
            // The account exists either way; a link that did not go out can be asked
            // for again.
            if let Err(e) = self.send_confirmation(&a, &u).await {
                tracing::warn!(account = a.id, error = %e, "confirmation mail not sent");
            }
        }
        Ok((a, u))
    }

    /// The row of a new local account.
    fn new_account_row(&self, id: Id, username: &str, now: i64) -> NewAccount {
        NewAccount {
            id,
            username: username.into(),
            domain: String::new(),
            display_name: String::new(),
            uri: self.urls.actor(username),
            url: self.urls.profile(username),
            inbox_url: self.urls.inbox(username),
            shared_inbox_url: self.urls.shared_inbox(),
            followers_url: self.urls.followers(username),
            locked: false,
            bot: false,
            // Mastodon: posts are found by full-text search only once the account
            // opts in (`indexable` in the profile settings).
            indexable: false,
            created_at: now,
        }
    }

    /// Checks a registration's fields, all of them (422 naming each one refused);
    /// returns the e-mail address as it is stored.
    async fn check_registration(&self, r: &Registration, via_admin: bool) -> Result<String> {
        let mut errors = serde_json::Map::new();
        if !valid_username(&r.username) {
            let (k, v) = field_error(
                "username",
                "ERR_INVALID",
                "must contain only letters, numbers and underscores (at most 30)",
            );
            errors.insert(k, v);
        } else if self
            .store
            .account_by_acct(&r.username, self.urls.domain())
            .await?
            .is_some()
        {
            let (k, v) = field_error("username", "ERR_TAKEN", "is already taken");
            errors.insert(k, v);
        }
        let email = r.email.trim().to_string();
        if !email.contains('@')
            || email.len() > 320
            || email.starts_with('@')
            || email.ends_with('@')
        {
            let (k, v) = field_error("email", "ERR_INVALID", "is not a valid e-mail address");
            errors.insert(k, v);
        } else if self
            .store
            .user_by_login(&email)
            .await?
            .is_some_and(|u| u.email.eq_ignore_ascii_case(&email))
        {
            let (k, v) = field_error("email", "ERR_TAKEN", "is already taken");
            errors.insert(k, v);
        } else if !via_admin && self.email_blocked(&email).await? {
            // E-mail domain and canonical e-mail blocks (issue 17).
            let (k, v) = field_error("email", "ERR_BLOCKED", "is not allowed");
            errors.insert(k, v);
        }
        let plen = r.password.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&plen) {
            let (k, v) = field_error(
                "password",
                "ERR_INVALID",
                "must be between 8 and 72 characters",
            );
            errors.insert(k, v);
        }
        if !via_admin && !r.agreement {
            let (k, v) = field_error("agreement", "ERR_ACCEPTED", "must be accepted");
            errors.insert(k, v);
        }
        if !errors.is_empty() {
            let fields: Vec<String> = errors.keys().cloned().collect();
            return Err(EngineError::Validation {
                message: format!("Validation failed: {}", fields.join(", ")),
                details: serde_json::Value::Object(errors),
            });
        }
        Ok(email)
    }

    /// A profile change (`update_credentials`, or an image removed): the images
    /// identified and written first, then the profile, its `account.update` event and
    /// the `Update` of the actor document to the followers' servers in one
    /// transaction. A refused part leaves nothing changed (the files written for it
    /// removed); the files the change replaced are removed once it committed.
    pub(crate) async fn update_profile(
        &self,
        account: &AccountRow,
        change: ProfileChange,
    ) -> Result<Outcome> {
        let mut written = Vec::new();
        let result = self
            .apply_profile_change(account, change, &mut written)
            .await;
        // Committed: the files it replaced go; refused: the files written for it.
        let delete = match &result {
            Ok(replaced) => replaced,
            Err(_) => &written,
        };
        for url in delete {
            if let Some(name) = self.own_media_file(url) {
                let _ = tokio::fs::remove_file(self.media_path(name)).await;
            }
        }
        result?;
        Ok(Outcome {
            account: Some(self.account_row(account.id).await?),
            changed: true,
            ..Default::default()
        })
    }

    /// [`Engine::update_profile`] up to its commit: the URLs of the files it wrote go
    /// into `written` as they are written; returns the URLs of the files it replaced.
    async fn apply_profile_change(
        &self,
        account: &AccountRow,
        change: ProfileChange,
        written: &mut Vec<String>,
    ) -> Result<Vec<String>> {
        let ProfileChange {
            mut profile,
            avatar,
            header,
        } = change;
        let mut replaced = Vec::new();
        // The images first: a refused one changes nothing else.
        for (which, image) in [
            (ProfileImage::Avatar, avatar),
            (ProfileImage::Header, header),
        ] {
            let Some(image) = image else { continue };
            let url = match image {
                ImageChange::Set(bytes) => self.store_profile_image(which, bytes).await?,
                ImageChange::Remove => String::new(),
            };
            if !url.is_empty() {
                written.push(url.clone());
            }
            let (new, old) = match which {
                ProfileImage::Avatar => (&mut profile.avatar_url, &account.avatar_url),
                ProfileImage::Header => (&mut profile.header_url, &account.header_url),
            };
            *new = Some(url);
            replaced.push(old.clone());
        }
        self.check_profile(&mut profile)?;
        let now = sluice_model::id::now_millis();
        let updated = with_profile(account, &profile, now);
        // Built before the write transaction, not while holding the writer.
        let actor_update = self.actor_update(&updated, now).await?;
        let mut tx = self.store.begin().await?;
        tx.update_profile(account.id, &profile, now).await?;
        if let Some(doc) = actor_update {
            let to = [sluice_model::visibility::PUBLIC.to_string()];
            let cc = [account.followers_url.clone()];
            self.record_document(&mut tx, account, doc, &to, &cc, now)
                .await?;
        }
        let mut changes = Changes::at(now);
        // Followers' clients reload relationships and profiles on this event.
        changes.events([sluice_store::NewEvent {
            kind: "account.update".into(),
            account_id: Some(account.id),
            ..Default::default()
        }]);
        changes.accounts(&[account.id]);
        self.commit(tx, changes).await?;
        Ok(replaced)
    }

    /// Checks a profile change's text and renders the bio to HTML.
    fn check_profile(&self, p: &mut ProfileUpdate) -> Result<()> {
        if let Some(name) = &p.display_name
            && name.chars().count() > MAX_DISPLAY_NAME_CHARS
        {
            return Err(EngineError::invalid(
                "Validation failed: Display name is too long (maximum is 30 characters)",
            ));
        }
        if let Some(note) = p.note.take() {
            if note.chars().count() > MAX_NOTE_CHARS {
                return Err(EngineError::invalid(
                    "Validation failed: Note is too long (maximum is 500 characters)",
                ));
            }
            let html = content::plain_to_html(&note, &|t| self.urls.tag(t), &|_| None);
            p.note = Some(content::sanitize_html(&html));
            p.note_source = Some(note);
        }
        if let Some(fields) = &p.fields {
            let parsed: Vec<sluice_model::api::Field> = serde_json::from_str(fields)
                .map_err(|_| EngineError::invalid("fields_attributes is malformed"))?;
            if parsed.len() > MAX_FIELDS
                || parsed.iter().any(|f| {
                    f.name.chars().count() > MAX_FIELD_CHARS
                        || f.value.chars().count() > MAX_FIELD_CHARS
                })
            {
                return Err(EngineError::invalid(
                    "Validation failed: too many or too long profile fields",
                ));
            }
        }
        if let Some(v) = &p.default_visibility
            && sluice_model::Visibility::parse(v).is_none()
        {
            return Err(EngineError::invalid(
                "Validation failed: source[privacy] is not a visibility",
            ));
        }
        if let Some(v) = &p.default_quote_policy
            && crate::quotes::QuotePolicy::parse(v).is_none()
        {
            return Err(EngineError::invalid(
                "Validation failed: source[quote_policy] is not one of public, followers, nobody",
            ));
        }
        Ok(())
    }

    /// The `Update` of a local account's actor document (as `account` will be), public,
    /// for its followers, as Mastodon sends it; None when the account is not ours or
    /// no actor documents are made here (no [`ActorDocuments`] installed).
    pub(crate) async fn actor_update(
        &self,
        account: &AccountRow,
        now: i64,
    ) -> Result<Option<serde_json::Value>> {
        let Some(source) = self.actor_documents.get() else {
            return Ok(None);
        };
        if !account.is_local() {
            return Ok(None);
        }
        let object = source.actor_document(self, account).await?;
        Ok(Some(crate::as2::actor_update(account, object, now)))
    }

    /// Mutes an account (optionally only for `duration_secs`). Not federated.
    /// Sets `me`'s private note on the account `target` (`POST
    /// /api/v1/accounts/:id/note`); an empty note removes it. At most
    /// [`MAX_PRIVATE_NOTE_CHARS`] characters.
    pub async fn set_note(&self, me: Id, target: Id, comment: &str) -> Result<()> {
        self.store
            .account(target)
            .await?
            .ok_or(EngineError::NotFound)?;
        if comment.chars().count() > MAX_PRIVATE_NOTE_CHARS {
            return Err(EngineError::invalid(format!(
                "Validation failed: Comment is too long (maximum is {MAX_PRIVATE_NOTE_CHARS} characters)"
            )));
        }
        let now = sluice_model::id::now_millis();
        self.store
            .set_account_note(me, target, comment, now)
            .await?;
        Ok(())
    }

    pub async fn mute(
        &self,
        me: Id,
        target: Id,
        notifications: bool,
        duration_secs: Option<i64>,
    ) -> Result<()> {
        if me == target {
            return Err(EngineError::forbidden("You cannot mute yourself"));
        }
        self.store
            .account(target)
            .await?
            .ok_or(EngineError::NotFound)?;
        let now = sluice_model::id::now_millis();
        let expires_at = match duration_secs.filter(|d| *d > 0) {
            None => None,
            Some(d) => Some(
                d.checked_mul(1000)
                    .and_then(|ms| now.checked_add(ms))
                    .ok_or_else(|| EngineError::invalid("The mute's duration is too long"))?,
            ),
        };
        let row = NewRelation {
            id: self.new_id(),
            account_id: me,
            target_account_id: target,
            uri: String::new(),
            flag_a: notifications,
            flag_b: false,
            expires_at,
            created_at: now,
        };
        let timed = row.expires_at.is_some();
        let mut tx = self.store.begin().await?;
        tx.insert_relation(Relation::Mute, &row).await?;
        let mut changes = Changes::at(now);
        changes.events([relationship_event(me, target)]);
        self.commit(tx, changes).await?;
        if timed {
            self.mute_expiry_wake.notify_one();
        }
        Ok(())
    }

    /// Ends the mutes whose duration ran out (as an unmute would: the relationship
    /// changes for both accounts' streams). Returns how many ended.
    pub async fn expire_mutes(&self) -> Result<usize> {
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let ended = tx.delete_expired_mutes(now).await?;
        if ended.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let mut changes = Changes::at(now);
        changes.events(ended.iter().map(|&(a, t)| relationship_event(a, t)));
        self.commit(tx, changes).await?;
        Ok(ended.len())
    }

    /// A page of the accounts `me` mutes, each with when its mute ends.
    pub async fn muted_accounts(
        &self,
        me: Id,
        page: sluice_store::Page,
    ) -> Result<(Vec<sluice_model::api::MutedAccount>, Vec<Id>)> {
        let out = self
            .relation_accounts(Relation::Mute, sluice_store::Side::Targets, me, page)
            .await?;
        let ids: Vec<Id> = out
            .accounts
            .iter()
            .filter_map(|a| a.id.parse().ok())
            .collect();
        let ends: std::collections::HashMap<Id, i64> = self
            .store
            .mute_expiries(me, &ids)
            .await?
            .into_iter()
            .filter_map(|m| Some((m.target_account_id, m.expires_at?)))
            .collect();
        let accounts = out
            .accounts
            .into_iter()
            .map(|account| {
                let end = account
                    .id
                    .parse::<Id>()
                    .ok()
                    .and_then(|id| ends.get(&id).copied());
                sluice_model::api::MutedAccount {
                    account,
                    mute_expires_at: end.map(|ms| sluice_model::Timestamp(ms).to_rfc3339()),
                }
            })
            .collect();
        Ok((accounts, out.cursors))
    }

    pub async fn unmute(&self, me: Id, target: Id) -> Result<()> {
        self.store
            .account(target)
            .await?
            .ok_or(EngineError::NotFound)?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        tx.delete_relation(Relation::Mute, me, target).await?;
        let mut changes = Changes::at(now);
        changes.events([relationship_event(me, target)]);
        self.commit(tx, changes).await
    }

    /// Bookmarks are private: no activity, no notification.
    pub async fn bookmark(&self, me: Id, status: Id, on: bool) -> Result<()> {
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        if on {
            tx.insert_saved(Saved::Bookmarks, self.new_id(), me, status, "", now)
                .await?;
        } else {
            tx.delete_saved(Saved::Bookmarks, me, status).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_marker(&self, me: Id, timeline: &str, last_read_id: Id) -> Result<()> {
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        tx.upsert_marker(me, timeline, last_read_id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn dismiss_notification(&self, me: Id, id: Id) -> Result<bool> {
        let mut tx = self.store.begin().await?;
        let n = tx.dismiss_notification(me, id).await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    pub async fn clear_notifications(&self, me: Id) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.clear_notifications(me).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// An internal event telling streaming connections of `account` and `target` that
/// their relations changed; the store records the pair's relations in it
/// (`sluice_store::pair`).
pub(crate) fn relationship_event(account: Id, target: Id) -> sluice_store::NewEvent {
    sluice_store::NewEvent {
        kind: "relationship".into(),
        account_id: Some(account),
        recipient_id: Some(target),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(valid_username("alice_1"));
        assert!(!valid_username("al ice"));
        assert!(!valid_username(""));
        assert!(!valid_username("a".repeat(31).as_str()));
        assert!(!valid_username("ålice"));
    }

    #[tokio::test]
    async fn password_hash_round_trip() {
        let h = hash_password("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), h.clone()).await);
        assert!(!verify_password("wrong horse".into(), h).await);
    }
}
