//! Server-sent events: `:)` at once, `id:`/`event:`/`data:` per event, a comment as
//! heartbeat, replay from `Last-Event-ID` first.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use sluice_model::Id;
use tokio::sync::watch;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::feed::{Feed, FeedItem};
use crate::filter::StreamKind;
use crate::hub::Hub;
use crate::stats::{ConnectionGuard, Protocol};

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
    options: SseOptions,
    feed: Option<Feed>,
    heartbeat: Interval,
    shutdown: watch::Receiver<bool>,
    ended: bool,
    stats: ConnectionGuard,
}

/// Heartbeats and pings of all connections fall on this process-wide grid, so that
/// the runtime wakes once a second for every connection due then, not once for each
/// (thousands of wake-ups a second at 19,000 connections).
const HEARTBEAT_GRID: Duration = Duration::from_secs(1);

/// A heartbeat timer with `period` (rounded up to a whole number of seconds when
/// longer than one) that first fires after about one period, on the process-wide
/// grid ([`HEARTBEAT_GRID`]), and stays on it.
pub fn heartbeat(period: Duration) -> Interval {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    let period = period.max(Duration::from_millis(10));
    let grid = HEARTBEAT_GRID.min(period).as_millis();
    let period = Duration::from_millis(period.as_millis().div_ceil(grid) as u64 * grid as u64);
    let due = (Instant::now() + period - epoch).as_millis().div_ceil(grid) * grid;
    let mut timer = tokio::time::interval_at(epoch + Duration::from_millis(due as u64), period);
    // Missed ticks are skipped, which keeps the timer on the grid.
    timer.set_missed_tick_behavior(MissedTickBehavior::Skip);
    timer
}

/// The body of one SSE response. It ends when the server shuts down (clients
/// reconnect and resume) or when the connection falls too far behind.
pub fn sse_stream(
    hub: Arc<Hub>,
    stream: StreamKind,
    me: Option<Id>,
    options: SseOptions,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let mut stats = hub.stats().connect(Protocol::Sse, hub.head());
    stats.subscribe(&stream);
    let conn = Conn {
        stats,
        shutdown: hub.streams_ended(),
        heartbeat: heartbeat(options.heartbeat),
        hub,
        stream,
        me,
        options,
        feed: None,
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
        let Some(feed) = self.feed.as_mut() else {
            self.feed = Some(
                Box::pin(Feed::new(
                    self.hub.clone(),
                    self.me,
                    self.options.last_event_id,
                ))
                .await,
            );
            return Some(Bytes::from_static(b":)\n\n"));
        };
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.wait_for(|s| *s) => {
                    self.ended = true;
                    return None;
                }
                item = feed.next() => match item {
                    FeedItem::Event(event) => {
                        self.stats.taken(event.id);
                        let Some(payload) = feed.relations().payload(&self.stream, &event) else {
                            continue;
                        };
                        self.stats.sent(1);
                        return Some(event.sse_message(&payload));
                    }
                    FeedItem::Lagged(missed) => {
                        self.ended = true;
                        self.stats.lagged();
                        return Some(Bytes::from(format!(
                            ":fell {missed} events behind; reconnect with Last-Event-ID {}\n\n",
                            feed.last_seen()
                        )));
                    }
                    FeedItem::Unavailable => {
                        self.ended = true;
                        return Some(Bytes::from(format!(
                            ":the server cannot serve this stream now; reconnect with Last-Event-ID {}\n\n",
                            feed.last_seen()
                        )));
                    }
                    FeedItem::Closed => return None,
                },
                _ = self.heartbeat.tick() => return Some(Bytes::from_static(b":thump\n\n")),
            }
        }
    }
}
