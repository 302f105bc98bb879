//! Federation state: actor keys, remote actors, the durable delivery queue with its
//! per-host circuit breaker, and domain blocks.
//!
//! The delivery queue is a table, not memory: a delivery is inserted in the same
//! transaction as the activity it carries, so it survives restarts and is never lost
//! between "stored" and "sent". Workers claim due rows with a lease (`locked_until`); a
//! worker that dies leaves its rows to be claimed again when the lease runs out. Claims
//! are serialized, so several processes share the queue without taking the same row
//! and the per-host caps count every lease: on PostgreSQL by an advisory lock held to
//! the end of the claim's transaction, on SQLite by its one writer.

use sluice_model::Id;

use crate::{
    AccountCounter, EngineKind, Pools, Query, Result, Store, StoreError, WriteTx, query::Scalar,
};

/// A signing key: a local actor's (with its private half) or a remote actor's (public
/// only), looked up by key id when verifying signatures.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub key_id: String,
    pub account_id: Id,
    pub public_key_pem: String,
    pub private_key_pem: Option<String>,
    pub created_at: i64,
    pub fetched_at: i64,
}

impl Drop for KeyRow {
    /// A local key's private half is wiped from memory with the row.
    fn drop(&mut self) {
        if let Some(pem) = &mut self.private_key_pem {
            zeroize::Zeroize::zeroize(pem);
        }
    }
}

/// What a remote actor document told us, to insert or refresh the account.
#[derive(Debug, Clone)]
pub struct RemoteActor {
    pub uri: String,
    pub username: String,
    pub domain: String,
    pub actor_type: String,
    pub display_name: String,
    /// Already sanitized HTML.
    pub note: String,
    pub url: String,
    pub inbox_url: String,
    pub shared_inbox_url: String,
    pub outbox_url: String,
    pub followers_url: String,
    pub following_url: String,
    pub featured_url: String,
    /// `featuredTags`.
    pub featured_tags_url: String,
    pub avatar_url: String,
    pub header_url: String,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub indexable: bool,
    /// JSON array of `{name, value}` (values sanitized HTML).
    pub fields: String,
    /// JSON array of actor IRIs.
    pub also_known_as: String,
    /// When the actor says it was created (ms), else now.
    pub created_at: i64,
}

/// A delivery claimed by a worker: POST the activity's JSON to `inbox_url`, signed as
/// `sender_account_id`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: Id,
    pub activity_id: Id,
    pub sender_account_id: Id,
    pub inbox_url: String,
    pub host: String,
    pub attempts: i64,
    pub created_at: i64,
    pub expires_at: i64,
    /// Set for a Web Push message: `activity_id` is then the notification's id and
    /// `inbox_url` the push endpoint.
    pub push_subscription_id: Option<Id>,
}

/// A verified activity to put on the inbox queue.
#[derive(Debug, Clone)]
pub struct NewInboxActivity {
    pub id: Id,
    pub actor_id: Id,
    pub activity_uri: String,
    pub json: String,
    pub received_at: i64,
    /// What the activity is about, hashed (0: nothing in particular): activities with
    /// the same key are applied one at a time, in the order of their ids.
    pub order_key: i64,
}

/// A verified inbox activity waiting to be applied.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboxRow {
    pub id: Id,
    pub actor_id: Id,
    pub activity_uri: String,
    pub json: String,
    pub received_at: i64,
    pub attempts: i64,
}

/// One activity of an outbox page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxItem {
    pub id: Id,
    pub json: String,
}

/// An activity as stored: who made it, its addressing and document.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredActivity {
    pub id: Id,
    pub uri: String,
    pub kind: String,
    pub actor_id: Id,
    pub object_uri: String,
    pub to_json: String,
    pub cc_json: String,
    pub json: String,
}

/// One host's line in `sluice admin deliveries`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryHostStats {
    pub host: String,
    pub pending: i64,
    pub failing: i64,
    pub expired: i64,
    pub next_attempt_at: Option<i64>,
    pub last_error: String,
    pub host_state: Option<String>,
}

/// The circuit-breaker state of a host.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HostRow {
    pub host: String,
    pub state: String,
    pub consecutive_failures: i64,
    pub down_since: Option<i64>,
    pub next_probe_at: Option<i64>,
    pub last_error: String,
    pub updated_at: i64,
}

/// An instance-wide block of a domain (and its subdomains).
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct DomainBlockRow {
    /// The admin API's id (migration 31).
    pub id: Id,
    pub domain: String,
    /// `suspend`, `silence` or `noop`.
    pub severity: String,
    pub reject_media: bool,
    /// The public comment (Mastodon's `public_comment`).
    pub reason: String,
    pub created_at: i64,
    /// The comment only staff read.
    pub private_comment: String,
    /// Reports (`Flag`s) from the domain are ignored.
    pub reject_reports: bool,
    /// The public list shows the domain partly hidden.
    pub obfuscate: bool,
    /// Posts of the domain's accounts the purge removed so far.
    pub purged_statuses: i64,
}

/// Queues an inbox activity unless `$6` are already waiting: one statement, so that
/// receiving takes one round trip to the writer.
const ENQUEUE_INBOX_BATCH_SQLITE: &str =
    "INSERT INTO inbox_queue (id, actor_id, activity_uri, json, received_at, order_key)
     SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4,
            r.value ->> 5
     FROM json_each($1) AS r
     WHERE (SELECT COUNT(*) FROM inbox_queue) + $2 <= $3";

const ENQUEUE_INBOX_BATCH_POSTGRES: &str =
    "INSERT INTO inbox_queue (id, actor_id, activity_uri, json, received_at, order_key)
     SELECT (r ->> 0)::bigint, (r ->> 1)::bigint, r ->> 2, r ->> 3, (r ->> 4)::bigint,
            (r ->> 5)::bigint
     FROM json_array_elements($1::json) AS r
     WHERE (SELECT COUNT(*) FROM inbox_queue) + $2 <= $3";

const ENQUEUE_INBOX: &str =
    "INSERT INTO inbox_queue (id, actor_id, activity_uri, json, received_at, order_key)
     SELECT $1, $2, $3, $4, $5, $6 WHERE (SELECT COUNT(*) FROM inbox_queue) < $7";

/// `($1)` as a list of ids given as one JSON array: the statement's text (and so its
/// prepared form, cached per connection) is the same for any number of ids, where an
/// `IN ($1, $2, …)` list makes one statement per length.
fn json_id_list(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Sqlite => "(SELECT value FROM json_each($1))",
        EngineKind::Postgres => "(SELECT value::bigint FROM json_array_elements_text($1::json))",
    }
}

/// Key of the PostgreSQL advisory lock that serializes delivery claims.
const DELIVERY_CLAIM_LOCK: i64 = 0x5_11CE_0002;

/// Rows a delivery claim reads from the front of the queue before it goes host by host
/// (see [`WriteTx::claim_deliveries_with`]).
pub const DELIVERY_CLAIM_WINDOW: i64 = 256;

/// A row of the front of the delivery queue, and whether its host has room for it.
#[derive(Debug, sqlx::FromRow)]
struct ClaimPick {
    id: Id,
    ok: i64,
}

/// The cap of row `c` (columns `push_subscription_id`) on host `h` (`delivery_hosts`,
/// NULL when the host never failed): none while the host is down and its probe time
/// has not come, one probe when it has. `$1` now, `$2` the per-host cap, `$3` the
/// push cap.
macro_rules! claim_cap {
    () => {
        "CASE WHEN h.state = 'down' AND h.next_probe_at > $1 THEN 0
              WHEN h.state = 'down' THEN 1
              WHEN c.push_subscription_id IS NOT NULL THEN $3
              ELSE $2 END"
    };
}

/// The leases a host (`$host`) holds now (`$1`), through `deliveries_host_leased`.
macro_rules! host_leases {
    ($host:literal) => {
        concat!(
            "(SELECT COUNT(*) FROM deliveries l WHERE l.state = 'pending' AND l.host = ",
            $host,
            " AND l.locked_until > $1)"
        )
    };
}

/// The first `$4` due, unleased rows in queue order (`deliveries_due_order`), each
/// with whether it fits under its host's cap: its rank among its host's rows here is
/// its rank among all of its host's due rows, since the earlier ones are here too.
const CLAIM_FRONT: &str = concat!(
    "WITH front AS (
       SELECT id, host, next_attempt_at, push_subscription_id FROM deliveries
       WHERE state = 'pending' AND next_attempt_at <= $1 AND locked_until <= $1
       ORDER BY next_attempt_at, id LIMIT $4),
     leased AS (
       SELECT f.host, ",
    host_leases!("f.host"),
    " AS n FROM (SELECT DISTINCT host FROM front) f),
     c AS (
       SELECT f.id, f.host, f.next_attempt_at, f.push_subscription_id, l.n AS leased,
              ROW_NUMBER() OVER (PARTITION BY f.host ORDER BY f.next_attempt_at, f.id) AS rn
       FROM front f JOIN leased l ON l.host = f.host)
     SELECT c.id, CAST(CASE WHEN c.rn + c.leased <= ",
    claim_cap!(),
    " THEN 1 ELSE 0 END AS BIGINT) AS ok
     FROM c LEFT JOIN delivery_hosts h ON h.host = c.host
     ORDER BY c.next_attempt_at, c.id"
);

/// Every host with pending rows, one index step each (`deliveries_host_due`), and the
/// leases each holds; then `c`, at most `$5` due unleased rows of each host with room,
/// ranked per host (the engines differ only there).
macro_rules! claim_by_host {
    ($candidates:literal) => {
        concat!(
            "WITH RECURSIVE hosts(host) AS (
               SELECT MIN(host) FROM deliveries WHERE state = 'pending'
               UNION ALL
               SELECT (SELECT MIN(d.host) FROM deliveries d
                       WHERE d.state = 'pending' AND d.host > hosts.host)
               FROM hosts WHERE hosts.host IS NOT NULL),
             room AS (
               SELECT hs.host, ",
            host_leases!("hs.host"),
            " AS leased FROM hosts hs WHERE hs.host IS NOT NULL),
             c AS (",
            $candidates,
            ")
             SELECT c.id AS v FROM c LEFT JOIN delivery_hosts h ON h.host = c.host
             WHERE c.rn + c.leased <= ",
            claim_cap!(),
            " ORDER BY c.next_attempt_at, c.id LIMIT $4"
        )
    };
}

/// SQLite has no LATERAL: a correlated `IN (… LIMIT)` per host.
const CLAIM_BY_HOST_SQLITE: &str = claim_by_host!(
    "SELECT d.id, d.host, d.next_attempt_at, d.push_subscription_id, r.leased,
            ROW_NUMBER() OVER (PARTITION BY d.host ORDER BY d.next_attempt_at, d.id) AS rn
     FROM room r, deliveries d
     WHERE r.leased < $5 AND d.id IN (
       SELECT x.id FROM deliveries x
       WHERE x.state = 'pending' AND x.host = r.host AND x.next_attempt_at <= $1
         AND x.locked_until <= $1
       ORDER BY x.next_attempt_at, x.id LIMIT $5)"
);

const CLAIM_BY_HOST_POSTGRES: &str = claim_by_host!(
    "SELECT d.id, d.host, d.next_attempt_at, d.push_subscription_id, r.leased,
            ROW_NUMBER() OVER (PARTITION BY d.host ORDER BY d.next_attempt_at, d.id) AS rn
     FROM room r CROSS JOIN LATERAL (
       SELECT x.id, x.host, x.next_attempt_at, x.push_subscription_id FROM deliveries x
       WHERE x.state = 'pending' AND x.host = r.host AND x.next_attempt_at <= $1
         AND x.locked_until <= $1
       ORDER BY x.next_attempt_at, x.id LIMIT $5) d
     WHERE r.leased < $5"
);

const KEY_COLUMNS: &str =
    "key_id, account_id, public_key_pem, private_key_pem, created_at, fetched_at";

const DELIVERY_COLUMNS: &str = "id, activity_id, sender_account_id, inbox_url, host, attempts, created_at, expires_at, \
     push_subscription_id";

impl Store {
    /// A key by its id (`https://host/users/alice#main-key`).
    pub async fn key(&self, key_id: &str) -> Result<Option<KeyRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {KEY_COLUMNS} FROM actor_keys WHERE key_id = $1"
            ))
            .bind(key_id),
        )
        .await
    }

    /// A local actor's signing key (the one with a private half), oldest first.
    pub async fn signing_key(&self, account_id: Id) -> Result<Option<KeyRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {KEY_COLUMNS} FROM actor_keys
                 WHERE account_id = $1 AND private_key_pem IS NOT NULL
                 ORDER BY created_at LIMIT 1"
            ))
            .bind(account_id),
        )
        .await
    }

    /// Local accounts after `after` (by id) that have no signing key (made by an older
    /// version, which made keys on first need, or by a bulk import); the server gives
    /// them one at start.
    pub async fn local_accounts_without_key(&self, after: Id, limit: i64) -> Result<Vec<Id>> {
        Ok(self
            .all::<Scalar>(
                Query::new(
                    "SELECT a.id AS v FROM accounts a WHERE a.domain = '' AND a.id > $1
                       AND NOT EXISTS (SELECT 1 FROM actor_keys k
                                       WHERE k.account_id = a.id AND k.private_key_pem IS NOT NULL)
                     ORDER BY a.id LIMIT $2",
                )
                .bind(after)
                .bind(limit),
            )
            .await?
            .into_iter()
            .map(|r| r.v)
            .collect())
    }

    /// Whether `host` is in a suspended domain (or a subdomain of one).
    pub async fn host_suspended(&self, host: &str) -> Result<bool> {
        let domains = self
            .all::<crate::TextScalar>(Query::new(
                "SELECT domain AS v FROM domain_blocks WHERE severity = 'suspend'",
            ))
            .await?;
        Ok(domains
            .iter()
            .filter_map(|r| r.v.as_deref())
            .any(|d| host_in_domain(host, d)))
    }

    pub async fn domain_blocks(&self) -> Result<Vec<DomainBlockRow>> {
        self.all(Query::new(format!(
            "SELECT {} FROM domain_blocks ORDER BY domain",
            crate::federation_moderation::DOMAIN_BLOCK_COLUMNS
        )))
        .await
    }

    /// Per host: deliveries pending, failing (pending with at least one failed attempt),
    /// expired, the next attempt and the last error; hosts with most work first.
    pub async fn delivery_stats(&self) -> Result<Vec<DeliveryHostStats>> {
        self.all(Query::new(
            "SELECT d.host AS host,
                    SUM(CASE WHEN d.state = 'pending' THEN 1 ELSE 0 END) AS pending,
                    SUM(CASE WHEN d.state = 'pending' AND d.attempts > 0 THEN 1 ELSE 0 END) AS failing,
                    SUM(CASE WHEN d.state = 'expired' THEN 1 ELSE 0 END) AS expired,
                    MIN(CASE WHEN d.state = 'pending' THEN d.next_attempt_at END) AS next_attempt_at,
                    COALESCE(MAX(d.last_error), '') AS last_error,
                    MAX(h.state) AS host_state
             FROM deliveries d LEFT JOIN delivery_hosts h ON h.host = d.host
             GROUP BY d.host
             ORDER BY pending DESC, d.host",
        ))
        .await
    }

    /// The breaker state of a host, if it ever failed.
    pub async fn delivery_host(&self, host: &str) -> Result<Option<HostRow>> {
        self.opt(
            Query::new(
                "SELECT host, state, consecutive_failures, down_since, next_probe_at, last_error,
                        updated_at FROM delivery_hosts WHERE host = $1",
            )
            .bind(host),
        )
        .await
    }

    /// The object as we last federated it: the `object` of the newest Create or Update
    /// whose object is `object_uri` (the activity's JSON).
    pub async fn latest_object_activity(&self, object_uri: &str) -> Result<Option<String>> {
        Ok(self
            .opt::<crate::TextScalar>(
                Query::new(
                    "SELECT json AS v FROM activities
                     WHERE object_uri = $1 AND kind IN ('Create', 'Update')
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(object_uri),
            )
            .await?
            .and_then(|r| r.v))
    }

    /// A page of an actor's outbox: Creates of its public and unlisted statuses that
    /// still exist, and its Announces of them (whose reblog row still exists), as the
    /// stored activity JSON, newest first, paged by activity id.
    pub async fn outbox_page(&self, actor_id: Id, page: crate::Page) -> Result<Vec<OutboxItem>> {
        let mut q =
            Query::new("SELECT a.id AS id, a.json AS json FROM activities a WHERE a.actor_id = ");
        let p = q.arg(actor_id);
        q.push(&p);
        q.push(
            " AND a.kind IN ('Create', 'Announce')
              AND EXISTS (SELECT 1 FROM statuses s
                          WHERE s.uri = CASE WHEN a.kind = 'Create' THEN a.object_uri ELSE a.uri END
                            AND s.visibility IN ('public', 'unlisted'))",
        );
        page.apply(&mut q, "a.id");
        Ok(page.finish(self.all(q).await?))
    }

    /// The outbox as its owner sees it (ActivityPub C2S): every activity the account
    /// made, except the Creates and Updates of posts deleted since (their content is
    /// gone).
    pub async fn owner_outbox_page(
        &self,
        actor_id: Id,
        page: crate::Page,
    ) -> Result<Vec<OutboxItem>> {
        let mut q =
            Query::new("SELECT a.id AS id, a.json AS json FROM activities a WHERE a.actor_id = ");
        let p = q.arg(actor_id);
        q.push(&p);
        q.push(
            " AND (a.kind NOT IN ('Create', 'Update')
                   OR NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.uri = a.object_uri))",
        );
        page.apply(&mut q, "a.id");
        Ok(page.finish(self.all(q).await?))
    }

    /// An account's inbox as its owner reads it (ActivityPub C2S): others' activities
    /// about the owner (a follow or block of them, a like or boost of their posts),
    /// posts that address or mention them, and the posts and boosts of the accounts
    /// they follow that they may see; nothing from accounts they block. Newest first.
    /// Found by scanning the activity log from the newest, each row checked through
    /// indexes: the page (and the statement deadline) bound the work.
    pub async fn inbox_page(
        &self,
        owner: Id,
        owner_uri: &str,
        page: crate::Page,
    ) -> Result<Vec<OutboxItem>> {
        let mut q = Query::new("SELECT a.id AS id, a.json AS json FROM activities a WHERE ");
        let o = q.arg(owner);
        let u = q.arg(owner_uri);
        q.push(&format!(
            "a.actor_id <> {o}
             AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = {o} AND b.target_account_id = a.actor_id)
             AND (a.object_uri = {u}
                  OR (a.kind <> 'Create' AND EXISTS (SELECT 1 FROM statuses s WHERE s.uri = a.object_uri AND s.account_id = {o}))
                  OR (a.kind IN ('Create', 'Update') AND EXISTS (
                        SELECT 1 FROM statuses s WHERE s.uri = a.object_uri AND (
                          EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = s.id AND m.account_id = {o})
                          OR (s.visibility IN ('public', 'unlisted', 'private')
                              AND EXISTS (SELECT 1 FROM follows f WHERE f.account_id = {o} AND f.target_account_id = a.actor_id)))))
                  OR (a.kind = 'Announce'
                      AND EXISTS (SELECT 1 FROM follows f WHERE f.account_id = {o} AND f.target_account_id = a.actor_id)))"
        ));
        page.apply(&mut q, "a.id");
        Ok(page.finish(self.all(q).await?))
    }

    /// How many activities [`Store::owner_outbox_page`] lists in all.
    pub async fn count_owner_outbox(&self, actor_id: Id) -> Result<i64> {
        Ok(self
            .one::<Scalar>(
                Query::new(
                    "SELECT COUNT(*) AS v FROM activities a WHERE a.actor_id = $1
                       AND (a.kind NOT IN ('Create', 'Update')
                            OR NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.uri = a.object_uri))",
                )
                .bind(actor_id),
            )
            .await?
            .v)
    }

    /// An activity by its id (uri).
    pub async fn activity_by_uri(&self, uri: &str) -> Result<Option<StoredActivity>> {
        self.opt(
            Query::new(
                "SELECT id, uri, kind, actor_id, object_uri, to_json, cc_json, json
                 FROM activities WHERE uri = $1",
            )
            .bind(uri),
        )
        .await
    }

    /// The newest activity of a kind an account made about an object: the one a
    /// pipeline write just recorded (or, when nothing changed, the earlier one).
    pub async fn latest_activity_about(
        &self,
        actor_id: Id,
        kind: &str,
        object_uri: &str,
    ) -> Result<Option<StoredActivity>> {
        self.opt(
            Query::new(
                "SELECT id, uri, kind, actor_id, object_uri, to_json, cc_json, json
                 FROM activities WHERE actor_id = $1 AND kind = $2 AND object_uri = $3
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(actor_id)
            .bind(kind)
            .bind(object_uri),
        )
        .await
    }

    /// Whether an activity with this id is stored (a repeated delivery).
    pub async fn activity_exists(&self, uri: &str) -> Result<bool> {
        Ok(self
            .one::<Scalar>(
                Query::new("SELECT COUNT(*) AS v FROM activities WHERE uri = $1").bind(uri),
            )
            .await?
            .v
            > 0)
    }

    /// The uri of the status a favourite (by its activity uri) is about.
    pub async fn favourite_by_uri(&self, like_uri: &str) -> Result<Option<String>> {
        Ok(self
            .opt::<crate::TextScalar>(
                Query::new(
                    "SELECT s.uri AS v FROM favourites f JOIN statuses s ON s.id = f.status_id
                     WHERE f.uri = $1",
                )
                .bind(like_uri),
            )
            .await?
            .and_then(|r| r.v))
    }

    /// Whether a post with this uri was deleted here (a Create arriving after its
    /// Delete must not bring it back).
    pub async fn is_tombstoned(&self, uri: &str) -> Result<bool> {
        Ok(self
            .one::<Scalar>(
                Query::new("SELECT COUNT(*) AS v FROM tombstones WHERE uri = $1").bind(uri),
            )
            .await?
            .v
            > 0)
    }

    /// Forgets the activities undone before they arrived that were remembered before
    /// `before` (their late copies are no longer expected).
    pub async fn prune_undone(&self, before: i64) -> Result<u64> {
        self.exec(Query::new("DELETE FROM undone_activities WHERE undone_at < $1").bind(before))
            .await
    }

    /// The stored JSON of an activity (what a delivery sends).
    pub async fn activity_json(&self, activity_id: Id) -> Result<Option<String>> {
        Ok(self
            .opt::<crate::TextScalar>(
                Query::new("SELECT json AS v FROM activities WHERE id = $1").bind(activity_id),
            )
            .await?
            .and_then(|r| r.v))
    }

    /// How many statuses an outbox holds (public and unlisted, reblogs included).
    pub async fn count_outbox(&self, account_id: Id) -> Result<i64> {
        Ok(self
            .one::<Scalar>(
                Query::new(
                    "SELECT COUNT(*) AS v FROM statuses
                     WHERE account_id = $1 AND visibility IN ('public', 'unlisted')",
                )
                .bind(account_id),
            )
            .await?
            .v)
    }

    /// Local accounts following `account_id`, at most `limit`.
    pub async fn local_followers_of(&self, account_id: Id, limit: i64) -> Result<Vec<Id>> {
        Ok(self
            .all::<Scalar>(
                Query::new(
                    "SELECT f.account_id AS v FROM follows f JOIN accounts a ON a.id = f.account_id
                     WHERE f.target_account_id = $1 AND a.domain = '' ORDER BY f.id LIMIT $2",
                )
                .bind(account_id)
                .bind(limit),
            )
            .await?
            .into_iter()
            .map(|r| r.v)
            .collect())
    }

    /// Queues verified inbox activities (received at the same moment by concurrent
    /// requests) in ONE statement outside any transaction: on SQLite one hand-off to the
    /// writer connection for the whole batch. All of them are queued, or none when that
    /// would pass `max_pending` waiting (false). The rows travel as one JSON array, so
    /// the statement's text is the same whatever the batch size (one prepared
    /// statement). The bound is approximate on PostgreSQL: concurrent batches may each
    /// see room.
    pub async fn enqueue_inbox_batch(
        &self,
        items: &[NewInboxActivity],
        max_pending: i64,
    ) -> Result<bool> {
        if items.is_empty() {
            return Ok(true);
        }
        let rows: Vec<serde_json::Value> = items
            .iter()
            .map(|i| {
                serde_json::json!([
                    i.id,
                    i.actor_id,
                    i.activity_uri,
                    i.json,
                    i.received_at,
                    i.order_key
                ])
            })
            .collect();
        let rows = serde_json::Value::Array(rows).to_string();
        let n = items.len() as i64;
        macro_rules! run {
            ($sql:expr, $pool:expr) => {
                sqlx::query($sql)
                    .bind(rows)
                    .bind(n)
                    .bind(max_pending)
                    .execute($pool)
                    .await
                    .map(|r| r.rows_affected())
            };
        }
        let queued = match &self.pools {
            Pools::Sqlite { write, .. } => run!(ENQUEUE_INBOX_BATCH_SQLITE, write),
            Pools::Postgres(pool) => run!(ENQUEUE_INBOX_BATCH_POSTGRES, pool),
        }
        .map_err(StoreError::from_sqlx);
        let queued = self.health.note(queued)?;
        self.health.succeeded();
        Ok(queued == n as u64)
    }

    /// Whether `max_pending` inbox activities are waiting, as a cheap early check (the
    /// insert checks again). SQLite counts the rows of a small index in a few
    /// microseconds. PostgreSQL answers false: its count visits every queued row's
    /// heap tuple (0.5 to 1 ms for a full queue of 1,000 rows), which cost more than
    /// the early refusals saved there.
    pub async fn inbox_full(&self, max_pending: i64) -> Result<bool> {
        Ok(match self.kind() {
            EngineKind::Sqlite => self.pending_inbox().await? >= max_pending,
            EngineKind::Postgres => false,
        })
    }

    /// PostgreSQL: vacuums the inbox queue. Each activity leaves two dead row versions
    /// there (the claim's update, the removal); at a thousand activities a second,
    /// autovacuum (which visits a database once a minute by default) lets tens of
    /// thousands pile up, and counting the queue and claiming from it slow down in
    /// proportion. The table holds at most a few thousand rows, so this takes
    /// milliseconds, and it blocks no reader or writer. A no-op on SQLite, which reuses
    /// a deleted row's space at once.
    pub async fn vacuum_inbox_queue(&self) -> Result<()> {
        if let Pools::Postgres(pool) = &self.pools {
            sqlx::raw_sql("VACUUM inbox_queue")
                .execute(pool)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
        Ok(())
    }

    /// Inbox activities waiting to be applied.
    pub async fn pending_inbox(&self) -> Result<i64> {
        Ok(self
            .one::<Scalar>(Query::new("SELECT COUNT(*) AS v FROM inbox_queue"))
            .await?
            .v)
    }

    /// Pending deliveries in all (for tests and the admin view).
    pub async fn pending_deliveries(&self) -> Result<i64> {
        Ok(self
            .one::<Scalar>(Query::new(
                "SELECT COUNT(*) AS v FROM deliveries WHERE state = 'pending'",
            ))
            .await?
            .v)
    }
}

/// Whether `host` (a host, or `host:port`) is `domain` or one of its subdomains.
pub fn host_in_domain(host: &str, domain: &str) -> bool {
    let host = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let host = host.to_ascii_lowercase();
    host == domain || host.ends_with(&format!(".{domain}"))
}

impl WriteTx {
    /// Suspended domains (admin domain blocks with severity `suspend`).
    pub async fn suspended_domains(&mut self) -> Result<Vec<String>> {
        Ok(self
            .all::<crate::TextScalar>(Query::new(
                "SELECT domain AS v FROM domain_blocks WHERE severity = 'suspend'",
            ))
            .await?
            .into_iter()
            .filter_map(|r| r.v)
            .collect())
    }

    /// The inboxes of an account's remote followers, shared inboxes preferred, each once.
    pub async fn remote_follower_inboxes(&mut self, account_id: Id) -> Result<Vec<String>> {
        Ok(self
            .all::<crate::TextScalar>(
                Query::new(
                    "SELECT DISTINCT CASE WHEN a.shared_inbox_url <> '' THEN a.shared_inbox_url
                                          ELSE a.inbox_url END AS v
                     FROM follows f JOIN accounts a ON a.id = f.account_id
                     WHERE f.target_account_id = $1 AND a.domain <> '' AND a.inbox_url <> ''",
                )
                .bind(account_id),
            )
            .await?
            .into_iter()
            .filter_map(|r| r.v)
            .collect())
    }

    /// The inboxes of the known remote actors among `uris`, shared inboxes preferred.
    pub async fn remote_inboxes_of(&mut self, uris: &[&str]) -> Result<Vec<String>> {
        let mut q = Query::new(
            "SELECT DISTINCT CASE WHEN a.shared_inbox_url <> '' THEN a.shared_inbox_url
                                  ELSE a.inbox_url END AS v
             FROM accounts a WHERE a.domain <> '' AND a.inbox_url <> '' AND a.uri IN ",
        );
        let mut parts = Vec::with_capacity(uris.len());
        for u in uris.iter().take(1000) {
            parts.push(q.arg(*u));
        }
        q.push(&format!("({})", parts.join(", ")));
        Ok(self
            .all::<crate::TextScalar>(q)
            .await?
            .into_iter()
            .filter_map(|r| r.v)
            .collect())
    }

    /// Stores a key. A remote key seen again is refreshed (rotation keeps the id but
    /// changes the PEM); a key with a private half (ours) is never overwritten, and
    /// replaces a row without one.
    pub async fn upsert_key(&mut self, k: &KeyRow) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO actor_keys (key_id, account_id, public_key_pem, private_key_pem,
                   created_at, fetched_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (key_id) DO UPDATE SET public_key_pem = excluded.public_key_pem,
                   private_key_pem = excluded.private_key_pem,
                   account_id = excluded.account_id, fetched_at = excluded.fetched_at
                 WHERE actor_keys.private_key_pem IS NULL",
            )
            .bind(&k.key_id)
            .bind(k.account_id)
            .bind(&k.public_key_pem)
            .bind(k.private_key_pem.as_deref())
            .bind(k.created_at)
            .bind(k.fetched_at),
        )
        .await?;
        Ok(())
    }

    /// Removes the key rows of our actors that have no private half: a key id under
    /// `base` (our public URL with a trailing `/`), or a row naming a local account.
    /// Such rows could only come from remote actor documents that an older version
    /// believed; they stopped the actor from signing. Returns how many went.
    pub async fn remove_public_only_local_keys(&mut self, base: &str) -> Result<u64> {
        self.exec(
            Query::new(
                "DELETE FROM actor_keys WHERE private_key_pem IS NULL
                   AND (substr(key_id, 1, CAST($2 AS INTEGER)) = $1
                        OR account_id IN (SELECT id FROM accounts WHERE domain = ''))",
            )
            .bind(base)
            .bind(base.chars().count() as i64),
        )
        .await
    }

    /// Inserts a remote actor, or refreshes the one with the same `uri`. Returns its id.
    /// A local account is never written: its `uri` is a conflict.
    pub async fn upsert_remote_actor(&mut self, id: Id, a: &RemoteActor, now: i64) -> Result<Id> {
        let row = self
            .opt::<Scalar>(
                Query::new(
                    "INSERT INTO accounts (id, username, domain, display_name, note, fields, uri,
                       url, inbox_url, shared_inbox_url, followers_url, avatar_url, header_url,
                       locked, bot, discoverable, indexable, actor_type, outbox_url,
                       following_url, featured_url, also_known_as, fetched_at, created_at,
                       updated_at, featured_tags_url)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                       $16, $17, $18, $19, $20, $21, $22, $23, $24, $23, $25)
                     ON CONFLICT (uri) DO UPDATE SET
                       username = excluded.username, display_name = excluded.display_name,
                       note = excluded.note, fields = excluded.fields, url = excluded.url,
                       inbox_url = excluded.inbox_url,
                       shared_inbox_url = excluded.shared_inbox_url,
                       followers_url = excluded.followers_url,
                       avatar_url = excluded.avatar_url, header_url = excluded.header_url,
                       locked = excluded.locked, bot = excluded.bot,
                       discoverable = excluded.discoverable, indexable = excluded.indexable,
                       actor_type = excluded.actor_type, outbox_url = excluded.outbox_url,
                       following_url = excluded.following_url,
                       featured_url = excluded.featured_url,
                       featured_tags_url = excluded.featured_tags_url,
                       also_known_as = excluded.also_known_as,
                       fetched_at = excluded.fetched_at, updated_at = excluded.updated_at
                     WHERE accounts.domain <> ''
                     RETURNING id AS v",
                )
                .bind(id)
                .bind(&a.username)
                .bind(a.domain.to_ascii_lowercase())
                .bind(&a.display_name)
                .bind(&a.note)
                .bind(&a.fields)
                .bind(&a.uri)
                .bind(&a.url)
                .bind(&a.inbox_url)
                .bind(&a.shared_inbox_url)
                .bind(&a.followers_url)
                .bind(&a.avatar_url)
                .bind(&a.header_url)
                .bind(a.locked)
                .bind(a.bot)
                .bind(a.discoverable)
                .bind(a.indexable)
                .bind(&a.actor_type)
                .bind(&a.outbox_url)
                .bind(&a.following_url)
                .bind(&a.featured_url)
                .bind(&a.also_known_as)
                .bind(now)
                .bind(a.created_at)
                .bind(&a.featured_tags_url),
            )
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("{} is a local account", a.uri)))?;
        Ok(row.v)
    }

    /// Queues one delivery per inbox (duplicates of the same activity and inbox are
    /// ignored). `inboxes` are `(inbox_url, host)` pairs. Returns how many were queued.
    pub async fn enqueue_deliveries(
        &mut self,
        ids: &[Id],
        activity_id: Id,
        sender: Id,
        inboxes: &[(String, String)],
        now: i64,
        expires_at: i64,
    ) -> Result<u64> {
        let mut queued = 0;
        // One id per inbox, reserved by the caller as a block from the id generator,
        // so a batch needs no round trip per id.
        debug_assert_eq!(ids.len(), inboxes.len());
        for (chunk, ids) in inboxes.chunks(100).zip(ids.chunks(100)) {
            let mut q = Query::new(
                "INSERT INTO deliveries (id, activity_id, sender_account_id, inbox_url, host,
                   next_attempt_at, created_at, expires_at) VALUES ",
            );
            let a = q.arg(activity_id);
            let s = q.arg(sender);
            let t = q.arg(now);
            let e = q.arg(expires_at);
            for (i, ((inbox, host), id)) in chunk.iter().zip(ids).enumerate() {
                let id = q.arg(*id);
                let ib = q.arg(inbox.as_str());
                let h = q.arg(host.as_str());
                if i > 0 {
                    q.push(", ");
                }
                q.push(&format!("({id}, {a}, {s}, {ib}, {h}, {t}, {t}, {e})"));
            }
            q.push(" ON CONFLICT (activity_id, inbox_url) DO NOTHING");
            queued += self.exec(q).await?;
        }
        Ok(queued)
    }

    /// Claims up to `limit` due deliveries for `lease_ms`. Each claim counts as an
    /// attempt. Per host, at most `per_host` deliveries are leased at any time (counting
    /// leases held by other workers and processes), so a host that comes back with
    /// thousands waiting gets them at its cap, not in a storm; a host marked down gets
    /// one probe when its probe time has come, and nothing before.
    pub async fn claim_deliveries(
        &mut self,
        now: i64,
        lease_ms: i64,
        limit: i64,
        per_host: i64,
    ) -> Result<Vec<DeliveryRow>> {
        self.claim_deliveries_with(now, lease_ms, limit, per_host, per_host)
            .await
    }

    /// [`WriteTx::claim_deliveries`], with its own per-host cap for Web Push messages
    /// (`push_per_host`: push services are few, large hosts).
    ///
    /// Which rows: the due, unleased rows in `(next_attempt_at, id)` order, skipping a
    /// row when it would put its host over its cap (its earlier due rows and the
    /// host's leases count), the first `limit` of them. The claim reads in proportion
    /// to what it hands out, not to the queue: first the front of the queue (at most
    /// [`DELIVERY_CLAIM_WINDOW`] rows, or `limit`, ranked per host); that is the whole
    /// answer when it yields `limit` rows or holds every due row. Otherwise hosts at
    /// their cap fill the front (one push service with 10,000 messages waiting), and
    /// the claim goes host by host: at most `max(per_host, push_per_host)` due rows of
    /// each host with pending rows, through the `deliveries_host_due` index (migration
    /// 32), so a host with one row behind another host's thousands gets its turn. That
    /// pass costs a few index steps per host with pending rows (also hosts whose rows
    /// are not due yet), which is what a claim costs when capped rows fill the front.
    pub async fn claim_deliveries_with(
        &mut self,
        now: i64,
        lease_ms: i64,
        limit: i64,
        per_host: i64,
        push_per_host: i64,
    ) -> Result<Vec<DeliveryRow>> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        if self.kind() == EngineKind::Postgres {
            // Claimers are serialized: the per-host count must see the other claims,
            // and the rows chosen are not taken by another claim before the update.
            self.exec(Query::new("SELECT pg_advisory_xact_lock($1)").bind(DELIVERY_CLAIM_LOCK))
                .await?;
        }
        let window = DELIVERY_CLAIM_WINDOW.max(limit);
        let front = self
            .all::<ClaimPick>(
                Query::new(CLAIM_FRONT)
                    .bind(now)
                    .bind(per_host)
                    .bind(push_per_host)
                    .bind(window),
            )
            .await?;
        let mut ids: Vec<Id> = front
            .iter()
            .filter(|p| p.ok != 0)
            .map(|p| p.id)
            .take(limit as usize)
            .collect();
        if (ids.len() as i64) < limit && front.len() as i64 >= window {
            let by_host = match self.kind() {
                EngineKind::Sqlite => CLAIM_BY_HOST_SQLITE,
                EngineKind::Postgres => CLAIM_BY_HOST_POSTGRES,
            };
            ids = self
                .all::<Scalar>(
                    Query::new(by_host)
                        .bind(now)
                        .bind(per_host)
                        .bind(push_per_host)
                        .bind(limit)
                        .bind(per_host.max(push_per_host).max(1)),
                )
                .await?
                .into_iter()
                .map(|r| r.v)
                .collect();
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = json_id_list(self.kind());
        self.all(
            Query::new(format!(
                "UPDATE deliveries SET locked_until = $2, attempts = attempts + 1
                 WHERE id IN {list} RETURNING {DELIVERY_COLUMNS}"
            ))
            .bind(serde_json::to_string(&ids).unwrap_or_default())
            .bind(now + lease_ms),
        )
        .await
    }

    /// A delivery arrived: it leaves the queue.
    pub async fn delivery_done(&mut self, id: Id) -> Result<()> {
        self.exec(Query::new("DELETE FROM deliveries WHERE id = $1").bind(id))
            .await?;
        Ok(())
    }

    /// A delivery failed and will be tried again at `next_attempt_at`.
    pub async fn delivery_retry(
        &mut self,
        id: Id,
        next_attempt_at: i64,
        status: Option<i64>,
        error: &str,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE deliveries SET next_attempt_at = $2, locked_until = 0, last_status = $3,
                   last_error = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(next_attempt_at)
            .bind(status)
            .bind(error),
        )
        .await?;
        Ok(())
    }

    /// A delivery failed for good (a final 4xx, or it expired): kept as `expired` for the
    /// admin view until pruned.
    pub async fn delivery_give_up(
        &mut self,
        id: Id,
        status: Option<i64>,
        error: &str,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE deliveries SET state = 'expired', locked_until = 0, last_status = $2,
                   last_error = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(status)
            .bind(error),
        )
        .await?;
        Ok(())
    }

    /// Records a host's success (closes its breaker) or failure (counts; at `threshold`
    /// consecutive failures the host is marked down until `probe_at`).
    pub async fn record_host_result(
        &mut self,
        host: &str,
        ok: bool,
        error: &str,
        threshold: i64,
        probe_at: i64,
        now: i64,
    ) -> Result<()> {
        if ok {
            self.exec(
                Query::new(
                    "UPDATE delivery_hosts SET state = 'up', consecutive_failures = 0,
                       down_since = NULL, next_probe_at = NULL, updated_at = $2
                     WHERE host = $1 AND (state <> 'up' OR consecutive_failures > 0)",
                )
                .bind(host)
                .bind(now),
            )
            .await?;
            return Ok(());
        }
        self.exec(
            Query::new(
                "INSERT INTO delivery_hosts (host, state, consecutive_failures, last_error, updated_at)
                 VALUES ($1, 'up', 1, $2, $3)
                 ON CONFLICT (host) DO UPDATE SET
                   consecutive_failures = delivery_hosts.consecutive_failures + 1,
                   last_error = excluded.last_error, updated_at = excluded.updated_at",
            )
            .bind(host)
            .bind(error)
            .bind(now),
        )
        .await?;
        self.exec(
            Query::new(
                "UPDATE delivery_hosts SET state = 'down',
                   down_since = COALESCE(down_since, $3), next_probe_at = $4
                 WHERE host = $1 AND consecutive_failures >= $2",
            )
            .bind(host)
            .bind(threshold)
            .bind(now)
            .bind(probe_at),
        )
        .await?;
        Ok(())
    }

    /// Queues a verified inbox activity unless `max_pending` are already waiting.
    /// Returns false when the queue is full. (The inbox queues through
    /// [`Store::enqueue_inbox_batch`], outside a transaction.)
    pub async fn enqueue_inbox(&mut self, a: &NewInboxActivity, max_pending: i64) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(ENQUEUE_INBOX)
                    .bind(a.id)
                    .bind(a.actor_id)
                    .bind(a.activity_uri.as_str())
                    .bind(a.json.as_str())
                    .bind(a.received_at)
                    .bind(a.order_key)
                    .bind(max_pending),
            )
            .await?
            == 1)
    }

    /// Remembers that `actor_id` undid the activity `uri` before it arrived, so that
    /// it is not applied when it does. Nothing is remembered when the activity is
    /// stored already (it arrived, and a repeat of it is ignored anyway).
    pub async fn remember_undone(&mut self, uri: &str, actor_id: Id, now: i64) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(
                    "INSERT INTO undone_activities (uri, actor_id, undone_at)
                     SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM activities WHERE uri = $1)
                     ON CONFLICT (uri, actor_id) DO NOTHING",
                )
                .bind(uri)
                .bind(actor_id)
                .bind(now),
            )
            .await?
            == 1)
    }

    /// Whether `actor_id` undid the activity `uri` before it arrived.
    pub async fn was_undone(&mut self, uri: &str, actor_id: Id) -> Result<bool> {
        Ok(self
            .one::<Scalar>(
                Query::new(
                    "SELECT COUNT(*) AS v FROM undone_activities WHERE uri = $1 AND actor_id = $2",
                )
                .bind(uri)
                .bind(actor_id),
            )
            .await?
            .v
            > 0)
    }

    /// Claims up to `limit` queued inbox activities, oldest first, for `lease_ms`.
    /// A row whose `order_key` an earlier queued row shares is not claimed: that one is
    /// being applied (here or by another process), waits for a retry, or waits to be
    /// claimed, and the activities about one thing are applied one after the other,
    /// in the order they arrived. (A finished row leaves the queue in its processor's
    /// next claim; the rows behind it are claimable from then on.)
    pub async fn claim_inbox(
        &mut self,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<InboxRow>> {
        let skip_locked = match self.kind() {
            EngineKind::Postgres => " FOR UPDATE SKIP LOCKED",
            EngineKind::Sqlite => "",
        };
        self.all(
            Query::new(format!(
                "UPDATE inbox_queue SET locked_until = $1, attempts = attempts + 1
                 WHERE id IN (SELECT q.id FROM inbox_queue q WHERE q.locked_until <= $2
                                AND (q.order_key = 0 OR NOT EXISTS (
                                  SELECT 1 FROM inbox_queue e
                                  WHERE e.order_key = q.order_key AND e.id < q.id))
                              ORDER BY q.id LIMIT $3{skip_locked})
                 RETURNING id, actor_id, activity_uri, json, received_at, attempts"
            ))
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit),
        )
        .await
    }

    /// Several inbox activities were applied (or given up): they leave the queue.
    pub async fn inbox_done_many(&mut self, ids: &[Id]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let list = json_id_list(self.kind());
        self.exec(
            Query::new(format!("DELETE FROM inbox_queue WHERE id IN {list}"))
                .bind(serde_json::to_string(ids).unwrap_or_default()),
        )
        .await
    }

    /// Claimed inbox activities that were not started: claimable again at once.
    pub async fn inbox_release(&mut self, ids: &[Id]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let list = json_id_list(self.kind());
        self.exec(
            Query::new(format!(
                "UPDATE inbox_queue SET locked_until = 0, attempts = attempts - 1 WHERE id IN {list}"
            ))
            .bind(serde_json::to_string(ids).unwrap_or_default()),
        )
        .await
    }

    /// Applying failed: try again after `retry_at`.
    pub async fn inbox_retry(&mut self, id: Id, retry_at: i64, error: &str) -> Result<()> {
        self.inbox_reschedule(id, retry_at, error, 0).await
    }

    /// Applying could not be done for want of the database (it could not write): try
    /// again after `retry_at`, and this claim is not counted among the attempts.
    pub async fn inbox_postpone(&mut self, id: Id, retry_at: i64, error: &str) -> Result<()> {
        self.inbox_reschedule(id, retry_at, error, 1).await
    }

    async fn inbox_reschedule(
        &mut self,
        id: Id,
        retry_at: i64,
        error: &str,
        uncounted: i64,
    ) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE inbox_queue SET locked_until = $2, last_error = $3, attempts = attempts - $4
                 WHERE id = $1",
            )
            .bind(id)
            .bind(retry_at)
            .bind(error)
            .bind(uncounted),
        )
        .await?;
        Ok(())
    }

    /// Marks a remote account deleted (suspended): it and its posts are no longer
    /// shown, and its follows in both directions end. Returns the ids whose counters
    /// changed.
    pub async fn remove_remote_account(&mut self, account_id: Id, now: i64) -> Result<Vec<Id>> {
        self.remove_remote_accounts(&[account_id], now).await
    }

    /// [`WriteTx::remove_remote_account`] of several accounts: a statement per table
    /// (and per distinct change of a counter). Returns the ids whose counters changed,
    /// the accounts' own included.
    pub async fn remove_remote_accounts(&mut self, ids: &[Id], now: i64) -> Result<Vec<Id>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut q = Query::new("UPDATE accounts SET suspended_at = COALESCE(suspended_at, ");
        let p = q.arg(now);
        q.push(&p);
        q.push(") WHERE domain <> '' AND id IN ");
        let list = q.in_list(ids);
        q.push(&list);
        self.exec(q).await?;
        let mut touched = ids.to_vec();
        // Those they followed lose a follower each, those following them a followee.
        for (col, other, counter) in [
            ("account_id", "target_account_id", AccountCounter::Followers),
            ("target_account_id", "account_id", AccountCounter::Following),
        ] {
            let mut q = Query::new(format!("SELECT {other} AS v FROM follows WHERE {col} IN "));
            let list = q.in_list(ids);
            q.push(&list);
            let others: Vec<Id> = self
                .all::<Scalar>(q)
                .await?
                .into_iter()
                .map(|r| r.v)
                .collect();
            touched.extend(&others);
            self.bump_account_counters(counter, &crate::count_each(others, -1))
                .await?;
        }
        for table in ["follows", "follow_requests", "endorsements"] {
            let mut q = Query::new(format!("DELETE FROM {table} WHERE account_id IN "));
            let list = q.in_list(ids);
            q.push(&list);
            q.push(" OR target_account_id IN ");
            let list = q.in_list(ids);
            q.push(&list);
            self.exec(q).await?;
        }
        let mut q = Query::new("DELETE FROM featured_tags WHERE account_id IN ");
        let list = q.in_list(ids);
        q.push(&list);
        self.exec(q).await?;
        touched.sort_unstable();
        touched.dedup();
        Ok(touched)
    }

    /// Records that an account moved to another.
    pub async fn set_moved_to(&mut self, account_id: Id, target_id: Id) -> Result<()> {
        self.exec(
            Query::new("UPDATE accounts SET moved_to_account_id = $2 WHERE id = $1")
                .bind(account_id)
                .bind(target_id),
        )
        .await?;
        Ok(())
    }

    pub async fn set_domain_block(&mut self, b: &DomainBlockRow) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO domain_blocks (domain, severity, reject_media, reason, created_at,
                   id, private_comment, reject_reports, obfuscate)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (domain) DO UPDATE SET severity = excluded.severity,
                   reject_media = excluded.reject_media, reason = excluded.reason,
                   private_comment = excluded.private_comment,
                   reject_reports = excluded.reject_reports, obfuscate = excluded.obfuscate",
            )
            .bind(b.domain.to_ascii_lowercase())
            .bind(&b.severity)
            .bind(b.reject_media)
            .bind(&b.reason)
            .bind(b.created_at)
            .bind(if b.id == 0 {
                b.created_at * 65536
            } else {
                b.id
            })
            .bind(&b.private_comment)
            .bind(b.reject_reports)
            .bind(b.obfuscate),
        )
        .await?;
        Ok(())
    }

    pub async fn remove_domain_block(&mut self, domain: &str) -> Result<u64> {
        self.exec(
            Query::new("DELETE FROM domain_blocks WHERE domain = $1")
                .bind(domain.to_ascii_lowercase()),
        )
        .await
    }
}
