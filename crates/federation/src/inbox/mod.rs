//! The inbox: verify who sent an activity, answer quickly, apply it on a bounded queue.
//!
//! - [`receive`]: a POST to `/inbox` or `/users/:name/inbox` is checked in the request
//!   (HTTP signature, digest, date window, the key's owner against the actor), parsed
//!   and written to the queue (group commit), and the answer is `202 Accepted`; `503`
//!   with `Retry-After` when the queue is full.
//! - [`queue`]: the queue is a table (`inbox_queue`), written before the 202, so an
//!   accepted activity is applied even if the process stops first. Processors claim
//!   rows with a lease, apply them, and retry what may pass; activities about one thing
//!   (a post and its Update, a boost and its Undo) are applied one at a time in arrival
//!   order ([`queue::order_key`]).
//! - [`resolve`]: remote actors (WebFinger, actor documents) and their keys.
//! - [`convert`]: AS2 documents into what the engine stores (accounts, posts, the
//!   activity's record).
//! - One module per activity kind ([`create`], [`update`], [`delete`], [`follow`],
//!   [`accept_reject`], [`like`], [`react`], [`announce`], [`undo`], [`block`], [`flag`],
//!   [`move_`], [`add_remove`], [`quote_request`]), each applying its kind through the engine's remote
//!   functions, which are idempotent by activity id; [`apply`] dispatches on the kind.
//!   An `Add` of an activity is a thread owner relaying a reply (FEP-171b,
//!   [`conversation`]).
//!
//! Activities that arrive out of order anyway (a sender's retries reorder deliveries)
//! still end where the sender meant: an Update of an unknown post stores it, an Undo of
//! an activity not yet arrived is remembered, a Delete leaves a tombstone.

mod accept_reject;
mod add_remove;
mod announce;
mod block;
mod conversation;
pub(crate) mod convert;
mod create;
mod delete;
mod error;
mod flag;
mod follow;
mod like;
mod move_;
pub(crate) mod queue;
mod quote_request;
mod react;
pub(crate) mod receive;
pub(crate) mod resolve;
mod undo;
mod update;

use sluice_engine::remote::{Ignored, RemoteActivity};
use sluice_engine::rows::AccountRow;

pub(crate) use convert::summary_html;

/// [`create::check_quote`] without fetching the quoted post (for a fetched post).
pub(crate) async fn create_check_quote(
    fed: &Federation,
    note: &sluice_engine::remote::RemoteNote,
) -> sluice_engine::remote::RemoteNote {
    create::check_quote(fed, note, false).await
}
pub use error::InboxError;
pub(crate) use error::fetch_failed;
pub use queue::{INBOX_CONCURRENCY, INBOX_MAX_ATTEMPTS, run_processors};
pub(crate) use receive::InboxBatcher;
pub use receive::{INBOX_QUEUE, INBOX_RETRY_AFTER, MAX_INBOX_BODY};
pub use resolve::ACTOR_REFRESH;

use crate::document::{Activity, ActivityKind};
use crate::service::Federation;

/// One verified activity being applied: who sent it, what it says, and the record of it
/// the engine stores.
pub(super) struct Inbound<'a> {
    pub fed: &'a Federation,
    pub actor: &'a AccountRow,
    pub activity: &'a Activity,
    pub record: &'a RemoteActivity,
}

impl Inbound<'_> {
    /// Records the activity as accepted but not applied, for `reason` (counted).
    async fn ignore(&self, reason: Ignored) -> Result<(), InboxError> {
        self.fed
            .engine
            .remote_ignored(self.actor, self.record, reason)
            .await?;
        Ok(())
    }
}

/// Applies one verified activity of `actor`, whose JSON as received is `json`: by its
/// kind, in that kind's module.
pub(crate) async fn apply(
    fed: &Federation,
    actor: &AccountRow,
    activity: &Activity,
    json: String,
) -> Result<(), InboxError> {
    let record = convert::remote_activity(&fed.engine, activity, json);
    let inbound = Inbound {
        fed,
        actor,
        activity,
        record: &record,
    };
    let i = &inbound;
    match activity.kind {
        ActivityKind::Create => create::apply(i).await,
        ActivityKind::Update => update::apply(i).await,
        ActivityKind::Delete => delete::apply(i).await,
        ActivityKind::Follow => follow::apply(i).await,
        ActivityKind::Accept | ActivityKind::Reject => accept_reject::apply(i).await,
        ActivityKind::Like => like::apply(i).await,
        ActivityKind::EmojiReact => react::apply(i).await,
        ActivityKind::Announce => announce::apply(i).await,
        ActivityKind::Undo => undo::apply(i).await,
        ActivityKind::Block => block::apply(i).await,
        ActivityKind::Flag => flag::apply(i).await,
        ActivityKind::Move => move_::apply(i).await,
        ActivityKind::Add | ActivityKind::Remove => add_remove::apply(i).await,
        ActivityKind::QuoteRequest => quote_request::apply(i).await,
        _ => i.ignore(Ignored::UnsupportedType).await,
    }
}
