//! Who is fetching: signed GETs of our documents are verified, so a blocked actor can
//! be refused (403) what the blocker publishes. Unsigned GETs of public documents are
//! answered as before (Sluice does not require signed fetches).

use std::time::SystemTime;

use reqwest::Method;
use reqwest::header::HeaderMap;
use sluice_engine::rows::AccountRow;

use crate::inbox::InboxError;
use crate::service::Federation;
use crate::signatures::parse_request;

impl Federation {
    /// The remote actor that signed this GET; `Ok(None)` for an unsigned request, an
    /// error when the signature does not verify (the caller decides what that means).
    pub async fn signed_fetcher(
        &self,
        path_and_query: &str,
        headers: &HeaderMap,
    ) -> Result<Option<AccountRow>, InboxError> {
        let signed = headers.contains_key("signature")
            || headers.contains_key("signature-input")
            || headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().starts_with("signature "));
        if !signed {
            return Ok(None);
        }
        let limits = self.verify_limits();
        let pending = parse_request(
            &Method::GET,
            path_and_query,
            headers,
            None,
            SystemTime::now(),
            &limits,
        )
        .map_err(|e| InboxError::Unauthorized(e.message()))?;
        let key = self.verified_key(&pending).await?;
        Ok(self.engine.account(key.account_id).await?)
    }

    /// Whether `owner` (one of ours) refuses `fetcher` its documents: it blocks the
    /// fetcher, or the fetcher's domain is suspended.
    pub async fn refuses(
        &self,
        owner: &AccountRow,
        fetcher: &AccountRow,
    ) -> Result<bool, InboxError> {
        if fetcher.is_local() || fetcher.id == owner.id {
            return Ok(false);
        }
        if self.engine.host_suspended(&fetcher.domain).await? {
            return Ok(true);
        }
        Ok(self.engine.blocks(owner.id, fetcher.id).await?)
    }
}
