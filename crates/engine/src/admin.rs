//! What the `sluice admin` commands do to the instance: domain blocks, approving
//! users, the recorded public URL and the schema version. Each write is one
//! transaction.

use sluice_model::Id;
use sluice_store::{DomainBlockRow, InstanceSetting};

use crate::{Engine, Result};

impl Engine {
    /// Blocks a remote domain instance-wide (or changes its block).
    pub async fn set_domain_block(&self, block: &DomainBlockRow) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.set_domain_block(block).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lifts the instance's block of `domain`; false when it was not blocked.
    pub async fn remove_domain_block(&self, domain: &str) -> Result<bool> {
        let mut tx = self.store.begin().await?;
        let n = tx.remove_domain_block(domain).await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    /// The instance's domain blocks.
    pub async fn domain_blocks(&self) -> Result<Vec<DomainBlockRow>> {
        Ok(self.store.domain_blocks().await?)
    }

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
