//! The CSV import job (`/settings/import`): imports are rows in the database
//! (`imports`, `import_rows`), taken by one process at a time under a lease and
//! applied in batches of [`IMPORT_BATCH`] rows in order, each batch's progress
//! recorded with it, so a restarted process goes on where the last one stopped.
//! Accounts not known here are found with WebFinger through the one fetcher (SSRF
//! rules), at most one lookup per remote host every [`HOST_SPACING`]. Each row goes
//! through the engine call its API endpoint makes (a Follow through the pipeline, a
//! block, a mute, …). In `overwrite` mode, what the account has of that kind and the
//! file does not name is undone at the end, as Mastodon does.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_engine::Activity;
use sluice_engine::portability::{CsvKind, csv_flag};
use sluice_engine::rows::AccountRow;
use sluice_engine::rows::ImportRow;
use sluice_model::id::Id;
use tokio::sync::watch;

use crate::service::Federation;

/// Rows applied per batch (one progress record each).
pub const IMPORT_BATCH: i64 = 100;
/// How long a process holds an import without recording progress before another
/// may take it (a process that stops cleanly lets go at once).
pub const IMPORT_LEASE_MS: i64 = 60_000;
/// Least time between two WebFinger lookups on one remote host.
pub const HOST_SPACING: Duration = Duration::from_millis(200);
/// How often the workers look for imports made by other processes.
const IDLE: Duration = Duration::from_secs(10);

/// The last lookup per remote host, for [`HOST_SPACING`]. Bounded: hosts not seen
/// for a while are forgotten.
#[derive(Default)]
struct HostSpacing {
    last: HashMap<String, Instant>,
}

impl HostSpacing {
    async fn wait(&mut self, host: &str) {
        if self.last.len() > 10_000 {
            self.last.retain(|_, t| t.elapsed() < HOST_SPACING);
        }
        if let Some(t) = self.last.get(host) {
            let since = t.elapsed();
            if since < HOST_SPACING {
                tokio::time::sleep(HOST_SPACING - since).await;
            }
        }
        self.last.insert(host.to_ascii_lowercase(), Instant::now());
    }
}

/// Runs imports until `shutdown` changes.
pub async fn run(fed: Arc<Federation>, mut shutdown: watch::Receiver<bool>) {
    let mut spacing = HostSpacing::default();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = sluice_model::id::now_millis();
        let claimed = fed.engine.claim_import(now, now + IMPORT_LEASE_MS).await;
        match claimed {
            Ok(Some(import)) => {
                if let Err(e) = run_import(&fed, &import, &mut spacing, &shutdown).await {
                    tracing::warn!(import = import.id, error = %e, "import stopped");
                    let _ = fed.engine.release_import(import.id).await;
                    tokio::select! {
                        _ = tokio::time::sleep(IDLE) => {}
                        _ = shutdown.changed() => return,
                    }
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "reading imports failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(IDLE) => {}
            _ = fed.engine.import_wake().notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Applies an import from where it stopped to its end (or to shutdown, which lets
/// go of it for the next process).
async fn run_import(
    fed: &Federation,
    import: &ImportRow,
    spacing: &mut HostSpacing,
    shutdown: &watch::Receiver<bool>,
) -> sluice_engine::Result<()> {
    let Some(kind) = CsvKind::from_name(&import.kind) else {
        return fed.engine.finish_import(import.id).await;
    };
    let mut lists: HashMap<String, Id> = HashMap::new();
    let mut after = import.done_up_to;
    loop {
        if *shutdown.borrow() {
            fed.engine.release_import(import.id).await?;
            return Ok(());
        }
        let rows = fed
            .engine
            .import_rows_after(import.id, after, IMPORT_BATCH)
            .await?;
        let Some(last) = rows.last().map(|r| r.id) else {
            break;
        };
        let (mut ok, mut failed) = (0, 0);
        for row in &rows {
            let cells: Vec<String> = serde_json::from_str(&row.data).unwrap_or_default();
            match apply_row(fed, import.account_id, kind, &cells, &mut lists, spacing).await {
                Ok(true) => ok += 1,
                Ok(false) => failed += 1,
                Err(e) => {
                    tracing::debug!(import = import.id, error = %e, "import row not applied");
                    failed += 1;
                }
            }
        }
        let now = sluice_model::id::now_millis();
        fed.engine
            .record_import_progress(import.id, last, ok, failed, now + IMPORT_LEASE_MS)
            .await?;
        after = last;
    }
    if import.mode == "overwrite" {
        overwrite(fed, import, kind).await?;
    }
    fed.engine.finish_import(import.id).await
}

/// The account an address names: known here, or found with WebFinger (spaced per
/// host).
async fn resolve(
    fed: &Federation,
    address: &str,
    spacing: &mut HostSpacing,
) -> sluice_engine::Result<Option<AccountRow>> {
    let address = address.trim().trim_start_matches('@');
    let Some((user, host)) = address.rsplit_once('@') else {
        return Ok(None);
    };
    if user.is_empty() || host.is_empty() {
        return Ok(None);
    }
    if let Some(a) = fed.engine.account_by_acct(address).await? {
        return Ok(Some(a));
    }
    if host.eq_ignore_ascii_case(fed.engine.urls.domain()) {
        return Ok(None);
    }
    spacing.wait(host).await;
    Ok(fed.resolve_acct(address).await.ok())
}

/// Applies one row; false when it names nothing that can be applied.
async fn apply_row(
    fed: &Federation,
    me: Id,
    kind: CsvKind,
    cells: &[String],
    lists: &mut HashMap<String, Id>,
    spacing: &mut HostSpacing,
) -> sluice_engine::Result<bool> {
    let engine = &fed.engine;
    let first = cells.first().map(|c| c.trim()).unwrap_or_default();
    match kind {
        CsvKind::Following | CsvKind::Blocks | CsvKind::Mutes => {
            let Some(target) = resolve(fed, first, spacing).await? else {
                return Ok(false);
            };
            if target.id == me {
                return Ok(false);
            }
            match kind {
                CsvKind::Following => {
                    engine
                        .submit(
                            me,
                            Activity::Follow {
                                target: target.id,
                                reblogs: Some(csv_flag(cells.get(1), true)),
                                notify: Some(csv_flag(cells.get(2), false)),
                            },
                        )
                        .await?;
                }
                CsvKind::Blocks => {
                    engine
                        .submit(me, Activity::Block { target: target.id })
                        .await?;
                }
                _ => {
                    engine
                        .mute(me, target.id, csv_flag(cells.get(1), true), None)
                        .await?;
                }
            }
            Ok(true)
        }
        CsvKind::DomainBlocks => {
            engine.block_domain(me, first).await?;
            Ok(true)
        }
        CsvKind::Bookmarks => {
            let Some(status) = fed.resolve_post(first).await.ok().flatten() else {
                return Ok(false);
            };
            engine.bookmark(me, status.id, true).await?;
            Ok(true)
        }
        CsvKind::Lists => {
            let title = first;
            let Some(address) = cells.get(1) else {
                return Ok(false);
            };
            let Some(target) = resolve(fed, address, spacing).await? else {
                return Ok(false);
            };
            let list = match lists.get(title) {
                Some(id) => *id,
                None => {
                    let id = match engine
                        .lists(me)
                        .await?
                        .into_iter()
                        .find(|l| l.title == title)
                    {
                        Some(l) => l.id,
                        None => engine.create_list(me, title, None, false).await?.id,
                    };
                    lists.insert(title.to_string(), id);
                    id
                }
            };
            // A list holds only accounts its owner follows: follow first, as Mastodon
            // does.
            engine
                .submit(
                    me,
                    Activity::Follow {
                        target: target.id,
                        reblogs: None,
                        notify: None,
                    },
                )
                .await?;
            engine.add_to_list(me, list, &[target.id]).await?;
            Ok(true)
        }
        CsvKind::Followers => Ok(false),
    }
}

/// The key of an export or import row: what it names, compared case-insensitively.
fn key(kind: CsvKind, cells: &[String]) -> String {
    let cell = |i: usize| {
        cells
            .get(i)
            .map(|c| c.trim().trim_start_matches('@').to_ascii_lowercase())
            .unwrap_or_default()
    };
    match kind {
        CsvKind::Lists => format!(
            "{}\n{}",
            cells.first().map(|c| c.trim()).unwrap_or_default(),
            cell(1)
        ),
        CsvKind::Bookmarks => cells
            .first()
            .map(|c| c.trim().to_string())
            .unwrap_or_default(),
        _ => cell(0),
    }
}

/// `overwrite`: undoes what the account has of `kind` that the file does not name.
async fn overwrite(
    fed: &Federation,
    import: &ImportRow,
    kind: CsvKind,
) -> sluice_engine::Result<()> {
    let engine = &fed.engine;
    let me = import.account_id;
    let mut wanted = HashSet::new();
    let mut after = 0;
    loop {
        let rows = engine.import_rows_after(import.id, after, 1_000).await?;
        let Some(last) = rows.last().map(|r| r.id) else {
            break;
        };
        for r in rows {
            let cells: Vec<String> = serde_json::from_str(&r.data).unwrap_or_default();
            wanted.insert(key(kind, &cells));
        }
        after = last;
    }
    let mut cursor = Some((0, 0));
    while let Some(c) = cursor {
        let (rows, next) = engine.export_page(me, kind, c).await?;
        cursor = next;
        for cells in rows {
            if wanted.contains(&key(kind, &cells)) {
                continue;
            }
            let first = cells.first().cloned().unwrap_or_default();
            let account = |addr: String| async move { engine.account_by_acct(&addr).await };
            match kind {
                CsvKind::Following => {
                    if let Some(a) = account(first).await? {
                        engine
                            .submit(me, Activity::UndoFollow { target: a.id })
                            .await?;
                    }
                }
                CsvKind::Blocks => {
                    if let Some(a) = account(first).await? {
                        engine
                            .submit(me, Activity::UndoBlock { target: a.id })
                            .await?;
                    }
                }
                CsvKind::Mutes => {
                    if let Some(a) = account(first).await? {
                        engine.unmute(me, a.id).await?;
                    }
                }
                CsvKind::DomainBlocks => engine.unblock_domain(me, &first).await?,
                CsvKind::Bookmarks => {
                    if let Some(s) = engine.status_by_uri(&first).await? {
                        engine.bookmark(me, s.id, false).await?;
                    }
                }
                CsvKind::Lists => {
                    let addr = cells.get(1).cloned().unwrap_or_default();
                    let list = engine
                        .lists(me)
                        .await?
                        .into_iter()
                        .find(|l| l.title == first);
                    if let (Some(l), Some(a)) = (list, account(addr).await?) {
                        engine.remove_from_list(me, l.id, &[a.id]).await?;
                    }
                }
                CsvKind::Followers => {}
            }
        }
    }
    Ok(())
}
