//! The event-log tailer and the broadcast every connection listens to.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use sluice_engine::Engine;
use sluice_engine::rows::EventRow;
use sluice_model::Id;
use tokio::sync::{Notify, broadcast, mpsc, watch};

use crate::filter::Relations;
use crate::redis::RedisTarget;
use crate::stats::StreamStats;

/// How often the log is read when nothing woke the tailer: on SQLite the most latency
/// an event written by another process (an upgrade's new process) adds; on PostgreSQL
/// a fallback, since commits with events `NOTIFY` every listening process.
pub const TAIL_POLL: Duration = Duration::from_millis(100);

/// On SQLite, polls in a row that may skip reading the log when the database is
/// unchanged; the next one reads it anyway.
const FORCED_READ_EVERY: u32 = 50;

/// Rows read from the log at once.
const TAIL_BATCH: i64 = 256;

/// Wake-up lanes: connections are dealt round-robin to lanes as they subscribe, and a
/// broadcast wakes lane after lane (starting one further each time), each lane's
/// connections in the order they subscribed. So the runtime's queue holds a mix of
/// every age and transport, not one block after another (see [`Hub::subscribe`]).
const LANES: usize = 64;

#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Events held for connections that have not read them yet; a connection that
    /// falls further behind is ended (it can resume from the log).
    pub capacity: usize,
    /// How often the log is read when nothing woke the tailer ([`TAIL_POLL`]).
    pub poll: Duration,
    /// Redis for wake-ups between processes (`SLUICE_REDIS_URL`).
    pub redis: Option<RedisTarget>,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            capacity: 4096,
            poll: TAIL_POLL,
            redis: None,
        }
    }
}

/// One event, ready to send: what connections filter on, and the payload rendered
/// once for all of them.
#[derive(Debug, Default)]
pub struct Event {
    pub id: i64,
    /// `update`, `status.update`, `delete`, `notification`, or an internal kind
    /// (`relationship`, `lists`) that only tells connections to reload their filters.
    pub kind: String,
    pub account_id: Option<Id>,
    pub recipient_id: Option<Id>,
    pub object_id: Option<Id>,
    pub visibility: String,
    pub local: bool,
    /// Lowercase hashtags of a status.
    pub tags: Vec<String>,
    pub mentions: Vec<Id>,
    pub reblog_of: Option<Id>,
    /// The author's domain ("" when local) and, for a reblog, the reblogged post's
    /// author's: blocked domains are hidden without a query.
    pub domain: String,
    pub reblog_domain: Option<String>,
    /// Whether the status's author is silenced (by a moderator, or their domain): public and hashtag streams
    /// carry it only to its followers (and the author).
    pub silenced: bool,
    /// Whom a status replies to (a list's `replies_policy` needs it).
    pub in_reply_to_account_id: Option<Id>,
    /// Whether a status has media attachments (the `:media` public streams).
    pub media: bool,
    /// For statuses: the text keyword filters match ([`sluice_model::filter::searchable_text`]
    /// of the status, or of the one it reblogs), computed once for every connection.
    pub filter_text: String,
    /// The `data:` line; None when there is nothing to send (an internal event, or a
    /// status gone before it was rendered).
    pub payload: Option<String>,
    /// The messages built from `payload`, built by the first connection that sends
    /// it and shared by all the others that send it unchanged.
    pub messages: Messages,
    /// For a `relationship` event: the two accounts' relations after it
    /// (`sluice_engine::rows::pair`).
    pub pair: Option<i64>,
    /// The relations of the users it changes as of this event, computed once by the
    /// tailer for the copy their connections share ([`Hub::relations`]).
    pub relations: Vec<(Id, Arc<Relations>)>,
}

/// An event's messages, built at most once ([`Event::sse_message`],
/// [`Event::ws_payload`]).
#[derive(Debug, Default)]
pub struct Messages {
    sse: OnceLock<Bytes>,
    ws_payload: OnceLock<String>,
    /// Whole WebSocket frames, one per stream the event was sent on (most events go
    /// out on one or two: `public:local` to every connection of a public stream).
    ws_frames: std::sync::Mutex<Vec<(crate::StreamKind, Bytes)>>,
}

impl Event {
    /// The relations of `me` as of this event, when the tailer computed them.
    pub fn relations_of(&self, me: Option<Id>) -> Option<&Arc<Relations>> {
        self.relations
            .iter()
            .find(|(u, _)| Some(*u) == me)
            .map(|(_, r)| r)
    }

    /// Whether `payload` is this event's own (not a connection's filtered copy).
    fn is_shared(&self, payload: &str) -> bool {
        self.payload
            .as_deref()
            .is_some_and(|p| std::ptr::eq(p, payload))
    }

    /// The SSE message (`id:`, `event:`, `data:`) for this event with `payload`, the
    /// connection's payload ([`crate::Relations::payload`]): shared when it is the
    /// event's own, a fresh copy otherwise.
    pub fn sse_message(&self, payload: &str) -> Bytes {
        let render = || {
            Bytes::from(format!(
                "id: {}\nevent: {}\ndata: {}\n\n",
                self.id, self.kind, payload
            ))
        };
        if self.is_shared(payload) {
            self.messages.sse.get_or_init(render).clone()
        } else {
            render()
        }
    }

    /// The WebSocket frame (a final, unmasked text frame, header included) carrying
    /// this event on `stream` with `payload` ([`crate::StreamKind::ws_message`]):
    /// built once for every connection that sends the event's own payload on the same
    /// stream, so that sending it is one write of shared bytes, as for SSE.
    pub fn ws_frame(&self, stream: &crate::StreamKind, payload: &str) -> Bytes {
        let build = || crate::ws::text_frame(stream.ws_message(self, payload).into_bytes());
        if !self.is_shared(payload) {
            return build();
        }
        let mut frames = self
            .messages
            .ws_frames
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, f)) = frames.iter().find(|(k, _)| k == stream) {
            return f.clone();
        }
        let frame = build();
        frames.push((stream.clone(), frame.clone()));
        frame
    }

    /// `payload` as a JSON string, as WebSocket messages carry it: escaped once for
    /// all connections when it is the event's own.
    pub fn ws_payload<'a>(&'a self, payload: &str) -> Cow<'a, str> {
        let escape = || serde_json::to_string(payload).unwrap_or_else(|_| "\"\"".into());
        if self.is_shared(payload) {
            Cow::Borrowed(self.messages.ws_payload.get_or_init(escape))
        } else {
            Cow::Owned(escape())
        }
    }
}

/// Tails the event log and broadcasts what it reads.
pub struct Hub {
    engine: Arc<Engine>,
    sender: broadcast::Sender<Arc<Event>>,
    /// The newest event id broadcast so far.
    head: watch::Sender<i64>,
    /// Set when the process stops: new streams are refused from then on.
    refusing: AtomicBool,
    /// Turns true when the streams end ([`Hub::end_streams`]); the tailer stops then.
    ended: watch::Sender<bool>,
    config: HubConfig,
    stats: Arc<StreamStats>,
    /// Each user's follows, blocks, mutes, lists and filters, shared by all of the
    /// user's connections (see [`Hub::relations`]).
    relations: std::sync::Mutex<HashMap<Id, SharedRelations>>,
    /// Wake-up lanes ([`LANES`]) and the counter that deals connections to them.
    lanes: Box<[Arc<Notify>]>,
    dealt: AtomicUsize,
}

/// A user's [`Relations`] as the user's connections share them, and what the tailer
/// read since about them.
#[derive(Default)]
struct SharedRelations {
    /// The copy the user's connections hold (dead once none does).
    copy: Weak<Relations>,
    /// The copy reflects every event up to this id: it was loaded after that event
    /// was read from the log (and so committed).
    as_of: i64,
    /// The newest event read from the log that changes them.
    changed: i64,
    /// Loads in flight: while there is one, the entry (and `changed`) stays.
    loading: u32,
}

/// A load of one user's relations in flight ([`SharedRelations::loading`]), counted
/// down when it ends or is cancelled (its connection went away).
struct Loading<'a> {
    hub: &'a Hub,
    me: Id,
}

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        if let Some(entry) = self.hub.cache().get_mut(&self.me) {
            entry.loading = entry.loading.saturating_sub(1);
        }
    }
}

/// Entries of users with no connection left are dropped when the map reaches a power
/// of two above this size: a sweep is rare and its cost spread over the entries added.
const RELATIONS_SWEEP_ABOVE: usize = 1024;

impl Hub {
    /// Starts the tailer; it stops when the streams end ([`Hub::end_streams`]).
    pub async fn start(
        engine: Arc<Engine>,
        config: HubConfig,
    ) -> Result<(Arc<Hub>, tokio::task::JoinHandle<()>), sluice_engine::EngineError> {
        let last = engine.last_event_id().await?;
        let (sender, _) = broadcast::channel(config.capacity.max(16));
        let (head, _) = watch::channel(last);
        let hub = Arc::new(Hub {
            engine,
            sender,
            head,
            refusing: AtomicBool::new(false),
            ended: watch::channel(false).0,
            config,
            stats: Arc::new(StreamStats::default()),
            relations: Default::default(),
            lanes: (0..LANES).map(|_| Arc::new(Notify::new())).collect(),
            dealt: AtomicUsize::new(0),
        });
        // After a panic the tailer goes on from the last event it broadcast.
        let tailer = hub.clone();
        let task = sluice_engine::tasks::spawn_guarded(
            "streaming event-log tailer",
            hub.ended.subscribe(),
            move || tailer.clone().tail(tailer.head()),
        );
        Ok((hub, task))
    }

    /// A receiver of every event broadcast from now on, and the lane that announces
    /// them: the receiver is only read with `try_recv`, after the lane woke it.
    ///
    /// Why lanes, and not the receiver's own `recv`: the broadcast wakes its waiters
    /// in the order they started waiting, and a connection that wakes for anything
    /// else (a heartbeat, a ping, a pong) drops its wait and queues again at the end.
    /// SSE heartbeats (15 s) come twice as often as WebSocket pings (30 s), so SSE
    /// connections sat mostly at the end of the queue, and with 19,000 connections on
    /// two cores each event reached them 60–120 ms after the WebSockets. A connection
    /// now keeps its place ([`crate::Feed`] holds its wait across wake-ups), and the
    /// lanes interleave the connections of every age and transport.
    pub(crate) fn subscribe(&self) -> (broadcast::Receiver<Arc<Event>>, Arc<Notify>) {
        let lane = self.dealt.fetch_add(1, Ordering::Relaxed) % LANES;
        (self.sender.subscribe(), self.lanes[lane].clone())
    }

    /// Wakes every connection waiting for events, lane after lane, starting with the
    /// lane after the one that started last time (so no lane is always last).
    fn wake_connections(&self, round: usize) {
        for i in 0..LANES {
            self.lanes[(round + i) % LANES].notify_waiters();
        }
    }

    /// The newest event id broadcast.
    pub fn head(&self) -> i64 {
        *self.head.borrow()
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Turns true when the streams end (the server stops): SSE streams end and
    /// WebSockets close with 1012; clients reconnect and resume.
    pub fn streams_ended(&self) -> watch::Receiver<bool> {
        self.ended.subscribe()
    }

    /// Whether new streams are served: not once the process stops
    /// ([`Hub::refuse_new_streams`]).
    pub fn accepts_streams(&self) -> bool {
        !self.refusing.load(Ordering::Relaxed)
    }

    /// The process stops: new streams are refused from now on, so that clients open
    /// them on a process that goes on serving. Open streams go on until
    /// [`Hub::end_streams`].
    pub fn refuse_new_streams(&self) {
        self.refusing.store(true, Ordering::Relaxed);
    }

    /// Ends every stream (and the tailer), once the process no longer accepts
    /// connections: the clients' reconnections reach another process.
    pub fn end_streams(&self) {
        self.refuse_new_streams();
        self.ended.send_replace(true);
    }

    /// Connections listening now.
    pub fn connections(&self) -> usize {
        self.sender.receiver_count()
    }

    /// The user's relations, reflecting at least every event the tailer has read and
    /// `seen` (an event the caller took, from the broadcast or from the log): the copy
    /// the user's other connections share when it is that fresh, loaded (a few
    /// queries) and shared otherwise. None when loading failed (logged).
    ///
    /// The tailer marks a user's entry changed before it broadcasts an event that
    /// changes their relations, and moves a fresh shared copy on to a `relationship`
    /// event itself ([`Hub::advance_relations`]); so a connection reloading on a change
    /// never gets a copy from before it. A load that began before a change was read is
    /// handed to its caller (which applies that change when it takes it) but never
    /// shared, and a shared copy is only replaced by a newer one.
    pub async fn relations(&self, me: Option<Id>, seen: i64) -> Option<Arc<Relations>> {
        let Some(me) = me else {
            return Some(Arc::new(Relations::default()));
        };
        // Every event broadcast is committed, and so is `seen`: a load that starts now
        // reflects them all.
        let as_of = self.head().max(seen);
        {
            let mut cache = self.cache();
            let entry = cache.entry(me).or_default();
            if entry.as_of >= entry.changed.max(seen)
                && let Some(r) = entry.copy.upgrade()
            {
                return Some(r);
            }
            entry.loading += 1;
        }
        let loading = Loading { hub: self, me };
        let loaded = Relations::load(&self.engine, me, as_of).await;
        let mut cache = self.cache();
        // Counted down under the same lock as the sharing below: a sweep in between
        // would drop the entry's `changed`.
        std::mem::forget(loading);
        let entry = cache.entry(me).or_default();
        entry.loading = entry.loading.saturating_sub(1);
        let loaded = match loaded {
            Ok(r) => Arc::new(r),
            Err(e) => {
                tracing::warn!(error = %e, "loading a stream's filters failed");
                return None;
            }
        };
        if entry.changed <= as_of && (entry.as_of <= as_of || entry.copy.strong_count() == 0) {
            entry.copy = Arc::downgrade(&loaded);
            entry.as_of = as_of;
        }
        if cache.len() > RELATIONS_SWEEP_ABOVE && cache.len().is_power_of_two() {
            cache.retain(|_, e| e.loading > 0 || e.copy.strong_count() > 0);
        }
        Some(loaded)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<Id, SharedRelations>> {
        self.relations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Before `event` is broadcast: marks the relations of the users it changes as
    /// changed, and, for a `relationship` event, moves their shared copy on to it
    /// (once for all their connections, which take it from the event). A user without
    /// an entry has no copy and no load in flight: nothing to do.
    fn advance_relations(&self, event: &mut Event) {
        let users: [Option<Id>; 2] = match event.kind.as_str() {
            "relationship" => [event.account_id, event.recipient_id],
            "lists" | "filters_changed" => [event.account_id, None],
            _ => return,
        };
        let mut cache = self.cache();
        for u in users.into_iter().flatten() {
            let Some(entry) = cache.get_mut(&u) else {
                continue;
            };
            // Only a copy that reflects every change before this one moves on.
            let fresh = entry.as_of >= entry.changed && entry.as_of < event.id;
            entry.changed = entry.changed.max(event.id);
            let next = match entry.copy.upgrade() {
                Some(copy) if fresh => copy.with_pair(event),
                _ => None,
            };
            if let Some(next) = next {
                let next = Arc::new(next);
                entry.copy = Arc::downgrade(&next);
                entry.as_of = event.id;
                event.relations.push((u, next));
            }
        }
    }

    /// Counters for the status endpoints and metrics.
    pub fn stats(&self) -> &Arc<StreamStats> {
        &self.stats
    }

    /// Events a connection may fall behind before it is ended.
    pub fn capacity(&self) -> usize {
        self.config.capacity
    }

    /// Events after `after` from the log, up to `limit`, rendered like live ones (for
    /// a client that resumes); None when the log could not be read (logged).
    pub async fn replay(&self, after: i64, limit: i64) -> Option<Vec<Arc<Event>>> {
        match self.engine.events_after(after, limit).await {
            Ok(rows) => Some(self.prepare(rows).await.into_iter().map(Arc::new).collect()),
            Err(e) => {
                tracing::warn!(error = %e, "reading the event log for a resume failed");
                None
            }
        }
    }

    /// Runs once what the first event after start needs, so that it does not reach
    /// its connections slower than the ones after it (it took 32–38 ms against 3–5 ms
    /// with 10,000 streams open): the newest events of the log are read and rendered
    /// as live ones are (the status query and its rendering, notifications, the JSON
    /// serializer's paths, on a database connection that then holds the statements),
    /// and SSE messages and WebSocket frames are built from them and from a sample
    /// event, down the paths every connection takes (filters, framing). Nothing is
    /// broadcast.
    async fn warm(&self, last: i64) {
        let rows = match self.engine.events_after(last.saturating_sub(16), 16).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::debug!(error = %e, "warming the streaming paths: reading the log failed");
                Vec::new()
            }
        };
        let sample = Event {
            kind: "update".into(),
            visibility: "public".into(),
            local: true,
            payload: Some("{\"id\":\"0\",\"content\":\"<p>\u{e9}</p>\"}".into()),
            ..Event::default()
        };
        let stream = crate::StreamKind::Public {
            local: None,
            only_media: false,
        };
        let relations = Relations::default();
        for event in self.prepare(rows).await.iter().chain([&sample]) {
            if let Some(payload) = relations.payload(&stream, event) {
                std::hint::black_box(event.sse_message(&payload));
                std::hint::black_box(event.ws_frame(&stream, &payload));
            }
        }
    }

    async fn tail(self: Arc<Self>, mut last: i64) {
        self.warm(last).await;
        let mut committed = self.engine.subscribe_events();
        let mut ended = self.ended.subscribe();
        // Other processes' commits: notified on PostgreSQL, polled on SQLite.
        let mut others = match self.engine.event_wakeups().await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "listening for event-log commits failed; polling");
                None
            }
        };
        // And through Redis, when configured: this process publishes its own commits.
        let (publish, mut redis_wakeups): (Option<watch::Sender<i64>>, Option<mpsc::Receiver<()>>) =
            match self.config.redis.clone() {
                Some(target) => {
                    let (p, w) = crate::redis::start(target, self.ended.subscribe());
                    (Some(p), Some(w))
                }
                None => (None, None),
            };
        let mut local_commit = false;
        // On SQLite, a poll that finds the database unchanged since the last complete
        // read of the log asks nothing (see `Store::change_marker`); every
        // `FORCED_READ_EVERY`th poll reads anyway.
        let mut read_at: Option<[u8; 48]> = None;
        let mut polled = false;
        let mut skipped = 0u32;
        loop {
            // Taken before reading: a commit after this point changes it again.
            let marker = self.engine.change_marker();
            if polled && marker.is_some() && marker == read_at && skipped < FORCED_READ_EVERY {
                skipped += 1;
            } else {
                skipped = 0;
                read_at = if self.read_new(&mut last).await {
                    marker
                } else {
                    None
                };
            }
            if std::mem::take(&mut local_commit)
                && let Some(p) = &publish
            {
                p.send_replace(last);
            }
            polled = false;
            tokio::select! {
                _ = ended.wait_for(|s| *s) => return,
                _ = committed.changed() => local_commit = true,
                _ = async {
                    match redis_wakeups.as_mut() {
                        Some(w) => drop(w.recv().await),
                        None => std::future::pending().await,
                    }
                } => {}
                _ = async {
                    match others.as_mut() {
                        Some(w) => w.recv().await,
                        None => std::future::pending().await,
                    }
                } => {}
                _ = tokio::time::sleep(self.config.poll) => polled = true,
            }
        }
    }

    /// Reads the log after `last` to its end and broadcasts what it finds; false when a
    /// read failed (the next wake-up tries again).
    async fn read_new(&self, last: &mut i64) -> bool {
        loop {
            let rows = match self.engine.events_after(*last, TAIL_BATCH).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the event log failed");
                    return false;
                }
            };
            let full = rows.len() as i64 == TAIL_BATCH;
            let Some(newest) = rows.last().map(|r| r.id) else {
                return true;
            };
            let prepared = self.prepare(rows).await;
            self.stats
                .events
                .fetch_add(prepared.len() as u64, std::sync::atomic::Ordering::Relaxed);
            for mut event in prepared {
                self.advance_relations(&mut event);
                // No receivers is not an error: nobody is listening.
                let _ = self.sender.send(Arc::new(event));
            }
            self.wake_connections(newest as usize);
            *last = newest;
            self.head.send_replace(newest);
            if !full {
                return true;
            }
        }
    }

    /// Parses rows and renders their payloads: statuses in one batch, as an anonymous
    /// reader sees them; notifications for their recipients.
    async fn prepare(&self, rows: Vec<EventRow>) -> Vec<Event> {
        let status_ids: Vec<Id> = rows
            .iter()
            .filter(|r| matches!(r.kind.as_str(), "update" | "status.update"))
            .filter_map(|r| r.object_id)
            .collect();
        let mut statuses = std::collections::HashMap::new();
        let mut texts = std::collections::HashMap::new();
        if !status_ids.is_empty() {
            match self.engine.statuses(&status_ids).await {
                Ok(found) => match self.engine.status_entities(None, found).await {
                    Ok(rendered) => {
                        for s in rendered {
                            if let (Ok(id), Ok(json)) =
                                (s.id.parse::<Id>(), serde_json::to_string(&s))
                            {
                                let proper = s.reblog.as_deref().unwrap_or(&s);
                                texts.insert(
                                    id,
                                    sluice_model::filter::searchable_text(
                                        &proper.spoiler_text,
                                        &proper.content,
                                        [],
                                    ),
                                );
                                statuses.insert(id, json);
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "rendering streamed statuses failed"),
                },
                Err(e) => tracing::warn!(error = %e, "loading streamed statuses failed"),
            }
        }
        // Silenced authors (by a moderator, or their whole domain), from the engine's
        // account and domain-block caches (one lookup per batch).
        let authors: Vec<Id> = rows
            .iter()
            .filter(|r| matches!(r.kind.as_str(), "update" | "status.update"))
            .filter_map(|r| r.account_id)
            .collect();
        let silenced: std::collections::HashSet<Id> =
            if authors.is_empty() {
                Default::default()
            } else {
                match self.engine.cached_accounts(&authors).await {
                    Ok(found) => {
                        let mut silenced = std::collections::HashSet::new();
                        for a in found {
                            let limited = a.silenced_at.is_some()
                            || self.engine.domain_silenced(&a.domain).await.unwrap_or_else(|e| {
                                tracing::warn!(error = %e, "reading the domain blocks failed");
                                false
                            });
                            if limited {
                                silenced.insert(a.id);
                            }
                        }
                        silenced
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "loading streamed authors failed");
                        Default::default()
                    }
                }
            };
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let data: Value = serde_json::from_str(&r.data).unwrap_or(Value::Null);
            let payload = match r.kind.as_str() {
                // Every event of a status carries it (a post and its edits may be read
                // in one batch), as it is now.
                "update" | "status.update" => r.object_id.and_then(|id| statuses.get(&id).cloned()),
                "delete" => r.object_id.map(|id| id.to_string()),
                "notification" => self.notification_payload(&r).await,
                "conversation" => self.conversation_payload(&r).await,
                // Mastodon sends no payload; over SSE its `data:` reads `undefined`.
                "filters_changed" => Some("undefined".to_string()),
                // Rendered when written: the same for every user (an announcement
                // entity, a reaction's count).
                "announcement" | "announcement.reaction" => Some(data["payload"].to_string()),
                // The removed announcement's id, as `delete` carries a status's.
                "announcement.delete" => r.object_id.map(|id| id.to_string()),
                _ => None,
            };
            let filter_text = r
                .object_id
                .and_then(|id| texts.get(&id).cloned())
                .unwrap_or_default();
            out.push(Event {
                id: r.id,
                kind: r.kind,
                account_id: r.account_id,
                recipient_id: r.recipient_id,
                object_id: r.object_id,
                visibility: data["visibility"].as_str().unwrap_or("").to_string(),
                local: data["local"].as_bool().unwrap_or(false),
                tags: data["tags"]
                    .as_array()
                    .map(|t| {
                        t.iter()
                            .filter_map(|t| t.as_str().map(str::to_lowercase))
                            .collect()
                    })
                    .unwrap_or_default(),
                mentions: data["mentions"]
                    .as_array()
                    .map(|m| m.iter().filter_map(Value::as_i64).collect())
                    .unwrap_or_default(),
                reblog_of: data["reblog_of"].as_i64(),
                domain: data["domain"].as_str().unwrap_or("").to_string(),
                reblog_domain: data["reblog_domain"].as_str().map(str::to_string),
                silenced: r.account_id.is_some_and(|a| silenced.contains(&a)),
                in_reply_to_account_id: data["in_reply_to_account_id"].as_i64(),
                media: data["media"].as_bool().unwrap_or(false),
                filter_text,
                payload,
                messages: Messages::default(),
                pair: data["pair"].as_i64(),
                relations: Vec::new(),
            });
        }
        out
    }

    /// A conversation as its participant (the event's recipient) sees it now.
    async fn conversation_payload(&self, r: &EventRow) -> Option<String> {
        let (to, id) = (r.recipient_id?, r.object_id?);
        let c = self.engine.conversation_entity(to, id).await.ok()?;
        serde_json::to_string(&c).ok()
    }

    async fn notification_payload(&self, r: &EventRow) -> Option<String> {
        let (to, id) = (r.recipient_id?, r.object_id?);
        let n = self.engine.notification(to, id).await.ok()??;
        serde_json::to_string(&n).ok()
    }
}
