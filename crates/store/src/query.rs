//! [`Query`]: SQL text plus arguments, run against whichever engine holds the data.
//!
//! SQL is written once with `$1, $2 …` placeholders, which PostgreSQL and SQLite both
//! understand (sqlx maps SQLite's `$N` to the N-th argument). Dynamic parts (paging
//! bounds, optional filters) are appended with [`Query::push`] and [`Query::arg`].

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, FromRow};

use crate::tx::TxInner;
use crate::{Pools, Result, Store, StoreError, WriteTx};

#[derive(Debug, Clone)]
pub enum Arg {
    I64(Option<i64>),
    Str(Option<String>),
    Bool(bool),
    F64(Option<f64>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::I64(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Str(Some(v.to_string()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Str(Some(v))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Str(Some(v.clone()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Str(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Str(v.map(str::to_string))
    }
}
impl From<Option<f64>> for Arg {
    fn from(v: Option<f64>) -> Self {
        Arg::F64(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Query {
    sql: String,
    args: Vec<Arg>,
}

/// Rows that both engines can decode.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::I64(v) => q.bind(v),
                Arg::Str(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::F64(v) => q.bind(v),
            };
        }
        q
    }};
}

impl Query {
    pub fn new(sql: impl Into<String>) -> Self {
        Query {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    /// Adds the next positional argument (`$1`, `$2` … in the order bound).
    pub fn bind(mut self, a: impl Into<Arg>) -> Self {
        self.args.push(a.into());
        self
    }

    /// Appends SQL text.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Adds an argument and returns its placeholder, for dynamic SQL.
    pub fn arg(&mut self, a: impl Into<Arg>) -> String {
        self.args.push(a.into());
        format!("${}", self.args.len())
    }

    /// A placeholder list `($n, $n+1, …)` for an `IN` clause. An empty list gives
    /// `(NULL)`, which matches nothing.
    pub fn in_list(&mut self, ids: &[i64]) -> String {
        if ids.is_empty() {
            return "(NULL)".into();
        }
        let parts: Vec<String> = ids.iter().map(|id| self.arg(*id)).collect();
        format!("({})", parts.join(", "))
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }
}

impl Store {
    /// Runs a read query and returns every row.
    pub async fn all<T: Row>(&self, q: Query) -> Result<Vec<T>> {
        let Query { sql, args } = q;
        let rows = match &self.pools {
            Pools::Sqlite { read, .. } => {
                bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args)
                    .fetch_all(read)
                    .await
            }
            Pools::Postgres(pool) => {
                bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args)
                    .fetch_all(pool)
                    .await
            }
        };
        rows.map_err(StoreError::from_sqlx)
    }

    /// [`Store::all`] for a large statement whose planning costs more than its run:
    /// PostgreSQL plans it once per connection (a generic plan, kept with the prepared
    /// statement) instead of at every execution. It runs on the store's second pool,
    /// whose connections have `plan_cache_mode = force_generic_plan` from the start, so
    /// it costs no more round trips than [`Store::all`]. Home with ten followed
    /// hashtags: planning 24 ms, running 2–5 ms (docs/benchmarks.md). SQLite plans
    /// such a statement in microseconds: a plain read there.
    pub async fn all_generic_plan<T: Row>(&self, q: Query) -> Result<Vec<T>> {
        let Some(pool) = &self.pg_generic else {
            return self.all(q).await;
        };
        let Query { sql, args } = q;
        bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args)
            .fetch_all(pool)
            .await
            .map_err(StoreError::from_sqlx)
    }

    /// Runs a read query and returns the first row, if any.
    pub async fn opt<T: Row>(&self, q: Query) -> Result<Option<T>> {
        let Query { sql, args } = q;
        let row = match &self.pools {
            Pools::Sqlite { read, .. } => {
                bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args)
                    .fetch_optional(read)
                    .await
            }
            Pools::Postgres(pool) => {
                bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args)
                    .fetch_optional(pool)
                    .await
            }
        };
        row.map_err(StoreError::from_sqlx)
    }

    /// Runs a read query that must return a row.
    pub async fn one<T: Row>(&self, q: Query) -> Result<T> {
        self.opt(q).await?.ok_or(StoreError::NotFound)
    }

    /// Runs one write statement in its own transaction; returns rows affected.
    pub async fn exec(&self, q: Query) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = tx.exec(q).await?;
        tx.commit().await?;
        Ok(n)
    }
}

impl WriteTx {
    /// Runs a statement; returns rows affected.
    pub async fn exec(&mut self, q: Query) -> Result<u64> {
        let Query { sql, args } = q;
        let r = match &mut self.inner {
            TxInner::Sqlite(t) => bind_all!(sqlx::query(AssertSqlSafe(sql)), args)
                .execute(t.conn()?)
                .await
                .map(|r| r.rows_affected()),
            TxInner::Postgres(t) => bind_all!(sqlx::query(AssertSqlSafe(sql)), args)
                .execute(&mut **t)
                .await
                .map(|r| r.rows_affected()),
        };
        self.outcome(r).await
    }

    pub async fn all<T: Row>(&mut self, q: Query) -> Result<Vec<T>> {
        let Query { sql, args } = q;
        let rows = match &mut self.inner {
            TxInner::Sqlite(t) => {
                bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args)
                    .fetch_all(t.conn()?)
                    .await
            }
            TxInner::Postgres(t) => {
                bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args)
                    .fetch_all(&mut **t)
                    .await
            }
        };
        self.outcome(rows).await
    }

    pub async fn opt<T: Row>(&mut self, q: Query) -> Result<Option<T>> {
        let Query { sql, args } = q;
        let row = match &mut self.inner {
            TxInner::Sqlite(t) => {
                bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args)
                    .fetch_optional(t.conn()?)
                    .await
            }
            TxInner::Postgres(t) => {
                bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args)
                    .fetch_optional(&mut **t)
                    .await
            }
        };
        self.outcome(row).await
    }

    pub async fn one<T: Row>(&mut self, q: Query) -> Result<T> {
        self.opt(q).await?.ok_or(StoreError::NotFound)
    }

    /// Runs SQL text with several statements and no arguments (migrations).
    pub(crate) async fn exec_script(&mut self, sql: &str) -> Result<()> {
        let sql = AssertSqlSafe(sql.to_string());
        let r = match &mut self.inner {
            TxInner::Sqlite(t) => sqlx::raw_sql(sql).execute(t.conn()?).await.map(drop),
            TxInner::Postgres(t) => sqlx::raw_sql(sql).execute(&mut **t).await.map(drop),
        };
        self.outcome(r).await
    }
}

/// `(id, n * delta)` for each id seen n times: the changes of a counter that
/// [`WriteTx::bump_status_counters`] and its kind apply.
pub fn count_each(ids: impl IntoIterator<Item = i64>, delta: i64) -> Vec<(i64, i64)> {
    let mut m: std::collections::BTreeMap<i64, i64> = Default::default();
    for id in ids {
        *m.entry(id).or_default() += delta;
    }
    m.into_iter().collect()
}

/// A single `i64` column, e.g. `SELECT count(*) AS v`.
#[derive(Debug, sqlx::FromRow)]
pub struct Scalar {
    pub v: i64,
}

/// A single optional text column named `v`.
#[derive(Debug, sqlx::FromRow)]
pub struct TextScalar {
    pub v: Option<String>,
}
