//! A consistent copy of a live SQLite database (`sluice admin backup`), made with
//! SQLite's online backup API (<https://sqlite.org/backup.html>), which sqlx does not
//! wrap: its calls are here, the only `unsafe` beside `sqlite_tuning.rs`.
//!
//! The copy is taken page by page, [`BACKUP_STEP_PAGES`] at a time with a pause in
//! between, so that the copy's reads share the disk with the server rather than
//! take it. All steps run inside ONE read transaction of the source: in WAL mode a
//! reader blocks no writer, so the server goes on writing, and the copy is the
//! database as it was when that transaction began. (Without it each step would read
//! the newest data, and SQLite would restart the copy from the first page after every
//! commit of the server: under steady writes it would never end.) Never a `VACUUM
//! INTO`: it holds the same read transaction but rewrites the whole database in one
//! statement.
//!
//! The source is opened as the server's readers are (`query_only`, no journal-mode
//! change, never created). The copy is written to `FILE.part`, checked with
//! `PRAGMA integrity_check`, synced, and only then renamed to `FILE`: a `FILE` that
//! exists is a complete, checked copy.

use std::ffi::{CStr, c_int};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use libsqlite3_sys as ffi;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};

use crate::{Result, SQLITE_BUSY_TIMEOUT, StoreError};

/// Pages copied per step: 1 MiB at SQLite's default 4 KiB pages, a few milliseconds of
/// reading and writing, so a step never holds the disk for long.
const BACKUP_STEP_PAGES: c_int = 256;
/// Pause after each step, so that the server's own reads and writes get the disk in
/// between. A step took about 3 ms here (tests/api/backup.rs, 20 MiB, while the server
/// wrote on): at that pace a 1 GiB database takes about 20 s.
const BACKUP_PAUSE: Duration = Duration::from_millis(2);

/// What a finished backup copied.
#[derive(Debug, Clone, Copy)]
pub struct BackupReport {
    /// Pages in the copy.
    pub pages: i64,
    /// Bytes in the copy.
    pub bytes: u64,
}

/// Copies the SQLite database at `source` into a new file `dest` (which must not
/// exist) while other processes may be writing to it; see the module documentation.
/// `progress` is called after each step with (pages copied, pages in all).
pub async fn backup_sqlite(
    source: &Path,
    dest: &Path,
    mut progress: impl FnMut(i64, i64),
) -> Result<BackupReport> {
    let fail = |what: &str| StoreError::Backup(what.to_string());
    if dest.exists() {
        return Err(fail(&format!(
            "{} exists already: name a new file for the backup",
            dest.display()
        )));
    }
    if !source.is_file() {
        return Err(fail(&format!("no database at {}", source.display())));
    }
    let part = part_path(dest);
    // A `.part` file is what an interrupted backup left: never a complete copy.
    let _ = std::fs::remove_file(&part);

    let mut src = SqliteConnectOptions::new()
        .filename(source)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .pragma("query_only", "true")
        .connect()
        .await?;
    let mut dst = SqliteConnectOptions::new()
        .filename(&part)
        .create_if_missing(true)
        .connect()
        .await?;
    let copied = copy(&mut src, &mut dst, &mut progress).await;
    src.close().await?;
    let checked = match copied {
        Ok(pages) => check(&mut dst).await.map(|()| pages),
        Err(e) => Err(e),
    };
    dst.close().await?;
    let pages = match checked {
        Ok(pages) => pages,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
    };
    let file = std::fs::File::open(&part).map_err(|e| fail(&e.to_string()))?;
    file.sync_all().map_err(|e| fail(&e.to_string()))?;
    let bytes = file.metadata().map_err(|e| fail(&e.to_string()))?.len();
    std::fs::rename(&part, dest).map_err(|e| fail(&e.to_string()))?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename is durable once the directory is.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(BackupReport { pages, bytes })
}

/// `FILE.part`, beside `FILE`.
fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

/// Copies `src` into `dst` from one read transaction of `src`; returns the pages copied.
async fn copy(
    src: &mut SqliteConnection,
    dst: &mut SqliteConnection,
    progress: &mut impl FnMut(i64, i64),
) -> Result<i64> {
    let wal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *src)
        .await?;
    // The read transaction begins with its first read. Outside WAL mode it would
    // keep every writer waiting, so there the copy restarts after writes instead.
    let snapshot = wal.eq_ignore_ascii_case("wal");
    if snapshot {
        sqlx::raw_sql("BEGIN; SELECT count(*) FROM sqlite_schema")
            .execute(&mut *src)
            .await?;
    }
    let copied = steps(src, dst, progress).await;
    if snapshot {
        sqlx::raw_sql("COMMIT").execute(&mut *src).await?;
    }
    copied
}

async fn steps(
    src: &mut SqliteConnection,
    dst: &mut SqliteConnection,
    progress: &mut impl FnMut(i64, i64),
) -> Result<i64> {
    // Both handles stay locked for the whole copy: nothing else may use either
    // connection while the backup object refers to them.
    let mut src = src.lock_handle().await?;
    let mut dst = dst.lock_handle().await?;
    let backup = Backup::init(dst.as_raw_handle().as_ptr(), src.as_raw_handle().as_ptr())?;
    let failed = |rc| StoreError::Backup(format!("the backup failed: {}", errstr(rc)));
    let mut busy_since = None;
    loop {
        let rc = backup.step(BACKUP_STEP_PAGES);
        let (remaining, total) = backup.progress();
        progress(total - remaining, total);
        match rc {
            ffi::SQLITE_DONE => {
                return match backup.finish() {
                    ffi::SQLITE_OK => Ok(total),
                    rc => Err(failed(rc)),
                };
            }
            ffi::SQLITE_OK => busy_since = None,
            // The source is locked for a moment (a writer outside WAL mode): try again
            // after the pause, for as long as a statement would wait for the lock.
            ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED => {
                if busy_since.get_or_insert_with(Instant::now).elapsed() > SQLITE_BUSY_TIMEOUT {
                    return Err(failed(rc));
                }
            }
            rc => return Err(failed(rc)),
        }
        tokio::time::sleep(BACKUP_PAUSE).await;
    }
}

/// `PRAGMA integrity_check` of the copy: every answer must be `ok`.
async fn check(dst: &mut SqliteConnection) -> Result<()> {
    let answers: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut *dst)
        .await?;
    if answers.iter().all(|a| a == "ok") {
        Ok(())
    } else {
        Err(StoreError::Backup(format!(
            "the copy fails its integrity check: {}",
            answers.join("; ")
        )))
    }
}

/// A running `sqlite3_backup`, finished when dropped (also if the copy is abandoned).
/// Used only while both connections' handles are locked by the caller (`steps`), which
/// outlive it.
struct Backup(NonNull<ffi::sqlite3_backup>);

// SAFETY: the backup object is used by one task at a time, and only while that task
// holds the locks of both connections it refers to (a future that moves between
// threads carries the locks with it).
unsafe impl Send for Backup {}

impl Backup {
    fn init(dst: *mut ffi::sqlite3, src: *mut ffi::sqlite3) -> Result<Backup> {
        // SAFETY: both handles are live and locked by the caller for as long as the
        // backup exists; the schema names are NUL-terminated literals.
        let ptr = unsafe { ffi::sqlite3_backup_init(dst, c"main".as_ptr(), src, c"main".as_ptr()) };
        NonNull::new(ptr).map(Backup).ok_or_else(|| {
            // SAFETY: `dst` is live; sqlite3_errmsg returns a NUL-terminated string
            // owned by the connection, copied here at once.
            let msg = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(dst)) };
            StoreError::Backup(format!(
                "the backup could not start: {}",
                msg.to_string_lossy()
            ))
        })
    }

    fn step(&self, pages: c_int) -> c_int {
        // SAFETY: a live backup object (see the type), its connections locked.
        unsafe { ffi::sqlite3_backup_step(self.0.as_ptr(), pages) }
    }

    /// (pages still to copy, pages in all), as of the last step.
    fn progress(&self) -> (i64, i64) {
        // SAFETY: a live backup object; both calls only read two of its counters.
        unsafe {
            (
                ffi::sqlite3_backup_remaining(self.0.as_ptr()).into(),
                ffi::sqlite3_backup_pagecount(self.0.as_ptr()).into(),
            )
        }
    }

    /// Releases the backup object; its answer is the copy's final result.
    fn finish(self) -> c_int {
        let ptr = self.0.as_ptr();
        std::mem::forget(self);
        // SAFETY: a live backup object, released here exactly once (Drop is skipped).
        unsafe { ffi::sqlite3_backup_finish(ptr) }
    }
}

impl Drop for Backup {
    fn drop(&mut self) {
        // SAFETY: a live backup object, released exactly once.
        unsafe {
            ffi::sqlite3_backup_finish(self.0.as_ptr());
        }
    }
}

/// SQLite's English text for a result code.
fn errstr(rc: c_int) -> String {
    // SAFETY: sqlite3_errstr returns a static NUL-terminated string for any code.
    unsafe { CStr::from_ptr(ffi::sqlite3_errstr(rc)) }
        .to_string_lossy()
        .into_owned()
}
