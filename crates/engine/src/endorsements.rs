//! What a person features and hides for themselves: endorsed accounts (shown on their
//! profile), muted conversations (no notifications from a thread), and the profile
//! directory of accounts that opted into discovery.

use sluice_model::Id;
use sluice_store::{AccountRow, Page, StatusRow};

use crate::read::AccountPage;

use crate::{Engine, EngineError, Result};

/// Accounts one account may endorse at once.
pub const MAX_ENDORSEMENTS: i64 = 100;
/// Most accounts one page of the directory shows (Mastodon: 80).
pub const MAX_DIRECTORY_LIMIT: i64 = 80;
/// Furthest a directory `offset` goes: deeper pages cost more than they are worth.
pub const MAX_DIRECTORY_OFFSET: i64 = 10_000;

impl Engine {
    /// Endorses `target` (`on`) or stops. As Mastodon, only an account one follows can
    /// be endorsed, and ending the follow ends the endorsement.
    pub async fn endorse(&self, me: Id, target: Id, on: bool) -> Result<()> {
        let account = self
            .store
            .account(target)
            .await?
            .ok_or(EngineError::NotFound)?;
        if account.suspended_at.is_some() {
            return Err(EngineError::NotFound);
        }
        if me == target {
            return Err(EngineError::invalid("You cannot endorse yourself"));
        }
        let now = sluice_model::id::now_millis();
        if on {
            let rel = self.store.relationships(me, &[target]).await?;
            if !rel.first().is_some_and(|r| r.following) {
                return Err(EngineError::invalid(
                    "You must be following this account to endorse it",
                ));
            }
            if !rel.first().is_some_and(|r| r.endorsed)
                && self.store.count_endorsements(me).await? >= MAX_ENDORSEMENTS
            {
                return Err(EngineError::invalid(format!(
                    "You cannot endorse more than {MAX_ENDORSEMENTS} accounts"
                )));
            }
        }
        self.store
            .set_endorsement(self.ids.next_at(now), me, target, on, now)
            .await
            .map_err(Into::into)
    }

    /// The accounts `account` endorses, paged by endorsement, newest first.
    pub async fn endorsements(&self, account: Id, page: Page) -> Result<AccountPage> {
        let rows = self.store.endorsements(account, page).await?;
        self.account_page(rows).await
    }

    /// Mutes (`on`) or unmutes the thread of a status the viewer may see: no
    /// notifications come from it while muted. Answers the status.
    pub async fn mute_conversation(&self, me: Id, status: Id, on: bool) -> Result<StatusRow> {
        let s = self.visible_status(Some(me), status).await?;
        let now = sluice_model::id::now_millis();
        self.store
            .set_conversation_mute(me, s.thread_id, on, now)
            .await?;
        Ok(s)
    }

    /// The profile directory (`GET /api/v1/directory`).
    pub async fn directory(
        &self,
        viewer: Option<Id>,
        local_only: bool,
        by_activity: bool,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AccountRow>> {
        Ok(self
            .store
            .directory(
                viewer,
                local_only,
                by_activity,
                limit.clamp(1, MAX_DIRECTORY_LIMIT),
                offset.clamp(0, MAX_DIRECTORY_OFFSET),
            )
            .await?)
    }
}
