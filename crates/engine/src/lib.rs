//! The pump: one pipeline for every activity, local or remote — validate, store the
//! object, the activity and the event-log rows in one transaction, apply side effects
//! (notifications, counters, mentions, tags), then wake whoever tails the event log.
//!
//! The engine owns the rules (who may see what, blocks, mutes, visibility, limits). The
//! API crate only parses, authorizes and renders; the federation inbox hands parsed
//! remote activities to the `Engine::remote_*` functions, which share their side
//! effects and their commit with [`Engine::submit`].
//!
//! Modules:
//! - [`pipeline`]: the [`Activity`] type and [`Engine::submit`].
//! - [`remote`]: remote activities, after the inbox verified them.
//! - `effects`: the side effects both share, and the one commit step.
//! - [`as2`]: our rows as ActivityStreams documents.
//! - [`accounts`]: registration, profiles, mutes and other non-federated state.
//! - [`sign_in`]: password checks, with guessing slowed per account.
//! - [`lists`]: lists and user-level domain blocks.
//! - [`oauth`]: applications, authorization codes, tokens.
//! - [`view`]: stored rows to Mastodon entities, one conversion per entity, batched.
//! - [`urls`]: every IRI and link the server mints.
//! - [`cards`]: link preview cards: the link of a post, the fetch queue, trends.
//! - [`polls`]: polls: limits, votes, their end, their Question documents.
//! - [`maintenance`]: small periodic jobs (event-log pruning, SQLite space reclaim).
//! - [`queues`]: the inbox and delivery queues the federation workers drain.
//! - [`admin`]: what the `sluice admin` commands change.
//! - [`rows`]: the store's types in the engine's functions, for the crates above it.
//!
//! The store is the engine's alone: other crates read and write through these
//! functions (and [`read`]), never through a `Store`.

pub mod accounts;
pub mod actor_keys;
pub mod admin;
pub mod admin_accounts;
pub mod announcements;
pub mod as2;
pub mod cache;
pub mod cards;
pub mod collections;
pub mod conversations;
pub(crate) mod effects;
pub mod email;
pub mod emojis;
pub mod endorsements;
pub mod error;
pub mod federation_moderation;
pub mod filters;
pub mod lists;
pub mod maintenance;
pub mod media;
pub mod media_sniff;
pub mod moderation;
pub mod oauth;
pub mod pipeline;
pub mod polls;
pub mod portability;
pub mod push;
pub mod queues;
pub mod quote_requests;
pub mod quotes;
pub mod reactions;
pub mod read;
pub mod remote;
pub mod reports;
pub mod rows;
pub mod scheduled;
pub mod sign_in;
pub mod suggestions;
pub mod tags;
pub mod tasks;
pub mod two_factor;
pub mod urls;
pub mod view;
pub mod web_sessions;

use std::sync::Arc;

use sluice_model::IdGenerator;
use sluice_store::Store;
use tokio::sync::watch;

pub use error::{EngineError, Result};
pub use pipeline::{Activity, ClientObject, NewNote, NoteEdit, Outcome};
pub use urls::Urls;

/// How new accounts may join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registrations {
    Open,
    Approval,
    Closed,
}

/// Who may read one of the public timelines (this server's, or the federated one):
/// anyone, or only people signed in (Mastodon's "live feed access").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineAccess {
    Public,
    SignedIn,
}

impl TimelineAccess {
    /// As Mastodon's instance v2 names it (`configuration.timelines_access`).
    pub fn mastodon_name(self) -> &'static str {
        match self {
            TimelineAccess::Public => "public",
            TimelineAccess::SignedIn => "authenticated",
        }
    }
}

/// What the engine needs to know about the instance.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Scheme, host and port used in every id and link, without a trailing slash.
    pub public_url: String,
    pub registrations: Registrations,
    /// Who may read this server's public timeline.
    pub local_timeline: TimelineAccess,
    /// Who may read the federated timeline (and the remote-only one).
    pub federated_timeline: TimelineAccess,
    /// Longest status text, in characters.
    pub max_status_chars: usize,
    /// Event-log retention for stream resume, in milliseconds.
    pub event_retention_ms: i64,
    /// Event-log rows kept at most, whatever their age.
    pub event_max_rows: i64,
    /// Whether a user's Block (and its Undo) is delivered to the blocked actor's server
    /// (`federation.send_blocks`; default false: it only helps the blocked person).
    pub send_blocks: bool,
    /// How long a delivery is retried before it is given up, in milliseconds.
    pub delivery_max_age_ms: i64,
    /// Where uploaded media files are written.
    pub media_dir: std::path::PathBuf,
    /// Largest media upload, in bytes.
    pub media_max_bytes: usize,
    /// Makes the RSA key pair of a new local actor (the federation crate's).
    pub make_key_pair: actor_keys::MakeKeyPair,
    /// What a poll may hold and how long it may run.
    pub polls: polls::PollLimits,
    /// Link preview cards: fetching, caching, politeness, trends.
    pub cards: cards::CardSettings,
    /// Distinct emoji reactions one account may give one post.
    pub max_reactions_per_account: usize,
    /// Largest CSV file an import takes (`/settings/import`).
    pub import_max_bytes: usize,
    /// Whom the server federates with (`SLUICE_FEDERATION_MODE`).
    pub federation_mode: federation_moderation::FederationMode,
    /// How the purge of suspended remote accounts' content goes.
    pub purge: federation_moderation::PurgeSettings,
}

/// Shared engine state. Cheap to clone through `Arc`.
pub struct Engine {
    /// The database. Only the engine reaches it: every other crate asks the engine.
    pub(crate) store: Store,
    pub ids: IdGenerator,
    pub config: EngineConfig,
    pub urls: Urls,
    /// The newest event-log id this process committed; streaming subscribes to it.
    events: watch::Sender<i64>,
    /// Set when a transaction queued deliveries; the next commit that publishes wakes
    /// the delivery workers ([`Engine::delivery_wake`]).
    deliveries_queued: std::sync::atomic::AtomicBool,
    delivery_wake: tokio::sync::Notify,
    /// Woken when a mute with a duration is made, so the task ending mutes
    /// ([`Engine::spawn_mute_expiry`]) looks at the soonest end again.
    mute_expiry_wake: tokio::sync::Notify,
    /// Wakes the purge of deleted accounts (`portability.rs`).
    portability_wake: tokio::sync::Notify,
    /// Wakes the CSV import workers (federation's `imports.rs`).
    import_wake: tokio::sync::Notify,
    /// Wakes the archive writer (`portability.rs`).
    archive_wake: tokio::sync::Notify,
    /// Woken when a post is scheduled or moved, so the scheduler
    /// ([`Engine::spawn_scheduler`]) looks at the soonest due post again.
    scheduler_wake: tokio::sync::Notify,
    /// Woken when a poll with an end is made, so the task ending polls
    /// ([`Engine::spawn_poll_expiry`]) looks at the soonest end again.
    poll_end_wake: tokio::sync::Notify,
    pub cache: cache::Caches,
    /// The card workers' wake-up and the remote posts' budget.
    pub(crate) cards: cards::CardState,
    /// Remote activities accepted but not applied, by reason (`/metrics`).
    pub inbox_ignored: remote::IgnoredCounts,
    /// Builds local actor documents (the federation crate's), installed at start; a
    /// profile change is federated only when it is.
    actor_documents: std::sync::OnceLock<Arc<dyn accounts::ActorDocuments>>,
    /// Sends mail (the binary's SMTP client), installed at start when configured.
    mailer: std::sync::OnceLock<Arc<dyn email::Mailer>>,
    /// The instance's VAPID key pair (Web Push), loaded at start.
    vapid: std::sync::OnceLock<push::VapidKey>,
    /// Woken when a domain block changed, so the purge task looks for work at once.
    purge_wake: tokio::sync::Notify,
}

impl Engine {
    pub async fn new(store: Store, config: EngineConfig) -> Result<Arc<Engine>> {
        let last = store.last_event_id().await?;
        let (events, _) = watch::channel(last);
        Ok(Arc::new(Engine {
            urls: Urls::new(&config.public_url),
            store,
            ids: IdGenerator::new(),
            config,
            events,
            deliveries_queued: Default::default(),
            delivery_wake: tokio::sync::Notify::new(),
            mute_expiry_wake: tokio::sync::Notify::new(),
            portability_wake: tokio::sync::Notify::new(),
            import_wake: tokio::sync::Notify::new(),
            archive_wake: tokio::sync::Notify::new(),
            scheduler_wake: tokio::sync::Notify::new(),
            poll_end_wake: tokio::sync::Notify::new(),
            cache: cache::Caches::default(),
            cards: Default::default(),
            inbox_ignored: Default::default(),
            actor_documents: std::sync::OnceLock::new(),
            mailer: std::sync::OnceLock::new(),
            vapid: push::vapid_cell(),
            purge_wake: tokio::sync::Notify::new(),
        }))
    }

    /// Hands the engine what builds local actor documents (once, at start): from then
    /// on a profile change queues the `Update` of its actor document in its own
    /// transaction.
    pub fn install_actor_documents(&self, source: Arc<dyn accounts::ActorDocuments>) {
        let _ = self.actor_documents.set(source);
    }

    /// The engine's store, for integration tests only (feature `test-support`): no
    /// crate reaches the store through the engine otherwise.
    #[cfg(feature = "test-support")]
    pub fn store_for_tests(&self) -> &Store {
        &self.store
    }

    /// Closes the database's connections (the server stopping, a command done).
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// A receiver that sees the id of the newest event committed by this process.
    pub fn subscribe_events(&self) -> watch::Receiver<i64> {
        self.events.subscribe()
    }

    /// Notified after a commit that queued deliveries (most do so in the same
    /// transaction as their events); the workers also poll, for other processes'
    /// deliveries, retries coming due, and commits that publish nothing.
    pub fn delivery_wake(&self) -> &tokio::sync::Notify {
        &self.delivery_wake
    }

    pub(crate) fn deliveries_queued(&self) {
        self.deliveries_queued
            .store(true, std::sync::atomic::Ordering::Release);
    }

    pub(crate) fn published(&self, last_event: Option<i64>) {
        self.cards_published();
        if self
            .deliveries_queued
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            self.delivery_wake.notify_one();
        }
        if let Some(id) = last_event {
            self.events.send_if_modified(|cur| {
                if id > *cur {
                    *cur = id;
                    true
                } else {
                    false
                }
            });
        }
    }

    pub fn new_id(&self) -> sluice_model::Id {
        self.ids.next()
    }

    /// Drops cached copies of accounts a committed write changed.
    pub(crate) fn accounts_changed(&self, ids: &[sluice_model::Id]) {
        for id in ids {
            self.cache.accounts.remove(id);
        }
    }

    /// Drops cached copies of accounts changed outside the engine (a refreshed remote
    /// actor).
    pub fn forget_accounts(&self, ids: &[sluice_model::Id]) {
        self.accounts_changed(ids);
    }

    /// Accounts by id through the cache (for rendering), in no particular order.
    pub async fn cached_accounts(
        &self,
        ids: &[sluice_model::Id],
    ) -> Result<Vec<sluice_store::AccountRow>> {
        let mut out = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.cache.accounts.get(id) {
                Some(a) => out.push(a),
                None => missing.push(*id),
            }
        }
        if !missing.is_empty() {
            for a in self.store.accounts(&missing).await? {
                self.cache.accounts.put(a.id, a.clone());
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Applications by id through the cache.
    pub async fn cached_apps(&self, ids: &[sluice_model::Id]) -> Result<Vec<sluice_store::AppRow>> {
        let mut out = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.cache.apps.get(id) {
                Some(a) => out.push(a),
                None => missing.push(*id),
            }
        }
        if !missing.is_empty() {
            for a in self.store.apps(&missing).await? {
                self.cache.apps.put(a.id, a.clone());
                out.push(a);
            }
        }
        Ok(out)
    }

    /// (local users, local posts), recounted at most once per `cache::STATS_TTL`.
    pub async fn instance_stats(&self) -> Result<(i64, i64)> {
        if let Some(s) = self.cache.stats.get(&()) {
            return Ok(s);
        }
        let stats = (
            self.store.count_local_users().await?,
            self.store.count_local_statuses().await?,
        );
        self.cache.stats.put((), stats);
        Ok(stats)
    }
}
