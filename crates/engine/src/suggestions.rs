//! Whom to follow (`/api/v2/suggestions`, `/api/v1/suggestions`): first the accounts
//! that many of the user's follows follow (Mastodon's `friends_of_friends`), then the
//! most followed local accounts (`most_followed`). Accounts that did not opt into
//! discovery, and whom the user follows, blocked, muted or dismissed, are left out.

use sluice_model::{Id, api};

use crate::{Engine, EngineError, Result};

/// The user's newest follows looked through for friends of friends: the bound on the
/// work of one request.
pub const SUGGESTION_FOLLOWS_SCAN: i64 = 200;

/// Why an account is suggested (Mastodon's `sources`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuggestionSource {
    FriendsOfFriends,
    MostFollowed,
}

impl SuggestionSource {
    /// The `sources` value.
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionSource::FriendsOfFriends => "friends_of_friends",
            SuggestionSource::MostFollowed => "most_followed",
        }
    }

    /// The deprecated `source` value (Mastodon 3.4's).
    pub fn legacy(self) -> &'static str {
        match self {
            SuggestionSource::FriendsOfFriends => "past_interactions",
            SuggestionSource::MostFollowed => "global",
        }
    }
}

impl Engine {
    /// Up to `limit` accounts for `me` to follow, with why.
    pub async fn follow_suggestions(
        &self,
        me: Id,
        limit: i64,
    ) -> Result<Vec<(SuggestionSource, api::Account)>> {
        let mut picked: Vec<(SuggestionSource, Id)> = self
            .store
            .friends_of_friends(me, SUGGESTION_FOLLOWS_SCAN, limit)
            .await?
            .into_iter()
            .map(|r| (SuggestionSource::FriendsOfFriends, r.id))
            .collect();
        if (picked.len() as i64) < limit {
            for r in self.store.most_followed_local(me, limit).await? {
                if (picked.len() as i64) < limit && !picked.iter().any(|(_, id)| *id == r.id) {
                    picked.push((SuggestionSource::MostFollowed, r.id));
                }
            }
        }
        let ids: Vec<Id> = picked.iter().map(|(_, id)| *id).collect();
        let accounts = self.account_entities(&ids).await?;
        Ok(picked
            .into_iter()
            .filter_map(|(source, id)| {
                let id = id.to_string();
                accounts
                    .iter()
                    .find(|a| a.id == id)
                    .map(|a| (source, a.clone()))
            })
            .collect())
    }

    /// `me` does not want `target` suggested again (404 when there is no such account).
    pub async fn dismiss_suggestion(&self, me: Id, target: Id) -> Result<()> {
        self.store
            .account(target)
            .await?
            .ok_or(EngineError::NotFound)?;
        self.store
            .dismiss_suggestion(me, target, sluice_model::id::now_millis())
            .await?;
        Ok(())
    }
}
