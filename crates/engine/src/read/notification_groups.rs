//! Grouped notifications, as Mastodon 4.3's `/api/v2/notifications` gives them.
//!
//! Favourites and reblogs of one status, and follows, made within the same 12-hour
//! window share a group key (`favourite-<status id>-<hour>`, `reblog-<status id>-<hour>`,
//! `follow-<hour>`, the hour counted from the epoch and a multiple of 12); any other
//! notification is its own group, `ungrouped-<id>`. Mastodon stores the key when it
//! makes the notification and starts a window at the first notification of a group;
//! here the key is computed from the notification itself with fixed windows, so it can
//! be parsed back into the notifications it covers (kind, status, time range) without a
//! stored column, and the v1 notifications carry the same key.
//!
//! A page reads a bounded window of notifications (a few rows per group asked for),
//! groups them in order and stops at the first notification that would start a group
//! past the limit; the page covers a contiguous run of notification ids, so paging by
//! notification id (`max_id`, `since_id`, `min_id`) neither skips nor repeats one. A
//! group may show again on the next page with its older notifications, as in Mastodon.

use std::collections::{HashMap, HashSet};

use sluice_model::{Id, api};
use sluice_store::{NotificationFilter, NotificationGroupKey, NotificationRow, Page};

use crate::{Engine, Result};

/// The notification types grouped by default (and the only ones ever grouped).
pub const GROUPABLE_TYPES: &[&str] = &["favourite", "reblog", "follow"];
/// How many hours one group spans at most.
const SPAN_HOURS: i64 = 12;
const HOUR_MS: i64 = 3_600_000;
/// Notification rows read per group asked for, and at most per page.
const ROWS_PER_GROUP: i64 = 4;
const MAX_WINDOW: i64 = 320;
/// Sample accounts per group (Mastodon: 8).
const SAMPLE_ACCOUNTS: usize = 8;
/// Most notifications read for one group (its fetch, accounts) or an unread count.
const GROUP_READ_CAP: i64 = 1000;

/// The group key of a notification (see the module documentation).
pub fn group_key(id: Id, kind: &str, status_id: Option<Id>, created_at: i64) -> String {
    let hour = created_at.div_euclid(HOUR_MS).div_euclid(SPAN_HOURS) * SPAN_HOURS;
    match (kind, status_id) {
        ("favourite" | "reblog", Some(s)) => format!("{kind}-{s}-{hour}"),
        ("follow", _) => format!("follow-{hour}"),
        _ => format!("ungrouped-{id}"),
    }
}

/// What a group key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKey {
    /// `ungrouped-<id>`: one notification.
    Single(Id),
    /// The notifications of a kind (about a status) in a time window.
    Group(NotificationGroupKey),
}

/// Parses a group key; None when it is not one this server gives.
pub fn parse_group_key(key: &str) -> Option<GroupKey> {
    if let Some(id) = key.strip_prefix("ungrouped-") {
        return id.parse().ok().map(GroupKey::Single);
    }
    let (kind, rest) = key.split_once('-')?;
    let (status_id, hour) = match kind {
        "favourite" | "reblog" => {
            let (s, h) = rest.split_once('-')?;
            (Some(s.parse::<Id>().ok()?), h)
        }
        "follow" => (None, rest),
        _ => return None,
    };
    let hour: i64 = hour.parse().ok()?;
    if hour.rem_euclid(SPAN_HOURS) != 0 {
        return None;
    }
    let from = hour.checked_mul(HOUR_MS)?;
    let to = from.checked_add(SPAN_HOURS * HOUR_MS)?;
    Some(GroupKey::Group(NotificationGroupKey {
        kind: kind.to_string(),
        status_id,
        from,
        to,
    }))
}

/// The key a notification is listed under when only `grouped` types are grouped.
fn key_for(n: &NotificationRow, grouped: &[String]) -> String {
    if grouped.contains(&n.kind) {
        group_key(n.id, &n.kind, n.status_id, n.created_at)
    } else {
        format!("ungrouped-{}", n.id)
    }
}

/// A page of grouped notifications and what its `Link` header is written from.
#[derive(Debug, Default)]
pub struct GroupedPage {
    pub body: api::GroupedNotifications,
    /// The newest and oldest notification ids the page covers.
    pub newest: Option<Id>,
    pub oldest: Option<Id>,
    /// Whether more notifications may lie past the page.
    pub more: bool,
}

impl Engine {
    /// A page of at most `page.limit` notification groups of `me`; only `grouped`
    /// types are grouped. `partial` gives the accounts that are not the most recent of
    /// their group as partial accounts (`expand_accounts=partial_avatars`).
    pub async fn grouped_notifications_page(
        &self,
        me: Id,
        filter: &NotificationFilter,
        grouped: &[String],
        partial: bool,
        page: Page,
    ) -> Result<GroupedPage> {
        let window = (page.limit * ROWS_PER_GROUP).clamp(1, MAX_WINDOW);
        let mut rows = self
            .store
            .notifications(
                me,
                filter,
                Page {
                    limit: window,
                    ..page
                },
            )
            .await?;
        let read = rows.len() as i64;
        // Consume from the side the page continues from: the newest end, or the oldest
        // with `min_id` (the page right after it).
        if page.min_id.is_some() {
            rows.reverse();
        }
        let mut keys: HashSet<String> = HashSet::new();
        let mut taken = Vec::new();
        let mut stopped = false;
        for n in rows {
            let key = key_for(&n, grouped);
            if !keys.contains(&key) {
                if keys.len() as i64 >= page.limit {
                    stopped = true;
                    break;
                }
                keys.insert(key.clone());
            }
            taken.push((key, n));
        }
        if page.min_id.is_some() {
            taken.reverse();
        }
        let newest = taken.first().map(|(_, n)| n.id);
        let oldest = taken.last().map(|(_, n)| n.id);
        let body = self.render_groups(me, taken, partial).await?;
        Ok(GroupedPage {
            body,
            newest,
            oldest,
            more: stopped || read >= window,
        })
    }

    /// The notifications of `me` a group key names (at most a bounded number, newest
    /// first), each with the key; empty when the key is not one of ours.
    async fn group_members(&self, me: Id, key: &str) -> Result<Vec<(String, NotificationRow)>> {
        let rows = match parse_group_key(key) {
            None => vec![],
            Some(GroupKey::Single(id)) => {
                self.store.notification(me, id).await?.into_iter().collect()
            }
            Some(GroupKey::Group(g)) => {
                self.store
                    .notifications_in_group(me, &g, GROUP_READ_CAP)
                    .await?
            }
        };
        Ok(rows.into_iter().map(|n| (key.to_string(), n)).collect())
    }

    /// One notification group of `me` (`GET /api/v2/notifications/:group_key`); None
    /// when it has no notification left.
    pub async fn notification_group(
        &self,
        me: Id,
        key: &str,
    ) -> Result<Option<api::GroupedNotifications>> {
        let members = self.group_members(me, key).await?;
        let body = self.render_groups(me, members, false).await?;
        Ok((!body.notification_groups.is_empty()).then_some(body))
    }

    /// The accounts behind a notification group of `me`, most recent first; None when
    /// the group has no notification left.
    pub async fn notification_group_accounts(
        &self,
        me: Id,
        key: &str,
    ) -> Result<Option<Vec<api::Account>>> {
        let rows = self
            .group_members(me, key)
            .await?
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        let mut notifications = self.notification_entities(me, rows).await?;
        self.apply_notification_filters(me, &mut notifications)
            .await?;
        if notifications.is_empty() {
            return Ok(None);
        }
        let mut seen = HashSet::new();
        Ok(Some(
            notifications
                .into_iter()
                .filter(|n| seen.insert(n.account.id.clone()))
                .map(|n| n.account)
                .collect(),
        ))
    }

    /// Deletes the notifications of a group of `me`; false when there were none.
    pub async fn dismiss_notification_group(&self, me: Id, key: &str) -> Result<bool> {
        match parse_group_key(key) {
            None => Ok(false),
            Some(GroupKey::Single(id)) => self.dismiss_notification(me, id).await,
            Some(GroupKey::Group(g)) => {
                let mut tx = self.store.begin().await?;
                let n = tx.dismiss_notification_group(me, &g).await?;
                tx.commit().await?;
                Ok(n > 0)
            }
        }
    }

    /// How many notifications of `me` (groups of them when `grouped` is given) are
    /// newer than their `notifications` read marker (all when there is none), counting
    /// up to `limit`.
    pub async fn unread_notifications_count(
        &self,
        me: Id,
        filter: &NotificationFilter,
        grouped: Option<&[String]>,
        limit: i64,
    ) -> Result<i64> {
        let marker = self
            .store
            .markers(me, &["notifications"])
            .await?
            .first()
            .map(|m| m.last_read_id);
        let rows_limit = match grouped {
            None => limit,
            Some(_) => (limit * ROWS_PER_GROUP).min(GROUP_READ_CAP),
        };
        let page = Page {
            since_id: marker,
            limit: rows_limit.max(1),
            ..Page::default()
        };
        let rows = self.store.notifications(me, filter, page).await?;
        let count = match grouped {
            None => rows.len() as i64,
            Some(types) => {
                let keys: HashSet<String> = rows.iter().map(|n| key_for(n, types)).collect();
                keys.len() as i64
            }
        };
        Ok(count.min(limit))
    }

    /// Renders notification rows (newest first, each with its group key) as groups,
    /// with the accounts and statuses they refer to. Notifications whose account or
    /// status is gone, or that the user's filters hide, are left out.
    async fn render_groups(
        &self,
        me: Id,
        taken: Vec<(String, NotificationRow)>,
        partial: bool,
    ) -> Result<api::GroupedNotifications> {
        let keys: HashMap<Id, String> = taken.iter().map(|(k, n)| (n.id, k.clone())).collect();
        let rows = taken.into_iter().map(|(_, n)| n).collect();
        let mut notifications = self.notification_entities(me, rows).await?;
        self.apply_notification_filters(me, &mut notifications)
            .await?;

        let mut groups: Vec<api::NotificationGroup> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut accounts: HashMap<String, api::Account> = HashMap::new();
        let mut statuses: Vec<api::Status> = Vec::new();
        let mut status_seen: HashSet<String> = HashSet::new();
        for n in notifications {
            let Some(key) = n.id.parse::<Id>().ok().and_then(|id| keys.get(&id)) else {
                continue;
            };
            let account_id = n.account.id.clone();
            accounts
                .entry(account_id.clone())
                .or_insert_with(|| n.account.clone());
            let status_id = n.status.as_ref().map(|s| s.id.clone());
            if let Some(s) = n.status
                && status_seen.insert(s.id.clone())
            {
                statuses.push(s);
            }
            match index.get(key) {
                Some(&i) => {
                    let g = &mut groups[i];
                    g.notifications_count += 1;
                    g.page_min_id = n.id;
                    if g.sample_account_ids.len() < SAMPLE_ACCOUNTS
                        && !g.sample_account_ids.contains(&account_id)
                    {
                        g.sample_account_ids.push(account_id);
                    }
                }
                None => {
                    index.insert(key.clone(), groups.len());
                    groups.push(api::NotificationGroup {
                        group_key: key.clone(),
                        notifications_count: 1,
                        kind: n.kind,
                        most_recent_notification_id: n.id.clone(),
                        page_min_id: n.id.clone(),
                        page_max_id: n.id,
                        latest_page_notification_at: n.created_at,
                        sample_account_ids: vec![account_id],
                        status_id,
                        report: n.report,
                        reaction: n.reaction,
                    });
                }
            }
        }

        // Accounts in the order the groups name them, each once; with `partial`, only
        // each group's most recent account in full.
        let mut full = Vec::new();
        let mut partial_accounts = Vec::new();
        let mut listed = HashSet::new();
        for g in &groups {
            if let Some(first) = g.sample_account_ids.first()
                && listed.insert(first.clone())
                && let Some(a) = accounts.get(first)
            {
                full.push(a.clone());
            }
        }
        for g in &groups {
            for id in g.sample_account_ids.iter().skip(1) {
                if listed.insert(id.clone())
                    && let Some(a) = accounts.get(id)
                {
                    if partial {
                        partial_accounts.push(api::PartialAccount::of(a));
                    } else {
                        full.push(a.clone());
                    }
                }
            }
        }
        Ok(api::GroupedNotifications {
            accounts: full,
            partial_accounts: partial.then_some(partial_accounts),
            statuses,
            notification_groups: groups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back() {
        let at = 1_700_000_000_000;
        let k = group_key(9, "favourite", Some(42), at);
        let Some(GroupKey::Group(g)) = parse_group_key(&k) else {
            panic!("{k} does not parse");
        };
        assert_eq!(g.kind, "favourite");
        assert_eq!(g.status_id, Some(42));
        assert!(g.from <= at && at < g.to);
        assert_eq!(g.to - g.from, SPAN_HOURS * HOUR_MS);
        assert!(group_key(9, "follow", None, at).starts_with("follow-"));
        assert_eq!(group_key(9, "mention", Some(42), at), "ungrouped-9");
        // A reaction stands alone: its emoji is the group's.
        assert_eq!(
            group_key(9, "pleroma:emoji_reaction", Some(42), at),
            "ungrouped-9"
        );
        assert_eq!(parse_group_key("ungrouped-9"), Some(GroupKey::Single(9)));
        // Within a window one key; the next window another.
        assert_eq!(
            group_key(1, "reblog", Some(3), g.from),
            group_key(2, "reblog", Some(3), g.to - 1)
        );
        assert_ne!(
            group_key(1, "reblog", Some(3), g.from),
            group_key(2, "reblog", Some(3), g.to)
        );
        for bad in [
            "",
            "ungrouped-x",
            "mention-1-12",
            "favourite-12",
            "favourite-x-12",
            "follow-13",
            "follow-99999999999999999",
        ] {
            assert_eq!(parse_group_key(bad), None, "{bad}");
        }
    }
}
