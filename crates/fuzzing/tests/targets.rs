//! Every fuzz target on stable, on every `cargo test`: over its seeds, then over
//! inputs generated from them with a fixed seed (so a failure here fails again on the
//! next run, and on another machine). `fuzz/` explores further on nightly.
//!
//! The inputs are made by mutating seeds, as libFuzzer does without its coverage
//! feedback: uniformly random bytes almost never get past a parser's first check,
//! while a real document with a byte changed, a piece cut out or a token inserted
//! reaches the code behind it. A small generator of our own, over `rand` with a fixed
//! seed: the targets take bytes, so `arbitrary`'s structured values would add nothing.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use reqwest::header::HeaderMap;
use sluice_federation::keys::KeyPair;
use sluice_federation::signatures::{Scheme, SignWith, sign_request};

/// Generated inputs per target: enough to run every mutation on every seed several
/// times, few enough that a target takes about a second here (the whole suite runs on
/// 2 shared cores). `SLUICE_TEST_FUZZ_INPUTS` asks for more (or fewer).
const GENERATED: usize = 4000;
/// The generator's seed; `SLUICE_TEST_FUZZ_SEED` replays another one.
const SEED: u64 = 0x5_11CE_F022;
/// Longest generated input (libFuzzer's default `-max_len` is 4,096; some seeds are
/// longer and stay whole when not cut).
const MAX_RANDOM_LEN: usize = 512;

#[test]
fn parse_document() {
    let mut seeds = seeds("parse_document");
    seeds.extend(files(&repository().join("tests/fixtures/activitypub")));
    assert!(seeds.len() >= 140, "the ActivityPub fixtures are missing");
    run(
        "parse_document",
        sluice_fuzzing::parse_document,
        &seeds,
        &[
            b"\"",
            b"{",
            b"}",
            b"[",
            b"]",
            b":",
            b",",
            b"null",
            b"true",
            b"1e999",
            b"-0",
            b"\"@context\"",
            b"\"type\"",
            b"\"id\"",
            b"\"actor\"",
            b"\"object\"",
            b"\"to\"",
            b"\"cc\"",
            b"\"https://www.w3.org/ns/activitystreams#Public\"",
            b"\"Create\"",
            b"\"Note\"",
            b"\"Person\"",
            b"\\u0000",
            b"\\ud800",
        ],
    );
}

#[test]
fn parse_request() {
    let mut seeds = seeds("parse_request");
    seeds.extend(signed_requests());
    run(
        "parse_request",
        sluice_fuzzing::parse_request,
        &seeds,
        &[
            b"keyId=",
            b"signature=",
            b"headers=",
            b"algorithm=",
            b"created=",
            b"expires=",
            b"(request-target)",
            b"host",
            b"date",
            b"digest",
            b"sig1=",
            b"(\"@method\" \"@target-uri\")",
            b";keyid=",
            b"SHA-256=",
            b"sha-256=:",
            b"\"",
            b",",
            b";",
            b"=",
            b":",
            b" ",
            b"Signature ",
        ],
    );
}

#[test]
fn media_sniff() {
    let seeds = seeds("media_sniff");
    assert!(seeds.len() >= 8, "fuzz/seeds/media_sniff is missing");
    for seed in &seeds {
        assert!(
            sluice_engine::media_sniff::sniff(seed).is_some(),
            "a seed that is no media file: {:?}",
            String::from_utf8_lossy(&seed[..seed.len().min(16)])
        );
    }
    run(
        "media_sniff",
        sluice_fuzzing::media_sniff,
        &seeds,
        &[
            b"\xFF\xD8\xFF",
            b"\xFF\xE1",
            b"\xFF\xDA",
            b"\xFF\xD9",
            b"\xFF\xC0",
            b"Exif\0\0",
            b"MM\0*",
            b"II*\0",
            b"IHDR",
            b"IEND",
            b"tEXt",
            b"eXIf",
            b"RIFF",
            b"WEBP",
            b"VP8X",
            b"VP8L",
            b"EXIF",
            b"XMP ",
            b"ftyp",
            b"moov",
            b"trak",
            b"tkhd",
            b"\0\0\0\0",
            b"\xFF\xFF\xFF\xFF",
            b"\x7F\xFF\xFF\xFF",
        ],
    );
}

/// Runs `target` over `seeds`, then over [`GENERATED`] inputs made from them. A
/// panic names the input and saves it, to replay with `cargo fuzz run TARGET FILE`.
fn run(name: &str, target: fn(&[u8]), seeds: &[Vec<u8>], tokens: &[&[u8]]) {
    let seed = env_number("SLUICE_TEST_FUZZ_SEED").unwrap_or(SEED);
    let count = env_number("SLUICE_TEST_FUZZ_INPUTS").map_or(GENERATED, |n| n as usize);
    let mut rng = StdRng::seed_from_u64(seed);
    for (n, input) in seeds.iter().enumerate() {
        check(name, target, input, &format!("seed {n}"));
    }
    for n in 0..count {
        let input = if seeds.is_empty() || rng.random_ratio(1, 10) {
            let len = rng.random_range(0..=MAX_RANDOM_LEN);
            (0..len).map(|_| rng.random()).collect()
        } else {
            let base = &seeds[rng.random_range(0..seeds.len())];
            mutate(&mut rng, base, seeds, tokens)
        };
        check(
            name,
            target,
            &input,
            &format!("generated input {n} of seed {seed:#x}"),
        );
    }
}

fn check(name: &str, target: fn(&[u8]), input: &[u8], which: &str) {
    if std::panic::catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
        let file = std::env::temp_dir().join(format!(
            "sluice-fuzz-{name}-{}-{}",
            std::process::id(),
            which.replace(' ', "-")
        ));
        let saved = std::fs::write(&file, input).map_or_else(
            |e| format!("not saved: {e}"),
            |()| format!("saved to {}", file.display()),
        );
        panic!(
            "{name} failed on {which} ({} bytes, {saved}): {:?}",
            input.len(),
            String::from_utf8_lossy(&input[..input.len().min(200)])
        );
    }
}

/// One to four random edits of `base`: bit flips, bytes set to edge values, random
/// bytes inserted, ranges removed or repeated, a cut, a token inserted, or a piece of
/// another seed spliced in.
fn mutate(rng: &mut StdRng, base: &[u8], seeds: &[Vec<u8>], tokens: &[&[u8]]) -> Vec<u8> {
    let mut data = base.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = data.len();
        let at = rng.random_range(0..=len);
        match rng.random_range(0..8) {
            0 if len > 0 => data[at.min(len - 1)] ^= 1 << rng.random_range(0..8),
            1 if len > 0 => {
                const EDGES: [u8; 8] = [0x00, 0x01, 0x20, 0x7F, 0x80, 0xFE, 0xFF, b'"'];
                data[at.min(len - 1)] = EDGES[rng.random_range(0..EDGES.len())];
            }
            2 => {
                let n = rng.random_range(1..=8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                data.splice(at..at, bytes);
            }
            3 if at < len => {
                let end = rng.random_range(at..=len.min(at + 64));
                data.drain(at..end);
            }
            4 if at < len => {
                let end = rng.random_range(at..=len.min(at + 64));
                let piece = data[at..end].to_vec();
                let to = rng.random_range(0..=len);
                data.splice(to..to, piece);
            }
            5 => data.truncate(at),
            6 => {
                let token = tokens[rng.random_range(0..tokens.len())];
                data.splice(at..at, token.iter().copied());
            }
            _ => {
                let other = &seeds[rng.random_range(0..seeds.len())];
                let from = rng.random_range(0..=other.len());
                let end = rng.random_range(from..=other.len().min(from + 256));
                data.splice(at..at, other[from..end].iter().copied());
            }
        }
    }
    data
}

/// Requests signed with a key the target does not know, both schemes, with and
/// without a body, as the target reads them: they parse, so every mutation that still
/// parses reaches the verification.
fn signed_requests() -> Vec<Vec<u8>> {
    let key = KeyPair::generate().expect("key");
    let url = url::Url::parse("https://sluice.example/inbox").unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(sluice_fuzzing::REQUEST_NOW_SECS);
    let body = br#"{"type":"Follow","actor":"https://a.example/users/a"}"#;
    let mut out = Vec::new();
    for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
        for (method, body) in [(Method::POST, Some(&body[..])), (Method::GET, None)] {
            let mut headers = HeaderMap::new();
            sign_request(
                &method,
                &url,
                &mut headers,
                body,
                &SignWith {
                    key_id: "https://a.example/users/a#main-key",
                    key: &key,
                    scheme,
                    now,
                },
            )
            .expect("signed");
            let post = method == Method::POST;
            out.push(sluice_fuzzing::encode_request(
                post,
                &headers,
                body.unwrap_or_default(),
            ));
        }
    }
    out
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A target's seeds in the repository (`fuzz/seeds/<target>/`) and what a local
/// fuzzing run found (`fuzz/corpus/<target>/`, not in the repository).
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let fuzz = repository().join("fuzz");
    let mut seeds = files(&fuzz.join("seeds").join(target));
    seeds.extend(files(&fuzz.join("corpus").join(target)));
    seeds
}

/// Every file under `dir` (none when it does not exist), in name order.
fn files(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.file_name().is_some_and(|n| n != "README.md") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}
