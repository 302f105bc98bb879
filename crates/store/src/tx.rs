//! Write transactions ([`WriteTx`]) and what they tell about the store's ability to
//! write ([`Store::check_writes`], which `GET /health` answers with).
//!
//! A failed write must leave the writer usable. SQLite ends a transaction by itself on
//! some errors: a statement that fails with `SQLITE_FULL` (disk full), `SQLITE_IOERR`
//! or `SQLITE_NOMEM` may roll the whole transaction back ("Response To Errors Within A
//! Transaction", <https://sqlite.org/lang_transaction.html>). sqlx keeps its own count
//! of open transactions and does not see that: the rollback it runs for a dropped
//! transaction then failed ("no transaction is active"), its count stayed at one, and
//! every later `BEGIN` on the one writer connection was refused ("attempted to call
//! begin_with at non-zero transaction depth") until a restart — for the API, the inbox
//! and the delivery workers alike. So on SQLite a [`WriteTx`] begins, commits and rolls
//! back with plain statements, and what decides is the connection's own state
//! (`sqlite3_get_autocommit`): every way out of a transaction — a commit, a failed
//! commit, a failed statement, a drop — leaves the connection outside any transaction,
//! or closes it, and the pool opens a new one. A transaction that SQLite ended runs no
//! further statement: it would run outside any transaction, committed on its own.
//!
//! PostgreSQL keeps sqlx's transactions: there a failed statement leaves the
//! transaction open (and refusing statements) until its rollback, which sqlx runs
//! before the connection is used again, or closes the connection if it cannot.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::{EngineKind, Pools, Query, Result, Store, StoreError, sqlite_tuning};

/// A write transaction. Dropped without [`WriteTx::commit`], it rolls back.
pub struct WriteTx {
    pub(crate) inner: TxInner,
    health: std::sync::Arc<WriteHealth>,
}

pub(crate) enum TxInner {
    Sqlite(SqliteTx),
    Postgres(Transaction<'static, Postgres>),
}

impl Store {
    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a transaction never fails half-way for lack of it.
    pub async fn begin(&self) -> Result<WriteTx> {
        let inner = match &self.pools {
            Pools::Sqlite { write, .. } => SqliteTx::begin(write).await.map(TxInner::Sqlite),
            Pools::Postgres(pool) => pool
                .begin()
                .await
                .map(TxInner::Postgres)
                .map_err(StoreError::from),
        };
        Ok(WriteTx {
            inner: self.health.note(inner)?,
            health: self.health.clone(),
        })
    }
}

impl WriteTx {
    pub async fn commit(self) -> Result<()> {
        let WriteTx { inner, health } = self;
        let r = match inner {
            TxInner::Sqlite(t) => t.commit().await,
            TxInner::Postgres(t) => t.commit().await.map_err(StoreError::from),
        };
        health.note(r)?;
        health.succeeded();
        Ok(())
    }

    /// Ends the transaction without writing anything.
    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => {
                t.rollback().await;
                Ok(())
            }
            TxInner::Postgres(t) => Ok(t.rollback().await?),
        }
    }

    pub fn kind(&self) -> EngineKind {
        match self.inner {
            TxInner::Sqlite(_) => EngineKind::Sqlite,
            TxInner::Postgres(_) => EngineKind::Postgres,
        }
    }

    /// The outcome of a statement of this transaction: a failure is converted, noted
    /// (when it is a storage failure), and on SQLite ends the transaction if SQLite
    /// already did.
    pub(crate) async fn outcome<T>(&mut self, r: Result<T, sqlx::Error>) -> Result<T> {
        let e = match r {
            Ok(v) => return Ok(v),
            Err(e) => StoreError::from(e),
        };
        if let TxInner::Sqlite(t) = &mut self.inner {
            t.after_error().await;
        }
        self.health.note(Err(e))
    }
}

/// A transaction on SQLite's writer connection, begun and ended with plain statements.
pub(crate) struct SqliteTx {
    /// None once the transaction is over (the connection went back to the pool).
    conn: Option<PoolConnection<Sqlite>>,
}

impl SqliteTx {
    async fn begin(pool: &SqlitePool) -> Result<SqliteTx> {
        // The connection is in the transaction before BEGIN runs: if this future is
        // dropped half-way or BEGIN fails, dropping it ends whatever BEGIN did.
        let mut tx = SqliteTx {
            conn: Some(pool.acquire().await?),
        };
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(tx.conn()?).await?;
        Ok(tx)
    }

    /// The connection, while the transaction is open.
    pub(crate) fn conn(&mut self) -> Result<&mut SqliteConnection> {
        self.conn.as_deref_mut().ok_or_else(|| {
            StoreError::Unavailable(
                "the database rolled this transaction back after an earlier error".into(),
            )
        })
    }

    async fn commit(mut self) -> Result<()> {
        let r = sqlx::raw_sql("COMMIT").execute(self.conn()?).await;
        let conn = self.conn.take();
        match r {
            Ok(_) => Ok(()),
            Err(e) => {
                if let Some(conn) = conn {
                    settle(conn).await;
                }
                Err(e.into())
            }
        }
    }

    async fn rollback(mut self) {
        if let Some(conn) = self.conn.take() {
            settle(conn).await;
        }
    }

    /// After a failed statement: if SQLite ended the transaction itself, this one is
    /// over, and its connection goes back to the pool.
    async fn after_error(&mut self) {
        let Some(conn) = self.conn.as_deref_mut() else {
            return;
        };
        if !matches!(sqlite_tuning::in_transaction(conn).await, Ok(true))
            && let Some(conn) = self.conn.take()
        {
            settle(conn).await;
        }
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        // The rollback runs before the connection is back in the pool: the next
        // transaction waits for it, and cannot start inside this one.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(settle(conn));
            }
            // No runtime (the process is ending): closing the connection rolls back.
            Err(_) => conn.close_on_drop(),
        }
    }
}

/// Ends whatever transaction `conn` is in and lets it go back to the pool. A connection
/// still in a transaction after that (or whose state cannot be read) is closed, and the
/// pool opens a new one.
async fn settle(mut conn: PoolConnection<Sqlite>) {
    // Fails ("no transaction is active") when SQLite rolled back already; the state
    // is what counts.
    let rollback = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.err();
    match sqlite_tuning::in_transaction(&mut conn).await {
        Ok(false) => {}
        state => {
            tracing::error!(
                ?state,
                ?rollback,
                "the SQLite writer connection could not be rolled back; opening a new one"
            );
            let _ = conn.close().await;
        }
    }
}

/// A write that failed for a storage reason keeps [`Store::check_writes`] failing this
/// long, unless a write succeeds since. Writes are what find a full disk (the probe
/// writes nothing); a server that a load balancer took out of rotation gets none, so
/// after this long it reports healthy again, gets traffic, and finds out. Long enough
/// for a balancer that checks every 10 s to see it fail twice, the usual threshold.
const FAILED_WRITE_MEMORY: Duration = Duration::from_secs(30);
/// A probe's answer is reused this long: callers checking many times a second cost
/// one probe (one turn of SQLite's writer) a second.
const PROBE_REUSE: Duration = Duration::from_secs(1);
/// A probe that takes longer fails: the write lock or a connection is not to be had.
/// Below `SQLITE_BUSY_TIMEOUT` plus the pool's acquire timeout, so the probe answers
/// before they would, and below the usual 5–10 s timeouts of health checkers.
const PROBE_TIMEOUT: Duration = Duration::from_secs(4);

/// What writes have told about the store: the last storage failure not followed by a
/// successful write, and the last probe's answer.
#[derive(Debug, Default)]
pub(crate) struct WriteHealth {
    /// Whether `failure` holds something: read by every commit, so that a healthy
    /// store takes no lock.
    failing: AtomicBool,
    failure: Mutex<Option<(Instant, String)>>,
    /// Held while probing: callers at the same moment share one probe.
    probe: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl WriteHealth {
    /// Passes `r` on, noting a storage failure (disk full, I/O error, read-only, …).
    pub(crate) fn note<T>(&self, r: Result<T>) -> Result<T> {
        if let Err(StoreError::Unavailable(reason)) = &r {
            let mut failure = self
                .failure
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if failure.is_none() {
                tracing::error!(%reason, "writes to the database fail");
            }
            *failure = Some((Instant::now(), reason.clone()));
            self.failing.store(true, Ordering::Release);
        }
        r
    }

    /// A write committed: the store writes again.
    pub(crate) fn succeeded(&self) {
        if !self.failing.load(Ordering::Acquire) {
            return;
        }
        let mut failure = self
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if failure.take().is_some() {
            tracing::warn!("writes to the database work again");
        }
        self.failing.store(false, Ordering::Release);
    }

    fn recent_failure(&self) -> Option<String> {
        if !self.failing.load(Ordering::Acquire) {
            return None;
        }
        let failure = self
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        failure
            .as_ref()
            .filter(|(at, _)| at.elapsed() < FAILED_WRITE_MEMORY)
            .map(|(_, reason)| reason.clone())
    }
}

impl Store {
    /// Whether this store can write now, and if not, why: a probe (a write transaction
    /// that takes the write lock — `BEGIN IMMEDIATE` on SQLite — runs a write statement
    /// that changes nothing, which a read-only PostgreSQL refuses, and rolls back), and
    /// the last writes (one that failed for a storage reason in the last
    /// [`FAILED_WRITE_MEMORY`], with none committed since, fails this). Cheap enough to
    /// call on every request: the probe runs at most once per [`PROBE_REUSE`].
    pub async fn check_writes(&self) -> std::result::Result<(), String> {
        {
            let mut last = self.health.probe.lock().await;
            match &*last {
                Some((at, answer)) if at.elapsed() < PROBE_REUSE => answer.clone()?,
                _ => {
                    let answer = self.probe_writes().await;
                    *last = Some((Instant::now(), answer.clone()));
                    answer?
                }
            }
        }
        match self.health.recent_failure() {
            Some(reason) => Err(reason),
            None => Ok(()),
        }
    }

    async fn probe_writes(&self) -> std::result::Result<(), String> {
        let probe = async {
            let mut tx = self.begin().await?;
            tx.exec(Query::new(
                "UPDATE schema_migrations SET name = name WHERE version < 0",
            ))
            .await?;
            tx.rollback().await
        };
        match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "no write transaction could be started within {} s",
                PROBE_TIMEOUT.as_secs()
            )),
        }
    }
}
