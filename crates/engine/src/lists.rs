//! Lists and user-level domain blocks: private per-user state that does not federate
//! (except the `Reject`s a domain block sends to the followers it removes).
//!
//! Every change writes an internal `lists` event for its owner: that user's streaming
//! connections reload their list members and blocked domains (they never query per
//! event). The event has no payload and is never sent to a client.

use sluice_model::Id;
use sluice_model::activity::Verb;
use sluice_store::{AccountCounter, ListOutcome, ListRow, NewEvent};

use crate::{Engine, EngineError, Result};

/// Most lists one user may have.
pub const MAX_LISTS: i64 = 50;
/// Longest list title, in characters.
pub const MAX_LIST_TITLE_CHARS: usize = 256;
/// Most accounts one list may hold. With [`MAX_LISTS`], a user's memberships fit in
/// what a streaming connection holds in memory (100,000 rows).
pub const MAX_LIST_ACCOUNTS: i64 = 2_000;
/// Most domains one user may block.
pub const MAX_DOMAIN_BLOCKS: i64 = 10_000;
/// Longest domain accepted (a DNS name, with a port).
pub const MAX_DOMAIN_CHARS: usize = 253 + 6;
/// Followers (and follow requests) removed by one domain block, in its transaction.
pub const MAX_FOLLOWERS_REMOVED: i64 = 10_000;

/// Mastodon's `replies_policy` values; the first is the default.
pub const REPLIES_POLICIES: [&str; 3] = ["list", "followed", "none"];

/// A change to a list (`PUT /api/v1/lists/:id`): what is None stays.
#[derive(Debug, Clone, Default)]
pub struct ListChange {
    pub title: Option<String>,
    pub replies_policy: Option<String>,
    pub exclusive: Option<bool>,
}

fn check_title(title: &str) -> Result<String> {
    let title = title.trim();
    if title.is_empty() {
        return Err(EngineError::invalid(
            "Validation failed: Title can't be blank",
        ));
    }
    if title.chars().count() > MAX_LIST_TITLE_CHARS {
        return Err(EngineError::invalid(format!(
            "Validation failed: Title is too long (maximum is {MAX_LIST_TITLE_CHARS} characters)"
        )));
    }
    Ok(title.to_string())
}

fn check_policy(policy: &str) -> Result<String> {
    if REPLIES_POLICIES.contains(&policy) {
        Ok(policy.to_string())
    } else {
        Err(EngineError::invalid(
            "Validation failed: Replies policy must be one of followed, list, none",
        ))
    }
}

/// A domain as users type it (`Example.COM`, `https://example.com/`), lowercased and
/// bare; None when it is not a plausible host name (with an optional port).
pub fn normalize_domain(input: &str) -> Option<String> {
    let d = input.trim();
    let d = d
        .strip_prefix("https://")
        .or_else(|| d.strip_prefix("http://"))
        .unwrap_or(d);
    let d = d.trim_end_matches('/').to_lowercase();
    let ok = !d.is_empty()
        && d.chars().count() <= MAX_DOMAIN_CHARS
        && !d.starts_with(['.', '-', ':'])
        && !d.ends_with(['.', '-', ':'])
        && !d.contains("..")
        && d.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    ok.then_some(d)
}

/// The internal event telling `owner`'s streaming connections to reload their lists
/// and blocked domains.
pub(crate) fn lists_event(owner: Id) -> NewEvent {
    NewEvent {
        kind: "lists".into(),
        account_id: Some(owner),
        ..Default::default()
    }
}

impl Engine {
    async fn own_list(&self, owner: Id, id: Id) -> Result<ListRow> {
        self.store
            .list(owner, id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// Commits a change and its `lists` event.
    async fn commit_lists_change(&self, tx: sluice_store::WriteTx, owner: Id) -> Result<()> {
        let mut changes = crate::effects::Changes::at(sluice_model::id::now_millis());
        changes.events([lists_event(owner)]);
        self.commit(tx, changes).await
    }

    /// Creates a list (at most [`MAX_LISTS`] per user).
    pub async fn create_list(
        &self,
        owner: Id,
        title: &str,
        replies_policy: Option<&str>,
        exclusive: bool,
    ) -> Result<ListRow> {
        let list = ListRow {
            id: self.new_id(),
            account_id: owner,
            title: check_title(title)?,
            replies_policy: check_policy(replies_policy.unwrap_or(REPLIES_POLICIES[0]))?,
            exclusive,
            created_at: sluice_model::id::now_millis(),
        };
        let mut tx = self.store.begin().await?;
        if tx.insert_list(&list, MAX_LISTS).await? == ListOutcome::LimitReached {
            return Err(EngineError::invalid(format!(
                "Validation failed: You cannot have more than {MAX_LISTS} lists"
            )));
        }
        self.commit_lists_change(tx, owner).await?;
        Ok(list)
    }

    /// Changes a list's title, replies policy or exclusivity.
    pub async fn update_list(&self, owner: Id, id: Id, change: ListChange) -> Result<ListRow> {
        let mut list = self.own_list(owner, id).await?;
        if let Some(t) = &change.title {
            list.title = check_title(t)?;
        }
        if let Some(p) = &change.replies_policy {
            list.replies_policy = check_policy(p)?;
        }
        if let Some(e) = change.exclusive {
            list.exclusive = e;
        }
        let mut tx = self.store.begin().await?;
        if !tx.update_list(&list).await? {
            return Err(EngineError::NotFound);
        }
        self.commit_lists_change(tx, owner).await?;
        Ok(list)
    }

    pub async fn delete_list(&self, owner: Id, id: Id) -> Result<()> {
        let mut tx = self.store.begin().await?;
        if !tx.delete_list(owner, id).await? {
            return Err(EngineError::NotFound);
        }
        self.commit_lists_change(tx, owner).await
    }

    /// Adds accounts to a list. As Mastodon: every account must exist (else 404) and
    /// be followed by the owner (else 422); adding a member again changes nothing.
    pub async fn add_to_list(&self, owner: Id, id: Id, accounts: &[Id]) -> Result<()> {
        let list = self.own_list(owner, id).await?;
        let mut accounts = accounts.to_vec();
        accounts.sort_unstable();
        accounts.dedup();
        if accounts.is_empty() {
            return Ok(());
        }
        if accounts.len() as i64 > MAX_LIST_ACCOUNTS {
            return Err(too_many_members());
        }
        if self.store.accounts(&accounts).await?.len() != accounts.len() {
            return Err(EngineError::NotFound);
        }
        if self.store.followed_among(owner, &accounts).await?.len() != accounts.len() {
            return Err(EngineError::invalid(
                "Validation failed: Account has not been followed",
            ));
        }
        let mut tx = self.store.begin().await?;
        let fresh = tx.fresh_list_members(list.id, &accounts).await?;
        if fresh.is_empty() {
            return Ok(());
        }
        let added = tx
            .add_list_members(owner, list.id, &fresh, MAX_LIST_ACCOUNTS)
            .await?;
        if added == 0 {
            // Either the list is full, or every account was unfollowed meanwhile.
            return Err(too_many_members());
        }
        self.commit_lists_change(tx, owner).await
    }

    pub async fn remove_from_list(&self, owner: Id, id: Id, accounts: &[Id]) -> Result<()> {
        let list = self.own_list(owner, id).await?;
        let mut tx = self.store.begin().await?;
        if tx.remove_list_members(list.id, accounts).await? == 0 {
            return Ok(());
        }
        self.commit_lists_change(tx, owner).await
    }

    /// Blocks a domain for `owner`: its accounts' posts and notifications are hidden
    /// from them, and (as Mastodon) its accounts stop following them: each removed
    /// follower (and pending request) is sent a `Reject` of its follow.
    pub async fn block_domain(&self, owner: Id, domain: &str) -> Result<()> {
        let domain = normalize_domain(domain)
            .ok_or_else(|| EngineError::invalid("Validation failed: Domain is not valid"))?;
        if domain == self.urls.domain() {
            return Err(EngineError::invalid(
                "Validation failed: You cannot block your own domain",
            ));
        }
        let me = self
            .store
            .account(owner)
            .await?
            .ok_or(EngineError::NotFound)?;
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        if !tx
            .insert_account_domain_block(owner, &domain, self.new_id(), now, MAX_DOMAIN_BLOCKS)
            .await?
        {
            if self.store.blocks_domain(owner, &domain).await? {
                return Ok(()); // blocked before
            }
            return Err(EngineError::invalid(format!(
                "Validation failed: You cannot block more than {MAX_DOMAIN_BLOCKS} domains"
            )));
        }
        let followers = tx
            .remove_followers_from_domain(owner, &domain, MAX_FOLLOWERS_REMOVED)
            .await?;
        let requests = tx
            .remove_follow_requests_from_domain(owner, &domain, MAX_FOLLOWERS_REMOVED)
            .await?;
        for (follower, _) in &followers {
            tx.bump_account_counter(owner, AccountCounter::Followers, -1)
                .await?;
            tx.bump_account_counter(*follower, AccountCounter::Following, -1)
                .await?;
        }
        let ids: Vec<Id> = followers.iter().chain(&requests).map(|f| f.0).collect();
        let accounts = self.store.accounts(&ids).await?;
        for (follower, follow_uri) in followers.iter().chain(&requests) {
            let Some(f) = accounts.iter().find(|a| a.id == *follower) else {
                continue;
            };
            if f.is_local() {
                continue;
            }
            let object = crate::as2::object_ref("Follow", follow_uri, &f.uri, &me.uri);
            let id = format!("{}#rejects/{}", me.uri, self.new_id());
            let reject = crate::pipeline::Outgoing::to(
                Verb::Reject,
                &id,
                object,
                std::slice::from_ref(&f.uri),
            );
            self.record_activity(&mut tx, &me, reject, now).await?;
        }
        self.commit_lists_change(tx, owner).await?;
        let mut changed = ids;
        changed.push(owner);
        self.accounts_changed(&changed);
        Ok(())
    }

    pub async fn unblock_domain(&self, owner: Id, domain: &str) -> Result<()> {
        let Some(domain) = normalize_domain(domain) else {
            return Ok(()); // never blocked: nothing to undo
        };
        let mut tx = self.store.begin().await?;
        if !tx.delete_account_domain_block(owner, &domain).await? {
            return Ok(());
        }
        self.commit_lists_change(tx, owner).await
    }
}

fn too_many_members() -> EngineError {
    EngineError::invalid(format!(
        "Validation failed: A list holds at most {MAX_LIST_ACCOUNTS} accounts"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalized() {
        assert_eq!(
            normalize_domain(" Evil.Example "),
            Some("evil.example".into())
        );
        assert_eq!(
            normalize_domain("https://evil.example/"),
            Some("evil.example".into())
        );
        assert_eq!(
            normalize_domain("localhost:3000"),
            Some("localhost:3000".into())
        );
        for bad in ["", " ", "a b", "evil.example/path", ".evil", "x..y", "a@b"] {
            assert_eq!(normalize_domain(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn titles_and_policies() {
        assert!(check_title("  ").is_err());
        assert!(check_title(&"x".repeat(MAX_LIST_TITLE_CHARS + 1)).is_err());
        assert_eq!(check_title(" Friends ").unwrap(), "Friends");
        assert!(check_policy("list").is_ok());
        assert!(check_policy("everyone").is_err());
    }
}
