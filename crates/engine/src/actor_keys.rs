//! Our actors' signing keys. A local account's RSA key pair is made with the account,
//! in the transaction that creates it; actor documents only read it, so nothing a
//! remote server or an anonymous reader does makes the server generate a key (RSA
//! generation costs about 100 ms of CPU). Keys that are missing (accounts made by an
//! older version, which made keys on first need, or by a bulk import) are made at
//! start, in bounded batches, by [`Engine::repair_local_keys`], which also removes key
//! rows of ours that have no private half (remote actor documents could plant them
//! before remote keys were checked to be on their actor's own server).
//!
//! The cryptography lives in the federation crate, above this one: the engine is given
//! the function that makes a key pair ([`crate::EngineConfig::make_key_pair`]).

use sluice_model::Id;
use sluice_store::KeyRow;

use crate::{Engine, EngineError, Result};

/// The account id under which the instance actor's key is stored (it has no account
/// row: its document is built from the configuration).
pub const INSTANCE_ACTOR_ID: Id = 0;

/// Accounts given a missing key per batch at start: one batch is read, then its keys
/// are made one at a time on the blocking pool (one core at most, so a server starting
/// on thousands of keyless accounts keeps serving while it catches up).
pub const KEY_REPAIR_BATCH: i64 = 100;

/// A new key pair as PEM text. Not `Debug`: the private half is a secret.
pub struct KeyPairPem {
    /// SPKI (`-----BEGIN PUBLIC KEY-----`), as published in actor documents.
    pub public: String,
    /// PKCS#8 (`-----BEGIN PRIVATE KEY-----`).
    pub private: String,
}

impl Drop for KeyPairPem {
    /// The private half is wiped from memory with the value.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.private);
    }
}

/// Makes an RSA key pair (CPU-heavy: the engine calls it on the blocking pool).
pub type MakeKeyPair = fn() -> std::result::Result<KeyPairPem, String>;

impl Engine {
    /// A new key pair, made on the blocking pool.
    pub async fn new_key_pair(&self) -> Result<KeyPairPem> {
        tokio::task::spawn_blocking(self.config.make_key_pair)
            .await
            .map_err(|e| EngineError::Internal(format!("key generation task: {e}")))?
            .map_err(|e| EngineError::Internal(format!("key generation: {e}")))
    }

    /// The row that stores `pair` as the key `key_id` of local actor `account_id`.
    pub fn local_key_row(&self, account_id: Id, key_id: &str, pair: &KeyPairPem) -> KeyRow {
        let now = sluice_model::id::now_millis();
        KeyRow {
            key_id: key_id.to_string(),
            account_id,
            public_key_pem: pair.public.clone(),
            private_key_pem: Some(pair.private.clone()),
            created_at: now,
            fetched_at: now,
        }
    }

    /// The key `key_id` of one of our actors, when it has been made (with its private
    /// half). Never makes one: this is what documents served to anyone read.
    pub async fn local_key(&self, key_id: &str) -> Result<Option<KeyRow>> {
        Ok(self
            .store
            .key(key_id)
            .await?
            .filter(|k| k.private_key_pem.is_some()))
    }

    /// The key `key_id` of our actor `account_id`, made now if it is missing: for
    /// signing (deliveries of the account's own activities, the instance actor's
    /// fetches) and the start-up repair, never for a request from outside.
    pub async fn ensure_local_key(&self, account_id: Id, key_id: &str) -> Result<KeyRow> {
        if let Some(k) = self.local_key(key_id).await? {
            return Ok(k);
        }
        let pair = self.new_key_pair().await?;
        let mut tx = self.store.begin().await?;
        // Replaces a row without a private half; never a key that has one.
        tx.upsert_key(&self.local_key_row(account_id, key_id, &pair))
            .await?;
        tx.commit().await?;
        // Two processes may race to make the first key: the stored one wins, both use it.
        self.local_key(key_id)
            .await?
            .ok_or_else(|| EngineError::Internal(format!("key {key_id} was not stored")))
    }

    /// The instance actor's key, made now if missing. The server makes it before it
    /// serves (one RSA generation at the first start only), so `/actor` never answers
    /// without a key, which a remote server would fetch to check our signed GETs.
    pub async fn ensure_instance_key(&self) -> Result<KeyRow> {
        let instance = self.urls.key_id(&self.urls.instance_actor());
        self.ensure_local_key(INSTANCE_ACTOR_ID, &instance).await
    }

    /// Repairs our actors' keys at start: removes rows of ours without a private half,
    /// then makes the instance actor's key and every local account's missing key, in
    /// batches of [`KEY_REPAIR_BATCH`], until `stop` turns true. Returns the keys made.
    pub async fn repair_local_keys(
        &self,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<u64> {
        let removed = {
            let mut tx = self.store.begin().await?;
            let n = tx
                .remove_public_only_local_keys(&format!("{}/", self.urls.base()))
                .await?;
            tx.commit().await?;
            n
        };
        if removed > 0 {
            tracing::warn!(
                removed,
                "removed key rows of local actors that had no private half (left by remote \
                 actor documents an older version believed); their keys are made again"
            );
        }
        self.ensure_instance_key().await?;
        let mut made = 0;
        let mut after = 0;
        while !*stop.borrow() {
            let batch = self
                .store
                .local_accounts_without_key(after, KEY_REPAIR_BATCH)
                .await?;
            let Some(last) = batch.last().copied() else {
                break;
            };
            for account in self.store.accounts(&batch).await? {
                if *stop.borrow() {
                    break;
                }
                self.ensure_local_key(account.id, &self.urls.key_id(&account.uri))
                    .await?;
                made += 1;
            }
            after = last;
        }
        if made > 0 {
            tracing::info!(made, "made the signing keys local accounts were missing");
        }
        Ok(made)
    }
}
