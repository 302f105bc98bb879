//! API errors: Mastodon's `{"error": "…"}` body with Mastodon's status codes. Engine and
//! store errors are mapped here, once; internal details are logged, never sent.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sluice_engine::EngineError;

/// What a client is told to wait when the database cannot take its request (a full
/// disk, a lost connection): short, because writes resume by themselves as soon as the
/// database can take them, and a client retrying once in ten seconds costs nothing.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 10;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: serde_json::Value,
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: json!({ "error": message.into() }),
            headers: vec![],
        }
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Record not found")
    }
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "The access token is invalid")
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, msg)
    }
    pub fn unprocessable(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, msg)
    }
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, msg)
    }
    /// The human-readable message: the OAuth description when there is one.
    pub fn message(&self) -> &str {
        self.body["error_description"]
            .as_str()
            .or(self.body["error"].as_str())
            .unwrap_or("Invalid request")
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotFound => ApiError::not_found(),
            EngineError::Forbidden(m) => ApiError::forbidden(m),
            EngineError::Unauthorized(m) => ApiError::new(StatusCode::UNAUTHORIZED, m),
            EngineError::Invalid(m) => ApiError::unprocessable(m),
            EngineError::Validation { message, details } => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                body: json!({ "error": message, "details": details }),
                headers: vec![],
            },
            EngineError::OAuth {
                code,
                description,
                status,
            } => ApiError {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                body: json!({ "error": code, "error_description": description }),
                headers: vec![],
            },
            EngineError::TooManyAttempts { retry_after_secs } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many failed sign-ins: try again in {retry_after_secs} seconds"),
            )
            .header("retry-after", retry_after_secs.to_string()),
            EngineError::Store(sluice_engine::rows::StoreError::NotFound) => ApiError::not_found(),
            EngineError::Store(sluice_engine::rows::StoreError::Conflict(m)) => {
                tracing::debug!(conflict = %m, "write conflict");
                ApiError::unprocessable("Validation failed: the record already exists")
            }
            EngineError::Store(sluice_engine::rows::StoreError::Unavailable(reason)) => {
                tracing::warn!(%reason, "request refused: the database cannot take it now");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The server cannot take this request now; try again later",
                )
                .header("retry-after", UNAVAILABLE_RETRY_AFTER_SECS.to_string())
            }
            e @ (EngineError::Store(_) | EngineError::Internal(_)) => {
                tracing::error!(error = %e, "request failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
            }
        }
    }
}

impl From<sluice_engine::rows::StoreError> for ApiError {
    fn from(e: sluice_engine::rows::StoreError) -> Self {
        EngineError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body)).into_response();
        for (k, v) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                r.headers_mut().insert(k, v);
            }
        }
        r
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
