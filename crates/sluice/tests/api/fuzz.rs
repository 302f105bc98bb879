//! Router fuzzing: generated requests to every route family of the real server, sent as
//! raw bytes over TCP (so nothing a client library would refuse is filtered out), and no
//! answer may be a 5xx.
//!
//! The generator is proptest's, run with a fixed seed and a bounded number of requests:
//! the same requests every run, a few seconds in all. Paths carry control characters
//! (raw and percent-encoded), percent-encodings, unicode and very long segments; methods,
//! headers and bodies are odd as well.

use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::common::{Db, TestServer};

db_tests!(no_input_gives_5xx);

/// Requests per run: enough to reach every route family many times over; small enough
/// for a few seconds on SQLite and PostgreSQL.
const REQUESTS: usize = 1500;
/// The seed: a failure reproduces with the same requests.
const SEED: [u8; 32] = *b"sluice router fuzz, fixed seed!!";
/// Longest wait for one answer (the server's own deadline is 30 s; nothing here should
/// come near it).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// Every route family: its path (`{}` is replaced by a generated segment) and the
/// methods it answers.
const ROUTES: &[(&str, &[&str])] = &[
    ("/", &["GET"]),
    ("/{}", &["GET"]),
    ("/@{}", &["GET"]),
    ("/@{}.rss", &["GET"]),
    ("/@{}/{}", &["GET"]),
    ("/users/{}", &["GET"]),
    ("/users/{}/outbox", &["GET", "POST"]),
    ("/users/{}/inbox", &["GET", "POST"]),
    ("/users/{}/followers", &["GET"]),
    ("/users/{}/following", &["GET"]),
    ("/users/{}/liked", &["GET"]),
    ("/users/{}/collections/featured", &["GET"]),
    ("/users/{}/collections/{}", &["GET"]),
    ("/users/{}/statuses/{}", &["GET"]),
    ("/users/{}/statuses/{}/activity", &["GET"]),
    ("/users/{}/activities/{}", &["GET"]),
    ("/users/{}/media/{}", &["GET"]),
    ("/users/{}/uploadMedia", &["POST"]),
    ("/inbox", &["POST"]),
    ("/actor", &["GET"]),
    ("/actor/inbox", &["POST"]),
    ("/api/ap/proxy", &["POST"]),
    ("/tags/{}", &["GET"]),
    ("/tags/{}.rss", &["GET"]),
    ("/media/{}", &["GET"]),
    ("/avatars/original/{}", &["GET"]),
    ("/static/{}", &["GET"]),
    ("/.well-known/webfinger", &["GET"]),
    ("/.well-known/host-meta", &["GET"]),
    ("/.well-known/nodeinfo", &["GET"]),
    ("/.well-known/oauth-authorization-server", &["GET"]),
    ("/nodeinfo/{}", &["GET"]),
    ("/oauth/authorize", &["GET", "POST"]),
    ("/oauth/token", &["POST"]),
    ("/oauth/revoke", &["POST"]),
    ("/api/v1/apps", &["POST"]),
    ("/api/v1/apps/verify_credentials", &["GET"]),
    ("/api/v1/instance", &["GET"]),
    ("/api/v2/instance", &["GET"]),
    ("/api/v1/instance/{}", &["GET"]),
    ("/api/v1/accounts", &["GET", "POST"]),
    ("/api/v1/accounts/verify_credentials", &["GET"]),
    ("/api/v1/accounts/update_credentials", &["PATCH"]),
    ("/api/v1/accounts/lookup", &["GET"]),
    ("/api/v1/accounts/relationships", &["GET"]),
    ("/api/v1/accounts/search", &["GET"]),
    ("/api/v1/accounts/{}", &["GET"]),
    ("/api/v1/accounts/{}/{}", &["GET", "POST"]),
    ("/api/v1/profile/{}", &["DELETE"]),
    ("/api/v1/statuses", &["POST"]),
    ("/api/v1/statuses/{}", &["GET", "PUT", "DELETE"]),
    ("/api/v1/polls/{}", &["GET"]),
    ("/api/v1/polls/{}/votes", &["POST"]),
    ("/api/v1/statuses/{}/{}", &["GET", "POST"]),
    ("/api/v1/media", &["POST"]),
    ("/api/v2/media", &["POST"]),
    ("/api/v1/media/{}", &["GET", "PUT", "DELETE"]),
    ("/api/v1/timelines/{}", &["GET"]),
    ("/api/v1/timelines/tag/{}", &["GET"]),
    ("/api/v1/timelines/list/{}", &["GET"]),
    ("/api/v1/bookmarks", &["GET"]),
    ("/api/v1/favourites", &["GET"]),
    ("/api/v1/notifications", &["GET"]),
    ("/api/v1/notifications/{}", &["GET"]),
    ("/api/v1/notifications/{}/dismiss", &["POST"]),
    ("/api/v1/markers", &["GET", "POST"]),
    ("/api/v1/blocks", &["GET"]),
    ("/api/v1/mutes", &["GET"]),
    ("/api/v1/follow_requests", &["GET"]),
    ("/api/v1/follow_requests/{}/{}", &["POST"]),
    ("/api/v1/lists", &["GET", "POST"]),
    ("/api/v1/lists/{}", &["GET", "PUT", "DELETE"]),
    ("/api/v1/lists/{}/accounts", &["GET", "POST", "DELETE"]),
    ("/api/v1/domain_blocks", &["GET", "POST", "DELETE"]),
    ("/api/v1/filters", &["GET", "POST"]),
    ("/api/v1/filters/{}", &["GET", "PUT", "DELETE"]),
    ("/api/v2/filters", &["GET", "POST"]),
    ("/api/v2/filters/{}", &["GET", "PUT", "DELETE"]),
    ("/api/v2/filters/{}/keywords", &["GET", "POST"]),
    ("/api/v2/filters/keywords/{}", &["GET", "PUT", "DELETE"]),
    ("/api/v2/filters/{}/statuses", &["GET", "POST"]),
    ("/api/v2/filters/statuses/{}", &["GET", "DELETE"]),
    ("/api/v1/conversations", &["GET"]),
    ("/api/v1/conversations/{}", &["DELETE"]),
    ("/api/v1/conversations/{}/read", &["POST"]),
    ("/api/v1/preferences", &["GET"]),
    ("/api/v2/search", &["GET"]),
    ("/api/v1/trends/{}", &["GET"]),
    ("/api/v1/streaming/{}", &["GET"]),
    ("/api/v1/streaming", &["GET"]),
    ("/metrics", &["GET"]),
    ("/api/pleroma/aliases", &["GET", "PUT", "DELETE"]),
    ("/api/pleroma/move_account", &["POST"]),
    ("/api/pleroma/delete_account", &["POST"]),
    ("/settings/{}", &["GET", "POST"]),
    ("/settings/export/{}", &["GET"]),
];

/// Parameter names the handlers read: a body or query made of these reaches deeper
/// than random keys would.
const PARAM_NAMES: &[&str] = &[
    "status",
    "in_reply_to_id",
    "visibility",
    "spoiler_text",
    "media_ids[]",
    "poll[options][]",
    "poll[expires_in]",
    "poll[multiple]",
    "choices[]",
    "username",
    "email",
    "password",
    "agreement",
    "locale",
    "grant_type",
    "client_id",
    "client_secret",
    "client_name",
    "redirect_uris",
    "redirect_uri",
    "scope",
    "scopes",
    "code",
    "code_verifier",
    "code_challenge",
    "state",
    "decision",
    "login",
    "display_name",
    "note",
    "fields_attributes[0][name]",
    "fields_attributes[0][value]",
    "source[privacy]",
    "title",
    "replies_policy",
    "exclusive",
    "account_ids[]",
    "domain",
    "phrase",
    "context[]",
    "keywords_attributes[][keyword]",
    "filter_action",
    "expires_in",
    "description",
    "focus",
    "id",
    "ids[]",
    "id[]",
    "acct",
    "resource",
    "q",
    "type",
    "resolve",
    "limit",
    "max_id",
    "min_id",
    "since_id",
    "offset",
    "local",
    "only_media",
    "types[]",
    "exclude_types[]",
    "timeline[]",
    "stream",
    "tag",
    "list",
    "access_token",
    "page",
];

/// Strings that have broken parsers before: control characters, NUL, odd numbers,
/// unicode, markup, scheme tricks.
const ODD_VALUES: &[&str] = &[
    "",
    "\0",
    "a\0b",
    "\n",
    "\r\n",
    "\u{7f}",
    "\u{fffd}",
    "\u{202e}",
    "\u{1f600}",
    "é",
    "-1",
    "0",
    "99999999999999999999999999",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "1e309",
    "NaN",
    "true",
    "null",
    "[]",
    "{}",
    "%00",
    "%",
    "%zz",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "urn:ietf:wg:oauth:2.0:oob",
    "http://127.0.0.1:1/",
    "https://[::1]/x",
    "acct:a@b@c",
    "@@@",
    "public",
    "direct",
    "read write follow push",
    "password",
    "authorization_code",
    "client_credentials",
    "refresh_token",
    "S256",
];

/// One generated request.
#[derive(Debug, Clone)]
struct Fuzzed {
    method: String,
    target: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Fuzzed {
    /// The request as bytes on the wire (`Connection: close`, a `Content-Length`).
    fn wire(&self, host: &str) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(&self.target);
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(b"\r\nConnection: close\r\n");
        for (k, v) in &self.headers {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    fn describe(&self) -> String {
        format!(
            "{} {} headers {:?} body {:?}",
            self.method,
            String::from_utf8_lossy(&self.target),
            self.headers
                .iter()
                .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v)))
                .collect::<Vec<_>>(),
            String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
        )
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A value: an odd one, a real id or name of the server, or generated text.
fn value(real: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(ODD_VALUES).prop_map(str::to_string),
        3 => proptest::sample::select(real),
        2 => any::<String>().prop_map(|s| s.chars().take(40).collect()),
        1 => (1usize..3000).prop_map(|n| "a".repeat(n)),
        1 => any::<i64>().prop_map(|n| n.to_string()),
    ]
}

/// A path segment as sent: percent-encoded text, raw bytes (control characters and
/// all), or a long run.
fn segment(real: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => value(real.clone()).prop_map(|v| percent_encode(&v).into_bytes()),
        2 => proptest::sample::select(real).prop_map(String::into_bytes),
        2 => proptest::sample::select(&[
            "%00", "%0a", "%0d%0a", "%0d%0aSet-Cookie:%20x=1", "%09", "%7f", "%ff", "%c3%28",
            "%e2%80%ae", "%2f", "%2e%2e", "..", ".", "%", "%zz", "%25", "@", "@@", "a.rss", ".rss",
            "%40admin", "%3f", "%23",
        ][..])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..8),
        1 => (5000usize..20000).prop_map(|n| vec![b'x'; n]),
    ]
}

fn query(real: Vec<String>) -> impl Strategy<Value = String> {
    proptest::collection::vec((proptest::sample::select(PARAM_NAMES), value(real)), 0..4).prop_map(
        |pairs| {
            pairs
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
                .collect::<Vec<_>>()
                .join("&")
        },
    )
}

/// A JSON value of the shapes handlers do not expect.
fn json_value(real: Vec<String>) -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let leaf = prop_oneof![
        value(real).prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(PARAM_NAMES), inner), 0..4)
                .prop_map(|kv| Value::Object(
                    kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )),
        ]
    })
}

fn body(real: Vec<String>) -> impl Strategy<Value = (Option<&'static str>, Vec<u8>)> {
    prop_oneof![
        3 => Just((None, Vec::new())),
        3 => query(real.clone()).prop_map(|q| (Some("application/x-www-form-urlencoded"), q.into_bytes())),
        3 => proptest::collection::vec((proptest::sample::select(PARAM_NAMES), json_value(real.clone())), 0..6)
            .prop_map(|kv| {
                let o: serde_json::Map<String, serde_json::Value> =
                    kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                (Some("application/json"), serde_json::Value::Object(o).to_string().into_bytes())
            }),
        1 => json_value(real.clone()).prop_map(|v| (Some("application/activity+json"), v.to_string().into_bytes())),
        1 => (proptest::sample::select(PARAM_NAMES), value(real)).prop_map(|(k, v)| {
            let b = format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\u{89}PNG\r\n\x1a\n\r\n--XyZ--\r\n"
            );
            (Some("multipart/form-data; boundary=XyZ"), b.into_bytes())
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(|b| (Some("application/json"), b)),
        1 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(|b| (Some("multipart/form-data; boundary=\"\""), b)),
        1 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(|b| (None, b)),
    ]
}

fn header(token: String) -> impl Strategy<Value = (String, Vec<u8>)> {
    let odd =
        proptest::sample::select(&["\u{7f}", "\u{e9}", "\0", "a\tb", "", " ", "\u{1f600}"][..])
            .prop_map(|s| s.as_bytes().to_vec());
    prop_oneof![
        2 => Just(("Authorization".to_string(), format!("Bearer {token}").into_bytes())),
        1 => proptest::sample::select(&["Bearer ", "Bearer", "Basic !!!", "Basic Og==", "Bearer \u{e9}"][..])
            .prop_map(|v| ("Authorization".to_string(), v.as_bytes().to_vec())),
        2 => proptest::sample::select(&[
            "application/activity+json",
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
            "text/html",
            "*/*",
            "text/event-stream",
            "application/json, application/activity+json",
            ";;;,,,",
        ][..])
        .prop_map(|v| ("Accept".to_string(), v.as_bytes().to_vec())),
        1 => proptest::sample::select(&["X-Forwarded-For", "Forwarded", "X-Real-IP"][..])
            .prop_flat_map(move |k| {
                proptest::sample::select(&[
                    "1.2.3.4", "for=\"[::1]:80\"", "garbage, ,,", "for=unknown;proto=https",
                    "999.1.1.1, ::ffff:1.2.3.4", "\"", "for=",
                ][..])
                .prop_map(move |v| (k.to_string(), v.as_bytes().to_vec()))
            }),
        1 => proptest::sample::select(&[
            "Signature", "Digest", "Date", "Content-Encoding", "Upgrade", "Sec-WebSocket-Key",
            "Sec-WebSocket-Version", "Last-Event-ID", "Range", "If-None-Match", "Origin",
            "Expect", "Transfer-Encoding", "Cookie", "Sec-WebSocket-Protocol",
        ][..])
        .prop_flat_map(move |k| odd.clone().prop_map(move |v| (k.to_string(), v))),
        1 => proptest::sample::select(&[
            ("Range", "bytes=5-1"), ("Range", "bytes=-0"), ("Range", "bytes=0-99999999999999999999"),
            ("Upgrade", "websocket"), ("Last-Event-ID", "-1"), ("Last-Event-ID", "99999999999999999999"),
            ("Digest", "SHA-256=!!!"), ("Signature", "keyId=\"x\",signature=\"\""),
            ("Date", "yesterday"), ("Content-Encoding", "gzip"), ("Expect", "100-continue"),
        ][..])
        .prop_map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())),
    ]
}

fn request(real: Vec<String>, token: String) -> impl Strategy<Value = Fuzzed> {
    // Mostly a method the route answers (so the handler runs), sometimes any.
    let route = proptest::sample::select(ROUTES).prop_flat_map(|(path, methods)| {
        let method = prop_oneof![
            8 => proptest::sample::select(methods).prop_map(str::to_string),
            1 => proptest::sample::select(&["GET", "POST", "PUT", "PATCH", "DELETE"][..])
                .prop_map(str::to_string),
            1 => proptest::sample::select(
                &["HEAD", "OPTIONS", "TRACE", "PROPFIND", "get", "X-CUSTOM"][..]
            )
            .prop_map(str::to_string),
        ];
        (method, Just(path))
    });
    let segments = proptest::collection::vec(segment(real.clone()), 3);
    (
        route,
        segments,
        proptest::option::of(query(real.clone())),
        proptest::bool::weighted(0.6),
        proptest::collection::vec(header(token.clone()), 0..4),
        body(real),
    )
        .prop_map(
            move |((method, route), segments, query, signed_in, mut headers, (ctype, body))| {
                if signed_in {
                    headers.push((
                        "Authorization".into(),
                        format!("Bearer {token}").into_bytes(),
                    ));
                }
                let mut target = Vec::new();
                let mut parts = route.split("{}");
                target.extend_from_slice(parts.next().unwrap_or("").as_bytes());
                for (part, seg) in parts.zip(segments.iter()) {
                    target.extend_from_slice(seg);
                    target.extend_from_slice(part.as_bytes());
                }
                if let Some(q) = query {
                    target.push(b'?');
                    target.extend_from_slice(q.as_bytes());
                }
                if let Some(ct) = ctype {
                    headers.push(("Content-Type".into(), ct.as_bytes().to_vec()));
                }
                // Framing headers of our own would make the request ambiguous, not odd.
                headers.retain(|(k, _)| !k.eq_ignore_ascii_case("transfer-encoding"));
                Fuzzed {
                    method,
                    target,
                    headers,
                    body,
                }
            },
        )
}

/// Sends one request on its own connection; the final status code (after any
/// `100 Continue`), or None when the server closed the connection without an answer.
async fn send(addr: std::net::SocketAddr, host: &str, r: &Fuzzed) -> Option<u16> {
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    // A refused request may be answered before all of it is written.
    let _ = s.write_all(&r.wire(host)).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(ANSWER_TIMEOUT, s.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "no answer within {ANSWER_TIMEOUT:?}: {}",
        r.describe()
    );
    let mut rest = &answer[..];
    loop {
        let code: u16 = std::str::from_utf8(rest.get(..12)?)
            .ok()?
            .strip_prefix("HTTP/1.1 ")?
            .parse()
            .ok()?;
        if code != 100 {
            return Some(code);
        }
        let end = rest.windows(4).position(|w| w == b"\r\n\r\n")?;
        rest = &rest[end + 4..];
    }
}

async fn no_input_gives_5xx(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let status = srv.status(&alice, "hello #fuzz", &[]).await;
    let list = srv
        .post("/api/v1/lists", Some(&alice.token), &[("title", "l")])
        .await
        .ok();
    let real: Vec<String> = vec![
        "alice".into(),
        "@alice".into(),
        alice.id.clone(),
        bob.id.clone(),
        status["id"].as_str().unwrap().to_string(),
        list["id"].as_str().unwrap().to_string(),
        "fuzz".into(),
        "home".into(),
        "public".into(),
        "user".into(),
        "follow".into(),
        "block".into(),
        "favourite".into(),
        "reblog".into(),
        "context".into(),
        "avatar".into(),
    ];
    let mut runner = TestRunner::new_with_rng(
        RunnerConfig::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &SEED),
    );
    let strategy = request(real, alice.token.clone());
    // The cases reported (issue 13) first, and NUL characters where PostgreSQL refuses
    // them in text; then the generated ones.
    let form = "application/x-www-form-urlencoded";
    let known = [
        ("GET", "/users/%00", ""),
        ("GET", "/users/%0a", ""),
        ("GET", "/users/%0d%0aSet-Cookie:%20a=b", ""),
        ("GET", "/users/alice/statuses/%00", ""),
        ("GET", "/users/alice/statuses/1%0d%0a", ""),
        ("GET", "/@a%00b", ""),
        ("GET", "/tags/a%00b.rss", ""),
        ("GET", "/api/v1/accounts/lookup?acct=a%00b", ""),
        (
            "GET",
            "/.well-known/webfinger?resource=acct:a%00b@localhost",
            "",
        ),
        ("GET", "/api/v2/search?q=a%00b&resolve=true", ""),
        ("GET", "/api/v1/timelines/tag/a%00b", ""),
        ("POST", "/api/v1/statuses", "status=a%00b"),
        ("POST", "/api/v1/lists", "title=a%00b"),
        ("POST", "/api/v2/filters", "title=a%00b&context[]=home"),
        ("POST", "/api/v1/domain_blocks", "domain=a%00b.example"),
        (
            "PATCH",
            "/api/v1/accounts/update_credentials",
            "display_name=a%00b&note=c%00d",
        ),
        (
            "POST",
            "/api/v1/apps",
            "client_name=a%00b&redirect_uris=urn:ietf:wg:oauth:2.0:oob",
        ),
        (
            "POST",
            "/api/v1/accounts",
            "username=a%00b&email=a@b.c&password=password123&agreement=true&locale=en",
        ),
        (
            "POST",
            "/oauth/token",
            "grant_type=password&client_id=a%00b&client_secret=x&username=a%00&password=b",
        ),
    ]
    .map(|(method, path, body)| Fuzzed {
        method: method.into(),
        target: path.as_bytes().to_vec(),
        headers: vec![
            (
                "Authorization".into(),
                format!("Bearer {}", alice.token).into_bytes(),
            ),
            ("Content-Type".into(), form.as_bytes().to_vec()),
        ],
        body: body.as_bytes().to_vec(),
    });
    let requests: Vec<Fuzzed> = known
        .into_iter()
        .chain((0..REQUESTS).map(|_| strategy.new_tree(&mut runner).unwrap().current()))
        .collect();
    let addr = srv.running_addr();
    let host = srv.url.trim_start_matches("http://").to_string();
    let mut failures = Vec::new();
    let mut answered = 0;
    let mut codes = std::collections::BTreeMap::<u16, usize>::new();
    for r in &requests {
        match send(addr, &host, r).await {
            Some(code) if code >= 500 => failures.push(format!("{code} for {}", r.describe())),
            Some(code) => {
                answered += 1;
                *codes.entry(code).or_default() += 1;
            }
            None => {}
        }
    }
    eprintln!("answers by status: {codes:?}");
    assert!(
        failures.is_empty(),
        "{} of {} requests got a 5xx:\n{}",
        failures.len(),
        requests.len(),
        failures.join("\n")
    );
    // Most requests are well-formed HTTP and must have been answered at all.
    assert!(answered > REQUESTS / 2, "only {answered} answered");
    // And the server still serves.
    srv.get("/api/v1/instance", None).await.ok();
    srv.stop().await;
}
