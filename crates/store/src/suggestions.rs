//! Whom to follow (`/api/v2/suggestions`): accounts followed by those the user follows,
//! and the most followed local accounts; both leave out whom the user follows, asked to
//! follow, blocked either way, muted or dismissed. Read with bounded work: only the
//! user's newest follows are looked through.

use crate::query::Query;
use crate::{Id, Result, Store};

/// An account suggested, with how many of the user's follows follow it (0 for a most
/// followed one).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SuggestionRow {
    pub id: Id,
    pub mutuals: i64,
}

/// The candidates an account `c.id` must not be, for user `$1`.
const NOT_FOR_ME: &str = "c.id <> $1 AND c.suspended_at IS NULL AND c.silenced_at IS NULL AND c.discoverable = TRUE
    AND NOT EXISTS (SELECT 1 FROM follows x WHERE x.account_id = $1 AND x.target_account_id = c.id)
    AND NOT EXISTS (SELECT 1 FROM follow_requests x WHERE x.account_id = $1 AND x.target_account_id = c.id)
    AND NOT EXISTS (SELECT 1 FROM blocks x WHERE (x.account_id = $1 AND x.target_account_id = c.id)
                                            OR (x.account_id = c.id AND x.target_account_id = $1))
    AND NOT EXISTS (SELECT 1 FROM mutes x WHERE x.account_id = $1 AND x.target_account_id = c.id)
    AND NOT EXISTS (SELECT 1 FROM suggestion_dismissals x WHERE x.account_id = $1 AND x.target_account_id = c.id)";

impl Store {
    /// Accounts followed by the newest `scan` accounts `me` follows, most followed by
    /// them first, at most `limit`.
    pub async fn friends_of_friends(
        &self,
        me: Id,
        scan: i64,
        limit: i64,
    ) -> Result<Vec<SuggestionRow>> {
        self.all(
            Query::new(format!(
                "SELECT c.id, count(*) AS mutuals
                 FROM (SELECT target_account_id FROM follows WHERE account_id = $1 ORDER BY id DESC LIMIT $2) mine
                 JOIN follows f2 ON f2.account_id = mine.target_account_id
                 JOIN accounts c ON c.id = f2.target_account_id
                 WHERE {NOT_FOR_ME}
                 GROUP BY c.id ORDER BY mutuals DESC, c.id DESC LIMIT $3"
            ))
            .bind(me)
            .bind(scan)
            .bind(limit),
        )
        .await
    }

    /// The local accounts with the most followers, at most `limit`.
    pub async fn most_followed_local(&self, me: Id, limit: i64) -> Result<Vec<SuggestionRow>> {
        self.all(
            Query::new(format!(
                "SELECT c.id, CAST(0 AS BIGINT) AS mutuals FROM accounts c
                 WHERE c.domain = '' AND c.followers_count > 0 AND {NOT_FOR_ME}
                 ORDER BY c.followers_count DESC, c.id DESC LIMIT $2"
            ))
            .bind(me)
            .bind(limit),
        )
        .await
    }

    /// `me` does not want `target` suggested again.
    pub async fn dismiss_suggestion(&self, me: Id, target: Id, now: i64) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO suggestion_dismissals (account_id, target_account_id, created_at)
                 VALUES ($1, $2, $3) ON CONFLICT (account_id, target_account_id) DO NOTHING",
            )
            .bind(me)
            .bind(target)
            .bind(now),
        )
        .await?;
        Ok(())
    }
}
