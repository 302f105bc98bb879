//! The instance: its contact account, registered applications, whether it can write.

use sluice_model::{Id, api};
use sluice_store::AppRow;

use crate::{Engine, Result};

impl Engine {
    /// The contact account: the first admin, when there is one.
    pub async fn contact_account(&self) -> Result<Option<api::Account>> {
        let Some(id) = self.store.first_admin().await? else {
            return Ok(None);
        };
        Ok(self
            .store
            .account(id)
            .await?
            .map(|a| self.account_entity(&a)))
    }

    /// A registered application.
    pub async fn app(&self, id: Id) -> Result<Option<AppRow>> {
        Ok(self.store.app(id).await?)
    }

    /// Whether the database takes writes now (`/health`): a cached write probe and
    /// recent write failures; the reason when it does not.
    pub async fn check_writes(&self) -> std::result::Result<(), String> {
        self.store.check_writes().await
    }
}
