//! Direct conversations through the Mastodon API (list with paging, read, delete) and
//! the `direct` stream's `conversation` events, across local users.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::common::{Db, TestServer, User, ids};
use crate::streaming::Sse;

db_tests!(
    conversations_list_read_delete,
    direct_stream_gets_conversations
);

async fn conversations(srv: &TestServer, user: &User) -> Value {
    srv.get("/api/v1/conversations", Some(&user.token))
        .await
        .ok()
}

fn account_ids(c: &Value) -> Vec<String> {
    ids(&c["accounts"])
}

async fn conversations_list_read_delete(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let dm = srv
        .status(&alice, "@bob hi there", &[("visibility", "direct")])
        .await;
    // A public post is no conversation.
    srv.status(&alice, "@bob in public", &[]).await;

    let mine = conversations(&srv, &alice).await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["unread"], false, "the author has read it");
    assert_eq!(account_ids(&mine[0]), vec![bob.id.clone()]);
    assert_eq!(mine[0]["last_status"]["id"], dm["id"]);
    let theirs = conversations(&srv, &bob).await;
    assert_eq!(theirs[0]["unread"], true);
    assert_eq!(account_ids(&theirs[0]), vec![alice.id.clone()]);
    assert_eq!(theirs[0]["last_status"]["id"], dm["id"]);
    assert_eq!(conversations(&srv, &carol).await, serde_json::json!([]));
    let bobs_id = theirs[0]["id"].as_str().unwrap().to_string();
    let alices_id = mine[0]["id"].as_str().unwrap().to_string();

    // A direct reply joins the conversation; now alice has something unread.
    let reply = srv
        .status(
            &bob,
            "@alice hello back",
            &[
                ("visibility", "direct"),
                ("in_reply_to_id", dm["id"].as_str().unwrap()),
            ],
        )
        .await;
    let mine = conversations(&srv, &alice).await;
    assert_eq!(ids(&mine), vec![alices_id.clone()]);
    assert_eq!(mine[0]["unread"], true);
    assert_eq!(mine[0]["last_status"]["id"], reply["id"]);
    let theirs = conversations(&srv, &bob).await;
    assert_eq!(ids(&theirs), vec![bobs_id.clone()]);
    assert_eq!(theirs[0]["unread"], false, "bob wrote the newest");

    // Read.
    let read = srv
        .post(
            &format!("/api/v1/conversations/{alices_id}/read"),
            Some(&alice.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(read["id"], alices_id.as_str());
    assert_eq!(read["unread"], false);
    assert_eq!(conversations(&srv, &alice).await[0]["unread"], false);
    // Not someone else's.
    srv.post(
        &format!("/api/v1/conversations/{alices_id}/read"),
        Some(&carol.token),
        &[],
    )
    .await
    .expect(404);

    // A new direct post (not a reply) is another conversation, listed first; with
    // carol too, the participants are both others.
    let group = srv
        .status(
            &alice,
            "@bob @carol group chat",
            &[("visibility", "direct")],
        )
        .await;
    let mine = conversations(&srv, &alice).await;
    assert_eq!(mine.as_array().unwrap().len(), 2);
    assert_eq!(mine[0]["last_status"]["id"], group["id"]);
    let mut people = account_ids(&mine[0]);
    people.sort();
    let mut expected = vec![bob.id.clone(), carol.id.clone()];
    expected.sort();
    assert_eq!(people, expected);
    let carols = conversations(&srv, &carol).await;
    assert_eq!(carols.as_array().unwrap().len(), 1);

    // Paging by the newest status, with a Link header.
    let first = srv
        .get("/api/v1/conversations?limit=1", Some(&alice.token))
        .await;
    let link = first.link();
    assert!(
        link.contains(&format!("max_id={}", group["id"].as_str().unwrap())),
        "{link}"
    );
    assert_eq!(first.body.as_array().unwrap().len(), 1);
    let next = srv
        .get(
            &format!(
                "/api/v1/conversations?limit=1&max_id={}",
                group["id"].as_str().unwrap()
            ),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(ids(&next), vec![alices_id.clone()]);

    // Deleting the newest status of a conversation: the one before is the newest.
    srv.request(
        Method::DELETE,
        &format!("/api/v1/statuses/{}", reply["id"].as_str().unwrap()),
        Some(&bob.token),
        None,
    )
    .await
    .ok();
    let theirs = conversations(&srv, &bob).await;
    let c = theirs
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == bobs_id.as_str())
        .unwrap();
    assert_eq!(c["last_status"]["id"], dm["id"]);

    // Delete: gone from bob's list only.
    let r = srv
        .request(
            Method::DELETE,
            &format!("/api/v1/conversations/{bobs_id}"),
            Some(&bob.token),
            None,
        )
        .await
        .ok();
    assert_eq!(r, serde_json::json!({}));
    assert!(!ids(&conversations(&srv, &bob).await).contains(&bobs_id));
    assert!(ids(&conversations(&srv, &alice).await).contains(&alices_id));
    srv.request(
        Method::DELETE,
        &format!("/api/v1/conversations/{bobs_id}"),
        Some(&bob.token),
        None,
    )
    .await
    .expect(404);
    // Scopes.
    srv.get("/api/v1/conversations", None).await.expect(401);
    let reader = srv.password_token("alice", "read:statuses").await;
    srv.get("/api/v1/conversations", Some(&reader)).await.ok();
    srv.post(
        &format!("/api/v1/conversations/{alices_id}/read"),
        Some(&reader),
        &[],
    )
    .await
    .expect(403);
    srv.stop().await;
}

async fn direct_stream_gets_conversations(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let mut alice_direct = Sse::open(&srv, "/api/v1/streaming/direct", &alice.token, None).await;
    let mut bob_direct = Sse::open(&srv, "/api/v1/streaming/direct", &bob.token, None).await;
    let mut carol_direct = Sse::open(&srv, "/api/v1/streaming/direct", &carol.token, None).await;

    // Public and mention-only posts never reach the direct stream.
    srv.status(&alice, "@bob out in the open", &[]).await;
    let dm = srv
        .status(&alice, "@bob psst", &[("visibility", "direct")])
        .await;
    for (stream, unread, other) in [
        (&mut bob_direct, true, &alice),
        (&mut alice_direct, false, &bob),
    ] {
        let e = stream.next().await;
        assert_eq!(e.event, "conversation");
        assert!(e.id.is_some());
        let c: Value = serde_json::from_str(&e.data).unwrap();
        assert_eq!(c["unread"], unread);
        assert_eq!(account_ids(&c), vec![other.id.clone()]);
        assert_eq!(c["last_status"]["id"], dm["id"]);
        assert_eq!(c["last_status"]["visibility"], "direct");
        // The event's conversation is the listed one.
        let listed = srv
            .get(
                "/api/v1/conversations",
                Some(if unread { &bob.token } else { &alice.token }),
            )
            .await
            .ok();
        assert_eq!(listed[0]["id"], c["id"]);
    }
    // Carol, not a participant, got nothing.
    assert!(
        carol_direct
            .drain(Duration::from_millis(500))
            .await
            .is_empty()
    );
    // Nothing else on alice's or bob's direct stream (no update events).
    assert!(
        bob_direct
            .drain(Duration::from_millis(300))
            .await
            .is_empty()
    );

    // The direct stream needs a user token with read:statuses.
    let (_, _, app) = srv.app_token("read").await;
    let r = srv
        .http
        .get(format!("{}/api/v1/streaming/direct", srv.url))
        .bearer_auth(&app)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let notes_only = srv.password_token("alice", "read:notifications").await;
    let r = srv
        .http
        .get(format!("{}/api/v1/streaming/direct", srv.url))
        .bearer_auth(&notes_only)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    srv.stop().await;
}
