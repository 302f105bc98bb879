//! The engine's error type. The API maps each variant to a Mastodon-shaped
//! `{"error": "…"}` response with the matching status code.

use sluice_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// 404: the thing does not exist or the caller may not know that it does.
    #[error("Record not found")]
    NotFound,
    /// 403: the caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 401: credentials are missing or wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// 422: the input is not acceptable; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// 422 with per-field details, as Mastodon's registration answers.
    #[error("{message}")]
    Validation {
        message: String,
        details: serde_json::Value,
    },
    /// 400 with an OAuth error code (`invalid_grant`, `invalid_client`, …).
    #[error("{description}")]
    OAuth {
        code: &'static str,
        description: String,
        status: u16,
    },
    /// 429: too many attempts; try again after this many seconds.
    #[error("Too many failed sign-ins: try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Work that should not fail did (a panicked blocking task, say).
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        EngineError::Invalid(msg.into())
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        EngineError::Forbidden(msg.into())
    }
    pub fn oauth(code: &'static str, description: impl Into<String>) -> Self {
        let status = if code == "invalid_client" { 401 } else { 400 };
        EngineError::OAuth {
            code,
            description: description.into(),
            status,
        }
    }
}
