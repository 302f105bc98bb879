//! The inbox: verify who sent an activity, answer quickly, apply it on a bounded queue.
//!
//! A POST to `/inbox` or `/users/:name/inbox` is checked in the request: HTTP
//! signature (cavage or RFC 9421), digest, date window; the signing key is looked up,
//! or its actor fetched, and fetched again once if verification fails (key rotation);
//! the key's owner must be the activity's actor, or on the same origin. Then the
//! activity is parsed and put on a bounded queue, and the answer is `202 Accepted`.
//! When the queue is full the answer is `503` with `Retry-After`: the sender keeps it
//! and retries, nothing grows without bound.
//!
//! The queue is a table (`inbox_queue`), written before the 202: an accepted activity
//! is applied even if the process stops first. Processors (bounded concurrency) claim
//! rows with a lease and apply them through the engine's remote functions, which are
//! idempotent by activity id. Activities about one thing (a post and its Update, a
//! boost and its Undo) are applied one at a time in arrival order ([`order_key`]), and
//! those that arrive out of order anyway (a sender's retries reorder deliveries) still
//! end where the sender meant: an Update of an unknown post stores it, an Undo of an
//! activity not yet arrived is remembered, a Delete leaves a tombstone.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::HeaderMap;
use sluice_engine::remote::{Ignored, RemoteActivity, RemoteNote};
use sluice_engine::tasks::log_if_panicked;
use sluice_engine::{Engine, EngineError};
use sluice_model::content::sanitize_html;
use sluice_store::{AccountRow, Id, InboxRow, KeyRow, NewInboxActivity, RemoteActor};
use tokio::sync::watch;
use tokio::task::JoinSet;
use url::Url;

use crate::document::{
    self, Activity, ActivityKind, Actor, Document, Object, ObjectKind, Ref, same_origin,
};
use crate::fetch::FetchError;
use crate::keys::PublicKey;
use crate::service::Federation;
use crate::signatures::{TargetScheme, VerifyLimits, parse_request};

/// Largest inbox body accepted (the parser's own cap is the same).
pub const MAX_INBOX_BODY: usize = 1024 * 1024;
/// Activities accepted but not yet applied, at most (then 503).
pub const INBOX_QUEUE: usize = 1_000;
/// Activities applied at once.
pub const INBOX_CONCURRENCY: usize = 32;
/// What a full queue tells the sender to wait.
pub const INBOX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Why an inbox POST was refused; `status()` is the HTTP answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InboxError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the activity is larger than {MAX_INBOX_BODY} bytes")]
    TooLarge,
    #[error("{0}")]
    Forbidden(String),
    #[error("the inbox is busy, retry later")]
    Busy,
    /// Something we needed (a key, an actor) could not be fetched for now: the sender
    /// (or our own queue) tries again later.
    #[error("{0}")]
    Unavailable(String),
    /// The database cannot write now (a full disk, a lost connection: the store's
    /// `StoreError::Unavailable`): the sender tries again later, and an activity
    /// already queued waits for the database without using up its attempts.
    #[error("{0}")]
    StoreUnavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl InboxError {
    pub fn status(&self) -> u16 {
        match self {
            InboxError::Unauthorized(_) => 401,
            InboxError::BadRequest(_) => 400,
            InboxError::TooLarge => 413,
            InboxError::Forbidden(_) => 403,
            InboxError::Busy | InboxError::Unavailable(_) | InboxError::StoreUnavailable(_) => 503,
            InboxError::Internal(_) => 500,
        }
    }

    /// Whether the sender should try again later (503 with `Retry-After`): nothing is
    /// wrong with what it sent.
    pub fn retry_later(&self) -> bool {
        matches!(
            self,
            InboxError::Busy | InboxError::Unavailable(_) | InboxError::StoreUnavailable(_)
        )
    }
}

impl From<EngineError> for InboxError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(e) => e.into(),
            e => InboxError::Internal(e.to_string()),
        }
    }
}

impl From<sluice_store::StoreError> for InboxError {
    fn from(e: sluice_store::StoreError) -> Self {
        match e {
            // A full disk, a lost connection: the sender keeps the activity and retries.
            sluice_store::StoreError::Unavailable(_) => InboxError::StoreUnavailable(e.to_string()),
            e => InboxError::Internal(e.to_string()),
        }
    }
}

/// Attempts at applying one inbox activity before it is dropped (logged). An attempt
/// that fails because the database cannot write is not counted ([`store_wait`]).
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
/// apply them (at most [`INBOX_CONCURRENCY`] at once), remove them; a failure is
/// retried with backoff, up to [`INBOX_MAX_ATTEMPTS`] (a database that cannot write is
/// waited for, uncounted: [`store_wait`]). Applying in flight is finished
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
                if let Err(e) = fed.engine.store.vacuum_inbox_queue().await {
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
    let finish = async {
        let mut tx = fed.engine.store.begin().await?;
        tx.inbox_done_many(&done).await?;
        tx.inbox_release(&unstarted).await?;
        tx.commit().await?;
        Ok::<(), InboxError>(())
    };
    if let Err(e) = finish.await {
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
    let mut tx = fed.engine.store.begin().await?;
    tx.inbox_done_many(done).await?;
    let rows = tx
        .claim_inbox(now, INBOX_LEASE.as_millis() as i64, limit)
        .await?;
    tx.commit().await?;
    Ok(rows)
}

/// Applies one claimed row. Returns its id when it should leave the queue (applied,
/// or given up); a failure to retry is rescheduled here.
async fn process(fed: &Federation, row: InboxRow) -> Option<Id> {
    let result = async {
        let actor = fed
            .engine
            .store
            .account(row.actor_id)
            .await?
            .ok_or_else(|| InboxError::Internal("the sender's account is gone".into()))?;
        let document = document::parse(row.json.as_bytes())
            .map_err(|e| InboxError::BadRequest(e.to_string()))?;
        apply(fed, &actor, &document, &row.json).await
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
    if !waits_for_store && (row.attempts >= INBOX_MAX_ATTEMPTS || e.status() < 500) {
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
    let outcome = async {
        let mut tx = fed.engine.store.begin().await?;
        if waits_for_store {
            tx.inbox_postpone(row.id, retry_at, &e.to_string()).await?;
        } else {
            tx.inbox_retry(row.id, retry_at, &e.to_string()).await?;
        }
        tx.commit().await?;
        Ok::<(), InboxError>(())
    }
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

/// Most activities written to the queue in one statement.
const ENQUEUE_BATCH: usize = 64;
/// Most bytes of activity JSON written to the queue in one statement.
const ENQUEUE_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Group commit for the inbox queue. Verified activities from concurrent requests are
/// queued together, in one statement per batch ([`Store::enqueue_inbox_batch`]):
/// on SQLite each statement takes the single writer connection, and per-statement
/// hand-offs, not the work itself, were what bounded the inbox (docs/benchmarks.md,
/// "Federation"). The first request that finds no batch being written starts a task
/// that writes batches until none is waiting; the others wait for its answer. Each
/// request still gets its 202 only once its own row is committed. The writer is a
/// spawned task, so a request dropped by its client (cancelled) cannot strand the
/// others.
///
/// [`Store::enqueue_inbox_batch`]: sluice_store::Store::enqueue_inbox_batch
#[derive(Default)]
pub(crate) struct InboxBatcher {
    state: Arc<std::sync::Mutex<BatchState>>,
}

type Waiter = tokio::sync::oneshot::Sender<Result<bool, InboxError>>;

#[derive(Default)]
struct BatchState {
    waiting: Vec<(NewInboxActivity, Waiter)>,
    writing: bool,
}

/// Ends a writer task that stops abnormally (a panic): the next request can start
/// another, and requests still waiting get an error instead of hanging. A writer that
/// finds nothing waiting marks itself stopped in [`take_batch`] and disarms this.
struct WriterGuard(Option<Arc<std::sync::Mutex<BatchState>>>);

impl Drop for WriterGuard {
    fn drop(&mut self) {
        let Some(state) = self.0.take() else {
            return;
        };
        let mut state = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.writing = false;
        state.waiting.clear();
    }
}

impl InboxBatcher {
    async fn enqueue(
        &self,
        engine: &Arc<Engine>,
        item: NewInboxActivity,
    ) -> Result<bool, InboxError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let start = {
            let mut state = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.waiting.push((item, tx));
            !std::mem::replace(&mut state.writing, true)
        };
        if start {
            let state = self.state.clone();
            let engine = engine.clone();
            tokio::spawn(async move {
                let mut guard = WriterGuard(Some(state.clone()));
                loop {
                    let batch = take_batch(&state);
                    if batch.is_empty() {
                        guard.0 = None;
                        break;
                    }
                    let (items, waiters): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                    let result = engine
                        .store
                        .enqueue_inbox_batch(&items, INBOX_QUEUE as i64)
                        .await
                        .map_err(InboxError::from);
                    for w in waiters {
                        let _ = w.send(result.clone());
                    }
                }
            });
        }
        match rx.await {
            Ok(Ok(queued)) => Ok(queued),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(InboxError::Internal(
                "the inbox queue writer stopped".into(),
            )),
        }
    }
}

/// The next batch to write (oldest first), bounded in rows and bytes; empty (and the
/// writer marked stopped, under the same lock) when nothing waits.
fn take_batch(state: &std::sync::Mutex<BatchState>) -> Vec<(NewInboxActivity, Waiter)> {
    let mut state = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut bytes = 0;
    let mut n = 0;
    for (item, _) in &state.waiting {
        if n == ENQUEUE_BATCH || (n > 0 && bytes + item.json.len() > ENQUEUE_BATCH_BYTES) {
            break;
        }
        bytes += item.json.len();
        n += 1;
    }
    if n == 0 {
        state.writing = false;
    }
    state.waiting.drain(..n).collect()
}

impl Federation {
    /// Verifies and queues an inbox POST. `path_and_query` is the request target as
    /// received.
    pub async fn receive(
        self: &Arc<Self>,
        path_and_query: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), InboxError> {
        if body.len() > MAX_INBOX_BODY {
            return Err(InboxError::TooLarge);
        }
        // A full queue is refused before any other work (where that check is cheap:
        // see `Store::inbox_full`). Under overload most requests are refused, and a
        // refusal that first verified the signature and looked up the key, the actor
        // and the activity took the CPU and the database from the processors that make
        // room (SQLite, twice the load offered: 600 stored per second instead of 790;
        // docs/benchmarks.md, "Federation").
        if self.engine.store.inbox_full(INBOX_QUEUE as i64).await? {
            return Err(InboxError::Busy);
        }
        let limits = VerifyLimits {
            target_scheme: if self.engine.urls.base().starts_with("http://") {
                TargetScheme::Http
            } else {
                TargetScheme::Https
            },
            ..VerifyLimits::default()
        };
        let pending = parse_request(
            &Method::POST,
            path_and_query,
            headers,
            Some(body),
            SystemTime::now(),
            &limits,
        )
        .map_err(|e| match e.status() {
            400 => InboxError::BadRequest(e.message()),
            _ => InboxError::Unauthorized(e.message()),
        })?;
        let doc = document::parse(body).map_err(|e| InboxError::BadRequest(e.to_string()))?;
        let Some(activity) = doc.as_activity() else {
            return Err(InboxError::BadRequest("not an activity".into()));
        };
        let actor_uri = activity
            .actor
            .as_ref()
            .and_then(|r| r.id())
            .ok_or_else(|| InboxError::BadRequest("the activity has no actor".into()))?
            .to_string();
        if self.is_suspended(&actor_uri).await? {
            // Accepted and dropped, as Mastodon does: the sender need not retry.
            return Ok(());
        }
        let key = self.verified_key(&pending).await?;
        let signer = self
            .engine
            .store
            .account(key.account_id)
            .await?
            .ok_or_else(|| InboxError::Unauthorized("the key's owner is unknown".into()))?;
        let actor = if signer.uri == actor_uri {
            signer
        } else if same_origin(&signer.uri, &actor_uri) {
            self.resolve_actor(&actor_uri, false).await?
        } else {
            return Err(InboxError::Unauthorized(
                "the signing key does not belong to the activity's actor".into(),
            ));
        };
        if actor.is_local() {
            return Err(InboxError::Unauthorized(
                "our own actors' activities are not taken from another server".into(),
            ));
        }
        // An activity's id is taken only from its actor's server: ids are unique here,
        // and an id from elsewhere (one of ours, or a third server's) would make the
        // activity that really has it a "repeat", ignored when it comes.
        if let Some(id) = doc.id()
            && !same_origin(id, &actor.uri)
        {
            return Err(InboxError::BadRequest(
                "the activity's id is not on its actor's server".into(),
            ));
        }
        if let Some(name) = personal_inbox(path_and_query)
            && activity.kind == ActivityKind::Create
            && let Some(o) = activity.embedded_object().and_then(Document::as_object)
        {
            self.note_blind_copy(name, &actor, o).await?;
        }
        // Idempotent: a repeat of a stored activity is accepted and ignored.
        if let Some(id) = doc.id()
            && self.engine.store.activity_exists(id).await?
        {
            return Ok(());
        }
        let now = sluice_model::id::now_millis();
        let queued = self
            .inbox_batch
            .enqueue(
                &self.engine,
                NewInboxActivity {
                    id: self.engine.ids.next_at(now),
                    actor_id: actor.id,
                    activity_uri: doc.id().unwrap_or_default().to_string(),
                    json: String::from_utf8_lossy(body).into_owned(),
                    received_at: now,
                    order_key: order_key(activity),
                },
            )
            .await?;
        if !queued {
            return Err(InboxError::Busy);
        }
        self.inbox_wake.notify_one();
        Ok(())
    }

    /// The key that made `pending`'s signature, after checking it: looked up, or
    /// fetched with its actor when unknown; fetched again once when a stored key does
    /// not verify (the actor may have rotated it).
    pub(crate) async fn verified_key(
        &self,
        pending: &crate::signatures::PendingSignature,
    ) -> Result<KeyRow, InboxError> {
        let key_id = pending.key_id();
        let (key, fresh) = match self.engine.store.key(key_id).await? {
            Some(k) => (k, false),
            None => (self.fetch_key(key_id, false).await?, true),
        };
        if verify(pending, &key).is_ok() {
            return Ok(key);
        }
        let refused = || InboxError::Unauthorized("the signature does not verify".into());
        if fresh {
            return Err(refused());
        }
        let key = self.fetch_key(key_id, true).await?;
        verify(pending, &key).map_err(|_| refused())?;
        Ok(key)
    }

    async fn is_suspended(&self, uri: &str) -> Result<bool, InboxError> {
        let Some(host) = Url::parse(uri)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
        else {
            return Ok(false);
        };
        Ok(self.engine.store.host_suspended(&host).await?)
    }

    /// Fetches the actor that owns `key_id` and stores it with its keys; returns the key.
    async fn fetch_key(&self, key_id: &str, fresh: bool) -> Result<KeyRow, InboxError> {
        let mut url = Url::parse(key_id)
            .map_err(|_| InboxError::Unauthorized("the keyId is not a URL".into()))?;
        url.set_fragment(None);
        let account = self.resolve_actor(url.as_str(), fresh).await?;
        self.engine
            .store
            .key(key_id)
            .await?
            .filter(|k| k.account_id == account.id)
            .ok_or_else(|| {
                InboxError::Unauthorized("the key's actor does not publish that key".into())
            })
    }

    /// Fetches a remote actor document and stores (or refreshes) the account and its
    /// keys. Known actors fetched within the last day are returned from the database
    /// unless `fresh`.
    pub async fn resolve_actor(&self, uri: &str, fresh: bool) -> Result<AccountRow, InboxError> {
        // Our own actors are never fetched (nor refreshed from what a fetch returns).
        if self.is_local_uri(uri) {
            return local_account(&self.engine, uri)
                .await?
                .ok_or_else(|| InboxError::BadRequest(format!("{uri}: no such actor here")));
        }
        if !fresh
            && let Some(a) = self.engine.store.account_by_uri(uri).await?
            && (a.is_local()
                || a.fetched_at.is_some_and(|t| {
                    sluice_model::id::now_millis() - t < ACTOR_REFRESH.as_millis() as i64
                }))
        {
            return Ok(a);
        }
        let url = Url::parse(uri).map_err(|_| InboxError::BadRequest("not a URL".into()))?;
        let fetched = self
            .get_json(&url, fresh)
            .await
            .map_err(|e| fetch_failed(uri, &e))?;
        let doc = document::parse(fetched.bytes())
            .map_err(|e| InboxError::Unauthorized(format!("{uri}: {e}")))?;
        let Some(actor) = doc.as_actor() else {
            return Err(InboxError::Unauthorized(format!("{uri} is not an actor")));
        };
        if !same_origin(&actor.id, fetched.url.as_str()) {
            return Err(InboxError::Unauthorized(format!(
                "{uri}: the actor's id is on another host"
            )));
        }
        self.store_actor(actor).await
    }

    /// Stores a remote actor and the keys it owns on its own server. Remote data never
    /// writes rows of our own actors: an actor document with an id on our server is
    /// refused, and keys listed with ids elsewhere are left out.
    async fn store_actor(&self, actor: &Actor) -> Result<AccountRow, InboxError> {
        if self.is_local_uri(&actor.id) {
            return Err(InboxError::Unauthorized(format!(
                "{}: our own actors do not come from another server",
                actor.id
            )));
        }
        let remote = remote_actor(actor)
            .ok_or_else(|| InboxError::BadRequest("the actor has no inbox or name".into()))?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.engine.store.begin().await?;
        let id = tx
            .upsert_remote_actor(self.engine.ids.next(), &remote, now)
            .await?;
        for k in actor.own_keys() {
            let (Some(key_id), Some(pem)) = (&k.id, &k.pem) else {
                continue;
            };
            tx.upsert_key(&KeyRow {
                key_id: key_id.clone(),
                account_id: id,
                public_key_pem: pem.clone(),
                private_key_pem: None,
                created_at: now,
                fetched_at: now,
            })
            .await?;
        }
        tx.commit().await?;
        self.engine.forget_accounts(&[id]);
        self.engine
            .store
            .account(id)
            .await?
            .ok_or_else(|| InboxError::Internal("the stored actor vanished".into()))
    }

    /// Finds `user@domain` through WebFinger and stores the actor it names.
    pub async fn resolve_acct(&self, acct: &str) -> Result<AccountRow, InboxError> {
        let acct = acct.trim().trim_start_matches('@');
        let (user, domain) = acct
            .rsplit_once('@')
            .filter(|(u, d)| !u.is_empty() && !d.is_empty())
            .ok_or_else(|| InboxError::BadRequest("expected user@domain".into()))?;
        if let Some(a) = self.engine.store.account_by_acct(user, domain).await? {
            return Ok(a);
        }
        let mut schemes = vec!["https"];
        if self.settings.allow_http {
            schemes.push("http");
        }
        let mut last = String::new();
        for scheme in schemes {
            let Ok(mut url) = Url::parse(&format!("{scheme}://{domain}/.well-known/webfinger"))
            else {
                return Err(InboxError::BadRequest("not a domain".into()));
            };
            url.query_pairs_mut()
                .append_pair("resource", &format!("acct:{user}@{domain}"));
            match self.get_json(&url, false).await {
                Ok(f) => {
                    let jrd: serde_json::Value = f
                        .json()
                        .map_err(|e| InboxError::BadRequest(format!("WebFinger: {e}")))?;
                    let href = jrd["links"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|l| {
                            l["rel"] == "self"
                                && l["type"].as_str().is_some_and(|t| {
                                    t.starts_with("application/activity+json")
                                        || t.starts_with("application/ld+json")
                                })
                        })
                        .and_then(|l| l["href"].as_str())
                        .ok_or_else(|| InboxError::BadRequest("WebFinger names no actor".into()))?
                        .to_string();
                    return self.resolve_actor(&href, false).await;
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(InboxError::BadRequest(format!(
            "WebFinger for {acct}: {last}"
        )))
    }
}

/// A failed fetch as an inbox error: a passing trouble (timeout, 5xx, 429, no
/// connection) can be retried (503); anything else (404, 410, refused address, not
/// JSON) cannot, and the activity that needed it is refused (401).
pub(crate) fn fetch_failed(uri: &str, e: &crate::fetch::FetchError) -> InboxError {
    let message = format!("fetching {uri}: {e}");
    if e.is_retryable() {
        InboxError::Unavailable(message)
    } else {
        InboxError::Unauthorized(message)
    }
}

/// How long a fetched actor document is trusted before it is fetched again.
pub const ACTOR_REFRESH: Duration = Duration::from_secs(24 * 3600);

fn verify(pending: &crate::signatures::PendingSignature, key: &KeyRow) -> Result<(), String> {
    let public = PublicKey::from_pem(&key.public_key_pem).map_err(|e| e.to_string())?;
    pending.verify(&public).map_err(|e| e.message())
}

/// The account fields of a parsed actor; None when it cannot be an account (no inbox,
/// no usable name).
fn remote_actor(a: &Actor) -> Option<RemoteActor> {
    let url = Url::parse(&a.id).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let domain = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    };
    let username = a
        .preferred_username
        .clone()
        .filter(|u| !u.is_empty() && u.len() <= 100)
        .or_else(|| {
            url.path_segments()?
                .next_back()
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })?;
    let inbox = a.inbox.clone()?;
    let fields: Vec<serde_json::Value> = a
        .fields
        .iter()
        .map(|f| {
            serde_json::json!({
                "name": field_name_text(&f.name),
                "value": sanitize_html(&f.value),
            })
        })
        .collect();
    Some(RemoteActor {
        uri: a.id.clone(),
        username,
        domain,
        actor_type: a.kind.as_str().to_string(),
        display_name: a.name.clone().unwrap_or_default(),
        note: sanitize_html(a.summary.as_deref().unwrap_or_default()),
        url: a.url.clone().unwrap_or_else(|| a.id.clone()),
        inbox_url: inbox,
        shared_inbox_url: a.shared_inbox.clone().unwrap_or_default(),
        outbox_url: a.outbox.clone().unwrap_or_default(),
        followers_url: a.followers.clone().unwrap_or_default(),
        following_url: a.following.clone().unwrap_or_default(),
        featured_url: a.featured.clone().unwrap_or_default(),
        avatar_url: a.icon.as_ref().map(|i| i.url.clone()).unwrap_or_default(),
        header_url: a.image.as_ref().map(|i| i.url.clone()).unwrap_or_default(),
        locked: a.manually_approves_followers,
        bot: a.is_bot(),
        discoverable: a.discoverable.unwrap_or(false),
        indexable: a.indexable.unwrap_or(false),
        fields: serde_json::to_string(&fields).unwrap_or_else(|_| "[]".into()),
        also_known_as: serde_json::to_string(&a.also_known_as).unwrap_or_else(|_| "[]".into()),
        created_at: a
            .published
            .map(|t| t.0)
            .unwrap_or_else(sluice_model::id::now_millis),
    })
}

/// A remote profile field's name as stored and shown: plain text, as Mastodon's
/// clients treat it (they escape it themselves). What a server sends there is read as
/// HTML all the same, since some send markup or character references: tags dropped,
/// references decoded, on one line.
fn field_name_text(name: &str) -> String {
    sluice_model::content::html_to_plain(name)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Applies one verified activity.
async fn apply(
    fed: &Federation,
    actor: &AccountRow,
    document: &Document,
    json: &str,
) -> Result<(), InboxError> {
    let engine: &Engine = &fed.engine;
    let Some(activity) = document.as_activity() else {
        return Ok(());
    };
    let record = RemoteActivity {
        uri: activity.id.clone().unwrap_or_else(|| transient_uri(engine)),
        kind: activity.type_name.clone(),
        object_uri: activity.object_ids().next().unwrap_or_default().to_string(),
        to: activity.audience.to.clone(),
        cc: activity.audience.cc.clone(),
        json: json.to_string(),
    };
    match activity.kind {
        ActivityKind::Follow => match local_account(engine, &record.object_uri).await? {
            Some(target) => {
                engine.remote_follow(actor, &record, &target).await?;
            }
            None => {
                engine
                    .remote_ignored(actor, &record, Ignored::UnknownObject)
                    .await?;
            }
        },
        ActivityKind::Undo => {
            let Some(inner) = activity.object_activity() else {
                // Only the id of what is undone: a Like or Announce we stored by id.
                undo_by_id(engine, actor, &record).await?;
                return Ok(());
            };
            let inner_object = inner.object_ids().next().unwrap_or_default().to_string();
            match inner.kind {
                ActivityKind::Follow => match local_account(engine, &inner_object).await? {
                    Some(target) => {
                        engine.remote_undo_follow(actor, &record, &target).await?;
                    }
                    None => {
                        engine
                            .remote_ignored(actor, &record, Ignored::UnknownObject)
                            .await?;
                    }
                },
                ActivityKind::Like | ActivityKind::EmojiReact => {
                    engine
                        .remote_undo_like(actor, &record, &inner_object)
                        .await?;
                }
                ActivityKind::Announce => {
                    let id = inner.id.clone().unwrap_or_default();
                    engine.remote_undo_announce(actor, &record, &id).await?;
                }
                ActivityKind::Block => match local_account(engine, &inner_object).await? {
                    Some(target) => {
                        engine.remote_block(actor, &record, &target, true).await?;
                    }
                    None => {
                        engine
                            .remote_ignored(actor, &record, Ignored::UnknownObject)
                            .await?;
                    }
                },
                _ => {
                    engine
                        .remote_ignored(actor, &record, Ignored::UnsupportedType)
                        .await?;
                }
            }
        }
        ActivityKind::Accept | ActivityKind::Reject => {
            // The Follow it answers: embedded (actor = our follower), or only its id,
            // which we minted as `<follower>#follows/<n>`.
            let follower_uri = match activity.object_activity() {
                Some(inner) => inner
                    .actor
                    .as_ref()
                    .and_then(|r| r.id())
                    .unwrap_or_default()
                    .to_string(),
                None => record
                    .object_uri
                    .split_once("#follows/")
                    .map(|(a, _)| a.to_string())
                    .unwrap_or_default(),
            };
            match local_account(engine, &follower_uri).await? {
                Some(follower) => {
                    engine
                        .remote_follow_answered(
                            actor,
                            &record,
                            &follower,
                            activity.kind == ActivityKind::Accept,
                        )
                        .await?;
                }
                None => {
                    engine
                        .remote_ignored(actor, &record, Ignored::UnknownObject)
                        .await?;
                }
            }
        }
        ActivityKind::Create => {
            let note = match activity.embedded_object() {
                Some(Document::Object(o)) => remote_note(actor, o).await,
                Some(_) => Err(Ignored::UnsupportedObject),
                None => Err(Ignored::NoObject),
            };
            match note {
                Ok(note) => create_note(fed, actor, &record, &note).await?,
                Err(reason) => {
                    engine.remote_ignored(actor, &record, reason).await?;
                }
            }
        }
        ActivityKind::Update => match activity.embedded_object() {
            Some(Document::Actor(a)) if a.id == actor.uri => {
                fed.store_actor(a).await?;
                engine.remote_record(actor, &record).await?;
            }
            Some(Document::Object(o)) => match remote_note(actor, o).await {
                Ok(note) => update_note(fed, actor, &record, &note).await?,
                Err(reason) => {
                    engine.remote_ignored(actor, &record, reason).await?;
                }
            },
            // Only the post's id: its current state is fetched from its origin.
            None if same_origin(&record.object_uri, &actor.uri) => {
                match fed.fetch_post(&record.object_uri, true).await? {
                    Some((author, o)) if author.id == actor.id => {
                        match remote_note(actor, &o).await {
                            Ok(note) => update_note(fed, actor, &record, &note).await?,
                            Err(reason) => {
                                engine.remote_ignored(actor, &record, reason).await?;
                            }
                        }
                    }
                    Some(_) => {
                        engine
                            .remote_ignored(actor, &record, Ignored::NotAuthor)
                            .await?;
                    }
                    None => {
                        engine
                            .remote_ignored(actor, &record, Ignored::UnknownObject)
                            .await?;
                    }
                }
            }
            Some(Document::Actor(_)) => {
                engine
                    .remote_ignored(actor, &record, Ignored::NotAuthor)
                    .await?;
            }
            Some(_) => {
                engine
                    .remote_ignored(actor, &record, Ignored::UnsupportedObject)
                    .await?;
            }
            None if record.object_uri.is_empty() => {
                engine
                    .remote_ignored(actor, &record, Ignored::NoObject)
                    .await?;
            }
            None => {
                engine
                    .remote_ignored(actor, &record, Ignored::ForeignId)
                    .await?;
            }
        },
        ActivityKind::Delete => {
            if record.object_uri == actor.uri {
                engine.remote_delete_actor(actor, &record).await?;
                return Ok(());
            }
            engine
                .remote_delete_note(actor, &record, &record.object_uri)
                .await?;
        }
        ActivityKind::Like | ActivityKind::EmojiReact => {
            engine
                .remote_like(actor, &record, &record.object_uri)
                .await?;
        }
        ActivityKind::Move => {
            // Only the actor itself may move, and only to an account that names it
            // among its aliases (checked on a fresh copy of the target).
            let target_uri = activity.target_id().unwrap_or_default().to_string();
            if record.object_uri != actor.uri || target_uri.is_empty() {
                engine
                    .remote_ignored(actor, &record, Ignored::MoveRefused)
                    .await?;
                return Ok(());
            }
            let target = fed.resolve_actor(&target_uri, true).await?;
            let aliases: Vec<String> =
                serde_json::from_str(&target.also_known_as).unwrap_or_default();
            if aliases.contains(&actor.uri) {
                engine.remote_move(actor, &record, &target).await?;
            } else {
                engine
                    .remote_ignored(actor, &record, Ignored::MoveRefused)
                    .await?;
            }
        }
        ActivityKind::Announce => match activity.object_activity() {
            Some(inner) => apply_announced(fed, actor, &record, activity, inner).await?,
            None => {
                engine
                    .remote_announce(
                        actor,
                        &record,
                        &record.object_uri,
                        activity.published.map(|t| t.0),
                    )
                    .await?;
            }
        },
        ActivityKind::Add | ActivityKind::Remove => {
            // A pin or an unpin when the collection is the actor's own `featured`;
            // Adds to anything else (a Lemmy community's moderators, say) are only
            // recorded.
            let to_featured = !actor.featured_url.is_empty()
                && activity.target_id() == Some(actor.featured_url.as_str());
            if to_featured {
                engine
                    .remote_pin(
                        actor,
                        &record,
                        &record.object_uri,
                        activity.kind == ActivityKind::Add,
                    )
                    .await?;
            } else {
                engine
                    .remote_ignored(actor, &record, Ignored::OtherCollection)
                    .await?;
            }
        }
        ActivityKind::Block => match local_account(engine, &record.object_uri).await? {
            Some(target) => {
                engine.remote_block(actor, &record, &target, false).await?;
            }
            None => {
                engine
                    .remote_ignored(actor, &record, Ignored::UnknownObject)
                    .await?;
            }
        },
        ActivityKind::Flag => {
            // The object lists the reported account and some of its posts.
            let mut target = None;
            let mut posts = Vec::new();
            for id in activity.object_ids() {
                match local_account(engine, id).await? {
                    Some(a) if target.is_none() => target = Some(a),
                    _ => posts.push(id.to_string()),
                }
            }
            if target.is_none()
                && let Some(first) = posts.first()
                && let Some(s) = engine.store.status_by_uri(first).await?
                && let Some(a) = engine.store.account(s.account_id).await?
                && a.is_local()
            {
                target = Some(a);
            }
            match target {
                Some(t) => {
                    let comment = activity.content.clone().unwrap_or_default();
                    engine
                        .remote_flag(actor, &record, &t, &posts, &comment)
                        .await?;
                }
                None => {
                    engine
                        .remote_ignored(actor, &record, Ignored::UnknownObject)
                        .await?;
                }
            }
        }
        _ => {
            engine
                .remote_ignored(actor, &record, Ignored::UnsupportedType)
                .await?;
        }
    }
    Ok(())
}

/// `Undo` naming only the id of what it undoes: a Like or an Announce we stored.
async fn undo_by_id(
    engine: &Engine,
    actor: &AccountRow,
    record: &RemoteActivity,
) -> Result<(), InboxError> {
    if let Some(reblog) = engine.store.status_by_uri(&record.object_uri).await?
        && reblog.reblog_of_id.is_some()
    {
        engine
            .remote_undo_announce(actor, record, &record.object_uri)
            .await?;
        return Ok(());
    }
    match engine.store.favourite_by_uri(&record.object_uri).await? {
        Some(status_uri) => {
            engine.remote_undo_like(actor, record, &status_uri).await?;
        }
        None => {
            engine.remote_undo_missing(actor, record).await?;
        }
    }
    Ok(())
}

/// Stores a new remote post (a Create's, or an Update's of a post we did not have).
async fn create_note(
    fed: &Federation,
    actor: &AccountRow,
    record: &RemoteActivity,
    note: &RemoteNote,
) -> Result<(), InboxError> {
    let engine = &fed.engine;
    // A reply to a post we do not have: fetch the thread above it first.
    if let Some(parent) = &note.in_reply_to {
        fed.backfill(parent, &mut crate::backfill::Budget::new())
            .await;
    }
    engine.remote_create_note(actor, record, note).await?;
    // Blind copies are recorded only of posts not public or unlisted: the others cost
    // no lookup here.
    if !matches!(
        sluice_engine::remote::visibility_of(&note.to, &note.cc, &actor.followers_url),
        sluice_model::Visibility::Public | sluice_model::Visibility::Unlisted
    ) {
        engine.apply_blind_copies(&note.uri).await?;
    }
    Ok(())
}

/// Applies an Update of one of the actor's posts. A post we do not have is stored as
/// its Create would have stored it (the Create is late: a sender's retries reorder
/// deliveries; or it never came): an Update carries the whole post, newer than the
/// Create's copy, which then changes nothing when it arrives. A post deleted here
/// stays deleted (its tombstone).
async fn update_note(
    fed: &Federation,
    actor: &AccountRow,
    record: &RemoteActivity,
    note: &RemoteNote,
) -> Result<(), InboxError> {
    if fed.engine.store.status_by_uri(&note.uri).await?.is_none() {
        return create_note(fed, actor, record, note).await;
    }
    fed.engine.remote_update_note(actor, record, note).await?;
    Ok(())
}

/// What an activity is about, as the key that orders the inbox queue
/// ([`sluice_store::WriteTx::claim_inbox`]: activities with one key are applied one at
/// a time, in arrival order): the object of a Create, Update or Delete (and of an
/// Add/Remove, which pin a post), the activity an Undo, Accept or Reject answers, and
/// for anything else the activity itself (so its own Undo comes after it). A group's
/// Announce of an activity (FEP-1b12) is about what that activity is about. 0 when
/// there is nothing to name. The IRI is hashed to 64 bits: the key is compact in the
/// index whatever the IRI's length, and a collision only orders two unrelated
/// activities.
fn order_key(activity: &document::Activity) -> i64 {
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

/// An `Announce` of an activity: a group relaying what its members do (FEP-1b12, as
/// Lemmy, Mbin and others send it). A `Create`, `Update` or `Delete` relayed by an
/// actor that a local user follows is applied as its own actor's, through [`apply`],
/// with the checks a direct delivery gets. What the group says is believed only for
/// members on the group's server (whose signature we checked): for anyone else the
/// post is fetched from its own server instead of taken from the announce, a `Delete`
/// is applied only when that server no longer has the post, and the relayed
/// activity's id is not stored (it could be another activity's). A relayed post is
/// also the group's boost of it, which is how the group's followers see it.
async fn apply_announced(
    fed: &Federation,
    group: &AccountRow,
    record: &RemoteActivity,
    announce: &Activity,
    inner: &Activity,
) -> Result<(), InboxError> {
    let engine = &fed.engine;
    let ignore = async |reason| {
        engine
            .remote_ignored(group, record, reason)
            .await
            .map(|_| ())
            .map_err(InboxError::from)
    };
    let kinds = [
        ActivityKind::Create,
        ActivityKind::Update,
        ActivityKind::Delete,
    ];
    if !kinds.contains(&inner.kind)
        || engine
            .store
            .local_followers_of(group.id, 1)
            .await?
            .is_empty()
    {
        return ignore(Ignored::AnnouncedActivity).await;
    }
    let (Some(member_uri), Some(object_uri)) = (inner.actor_id(), inner.object_id()) else {
        return ignore(Ignored::NoObject).await;
    };
    // Our own users' activities are never taken from another server; a relayed
    // activity's id, like any other, must be on its actor's server.
    if fed.is_local_uri(member_uri)
        || inner
            .id
            .as_deref()
            .is_some_and(|id| !same_origin(id, member_uri))
    {
        return ignore(Ignored::ForeignId).await;
    }
    let member = fed.resolve_actor(member_uri, false).await?;
    let mut relayed = inner.clone();
    if !same_origin(member_uri, &group.uri) {
        relayed.id = None;
        let verified = if inner.kind == ActivityKind::Delete {
            fed.gone(object_uri).await?
        } else {
            match fed.fetch_post(object_uri, true).await {
                Ok(Some((author, object))) if author.id == member.id => {
                    relayed.object = vec![Ref::Embedded(Box::new(Document::Object(object)))];
                    true
                }
                Ok(_) => false,
                Err(e) if e.status() >= 500 => return Err(e),
                Err(_) => false,
            }
        };
        if !verified {
            return ignore(Ignored::Unverified).await;
        }
    }
    Box::pin(apply(
        fed,
        &member,
        &Document::Activity(relayed),
        &record.json,
    ))
    .await?;
    if inner.kind == ActivityKind::Create && engine.store.status_by_uri(object_uri).await?.is_some()
    {
        engine
            .remote_announce(group, record, object_uri, announce.published.map(|t| t.0))
            .await?;
    } else {
        engine.remote_record(group, record).await?;
    }
    Ok(())
}

impl Federation {
    /// Whether the object `uri` is gone from its server (404, 410, or a `Tombstone`
    /// now), asked afresh: how a `Delete` relayed by a group from another server is
    /// verified.
    async fn gone(&self, uri: &str) -> Result<bool, InboxError> {
        let url = Url::parse(uri).map_err(|_| InboxError::BadRequest("not a URL".into()))?;
        match self.get_json(&url, true).await {
            Ok(f) => Ok(matches!(
                document::parse(f.bytes()),
                Ok(Document::Tombstone(_))
            )),
            Err(FetchError::Status(404 | 410)) => Ok(true),
            Err(e) if e.is_retryable() => Err(fetch_failed(uri, &e)),
            Err(_) => Ok(false),
        }
    }
}

async fn local_account(engine: &Engine, uri: &str) -> Result<Option<AccountRow>, InboxError> {
    Ok(engine
        .store
        .account_by_uri(uri)
        .await?
        .filter(AccountRow::is_local))
}

/// The user whose own inbox a path is (`/users/:name/inbox`).
fn personal_inbox(path_and_query: &str) -> Option<&str> {
    let path = path_and_query.split('?').next()?;
    path.strip_prefix("/users/")?
        .strip_suffix("/inbox")
        .filter(|n| !n.is_empty() && !n.contains('/'))
}

impl Federation {
    /// A post delivered to `name`'s own inbox that does not address them and that they
    /// could not otherwise see (not public or unlisted, not to followers they are one
    /// of) is a blind copy (its author's `bto`/`bcc`): recorded, and applied when the
    /// post is stored (at once when it already is, say through another inbox).
    async fn note_blind_copy(
        &self,
        name: &str,
        author: &AccountRow,
        o: &crate::document::Object,
    ) -> Result<(), InboxError> {
        if authored_by(o, author).is_err() {
            return Ok(());
        }
        let engine = &self.engine;
        let Some(me) = engine
            .store
            .account_by_acct(name, engine.urls.domain())
            .await?
            .filter(AccountRow::is_local)
        else {
            return Ok(());
        };
        let addressed = o
            .audience
            .to
            .iter()
            .chain(&o.audience.cc)
            .chain(o.mentions.iter().map(|m| &m.href))
            .any(|i| *i == me.uri);
        if addressed {
            return Ok(());
        }
        let visibility = sluice_engine::remote::visibility_of(
            &o.audience.to,
            &o.audience.cc,
            &author.followers_url,
        );
        let sees_anyway = match visibility {
            sluice_model::Visibility::Public | sluice_model::Visibility::Unlisted => true,
            sluice_model::Visibility::Private => {
                engine
                    .store
                    .has_relation(sluice_store::Relation::Follow, me.id, author.id)
                    .await?
            }
            sluice_model::Visibility::Direct => false,
        };
        if sees_anyway || engine.store.blocked_either_way(me.id, author.id).await? {
            return Ok(());
        }
        engine
            .store
            .add_blind_copy(&o.id, me.id, sluice_model::id::now_millis())
            .await?;
        engine.apply_blind_copies(&o.id).await?;
        Ok(())
    }
}

/// An object's `summary` as a paragraph of the text the Mastodon API shows, sanitized
/// (for the types whose summary is an abstract, not a content warning).
pub(crate) async fn summary_html(summary: &str) -> String {
    let html = sluice_engine::tasks::sanitize_html(summary.to_string()).await;
    if html.trim_start().starts_with('<') {
        html
    } else {
        format!("<p>{html}</p>")
    }
}

/// Object types that are not posts: Pleroma's `ChatMessage` belongs to a chat, which
/// Mastodon's API has no place for (Mastodon does not store them either).
const NOT_POSTS: [&str; 1] = ["ChatMessage"];

/// Whether `o` may be taken as `actor`'s: attributed to it (an object that names no
/// author is its activity's actor's, as Mastodon reads it), and its id on the actor's
/// server (ids are taken only from the server they belong to).
fn authored_by(o: &Object, actor: &AccountRow) -> Result<(), Ignored> {
    if o.attributed_to.as_deref().is_some_and(|a| a != actor.uri) {
        return Err(Ignored::NotAuthor);
    }
    if !same_origin(&o.id, &actor.uri) {
        return Err(Ignored::ForeignId);
    }
    Ok(())
}

/// The id an activity without one (a transient activity: GoToSocial's `Delete`, say)
/// is recorded under: unique, and never an id a remote server may send (those are
/// http(s) IRIs on the sender's server), so it neither blocks nor repeats another.
fn transient_uri(engine: &Engine) -> String {
    format!("urn:sluice:transient:{}", engine.new_id())
}

/// A remote post as the engine stores it, or why it is not one we store (not the
/// sender's, its id on another server, not a post).
pub(crate) async fn remote_note(actor: &AccountRow, o: &Object) -> Result<RemoteNote, Ignored> {
    authored_by(o, actor)?;
    if NOT_POSTS.contains(&o.kind.as_str()) {
        return Err(Ignored::UnsupportedObject);
    }
    let mut content = o
        .content
        .clone()
        .or_else(|| o.misskey_content.clone())
        .unwrap_or_default();
    // Shown as Mastodon shows these types: title, summary (an abstract, not a content
    // warning), then the content and a link to the original.
    let converted = matches!(
        o.kind,
        ObjectKind::Page | ObjectKind::Article | ObjectKind::Event
    );
    let mut summary = o.summary.clone().unwrap_or_default();
    if converted {
        let mut head = String::new();
        if let Some(name) = o.name.as_deref().filter(|n| !n.trim().is_empty()) {
            head = format!(
                "<p><strong>{}</strong></p>",
                sluice_model::content::escape_html(name)
            );
        }
        if !summary.trim().is_empty() {
            head.push_str(&crate::inbox::summary_html(&summary).await);
        }
        let link = o.url.as_deref().unwrap_or(&o.id);
        let link = sluice_model::content::escape_html(link);
        content = format!("{head}{content}<p><a href=\"{link}\">{link}</a></p>");
        summary.clear();
    }
    Ok(RemoteNote {
        uri: o.id.clone(),
        url: o.url.clone().unwrap_or_default(),
        object_type: o.kind.as_str().to_string(),
        content: sluice_engine::tasks::sanitize_html(content).await,
        summary,
        sensitive: o.sensitive,
        language: o.language.clone(),
        in_reply_to: o.in_reply_to.clone(),
        published: o
            .published
            .map(|t| t.0)
            .unwrap_or_else(sluice_model::id::now_millis),
        updated: o.updated.map(|t| t.0),
        to: o.audience.to.clone(),
        cc: o.audience.cc.clone(),
        mentions: o.mentions.iter().map(|m| m.href.clone()).collect(),
        tags: o
            .hashtags
            .iter()
            .map(|h| h.name.trim_start_matches('#').to_lowercase())
            .filter(|t| !t.is_empty() && !t.contains(','))
            .collect(),
        attachments: o.attachments.iter().map(stored_attachment).collect(),
    })
}

/// A remote attachment as a post stores it (the engine gives it an id).
fn stored_attachment(a: &crate::document::Attachment) -> sluice_model::media::Attachment {
    use sluice_model::media::{Attachment, MAX_DESCRIPTION_CHARS};
    Attachment {
        id: String::new(),
        kind: Attachment::kind_of(a.media_type.as_deref(), &a.kind).into(),
        media_type: a.media_type.clone().unwrap_or_default(),
        url: a.url.clone(),
        description: a
            .name
            .as_deref()
            .map(|n| n.chars().take(MAX_DESCRIPTION_CHARS).collect())
            .unwrap_or_default(),
        width: a.width,
        height: a.height,
        focus: a.focal_point,
        blurhash: a.blurhash.clone().filter(|b| b.len() <= 100),
        remote: true,
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
