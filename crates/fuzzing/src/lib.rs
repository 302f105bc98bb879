//! The bodies of the fuzz targets: each takes arbitrary bytes, gives them to one entry
//! point that reads untrusted input, and asserts what must hold for every input (first
//! of all: no panic).
//!
//! Two runners share them, so they cannot drift apart: `fuzz/` (cargo-fuzz and
//! libFuzzer, nightly only) explores for as long as it is given, and
//! `tests/targets.rs` here runs each body on stable, on every `cargo test`, over the
//! target's seeds (`fuzz/seeds/<target>/`, the ActivityPub fixtures, whatever a local
//! fuzzing run left in `fuzz/corpus/<target>/`) and a fixed number of inputs generated
//! from them with a fixed seed.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sluice_engine::media_sniff::{self, MediaKind};
use sluice_federation::document;
use sluice_federation::keys::KeyPair;
use sluice_federation::signatures::{VerifyLimits, parse_request as parse_signed};

/// Any bytes into the inbound ActivityStreams parser: never a panic, and whatever
/// parses has a type (and a non-empty id when it has one).
pub fn parse_document(data: &[u8]) {
    if let Ok(d) = document::parse(data) {
        assert!(!d.kind().is_empty());
        assert!(d.id().is_none_or(|id| !id.is_empty()));
        let _ = (d.actor_id(), d.object_id(), d.audience());
    }
}

/// The header names [`parse_request`] chooses from (by index, modulo their number).
pub const REQUEST_HEADERS: [&str; 8] = [
    "signature",
    "signature-input",
    "digest",
    "content-digest",
    "date",
    "host",
    "authorization",
    "accept",
];

/// The clock [`parse_request`] verifies against: seeds sign at this time.
pub const REQUEST_NOW_SECS: u64 = 1_790_000_000;

/// Arbitrary headers and bodies into signature parsing and verification: never a
/// panic, and never a signature that verifies with a key that did not make it.
///
/// Input layout ([`encode_request`] writes it): `[flags][n headers]`, then n ×
/// `[name index][length: u16 LE][value]`, then the body. Bit 0 of the flags: POST
/// (else GET). Two length bytes let a real RSA signature (over 255 bytes in a header)
/// be a seed.
pub fn parse_request(data: &[u8]) {
    let mut rest = data;
    let mut take = |n: usize| -> Option<&[u8]> {
        if rest.len() < n {
            return None;
        }
        let (a, b) = rest.split_at(n);
        rest = b;
        Some(a)
    };
    let Some(&[flags, count]) = take(2) else {
        return;
    };
    let mut headers = HeaderMap::new();
    for _ in 0..count.min(12) {
        let Some(&[name, lo, hi]) = take(3) else {
            break;
        };
        let Some(value) = take(usize::from(u16::from_le_bytes([lo, hi]))) else {
            break;
        };
        if let Ok(v) = HeaderValue::from_bytes(value) {
            let name = REQUEST_HEADERS[usize::from(name) % REQUEST_HEADERS.len()];
            headers.append(HeaderName::from_static(name), v);
        }
    }
    let body = rest;
    let method = if flags & 1 == 1 {
        Method::POST
    } else {
        Method::GET
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(REQUEST_NOW_SECS);
    if let Ok(p) = parse_signed(
        &method,
        "/inbox",
        &headers,
        Some(body),
        now,
        &VerifyLimits::default(),
    ) {
        assert!(
            p.verify(request_key().public_key()).is_err(),
            "a random request verified"
        );
    }
}

/// The input [`parse_request`] reads as this request (header names from
/// [`REQUEST_HEADERS`]; others are left out).
pub fn encode_request(post: bool, headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    let known: Vec<_> = headers
        .iter()
        .filter_map(|(name, value)| {
            let index = REQUEST_HEADERS.iter().position(|h| h == name)?;
            Some((index as u8, value.as_bytes()))
        })
        .collect();
    let mut out = vec![u8::from(post), known.len() as u8];
    for (index, value) in known {
        out.push(index);
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        out.extend_from_slice(value);
    }
    out.extend_from_slice(body);
    out
}

/// The key no generated request may verify with: made here, never given out.
fn request_key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| KeyPair::generate().expect("key"))
}

/// Any bytes as an upload: never a panic; what is recognized as an image has a
/// non-zero size; stripping metadata never makes a file longer, and what it keeps is
/// the same type of file with nothing left to strip.
pub fn media_sniff(data: &[u8]) {
    let Some(sniffed) = media_sniff::sniff(data) else {
        return;
    };
    if sniffed.kind == MediaKind::Image {
        assert!(sniffed.width.is_some_and(|w| w > 0), "{sniffed:?}");
        assert!(sniffed.height.is_some_and(|h| h > 0), "{sniffed:?}");
    }
    let Ok(stripped) = media_sniff::strip_metadata(data, &sniffed) else {
        return;
    };
    assert!(
        stripped.len() <= data.len(),
        "stripping made the file longer"
    );
    let again = media_sniff::sniff(&stripped).expect("a stripped file is still recognized");
    assert_eq!(
        (again.kind, again.content_type),
        (sniffed.kind, sniffed.content_type)
    );
    let twice = media_sniff::strip_metadata(&stripped, &again).expect("stripped again");
    assert!(twice == stripped, "stripping twice changed the file again");
}
