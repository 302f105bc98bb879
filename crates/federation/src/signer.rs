//! Signing as our actors: a [`KeySigner`] signs outbound requests with one key; the
//! [`ActorSigners`] hand out (and cache) the signer of each local account for the
//! delivery workers, and of the instance actor for fetches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use reqwest::Method;
use reqwest::header::HeaderMap;
use sluice_engine::Engine;
use sluice_model::Id;
use url::Url;

use crate::delivery::{SignerFuture, SignerSource};
use crate::fetch::RequestSigner;
use crate::keys::KeyPair;
use crate::local;
use crate::signatures::{Scheme, SignWith, sign_request};

/// Signs requests with one key, under one key id.
pub struct KeySigner {
    key_id: String,
    key: KeyPair,
    scheme: Scheme,
}

impl KeySigner {
    pub fn new(key_id: String, key: KeyPair, scheme: Scheme) -> Self {
        KeySigner {
            key_id,
            key,
            scheme,
        }
    }

    /// From a stored key row (which must hold the private half).
    pub fn from_row(row: &sluice_engine::rows::KeyRow, scheme: Scheme) -> Result<Self, String> {
        let pem = row
            .private_key_pem
            .as_deref()
            .ok_or_else(|| format!("key {} has no private half", row.key_id))?;
        let key = KeyPair::from_pem(pem).map_err(|e| format!("key {}: {e}", row.key_id))?;
        Ok(KeySigner::new(row.key_id.clone(), key, scheme))
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

impl RequestSigner for KeySigner {
    fn sign(
        &self,
        method: &Method,
        url: &Url,
        headers: &mut HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<(), String> {
        self.sign_as(self.scheme, method, url, headers, body)
    }

    fn sign_as(
        &self,
        scheme: Scheme,
        method: &Method,
        url: &Url,
        headers: &mut HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<(), String> {
        sign_request(
            method,
            url,
            headers,
            body,
            &SignWith {
                key_id: &self.key_id,
                key: &self.key,
                scheme,
                now: SystemTime::now(),
            },
        )
        .map_err(|e| e.to_string())
    }
}

/// Most signers kept in memory (a parsed RSA key is a few KiB).
const MAX_CACHED_SIGNERS: usize = 1_000;

/// The signers of local accounts, made on first need and kept.
pub struct ActorSigners {
    engine: Arc<Engine>,
    cache: Mutex<HashMap<(Id, Scheme), Arc<KeySigner>>>,
}

impl ActorSigners {
    pub fn new(engine: Arc<Engine>) -> Self {
        ActorSigners {
            engine,
            cache: Mutex::new(HashMap::new()),
        }
    }

    async fn load(&self, account_id: Id, scheme: Scheme) -> Result<Arc<KeySigner>, String> {
        if let Some(s) = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(account_id, scheme))
        {
            return Ok(s.clone());
        }
        let row = if account_id == local::INSTANCE_ACTOR_ID {
            local::instance_key(&self.engine).await
        } else {
            let account = self
                .engine
                .account_any(account_id)
                .await
                .map_err(|e| e.to_string())?
                .filter(|a| a.is_local())
                .ok_or_else(|| format!("no local account {account_id}"))?;
            local::signing_key(&self.engine, &account).await
        }
        .map_err(|e| e.to_string())?;
        let signer = Arc::new(KeySigner::from_row(&row, scheme)?);
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_CACHED_SIGNERS {
            cache.clear();
        }
        cache.insert((account_id, scheme), signer.clone());
        Ok(signer)
    }
}

impl ActorSigners {
    /// The instance actor's signer.
    pub async fn instance(&self) -> Result<Arc<KeySigner>, String> {
        self.load(local::INSTANCE_ACTOR_ID, Scheme::Cavage).await
    }
}

impl SignerSource for ActorSigners {
    fn signer_for(&self, account_id: Id, scheme: Scheme) -> SignerFuture<'_> {
        Box::pin(async move {
            let s: Arc<dyn RequestSigner> = self.load(account_id, scheme).await?;
            Ok(s)
        })
    }
}
