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

/// On PostgreSQL every statement of the server's connections has a deadline (a query
/// whose request was dropped does not run on in the database); SQLite runs in-process.
async fn database_statements_have_a_deadline(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let store = &srv.engine().store;
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
