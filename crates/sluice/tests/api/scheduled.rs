//! Scheduled statuses: `POST /api/v1/statuses` with `scheduled_at`, the
//! `/api/v1/scheduled_statuses` endpoints, and the scheduler that publishes them, also
//! after a restart.

use reqwest::Method;
use serde_json::json;
use sluice_model::Timestamp;

use crate::common::{Body, Db, TestServer, eventually};
use crate::media::upload_png;

db_tests!(
    schedule_list_move_cancel,
    scheduling_refuses_bad_times_and_posts,
    due_posts_are_published_after_a_restart,
    scheduled_media_is_held_and_attached,
    a_scheduled_poll_is_published_with_its_poll,
);

async fn a_scheduled_poll_is_published_with_its_poll(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let s = srv
        .post_json(
            "/api/v1/statuses",
            Some(&alice.token),
            json!({
                "status": "which one?",
                "scheduled_at": in_secs(3600),
                "poll": {"options": ["tea", "coffee"], "expires_in": 600, "multiple": true}
            }),
        )
        .await
        .ok();
    assert_eq!(s["params"]["poll"]["options"], json!(["tea", "coffee"]));
    assert_eq!(s["params"]["poll"]["multiple"], true);
    // A poll that could not be made is refused when it is scheduled.
    let r = srv
        .post_json(
            "/api/v1/statuses",
            Some(&alice.token),
            json!({
                "status": "one option",
                "scheduled_at": in_secs(3600),
                "poll": {"options": ["only"], "expires_in": 600}
            }),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    make_due(&srv).await;
    assert_eq!(srv.engine().publish_due_statuses().await.unwrap(), 1);
    let posts = srv
        .get(
            &format!("/api/v1/accounts/{}/statuses", alice.id),
            Some(&alice.token),
        )
        .await
        .ok();
    let poll = &posts[0]["poll"];
    assert_eq!(poll["options"][1]["title"], "coffee");
    assert_eq!(poll["multiple"], true);
    srv.stop().await;
}

/// An RFC 3339 time `secs` from now.
fn in_secs(secs: i64) -> String {
    Timestamp(sluice_model::id::now_millis() + secs * 1000).to_rfc3339()
}

/// Moves every scheduled status of the database to the past, as if its time came.
async fn make_due(srv: &TestServer) {
    let q = sluice_store::Query::new("UPDATE scheduled_statuses SET scheduled_at = 1000");
    srv.engine().store_for_tests().exec(q).await.unwrap();
}

async fn schedule_list_move_cancel(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let at = in_secs(3600);
    let s = srv
        .post(
            "/api/v1/statuses",
            Some(&alice.token),
            &[
                ("status", "later, friends"),
                ("scheduled_at", &at),
                ("visibility", "unlisted"),
                ("spoiler_text", "cw"),
            ],
        )
        .await
        .ok();
    // A ScheduledStatus, not a Status.
    let id = s["id"].as_str().unwrap().to_string();
    assert!(s.get("content").is_none(), "{s}");
    assert_eq!(
        Timestamp::parse_rfc3339(s["scheduled_at"].as_str().unwrap()),
        Timestamp::parse_rfc3339(&at)
    );
    assert_eq!(s["params"]["text"], "later, friends");
    assert_eq!(s["params"]["visibility"], "unlisted");
    assert_eq!(s["params"]["spoiler_text"], "cw");
    assert_eq!(s["media_attachments"], json!([]));
    // Not posted yet.
    let mine = srv
        .get(
            &format!("/api/v1/accounts/{}/statuses", alice.id),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(mine, json!([]));

    // JSON bodies too.
    let second = srv
        .post_json(
            "/api/v1/statuses",
            Some(&alice.token),
            json!({"status": "even later", "scheduled_at": in_secs(7200)}),
        )
        .await
        .ok();
    let list = srv
        .get("/api/v1/scheduled_statuses", Some(&alice.token))
        .await
        .ok();
    let listed: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![second["id"].as_str().unwrap(), id.as_str()]);
    // Paged with a Link header.
    let r = srv
        .get("/api/v1/scheduled_statuses?limit=1", Some(&alice.token))
        .await;
    assert!(r.link().contains("max_id="), "{}", r.link());
    assert_eq!(r.ok().as_array().unwrap().len(), 1);

    // Only its owner sees or touches it.
    let path = format!("/api/v1/scheduled_statuses/{id}");
    srv.get(&path, Some(&bob.token)).await.expect(404);
    srv.request(Method::DELETE, &path, Some(&bob.token), None)
        .await
        .expect(404);
    assert_eq!(
        srv.get("/api/v1/scheduled_statuses", Some(&bob.token))
            .await
            .ok(),
        json!([])
    );
    srv.get(&path, None).await.expect(401);

    // Moved.
    let later = in_secs(10_000);
    let moved = srv
        .request(
            Method::PUT,
            &path,
            Some(&alice.token),
            Some(Body::Form(vec![("scheduled_at".into(), later.clone())])),
        )
        .await
        .ok();
    assert_eq!(
        Timestamp::parse_rfc3339(moved["scheduled_at"].as_str().unwrap()),
        Timestamp::parse_rfc3339(&later)
    );
    // Not to the past.
    srv.request(
        Method::PUT,
        &path,
        Some(&alice.token),
        Some(Body::Form(vec![("scheduled_at".into(), in_secs(-60))])),
    )
    .await
    .expect(422);

    // Cancelled.
    srv.request(Method::DELETE, &path, Some(&alice.token), None)
        .await
        .ok();
    srv.get(&path, Some(&alice.token)).await.expect(404);
    assert_eq!(srv.count("scheduled_statuses").await, 1);
    srv.stop().await;
}

async fn scheduling_refuses_bad_times_and_posts(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let post = |extra: Vec<(&'static str, String)>| {
        let srv = &srv;
        let token = alice.token.clone();
        async move {
            let form: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
            srv.post("/api/v1/statuses", Some(&token), &form).await
        }
    };
    // Too soon (under 5 minutes), in the past, or not a date.
    for at in [in_secs(60), in_secs(-3600), "tomorrow".to_string()] {
        let r = post(vec![("status", "x".into()), ("scheduled_at", at.clone())]).await;
        assert_eq!(r.status, 422, "{at}: {}", r.text);
        assert!(r.body["error"].as_str().unwrap().contains("Scheduled at"));
    }
    // A post that could not be made is refused now, not when it comes due.
    let r = post(vec![("status", "".into()), ("scheduled_at", in_secs(3600))]).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let long = "x".repeat(5001);
    let r = post(vec![("status", long), ("scheduled_at", in_secs(3600))]).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = post(vec![
        ("status", "reply".into()),
        ("in_reply_to_id", "999999".into()),
        ("scheduled_at", in_secs(3600)),
    ])
    .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = post(vec![
        ("status", "x".into()),
        ("media_ids[]", "123456".into()),
        ("scheduled_at", in_secs(3600)),
    ])
    .await;
    assert_eq!(r.status, 422, "{}", r.text);
    // Nothing half-written.
    assert_eq!(srv.count("scheduled_statuses").await, 0);

    // At most 25 on one day.
    let day = in_secs(2 * 24 * 3600);
    for i in 0..25 {
        post(vec![
            ("status", format!("n{i}")),
            ("scheduled_at", day.clone()),
        ])
        .await
        .ok();
    }
    let r = post(vec![("status", "one more".into()), ("scheduled_at", day)]).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(srv.count("scheduled_statuses").await, 25);
    srv.stop().await;
}

/// A scheduled post comes due while the server is down: the next start publishes it,
/// once, with its parameters, and it leaves the scheduled list.
async fn due_posts_are_published_after_a_restart(db: Db) {
    let Some(mut srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let first = srv.status(&alice, "the start of the thread", &[]).await;
    let s = srv
        .post(
            "/api/v1/statuses",
            Some(&alice.token),
            &[
                ("status", "published by the scheduler #later"),
                ("scheduled_at", &in_secs(600)),
                ("visibility", "unlisted"),
                ("in_reply_to_id", first["id"].as_str().unwrap()),
            ],
        )
        .await
        .ok();
    assert!(s["id"].is_string());
    // Due now, and the server goes down before its scheduler (asleep for up to a
    // minute) looks again: the next start finds it due.
    make_due(&srv).await;
    srv.halt().await;
    srv.resume().await;
    let path = format!("/api/v1/accounts/{}/statuses", alice.id);
    eventually("the scheduled post is published", async || {
        srv.get(&path, Some(&alice.token))
            .await
            .ok()
            .as_array()
            .unwrap()
            .len()
            == 2
    })
    .await;
    let posts = srv.get(&path, Some(&alice.token)).await.ok();
    let p = &posts[0];
    assert!(
        p["content"]
            .as_str()
            .unwrap()
            .contains("published by the scheduler")
    );
    assert_eq!(p["visibility"], "unlisted");
    assert_eq!(p["in_reply_to_id"], first["id"]);
    assert_eq!(p["tags"][0]["name"], "later");
    assert_eq!(
        srv.get("/api/v1/scheduled_statuses", Some(&alice.token))
            .await
            .ok(),
        json!([])
    );
    // Published once, even if the scheduler runs again (the idempotency key).
    srv.engine().publish_due_statuses().await.unwrap();
    assert_eq!(
        srv.get(&path, Some(&alice.token))
            .await
            .ok()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A post that can no longer be made (the post it answers is gone) is dropped,
    // not retried forever.
    let gone = srv.status(&alice, "soon deleted", &[]).await;
    srv.post(
        "/api/v1/statuses",
        Some(&alice.token),
        &[
            ("status", "answer to nothing"),
            ("scheduled_at", &in_secs(600)),
            ("in_reply_to_id", gone["id"].as_str().unwrap()),
        ],
    )
    .await
    .ok();
    srv.request(
        Method::DELETE,
        &format!("/api/v1/statuses/{}", gone["id"].as_str().unwrap()),
        Some(&alice.token),
        None,
    )
    .await
    .ok();
    make_due(&srv).await;
    assert_eq!(srv.engine().publish_due_statuses().await.unwrap(), 1);
    assert_eq!(srv.count("scheduled_statuses").await, 0);
    srv.stop().await;
}

/// Uploads given to a scheduled post stay its own until it is published, then are
/// attached to the post; a cancelled post lets them go.
async fn scheduled_media_is_held_and_attached(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let m = upload_png(&srv, &alice, 1).await;
    let mid = m["id"].as_str().unwrap();
    let s = srv
        .post(
            "/api/v1/statuses",
            Some(&alice.token),
            &[
                ("status", "with a picture"),
                ("media_ids[]", mid),
                ("scheduled_at", &in_secs(3600)),
            ],
        )
        .await
        .ok();
    assert_eq!(s["params"]["media_ids"], json!([mid]));
    assert_eq!(s["media_attachments"][0]["id"], mid);
    // Held: another post cannot take it meanwhile.
    srv.post(
        "/api/v1/statuses",
        Some(&alice.token),
        &[("status", "steal"), ("media_ids[]", mid)],
    )
    .await
    .expect(422);
    make_due(&srv).await;
    assert_eq!(srv.engine().publish_due_statuses().await.unwrap(), 1);
    let posts = srv
        .get(
            &format!("/api/v1/accounts/{}/statuses", alice.id),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(posts[0]["media_attachments"][0]["id"], mid);

    // Cancelled: the upload is free for another post.
    let m2 = upload_png(&srv, &alice, 2).await;
    let mid2 = m2["id"].as_str().unwrap();
    let s2 = srv
        .post(
            "/api/v1/statuses",
            Some(&alice.token),
            &[
                ("status", "never mind"),
                ("media_ids[]", mid2),
                ("scheduled_at", &in_secs(3600)),
            ],
        )
        .await
        .ok();
    srv.request(
        Method::DELETE,
        &format!("/api/v1/scheduled_statuses/{}", s2["id"].as_str().unwrap()),
        Some(&alice.token),
        None,
    )
    .await
    .ok();
    let p = srv.status(&alice, "now", &[("media_ids[]", mid2)]).await;
    assert_eq!(p["media_attachments"][0]["id"], mid2);
    srv.stop().await;
}
