//! Two SQLite settings sqlx offers no option for, applied through the C API, and one
//! question sqlx cannot answer ([`in_transaction`]). Both settings were found with
//! `perf` under load (docs/benchmarks.md, "SQLite: re-prepared statements and a global
//! allocator lock").
//!
//! - **No memory statistics.** With `SQLITE_CONFIG_MEMSTATUS` on (the default of the
//!   bundled build), every allocation inside SQLite takes one process-wide mutex to keep
//!   statistics nobody reads; four reader threads then queue on it. It can only be
//!   switched off before SQLite initializes, so it is done once, before the first
//!   connection of the process opens.
//! - **Query planner stability (`SQLITE_DBCONFIG_ENABLE_QPSG`).** Without it, a statement
//!   whose plan *might* depend on a bound value (a `LIMIT $n`, a comparison that the
//!   planner probes with a value) is marked stale at every bind and re-parsed and
//!   re-planned at every run, which took a third of the server's CPU on the home
//!   timeline. Our statements are written for one plan; with QPSG the plan is made once
//!   per cached statement.

use std::ffi::c_int;
use std::sync::Once;

use libsqlite3_sys as ffi;

static GLOBAL: Once = Once::new();

/// Process-wide settings; call before opening the first SQLite connection. Has no effect
/// if SQLite was already initialized by someone else (it then keeps its defaults).
pub(crate) fn configure_library() {
    GLOBAL.call_once(|| {
        // SAFETY: sqlite3_config is called before any connection is opened by this
        // process (the Once runs ahead of the first open), with the argument type the
        // option documents (an int). If SQLite is already initialized it returns
        // SQLITE_MISUSE and changes nothing, which is harmless.
        let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) };
        if rc != ffi::SQLITE_OK {
            tracing::debug!(
                rc,
                "SQLite memory statistics stay on (library already initialized)"
            );
        }
    });
}

/// Per-connection settings, run right after each connection opens.
pub(crate) async fn configure_connection(
    conn: &mut sqlx::SqliteConnection,
) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is a live connection handle, held exclusively through the lock guard
    // for the duration of the call; SQLITE_DBCONFIG_ENABLE_QPSG takes an int (1: on) and
    // an optional int* for the new value (null: not wanted).
    let rc = unsafe {
        ffi::sqlite3_db_config(
            db,
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        )
    };
    if rc != ffi::SQLITE_OK {
        return Err(sqlx::Error::Configuration(
            format!("sqlite3_db_config(ENABLE_QPSG) failed with {rc}").into(),
        ));
    }
    Ok(())
}

/// Whether `conn` is inside a transaction, as SQLite itself knows it: sqlx's own count
/// misses a transaction that SQLite rolled back by itself (see `tx.rs`).
pub(crate) async fn in_transaction(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is a live connection handle, held exclusively through the lock guard
    // for the duration of the call; sqlite3_get_autocommit only reads a flag of it.
    Ok(unsafe { ffi::sqlite3_get_autocommit(db) } == 0)
}
