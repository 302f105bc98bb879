//! Who is who: remote actors resolved (WebFinger, actor documents) and stored with the
//! keys they own on their own server; the key that made a request's signature, looked
//! up or fetched, and fetched again once when it does not verify (key rotation).

use std::time::Duration;

use sluice_engine::Engine;
use sluice_engine::rows::{AccountRow, KeyRow};
use url::Url;

use super::InboxError;
use super::convert::remote_actor;
use super::error::fetch_failed;
use crate::document::{self, Actor, same_origin};
use crate::keys::PublicKey;
use crate::service::Federation;

impl Federation {
    /// The key that made `pending`'s signature, after checking it: looked up, or
    /// fetched with its actor when unknown; fetched again once when a stored key does
    /// not verify (the actor may have rotated it).
    pub(crate) async fn verified_key(
        &self,
        pending: &crate::signatures::PendingSignature,
    ) -> Result<KeyRow, InboxError> {
        let key_id = pending.key_id();
        let (key, fresh) = match self.engine.key(key_id).await? {
            Some(k) => (k, false),
            None => (self.fetch_key(key_id, false).await?, true),
        };
        if verify(pending, &key).is_ok() {
            return Ok(key);
        }
        let refused = || InboxError::Unauthorized("the signature does not verify".into());
        if fresh {
            return Err(refused());
        }
        let key = self.fetch_key(key_id, true).await?;
        verify(pending, &key).map_err(|_| refused())?;
        Ok(key)
    }

    /// Fetches the actor that owns `key_id` and stores it with its keys; returns the key.
    async fn fetch_key(&self, key_id: &str, fresh: bool) -> Result<KeyRow, InboxError> {
        let mut url = Url::parse(key_id)
            .map_err(|_| InboxError::Unauthorized("the keyId is not a URL".into()))?;
        url.set_fragment(None);
        let account = self.resolve_actor(url.as_str(), fresh).await?;
        self.engine
            .key(key_id)
            .await?
            .filter(|k| k.account_id == account.id)
            .ok_or_else(|| {
                InboxError::Unauthorized("the key's actor does not publish that key".into())
            })
    }

    /// Fetches a remote actor document and stores (or refreshes) the account and its
    /// keys. Known actors fetched within the last day are returned from the database
    /// unless `fresh`.
    pub async fn resolve_actor(&self, uri: &str, fresh: bool) -> Result<AccountRow, InboxError> {
        // Our own actors are never fetched (nor refreshed from what a fetch returns).
        if self.is_local_uri(uri) {
            return local_account(&self.engine, uri)
                .await?
                .ok_or_else(|| InboxError::BadRequest(format!("{uri}: no such actor here")));
        }
        if !fresh
            && let Some(a) = self.engine.account_by_uri(uri).await?
            && (a.is_local()
                || a.fetched_at.is_some_and(|t| {
                    sluice_model::id::now_millis() - t < ACTOR_REFRESH.as_millis() as i64
                }))
        {
            return Ok(a);
        }
        let url = Url::parse(uri).map_err(|_| InboxError::BadRequest("not a URL".into()))?;
        let fetched = self
            .get_json(&url, fresh)
            .await
            .map_err(|e| fetch_failed(uri, &e))?;
        let doc = document::parse(fetched.bytes())
            .map_err(|e| InboxError::Unauthorized(format!("{uri}: {e}")))?;
        let Some(actor) = doc.as_actor() else {
            return Err(InboxError::Unauthorized(format!("{uri} is not an actor")));
        };
        if !same_origin(&actor.id, fetched.url.as_str()) {
            return Err(InboxError::Unauthorized(format!(
                "{uri}: the actor's id is on another host"
            )));
        }
        let stored = self.store_actor(actor).await?;
        if stored.suspended_at.is_some() {
            return Err(InboxError::NotFound(format!("{uri} is suspended")));
        }
        if let Some(tags_url) = &actor.featured_tags {
            self.sync_featured_tags(&stored, tags_url).await;
        }
        Ok(stored)
    }

    /// Reads a remote actor's `featuredTags` collection (on the actor's own host, its
    /// first page only: at most [`sluice_engine::tags::MAX_FEATURED_TAGS`] are kept)
    /// into the featured tags of its profile here. A failure is logged and changes
    /// nothing: the actor stays resolved, and `Add`/`Remove` activities keep the tags
    /// current.
    async fn sync_featured_tags(&self, actor: &AccountRow, tags_url: &str) {
        if !same_origin(&actor.uri, tags_url) {
            return;
        }
        let names = match self.featured_tag_names(tags_url).await {
            Ok(names) => names,
            Err(e) => {
                tracing::info!(actor = %actor.uri, error = %e, "featuredTags not read");
                return;
            }
        };
        if let Err(e) = self.engine.set_remote_featured_tags(actor, &names).await {
            tracing::warn!(actor = %actor.uri, error = %e, "featuredTags not stored");
        }
    }

    /// The hashtag names of a `featuredTags` collection: its `items` or
    /// `orderedItems` (or those of its embedded `first` page), each a Hashtag's
    /// `name` or the last segment of its `href`.
    async fn featured_tag_names(&self, tags_url: &str) -> Result<Vec<String>, String> {
        let url = Url::parse(tags_url).map_err(|e| e.to_string())?;
        let fetched = self
            .get_json(&url, false)
            .await
            .map_err(|e| e.to_string())?;
        let doc: serde_json::Value =
            serde_json::from_slice(fetched.bytes()).map_err(|e| e.to_string())?;
        let list = |v: &serde_json::Value| {
            v.get("orderedItems")
                .or_else(|| v.get("items"))
                .and_then(|i| i.as_array())
                .cloned()
        };
        let items = list(&doc)
            .or_else(|| doc.get("first").and_then(list))
            .unwrap_or_default();
        Ok(items
            .iter()
            .filter(|i| i.get("type").and_then(|t| t.as_str()) == Some("Hashtag"))
            .filter_map(|i| {
                let name = i.get("name").and_then(|n| n.as_str());
                let href = i.get("href").and_then(|h| h.as_str());
                name.map(str::to_string).or_else(|| {
                    href.and_then(|h| h.rsplit_once("/tags/"))
                        .map(|(_, n)| n.to_string())
                })
            })
            .take(sluice_engine::tags::MAX_FEATURED_TAGS as usize)
            .collect())
    }

    /// Stores a remote actor and the keys it owns on its own server. Remote data never
    /// writes rows of our own actors: an actor document with an id on our server is
    /// refused, and keys listed with ids elsewhere are left out.
    pub(super) async fn store_actor(&self, actor: &Actor) -> Result<AccountRow, InboxError> {
        if self.is_local_uri(&actor.id) {
            return Err(InboxError::Unauthorized(format!(
                "{}: our own actors do not come from another server",
                actor.id
            )));
        }
        let remote = remote_actor(actor)
            .ok_or_else(|| InboxError::BadRequest("the actor has no inbox or name".into()))?;
        let keys: Vec<(&str, &str)> = actor
            .own_keys()
            .filter_map(|k| Some((k.id.as_deref()?, k.pem.as_deref()?)))
            .collect();
        let now = sluice_model::id::now_millis();
        self.engine
            .remember_remote_emojis(
                &remote.domain,
                &super::convert::remote_emojis(&actor.emojis),
            )
            .await?;
        let stored = self
            .engine
            .store_remote_actor(&remote, &keys, now)
            .await?
            .ok_or_else(|| InboxError::Internal("the stored actor vanished".into()))?;
        Ok(self
            .engine
            .set_remote_suspension(&stored, actor.suspended)
            .await?)
    }

    /// Finds `user@domain` through WebFinger and stores the actor it names.
    pub async fn resolve_acct(&self, acct: &str) -> Result<AccountRow, InboxError> {
        let acct = acct.trim().trim_start_matches('@');
        if !acct
            .rsplit_once('@')
            .is_some_and(|(u, d)| !u.is_empty() && !d.is_empty())
        {
            return Err(InboxError::BadRequest("expected user@domain".into()));
        }
        // The whole acct: a bare `user` would be read as a local name.
        if let Some(a) = self.engine.account_by_acct(acct).await? {
            return Ok(a);
        }
        let jrd = self.webfinger(acct).await?;
        let href = jrd["links"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| {
                l["rel"] == "self"
                    && l["type"].as_str().is_some_and(|t| {
                        t.starts_with("application/activity+json")
                            || t.starts_with("application/ld+json")
                    })
            })
            .and_then(|l| l["href"].as_str())
            .ok_or_else(|| InboxError::BadRequest("WebFinger names no actor".into()))?
            .to_string();
        self.resolve_actor(&href, false).await
    }
}

impl Federation {
    /// Where `user@domain`'s server lets its people follow someone elsewhere: the
    /// WebFinger `http://ostatus.org/schema/1.0/subscribe` template (with `{uri}` in
    /// it), as Mastodon's "follow from your server" uses.
    pub async fn subscribe_template(&self, acct: &str) -> Result<String, InboxError> {
        let jrd = self.webfinger(acct).await?;
        jrd["links"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["rel"] == "http://ostatus.org/schema/1.0/subscribe")
            .and_then(|l| l["template"].as_str())
            .filter(|t| t.contains("{uri}"))
            .map(str::to_string)
            .ok_or_else(|| InboxError::BadRequest("that server offers no way to follow".into()))
    }

    /// The WebFinger document of `user@domain` (https, then http where allowed).
    async fn webfinger(&self, acct: &str) -> Result<serde_json::Value, InboxError> {
        let acct = acct.trim().trim_start_matches('@');
        let (user, domain) = acct
            .rsplit_once('@')
            .filter(|(u, d)| !u.is_empty() && !d.is_empty())
            .ok_or_else(|| InboxError::BadRequest("expected user@domain".into()))?;
        let mut schemes = vec!["https"];
        if self.settings.allow_http {
            schemes.push("http");
        }
        let mut last = String::new();
        for scheme in schemes {
            let Ok(mut url) = Url::parse(&format!("{scheme}://{domain}/.well-known/webfinger"))
            else {
                return Err(InboxError::BadRequest("not a domain".into()));
            };
            url.query_pairs_mut()
                .append_pair("resource", &format!("acct:{user}@{domain}"));
            match self.get_json(&url, false).await {
                Ok(f) => {
                    return f
                        .json()
                        .map_err(|e| InboxError::BadRequest(format!("WebFinger: {e}")));
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(InboxError::BadRequest(format!(
            "WebFinger for {acct}: {last}"
        )))
    }
}

/// How long a fetched actor document is trusted before it is fetched again.
pub const ACTOR_REFRESH: Duration = Duration::from_secs(24 * 3600);

fn verify(pending: &crate::signatures::PendingSignature, key: &KeyRow) -> Result<(), String> {
    let public = PublicKey::from_pem(&key.public_key_pem).map_err(|e| e.to_string())?;
    pending.verify(&public).map_err(|e| e.message())
}

/// The local account whose actor IRI is `uri`, if any.
pub(super) async fn local_account(
    engine: &Engine,
    uri: &str,
) -> Result<Option<AccountRow>, InboxError> {
    Ok(engine
        .account_by_uri(uri)
        .await?
        .filter(AccountRow::is_local))
}
