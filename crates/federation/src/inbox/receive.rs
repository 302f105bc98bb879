//! Receiving an inbox POST: verified in the request (HTTP signature, digest, date
//! window; the signing key looked up, or its actor fetched, and fetched again once if
//! verification fails: key rotation; the key's owner must be the activity's actor, or
//! on the same origin), then written to the durable queue ([`InboxBatcher`], group
//! commit) before the `202 Accepted`. When the queue is full the answer is `503` with
//! `Retry-After`: the sender keeps the activity and retries, nothing grows without
//! bound. A post delivered to a user's own inbox without addressing them is noted as a
//! blind copy here.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::HeaderMap;
use sluice_engine::Engine;
use sluice_engine::rows::{AccountRow, NewInboxActivity};
use url::Url;

use super::InboxError;
use super::convert::authored_by;
use super::queue::order_key;
use crate::document::{self, ActivityKind, Document, same_origin};
use crate::service::Federation;
use crate::signatures::parse_request;

/// Largest inbox body accepted (the parser's own cap is the same).
pub const MAX_INBOX_BODY: usize = 1024 * 1024;
/// Activities accepted but not yet applied, at most (then 503).
pub const INBOX_QUEUE: usize = 1_000;
/// What a full queue tells the sender to wait.
pub const INBOX_RETRY_AFTER: Duration = Duration::from_secs(30);

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
        if self.engine.inbox_full(INBOX_QUEUE as i64).await? {
            return Err(InboxError::Busy);
        }
        let pending = self.parse_signature(path_and_query, headers, body)?;
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
        let actor = self.signing_actor(&pending, &actor_uri).await?;
        if actor.suspended_at.is_some() && !suspended_may_send(activity, &actor) {
            // Accepted and dropped, as for a suspended domain.
            return Ok(());
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
            && self.engine.activity_exists(id).await?
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

    /// The request's HTTP signature, checked in the request itself (digest, date
    /// window, covered parts); the key is looked up next ([`Self::signing_actor`]).
    fn parse_signature(
        &self,
        path_and_query: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<crate::signatures::PendingSignature, InboxError> {
        let limits = self.verify_limits();
        parse_request(
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
        })
    }

    /// The activity's actor, as the verified signature vouches for it: the key's
    /// owner itself, or an actor on the same origin (a server signing for its users);
    /// never one of our own actors.
    async fn signing_actor(
        &self,
        pending: &crate::signatures::PendingSignature,
        actor_uri: &str,
    ) -> Result<AccountRow, InboxError> {
        let key = self.verified_key(pending).await?;
        // A suspended actor too: see `suspended_may_send`.
        let signer = self
            .engine
            .account_any(key.account_id)
            .await?
            .ok_or_else(|| InboxError::Unauthorized("the key's owner is unknown".into()))?;
        let actor = if signer.uri == actor_uri {
            signer
        } else if same_origin(&signer.uri, actor_uri) {
            self.resolve_actor(actor_uri, false).await?
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
        Ok(actor)
    }

    async fn is_suspended(&self, uri: &str) -> Result<bool, InboxError> {
        let Some(host) = Url::parse(uri)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
        else {
            return Ok(false);
        };
        Ok(self.engine.host_suspended(&host).await?)
    }
}

/// Most activities written to the queue in one statement.
const ENQUEUE_BATCH: usize = 64;
/// Most bytes of activity JSON written to the queue in one statement.
const ENQUEUE_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Group commit for the inbox queue. Verified activities from concurrent requests are
/// queued together, in one statement per batch ([`Engine::enqueue_inbox`]):
/// on SQLite each statement takes the single writer connection, and per-statement
/// hand-offs, not the work itself, were what bounded the inbox (docs/benchmarks.md,
/// "Federation"). The first request that finds no batch being written starts a task
/// that writes batches until none is waiting; the others wait for its answer. Each
/// request still gets its 202 only once its own row is committed. The writer is a
/// spawned task, so a request dropped by its client (cancelled) cannot strand the
/// others.
///
/// [`Engine::enqueue_inbox`]: sluice_engine::Engine::enqueue_inbox
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
                        .enqueue_inbox(&items, INBOX_QUEUE as i64)
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
        let Some(me) = engine.local_account(name).await? else {
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
            sluice_model::Visibility::Private => engine.follows(me.id, author.id).await?,
            sluice_model::Visibility::Direct => false,
        };
        if sees_anyway || engine.blocked_either_way(me.id, author.id).await? {
            return Ok(());
        }
        engine
            .add_blind_copy(&o.id, me.id, sluice_model::id::now_millis())
            .await?;
        engine.apply_blind_copies(&o.id).await?;
        Ok(())
    }
}

/// What is taken from a suspended actor: only an `Update` or `Delete` of itself (its
/// server lifting or confirming the suspension, or deleting it).
fn suspended_may_send(activity: &crate::document::Activity, actor: &AccountRow) -> bool {
    matches!(activity.kind, ActivityKind::Update | ActivityKind::Delete)
        && activity.object_id() == Some(actor.uri.as_str())
}
