//! The durable inbox queue, applied: processors claim rows of `inbox_queue` ahead with
//! a lease, apply each through [`super::apply`] (at most [`INBOX_CONCURRENCY`] at
//! once) and remove the finished ones in the next claim. Activities about one thing
//! are applied one at a time, in arrival order ([`order_key`]). A failure is retried
//! with backoff when it may pass, waited out when the database cannot write
//! ([`store_wait`]), and finished at once when applying it again would fail again.

use std::sync::Arc;
use std::time::Duration;

use sluice_engine::remote::Ignored;
use sluice_engine::rows::InboxRow;
use sluice_engine::tasks::log_if_panicked;
use sluice_model::Id;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::InboxError;
use crate::document::{self, ActivityKind, Document};
use crate::service::Federation;

/// Activities applied at once.
pub const INBOX_CONCURRENCY: usize = 32;

/// Attempts at applying one inbox activity before it is dropped (logged). An attempt
/// that fails because the database cannot write is not counted ([`store_wait`]); one
/// that fails for good ([`InboxError::is_permanent`]) is the last.
pub const INBOX_MAX_ATTEMPTS: i64 = 5;
/// The shortest and the longest wait of an activity for a database that cannot write
/// ([`store_wait`]). A second: the processors' own idle poll. A minute: an outage of
/// hours (a full disk nobody has seen yet) costs each waiting activity one failing
/// transaction a minute, and once there is room again everything waiting is applied
/// within that minute.
const STORE_WAIT_MIN: Duration = Duration::from_secs(1);
const STORE_WAIT_MAX: Duration = Duration::from_secs(60);
/// How long a processor holds a claimed inbox activity; it must outlast the fetches
/// applying it may make (each bounded by the fetcher's deadline).
const INBOX_LEASE: Duration = Duration::from_secs(120);
/// How often idle processors look at the queue (they are also woken by each receipt).
const INBOX_IDLE_POLL: Duration = Duration::from_secs(1);

/// Runs the inbox processors until `shutdown` turns true: claim queued activities,
/// apply them (at most [`INBOX_CONCURRENCY`] at once), remove them; a failure that
/// may pass is retried with backoff, up to [`INBOX_MAX_ATTEMPTS`] (a database that
/// cannot write is waited for, uncounted: [`store_wait`]), one that would fail again
/// is not. Applying in flight is finished
/// on shutdown; anything still queued is applied by the next process.
///
/// Claims are made ahead, up to [`INBOX_CLAIM_AHEAD`] rows held here, and refilled
/// when half of that is left; the rows finished since the last claim are removed in
/// the next claim's transaction. On SQLite every transaction is a turn of the single
/// writer connection, and claiming one or two rows each time a task finished cost as
/// much of it as applying them (docs/benchmarks.md, "Federation"). A row applied but
/// not yet removed when the process stops is claimed again by the next one, and
/// applying it again changes nothing (idempotent by activity id); rows claimed but not
/// started are handed back on shutdown.
///
/// A claim takes only the first queued row of each [`order_key`]: the next row about
/// the same thing is claimed once that one has left the queue (applied, or given up
/// after its retries), so it sees what the earlier one wrote.
pub async fn run_processors(fed: Arc<Federation>, mut shutdown: watch::Receiver<bool>) {
    // Each task ends with the id of its row when the row should leave the queue.
    let mut tasks: JoinSet<Option<Id>> = JoinSet::new();
    let mut ready: std::collections::VecDeque<InboxRow> = std::collections::VecDeque::new();
    let mut done: Vec<Id> = Vec::new();
    // Whether the last claim found all it asked for: there may be more waiting.
    let mut more = true;
    let mut removed_since_vacuum = 0;
    let mut vacuum: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        while let Some(r) = tasks.try_join_next() {
            done.extend(log_if_panicked("inbox activity", r).flatten());
        }
        if *shutdown.borrow() {
            break;
        }
        if ready.len() <= INBOX_CLAIM_AHEAD / 2 && (more || !done.is_empty()) {
            let want = INBOX_CLAIM_AHEAD - ready.len();
            match claim(&fed, &done, want as i64).await {
                Ok(rows) => {
                    removed_since_vacuum += done.len();
                    done.clear();
                    more = rows.len() == want;
                    ready.extend(rows);
                }
                Err(e) => {
                    more = false;
                    tracing::warn!(error = %e, "claiming inbox activities failed");
                }
            }
        }
        while tasks.len() < INBOX_CONCURRENCY
            && let Some(row) = ready.pop_front()
        {
            let fed = fed.clone();
            tasks.spawn(async move { process(&fed, row).await });
        }
        if removed_since_vacuum >= INBOX_VACUUM_EVERY
            && vacuum.as_ref().is_none_or(|v| v.is_finished())
        {
            removed_since_vacuum = 0;
            let fed = fed.clone();
            vacuum = Some(tokio::spawn(async move {
                if let Err(e) = fed.engine.vacuum_inbox_queue().await {
                    tracing::warn!(error = %e, "vacuuming the inbox queue failed");
                }
            }));
        }
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = fed.inbox_wake.notified() => more = true,
            Some(r) = tasks.join_next(), if !tasks.is_empty() => {
                done.extend(log_if_panicked("inbox activity", r).flatten())
            }
            _ = tokio::time::sleep(INBOX_IDLE_POLL) => more = true,
        }
    }
    while let Some(r) = tasks.join_next().await {
        done.extend(log_if_panicked("inbox activity", r).flatten());
    }
    let unstarted: Vec<Id> = ready.iter().map(|r| r.id).collect();
    if let Err(e) = fed.engine.finish_inbox(&done, &unstarted).await {
        tracing::warn!(error = %e, "removing applied inbox activities failed");
    }
}

/// Most claimed rows held by a process beyond those being applied.
const INBOX_CLAIM_AHEAD: usize = 2 * INBOX_CONCURRENCY;

/// Rows removed from the queue between two vacuums of it (PostgreSQL; see
/// `Store::vacuum_inbox_queue`): about every two seconds under full load.
const INBOX_VACUUM_EVERY: usize = 2_000;

/// Removes the `done` rows and claims up to `limit` more, in one transaction.
async fn claim(fed: &Federation, done: &[Id], limit: i64) -> Result<Vec<InboxRow>, InboxError> {
    let now = sluice_model::id::now_millis();
    Ok(fed
        .engine
        .claim_inbox(done, now, INBOX_LEASE.as_millis() as i64, limit)
        .await?)
}

/// Applies one claimed row. Returns its id when it should leave the queue (applied,
/// or given up); a failure to retry is rescheduled here.
///
/// The row holds the body as received (the queue outlives the process that accepted
/// it); it is parsed here once, and the parsed activity and the body are handed on
/// (the body moved into the record the engine stores, not copied).
async fn process(fed: &Federation, mut row: InboxRow) -> Option<Id> {
    let json = std::mem::take(&mut row.json);
    let result = async {
        // A suspended sender too: receiving let through only its news about itself.
        let actor = fed
            .engine
            .account_any(row.actor_id)
            .await?
            .ok_or_else(|| InboxError::Internal("the sender's account is gone".into()))?;
        let document =
            document::parse(json.as_bytes()).map_err(|e| InboxError::BadRequest(e.to_string()))?;
        // Receiving took only activities.
        let Document::Activity(activity) = document else {
            return Ok(());
        };
        super::apply(fed, &actor, &activity, json).await
    }
    .await;
    let e = match result {
        Ok(()) => return Some(row.id),
        Err(e) => e,
    };
    let now = sluice_model::id::now_millis();
    // The database could not write: nothing is wrong with the activity, which waits
    // for the database however long that takes (a full disk that nobody has seen for a
    // day must not drop what senders were told we accepted).
    let waits_for_store = matches!(e, InboxError::StoreUnavailable(_));
    if e.is_permanent() {
        // Applying it again would fail again: finished now, not retried.
        tracing::info!(activity = %row.activity_uri, error = %e, status = e.status(),
            "inbox activity refused, not applied");
        fed.engine.inbox_ignored.count(Ignored::Failed);
        return Some(row.id);
    }
    if !waits_for_store && row.attempts >= INBOX_MAX_ATTEMPTS {
        tracing::info!(activity = %row.activity_uri, error = %e, "inbox activity dropped");
        fed.engine.inbox_ignored.count(Ignored::Failed);
        return Some(row.id);
    }
    let wait = if waits_for_store {
        tracing::debug!(activity = %row.activity_uri, error = %e, "inbox activity waits for the database");
        store_wait(Duration::from_millis((now - row.received_at).max(0) as u64))
    } else {
        crate::delivery::backoff(row.attempts, row.id as u64)
    };
    let retry_at = now
        + wait
            .mul_f64(fed.settings.backoff_scale.clamp(0.0, 1.0e3))
            .as_millis() as i64;
    let outcome = fed
        .engine
        .retry_inbox(row.id, retry_at, &e.to_string(), waits_for_store)
        .await;
    if let Err(e) = outcome {
        tracing::warn!(error = %e, "recording an inbox result failed");
    }
    None
}

/// How long an activity that the database could not write waits before it is tried
/// again, having waited `waited` since it arrived: as long again (so the waits double,
/// as a backoff does, without an attempt count), within [`STORE_WAIT_MIN`] and
/// [`STORE_WAIT_MAX`].
fn store_wait(waited: Duration) -> Duration {
    waited.clamp(STORE_WAIT_MIN, STORE_WAIT_MAX)
}

/// What an activity is about, as the key that orders the inbox queue
/// ([`Engine::claim_inbox`](sluice_engine::Engine::claim_inbox): activities with one key are applied one at
/// a time, in arrival order): the object of a Create, Update or Delete (and of an
/// Add/Remove, which pin a post), the activity an Undo, Accept or Reject answers, and
/// for anything else the activity itself (so its own Undo comes after it). A group's
/// Announce of an activity (FEP-1b12) is about what that activity is about. 0 when
/// there is nothing to name. The IRI is hashed to 64 bits: the key is compact in the
/// index whatever the IRI's length, and a collision only orders two unrelated
/// activities.
pub(super) fn order_key(activity: &document::Activity) -> i64 {
    use sha2::Digest;
    let about = match activity.kind {
        ActivityKind::Create
        | ActivityKind::Update
        | ActivityKind::Delete
        | ActivityKind::Undo
        | ActivityKind::Accept
        | ActivityKind::Reject
        | ActivityKind::Add
        | ActivityKind::Remove => activity.object_ids().next(),
        ActivityKind::Announce => match activity.object_activity() {
            Some(inner) => return order_key(inner),
            None => activity.id.as_deref(),
        },
        _ => activity.id.as_deref(),
    };
    match about.filter(|a| !a.is_empty()) {
        Some(a) => {
            let hash = sha2::Sha256::digest(a.as_bytes());
            i64::from_be_bytes(hash[..8].try_into().unwrap_or_default())
        }
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key(v: serde_json::Value) -> i64 {
        let doc = document::parse(v.to_string().as_bytes()).unwrap();
        order_key(doc.as_activity().unwrap())
    }

    #[test]
    fn activities_about_one_thing_share_an_order_key() {
        let actor = "https://a.example/users/m";
        let note =
            json!({"id": "https://a.example/notes/1", "type": "Note", "attributedTo": actor});
        let create = key(
            json!({"id": "https://a.example/1/c", "type": "Create", "actor": actor, "object": note}),
        );
        let update = key(
            json!({"id": "https://a.example/1/u", "type": "Update", "actor": actor, "object": note}),
        );
        let delete = key(
            json!({"id": "https://a.example/1/d", "type": "Delete", "actor": actor,
                                "object": "https://a.example/notes/1"}),
        );
        let pin = key(
            json!({"id": "https://a.example/1/p", "type": "Add", "actor": actor,
                             "object": "https://a.example/notes/1",
                             "target": "https://a.example/users/m/featured"}),
        );
        assert_ne!(create, 0);
        assert_eq!([update, delete, pin], [create; 3]);
        // A group's Announce of the Update is about the post too.
        let group = key(json!({"id": "https://g.example/a/1", "type": "Announce",
                               "actor": "https://g.example/g",
                               "object": {"id": "https://a.example/1/u", "type": "Update",
                                          "actor": actor, "object": note}}));
        assert_eq!(group, create);

        // A boost is about itself, and its Undo (embedded or by id) about the boost.
        let boost = json!({"id": "https://a.example/b/1", "type": "Announce", "actor": actor,
                           "object": "https://z.example/notes/9"});
        let announce = key(boost.clone());
        let undo = key(
            json!({"id": "https://a.example/b/1/undo", "type": "Undo", "actor": actor,
                              "object": boost}),
        );
        let compact = key(json!({"id": "https://a.example/b/1/undo2", "type": "Undo",
                                 "actor": actor, "object": "https://a.example/b/1"}));
        assert_eq!([undo, compact], [announce; 2]);
        assert_ne!(announce, create);
        // Two boosts of one post are independent.
        let other = key(
            json!({"id": "https://a.example/b/2", "type": "Announce", "actor": actor,
                               "object": "https://z.example/notes/9"}),
        );
        assert_ne!(other, announce);
        // Nothing to name: no order.
        assert_eq!(
            key(json!({"type": "Like", "actor": actor, "object": "https://z.example/n"})),
            0
        );
    }
}
