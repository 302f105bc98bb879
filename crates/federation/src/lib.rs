//! ActivityPub server-to-server for Sluice.
//!
//! - [`keys`]: RSA-2048 key pairs (aws-lc-rs), PEM in and out.
//! - [`signatures`]: HTTP signatures, draft-cavage and RFC 9421, signing and verifying,
//!   with `Digest` / `Content-Digest` and the `Date` window.
//! - [`document`]: tolerant parsing of remote ActivityStreams documents (actors,
//!   objects, activities, collections) into plain Rust types. No JSON-LD processing.
//! - [`inbox`]: verify, queue (bounded) and apply incoming activities, one module per
//!   activity kind; resolve remote actors (WebFinger, actor documents, keys); convert
//!   AS2 documents into what the engine stores.
//! - [`local`]: our own actors as others see them: lazily made signing keys, actor
//!   documents, the instance actor, outbox / followers / following collections.
//! - [`authorized`]: who signed a GET of our documents (blocked actors get 403).
//! - [`backfill`]: fetching the missing ancestors of a reply, within a depth, item and
//!   time budget.
//! - [`cards`]: link preview fetchers (per-host politeness, conditional GETs, limits).
//! - [`delivery`]: workers that send the queued deliveries, with backoff and a
//!   per-host circuit breaker (activities, and Web Push messages).
//! - [`push`]: Web Push messages encrypted (RFC 8291) and signed with VAPID (RFC 8292).
//! - [`service`]: the federation side of a running server (fetcher, signers,
//!   delivery workers).
//! - [`signer`]: signing as our actors (each local account, the instance actor).
//! - [`fetch`]: the one client for every outbound GET and POST: SSRF protection,
//!   timeouts, size caps, redirects re-checked, a TTL cache, per-host politeness.
//!
//! Sits beside `api`: may import engine, store and model, never api.

pub mod authorized;
pub mod backfill;
pub mod cards;
pub mod delivery;
pub mod document;
pub mod fetch;
pub mod imports;
pub mod inbox;
pub mod keys;
pub mod local;
pub mod outbox;
pub mod push;
pub mod service;
pub mod signatures;
pub mod signer;
pub mod ssrf;
