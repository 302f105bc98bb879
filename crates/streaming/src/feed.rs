//! What one connection reads: the events it missed (from the log, when it resumes),
//! then the live broadcast, each event once, with its user's filters kept fresh.
//! Which stream an event belongs to is the caller's question
//! ([`Relations::wants`]): an SSE connection has one stream, a WebSocket several.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;

use sluice_model::Id;
use tokio::sync::Notify;
use tokio::sync::broadcast::{self, error::TryRecvError};
use tokio::sync::futures::OwnedNotified;

use crate::filter::Relations;
use crate::hub::{Event, Hub};

/// Events read from the log per step of a resume.
const REPLAY_BATCH: i64 = 500;

pub struct Feed {
    hub: Arc<Hub>,
    me: Option<Id>,
    relations: Arc<Relations>,
    rx: broadcast::Receiver<Arc<Event>>,
    /// The wake-up lane this connection waits on ([`Hub::subscribe`]).
    lane: Arc<Notify>,
    /// The wait for the lane's next wake-up. It lives here, not in the future of
    /// [`Feed::next`], so that the connection keeps its place in the lane's queue
    /// while its task wakes for something else (a heartbeat, a ping, a client's
    /// message): wake-ups come in the order connections subscribed, whatever their
    /// timers. Replaced in place once it fired (no allocation per event).
    wake: Pin<Box<OwnedNotified>>,
    /// `wake` fired and must be replaced before the next wait.
    woken: bool,
    /// Events with this id or lower were taken (or passed over) already.
    last_seen: i64,
    /// Still resuming: the next log read starts after this id.
    replay: Option<i64>,
    pending: VecDeque<Arc<Event>>,
    /// The database failed the connection ([`FeedItem::Unavailable`]): it must end.
    unavailable: bool,
}

/// What [`Feed::next`] gives.
pub enum FeedItem {
    Event(Arc<Event>),
    /// The connection fell this many events behind the broadcast: end it (the client
    /// can resume from [`Feed::last_seen`]).
    Lagged(u64),
    /// The database failed to give what the connection needs (the user's follows,
    /// blocks, mutes, lists or filters, or the log to resume from): end it rather
    /// than filter without them or skip events; the client can resume from
    /// [`Feed::last_seen`].
    Unavailable,
    /// The hub is gone (the server stops).
    Closed,
}

impl Feed {
    /// Subscribes first, then (when resuming) reads the log: nothing committed in
    /// between is missed, and what arrives twice is dropped by id.
    pub async fn new(hub: Arc<Hub>, me: Option<Id>, last_event_id: Option<i64>) -> Feed {
        let (rx, lane) = hub.subscribe();
        let wake = Box::pin(lane.clone().notified_owned());
        let head = hub.head();
        // Fresh as of every change the tailer read; a change it reads later is
        // broadcast to `rx`, and the feed reloads on it.
        let relations = hub.relations(me, 0).await;
        Feed {
            hub,
            me,
            unavailable: relations.is_none(),
            relations: relations.unwrap_or_default(),
            rx,
            lane,
            wake,
            woken: false,
            last_seen: last_event_id.unwrap_or(head),
            replay: last_event_id,
            pending: VecDeque::new(),
        }
    }

    pub fn relations(&self) -> &Relations {
        &self.relations
    }

    /// The newest event id taken: where a client resumes.
    pub fn last_seen(&self) -> i64 {
        self.last_seen
    }

    /// The next event, in log order, never one taken before. Cancel-safe: an event is
    /// taken only when this returns it.
    pub async fn next(&mut self) -> FeedItem {
        loop {
            if self.unavailable {
                return FeedItem::Unavailable;
            }
            if let Some(event) = self.pending.front().cloned() {
                if event.id <= self.last_seen {
                    self.pending.pop_front();
                    continue;
                }
                // A `filters_changed` is passed on as well (the client refreshes its
                // own copy); the other changes are internal.
                let internal = self.relations.reload_on(&event);
                let changes = internal || self.relations.reload_filters_on(&event);
                // Relations loaded after it reflect it already.
                if changes && event.id > self.relations.as_of() {
                    if let Some(r) = event.relations_of(self.me) {
                        // Moved on by the tailer: the copy the user's connections share.
                        self.relations = r.clone();
                    } else if let Some(r) = self.relations.with_pair(&event) {
                        // A change the event records, the shared copy not at hand (a
                        // resume, or a copy being reloaded).
                        self.relations = Arc::new(r);
                    } else {
                        // Boxed, as every rare path here: the future of `next` stays
                        // small, since every connection holds one.
                        match Box::pin(self.hub.relations(self.me, event.id)).await {
                            Some(r) => self.relations = r,
                            // Not taken: a client that resumes reads it again.
                            None => {
                                self.unavailable = true;
                                return FeedItem::Unavailable;
                            }
                        }
                    }
                }
                self.pending.pop_front();
                self.last_seen = event.id;
                if internal {
                    continue;
                }
                return FeedItem::Event(event);
            }
            if let Some(after) = self.replay {
                let Some(events) = Box::pin(self.hub.replay(after, REPLAY_BATCH)).await else {
                    self.unavailable = true;
                    return FeedItem::Unavailable;
                };
                self.replay = events.last().map(|e| e.id);
                self.pending.extend(events);
                continue;
            }
            // The wait is armed before the channel is read: an event sent after the
            // read is announced to it (a `Notified` counts every `notify_waiters`
            // from its creation on, polled or not).
            if std::mem::take(&mut self.woken) {
                self.wake.set(self.lane.clone().notified_owned());
            }
            match self.rx.try_recv() {
                Ok(event) => self.pending.push_back(event),
                Err(TryRecvError::Empty) => {
                    self.wake.as_mut().await;
                    self.woken = true;
                }
                Err(TryRecvError::Lagged(missed)) => return FeedItem::Lagged(missed),
                Err(TryRecvError::Closed) => return FeedItem::Closed,
            }
        }
    }
}
