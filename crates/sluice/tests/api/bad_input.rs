//! Bad input gets a clear error with the right status, and nothing is written.

use crate::common::{Body, Db, TestServer};

db_tests!(malformed_bodies, wrong_types_and_unknown_ids, dead_tokens);

async fn malformed_bodies(db: Db) {
    let Some(srv) = TestServer::start(db, |c| c.max_body_bytes = 64 * 1024).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let before = srv.count("statuses").await;
    let r = srv
        .request(
            reqwest::Method::POST,
            "/api/v1/statuses",
            Some(&alice.token),
            Some(Body::Raw("application/json", b"{\"status\": ".to_vec())),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"].as_str().unwrap().contains("Malformed JSON"),
        "{}",
        r.text
    );
    let r = srv
        .request(
            reqwest::Method::POST,
            "/api/v1/statuses",
            Some(&alice.token),
            Some(Body::Raw("application/json", b"[1, 2]".to_vec())),
        )
        .await;
    assert_eq!(r.status, 400);
    let deep = format!("{{\"status\": {}1{}}}", "[".repeat(100), "]".repeat(100));
    let r = srv
        .request(
            reqwest::Method::POST,
            "/api/v1/statuses",
            Some(&alice.token),
            Some(Body::Raw("application/json", deep.into_bytes())),
        )
        .await;
    assert_eq!(r.status, 400);
    // Oversized: 413 with an error body.
    let big = format!("status={}", "a".repeat(100 * 1024));
    let r = srv
        .request(
            reqwest::Method::POST,
            "/api/v1/statuses",
            Some(&alice.token),
            Some(Body::Raw(
                "application/x-www-form-urlencoded",
                big.into_bytes(),
            )),
        )
        .await;
    assert_eq!(r.status, 413);
    assert!(r.body["error"].is_string(), "{}", r.text);
    // Oversized without a declared length (chunked): refused while it is read.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..10)
        .map(|i| {
            Ok(if i == 0 {
                b"status=".to_vec()
            } else {
                vec![b'a'; 10 * 1024]
            })
        })
        .collect();
    let r = srv
        .http
        .post(format!("{}/api/v1/statuses", srv.url))
        .bearer_auth(&alice.token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Garbage multipart.
    let r = srv
        .request(
            reqwest::Method::POST,
            "/api/v1/statuses",
            Some(&alice.token),
            Some(Body::Raw(
                "multipart/form-data; boundary=xyz",
                b"--xyz\r\nnonsense".to_vec(),
            )),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(srv.count("statuses").await, before);
    // The same post as JSON, multipart and form all work.
    srv.post_json(
        "/api/v1/statuses",
        Some(&alice.token),
        serde_json::json!({"status": "json", "sensitive": true}),
    )
    .await
    .ok();
    let form = reqwest::multipart::Form::new()
        .text("status", "multipart")
        .text("visibility", "unlisted");
    let r = srv
        .http
        .post(format!("{}/api/v1/statuses", srv.url))
        .bearer_auth(&alice.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["visibility"], "unlisted");
    assert_eq!(srv.count("statuses").await, before + 2);
    srv.stop().await;
}

async fn wrong_types_and_unknown_ids(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let r = srv
        .post_json(
            "/api/v1/statuses",
            Some(&alice.token),
            serde_json::json!({"status": {"x": 1}}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body["error"].as_str().unwrap().contains("status"));
    srv.post_json(
        "/api/v1/statuses",
        Some(&alice.token),
        serde_json::json!({"status": "x", "sensitive": "perhaps"}),
    )
    .await
    .expect(422);
    srv.post(
        "/api/v1/statuses",
        Some(&alice.token),
        &[("status", "x"), ("in_reply_to_id", "123456789")],
    )
    .await
    .expect(404);
    srv.post(
        "/api/v1/statuses",
        Some(&alice.token),
        &[("status", "x"), ("in_reply_to_id", "abc")],
    )
    .await
    .expect(404);
    assert_eq!(srv.count("statuses").await, 0);
    for path in [
        "/api/v1/statuses/1",
        "/api/v1/statuses/abc",
        "/api/v1/statuses/99999999999999999999999/context",
        "/api/v1/accounts/5/statuses",
    ] {
        let r = srv.get(path, Some(&alice.token)).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.body["error"], "Record not found");
    }
    srv.post("/api/v1/statuses/1/favourite", Some(&alice.token), &[])
        .await
        .expect(404);
    srv.post("/api/v1/accounts/1/follow", Some(&alice.token), &[])
        .await
        .expect(404);
    srv.get("/api/v1/no/such/endpoint", None).await.expect(404);
    srv.post("/api/v1/markers", Some(&alice.token), &[])
        .await
        .expect(400);
    srv.stop().await;
}

async fn dead_tokens(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let before = srv.count("statuses").await;
    for token in ["", "x", &"y".repeat(600)] {
        let r = srv
            .post("/api/v1/statuses", Some(token), &[("status", "no")])
            .await;
        assert_eq!(r.status, 401, "token {token:?}");
    }
    // An expired token (expiry set in the past directly in the store).
    let q = sluice_store::Query::new("UPDATE tokens SET expires_at = 1");
    srv.store().exec(q).await.unwrap();
    srv.post("/api/v1/statuses", Some(&alice.token), &[("status", "no")])
        .await
        .expect(401);
    assert_eq!(srv.count("statuses").await, before);
    srv.stop().await;
}
