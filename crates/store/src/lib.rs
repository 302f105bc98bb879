//! Storage for Sluice: one API with SQLite and PostgreSQL behind it.
//!
//! Why this shape: every query is written once, in SQL both engines accept (`$1`
//! placeholders, `ON CONFLICT`, `RETURNING`, BIGINT milliseconds for times), and run
//! through [`Query`], which binds its arguments for whichever engine the [`Store`] holds.
//! There is no sqlx `Any` driver involved: each engine keeps its own pool, types and
//! migrations folder.
//!
//! SQLite runs in WAL mode with one *writer* connection (every write transaction starts
//! with `BEGIN IMMEDIATE`, so writers queue in the pool instead of failing with
//! `SQLITE_BUSY` half-way) and a pool of read-only readers. Space is reclaimed with small
//! `incremental_vacuum` steps ([`Store::reclaim_space_step`]); a full `VACUUM` is never
//! run while serving.
//!
//! Query methods live in the submodules, grouped by what they are about; writes happen
//! inside a [`WriteTx`], so one activity's rows (object, activity, event log, side
//! effects) commit together or not at all.

mod accounts;
mod admin_accounts;
pub use admin_accounts::{
    AccountFlag, AccountStatus, AccountWarningRow, AdminAccountFilter, AdminAccountRow, Origin,
};
mod cards;
mod collections;
pub use accounts::{AccountCounter, NewAccount, NewUser, ProfileUpdate};
pub use cards::{CardJobRow, CardOutcome, LinkDayRow, LinkTrendRow, PreviewCardRow};
pub use collections::{CollectionItem, CollectionRow};
mod email;
mod emojis;
pub use email::EmailPurpose;
pub use emojis::CustomEmojiRow;
mod events;
pub use events::{EventWakeups, NewEvent, pair};
mod lists;
pub use lists::{AccountDomainBlockRow, ListOutcome, ListRow, StreamListRow};
mod instance;
pub use instance::{InstanceSetting, PUBLIC_URL_KEY};
mod media;
pub use media::MediaRow;
mod migrate;
mod moderation;
pub use moderation::AdminActionRow;
mod reports;
pub use reports::{NewReport, ReportFilter, ReportRow};
mod oauth;
pub use oauth::{AuthorizedToken, NewToken, UserState};
mod pins;
mod portability;
pub use portability::{
    ArchiveRow, ExportAccount, ExportFollow, ExportListMember, ExportMute, ExportText,
    ImportDataRow, ImportRow, MediaFileRow,
};
mod polls;
pub use pins::PinOutcome;
pub use polls::PollRow;
mod filters;
pub use filters::{FilterKeywordRow, FilterRow, FilterRows, FilterStatusRow};
mod conversations;
pub use conversations::{ConversationPost, ConversationRow};
mod federation;
mod federation_moderation;
pub use federation::{
    DELIVERY_CLAIM_WINDOW, DeliveryHostStats, DeliveryRow, DomainBlockRow, HostRow, InboxRow,
    KeyRow, NewInboxActivity, OutboxItem, RemoteActor, StoredActivity, host_in_domain,
};
pub use federation_moderation::{
    CanonicalEmailBlockRow, DomainList, DomainRow, IpBlockRow, RuleRow,
};
mod push;
pub use push::{PushSubscriptionRow, PushTarget};
mod query;
mod reactions;
pub use reactions::ReactionRow;
mod quotes;
pub use quotes::{NewQuote, QuoteRow, Quoting};
mod rows;
mod scheduled;
pub use scheduled::{AnnouncementReactionCount, AnnouncementRow, ScheduledStatusRow};
mod search;
pub use search::{FoundTag, StatusSearch, TagDay};
mod sign_in;
pub use sign_in::SignInFailures;
mod social;
mod sqlite_backup;
mod sqlite_tuning;
pub use social::{
    MuteExpiry, NewRelation, NotificationFilter, NotificationGroupKey, Relation, Side,
};
pub use sqlite_backup::{BackupReport, backup_sqlite};
mod statuses;
mod suggestions;
mod tags;
mod two_factor;
mod tx;
pub use two_factor::{TwoFactorChallenge, TwoFactorRow};
mod visibility;
mod web_sessions;
pub use statuses::{
    AccountStatusFilter, ActivityRecord, Locality, MAX_THREAD_ROWS, ReactionSummary, ReblogOf,
    Saved, StatusCounter, StatusView,
};
pub use suggestions::SuggestionRow;
pub use tags::{FeaturedTagRow, FollowedTagRow, HashtagRow, PostInteractions, TagUse};
pub use tx::WriteTx;
pub use web_sessions::{WebSessionRow, WebSessionWithUser};

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{PgPool, SqlitePool};

pub use migrate::{SCHEMA_VERSION, SCHEMA_VERSION_MIN};
pub use query::{Arg, Query, Scalar, TextScalar, count_each};
pub use rows::*;
pub use sluice_model::Id;

/// How long a connection waits for SQLite's write lock before giving up. Writes are
/// short; five seconds only runs out when something is badly wrong.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite page cache per connection (negative: KiB). 8 MiB keeps hot index pages in
/// memory without letting five connections grow the process past ~40 MiB.
const SQLITE_CACHE_KIB: &str = "-8000";
/// Readers on SQLite: WAL lets them run beside the writer. Twice the 2 cores we plan for.
const SQLITE_READERS: u32 = 4;
/// The fewest PostgreSQL connections the default pool size allows (see
/// [`default_pg_max_connections`]).
const PG_MIN_DEFAULT_CONNECTIONS: u32 = 6;
/// A PostgreSQL connection idle this long is pinged before it is used again.
const PG_PING_AFTER_IDLE: Duration = Duration::from_secs(30);
/// A PostgreSQL connection is closed once it is this old (when idle), and opened again
/// only when one is needed: so a pool grown by a burst shrinks back to what the work
/// at rest uses within about two minutes. An idle timeout alone would not do it: the
/// pool hands out its idle connections in turn, so an idle server's periodic queries
/// keep every one of them from ever being idle that long. Reopening costs a few
/// milliseconds a minute per connection.
const PG_MAX_LIFETIME: Duration = Duration::from_secs(60);
/// How long to wait for a pooled connection before the request fails.
/// PostgreSQL ends any statement that runs longer (`statement_timeout`): the server
/// goes on with a query whose request was dropped at its deadline, so this bounds it
/// there. Twice the default request deadline; migrations are exempt.
pub const PG_STATEMENT_TIMEOUT: &str = "60s";
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pages freed per incremental vacuum step (4 KiB pages: 1 MiB per step), small enough
/// that the writer is never held for long.
pub const VACUUM_STEP_PAGES: i64 = 256;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot do this now, through no fault of the request: it is out of
    /// room, read-only or failing to do I/O, its write lock or a connection was not to
    /// be had in time, or the server is going away. Worth trying again later.
    #[error("the database cannot take this now: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Db(sqlx::Error),
    #[error("migration error: {0}")]
    Migration(String),
    /// `sluice admin backup` could not make a good copy; the message says why.
    #[error("{0}")]
    Backup(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from_sqlx(e)
    }
}

/// SQLite's primary result codes that mean "not now" ([`StoreError::Unavailable`]):
/// busy or locked past the busy timeout, out of memory, read-only, I/O error, disk
/// full, the file cannot be opened.
const SQLITE_UNAVAILABLE: [i32; 7] = [
    libsqlite3_sys::SQLITE_BUSY,
    libsqlite3_sys::SQLITE_LOCKED,
    libsqlite3_sys::SQLITE_NOMEM,
    libsqlite3_sys::SQLITE_READONLY,
    libsqlite3_sys::SQLITE_IOERR,
    libsqlite3_sys::SQLITE_FULL,
    libsqlite3_sys::SQLITE_CANTOPEN,
];

/// PostgreSQL's SQLSTATE classes and codes that mean "not now": 08 connection
/// exception, 40 transaction rollback (serialization failure, deadlock), 53
/// insufficient resources (disk full, out of memory, too many connections), 57
/// operator intervention (shutdown, statement timeout), 25006 read-only transaction
/// (a standby).
fn pg_unavailable(sqlstate: &str) -> bool {
    ["08", "40", "53", "57"]
        .iter()
        .any(|class| sqlstate.starts_with(class))
        || sqlstate == "25006"
}

impl StoreError {
    pub fn from_sqlx(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(ref d) if d.is_unique_violation() => {
                StoreError::Conflict(d.message().to_string())
            }
            sqlx::Error::Database(ref d) => {
                let unavailable = match d.code() {
                    Some(code)
                        if d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                            .is_some() =>
                    {
                        pg_unavailable(&code)
                    }
                    // SQLite's extended result code: the primary one is its low byte.
                    Some(code) => code
                        .parse::<i32>()
                        .is_ok_and(|c| SQLITE_UNAVAILABLE.contains(&(c & 0xff))),
                    None => false,
                };
                if unavailable {
                    StoreError::Unavailable(d.message().to_string())
                } else {
                    StoreError::Db(e)
                }
            }
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
            e => StoreError::Db(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The file of a SQLite database URL (`sqlite://PATH`, `sqlite:PATH` or a bare path);
/// None for a PostgreSQL URL.
pub fn sqlite_path(url: &str) -> Option<&Path> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    Some(Path::new(path))
}

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub(crate) enum Pools {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// The most PostgreSQL connections one process opens unless configured
/// (`SLUICE_DATABASE_MAX_CONNECTIONS`): two per core the process may run on, plus two,
/// and at least 6.
///
/// Why: PostgreSQL does no more work at once than it has cores, and here it shares
/// them with the server; one more connection per core keeps a core busy while another
/// connection's results travel back and are read. The two more are what is held
/// besides requests: the streaming hub's `LISTEN` for event-log wake-ups keeps one for
/// good, and one lets the writer holding the event-log lock (every write with events
/// takes it) or the inbox and delivery workers' claims get a connection while requests
/// hold the others. Writers beyond that queue for the lock anyway, so more connections
/// only move the queue from the pool into PostgreSQL, at about 8 MB of PostgreSQL
/// memory each (docs/benchmarks.md, "PostgreSQL connections"). The former fixed 16 held
/// 16 backends after any burst.
pub fn default_pg_max_connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cores = u32::try_from(cores).unwrap_or(u32::MAX);
    cores
        .saturating_mul(2)
        .saturating_add(2)
        .max(PG_MIN_DEFAULT_CONNECTIONS)
}

/// How a [`Store`] is opened, besides its URL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Most PostgreSQL connections this process opens; None (or 0): sized to the
    /// machine ([`default_pg_max_connections`]). SQLite ignores it: it has one writer
    /// and a fixed few readers.
    pub max_connections: Option<u32>,
}

impl OpenOptions {
    /// The PostgreSQL pool size in effect.
    pub fn pg_max_connections(&self) -> u32 {
        self.max_connections
            .filter(|n| *n > 0)
            .unwrap_or_else(default_pg_max_connections)
    }
}

/// The database. Cheap to clone (pools are reference-counted).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pools: Pools,
    /// SQLite's shared-memory wal-index (`<database>-shm`), read by
    /// [`Store::change_marker`]; None on PostgreSQL or when it cannot be opened.
    shm: Option<Arc<std::fs::File>>,
    /// On PostgreSQL, a second pool whose connections plan every prepared statement
    /// once (`plan_cache_mode = force_generic_plan`, set at connect), for the few
    /// statements [`Store::all_generic_plan`] runs; None on SQLite.
    pg_generic: Option<PgPool>,
    /// What writes told about the store's ability to write ([`Store::check_writes`]).
    health: Arc<tx::WriteHealth>,
}

impl Store {
    /// Opens the database at `url`: `postgres://…`/`postgresql://…`, or `sqlite://PATH`
    /// (created if missing), and applies pending migrations.
    pub async fn open(url: &str) -> Result<Store> {
        Self::open_with(url, OpenOptions::default()).await
    }

    /// [`Store::open`] with options.
    pub async fn open_with(url: &str, options: OpenOptions) -> Result<Store> {
        let store = Self::connect_with(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database at `url` as [`Store::open`] does, without migrating it (see
    /// [`Store::has_schema`]).
    pub async fn connect(url: &str) -> Result<Store> {
        Self::connect_with(url, OpenOptions::default()).await
    }

    /// [`Store::connect`] with options.
    pub async fn connect_with(url: &str, options: OpenOptions) -> Result<Store> {
        match sqlite_path(url) {
            Some(path) => Self::open_sqlite(path).await,
            None => Self::open_postgres(url, options.pg_max_connections()).await,
        }
    }

    async fn open_sqlite(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Migration(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        sqlite_tuning::configure_library();
        let base = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .pragma("temp_store", "memory")
            .pragma("cache_size", SQLITE_CACHE_KIB);
        // Only the writer sets the file-level modes. auto_vacuum must be set before the
        // first table exists (sqlx applies it before the journal mode, so a new file gets
        // INCREMENTAL); switching journal modes takes a lock that busy_timeout cannot wait
        // for, so readers never touch either, and the writer is never recycled.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .after_connect(|conn, _| Box::pin(sqlite_tuning::configure_connection(conn)))
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(
                base.clone()
                    .auto_vacuum(SqliteAutoVacuum::Incremental)
                    .journal_mode(SqliteJournalMode::Wal),
            )
            .await?;
        // No ping before each acquire: an embedded connection cannot lose its peer, and
        // the ping is one more round trip to the connection's worker thread per query.
        let read = SqlitePoolOptions::new()
            .max_connections(SQLITE_READERS)
            .min_connections(1)
            .test_before_acquire(false)
            .after_connect(|conn, _| Box::pin(sqlite_tuning::configure_connection(conn)))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(base.pragma("query_only", "true"))
            .await?;
        // The writer has put the file in WAL mode, so the wal-index exists now, and it
        // stays while this process holds its connections.
        let mut shm_path = path.as_os_str().to_owned();
        shm_path.push("-shm");
        let shm = match std::fs::File::open(&shm_path) {
            Ok(f) => Some(Arc::new(f)),
            Err(e) => {
                tracing::debug!(error = %e, "the SQLite wal-index cannot be read; changes are found by querying");
                None
            }
        };
        Ok(Store {
            pools: Pools::Sqlite { read, write },
            shm,
            pg_generic: None,
            health: Arc::default(),
        })
    }

    async fn open_postgres(url: &str, max_connections: u32) -> Result<Store> {
        // JIT off: for this server's short statements PostgreSQL's JIT only costs. A home
        // page merging ten followed hashtags is estimated expensive enough to be
        // compiled (830 functions, 4.2 s) while it runs in milliseconds
        // (docs/benchmarks.md, "Home with followed hashtags").
        let opts = PgConnectOptions::from_str(url)?
            .options([("statement_timeout", PG_STATEMENT_TIMEOUT), ("jit", "off")]);
        let pool = pg_pool_options(max_connections)
            .connect_with(opts.clone())
            .await?;
        // The generic-plan pool opens no connection until a statement needs one (most
        // instances never run one), and its connections leave like the main pool's: at
        // most half as many more backends as the main pool (at least 2), only while
        // they are used.
        let generic = pg_pool_options((max_connections / 2).max(2))
            .connect_lazy_with(opts.options([("plan_cache_mode", "force_generic_plan")]));
        Ok(Store {
            pools: Pools::Postgres(pool),
            shm: None,
            pg_generic: Some(generic),
            health: Arc::default(),
        })
    }

    /// Something that changes whenever any process commits a write to this SQLite
    /// database: the first header of its wal-index, whose transaction counter and last
    /// valid frame advance with every commit (<https://sqlite.org/walformat.html>). One
    /// `pread` of 48 bytes, no query: a poller that finds it unchanged need not ask the
    /// database anything. A torn read (a commit under way) only reads as a change.
    /// None on PostgreSQL, or when it cannot be read (then query).
    pub fn change_marker(&self) -> Option<[u8; 48]> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt as _;
            let mut header = [0u8; 48];
            self.shm.as_ref()?.read_exact_at(&mut header, 0).ok()?;
            Some(header)
        }
        #[cfg(not(unix))]
        None
    }

    pub fn kind(&self) -> EngineKind {
        match self.pools {
            Pools::Sqlite { .. } => EngineKind::Sqlite,
            Pools::Postgres(_) => EngineKind::Postgres,
        }
    }

    /// One step of space reclamation on SQLite: frees at most [`VACUUM_STEP_PAGES`]
    /// pages. Returns how many free pages remain. A no-op (0) on PostgreSQL, whose
    /// autovacuum does this job.
    pub async fn reclaim_space_step(&self) -> Result<i64> {
        let Pools::Sqlite { write, .. } = &self.pools else {
            return Ok(0);
        };
        let mut conn = write.acquire().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "PRAGMA incremental_vacuum({VACUUM_STEP_PAGES})"
        )))
        .execute(&mut *conn)
        .await?;
        let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
            .fetch_one(&mut *conn)
            .await?;
        Ok(free)
    }

    /// The SQLite `auto_vacuum` mode (0 none, 1 full, 2 incremental); `None` on PostgreSQL.
    pub async fn sqlite_auto_vacuum_mode(&self) -> Result<Option<i64>> {
        let Pools::Sqlite { read, .. } = &self.pools else {
            return Ok(None);
        };
        Ok(Some(
            sqlx::query_scalar("PRAGMA auto_vacuum")
                .fetch_one(read)
                .await?,
        ))
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(p) => p.close().await,
        }
        if let Some(p) = &self.pg_generic {
            p.close().await;
        }
    }
}

/// How both PostgreSQL pools hand out connections. A connection is pinged before use
/// only after it sat idle for a while (the server may have closed it); a ping before
/// every query would double the round trips of the busy path.
fn pg_pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PG_PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .max_lifetime(PG_MAX_LIFETIME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_size_follows_the_machine_unless_set() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        let default = OpenOptions::default().pg_max_connections();
        assert_eq!(default, (2 * cores + 2).max(6));
        assert_eq!(default, default_pg_max_connections());
        assert_eq!(
            OpenOptions {
                max_connections: Some(0)
            }
            .pg_max_connections(),
            default
        );
        let set = OpenOptions {
            max_connections: Some(3),
        };
        assert_eq!(set.pg_max_connections(), 3);
    }
}
