//! Schema migrations: one folder per engine (`migrations/sqlite`, `migrations/postgres`),
//! embedded in the binary, applied in order, each in its own transaction.
//!
//! Migrations are *expand-only*: a new version adds tables, columns and indexes that the
//! previous binary ignores, so during a rolling upgrade old and new code run side by side
//! on one schema. [`SCHEMA_VERSION_MIN`] is the oldest schema this binary can serve.

use crate::{EngineKind, Query, Result, Store, StoreError, query::Scalar};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "federation",
        sqlite: include_str!("../migrations/sqlite/0002_federation.sql"),
        postgres: include_str!("../migrations/postgres/0002_federation.sql"),
    },
    Migration {
        version: 3,
        name: "pins",
        sqlite: include_str!("../migrations/sqlite/0003_pins.sql"),
        postgres: include_str!("../migrations/postgres/0003_pins.sql"),
    },
    Migration {
        version: 4,
        name: "lists",
        sqlite: include_str!("../migrations/sqlite/0004_lists.sql"),
        postgres: include_str!("../migrations/postgres/0004_lists.sql"),
    },
    Migration {
        version: 5,
        name: "filters",
        sqlite: include_str!("../migrations/sqlite/0005_filters.sql"),
        postgres: include_str!("../migrations/postgres/0005_filters.sql"),
    },
    Migration {
        version: 6,
        name: "c2s",
        sqlite: include_str!("../migrations/sqlite/0006_c2s.sql"),
        postgres: include_str!("../migrations/postgres/0006_c2s.sql"),
    },
    Migration {
        version: 7,
        name: "collections",
        sqlite: include_str!("../migrations/sqlite/0007_collections.sql"),
        postgres: include_str!("../migrations/postgres/0007_collections.sql"),
    },
    Migration {
        version: 8,
        name: "media",
        sqlite: include_str!("../migrations/sqlite/0008_media.sql"),
        postgres: include_str!("../migrations/postgres/0008_media.sql"),
    },
    Migration {
        version: 9,
        name: "inbox_order",
        sqlite: include_str!("../migrations/sqlite/0009_inbox_order.sql"),
        postgres: include_str!("../migrations/postgres/0009_inbox_order.sql"),
    },
    Migration {
        version: 10,
        name: "sign_in",
        sqlite: include_str!("../migrations/sqlite/0010_sign_in.sql"),
        postgres: include_str!("../migrations/postgres/0010_sign_in.sql"),
    },
    Migration {
        version: 11,
        name: "instance",
        sqlite: include_str!("../migrations/sqlite/0011_instance.sql"),
        postgres: include_str!("../migrations/postgres/0011_instance.sql"),
    },
    Migration {
        version: 12,
        name: "web_sessions",
        sqlite: include_str!("../migrations/sqlite/0012_web_sessions.sql"),
        postgres: include_str!("../migrations/postgres/0012_web_sessions.sql"),
    },
    Migration {
        version: 13,
        name: "email",
        sqlite: include_str!("../migrations/sqlite/0013_email.sql"),
        postgres: include_str!("../migrations/postgres/0013_email.sql"),
    },
    Migration {
        version: 14,
        name: "two_factor",
        sqlite: include_str!("../migrations/sqlite/0014_two_factor.sql"),
        postgres: include_str!("../migrations/postgres/0014_two_factor.sql"),
    },
    Migration {
        version: 15,
        name: "account_notes",
        sqlite: include_str!("../migrations/sqlite/0015_account_notes.sql"),
        postgres: include_str!("../migrations/postgres/0015_account_notes.sql"),
    },
    Migration {
        version: 16,
        name: "polls",
        sqlite: include_str!("../migrations/sqlite/0016_polls.sql"),
        postgres: include_str!("../migrations/postgres/0016_polls.sql"),
    },
    Migration {
        version: 17,
        name: "search",
        sqlite: include_str!("../migrations/sqlite/0017_search.sql"),
        postgres: include_str!("../migrations/postgres/0017_search.sql"),
    },
    Migration {
        version: 18,
        name: "scheduled_endorsements_announcements",
        sqlite: include_str!("../migrations/sqlite/0018_scheduled_endorsements_announcements.sql"),
        postgres: include_str!(
            "../migrations/postgres/0018_scheduled_endorsements_announcements.sql"
        ),
    },
    Migration {
        version: 19,
        name: "custom_emojis",
        sqlite: include_str!("../migrations/sqlite/0019_custom_emojis.sql"),
        postgres: include_str!("../migrations/postgres/0019_custom_emojis.sql"),
    },
    Migration {
        version: 20,
        name: "tags",
        sqlite: include_str!("../migrations/sqlite/0020_tags.sql"),
        postgres: include_str!("../migrations/postgres/0020_tags.sql"),
    },
    Migration {
        version: 21,
        name: "push",
        sqlite: include_str!("../migrations/sqlite/0021_push.sql"),
        postgres: include_str!("../migrations/postgres/0021_push.sql"),
    },
    Migration {
        version: 22,
        name: "cards",
        sqlite: include_str!("../migrations/sqlite/0022_cards.sql"),
        postgres: include_str!("../migrations/postgres/0022_cards.sql"),
    },
    Migration {
        version: 23,
        name: "reactions",
        sqlite: include_str!("../migrations/sqlite/0023_reactions.sql"),
        postgres: include_str!("../migrations/postgres/0023_reactions.sql"),
    },
    Migration {
        version: 24,
        name: "quotes",
        sqlite: include_str!("../migrations/sqlite/0024_quotes.sql"),
        postgres: include_str!("../migrations/postgres/0024_quotes.sql"),
    },
    Migration {
        version: 25,
        name: "moderation",
        sqlite: include_str!("../migrations/sqlite/0025_moderation.sql"),
        postgres: include_str!("../migrations/postgres/0025_moderation.sql"),
    },
    Migration {
        version: 26,
        name: "conversations_cards",
        sqlite: include_str!("../migrations/sqlite/0026_conversations_cards.sql"),
        postgres: include_str!("../migrations/postgres/0026_conversations_cards.sql"),
    },
    Migration {
        version: 27,
        name: "quote_requests",
        sqlite: include_str!("../migrations/sqlite/0027_quote_requests.sql"),
        postgres: include_str!("../migrations/postgres/0027_quote_requests.sql"),
    },
    Migration {
        version: 28,
        name: "reports",
        sqlite: include_str!("../migrations/sqlite/0028_reports.sql"),
        postgres: include_str!("../migrations/postgres/0028_reports.sql"),
    },
    Migration {
        version: 29,
        name: "account_moderation",
        sqlite: include_str!("../migrations/sqlite/0029_account_moderation.sql"),
        postgres: include_str!("../migrations/postgres/0029_account_moderation.sql"),
    },
    Migration {
        version: 30,
        name: "portability",
        sqlite: include_str!("../migrations/sqlite/0030_portability.sql"),
        postgres: include_str!("../migrations/postgres/0030_portability.sql"),
    },
    Migration {
        version: 31,
        name: "federation_moderation",
        sqlite: include_str!("../migrations/sqlite/0031_federation_moderation.sql"),
        postgres: include_str!("../migrations/postgres/0031_federation_moderation.sql"),
    },
    Migration {
        version: 32,
        name: "delivery_claim",
        sqlite: include_str!("../migrations/sqlite/0032_delivery_claim.sql"),
        postgres: include_str!("../migrations/postgres/0032_delivery_claim.sql"),
    },
];

/// The schema version this binary creates.
pub const SCHEMA_VERSION: i64 = 32;
/// The oldest schema version whose code runs against this binary's schema: the
/// migrations after it only add (tables; columns with defaults that older code never
/// names), so during an upgrade the old processes keep serving on the database the new
/// one migrated. A binary made for an older schema cannot be upgraded from in place
/// (`supervisor::Stamp::can_upgrade_to`). Version 6 adds `mentions.silent`, version 7
/// the `collections` tables, version 8 `media`, `statuses.attachments` and
/// `blind_copies`, version 9 `inbox_queue.order_key` and `undone_activities`, version 10
/// `sign_in_failures` and `sign_in_clients`, version 11 `instance_settings`, version 12
/// `web_sessions`, version 13 `users.confirmed` and `email_tokens`, version 14 the
/// `two_factor` tables, version 15 `account_notes`, version 16 `polls` and
/// `poll_votes`, version 17 `status_search`, version 18 `scheduled_statuses`,
/// `conversation_mutes`, `endorsements` and the `announcements` tables, version 19
/// `custom_emojis`, version 20 `tag_follows`, `featured_tags`,
/// `accounts.featured_tags_url` and `suggestion_dismissals`,
/// version 21 `push_subscriptions` and `deliveries.push_subscription_id`,
/// version 22 `preview_cards`, `status_cards`, `card_jobs` and
/// `card_hosts`,
/// version 23 `status_reactions`, `notifications.emoji` and
/// `status_content_types`,
/// version 24 `status_quotes`, version 25 `users.role` and `admin_actions`,
/// version 26 `status_audiences` and the `preview_cards_expires` index,
/// version 27 `users.default_quote_policy`,
/// version 28 the moderation columns of `reports` and `notifications.report_id`,
/// version 29 the moderation columns of `accounts`, `account_warnings` and `notifications.account_warning_id`,
/// version 30 `account_migrations`, `account_deletions`, `imports`, `import_rows` and `archives`,
/// version 31 the `domain_blocks` columns of Mastodon, `domain_allows`, e-mail, canonical e-mail and IP blocks, `instance_rules` and `accounts.purged_at`,
/// version 32 the delivery claim's indexes (`deliveries_due_order`, `deliveries_host_due`, `deliveries_host_leased`).
pub const SCHEMA_VERSION_MIN: i64 = 5;

/// Key of the PostgreSQL advisory lock that serializes migrators across processes.
const PG_MIGRATION_LOCK: i64 = 0x5_11CE_0001;

impl Store {
    /// Applies every migration not yet applied. Safe to call from several processes at
    /// once: SQLite serializes on the write lock, PostgreSQL on an advisory lock.
    pub async fn migrate(&self) -> Result<()> {
        let mut tx = self.begin().await?;
        if tx.kind() == EngineKind::Postgres {
            tx.exec(Query::new("SELECT pg_advisory_xact_lock($1)").bind(PG_MIGRATION_LOCK))
                .await?;
            // A migration may rewrite a large table: no statement deadline here.
            tx.exec(Query::new("SET LOCAL statement_timeout = 0"))
                .await?;
        }
        tx.exec(Query::new(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        ))
        .await?;
        let current = tx
            .one::<Scalar>(Query::new(
                "SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations",
            ))
            .await?
            .v;
        if current > SCHEMA_VERSION {
            tracing::info!(
                current,
                ours = SCHEMA_VERSION,
                "database schema is newer than this binary"
            );
        }
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
            let sql = match tx.kind() {
                EngineKind::Sqlite => m.sqlite,
                EngineKind::Postgres => m.postgres,
            };
            tx.exec_script(sql)
                .await
                .map_err(|e| StoreError::Migration(format!("{} ({}): {e}", m.version, m.name)))?;
            tx.exec(
                Query::new(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                )
                .bind(m.version)
                .bind(m.name)
                .bind(sluice_model::id::now_millis()),
            )
            .await?;
            tracing::info!(version = m.version, name = m.name, "applied migration");
        }
        tx.commit().await
    }

    /// Whether the database holds a Sluice schema (migrated at least once): an empty
    /// database (or a new SQLite file) does not.
    pub async fn has_schema(&self) -> Result<bool> {
        let q = match self.kind() {
            EngineKind::Sqlite => Query::new(
                "SELECT count(*) AS v FROM sqlite_master
                 WHERE type = 'table' AND name = 'schema_migrations'",
            ),
            EngineKind::Postgres => Query::new(
                "SELECT count(*) AS v FROM information_schema.tables
                 WHERE table_name = 'schema_migrations' AND table_schema = current_schema()",
            ),
        };
        Ok(self.one::<Scalar>(q).await?.v > 0)
    }

    /// The newest migration applied to the database.
    pub async fn schema_version(&self) -> Result<i64> {
        Ok(self
            .one::<Scalar>(Query::new(
                "SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations",
            ))
            .await?
            .v)
    }
}
