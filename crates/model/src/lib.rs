//! The vocabulary of Sluice, shared by every other crate: time-sortable ids, timestamps,
//! OAuth scopes, visibility/audiences, the ActivityStreams shapes we emit, the Mastodon
//! API entities we render, and plain-text/HTML content handling.
//!
//! This crate is pure: no I/O, no async, no database. Everything here can be tested
//! with a value in and a value out.

pub mod activity;
pub mod api;
pub mod card;
pub mod content;
pub mod filter;
pub mod id;
pub mod media;
pub mod scope;
pub mod search;
pub mod time;
pub mod visibility;

pub use id::{Id, IdGenerator};
pub use time::Timestamp;
pub use visibility::Visibility;
