//! A store that cannot write, seen from outside: writes refused with 503 while the
//! disk is full (simulated), every writer (the API, the inbox, the delivery workers)
//! working again by itself once there is room, and `GET /health` saying which it is.

use reqwest::StatusCode;
use serde_json::Value;
use sluice_store::{Query, Scalar};

use crate::common::{Db, Resp, TestServer, User, eventually, follow_remote, peer};

db_tests!(
    writes_resume_after_the_disk_fills,
    nothing_runs_outside_a_transaction_the_database_ended,
    inbox_and_deliveries_resume_after_the_disk_fills,
    health_is_cheap_and_open
);

/// Makes the store run out of room for new data. SQLite: the writer connection may not
/// grow the file past its size now (`PRAGMA max_page_count`), so a write that needs a
/// new page fails with SQLITE_FULL, as on a full disk. PostgreSQL: a trigger raises
/// `disk_full` (SQLSTATE 53100) on every new status, in the middle of its transaction.
/// Both go through the server's own store handle, so on SQLite they reach the one
/// writer connection the server writes with.
async fn fill_disk(srv: &TestServer, db: Db) {
    fill_disk_for(srv, db, "statuses").await
}

/// [`fill_disk`], on PostgreSQL for new rows of `table`.
pub(crate) async fn fill_disk_for(srv: &TestServer, db: Db, table: &str) {
    let store = &srv.store();
    match db {
        Db::Sqlite => {
            let pages = store
                .one::<Scalar>(Query::new(
                    "SELECT page_count AS v FROM pragma_page_count()",
                ))
                .await
                .unwrap()
                .v;
            store
                .exec(Query::new(format!("PRAGMA max_page_count = {pages}")))
                .await
                .unwrap();
        }
        Db::Postgres => {
            store
                .exec(Query::new(
                    "CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN
                       RAISE EXCEPTION 'could not extend file: No space left on device'
                         USING ERRCODE = 'disk_full';
                     END $$",
                ))
                .await
                .unwrap();
            store
                .exec(Query::new(format!(
                    "CREATE TRIGGER test_disk_full BEFORE INSERT ON {table}
                     FOR EACH ROW EXECUTE FUNCTION test_disk_full()"
                )))
                .await
                .unwrap();
        }
    }
}

/// Gives the store room again. On SQLite this is a write on the same writer connection
/// that failed: it must be usable.
async fn free_disk(srv: &TestServer, db: Db) {
    free_disk_for(srv, db, "statuses").await
}

pub(crate) async fn free_disk_for(srv: &TestServer, db: Db, table: &str) {
    let store = &srv.store();
    let sql = match db {
        Db::Sqlite => "PRAGMA max_page_count = 4294967294".to_string(),
        Db::Postgres => format!("DROP TRIGGER test_disk_full ON {table}"),
    };
    store
        .exec(Query::new(sql))
        .await
        .expect("the writer is usable");
}

/// A status large enough to need new pages.
fn big_status(n: usize) -> String {
    format!("{n} {}", "filling the disk ".repeat(250))
}

async fn post(srv: &TestServer, user: &User, text: &str) -> Resp {
    srv.post("/api/v1/statuses", Some(&user.token), &[("status", text)])
        .await
}

/// Posts until the full store refuses one; returns the refusal.
async fn refused_post(srv: &TestServer, user: &User) -> Resp {
    for n in 0..500 {
        let r = post(srv, user, &big_status(n)).await;
        if r.status != StatusCode::OK {
            return r;
        }
    }
    panic!("500 large posts fitted in a full store");
}

/// `status` (an entity as posted) reads back.
async fn assert_readable(srv: &TestServer, user: &User, status: &Value) {
    let id = status["id"].as_str().unwrap();
    let got = srv
        .get(&format!("/api/v1/statuses/{id}"), Some(&user.token))
        .await
        .ok();
    assert_eq!(got["id"], status["id"]);
}

async fn health(srv: &TestServer) -> Resp {
    srv.get("/health", None).await
}

#[track_caller]
fn assert_unavailable(r: &Resp) {
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert!(r.body["error"].is_string(), "{}", r.text);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0);
}

async fn writes_resume_after_the_disk_fills(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let kept = srv
        .status(&alice, "written before the disk filled", &[])
        .await;
    let r = health(&srv).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "ok");

    fill_disk(&srv, db).await;
    // A write that finds no room is refused as "not now" (503 + Retry-After), and so
    // is every later one that needs room: none wedges the writer into 500s.
    assert_unavailable(&refused_post(&srv, &alice).await);
    for n in 0..3 {
        assert_unavailable(&post(&srv, &alice, &big_status(1000 + n)).await);
    }
    // Reads go on, and /health says that this server cannot write.
    assert_readable(&srv, &alice, &kept).await;
    eventually("/health to report that writes fail", async || {
        let r = health(&srv).await;
        r.status == StatusCode::SERVICE_UNAVAILABLE && r.body["status"] == "error"
    })
    .await;

    free_disk(&srv, db).await;
    // Writes work again by themselves, without a restart.
    let mut written = Value::Null;
    eventually("writes to work again", async || {
        let r = post(&srv, &alice, &big_status(2000)).await;
        written = r.body;
        r.status == StatusCode::OK
    })
    .await;
    assert_readable(&srv, &alice, &written).await;
    eventually("/health to answer 200 again", async || {
        health(&srv).await.status == StatusCode::OK
    })
    .await;
    srv.stop().await;
}

/// SQLite may end a transaction itself when a statement fails for want of room. Then
/// the statements after it must not run outside any transaction, each committed on its
/// own: what the transaction wrote, before or after the failure, is never committed.
async fn nothing_runs_outside_a_transaction_the_database_ended(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let store = &srv.store();
    store
        .exec(Query::new(
            "CREATE TABLE test_scratch (id BIGINT PRIMARY KEY, body TEXT NOT NULL)",
        ))
        .await
        .unwrap();
    store
        .exec(Query::new("INSERT INTO test_scratch VALUES (1, 'before')"))
        .await
        .unwrap();
    fill_disk_for(&srv, db, "test_scratch").await;

    let mut tx = store.begin().await.unwrap();
    let set = |body: &str| {
        Query::new("UPDATE test_scratch SET body = $1 WHERE id = 1").bind(body.to_string())
    };
    tx.exec(set("in the transaction")).await.unwrap();
    let failed = tx
        .exec(
            Query::new("INSERT INTO test_scratch VALUES (2, $1)")
                .bind("no room for this ".repeat(20_000)),
        )
        .await;
    assert!(
        matches!(failed, Err(sluice_store::StoreError::Unavailable(_))),
        "{failed:?}"
    );
    // Whatever the engine did with the transaction, this is not committed on its own.
    let _ = tx.exec(set("after the failure")).await;
    drop(tx);

    free_disk_for(&srv, db, "test_scratch").await;
    let body = store
        .one::<sluice_store::TextScalar>(Query::new(
            "SELECT body AS v FROM test_scratch WHERE id = 1",
        ))
        .await
        .unwrap()
        .v;
    assert_eq!(body.as_deref(), Some("before"));
    // The writer goes on.
    store
        .exec(set("after the disk had room"))
        .await
        .expect("the writer is usable");
    srv.stop().await;
}

/// Whether `uri` is in `user`'s home timeline on `srv`.
async fn in_home(srv: &TestServer, user: &User, uri: &Value) -> bool {
    let home = srv
        .get("/api/v1/timelines/home?limit=40", Some(&user.token))
        .await
        .ok();
    home.as_array()
        .is_some_and(|h| h.iter().any(|s| s["uri"] == *uri))
}

async fn inbox_and_deliveries_resume_after_the_disk_fills(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let b = TestServer::start(db, peer("127.0.0.3")).await.unwrap();
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let a_domain = a.url.trim_start_matches("http://").to_string();
    let b_domain = b.url.trim_start_matches("http://").to_string();
    follow_remote(&a, &alice, &format!("bob@{b_domain}")).await;
    follow_remote(&b, &bob, &format!("alice@{a_domain}")).await;

    fill_disk(&a, db).await;
    assert_unavailable(&refused_post(&a, &alice).await);
    free_disk(&a, db).await;

    // A's inbox queues and applies what arrives after the disk had room again …
    let from_bob = b.status(&bob, "to alice, after her disk filled", &[]).await;
    eventually("bob's post in alice's home", async || {
        in_home(&a, &alice, &from_bob["uri"]).await
    })
    .await;
    // … and A's delivery workers deliver again.
    let mut from_alice = Value::Null;
    eventually("alice to post again", async || {
        let r = post(&a, &alice, "to bob, after my disk filled").await;
        from_alice = r.body;
        r.status == StatusCode::OK
    })
    .await;
    eventually("alice's post in bob's home", async || {
        in_home(&b, &bob, &from_alice["uri"]).await
    })
    .await;
    a.stop().await;
    b.stop().await;
}

async fn health_is_cheap_and_open(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    // No token needed, a wrong one changes nothing; answered as often as asked.
    for _ in 0..50 {
        let r = health(&srv).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["status"], "ok");
        assert_eq!(r.headers["cache-control"], "no-store");
    }
    let r = srv.get("/health", Some("not-a-token")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // HEAD, as some load balancers send.
    let r = srv
        .http
        .head(format!("{}/health", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    srv.stop().await;
}
