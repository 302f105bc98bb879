//! Leaving and arriving: an account's aliases (`alsoKnownAs`), its move to another
//! account (`Move`), and the CSV exports of its relations.
//!
//! Resolving a handle (WebFinger, a fresh fetch of the target's actor document) is
//! federation's, done by the caller; the rules and the writes are here.

use serde_json::json;
use sluice_model::Timestamp;
use sluice_model::activity::Verb;
use sluice_model::id::Id;
use sluice_store::AccountRow;

use crate::effects::Changes;
use crate::error::{EngineError, Result};
use crate::sign_in::SignInClient;
use crate::{Activity, Engine};

/// Aliases an account may name at most.
pub const MAX_ALIASES: usize = 10;

/// Time between two moves of one account (Mastodon: 30 days).
pub const MOVE_COOLDOWN_MS: i64 = 30 * 24 * 3600 * 1000;

/// An alias of an account, as its settings show it.
#[derive(Debug, Clone)]
pub struct Alias {
    /// The actor IRI, as `alsoKnownAs` names it.
    pub uri: String,
    /// `user@domain`, when the account is known here.
    pub acct: Option<String>,
}

/// Reads the JSON array of IRIs an `also_known_as` column holds.
pub fn aliases_of(a: &AccountRow) -> Vec<String> {
    serde_json::from_str(&a.also_known_as).unwrap_or_default()
}

impl Engine {
    /// The aliases of a local account, each with its handle when the account is known.
    pub async fn aliases(&self, account_id: Id) -> Result<Vec<Alias>> {
        let account = self.account_row(account_id).await?;
        let mut out = Vec::new();
        for uri in aliases_of(&account) {
            let acct = self
                .store
                .account_by_uri(&uri)
                .await?
                .map(|a| self.full_acct(&a));
            out.push(Alias { uri, acct });
        }
        Ok(out)
    }

    /// When the account last moved (ms), if it did.
    pub async fn last_move_at(&self, account_id: Id) -> Result<Option<i64>> {
        Ok(self.store.last_account_migration_at(account_id).await?)
    }

    /// `user@domain` of an account, our own domain written out for local ones (as
    /// exports and aliases name them).
    pub fn full_acct(&self, a: &AccountRow) -> String {
        if a.is_local() {
            format!("{}@{}", a.username, self.urls.domain())
        } else {
            format!("{}@{}", a.username, a.domain)
        }
    }

    /// Adds `target` to `account_id`'s aliases (an account it moves from) and sends
    /// the actor's `Update`. Adding one already there changes nothing.
    pub async fn add_alias(&self, account_id: Id, target: &AccountRow) -> Result<()> {
        let account = self.account_row(account_id).await?;
        if target.id == account.id {
            return Err(EngineError::invalid(
                "Validation failed: An account cannot be its own alias",
            ));
        }
        let mut aliases = aliases_of(&account);
        if aliases.contains(&target.uri) {
            return Ok(());
        }
        if aliases.len() >= MAX_ALIASES {
            return Err(EngineError::invalid(format!(
                "Validation failed: At most {MAX_ALIASES} aliases"
            )));
        }
        aliases.push(target.uri.clone());
        self.set_aliases(&account, &aliases).await
    }

    /// Removes the alias `uri` (or the alias of the account with that handle); false
    /// when it was not one.
    pub async fn remove_alias(&self, account_id: Id, uri: &str) -> Result<bool> {
        let account = self.account_row(account_id).await?;
        let mut aliases = aliases_of(&account);
        let before = aliases.len();
        aliases.retain(|a| a != uri);
        if aliases.len() == before {
            return Ok(false);
        }
        self.set_aliases(&account, &aliases).await?;
        Ok(true)
    }

    /// Writes the aliases and queues the actor's `Update` in one transaction.
    async fn set_aliases(&self, account: &AccountRow, aliases: &[String]) -> Result<()> {
        let now = sluice_model::id::now_millis();
        let json = serde_json::to_string(aliases).unwrap_or_else(|_| "[]".into());
        let mut updated = account.clone();
        updated.also_known_as.clone_from(&json);
        updated.updated_at = now;
        let update = self.actor_update(&updated, now).await?;
        let mut tx = self.store.begin().await?;
        tx.set_also_known_as(account.id, &json, now).await?;
        if let Some(doc) = update {
            let to = [sluice_model::visibility::PUBLIC.to_string()];
            let cc = [account.followers_url.clone()];
            self.record_document(&mut tx, account, doc, &to, &cc, now)
                .await?;
        }
        let mut changes = Changes::at(now);
        changes.accounts(&[account.id]);
        self.commit(tx, changes).await?;
        Ok(())
    }

    /// Moves the local account `account_id` to `target` (Mastodon's "Move to a
    /// different account"): `password` is checked as a sign-in's is; `target` must
    /// name the account among its aliases (the caller fetched it fresh), and the
    /// account must not have moved in the last [`MOVE_COOLDOWN_MS`]. In one
    /// transaction the account is marked moved, the `Move` (actor and object the
    /// account, target the new one) is queued to its followers' servers with the
    /// actor's `Update` (`movedTo`); then its local followers follow the new account
    /// and stop following this one (at most [`crate::remote::MAX_MOVED_FOLLOWERS`]).
    pub async fn move_account(
        &self,
        account_id: Id,
        target: &AccountRow,
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
                EngineError::Unauthorized(_) => EngineError::Forbidden("Invalid password.".into()),
                e => e,
            })?;
        let account = self.account_row(account_id).await?;
        if target.id == account.id {
            return Err(EngineError::invalid(
                "Validation failed: An account cannot move to itself",
            ));
        }
        if target.suspended_at.is_some() {
            return Err(EngineError::invalid(
                "Validation failed: The target account is suspended",
            ));
        }
        let now = sluice_model::id::now_millis();
        if let Some(last) = self.store.last_account_migration_at(account_id).await?
            && now - last < MOVE_COOLDOWN_MS
        {
            let day = 24 * 3600 * 1000;
            let days = (MOVE_COOLDOWN_MS - (now - last) + day - 1) / day;
            return Err(EngineError::invalid(format!(
                "Validation failed: You can only move once every 30 days; try again in {days} days"
            )));
        }
        if !aliases_of(target).contains(&account.uri) {
            return Err(EngineError::invalid(format!(
                "Validation failed: {} does not name this account among its aliases (alsoKnownAs)",
                self.full_acct(target)
            )));
        }
        let mut moved = account.clone();
        moved.moved_to_account_id = Some(target.id);
        moved.updated_at = now;
        let update = self.actor_update(&moved, now).await?;
        let followers = vec![account.followers_url.clone()];
        let move_doc = crate::as2::activity(
            &format!("{}#moves/{now}", account.uri),
            Verb::Move,
            &account.uri,
            json!(account.uri),
            &followers,
            &[],
            Timestamp(now),
        );
        let mut move_doc = move_doc;
        move_doc["target"] = json!(target.uri);
        let mut tx = self.store.begin().await?;
        tx.set_moved_to(account.id, target.id).await?;
        tx.insert_account_migration(
            self.ids.next_at(now),
            account.id,
            target.id,
            &target.uri,
            now,
        )
        .await?;
        if let Some(doc) = update {
            let to = [sluice_model::visibility::PUBLIC.to_string()];
            let cc = [account.followers_url.clone()];
            self.record_document(&mut tx, &account, doc, &to, &cc, now)
                .await?;
        }
        self.record_document(&mut tx, &account, move_doc, &followers, &[], now)
            .await?;
        let mut changes = Changes::at(now);
        changes.accounts(&[account.id]);
        self.commit(tx, changes).await?;
        self.move_local_followers(account.id, target.id).await?;
        Ok(())
    }

    /// The local followers of `from` follow `to` (through the pipeline: a Follow each,
    /// federated when `to` is remote) and stop following `from`; those who block `to`
    /// or are blocked by it are left alone. At most
    /// [`crate::remote::MAX_MOVED_FOLLOWERS`]; returns how many moved.
    pub(crate) async fn move_local_followers(&self, from: Id, to: Id) -> Result<usize> {
        let followers = self
            .store
            .local_followers_of(from, crate::remote::MAX_MOVED_FOLLOWERS)
            .await?;
        let mut moved = 0;
        for f in followers {
            if f == to || self.store.blocked_either_way(f, to).await? {
                continue;
            }
            self.submit(
                f,
                Activity::Follow {
                    target: to,
                    reblogs: None,
                    notify: None,
                },
            )
            .await?;
            self.submit(f, Activity::UndoFollow { target: from })
                .await?;
            moved += 1;
        }
        Ok(moved)
    }
}

/// What a CSV export or import holds (Mastodon's files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvKind {
    /// `follows.csv`: `Account address,Show boosts,Notify on new posts,Languages`.
    Following,
    /// `followers.csv`: one address per row (export only).
    Followers,
    /// `blocks.csv`: one address per row.
    Blocks,
    /// `mutes.csv`: `Account address,Hide notifications`.
    Mutes,
    /// `domain_blocks.csv`: one domain per row.
    DomainBlocks,
    /// `lists.csv`: `list name,account address` rows.
    Lists,
    /// `bookmarks.csv`: one post URI per row.
    Bookmarks,
}

impl CsvKind {
    pub const ALL: [CsvKind; 7] = [
        CsvKind::Following,
        CsvKind::Followers,
        CsvKind::Blocks,
        CsvKind::Mutes,
        CsvKind::DomainBlocks,
        CsvKind::Lists,
        CsvKind::Bookmarks,
    ];

    /// The kind a name (a file's, without `.csv`, or an import's `type`) names;
    /// Mastodon's import names (`following`, `blocking`, `muting`, `domain_blocking`)
    /// are taken too.
    pub fn from_name(name: &str) -> Option<CsvKind> {
        Some(match name {
            "follows" | "following" => CsvKind::Following,
            "followers" => CsvKind::Followers,
            "blocks" | "blocking" => CsvKind::Blocks,
            "mutes" | "muting" => CsvKind::Mutes,
            "domain_blocks" | "domain_blocking" => CsvKind::DomainBlocks,
            "lists" => CsvKind::Lists,
            "bookmarks" => CsvKind::Bookmarks,
            _ => return None,
        })
    }

    /// The name of its file (without `.csv`) and of its import type.
    pub fn name(self) -> &'static str {
        match self {
            CsvKind::Following => "follows",
            CsvKind::Followers => "followers",
            CsvKind::Blocks => "blocks",
            CsvKind::Mutes => "mutes",
            CsvKind::DomainBlocks => "domain_blocks",
            CsvKind::Lists => "lists",
            CsvKind::Bookmarks => "bookmarks",
        }
    }

    /// Its header row, for the files that have one (as Mastodon writes them).
    pub fn header(self) -> Option<&'static [&'static str]> {
        match self {
            CsvKind::Following => Some(&[
                "Account address",
                "Show boosts",
                "Notify on new posts",
                "Languages",
            ]),
            CsvKind::Mutes => Some(&["Account address", "Hide notifications"]),
            _ => None,
        }
    }

    /// Whether it can be imported (followers cannot).
    pub fn importable(self) -> bool {
        self != CsvKind::Followers
    }
}

/// Rows read from the database per page of an export.
pub const EXPORT_PAGE: i64 = 1_000;

/// Where the next page of an export starts (two keys: lists are paged by list, then
/// member).
pub type ExportCursor = (Id, Id);

impl Engine {
    /// One page of `account_id`'s export of `kind`, as CSV rows, and where the next
    /// page starts (None at the end).
    pub async fn export_page(
        &self,
        account_id: Id,
        kind: CsvKind,
        after: ExportCursor,
    ) -> Result<(Vec<Vec<String>>, Option<ExportCursor>)> {
        let s = &self.store;
        let addr = |username: &str, domain: &str| {
            let domain = if domain.is_empty() {
                self.urls.domain()
            } else {
                domain
            };
            format!("{username}@{domain}")
        };
        let flag = |b: bool| if b { "true" } else { "false" }.to_string();
        let (rows, last): (Vec<Vec<String>>, Option<ExportCursor>) = match kind {
            CsvKind::Following => {
                let r = s.export_following(account_id, after.0, EXPORT_PAGE).await?;
                let last = r.last().map(|x| (x.k, 0));
                let rows = r
                    .into_iter()
                    .map(|x| {
                        vec![
                            addr(&x.username, &x.domain),
                            flag(x.show_reblogs),
                            flag(x.notify),
                            String::new(),
                        ]
                    })
                    .collect();
                (rows, last)
            }
            CsvKind::Followers | CsvKind::Blocks => {
                let r = if kind == CsvKind::Followers {
                    s.export_followers(account_id, after.0, EXPORT_PAGE).await?
                } else {
                    s.export_blocks(account_id, after.0, EXPORT_PAGE).await?
                };
                let last = r.last().map(|x| (x.k, 0));
                let rows = r
                    .into_iter()
                    .map(|x| vec![addr(&x.username, &x.domain)])
                    .collect();
                (rows, last)
            }
            CsvKind::Mutes => {
                let r = s.export_mutes(account_id, after.0, EXPORT_PAGE).await?;
                let last = r.last().map(|x| (x.k, 0));
                let rows = r
                    .into_iter()
                    .map(|x| vec![addr(&x.username, &x.domain), flag(x.hide_notifications)])
                    .collect();
                (rows, last)
            }
            CsvKind::DomainBlocks | CsvKind::Bookmarks => {
                let r = if kind == CsvKind::DomainBlocks {
                    s.export_domain_blocks(account_id, after.0, EXPORT_PAGE)
                        .await?
                } else {
                    s.export_bookmarks(account_id, after.0, EXPORT_PAGE).await?
                };
                let last = r.last().map(|x| (x.k, 0));
                (r.into_iter().map(|x| vec![x.v]).collect(), last)
            }
            CsvKind::Lists => {
                let r = s
                    .export_list_members(account_id, after, EXPORT_PAGE)
                    .await?;
                let last = r.last().map(|x| (x.list_id, x.k));
                let rows = r
                    .into_iter()
                    .map(|x| vec![x.title, addr(&x.username, &x.domain)])
                    .collect();
                (rows, last)
            }
        };
        let next = if rows.len() as i64 >= EXPORT_PAGE {
            last
        } else {
            None
        };
        Ok((rows, next))
    }
}

/// Posts deleted per transaction of an account's purge.
pub const PURGE_STATUS_BATCH: i64 = 200;
/// Follows ended per transaction of an account's purge.
pub const PURGE_FOLLOW_BATCH: i64 = 500;
/// Uploads (files and rows) removed per step of an account's purge.
pub const PURGE_MEDIA_BATCH: i64 = 200;
/// Inboxes, besides its followers', that a deleted account's `Delete` goes to at most
/// (see [`sluice_store::Store::inboxes_that_know`]).
pub const MAX_DELETE_INBOXES: i64 = 5_000;

impl Engine {
    /// Deletes the local account `account_id` at its owner's request (Mastodon's
    /// "Delete account"; Akkoma's `delete_account`): `password` is checked as a
    /// sign-in's is. In one transaction: the `Delete` of the actor is queued to every
    /// server that knows it (its followers', and at most [`MAX_DELETE_INBOXES`] others
    /// that hold something of it: see [`sluice_store::Store::inboxes_that_know`]), the
    /// account is hidden (suspended as `deleted`: its actor answers 410 from now on),
    /// its user disabled, its tokens revoked and its sessions ended, and the purge job
    /// gets its row. The job ([`Engine::spawn_account_purge`]) then removes its data
    /// in bounded batches, its uploaded files, avatar, header and archives included.
    /// The accounts row stays, so its username can never be registered again, and its
    /// key stays, so the `Delete` can still be signed.
    pub async fn delete_own_account(
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
                EngineError::Unauthorized(_) => EngineError::Forbidden("Invalid password.".into()),
                e => e,
            })?;
        if self.store.account_deleted(account_id).await? {
            return Err(EngineError::NotFound);
        }
        let account = self.account_row(account_id).await?;
        let now = sluice_model::id::now_millis();
        let to = vec![sluice_model::visibility::PUBLIC.to_string()];
        let cc = vec![account.followers_url.clone()];
        let doc = crate::as2::activity(
            &format!("{}#delete", account.uri),
            Verb::Delete,
            &account.uri,
            json!(account.uri),
            &to,
            &cc,
            Timestamp(now),
        );
        let known = self
            .store
            .inboxes_that_know(account.id, MAX_DELETE_INBOXES)
            .await?;
        let mut tx = self.store.begin().await?;
        let audience = crate::pipeline::Audience {
            to: &to,
            cc: &cc,
            hidden_inboxes: &known,
        };
        self.record_document_to(&mut tx, &account, doc, &audience, now)
            .await?;
        tx.insert_account_deletion(account.id, now).await?;
        tx.revoke_account_tokens(account.id, now).await?;
        tx.delete_web_sessions_of(account.id).await?;
        let mut changes = Changes::at(now);
        changes.accounts(&[account.id]);
        self.commit(tx, changes).await?;
        self.cache.sessions_revoked();
        self.portability_wake.notify_one();
        Ok(())
    }

    /// One step of the purge of deleted accounts: a batch of one account's posts, or
    /// of its uploads (files, then rows), or of its follows, or the rest of its rows
    /// (its avatar, header and archive files removed once they are committed). True
    /// when there was work (call again).
    pub async fn purge_deleted_accounts_step(&self) -> Result<bool> {
        let Some(account) = self
            .store
            .pending_account_deletions(1)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(false);
        };
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
        let ids = tx.statuses_of(account, PURGE_STATUS_BATCH).await?;
        if !ids.is_empty() {
            let statuses = tx.statuses_in_tx(&ids).await?;
            let deleted = self.delete_statuses_rows(&mut tx, &statuses, now).await?;
            changes.events(deleted.events);
            changes.accounts(&deleted.accounts);
            changes.accounts(&[account]);
            self.commit(tx, changes).await?;
            return Ok(true);
        }
        // Its uploads: the files first, then their rows, so a step cut short by a
        // restart finds the rows again (removing a file already gone is no error).
        let media = self
            .store
            .media_files_of(account, 0, PURGE_MEDIA_BATCH)
            .await?;
        if !media.is_empty() {
            for f in &media {
                self.remove_media_file(&f.file_name).await;
            }
            let ids: Vec<Id> = media.iter().map(|f| f.id).collect();
            tx.delete_media_of(account, &ids).await?;
            tx.commit().await?;
            return Ok(true);
        }
        let touched = tx.purge_follows(account, PURGE_FOLLOW_BATCH).await?;
        if !touched.is_empty() {
            changes.accounts(&touched);
            self.commit(tx, changes).await?;
            return Ok(true);
        }
        // Files the last transaction stops naming: removed once it committed.
        let row = self.store.account_any(account).await?;
        let images: Vec<String> = row
            .iter()
            .flat_map(|a| [a.avatar_url.clone(), a.header_url.clone()])
            .collect();
        let archives = self.store.archives_of(account, 1_000).await?;
        tx.finish_account_purge(account, now).await?;
        changes.accounts(&[account]);
        self.commit(tx, changes).await?;
        for url in &images {
            if let Some(name) = self.own_media_file(url) {
                self.remove_media_file(name).await;
            }
        }
        for a in archives.iter().filter(|a| is_archive_file_name(&a.file)) {
            let _ = tokio::fs::remove_file(self.archive_dir().join(&a.file)).await;
        }
        tracing::info!(account, "deleted account purged");
        Ok(true)
    }

    /// Removes a file of the media directory (one of ours by its name; a missing one
    /// is no error).
    async fn remove_media_file(&self, file_name: &str) {
        if file_name.is_empty() || file_name.contains('/') || file_name.starts_with('.') {
            return;
        }
        if let Err(e) = tokio::fs::remove_file(self.media_path(file_name)).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file = file_name, error = %e, "removing a deleted account's file failed");
        }
    }

    /// Runs the purge of deleted accounts (and wakes for new deletions) until
    /// `shutdown` changes. A purge interrupted by a restart goes on where it stopped:
    /// its rows say what is left.
    pub fn spawn_account_purge(
        self: &std::sync::Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        crate::tasks::spawn_guarded("account purge", shutdown.clone(), move || {
            let (engine, mut shutdown) = (engine.clone(), shutdown.clone());
            async move {
                loop {
                    let wait = match engine.purge_deleted_accounts_step().await {
                        Ok(true) => {
                            tokio::task::yield_now().await;
                            continue;
                        }
                        Ok(false) => PURGE_IDLE,
                        Err(e) => {
                            tracing::warn!(error = %e, "purging a deleted account failed");
                            PURGE_IDLE
                        }
                    };
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = engine.portability_wake.notified() => {}
                        _ = shutdown.changed() => return,
                    }
                }
            }
        })
    }
}

/// Whether an archive row names a zip of ours (a plain file name).
fn is_archive_file_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && !name.contains('\\') && !name.starts_with('.')
}

/// How often the purge looks for deletions made by other processes.
const PURGE_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// Rows one import may hold, at most (Mastodon's limit).
pub const MAX_IMPORT_ROWS: usize = 20_000;
/// Default of the largest CSV file an import takes (`SLUICE_IMPORT_MAX_BYTES`).
pub const DEFAULT_IMPORT_MAX_BYTES: usize = 1024 * 1024;

/// Whether a CSV cell says yes (`true`, as Mastodon writes it; `1`, `yes`).
pub fn csv_flag(cell: Option<&String>, default: bool) -> bool {
    match cell.map(|c| c.trim().to_ascii_lowercase()) {
        Some(c) if c == "true" || c == "1" || c == "yes" => true,
        Some(c) if c == "false" || c == "0" || c == "no" => false,
        _ => default,
    }
}

impl Engine {
    /// Stores an import of `rows` (a CSV file already read, header included or not)
    /// for the background job; `mode` is `merge` or `overwrite`. Refused: a kind that
    /// cannot be imported, an unknown mode, no rows or more than [`MAX_IMPORT_ROWS`],
    /// and a new import while one of the account's is not done.
    pub async fn create_import(
        &self,
        account_id: Id,
        kind: CsvKind,
        mode: &str,
        mut rows: Vec<Vec<String>>,
    ) -> Result<crate::rows::ImportRow> {
        if !kind.importable() {
            return Err(EngineError::invalid(
                "Validation failed: This type of file cannot be imported",
            ));
        }
        if mode != "merge" && mode != "overwrite" {
            return Err(EngineError::invalid(
                "Validation failed: Mode must be merge or overwrite",
            ));
        }
        // Mastodon's header row, when the file has one.
        if rows.first().and_then(|r| r.first()).is_some_and(|c| {
            let c = c.trim().to_ascii_lowercase();
            c == "account address" || c == "list name"
        }) {
            rows.remove(0);
        }
        rows.retain(|r| r.first().is_some_and(|c| !c.trim().is_empty()));
        if rows.is_empty() {
            return Err(EngineError::invalid(
                "Validation failed: The file has no rows",
            ));
        }
        if rows.len() > MAX_IMPORT_ROWS {
            return Err(EngineError::invalid(format!(
                "Validation failed: At most {MAX_IMPORT_ROWS} rows can be imported at once"
            )));
        }
        if kind == CsvKind::Lists && rows.iter().any(|r| r.len() < 2) {
            return Err(EngineError::invalid(
                "Validation failed: Each row of a lists file is a list name and an account address",
            ));
        }
        if self
            .store
            .imports_of(account_id, 1)
            .await?
            .first()
            .is_some_and(|i| i.state == "pending")
        {
            return Err(EngineError::invalid(
                "Validation failed: Wait for the import in progress to finish",
            ));
        }
        let now = sluice_model::id::now_millis();
        let import = crate::rows::ImportRow {
            id: self.ids.next_at(now),
            account_id,
            kind: kind.name().to_string(),
            mode: mode.to_string(),
            total: rows.len() as i64,
            processed: 0,
            failed: 0,
            done_up_to: 0,
            state: "pending".into(),
            locked_until: 0,
            created_at: now,
            finished_at: None,
        };
        let ids = self.ids.next_block(now, rows.len());
        let data: Vec<String> = rows
            .iter()
            .map(|r| serde_json::to_string(r).unwrap_or_else(|_| "[]".into()))
            .collect();
        let mut tx = self.store.begin().await?;
        tx.insert_import(&import, &ids, &data).await?;
        tx.commit().await?;
        self.import_wake.notify_one();
        Ok(import)
    }

    /// An account's imports, newest first.
    pub async fn imports(&self, account_id: Id, limit: i64) -> Result<Vec<crate::rows::ImportRow>> {
        Ok(self.store.imports_of(account_id, limit).await?)
    }

    /// Every account's imports, newest first.
    pub async fn all_imports(&self, limit: i64) -> Result<Vec<crate::rows::ImportRow>> {
        Ok(self.store.all_imports(limit).await?)
    }

    /// Takes the oldest unfinished import for this process until `lease_until`.
    pub async fn claim_import(
        &self,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<crate::rows::ImportRow>> {
        Ok(self.store.claim_import(now, lease_until).await?)
    }

    /// The next rows of an import.
    pub async fn import_rows_after(
        &self,
        import_id: Id,
        after: Id,
        limit: i64,
    ) -> Result<Vec<crate::rows::ImportDataRow>> {
        Ok(self
            .store
            .import_rows_after(import_id, after, limit)
            .await?)
    }

    /// Records a batch of an import done (see [`sluice_store::WriteTx::import_progress`]).
    pub async fn record_import_progress(
        &self,
        id: Id,
        done_up_to: Id,
        processed: i64,
        failed: i64,
        lease_until: i64,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.import_progress(id, done_up_to, processed, failed, lease_until)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks an import done (its rows are dropped).
    pub async fn finish_import(&self, id: Id) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.finish_import(id, sluice_model::id::now_millis()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lets go of an import this process holds (at shutdown), for the next process.
    pub async fn release_import(&self, id: Id) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.release_import(id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// What wakes the import workers (a new import).
    pub fn import_wake(&self) -> &tokio::sync::Notify {
        &self.import_wake
    }
}

/// Time between two archives of one account (Mastodon: 7 days).
pub const ARCHIVE_INTERVAL_MS: i64 = 7 * 24 * 3600 * 1000;
/// How long a process holds an archive it is writing before another may take it.
const ARCHIVE_LEASE_MS: i64 = 10 * 60 * 1000;
/// Activities, favourites or files read per page while an archive is written.
const ARCHIVE_PAGE: i64 = 200;
/// How often the archive writer looks for requests made by other processes.
const ARCHIVE_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// What the archive writer is handed, in order: a new file of the zip, or bytes of
/// the current one. The channel between the two is small: memory stays bounded.
enum Piece {
    File(String),
    Data(Vec<u8>),
}

impl Engine {
    /// Asks for an archive of the account's data (Mastodon's "Request your
    /// archive"); refused within [`ARCHIVE_INTERVAL_MS`] of the last request.
    pub async fn request_archive(&self, account_id: Id) -> Result<()> {
        let now = sluice_model::id::now_millis();
        if let Some(last) = self.store.archives_of(account_id, 1).await?.first()
            && now - last.created_at < ARCHIVE_INTERVAL_MS
        {
            return Err(EngineError::invalid(
                "Validation failed: You can request an archive once every 7 days",
            ));
        }
        self.store
            .insert_archive(self.ids.next_at(now), account_id, now)
            .await?;
        self.archive_wake.notify_one();
        Ok(())
    }

    /// An account's archives, newest first.
    pub async fn archives(&self, account_id: Id) -> Result<Vec<crate::rows::ArchiveRow>> {
        Ok(self.store.archives_of(account_id, 10).await?)
    }

    /// Where the archive `id` of `account_id` is, when it is done (None for anyone
    /// else's).
    pub async fn archive_file(&self, account_id: Id, id: Id) -> Result<Option<std::path::PathBuf>> {
        Ok(self
            .store
            .archives_of(account_id, 10)
            .await?
            .into_iter()
            .find(|a| a.id == id && a.state == "done" && !a.file.is_empty())
            .map(|a| self.archive_dir().join(a.file)))
    }

    /// The folder archives are written to: inside the media directory, never served
    /// by its routes (`/media/{file}` takes no folders).
    fn archive_dir(&self) -> std::path::PathBuf {
        self.config.media_dir.join("archives")
    }

    /// Writes the oldest pending archive, if any; true when there was one.
    pub async fn write_archive_step(&self) -> Result<bool> {
        let now = sluice_model::id::now_millis();
        let Some(archive) = self
            .store
            .claim_archive(now, now + ARCHIVE_LEASE_MS)
            .await?
        else {
            return Ok(false);
        };
        let file = format!(
            "{}-{}.zip",
            archive.id,
            crate::oauth::random_secret()
                .chars()
                .take(16)
                .collect::<String>()
        );
        let result = self.write_archive(archive.account_id, &file).await;
        let done = sluice_model::id::now_millis();
        match result {
            Ok(size) => {
                self.store
                    .finish_archive(archive.id, "done", &file, size as i64, done)
                    .await?
            }
            Err(e) => {
                tracing::warn!(archive = archive.id, error = %e, "writing an archive failed");
                let _ = tokio::fs::remove_file(self.archive_dir().join(&file)).await;
                self.store
                    .finish_archive(archive.id, "failed", "", 0, done)
                    .await?
            }
        }
        Ok(true)
    }

    /// Writes the zip of `account_id`'s data as Mastodon lays it out: `actor.json`,
    /// `outbox.json` (its activities), `likes.json`, `bookmarks.json` and
    /// `media_attachments/files/…`. Read page by page and written as it is read (a
    /// blocking writer fed through a small channel). Returns its size.
    async fn write_archive(&self, account_id: Id, file: &str) -> Result<u64> {
        let account = self.account_row(account_id).await?;
        let dir = self.archive_dir();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| EngineError::Internal(format!("archive folder: {e}")))?;
        let path = dir.join(file);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Piece>(8);
        let writer = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
            use std::io::Write as _;
            let f = std::fs::File::create(&path)?;
            let mut z = zip::ZipWriter::new(std::io::BufWriter::new(f));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored)
                .large_file(true);
            while let Some(piece) = rx.blocking_recv() {
                match piece {
                    Piece::File(name) => {
                        z.start_file(name, options).map_err(std::io::Error::other)?
                    }
                    Piece::Data(bytes) => z.write_all(&bytes)?,
                }
            }
            let mut out = z.finish().map_err(std::io::Error::other)?;
            out.flush()?;
            let f = out.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            Ok(f.metadata()?.len())
        });
        let fed = self.feed_archive(&account, &tx).await;
        drop(tx);
        let written = writer
            .await
            .map_err(|e| EngineError::Internal(format!("archive writer: {e}")))?;
        fed?;
        written.map_err(|e| EngineError::Internal(format!("archive: {e}")))
    }

    /// Sends the archive's files, piece by piece, to its writer.
    async fn feed_archive(
        &self,
        account: &AccountRow,
        tx: &tokio::sync::mpsc::Sender<Piece>,
    ) -> Result<()> {
        let send = |p: Piece| async move {
            tx.send(p)
                .await
                .map_err(|_| EngineError::Internal("the archive writer stopped".into()))
        };
        let json_bytes = |v: &serde_json::Value| serde_json::to_vec(v).unwrap_or_default();
        // actor.json
        let actor = match self.actor_documents.get() {
            Some(source) => source.actor_document(self, account).await?,
            None => json!({"id": account.uri}),
        };
        send(Piece::File("actor.json".into())).await?;
        send(Piece::Data(json_bytes(&actor))).await?;
        // outbox.json: every activity of the account, newest first.
        send(Piece::File("outbox.json".into())).await?;
        let head = json!({
            "@context": crate::as2::context(),
            "id": "outbox.json",
            "type": "OrderedCollection",
        });
        let mut text = json_bytes(&head);
        text.pop();
        text.extend_from_slice(b",\"orderedItems\":[");
        send(Piece::Data(text)).await?;
        let mut max_id = None;
        let mut first = true;
        loop {
            let page = sluice_store::Page {
                max_id,
                limit: ARCHIVE_PAGE,
                ..Default::default()
            };
            let items = self.outbox_page(account.id, true, page).await?;
            let Some(last) = items.last().map(|i| i.id) else {
                break;
            };
            let mut chunk = Vec::new();
            for item in &items {
                if !first {
                    chunk.push(b',');
                }
                first = false;
                chunk.extend_from_slice(item.json.as_bytes());
            }
            send(Piece::Data(chunk)).await?;
            max_id = Some(last);
        }
        send(Piece::Data(b"]}".to_vec())).await?;
        // likes.json: the posts it favourited.
        send(Piece::File("likes.json".into())).await?;
        send(Piece::Data(
            b"{\"id\":\"likes.json\",\"type\":\"OrderedCollection\",\"orderedItems\":[".to_vec(),
        ))
        .await?;
        let mut max_id = None;
        let mut first = true;
        loop {
            let page = sluice_store::Page {
                max_id,
                limit: ARCHIVE_PAGE,
                ..Default::default()
            };
            let listed = self.favourites_page(account.id, page).await?;
            let Some(last) = listed.last().map(|l| l.rel_id) else {
                break;
            };
            let ids: Vec<Id> = listed.iter().map(|l| l.item_id).collect();
            let mut chunk = Vec::new();
            for s in self.store.statuses(&ids).await? {
                if !first {
                    chunk.push(b',');
                }
                first = false;
                chunk.extend_from_slice(&json_bytes(&json!(s.uri)));
            }
            send(Piece::Data(chunk)).await?;
            max_id = Some(last);
        }
        send(Piece::Data(b"]}".to_vec())).await?;
        // bookmarks.json
        send(Piece::File("bookmarks.json".into())).await?;
        send(Piece::Data(
            b"{\"id\":\"bookmarks.json\",\"type\":\"OrderedCollection\",\"orderedItems\":["
                .to_vec(),
        ))
        .await?;
        let mut after = 0;
        let mut first = true;
        loop {
            let rows = self
                .store
                .export_bookmarks(account.id, after, ARCHIVE_PAGE)
                .await?;
            let Some(last) = rows.last().map(|r| r.k) else {
                break;
            };
            let mut chunk = Vec::new();
            for r in rows {
                if !first {
                    chunk.push(b',');
                }
                first = false;
                chunk.extend_from_slice(&json_bytes(&json!(r.v)));
            }
            send(Piece::Data(chunk)).await?;
            after = last;
        }
        send(Piece::Data(b"]}".to_vec())).await?;
        // media_attachments/files/…: the account's uploads, read in slices.
        let mut after = 0;
        loop {
            let files = self
                .store
                .media_files_of(account.id, after, ARCHIVE_PAGE)
                .await?;
            let Some(last) = files.last().map(|f| f.id) else {
                break;
            };
            for f in files {
                if f.file_name.is_empty() || f.file_name.contains('/') {
                    continue;
                }
                let Ok(mut file) = tokio::fs::File::open(self.media_path(&f.file_name)).await
                else {
                    continue;
                };
                send(Piece::File(format!(
                    "media_attachments/files/{}",
                    f.file_name
                )))
                .await?;
                loop {
                    use tokio::io::AsyncReadExt as _;
                    let mut buf = vec![0u8; 64 * 1024];
                    let n = file
                        .read(&mut buf)
                        .await
                        .map_err(|e| EngineError::Internal(format!("media file: {e}")))?;
                    if n == 0 {
                        break;
                    }
                    buf.truncate(n);
                    send(Piece::Data(buf)).await?;
                }
            }
            after = last;
        }
        Ok(())
    }

    /// Writes requested archives until `shutdown` changes.
    pub fn spawn_archives(
        self: &std::sync::Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        crate::tasks::spawn_guarded("archives", shutdown.clone(), move || {
            let (engine, mut shutdown) = (engine.clone(), shutdown.clone());
            async move {
                loop {
                    match engine.write_archive_step().await {
                        Ok(true) => continue,
                        Ok(false) => {}
                        Err(e) => tracing::warn!(error = %e, "archives: reading requests failed"),
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(ARCHIVE_IDLE) => {}
                        _ = engine.archive_wake.notified() => {}
                        _ = shutdown.changed() => return,
                    }
                }
            }
        })
    }
}
