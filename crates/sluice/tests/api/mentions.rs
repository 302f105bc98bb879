//! Mentions and threads as other servers make them: a handle this server has not
//! seen is looked up through WebFinger when the post is made (handles with a port
//! too); a direct post that would reach nobody, or not everyone it names, is refused;
//! posts serve their `replies`, `likes` and `shares` collections.

use crate::common::{Db, TestServer, eventually, get_as2, peer};

db_tests!(
    unseen_handles_are_resolved_and_reached,
    direct_posts_must_reach_everyone_they_name,
    posts_serve_replies_likes_and_shares,
);

async fn posts_serve_replies_likes_and_shares(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let root = srv.status(&alice, "a thread", &[]).await;
    let rid = root["id"].as_str().unwrap();
    let public = srv
        .status(&bob, "public reply", &[("in_reply_to_id", rid)])
        .await;
    let unlisted = srv
        .status(
            &alice,
            "unlisted reply",
            &[("in_reply_to_id", rid), ("visibility", "unlisted")],
        )
        .await;
    srv.status(
        &bob,
        "followers-only reply",
        &[("in_reply_to_id", rid), ("visibility", "private")],
    )
    .await;
    srv.post(
        &format!("/api/v1/statuses/{rid}/favourite"),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    srv.post(
        &format!("/api/v1/statuses/{rid}/reblog"),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    let note = get_as2(&srv, root["uri"].as_str().unwrap(), None)
        .await
        .ok();
    let uri = root["uri"].as_str().unwrap();
    assert_eq!(note["replies"]["id"], format!("{uri}/replies"));
    assert_eq!(note["likes"]["totalItems"], 1);
    assert_eq!(note["shares"]["totalItems"], 1);
    assert!(note["likes"].get("@context").is_none());
    let first = note["replies"]["first"].as_str().unwrap();
    let page = get_as2(&srv, first, None).await.ok();
    assert_eq!(page["type"], "OrderedCollectionPage");
    assert_eq!(
        page["orderedItems"],
        serde_json::json!([unlisted["uri"], public["uri"]]),
        "public and unlisted replies, newest first; not the followers-only one"
    );
    let likes = get_as2(&srv, &format!("{uri}/likes"), None).await.ok();
    assert_eq!(likes["totalItems"], 1);
    let head = get_as2(&srv, &format!("{uri}/replies"), None).await.ok();
    assert_eq!(head["first"], first);
    // Only for posts anyone may fetch.
    let private = srv
        .status(&alice, "followers only", &[("visibility", "private")])
        .await;
    get_as2(
        &srv,
        &format!("{}/replies", private["uri"].as_str().unwrap()),
        None,
    )
    .await
    .expect(404);
    get_as2(&srv, &format!("{uri}/whatever"), None)
        .await
        .expect(404);
    srv.stop().await;
}

async fn unseen_handles_are_resolved_and_reached(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    // `127.0.0.3:PORT`: a handle with a port.
    let b_domain = b.url.trim_start_matches("http://").to_string();
    assert!(b_domain.contains(':'));
    let dm = a
        .status(
            &alice,
            &format!("@bob@{b_domain} are you there?"),
            &[("visibility", "direct")],
        )
        .await;
    assert_eq!(dm["mentions"][0]["acct"], format!("bob@{b_domain}"));
    assert!(
        dm["content"]
            .as_str()
            .unwrap()
            .contains(&format!("href=\"{}/@bob\"", b.url)),
        "{}",
        dm["content"]
    );
    // And it reaches bob, on his server.
    eventually("bob is notified of the mention", async || {
        let n = b.get("/api/v1/notifications", Some(&bob.token)).await.ok();
        n.as_array().is_some_and(|n| {
            n.iter()
                .any(|n| n["type"] == "mention" && n["status"]["visibility"] == "direct")
        })
    })
    .await;
    // A public post names him the same way.
    let public = a
        .status(&alice, &format!("thanks @bob@{b_domain}!"), &[])
        .await;
    assert_eq!(public["mentions"][0]["acct"], format!("bob@{b_domain}"));
    a.stop().await;
    b.stop().await;
}

async fn direct_posts_must_reach_everyone_they_name(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    a.user("carol").await;
    let b_domain = b.url.trim_start_matches("http://").to_string();
    let before = a.count("statuses").await;
    // A handle nobody answers to: refused, naming it.
    let r = a
        .post(
            "/api/v1/statuses",
            Some(&alice.token),
            &[
                ("status", &format!("@carol @nobody@{b_domain} psst")),
                ("visibility", "direct"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains(&format!("@nobody@{b_domain}")),
        "{}",
        r.text
    );
    // Nobody at all.
    let r = a
        .post(
            "/api/v1/statuses",
            Some(&alice.token),
            &[("status", "dear diary"), ("visibility", "direct")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.body["error"].as_str().unwrap().contains("recipient"));
    assert_eq!(a.count("statuses").await, before, "nothing half-written");
    // A public post naming an unknown handle is fine: it stays text.
    let s = a
        .status(&alice, &format!("hello @nobody@{b_domain}"), &[])
        .await;
    assert_eq!(s["mentions"], serde_json::json!([]));
    // A direct reply reaches the author replied to, without a mention.
    let carol = a.user("dave").await;
    let post = a.status(&carol, "ask me anything", &[]).await;
    a.status(
        &alice,
        "a quiet question",
        &[
            ("visibility", "direct"),
            ("in_reply_to_id", post["id"].as_str().unwrap()),
        ],
    )
    .await;
    a.stop().await;
    b.stop().await;
}
