//! Arbitrary headers and bodies into signature verification: never a panic, and never
//! a signature that verifies with a key that did not make it.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sluice_federation::keys::KeyPair;
use sluice_federation::signatures::{VerifyLimits, parse_request};

const NAMES: [&str; 8] = [
    "signature",
    "signature-input",
    "digest",
    "content-digest",
    "date",
    "host",
    "authorization",
    "accept",
];

fn key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| KeyPair::generate().expect("key"))
}

fuzz_target!(|data: &[u8]| {
    // Layout: [post flag][n headers] then n × ([name index][len][value…]), then the body.
    let mut rest = data;
    let mut take = |n: usize| -> Option<&[u8]> {
        if rest.len() < n {
            return None;
        }
        let (a, b) = rest.split_at(n);
        rest = b;
        Some(a)
    };
    let Some(&[flag, count]) = take(2) else { return };
    let mut headers = HeaderMap::new();
    for _ in 0..count.min(12) {
        let Some(&[name, len]) = take(2) else { break };
        let Some(value) = take(len as usize) else { break };
        if let Ok(v) = HeaderValue::from_bytes(value) {
            headers.append(HeaderName::from_static(NAMES[name as usize % NAMES.len()]), v);
        }
    }
    let body = rest;
    let method = if flag & 1 == 1 { Method::POST } else { Method::GET };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    if let Ok(p) = parse_request(&method, "/inbox", &headers, Some(body), now, &VerifyLimits::default()) {
        assert!(p.verify(key().public_key()).is_err(), "a random request verified");
    }
});
