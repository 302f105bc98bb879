//! The guards around every request: a panic is that request's 500 and the server keeps
//! serving; a request past its deadline gets 503; rate limits answer 429 with
//! `X-RateLimit-*` headers.

use std::time::Duration;

use axum::routing::get;

use crate::common::{Db, TestServer};

db_tests!(
    panic_is_contained,
    deadline_ends_slow_requests,
    rate_limits,
    app_registrations_per_ip,
    forwarded_clients_behind_trusted_proxies,
    database_statements_have_a_deadline
);

async fn panic_is_contained(db: Db) {
    let extra = axum::Router::new().route(
        "/test/panic",
        get(|| async {
            if std::hint::black_box(true) {
                panic!("deliberate test panic");
            }
            "unreachable"
        }),
    );
    let Some(srv) = TestServer::start_with(db, |_| {}, extra).await else {
        return;
    };
    for _ in 0..3 {
        let r = srv.get("/test/panic", None).await;
        assert_eq!(r.status, 500);
        assert_eq!(r.body["error"], "Internal server error");
    }
    srv.get("/api/v1/instance", None).await.ok();
    srv.stop().await;
}

async fn deadline_ends_slow_requests(db: Db) {
    let extra = axum::Router::new().route(
        "/test/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    let Some(srv) = TestServer::start_with(db, |c| c.request_timeout_secs = 1, extra).await else {
        return;
    };
    let started = std::time::Instant::now();
    let r = srv.get("/test/slow", None).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body["error"], "Request timed out");
    assert!(started.elapsed() < Duration::from_secs(20));
    srv.stop().await;
}

async fn rate_limits(db: Db) {
    let Some(srv) = TestServer::start(db, |c| {
        c.rate_limit_sign_in = 2;
        c.rate_limit_writes = 3;
    })
    .await
    else {
        return;
    };
    // The helper's own sign-in counts as one attempt.
    let alice = srv.user("alice").await;
    let (id, secret) = srv.app("read", "urn:ietf:wg:oauth:2.0:oob").await;
    let form = [
        ("grant_type", "password"),
        ("client_id", &id),
        ("client_secret", &secret),
        ("username", "alice"),
        ("password", "wrong"),
    ];
    assert_eq!(srv.post("/oauth/token", None, &form).await.status, 400);
    let r = srv.post("/oauth/token", None, &form).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.headers["x-ratelimit-limit"], "2");
    assert_eq!(r.headers["x-ratelimit-remaining"], "0");
    assert!(
        r.headers["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(r.headers.contains_key("retry-after"));
    // Writes per token.
    for i in 0..3 {
        srv.status(&alice, &format!("post {i}"), &[]).await;
    }
    let r = srv
        .post(
            "/api/v1/statuses",
            Some(&alice.token),
            &[("status", "one too many")],
        )
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(srv.count("statuses").await, 3);
    // Reads are not limited.
    srv.get("/api/v1/timelines/home", Some(&alice.token))
        .await
        .ok();
    srv.stop().await;
}

/// `POST /api/v1/apps` from a client (its `X-Forwarded-For`/`Forwarded` headers given):
/// the status.
async fn register_app(srv: &TestServer, forwarded: &[(&str, &str)]) -> u16 {
    let mut req = srv.http.post(format!("{}/api/v1/apps", srv.url)).form(&[
        ("client_name", "app"),
        ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
    ]);
    for (k, v) in forwarded {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().status().as_u16()
}

/// App registration is limited per IP (`SLUICE_RATE_LIMIT_APPS`, issue 13, item 5).
async fn app_registrations_per_ip(db: Db) {
    let Some(srv) = TestServer::start(db, |c| c.rate_limit_apps = 2).await else {
        return;
    };
    assert_eq!(register_app(&srv, &[]).await, 200);
    assert_eq!(register_app(&srv, &[]).await, 200);
    let r = srv
        .post(
            "/api/v1/apps",
            None,
            &[
                ("client_name", "app"),
                ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ],
        )
        .await;
    assert_eq!(r.status, 429);
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(srv.count("apps").await, 2);
    srv.stop().await;
}

/// Behind a reverse proxy (issue 13, item 13): requests come from the proxy's address
/// (loopback here), and the client is the one its `X-Forwarded-For` or `Forwarded`
/// names, so two clients have two buckets; with `SLUICE_TRUSTED_PROXIES` naming other
/// proxies, the headers are ignored and every request is the peer's.
async fn forwarded_clients_behind_trusted_proxies(db: Db) {
    let Some(srv) = TestServer::start(db, |c| c.rate_limit_apps = 2).await else {
        return;
    };
    let one = [("x-forwarded-for", "198.51.100.1")];
    assert_eq!(register_app(&srv, &one).await, 200);
    assert_eq!(register_app(&srv, &one).await, 200);
    assert_eq!(register_app(&srv, &one).await, 429);
    // Another client through the same proxy, named either way, and a client that
    // claims someone else's address to the left of what the proxy wrote.
    let two = [("x-forwarded-for", "198.51.100.2")];
    assert_eq!(register_app(&srv, &two).await, 200);
    assert_eq!(register_app(&srv, &two).await, 200);
    let three = [("forwarded", "for=\"[2001:db8::3]:4711\";proto=https")];
    assert_eq!(register_app(&srv, &three).await, 200);
    let spoofed = [("x-forwarded-for", "198.51.100.2, 198.51.100.4")];
    assert_eq!(register_app(&srv, &spoofed).await, 200);
    // The proxy itself has its own bucket.
    assert_eq!(register_app(&srv, &[]).await, 200);
    srv.stop().await;

    let Some(srv) = TestServer::start(db, |c| {
        c.rate_limit_apps = 2;
        c.trusted_proxies = Some("10.0.0.0/8".into());
    })
    .await
    else {
        return;
    };
    assert_eq!(register_app(&srv, &one).await, 200);
    assert_eq!(register_app(&srv, &two).await, 200);
    assert_eq!(
        register_app(&srv, &[("x-forwarded-for", "198.51.100.5")]).await,
        429
    );
    srv.stop().await;
}

/// On PostgreSQL every statement of the server's connections has a deadline (a query
/// whose request was dropped does not run on in the database); SQLite runs in-process.
async fn database_statements_have_a_deadline(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let store = &srv.store();
    if store.kind() == sluice_store::EngineKind::Postgres {
        let q = sluice_store::Query::new(
            "SELECT EXTRACT(EPOCH FROM current_setting('statement_timeout')::interval)::BIGINT AS v",
        );
        let secs = store.one::<sluice_store::Scalar>(q).await.unwrap().v;
        assert_eq!(
            secs,
            60,
            "statement_timeout {}",
            sluice_store::PG_STATEMENT_TIMEOUT
        );
    }
    srv.stop().await;
}
