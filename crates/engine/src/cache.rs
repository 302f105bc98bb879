//! Small in-process caches for what nearly every request reads: the session behind a
//! bearer token, accounts and applications for rendering, the instance statistics.
//!
//! Why: on SQLite every query costs a hop to sqlx's connection thread and back, and a
//! page of statuses needs the same few accounts over and over. Each entry lives for a
//! bounded time (below); writes made through this process drop the entries they touch
//! right after commit, so a process never serves stale data of its own making. Writes by
//! another process (during an upgrade, or a second node) show up within the TTL.
//! Revoking a token drops every cached session, so revocation is immediate here.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sluice_model::Id;
use sluice_store::{AccountRow, AppRow};

use crate::oauth::Session;

/// Sessions are re-checked against the database at least this often, which bounds how
/// long a token revoked by *another* process keeps working.
pub const SESSION_TTL: Duration = Duration::from_secs(10);
/// Accounts change often (counters); a few seconds keep pages consistent enough while
/// saving the query on busy timelines.
pub const ACCOUNT_TTL: Duration = Duration::from_secs(5);
/// Applications never change after registration.
pub const APP_TTL: Duration = Duration::from_secs(3600);
/// Instance statistics (user and post counts) cost a count over whole tables.
pub const STATS_TTL: Duration = Duration::from_secs(60);
/// A user's compiled keyword filters (read by every timeline page they load).
pub const FILTER_TTL: Duration = Duration::from_secs(10);
/// The hashtags a user follows (read by every home page they load).
pub const FOLLOWED_TAGS_TTL: Duration = Duration::from_secs(10);
/// Trending tags and posts: one computation serves every reader for this long.
pub const TRENDS_TTL: Duration = Duration::from_secs(300);
/// The `no_access` IP blocks, checked on every request: a block made by another
/// process applies here within this time (at once when made through this process).
pub const NO_ACCESS_TTL: Duration = Duration::from_secs(10);
/// The domain blocks, asked for every remote post (media) and streamed post
/// (silence): a block made by another process applies here within this time.
pub const DOMAIN_BLOCKS_TTL: Duration = Duration::from_secs(5);
/// Entries per cache; a full cache is emptied and refilled, so memory stays bounded.
pub const MAX_ENTRIES: usize = 10_000;

/// A map whose entries expire.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    map: Mutex<HashMap<K, (V, Instant)>>,
    ttl: Duration,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache {
            map: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (V, Instant)>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, k: &K) -> Option<V> {
        let map = self.lock();
        map.get(k)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(v, _)| v.clone())
    }

    pub fn put(&self, k: K, v: V) {
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(k, (v, Instant::now()));
    }

    pub fn remove(&self, k: &K) {
        self.lock().remove(k);
    }

    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// A `no_access` IP block: its network, and when it ends (ms since the epoch).
pub type NoAccessNet = (ipnet::IpNet, Option<i64>);

/// The engine's caches.
#[derive(Debug)]
pub struct Caches {
    /// By SHA-256 of the bearer token.
    pub sessions: TtlCache<String, Session>,
    /// Live web sessions, by SHA-256 of the cookie's secret.
    pub web_sessions: TtlCache<String, sluice_store::WebSessionRow>,
    pub accounts: TtlCache<Id, AccountRow>,
    pub apps: TtlCache<Id, AppRow>,
    /// (local users, local posts).
    pub stats: TtlCache<(), (i64, i64)>,
    pub filters: TtlCache<Id, std::sync::Arc<sluice_model::filter::FilterSet>>,
    pub followed_tags: TtlCache<Id, std::sync::Arc<Vec<Id>>>,
    pub trends: TtlCache<(), std::sync::Arc<crate::tags::Trends>>,
    /// The instance's domain blocks.
    pub domain_blocks: TtlCache<(), std::sync::Arc<Vec<sluice_store::DomainBlockRow>>>,
    /// The unexpired `no_access` IP blocks: (network, expiry in ms since the epoch).
    pub no_access: TtlCache<(), std::sync::Arc<Vec<NoAccessNet>>>,
}

impl Caches {
    /// Drops every cached session, bearer and web: a token or a session was revoked,
    /// and none may keep working here.
    pub fn sessions_revoked(&self) {
        self.sessions.clear();
        self.web_sessions.clear();
    }
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            sessions: TtlCache::new(SESSION_TTL),
            web_sessions: TtlCache::new(SESSION_TTL),
            accounts: TtlCache::new(ACCOUNT_TTL),
            apps: TtlCache::new(APP_TTL),
            stats: TtlCache::new(STATS_TTL),
            filters: TtlCache::new(FILTER_TTL),
            followed_tags: TtlCache::new(FOLLOWED_TAGS_TTL),
            trends: TtlCache::new(TRENDS_TTL),
            no_access: TtlCache::new(NO_ACCESS_TTL),
            domain_blocks: TtlCache::new(DOMAIN_BLOCKS_TTL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_dropped() {
        let c: TtlCache<u32, &str> = TtlCache::new(Duration::from_millis(50));
        c.put(1, "a");
        assert_eq!(c.get(&1), Some("a"));
        c.remove(&1);
        assert_eq!(c.get(&1), None);
        c.put(2, "b");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get(&2), None);
    }
}
