//! What the streaming server is doing, for `/api/v1/streaming/status*` and `/metrics`:
//! connections by protocol and by timeline, events read from the log and messages
//! sent, connections ended for falling behind, and how far behind the slowest one is.
//!
//! Everything here is updated on connect, subscribe and disconnect, or with one
//! relaxed atomic operation per event; nothing is locked per event.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::filter::StreamKind;

/// How a client is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    Sse,
    WebSocket,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Sse => "sse",
            Protocol::WebSocket => "websocket",
        }
    }
}

#[derive(Default)]
pub struct StreamStats {
    /// Open connections by protocol.
    sse: AtomicI64,
    websocket: AtomicI64,
    /// Subscriptions by (timeline, protocol); a WebSocket may hold several.
    timelines: Mutex<BTreeMap<(String, Protocol), i64>>,
    /// Events read from the log and broadcast.
    pub events: AtomicU64,
    /// Messages written to clients (one event to many clients counts many times).
    pub messages: AtomicU64,
    /// Connections ended because they fell too far behind.
    pub lagged: AtomicU64,
    /// The last event id each connection has taken, by connection.
    positions: Mutex<HashMap<u64, Arc<AtomicI64>>>,
    next_connection: AtomicU64,
}

/// A summary of the timelines and queues.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub sse: i64,
    pub websocket: i64,
    /// Subscriptions per timeline name (`user`, `public:local`, `hashtag`, …).
    pub timelines: BTreeMap<String, i64>,
    /// The same per protocol.
    pub timelines_by_protocol: Vec<(String, &'static str, i64)>,
    /// Events the slowest connection has not taken yet (by event id, so approximate
    /// where the log has gaps).
    pub longest_queue: i64,
}

impl StreamStats {
    /// Counts a new connection until the returned guard is dropped.
    pub fn connect(self: &Arc<Self>, protocol: Protocol, position: i64) -> ConnectionGuard {
        match protocol {
            Protocol::Sse => self.sse.fetch_add(1, Ordering::Relaxed),
            Protocol::WebSocket => self.websocket.fetch_add(1, Ordering::Relaxed),
        };
        let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(AtomicI64::new(position));
        self.positions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, slot.clone());
        ConnectionGuard {
            stats: self.clone(),
            protocol,
            id,
            position: slot,
            timelines: Vec::new(),
        }
    }

    pub fn snapshot(&self, head: i64) -> Snapshot {
        let by = self
            .timelines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|((t, p), n)| (t.clone(), p.name(), *n))
            .collect::<Vec<_>>();
        let mut timelines = BTreeMap::new();
        for (t, _, n) in &by {
            *timelines.entry(t.clone()).or_insert(0) += n;
        }
        let longest_queue = self
            .positions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|p| head - p.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
            .max(0);
        Snapshot {
            sse: self.sse.load(Ordering::Relaxed),
            websocket: self.websocket.load(Ordering::Relaxed),
            timelines,
            timelines_by_protocol: by,
            longest_queue,
        }
    }

    fn timeline(&self, name: &str, protocol: Protocol, delta: i64) {
        let mut map = self
            .timelines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = map.entry((name.to_string(), protocol)).or_insert(0);
        *n += delta;
        if *n <= 0 {
            map.remove(&(name.to_string(), protocol));
        }
    }
}

/// One connection, counted while it lives.
pub struct ConnectionGuard {
    stats: Arc<StreamStats>,
    protocol: Protocol,
    id: u64,
    position: Arc<AtomicI64>,
    timelines: Vec<String>,
}

impl ConnectionGuard {
    /// The connection now listens to `kind` too.
    pub fn subscribe(&mut self, kind: &StreamKind) {
        let name = kind.name();
        self.stats.timeline(&name, self.protocol, 1);
        self.timelines.push(name);
    }

    /// The connection no longer listens to `kind`.
    pub fn unsubscribe(&mut self, kind: &StreamKind) {
        let name = kind.name();
        if let Some(i) = self.timelines.iter().position(|t| *t == name) {
            self.timelines.swap_remove(i);
            self.stats.timeline(&name, self.protocol, -1);
        }
    }

    /// The connection has taken every event up to `id`.
    pub fn taken(&self, id: i64) {
        self.position.store(id, Ordering::Relaxed);
    }

    /// `n` messages were written to the client.
    pub fn sent(&self, n: u64) {
        self.stats.messages.fetch_add(n, Ordering::Relaxed);
    }

    /// The connection is being ended for falling behind.
    pub fn lagged(&self) {
        self.stats.lagged.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        match self.protocol {
            Protocol::Sse => self.stats.sse.fetch_sub(1, Ordering::Relaxed),
            Protocol::WebSocket => self.stats.websocket.fetch_sub(1, Ordering::Relaxed),
        };
        for t in std::mem::take(&mut self.timelines) {
            self.stats.timeline(&t, self.protocol, -1);
        }
        self.stats
            .positions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_connections_and_subscriptions() {
        let stats = Arc::new(StreamStats::default());
        let mut a = stats.connect(Protocol::WebSocket, 10);
        a.subscribe(&StreamKind::User);
        a.subscribe(&StreamKind::Public {
            local: Some(true),
            only_media: false,
        });
        let mut b = stats.connect(Protocol::Sse, 10);
        b.subscribe(&StreamKind::User);
        b.taken(12);
        let s = stats.snapshot(15);
        assert_eq!((s.sse, s.websocket), (1, 1));
        assert_eq!(s.timelines.get("user"), Some(&2));
        assert_eq!(s.timelines.get("public:local"), Some(&1));
        assert_eq!(s.longest_queue, 5);
        a.unsubscribe(&StreamKind::User);
        drop(b);
        let s = stats.snapshot(15);
        assert_eq!((s.sse, s.websocket), (0, 1));
        assert_eq!(s.timelines.get("user"), None);
        drop(a);
        let s = stats.snapshot(15);
        assert!(s.timelines.is_empty());
        assert_eq!(s.longest_queue, 0);
    }
}
