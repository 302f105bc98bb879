//! Accounts: by id, handle or IRI, the signed-in user's settings, relationships,
//! search, and the lists of an account's relations (followers, follows, blocks, …).

use sluice_model::{Id, api};
use sluice_store::{AccountRow, Page, Relation, Side, UserRow};

use super::AccountPage;
use crate::{Engine, Result};

impl Engine {
    /// A stored account.
    pub async fn account(&self, id: Id) -> Result<Option<AccountRow>> {
        Ok(self.store.account(id).await?)
    }

    /// The local user (settings, role) of an account.
    pub async fn user(&self, account: Id) -> Result<Option<UserRow>> {
        Ok(self.store.user(account).await?)
    }

    /// An account by `username` (local) or `username@domain`, any case; our own
    /// domain may be given.
    pub async fn account_by_acct(&self, acct: &str) -> Result<Option<AccountRow>> {
        Ok(self.store.account_by_acct(acct, self.urls.domain()).await?)
    }

    /// A local account by its name.
    pub async fn local_account(&self, name: &str) -> Result<Option<AccountRow>> {
        Ok(self
            .account_by_acct(name)
            .await?
            .filter(AccountRow::is_local))
    }

    /// An account by id whatever its state: a suspended one too (the inbox takes a
    /// suspended actor's news about itself, and moderators see them).
    pub async fn account_any(&self, id: Id) -> Result<Option<AccountRow>> {
        Ok(self.store.account_any(id).await?)
    }

    /// The account with this actor IRI, if stored.
    pub async fn account_by_uri(&self, uri: &str) -> Result<Option<AccountRow>> {
        Ok(self.store.account_by_uri(uri).await?)
    }

    /// Accounts by name or display name, most followed first; only those
    /// `following_of` follows when given.
    pub async fn search_accounts(
        &self,
        q: &str,
        following_of: Option<Id>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AccountRow>> {
        Ok(self
            .store
            .search_accounts(q, following_of, limit, offset)
            .await?)
    }

    /// Those of `ids` that name an account, in their order.
    async fn existing(&self, ids: &[Id]) -> Result<Vec<Id>> {
        let found: Vec<Id> = self
            .store
            .accounts(ids)
            .await?
            .iter()
            .map(|a| a.id)
            .collect();
        Ok(ids
            .iter()
            .copied()
            .filter(|id| found.contains(id))
            .collect())
    }

    /// The relationships of `me` with each of `targets` that exists, in the store's
    /// order.
    pub async fn relationships(&self, me: Id, targets: &[Id]) -> Result<Vec<api::Relationship>> {
        let ids = self.existing(targets).await?;
        let rows = self.store.relationships(me, &ids).await?;
        Ok(rows.iter().map(|r| self.relationship_entity(r)).collect())
    }

    /// `GET /api/v1/accounts/familiar_followers`: for each of `targets` that exists (in
    /// order), the accounts `me` follows that follow it, at most `per_target` each,
    /// newest follow first.
    pub async fn familiar_followers(
        &self,
        me: Id,
        targets: &[Id],
        per_target: i64,
    ) -> Result<Vec<api::FamiliarFollowers>> {
        let targets = self.existing(targets).await?;
        let pairs = self
            .store
            .familiar_followers(me, &targets, per_target)
            .await?;
        let mut followers: Vec<Id> = pairs.iter().map(|p| p.follower).collect();
        followers.sort_unstable();
        followers.dedup();
        let accounts = self.account_entities(&followers).await?;
        let by_id: std::collections::HashMap<&str, &api::Account> =
            accounts.iter().map(|a| (a.id.as_str(), a)).collect();
        Ok(targets
            .iter()
            .map(|t| api::FamiliarFollowers {
                id: t.to_string(),
                accounts: pairs
                    .iter()
                    .filter(|p| p.target == *t)
                    .filter_map(|p| by_id.get(p.follower.to_string().as_str()))
                    .map(|a| (*a).clone())
                    .collect(),
            })
            .collect())
    }

    /// One side of a relation of `account` (its followers, the accounts it blocks, …),
    /// paged by the relation row's id.
    pub async fn relation_accounts(
        &self,
        rel: Relation,
        side: Side,
        account: Id,
        page: Page,
    ) -> Result<AccountPage> {
        let rows = self.store.relation_list(rel, side, account, page).await?;
        self.account_page(rows).await
    }
}
