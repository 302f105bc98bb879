//! Why receiving or applying an inbox activity failed, and whether trying again can
//! help: the engine's and the store's error kinds are kept, so an activity the engine
//! refuses for good (it names nothing we have, it is invalid, it conflicts with what
//! is stored) is finished at once, and only passing trouble is retried.

use sluice_engine::EngineError;
use sluice_engine::rows::StoreError;

use super::receive::MAX_INBOX_BODY;

/// Why an inbox POST was refused, or why applying a queued activity failed;
/// `status()` is the HTTP answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InboxError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the activity is larger than {MAX_INBOX_BODY} bytes")]
    TooLarge,
    #[error("{0}")]
    Forbidden(String),
    /// It names something that does not exist (the engine's `NotFound`, a row gone).
    #[error("{0}")]
    NotFound(String),
    /// The engine refused it as not acceptable (`Invalid`, `Validation`, `OAuth`).
    #[error("{0}")]
    Invalid(String),
    /// It conflicts with what is stored (a unique key another row holds).
    #[error("{0}")]
    Conflict(String),
    #[error("the inbox is busy, retry later")]
    Busy,
    /// Something we needed (a key, an actor) could not be fetched for now: the sender
    /// (or our own queue) tries again later.
    #[error("{0}")]
    Unavailable(String),
    /// The database cannot write now (a full disk, a lost connection: the store's
    /// `StoreError::Unavailable`): the sender tries again later, and an activity
    /// already queued waits for the database without using up its attempts.
    #[error("{0}")]
    StoreUnavailable(String),
    /// Something failed that should not have (a database error of no known kind, a
    /// panicked blocking task): a queued activity is tried again, a few times.
    #[error("{0}")]
    Internal(String),
}

impl InboxError {
    pub fn status(&self) -> u16 {
        match self {
            InboxError::Unauthorized(_) => 401,
            InboxError::BadRequest(_) => 400,
            InboxError::TooLarge => 413,
            InboxError::Forbidden(_) => 403,
            InboxError::NotFound(_) => 404,
            InboxError::Conflict(_) => 409,
            InboxError::Invalid(_) => 422,
            InboxError::Busy | InboxError::Unavailable(_) | InboxError::StoreUnavailable(_) => 503,
            InboxError::Internal(_) => 500,
        }
    }

    /// Whether the sender should try again later (503 with `Retry-After`): nothing is
    /// wrong with what it sent.
    pub fn retry_later(&self) -> bool {
        matches!(
            self,
            InboxError::Busy | InboxError::Unavailable(_) | InboxError::StoreUnavailable(_)
        )
    }

    /// Whether applying the activity again would fail again: what it says is refused
    /// (every 4xx). A queued activity failing so is finished after one attempt
    /// (counted as `failed`); passing trouble (a fetch that timed out, a database that
    /// cannot write) and errors of no known kind are retried.
    pub fn is_permanent(&self) -> bool {
        self.status() < 500
    }
}

impl From<EngineError> for InboxError {
    fn from(e: EngineError) -> Self {
        let message = e.to_string();
        match e {
            EngineError::Store(e) => e.into(),
            EngineError::NotFound => InboxError::NotFound(message),
            EngineError::Forbidden(_) => InboxError::Forbidden(message),
            EngineError::Unauthorized(_) => InboxError::Unauthorized(message),
            EngineError::Invalid(_)
            | EngineError::Validation { .. }
            | EngineError::OAuth { .. } => InboxError::Invalid(message),
            // Not an inbox matter (sign-in attempts); whatever it is, it passes.
            EngineError::TooManyAttempts { .. } => InboxError::Unavailable(message),
            EngineError::Internal(_) => InboxError::Internal(message),
        }
    }
}

impl From<StoreError> for InboxError {
    fn from(e: StoreError) -> Self {
        let message = e.to_string();
        match e {
            // A full disk, a lost connection: the sender keeps the activity and retries.
            StoreError::Unavailable(_) => InboxError::StoreUnavailable(message),
            StoreError::NotFound => InboxError::NotFound(message),
            StoreError::Conflict(_) => InboxError::Conflict(message),
            _ => InboxError::Internal(message),
        }
    }
}

/// A failed fetch as an inbox error: a passing trouble (timeout, 5xx, 429, no
/// connection) can be retried (503); anything else (404, 410, refused address, not
/// JSON) cannot, and the activity that needed it is refused (401).
pub(crate) fn fetch_failed(uri: &str, e: &crate::fetch::FetchError) -> InboxError {
    let message = format!("fetching {uri}: {e}");
    if e.is_retryable() {
        InboxError::Unavailable(message)
    } else {
        InboxError::Unauthorized(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_kinds_are_kept() {
        let permanent = [
            EngineError::NotFound,
            EngineError::invalid("no"),
            EngineError::forbidden("no"),
            EngineError::Unauthorized("no".into()),
            EngineError::Store(StoreError::NotFound),
            EngineError::Store(StoreError::Conflict("taken".into())),
        ];
        for e in permanent {
            let shown = e.to_string();
            let e = InboxError::from(e);
            assert!(e.is_permanent(), "{e:?}");
            assert_eq!(e.to_string(), shown);
        }
        let passing = [
            EngineError::Store(StoreError::Unavailable("disk full".into())),
            EngineError::Internal("panicked".into()),
            EngineError::Store(StoreError::Migration("?".into())),
        ];
        for e in passing {
            assert!(!InboxError::from(e).is_permanent());
        }
        assert!(matches!(
            InboxError::from(EngineError::Store(StoreError::Unavailable("x".into()))),
            InboxError::StoreUnavailable(_)
        ));
    }
}
