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
