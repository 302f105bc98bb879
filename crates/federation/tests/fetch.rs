//! The outbound fetcher and its SSRF guard, against real HTTP servers on loopback.
//!
//! Every server binds 127.0.0.1 (or 127.0.0.2 / ::1) on an ephemeral port. URLs of
//! other networks (10.0.0.1, 169.254.169.254) appear only in tests that assert they
//! are refused before any connection is attempted, and `check_url` is asserted to
//! refuse them first, so no test traffic can leave the machine.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use proptest::prelude::*;
use reqwest::Method;
use sluice_federation::fetch::{FetchConfig, FetchError, Fetcher, RequestSigner};
use sluice_federation::ssrf::{
    AddressPolicy, ForbiddenAddress, SsrfResolver, forbidden_reason, is_public,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

const AS_JSON: &str = "application/activity+json";

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

/// A test server: counts accepted TCP connections and HTTP requests.
struct Server {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl Server {
    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{}", self.addr, path)).unwrap()
    }
    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn count_requests(
    State(counter): State<Arc<AtomicUsize>>,
    req: Request,
    next: Next,
) -> Response {
    counter.fetch_add(1, Ordering::SeqCst);
    next.run(req).await
}

async fn try_serve(bind: &str, router: Router) -> std::io::Result<Server> {
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let listener = TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let counted = Arc::clone(&connections);
    let listener = listener.tap_io(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
    });
    let router = router.layer(middleware::from_fn_with_state(
        Arc::clone(&requests),
        count_requests,
    ));
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(Server {
        addr,
        connections,
        requests,
    })
}

async fn serve(router: Router) -> Server {
    try_serve("127.0.0.1:0", router).await.unwrap()
}

fn json_response(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, AS_JSON)], body).into_response()
}

/// A router answering every path with a small ActivityStreams document.
fn json_router() -> Router {
    Router::new().fallback(|| async { json_response(r#"{"type":"Note","content":"hi"}"#) })
}

/// Fetches anything on loopback over plain HTTP, with a generous deadline.
fn open_config() -> FetchConfig {
    FetchConfig {
        allow_private_addresses: true,
        allow_http: true,
        total_timeout: Duration::from_secs(30),
        ..FetchConfig::default()
    }
}

fn fetcher(config: FetchConfig) -> Fetcher {
    Fetcher::new(config, None).unwrap()
}

fn assert_forbidden(result: Result<impl std::fmt::Debug, FetchError>, what: &str) {
    match result {
        Err(FetchError::Forbidden { .. }) => {}
        other => panic!("{what}: expected Forbidden, got {other:?}"),
    }
}

/// Reads one request head (up to the blank line) from a raw socket.
async fn read_head(socket: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await.unwrap();
        if n == 0 {
            return;
        }
        head.extend_from_slice(&buf[..n]);
    }
}

// ---------------------------------------------------------------------------------
// The address classifier
// ---------------------------------------------------------------------------------

#[test]
fn classifier_refuses_special_ipv4_ranges() {
    for addr in [
        "0.0.0.0",
        "0.1.2.3",
        "10.0.0.1",
        "10.255.255.255",
        "100.64.0.1",
        "100.127.255.254",
        "127.0.0.1",
        "127.0.0.2",
        "127.255.255.255",
        "169.254.169.254",
        "169.254.0.1",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.8",
        "192.0.2.1",
        "192.88.99.1",
        "192.168.0.1",
        "192.168.255.255",
        "198.18.0.1",
        "198.19.255.255",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
    ] {
        let ip: IpAddr = addr.parse().unwrap();
        assert!(forbidden_reason(ip).is_some(), "{addr} must be refused");
        assert!(!is_public(ip), "{addr}");
    }
}

#[test]
fn classifier_refuses_special_ipv6_ranges_and_embedded_ipv4() {
    for addr in [
        "::",
        "::1",
        "::127.0.0.1", // IPv4-compatible (deprecated)
        "::8.8.8.8",   // IPv4-compatible, even of a public address
        "::ffff:127.0.0.1",
        "::ffff:7f00:1", // the same, hex
        "::ffff:10.1.2.3",
        "::ffff:169.254.169.254",
        "::ffff:192.168.1.1",
        "::ffff:100.64.0.1",
        "::ffff:0.0.0.0",
        "::ffff:255.255.255.255",
        "::ffff:0:7f00:1",    // IPv4-translated (SIIT)
        "64:ff9b::7f00:1",    // NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
        "64:ff9b:1::1",       // local-use NAT64
        "100::1",             // discard-only
        "2001::1",            // Teredo
        "2001:2::1",          // benchmarking
        "2001:db8::1",        // documentation
        "3fff::1",            // documentation (RFC 9637)
        "2002:7f00:1::",      // 6to4 of 127.0.0.1
        "2002:c0a8:101::1",   // 6to4 of 192.168.1.1
        "fc00::1",
        "fd12:3456:789a::1",
        "fe80::1",
        "febf::1",
        "fec0::1",
        "ff02::1",
        "ff0e::1",
        "4000::1", // outside 2000::/3
        "::2",
    ] {
        let ip: IpAddr = addr.parse().unwrap();
        assert!(forbidden_reason(ip).is_some(), "{addr} must be refused");
    }
}

#[test]
fn classifier_allows_public_addresses() {
    for addr in [
        "1.1.1.1",
        "8.8.8.8",
        "9.9.9.9",
        "93.184.215.14",
        "100.63.255.255", // just below CGNAT
        "100.128.0.0",    // just above CGNAT
        "172.15.255.255", // just below 172.16/12
        "172.32.0.0",     // just above
        "169.253.255.255",
        "192.0.1.1",
        "192.169.0.1",
        "198.20.0.1",
        "223.255.255.254",
        "2606:4700:4700::1111",
        "2a01:4f8::1",
        "2001:4860:4860::8888",
        "2001:200::1", // just above 2001::/23
        "::ffff:8.8.8.8",
        "64:ff9b::808:808", // NAT64 of 8.8.8.8
        "2002:808:808::1",  // 6to4 of 8.8.8.8
    ] {
        let ip: IpAddr = addr.parse().unwrap();
        assert_eq!(forbidden_reason(ip), None, "{addr} must be allowed");
    }
}

proptest! {
    /// Every IPv6 form that carries an IPv4 address is judged like that address.
    #[test]
    fn embedded_ipv4_forms_are_classified_like_ipv4(n in any::<u32>()) {
        let v4 = Ipv4Addr::from(n);
        let plain = forbidden_reason(IpAddr::V4(v4)).is_some();
        let mapped = IpAddr::V6(v4.to_ipv6_mapped());
        let nat64 = IpAddr::V6(Ipv6Addr::from((0x64_ff9b_u128 << 96) | u128::from(n)));
        let six_to_four = IpAddr::V6(Ipv6Addr::from((0x2002_u128 << 112) | (u128::from(n) << 80) | 1));
        prop_assert_eq!(forbidden_reason(mapped).is_some(), plain);
        prop_assert_eq!(forbidden_reason(nat64).is_some(), plain);
        prop_assert_eq!(forbidden_reason(six_to_four).is_some(), plain);
    }

    /// The policy's answer is the classifier's, unless everything is allowed.
    #[test]
    fn policy_follows_classifier(n in any::<u128>()) {
        let ip = IpAddr::V6(Ipv6Addr::from(n));
        prop_assert_eq!(AddressPolicy::new(false, []).check(ip).is_ok(), is_public(ip));
        prop_assert!(AddressPolicy::new(true, []).check(ip).is_ok());
    }
}

#[test]
fn policy_exceptions_allow_exactly_the_listed_addresses() {
    let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let policy = AddressPolicy::new(false, [localhost]);
    assert!(policy.check(localhost).is_ok());
    assert!(policy.check("::ffff:127.0.0.1".parse().unwrap()).is_ok());
    let refused = policy.check("127.0.0.2".parse().unwrap()).unwrap_err();
    assert_eq!(
        refused,
        ForbiddenAddress {
            addr: "127.0.0.2".parse().unwrap(),
            reason: "loopback"
        }
    );
    assert!(policy.check("::1".parse().unwrap()).is_err());
    assert!(policy.check("8.8.8.8".parse().unwrap()).is_ok());
}

#[tokio::test]
async fn resolver_refuses_a_name_with_a_loopback_address() {
    let resolver = SsrfResolver::new(AddressPolicy::new(false, []));
    let error = resolver.lookup("localhost").await.unwrap_err();
    let forbidden = error
        .downcast_ref::<ForbiddenAddress>()
        .expect("a ForbiddenAddress error");
    assert!(forbidden.addr.is_loopback(), "{forbidden}");

    let open = SsrfResolver::new(AddressPolicy::new(true, []));
    let addrs = open.lookup("localhost").await.unwrap();
    assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
}

// ---------------------------------------------------------------------------------
// SSRF refusals through the fetcher: nothing reaches the server
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn private_targets_are_refused_without_any_connection() {
    let server = serve(json_router()).await;
    // If this machine has IPv6 loopback, a server there must not be reached either.
    let server6 = try_serve("[::1]:0", json_router()).await.ok();
    let fetcher = fetcher(FetchConfig {
        allow_private_addresses: false,
        allow_http: true,
        ..FetchConfig::default()
    });
    let port = server.addr.port();
    let mut urls = vec![
        format!("http://127.0.0.1:{port}/users/a"),
        format!("http://localhost:{port}/users/a"), // through the resolver
        format!("http://[::1]:{port}/users/a"),
        format!("http://0x7f000001:{port}/users/a"), // hex
        format!("http://2130706433:{port}/users/a"), // decimal
        format!("http://0177.0.0.1:{port}/users/a"), // octal
        format!("http://127.1:{port}/users/a"),      // short form
        format!("http://[::ffff:127.0.0.1]:{port}/users/a"),
        format!("http://[::ffff:7f00:1]:{port}/users/a"),
        format!("http://0.0.0.0:{port}/users/a"),
        format!("http://[::]:{port}/users/a"),
    ];
    if let Some(s6) = &server6 {
        urls.push(format!("http://[::1]:{}/users/a", s6.addr.port()));
    }
    for raw in &urls {
        let url = Url::parse(raw).unwrap();
        assert_forbidden(fetcher.get_json(&url).await, raw);
        assert_forbidden(fetcher.get_json_fresh(&url).await, raw);
        assert_forbidden(fetcher.post(&url, b"{}".to_vec(), AS_JSON, None).await, raw);
    }
    assert_eq!(server.connections(), 0, "loopback server was reached");
    assert_eq!(server.requests(), 0);
    if let Some(s6) = &server6 {
        assert_eq!(s6.connections(), 0, "::1 server was reached");
    }

    // Other networks: refused by the pure URL check first, then by the fetcher.
    for raw in [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.1.1:8080/",
        "http://100.64.0.1/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
    ] {
        let url = Url::parse(raw).unwrap();
        assert_forbidden(fetcher.check_url(&url), raw);
        assert_forbidden(fetcher.get_json(&url).await, raw);
    }
}

#[tokio::test]
async fn scheme_and_credentials_are_checked_before_connecting() {
    let server = serve(json_router()).await;
    let https_only = fetcher(FetchConfig {
        allow_http: false,
        ..open_config()
    });
    let url = server.url("/users/a");
    assert_eq!(
        https_only.get_json(&url).await.unwrap_err(),
        FetchError::BadScheme("http".into())
    );
    assert_eq!(
        https_only
            .post(&url, b"{}".to_vec(), AS_JSON, None)
            .await
            .unwrap_err(),
        FetchError::BadScheme("http".into())
    );

    let open = fetcher(open_config());
    for raw in [
        "ftp://127.0.0.1/x",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
    ] {
        let err = open.get_json(&Url::parse(raw).unwrap()).await.unwrap_err();
        assert!(matches!(err, FetchError::BadScheme(_)), "{raw}: {err:?}");
        assert!(!err.is_retryable());
    }
    let with_credentials =
        Url::parse(&format!("http://user:secret@{}/users/a", server.addr)).unwrap();
    assert!(matches!(
        open.get_json(&with_credentials).await.unwrap_err(),
        FetchError::InvalidUrl(_)
    ));
    assert_eq!(server.connections(), 0);
    assert_eq!(server.requests(), 0);
}

// ---------------------------------------------------------------------------------
// Fetching JSON
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn json_is_fetched_with_the_activitystreams_accept_header() {
    let accept = Arc::new(Mutex::new(None::<String>));
    let seen = Arc::clone(&accept);
    let router = Router::new().route(
        "/users/a",
        get(move |headers: HeaderMap| async move {
            *seen.lock().unwrap() = headers
                .get(header::ACCEPT)
                .map(|v| v.to_str().unwrap().to_owned());
            (
                [(
                    header::CONTENT_TYPE,
                    "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
                )],
                r#"{"id":"x","type":"Person"}"#,
            )
        }),
    );
    let server = serve(router).await;
    let fetcher = fetcher(open_config());
    let url = server.url("/users/a");
    let fetched = fetcher.get_json(&url).await.unwrap();
    assert_eq!(fetched.url, url);
    assert!(!fetched.from_cache);
    assert!(fetched.content_type.starts_with("application/ld+json"));
    assert_eq!(fetched.bytes(), br#"{"id":"x","type":"Person"}"#);
    assert_eq!(fetched.json().unwrap()["type"], "Person");
    let accept = accept.lock().unwrap().clone().unwrap();
    assert!(accept.contains("application/activity+json"), "{accept}");
    assert!(accept.contains("application/ld+json"), "{accept}");
}

#[tokio::test]
async fn non_json_answers_are_rejected() {
    let router = Router::new()
        .route(
            "/html",
            get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<html></html>") }),
        )
        .route(
            "/json",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                    "{}",
                )
            }),
        )
        .route(
            "/none",
            get(|| async {
                let mut response = "{}".into_response();
                response.headers_mut().remove(header::CONTENT_TYPE);
                response
            }),
        );
    let server = serve(router).await;
    let fetcher = fetcher(open_config());
    assert_eq!(
        fetcher.get_json(&server.url("/html")).await.unwrap_err(),
        FetchError::NotJson(Some("text/html".into()))
    );
    assert_eq!(
        fetcher.get_json(&server.url("/none")).await.unwrap_err(),
        FetchError::NotJson(None)
    );
    assert!(fetcher.get_json(&server.url("/json")).await.is_ok());
}

#[tokio::test]
async fn body_over_the_cap_is_rejected_by_content_length() {
    let router = Router::new().fallback(|| async {
        (
            [(header::CONTENT_TYPE, AS_JSON)],
            vec![b' '; 2 * 1024 * 1024],
        )
    });
    let server = serve(router).await;
    let fetcher = fetcher(open_config());
    let err = fetcher.get_json(&server.url("/big")).await.unwrap_err();
    assert_eq!(err, FetchError::TooLarge { limit: 1024 * 1024 });
    assert!(!err.is_retryable());
}

/// A body without a length that never ends: the fetcher must give up at the cap, not
/// at the deadline, and close the connection so the server's writes fail.
#[tokio::test]
async fn streamed_body_over_the_cap_is_cut_off_and_the_connection_dropped() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<(u64, bool)>();
    const GIVE_UP_AFTER: u64 = 512 * 1024 * 1024;
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        read_head(&mut socket).await;
        socket
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\nConnection: close\r\n\r\n",
            )
            .await
            .unwrap();
        let chunk = vec![b' '; 64 * 1024];
        let mut written = 0u64;
        let failed = loop {
            if written >= GIVE_UP_AFTER {
                break false;
            }
            match socket.write_all(&chunk).await {
                Ok(()) => written += chunk.len() as u64,
                Err(_) => break true,
            }
        };
        let _ = done_tx.send((written, failed));
    });
    let fetcher = fetcher(open_config());
    let url = Url::parse(&format!("http://{addr}/stream")).unwrap();
    let err = fetcher.get_json(&url).await.unwrap_err();
    assert_eq!(err, FetchError::TooLarge { limit: 1024 * 1024 });
    let (written, failed) = tokio::time::timeout(Duration::from_secs(20), done_rx)
        .await
        .expect("the server's writes did not fail: connection still open")
        .unwrap();
    assert!(
        failed,
        "server wrote {written} bytes without the client closing"
    );
    assert!(written >= 1024 * 1024);
}

#[tokio::test]
async fn three_redirects_are_followed_and_a_fourth_is_refused() {
    // /r/{n} redirects to /r/{n-1}, alternating 308 with a rooted Location and 302
    // with a relative one; /r/0 is the document.
    let router = Router::new().route(
        "/r/{n}",
        get(|Path(n): Path<u32>| async move {
            match n {
                0 => json_response(r#"{"type":"Note"}"#),
                n if n % 2 == 0 => Redirect::permanent(&format!("/r/{}", n - 1)).into_response(),
                n => (
                    StatusCode::FOUND,
                    [(header::LOCATION, format!("{}", n - 1))],
                )
                    .into_response(),
            }
        }),
    );
    let server = serve(router).await;
    let fetcher = fetcher(open_config());
    let fetched = fetcher.get_json(&server.url("/r/3")).await.unwrap();
    assert_eq!(fetched.url, server.url("/r/0"));
    assert_eq!(server.requests(), 4);

    let err = fetcher.get_json(&server.url("/r/4")).await.unwrap_err();
    assert_eq!(err, FetchError::TooManyRedirects { max: 3 });
    assert!(!err.is_retryable());
    // /r/4, /r/3, /r/2, /r/1 were requested; /r/0 never was.
    assert_eq!(server.requests(), 8);
}

/// Only 127.0.0.1 is allowed (an explicit exception, as a private deployment might
/// configure): a redirect from it to 127.0.0.2 is refused at the hop, and the server
/// on 127.0.0.2 never sees a connection. A redirect to another scheme is refused too.
#[tokio::test]
async fn redirect_to_a_refused_address_is_refused_at_the_hop() {
    let target = try_serve("127.0.0.2:0", json_router())
        .await
        .expect("binding 127.0.0.2 (all of 127/8 is loopback on Linux)");
    let target_url = target.url("/users/a");
    let location = target_url.to_string();
    let router = Router::new()
        .route(
            "/to-private",
            get(move || async move { Redirect::temporary(&location) }),
        )
        .route(
            "/to-file",
            get(|| async { Redirect::temporary("file:///etc/passwd") }),
        )
        .route("/to-self", get(|| async { Redirect::temporary("/doc") }))
        .route("/doc", get(|| async { json_response("{}") }));
    let origin = serve(router).await;
    let fetcher = fetcher(FetchConfig {
        allow_private_addresses: false,
        allowed_addresses: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        allow_http: true,
        total_timeout: Duration::from_secs(30),
        ..FetchConfig::default()
    });

    // The allowed host is really fetched, redirects within it are followed.
    let fetched = fetcher.get_json(&origin.url("/to-self")).await.unwrap();
    assert_eq!(fetched.url, origin.url("/doc"));

    let err = fetcher
        .get_json(&origin.url("/to-private"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        FetchError::Forbidden {
            addr: "127.0.0.2".parse().unwrap(),
            reason: "loopback"
        }
    );
    assert_eq!(target.connections(), 0);
    // Directly, too.
    assert_forbidden(fetcher.get_json(&target_url).await, "direct");
    assert_eq!(target.connections(), 0);

    let err = fetcher.get_json(&origin.url("/to-file")).await.unwrap_err();
    assert_eq!(err, FetchError::BadScheme("file".into()));
    assert_eq!(origin.requests(), 4);
}

#[tokio::test]
async fn the_total_timeout_bounds_slow_headers_and_stalled_bodies() {
    let router = Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        json_response("{}")
    });
    let server = serve(router).await;
    let fetcher = fetcher(FetchConfig {
        total_timeout: Duration::from_millis(300),
        ..open_config()
    });
    let started = Instant::now();
    let err = fetcher.get_json(&server.url("/slow")).await.unwrap_err();
    assert_eq!(err, FetchError::Timeout);
    assert!(err.is_retryable());
    let err = fetcher
        .post(&server.url("/inbox"), b"{}".to_vec(), AS_JSON, None)
        .await
        .unwrap_err();
    assert_eq!(err, FetchError::Timeout);
    assert!(started.elapsed() < Duration::from_secs(15), "not bounded");

    // Headers arrive at once, then the body stalls.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        read_head(&mut socket).await;
        socket
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let started = Instant::now();
    let url = Url::parse(&format!("http://{addr}/stall")).unwrap();
    assert_eq!(
        fetcher.get_json(&url).await.unwrap_err(),
        FetchError::Timeout
    );
    assert!(started.elapsed() < Duration::from_secs(15), "not bounded");
}

// ---------------------------------------------------------------------------------
// Cache
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn answers_are_cached_and_fresh_gets_bypass_the_cache() {
    let router = Router::new()
        .route("/users/a", get(|| async { json_response(r#"{"n":1}"#) }))
        .route(
            "/missing",
            get(|| async {
                (
                    StatusCode::NOT_FOUND,
                    [(header::CONTENT_TYPE, AS_JSON)],
                    "{}",
                )
            }),
        );
    let server = serve(router).await;
    let fetcher = fetcher(open_config());
    let url = server.url("/users/a");

    let first = fetcher.get_json(&url).await.unwrap();
    assert!(!first.from_cache);
    assert_eq!(server.requests(), 1);

    let second = fetcher.get_json(&url).await.unwrap();
    assert!(second.from_cache);
    assert_eq!(second.bytes(), first.bytes());
    // The fragment names a part of the same document.
    let with_fragment = Url::parse(&format!("{url}#main-key")).unwrap();
    assert!(fetcher.get_json(&with_fragment).await.unwrap().from_cache);
    // Clones share the cache.
    assert!(fetcher.clone().get_json(&url).await.unwrap().from_cache);
    assert_eq!(server.requests(), 1);

    let fresh = fetcher.get_json_fresh(&url).await.unwrap();
    assert!(!fresh.from_cache);
    assert_eq!(server.requests(), 2);

    fetcher.invalidate(&url);
    assert!(!fetcher.get_json(&url).await.unwrap().from_cache);
    assert_eq!(server.requests(), 3);

    // Failures are not cached.
    for _ in 0..2 {
        assert_eq!(
            fetcher.get_json(&server.url("/missing")).await.unwrap_err(),
            FetchError::Status(404)
        );
    }
    assert_eq!(server.requests(), 5);
}

#[tokio::test]
async fn cache_entries_expire_and_the_oldest_is_evicted() {
    let server = serve(json_router()).await;
    let short = fetcher(FetchConfig {
        cache_ttl: Duration::from_millis(50),
        ..open_config()
    });
    let url = server.url("/a");
    short.get_json(&url).await.unwrap();
    // Sleeping longer than the TTL makes expiry certain (a monotonic clock).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!short.get_json(&url).await.unwrap().from_cache);
    assert_eq!(server.requests(), 2);

    let small = fetcher(FetchConfig {
        cache_entries: 2,
        ..open_config()
    });
    let (a, b, c) = (server.url("/a"), server.url("/b"), server.url("/c"));
    for u in [&a, &b, &c] {
        small.get_json(u).await.unwrap();
    }
    assert_eq!(server.requests(), 5);
    assert!(small.get_json(&c).await.unwrap().from_cache);
    assert!(small.get_json(&b).await.unwrap().from_cache);
    assert!(
        !small.get_json(&a).await.unwrap().from_cache,
        "a was evicted"
    );
    assert_eq!(server.requests(), 6);

    let disabled = fetcher(FetchConfig {
        cache_ttl: Duration::ZERO,
        ..open_config()
    });
    disabled.get_json(&a).await.unwrap();
    assert!(!disabled.get_json(&a).await.unwrap().from_cache);
    assert_eq!(server.requests(), 8);
}

// ---------------------------------------------------------------------------------
// Politeness
// ---------------------------------------------------------------------------------

#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

#[tokio::test]
async fn at_most_per_host_concurrency_requests_are_in_flight() {
    let state = Arc::new(InFlight::default());
    let router = Router::new()
        .fallback(|State(state): State<Arc<InFlight>>| async move {
            let now = state.now.fetch_add(1, Ordering::SeqCst) + 1;
            state.max.fetch_max(now, Ordering::SeqCst);
            // Wait for a partner so overlap is certain (bounded, for the last one).
            let deadline = Instant::now() + Duration::from_secs(5);
            while state.now.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            state.now.fetch_sub(1, Ordering::SeqCst);
            json_response("{}")
        })
        .with_state(Arc::clone(&state));
    let server = serve(router).await;
    let fetcher = fetcher(FetchConfig {
        per_host_concurrency: 2,
        cache_ttl: Duration::ZERO,
        ..open_config()
    });
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let fetcher = fetcher.clone();
            let url = server.url(&format!("/n/{i}"));
            tokio::spawn(async move { fetcher.get_json(&url).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(server.requests(), 10);
    assert_eq!(state.max.load(Ordering::SeqCst), 2);
    assert_eq!(
        fetcher.busy_hosts(),
        0,
        "per-host state outlived the requests"
    );
}

#[tokio::test]
async fn retry_after_makes_further_requests_fail_fast() {
    let router = Router::new().fallback(|| async {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "2")],
            "slow down",
        )
    });
    let server = serve(router).await;
    let fetcher = fetcher(open_config());
    let url = server.url("/users/a");
    let err = fetcher.get_json(&url).await.unwrap_err();
    assert_eq!(
        err,
        FetchError::RateLimited {
            retry_after: Duration::from_secs(2)
        }
    );
    assert!(err.is_retryable());
    assert_eq!(server.requests(), 1);

    for _ in 0..3 {
        let err = fetcher.get_json(&server.url("/other")).await.unwrap_err();
        let wait = err.retry_after().expect("RateLimited");
        assert!(
            wait <= Duration::from_secs(2) && !wait.is_zero(),
            "{wait:?}"
        );
        let err = fetcher
            .post(&server.url("/inbox"), b"{}".to_vec(), AS_JSON, None)
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::RateLimited { .. }), "{err:?}");
    }
    assert_eq!(server.requests(), 1, "a rate-limited host was asked again");
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn retry_after_dates_are_parsed_and_long_waits_capped() {
    let in_two_minutes = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
    let router = Router::new()
        .route(
            "/date",
            get(move || async move {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, in_two_minutes)],
                    "",
                )
            }),
        )
        .route(
            "/long",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "86400")],
                    "",
                )
            }),
        )
        .route(
            "/plain-503",
            get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
        );
    let server = serve(router).await;

    let f = fetcher(open_config());
    let wait = f
        .get_json(&server.url("/date"))
        .await
        .unwrap_err()
        .retry_after()
        .expect("RateLimited");
    assert!(
        wait > Duration::from_secs(60) && wait <= Duration::from_secs(120),
        "{wait:?}"
    );

    let f = fetcher(FetchConfig {
        max_retry_after: Duration::from_secs(10),
        ..open_config()
    });
    let err = f.get_json(&server.url("/long")).await.unwrap_err();
    assert_eq!(
        err,
        FetchError::RateLimited {
            retry_after: Duration::from_secs(10)
        }
    );

    // Without Retry-After a 503 is a plain (retryable) status, and nothing is remembered.
    let f = fetcher(open_config());
    for _ in 0..2 {
        let err = f.get_json(&server.url("/plain-503")).await.unwrap_err();
        assert_eq!(err, FetchError::Status(503));
        assert!(err.is_retryable());
    }
}

// ---------------------------------------------------------------------------------
// Signing and deliveries
// ---------------------------------------------------------------------------------

/// One call of a [`RecordingSigner`]: method, URL, header names present when it was
/// called, body.
type SignCall = (Method, Url, Vec<String>, Option<Vec<u8>>);

#[derive(Default)]
struct RecordingSigner {
    name: &'static str,
    calls: Mutex<Vec<SignCall>>,
}

impl RequestSigner for RecordingSigner {
    fn sign(
        &self,
        method: &Method,
        url: &Url,
        headers: &mut reqwest::header::HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<(), String> {
        let names = headers.keys().map(|k| k.as_str().to_owned()).collect();
        self.calls.lock().unwrap().push((
            method.clone(),
            url.clone(),
            names,
            body.map(<[u8]>::to_vec),
        ));
        headers.insert(
            "x-test-signature",
            format!("{} {} {}", self.name, method, url).parse().unwrap(),
        );
        Ok(())
    }
}

#[tokio::test]
async fn the_signer_signs_every_redirect_hop() {
    let seen = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let record = Arc::clone(&seen);
    let router = Router::new().route(
        "/r/{n}",
        axum::routing::any(move |Path(n): Path<u32>, headers: HeaderMap| {
            let record = Arc::clone(&record);
            async move {
                let signature = headers
                    .get("x-test-signature")
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default();
                record.lock().unwrap().push((format!("/r/{n}"), signature));
                if n == 0 {
                    json_response("{}")
                } else {
                    Redirect::temporary(&format!("/r/{}", n - 1)).into_response()
                }
            }
        }),
    );
    let server = serve(router).await;
    let signer = Arc::new(RecordingSigner {
        name: "instance",
        ..Default::default()
    });
    let fetcher = Fetcher::new(open_config(), Some(signer.clone())).unwrap();
    fetcher.get_json(&server.url("/r/2")).await.unwrap();

    let calls = signer.calls.lock().unwrap().clone();
    let urls: Vec<Url> = calls.iter().map(|c| c.1.clone()).collect();
    assert_eq!(
        urls,
        vec![server.url("/r/2"), server.url("/r/1"), server.url("/r/0")]
    );
    for (method, _, header_names, body) in &calls {
        assert_eq!(method, Method::GET);
        assert!(body.is_none());
        for needed in ["host", "date", "accept", "user-agent"] {
            assert!(
                header_names.iter().any(|h| h == needed),
                "{needed} not set before signing: {header_names:?}"
            );
        }
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    for (path, signature) in &seen {
        assert_eq!(
            signature,
            &format!("instance GET {}", server.url(path)),
            "hop {path} not signed for its own URL"
        );
    }
}

#[tokio::test]
async fn deliveries_are_signed_by_the_sender_and_outcomes_classified() {
    let received = Arc::new(Mutex::new(Vec::<(String, String, Vec<u8>)>::new()));
    let record = Arc::clone(&received);
    let router = Router::new()
        .route(
            "/inbox",
            post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let record = Arc::clone(&record);
                async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .map(|v| v.to_str().unwrap().to_owned())
                            .unwrap_or_default()
                    };
                    record.lock().unwrap().push((
                        header("content-type"),
                        header("x-test-signature"),
                        body.to_vec(),
                    ));
                    StatusCode::ACCEPTED
                }
            }),
        )
        .route("/moved", post(|| async { Redirect::temporary("/inbox") }))
        .route("/bad", post(|| async { StatusCode::BAD_REQUEST }))
        .route("/gone", post(|| async { StatusCode::GONE }))
        .route(
            "/broken",
            post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route("/timeout", post(|| async { StatusCode::REQUEST_TIMEOUT }));
    let server = serve(router).await;
    let instance = Arc::new(RecordingSigner {
        name: "instance",
        ..Default::default()
    });
    let fetcher = Fetcher::new(open_config(), Some(instance.clone())).unwrap();
    let alice = RecordingSigner {
        name: "alice",
        ..Default::default()
    };
    let body = br#"{"type":"Create"}"#.to_vec();
    let outcome = fetcher
        .post(&server.url("/inbox"), body.clone(), AS_JSON, Some(&alice))
        .await
        .unwrap();
    assert_eq!(outcome.status, 202);
    assert_eq!(outcome.retry_after, None);
    {
        let received = received.lock().unwrap();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].0, AS_JSON);
        assert_eq!(
            received[0].1,
            format!("alice POST {}", server.url("/inbox"))
        );
        assert_eq!(received[0].2, body);
    }
    let alice_calls = alice.calls.lock().unwrap().clone();
    assert_eq!(alice_calls.len(), 1);
    assert_eq!(alice_calls[0].3.as_deref(), Some(body.as_slice()));
    assert!(alice_calls[0].2.iter().any(|h| h == "content-type"));
    assert!(instance.calls.lock().unwrap().is_empty(), "wrong signer");

    // Without a per-request signer, the default one signs.
    fetcher
        .post(&server.url("/inbox"), body.clone(), AS_JSON, None)
        .await
        .unwrap();
    assert_eq!(
        received.lock().unwrap()[1].1,
        format!("instance POST {}", server.url("/inbox"))
    );

    // A redirect is not followed.
    let err = fetcher
        .post(&server.url("/moved"), body.clone(), AS_JSON, None)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        FetchError::Redirected {
            status: 307,
            location: Some("/inbox".into())
        }
    );
    assert!(!err.is_retryable());
    assert_eq!(received.lock().unwrap().len(), 2);

    for (path, status, retryable) in [
        ("/bad", 400, false),
        ("/gone", 410, false),
        ("/broken", 500, true),
        ("/timeout", 408, true),
    ] {
        let err = fetcher
            .post(&server.url(path), body.clone(), AS_JSON, None)
            .await
            .unwrap_err();
        assert_eq!(err, FetchError::Status(status), "{path}");
        assert_eq!(err.is_retryable(), retryable, "{path}");
    }
}

#[tokio::test]
async fn a_failing_signer_stops_the_request() {
    struct Broken;
    impl RequestSigner for Broken {
        fn sign(
            &self,
            _: &Method,
            _: &Url,
            _: &mut reqwest::header::HeaderMap,
            _: Option<&[u8]>,
        ) -> Result<(), String> {
            Err("no key".into())
        }
    }
    let server = serve(json_router()).await;
    let fetcher = Fetcher::new(open_config(), Some(Arc::new(Broken))).unwrap();
    let err = fetcher.get_json(&server.url("/a")).await.unwrap_err();
    assert_eq!(err, FetchError::Signing("no key".into()));
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn connection_failures_are_retryable() {
    // A port that was just free: nothing listens there.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let fetcher = fetcher(open_config());
    let url = Url::parse(&format!("http://{addr}/")).unwrap();
    let err = fetcher.get_json(&url).await.unwrap_err();
    assert!(matches!(err, FetchError::Connect(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[test]
fn retryable_classification() {
    for (err, retryable) in [
        (FetchError::Status(400), false),
        (FetchError::Status(401), false),
        (FetchError::Status(403), false),
        (FetchError::Status(404), false),
        (FetchError::Status(410), false),
        (FetchError::Status(408), true),
        (FetchError::Status(429), true),
        (FetchError::Status(500), true),
        (FetchError::Status(502), true),
        (FetchError::Status(503), true),
        (FetchError::Timeout, true),
        (FetchError::Connect("refused".into()), true),
        (FetchError::Http("reset".into()), true),
        (
            FetchError::RateLimited {
                retry_after: Duration::from_secs(1),
            },
            true,
        ),
        (FetchError::BadScheme("ftp".into()), false),
        (
            FetchError::Forbidden {
                addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                reason: "loopback",
            },
            false,
        ),
        (FetchError::TooLarge { limit: 1 }, false),
        (FetchError::NotJson(None), false),
        (FetchError::TooManyRedirects { max: 3 }, false),
    ] {
        assert_eq!(err.is_retryable(), retryable, "{err:?}");
    }
}

#[test]
fn invalid_configurations_are_refused() {
    assert!(matches!(
        Fetcher::new(
            FetchConfig {
                per_host_concurrency: 0,
                ..FetchConfig::default()
            },
            None
        ),
        Err(FetchError::Config(_))
    ));
    let defaults = FetchConfig::default();
    assert!(!defaults.allow_private_addresses);
    assert!(!defaults.allow_http);
    assert_eq!(defaults.max_body_bytes, 1024 * 1024);
    assert_eq!(defaults.max_redirects, 3);
    assert_eq!(defaults.per_host_concurrency, 4);
}
