//! Server-sent events: `:)` at once, `id:`/`event:`/`data:` per event, a comment as
//! heartbeat, replay from `Last-Event-ID` first.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use sluice_model::Id;
use tokio::sync::{broadcast, watch};
use tokio::time::{Interval, MissedTickBehavior};

use crate::filter::{Relations, StreamKind};
use crate::hub::{Event, Hub};

/// Events read from the log per step of a resume.
const REPLAY_BATCH: i64 = 500;

#[derive(Debug, Clone)]
pub struct SseOptions {
    /// A comment line this often keeps proxies from closing an idle stream.
    pub heartbeat: Duration,
    /// Resume after this event id (`Last-Event-ID`).
    pub last_event_id: Option<i64>,
}

struct Conn {
    hub: Arc<Hub>,
    stream: StreamKind,
    me: Option<Id>,
    relations: Relations,
    rx: broadcast::Receiver<Arc<Event>>,
    /// Events with this id or lower were sent (or passed over) already.
    last_seen: i64,
    /// Still resuming: the next log read starts after this id.
    replay: Option<i64>,
    pending: VecDeque<Arc<Event>>,
    heartbeat: Interval,
    shutdown: watch::Receiver<bool>,
    started: bool,
    ended: bool,
}

/// The body of one SSE response. It ends when the server shuts down (clients
/// reconnect and resume) or when the connection falls too far behind.
pub fn sse_stream(
    hub: Arc<Hub>,
    stream: StreamKind,
    me: Option<Id>,
    options: SseOptions,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    // Subscribe first, then read the log: nothing committed in between is missed,
    // and what arrives twice is dropped by id.
    let rx = hub.subscribe();
    let head = hub.head();
    let mut heartbeat = tokio::time::interval_at(
        tokio::time::Instant::now() + options.heartbeat,
        options.heartbeat.max(Duration::from_millis(10)),
    );
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let conn = Conn {
        shutdown: hub.shutdown(),
        hub,
        stream,
        me,
        relations: Relations::default(),
        rx,
        last_seen: options.last_event_id.unwrap_or(head),
        replay: options.last_event_id,
        pending: VecDeque::new(),
        heartbeat,
        started: false,
        ended: false,
    };
    futures_util::stream::unfold(conn, |mut c| async move {
        let chunk = c.next_chunk().await?;
        Some((Ok(chunk), c))
    })
}

impl Conn {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if self.ended {
            return None;
        }
        if !self.started {
            self.started = true;
            self.relations = Relations::load(&self.hub.engine().store, self.me).await;
            return Some(Bytes::from_static(b":)\n\n"));
        }
        loop {
            if let Some(event) = self.pending.pop_front() {
                if let Some(chunk) = self.take(&event).await {
                    return Some(chunk);
                }
                continue;
            }
            if let Some(after) = self.replay {
                let events = self.hub.replay(after, REPLAY_BATCH).await;
                self.replay = events.last().map(|e| e.id);
                self.pending.extend(events);
                continue;
            }
            tokio::select! {
                biased;
                _ = self.shutdown.wait_for(|s| *s) => {
                    self.ended = true;
                    return None;
                }
                received = self.rx.recv() => match received {
                    Ok(event) => self.pending.push_back(event),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        self.ended = true;
                        return Some(Bytes::from(format!(
                            ":fell {missed} events behind; reconnect with Last-Event-ID {}\n\n",
                            self.last_seen
                        )));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = self.heartbeat.tick() => return Some(Bytes::from_static(b":thump\n\n")),
            }
        }
    }

    /// The chunk for `event`, if this connection gets it; keeps the filters fresh.
    async fn take(&mut self, event: &Event) -> Option<Bytes> {
        if event.id <= self.last_seen {
            return None;
        }
        self.last_seen = event.id;
        if self.relations.reload_on(event) {
            self.relations = Relations::load(&self.hub.engine().store, self.me).await;
            return None;
        }
        if !self.relations.wants(&self.stream, event) {
            return None;
        }
        let payload = event.payload.as_deref()?;
        Some(Bytes::from(format!(
            "id: {}\nevent: {}\ndata: {}\n\n",
            event.id, event.kind, payload
        )))
    }
}
