//! Rate limits per client IP and per token, fixed windows in memory.
//!
//! Limited: sign-in attempts, registrations and app registrations per IP (credential
//! stuffing, sign-up spam, rows of apps nobody uses), writes per token (runaway
//! clients). The client's IP is the one [`crate::forwarded`] finds behind trusted
//! proxies. (Sign-in failures per account are counted in the database, by the engine:
//! `sluice_engine::sign_in`.) A refused request gets 429 with
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (ISO 8601, as
//! Mastodon) and `Retry-After`. State is per process; several processes each enforce the
//! limit, which bounds the total at N times the limit.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::error::ApiError;

/// One limit: at most `max` hits per `window`. `max == 0` switches it off.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    SignIn,
    Registration,
    Write,
    Apps,
}

/// Every limit, as configured (`SLUICE_RATE_LIMIT_*`).
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Sign-in attempts per IP.
    pub sign_in: Limit,
    /// Account registrations per IP.
    pub registration: Limit,
    /// Writes per token.
    pub write: Limit,
    /// App registrations (`POST /api/v1/apps`) per IP.
    pub apps: Limit,
}

/// Windows tracked at most; beyond this, expired entries are swept first and, if still
/// full, the request is allowed (never unbounded memory, never a false refusal storm).
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug)]
pub struct RateLimiter {
    limits: RwLock<HashMap<Bucket, Limit>>,
    windows: Mutex<HashMap<(Bucket, String), (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        RateLimiter {
            limits: RwLock::new(Self::table(limits)),
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn table(l: RateLimits) -> HashMap<Bucket, Limit> {
        HashMap::from([
            (Bucket::SignIn, l.sign_in),
            (Bucket::Registration, l.registration),
            (Bucket::Write, l.write),
            (Bucket::Apps, l.apps),
        ])
    }

    /// New limits for the running server (`SIGHUP`); counts so far are kept.
    pub fn set(&self, limits: RateLimits) {
        *self.limits.write().unwrap_or_else(|e| e.into_inner()) = Self::table(limits);
    }

    /// Counts a hit; refuses with 429 when the window is full.
    pub fn check(&self, bucket: Bucket, key: &str) -> Result<(), ApiError> {
        let limit = self
            .limits
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&bucket)
            .copied();
        let Some(limit) = limit.filter(|l| l.max > 0) else {
            return Ok(());
        };
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= MAX_ENTRIES {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(3600));
            if windows.len() >= MAX_ENTRIES {
                return Ok(());
            }
        }
        let entry = windows.entry((bucket, key.to_string())).or_insert((now, 0));
        if now.duration_since(entry.0) >= limit.window {
            *entry = (now, 0);
        }
        if entry.1 >= limit.max {
            let reset_in = limit.window.saturating_sub(now.duration_since(entry.0));
            let reset_at = sluice_model::Timestamp(
                sluice_model::id::now_millis() + reset_in.as_millis() as i64,
            );
            return Err(
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests")
                    .header("x-ratelimit-limit", limit.max.to_string())
                    .header("x-ratelimit-remaining", "0")
                    .header("x-ratelimit-reset", reset_at.to_rfc3339())
                    .header("retry-after", reset_in.as_secs().max(1).to_string()),
            );
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_max_and_separates_keys() {
        let l = Limit {
            max: 2,
            window: Duration::from_secs(60),
        };
        let off = Limit {
            max: 0,
            window: Duration::from_secs(60),
        };
        let r = RateLimiter::new(RateLimits {
            sign_in: l,
            registration: l,
            write: off,
            apps: off,
        });
        assert!(r.check(Bucket::SignIn, "1.2.3.4").is_ok());
        assert!(r.check(Bucket::SignIn, "1.2.3.4").is_ok());
        let e = r.check(Bucket::SignIn, "1.2.3.4").unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(e.headers.iter().any(|(k, _)| *k == "x-ratelimit-reset"));
        assert!(r.check(Bucket::SignIn, "5.6.7.8").is_ok());
        for _ in 0..100 {
            assert!(r.check(Bucket::Write, "t").is_ok());
        }
        // New limits apply at once; what was counted stays counted.
        r.set(RateLimits {
            sign_in: off,
            registration: l,
            write: l,
            apps: off,
        });
        assert!(r.check(Bucket::SignIn, "1.2.3.4").is_ok());
        assert!(r.check(Bucket::Write, "t").is_ok());
        assert!(r.check(Bucket::Write, "t").is_ok());
        assert!(r.check(Bucket::Write, "t").is_err());
    }
}
