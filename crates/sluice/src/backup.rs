//! `sluice admin backup FILE`: a consistent copy of the SQLite database while the
//! server goes on serving (`sluice_store::backup_sqlite`: SQLite's online backup API,
//! in small steps, from one read transaction; the copy checked with
//! `PRAGMA integrity_check` before it takes its name). The database is opened as a
//! reader, never migrated and never created. A PostgreSQL database is backed up with
//! PostgreSQL's own tools: the command says how and fails. docs/operations.md,
//! "Backups", has the whole procedure and the restore.

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::Config;
use crate::config::mask_url_password;

pub async fn run(config: &Config, file: &Path) -> anyhow::Result<()> {
    let url = config.database_url();
    let media = config.media_dir();
    let Some(source) = sluice_store::sqlite_path(&url) else {
        anyhow::bail!(
            "the database is PostgreSQL ({}): back it up with PostgreSQL's tools, \
             `pg_dump --format=custom --file=sluice.dump DATABASE`, and restore it with \
             `pg_restore --no-owner --dbname=NEW_DATABASE sluice.dump` (docs/operations.md, \"Backups\"). \
             Copy the media directory ({}) as well.",
            mask_url_password(&url),
            media.display()
        );
    };
    let mut progress = Progress::new(std::io::stderr().is_terminal());
    let report = sluice_store::backup_sqlite(source, file, |done, total| {
        progress.show(done as u64, total as u64);
    })
    .await;
    progress.clear();
    let report = report?;
    println!(
        "{}: a copy of {} ({} pages, {} bytes), integrity check ok",
        file.display(),
        source.display(),
        report.pages,
        report.bytes
    );
    println!(
        "Not in it: the media files in {} (copy them too, e.g. `rsync -a {}/ DEST/media/`) \
         and the settings (sluice.toml, SLUICE_* variables, .env).",
        media.display(),
        media.display()
    );
    Ok(())
}

/// The copy's progress on one line of standard error, redrawn at most five times a
/// second, only at a terminal: `backup  1234/56789 pages  2 %  eta 31 s`. (A
/// progress-bar crate for this one line would be the binary's only use of it.)
struct Progress {
    shown: bool,
    started: Instant,
    drawn: Option<Instant>,
}

impl Progress {
    const EVERY: Duration = Duration::from_millis(200);

    fn new(shown: bool) -> Progress {
        Progress {
            shown,
            started: Instant::now(),
            drawn: None,
        }
    }

    fn show(&mut self, done: u64, total: u64) {
        if !self.shown || self.drawn.is_some_and(|t| t.elapsed() < Self::EVERY) {
            return;
        }
        self.drawn = Some(Instant::now());
        let percent = (done * 100).checked_div(total).unwrap_or(0);
        let eta = match done {
            0 => "-".to_string(),
            _ => {
                let secs = self.started.elapsed().as_secs_f64();
                let left = secs * (total.saturating_sub(done)) as f64 / done as f64;
                format!("{left:.0} s")
            }
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2Kbackup  {done:>9}/{total} pages  {percent:>3} %  eta {eta}"
        );
        let _ = err.flush();
    }

    /// Erases the line, so what follows starts on a clean one.
    fn clear(&self) {
        if self.shown && self.drawn.is_some() {
            eprint!("\r\x1b[2K");
        }
    }
}
