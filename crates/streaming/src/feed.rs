//! What one connection reads: the events it missed (from the log, when it resumes),
//! then the live broadcast, each event once, with its user's filters kept fresh.
//! Which stream an event belongs to is the caller's question
//! ([`Relations::wants`]): an SSE connection has one stream, a WebSocket several.

use std::collections::VecDeque;
use std::sync::Arc;

use sluice_model::Id;
use tokio::sync::broadcast;

use crate::filter::Relations;
use crate::hub::{Event, Hub};

/// Events read from the log per step of a resume.
const REPLAY_BATCH: i64 = 500;

pub struct Feed {
    hub: Arc<Hub>,
    me: Option<Id>,
    relations: Arc<Relations>,
    rx: broadcast::Receiver<Arc<Event>>,
    /// Events with this id or lower were taken (or passed over) already.
    last_seen: i64,
    /// Still resuming: the next log read starts after this id.
    replay: Option<i64>,
    pending: VecDeque<Arc<Event>>,
}

/// What [`Feed::next`] gives.
pub enum FeedItem {
    Event(Arc<Event>),
    /// The connection fell this many events behind the broadcast: end it (the client
    /// can resume from [`Feed::last_seen`]).
    Lagged(u64),
    /// The hub is gone (the server stops).
    Closed,
}

impl Feed {
    /// Subscribes first, then (when resuming) reads the log: nothing committed in
    /// between is missed, and what arrives twice is dropped by id.
    pub async fn new(hub: Arc<Hub>, me: Option<Id>, last_event_id: Option<i64>) -> Feed {
        let rx = hub.subscribe();
        let head = hub.head();
        let relations = hub.relations(me).await;
        Feed {
            hub,
            me,
            relations,
            rx,
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
            if let Some(event) = self.pending.front().cloned() {
                if event.id <= self.last_seen {
                    self.pending.pop_front();
                    continue;
                }
                if self.relations.reload_filters_on(&event) {
                    // Passed on as well: the client refreshes its own copy. Boxed, as
                    // every rare path here: the future of `next` stays small, since
                    // every connection holds one.
                    self.relations = Box::pin(self.hub.relations(self.me)).await;
                }
                if self.relations.reload_on(&event) {
                    self.relations = Box::pin(self.hub.relations(self.me)).await;
                    self.pending.pop_front();
                    self.last_seen = event.id;
                    continue;
                }
                self.pending.pop_front();
                self.last_seen = event.id;
                return FeedItem::Event(event);
            }
            if let Some(after) = self.replay {
                let events = Box::pin(self.hub.replay(after, REPLAY_BATCH)).await;
                self.replay = events.last().map(|e| e.id);
                self.pending.extend(events);
                continue;
            }
            match self.rx.recv().await {
                Ok(event) => self.pending.push_back(event),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    return FeedItem::Lagged(missed);
                }
                Err(broadcast::error::RecvError::Closed) => return FeedItem::Closed,
            }
        }
    }
}
