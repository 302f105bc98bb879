//! Settings of the instance itself, kept in its database (`instance_settings`) rather
//! than in each process's configuration: the public URL, recorded once, which every
//! process and command then reads, so that none of them mints ids under another one.

use sluice_model::Id;

use crate::{Query, Result, Store, query::Scalar};

/// The key of the instance's public URL.
pub const PUBLIC_URL_KEY: &str = "public_url";

/// A recorded instance setting.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InstanceSetting {
    pub value: String,
    /// When it was recorded (Unix milliseconds).
    pub recorded_at: i64,
}

impl Store {
    /// The setting recorded under `key`, if any.
    pub async fn instance_setting(&self, key: &str) -> Result<Option<InstanceSetting>> {
        self.opt::<InstanceSetting>(
            Query::new("SELECT value, recorded_at FROM instance_settings WHERE key = $1").bind(key),
        )
        .await
    }

    /// Records `value` under `key` unless something is recorded there already, and
    /// returns what is recorded now: the earlier value wins, also against a process
    /// recording at the same moment.
    pub async fn record_instance_setting(
        &self,
        key: &str,
        value: &str,
        now: i64,
    ) -> Result<InstanceSetting> {
        let mut tx = self.begin().await?;
        tx.exec(
            Query::new(
                "INSERT INTO instance_settings (key, value, recorded_at) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(value)
            .bind(now),
        )
        .await?;
        let recorded = tx
            .one::<InstanceSetting>(
                Query::new("SELECT value, recorded_at FROM instance_settings WHERE key = $1")
                    .bind(key),
            )
            .await?;
        tx.commit().await?;
        Ok(recorded)
    }

    /// Whether any local user exists (an instance that has minted ids already).
    pub async fn has_users(&self) -> Result<bool> {
        Ok(self
            .one::<Scalar>(Query::new(
                "SELECT count(*) AS v FROM (SELECT 1 FROM users LIMIT 1) AS any_user",
            ))
            .await?
            .v
            > 0)
    }

    /// The first admin's account id (the instance's contact account), if any.
    pub async fn first_admin(&self) -> Result<Option<Id>> {
        Ok(self
            .opt::<Scalar>(Query::new(
                "SELECT account_id AS v FROM users WHERE admin = TRUE ORDER BY account_id LIMIT 1",
            ))
            .await?
            .map(|r| r.v))
    }
}
