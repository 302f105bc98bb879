//! `sluice admin backup FILE`: a consistent copy of the SQLite database while the
//! server goes on serving (`sluice_store::backup_sqlite`: SQLite's online backup API,
//! in small steps, from one read transaction; the copy checked with
//! `PRAGMA integrity_check` before it takes its name). The database is opened as a
//! reader, never migrated and never created. A PostgreSQL database is backed up with
//! PostgreSQL's own tools: the command says how and fails. docs/operations.md,
//! "Backups", has the whole procedure and the restore.

use std::io::IsTerminal as _;
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    bar.set_style(
        ProgressStyle::with_template("backup [{bar:40}] {pos:>9}/{len:9} pages, eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let report = sluice_store::backup_sqlite(source, file, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .await;
    bar.finish_and_clear();
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
