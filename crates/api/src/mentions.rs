//! Mentions of accounts this server has not seen yet: before a post is made, each
//! `@user@host` it names that is not stored is looked up through WebFinger (the one
//! SSRF-safe fetcher), so the post links and reaches it. Bounded: at most
//! [`MAX_LOOKUPS`] handles per post, all together within [`DEADLINE`]; a handle not
//! found in time stays plain text (and a direct post naming it is refused by the
//! engine, so a message never silently reaches nobody).

use std::time::Duration;

use crate::AppState;

/// Unknown handles of one post looked up.
pub const MAX_LOOKUPS: usize = 5;
/// Time the lookups of one post may take together.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// Looks up the handles `text` mentions that are neither local nor stored yet.
pub(crate) async fn resolve_new_mentions(state: &AppState, text: &str) {
    let Some(fed) = state.federation.as_ref() else {
        return;
    };
    let local = state.engine.urls.domain();
    let mut unknown = Vec::new();
    for m in sluice_model::content::scan(text).mentions {
        let Some(domain) = m.domain.as_deref() else {
            continue;
        };
        if domain.eq_ignore_ascii_case(local) {
            continue;
        }
        let acct = format!("{}@{domain}", m.username);
        if matches!(state.engine.account_by_acct(&acct).await, Ok(None)) {
            unknown.push(acct);
            if unknown.len() == MAX_LOOKUPS {
                break;
            }
        }
    }
    if unknown.is_empty() {
        return;
    }
    let lookups = futures_util::future::join_all(unknown.iter().map(|acct| async move {
        if let Err(e) = fed.resolve_acct(acct).await {
            tracing::debug!(%acct, error = %e, "mentioned account not found");
        }
    }));
    if tokio::time::timeout(DEADLINE, lookups).await.is_err() {
        tracing::debug!(?unknown, "mention lookups ran out of time");
    }
}
