//! The store's types that the engine's functions take and return, for the crates above
//! it (federation, streaming), which reach the database only through the engine and do
//! not depend on the store crate.

pub use sluice_store::{
    AccountRow, CollectionRow, DeliveryRow, EventRow, InboxRow, KeyRow, ListedId, NewInboxActivity,
    OutboxItem, Page, RemoteActor, Side, StatusRow, StoreError, StreamListRow, pair,
};
