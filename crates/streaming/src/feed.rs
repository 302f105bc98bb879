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
    /// The wait on this connection's wake-up lane ([`Hub::subscribe`]).
    wake: LaneWait,
    /// Events with this id or lower were taken (or passed over) already.
    last_seen: i64,
    /// Still resuming: the next log read starts after this id.
    replay: Option<i64>,
    pending: VecDeque<Arc<Event>>,
    /// The database failed the connection ([`FeedItem::Unavailable`]): it must end.
    unavailable: bool,
}

/// A connection's wait on its wake-up lane. The wait lives here, not in the future of
/// [`Feed::next`], so that the connection keeps its place in the lane's queue while
/// its task wakes for something else (a heartbeat, a ping, a client's message): a
/// lane wakes its connections in the order they subscribed, whatever their timers.
struct LaneWait {
    lane: Arc<Notify>,
    wait: Pin<Box<OwnedNotified>>,
    /// `wait` fired and must be replaced before the next wait.
    fired: bool,
}

impl LaneWait {
    fn new(lane: Arc<Notify>) -> LaneWait {
        LaneWait {
            wait: Box::pin(lane.clone().notified_owned()),
            lane,
            fired: false,
        }
    }

    /// Makes sure the wait counts every wake-up from now on (a `Notified` counts
    /// each `notify_waiters` from its creation, polled or not): called before the
    /// channel is read, so that an event sent after the read is not missed. Replaces
    /// a fired wait in place (no allocation per event).
    fn arm(&mut self) {
        if std::mem::take(&mut self.fired) {
            self.wait.set(self.lane.clone().notified_owned());
        }
    }

    /// The next wake-up since [`LaneWait::arm`]. Cancel-safe: a cancelled wait stays
    /// queued, in its place.
    async fn wait(&mut self) {
        self.wait.as_mut().await;
        self.fired = true;
    }
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
        let wake = LaneWait::new(lane);
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
            wake,
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
            self.wake.arm();
            match self.rx.try_recv() {
                Ok(event) => self.pending.push_back(event),
                Err(TryRecvError::Empty) => self.wake.wait().await,
                Err(TryRecvError::Lagged(missed)) => return FeedItem::Lagged(missed),
                Err(TryRecvError::Closed) => return FeedItem::Closed,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::Mutex;

    use super::*;

    type Wait<W> = for<'a> fn(&'a mut W) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

    async fn settle() {
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
    }

    /// Connections A, B and C start waiting in that order; A's task then wakes for
    /// something else (a heartbeat) and waits again; then `wake` wakes them all. The
    /// order in which they ran (the runtime runs woken tasks in wake order).
    async fn order<W: Send + 'static>(
        waits: [W; 3],
        wait: Wait<W>,
        wake: impl FnOnce(),
    ) -> Vec<char> {
        let order = Arc::new(Mutex::new(Vec::new()));
        let beat = Arc::new(Notify::new());
        for (name, mut w) in ['A', 'B', 'C'].into_iter().zip(waits) {
            let (order, beat) = (order.clone(), beat.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = wait(&mut w) => {
                            order.lock().unwrap().push(name);
                            return;
                        }
                        _ = beat.notified(), if name == 'A' => {}
                    }
                }
            });
            settle().await;
        }
        beat.notify_one();
        settle().await;
        wake();
        settle().await;
        order.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn a_connection_keeps_its_place_when_its_task_wakes_for_something_else() {
        let lane = Arc::new(Notify::new());
        let waits = [(); 3].map(|_| LaneWait::new(lane.clone()));
        let got = order(waits, |w| Box::pin(w.wait()), || lane.notify_waiters()).await;
        assert_eq!(got, ['A', 'B', 'C']);
    }

    /// The cause of the unfair fan-out this replaced: a broadcast receiver that
    /// stopped waiting (its task woke for a heartbeat) queues again at the end.
    #[tokio::test]
    async fn a_broadcast_receiver_loses_its_place_when_its_task_wakes_for_something_else() {
        let (tx, _) = broadcast::channel::<u8>(4);
        let waits = [(); 3].map(|_| tx.subscribe());
        let wait: Wait<broadcast::Receiver<u8>> = |rx| {
            Box::pin(async {
                let _ = rx.recv().await;
            })
        };
        let got = order(waits, wait, || drop(tx.send(1))).await;
        assert_eq!(got, ['B', 'C', 'A']);
    }
}
