//! A user's lists, their members, and the user's blocked domains.

use sluice_model::Id;
use sluice_store::{ListRow, Page};

use super::AccountPage;
use crate::{Engine, EngineError, Result};

impl Engine {
    /// The list `id` of `owner`; None when it is someone else's or does not exist.
    pub async fn list(&self, owner: Id, id: Id) -> Result<Option<ListRow>> {
        Ok(self.store.list(owner, id).await?)
    }

    /// Every list of `owner`.
    pub async fn lists(&self, owner: Id) -> Result<Vec<ListRow>> {
        Ok(self.store.lists_of(owner).await?)
    }

    /// The lists of `owner` that hold `account` (NotFound when there is no such
    /// account).
    pub async fn lists_containing(&self, owner: Id, account: Id) -> Result<Vec<ListRow>> {
        self.store
            .account(account)
            .await?
            .ok_or(EngineError::NotFound)?;
        Ok(self.store.lists_containing(owner, account).await?)
    }

    /// The members of a list, paged by membership.
    pub async fn list_members(&self, list: Id, page: Page) -> Result<AccountPage> {
        let rows = self.store.list_members(list, page).await?;
        self.account_page(rows).await
    }

    /// The domains `me` blocked, with the block rows' ids to page by.
    pub async fn blocked_domains(&self, me: Id, page: Page) -> Result<(Vec<String>, Vec<Id>)> {
        let rows = self.store.account_domain_blocks(me, page).await?;
        let cursors = rows.iter().map(|r| r.id).collect();
        Ok((rows.into_iter().map(|r| r.domain).collect(), cursors))
    }
}
