//! Mastodon-compatible streaming that loses nothing.
//!
//! Every event a client can see is a row of the durable event log, written in the
//! transaction of the change it describes (the store's event log). One [`Hub`] per
//! process tails the log: woken by this process's own commits, and polling every
//! [`TAIL_POLL`] for rows other processes wrote to the same database. It renders each
//! event's payload once (a status as an anonymous reader sees it, a notification for
//! its recipient) and broadcasts it to every connection, which filters in memory with
//! what it loaded once: the user's follows, blocks both ways, mutes, lists and blocked
//! domains (reloaded when they change). No database query per event per connection.
//!
//! Nothing lost: every event carries its log id (`id:` in SSE). A client that comes
//! back with `Last-Event-ID` first gets, in order and once, every event it missed that
//! the log still holds, then the live stream. A connection that falls too far behind
//! the broadcast (a slow reader) is ended with a reason; it can resume the same way.

mod feed;
mod filter;
mod hub;
mod lists;
pub mod redis;
mod sse;
pub mod stats;
mod ws;

pub use feed::{Feed, FeedItem};
pub use filter::{Relations, StreamKind};
pub use hub::{Event, Hub, HubConfig, TAIL_POLL};
pub use sse::{SseOptions, SseStream, heartbeat, sse_headers, sse_stream};
pub use stats::{ConnectionGuard, Protocol, Snapshot, StreamStats};
pub use ws::{Handshake, Refusal, Subscriptions, WsReady, WsStream};
