//! The store's types that the engine's functions take and return, for the crates above
//! it (api, federation, streaming), which reach the database only through the engine and do
//! not depend on the store crate.

pub use sluice_store::{
    AccountRow, AccountStatus, AccountWarningRow, AdminAccountFilter, AdminAccountRow,
    AdminActionRow, ArchiveRow, CardOutcome, CollectionRow, DeliveryRow, EventRow, ImportDataRow,
    ImportRow, InboxRow, KeyRow, ListRow, ListedId, Locality, MediaRow, NewInboxActivity,
    NotificationFilter, Origin, OutboxItem, Page, PreviewCardRow, ProfileUpdate, Relation,
    RemoteActor, ReportFilter, ReportRow, Saved, Side, StatusRow, StoreError, StoredActivity,
    StreamListRow, UserRow, pair,
};
pub use sluice_store::{
    CanonicalEmailBlockRow, DomainBlockRow, DomainList, DomainRow, IpBlockRow, RuleRow,
};
