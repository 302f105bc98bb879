//! What the `sluice admin` commands do to the instance (domain blocks are in
//! `federation_moderation`): approving
//! users, the recorded public URL and the schema version. Each write is one
//! transaction.

use sluice_model::Id;
use sluice_store::InstanceSetting;

use crate::{Engine, Result};

impl Engine {
    /// Approves a local user who registered while registrations needed approval.
    pub async fn approve_user(&self, account: Id) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.approve_user(account).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The public URL recorded in the database, with when it was recorded; None before
    /// the first start.
    pub async fn recorded_public_url(&self) -> Result<Option<InstanceSetting>> {
        Ok(self
            .store
            .instance_setting(sluice_store::PUBLIC_URL_KEY)
            .await?)
    }

    /// The database's schema version (its newest migration applied).
    pub async fn schema_version(&self) -> Result<i64> {
        Ok(self.store.schema_version().await?)
    }
}
