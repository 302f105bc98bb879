//! Pinned statuses through the Mastodon API (`/pin`, `/unpin`, `pinned=true`, the
//! `pinned` flag) and the featured collection other servers read.

use std::time::Duration;

use serde_json::Value;

use crate::common::{Db, TestServer, User, ids};

db_tests!(
    pin_and_unpin_own_public_posts,
    pins_are_limited_to_own_posts_not_direct,
    pinned_listing_respects_blocks_and_deletes,
    featured_collection_and_replaced_pins
);

async fn pin(srv: &TestServer, user: &User, id: &str) -> crate::common::Resp {
    srv.post(
        &format!("/api/v1/statuses/{id}/pin"),
        Some(&user.token),
        &[],
    )
    .await
}

async fn unpin(srv: &TestServer, user: &User, id: &str) -> crate::common::Resp {
    srv.post(
        &format!("/api/v1/statuses/{id}/unpin"),
        Some(&user.token),
        &[],
    )
    .await
}

/// `GET /api/v1/accounts/:id/statuses?pinned=true` as `viewer` (None: anonymous).
async fn pinned_ids(srv: &TestServer, account: &str, viewer: Option<&User>) -> Vec<String> {
    let list = srv
        .get(
            &format!("/api/v1/accounts/{account}/statuses?pinned=true"),
            viewer.map(|v| v.token.as_str()),
        )
        .await
        .ok();
    ids(&list)
}

fn id(status: &Value) -> String {
    status["id"].as_str().unwrap().to_string()
}

/// Pin times are milliseconds: a short pause keeps "pinned later" unambiguous.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

async fn pin_and_unpin_own_public_posts(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let first = id(&srv.status(&alice, "first", &[]).await);
    let second = id(&srv
        .status(&alice, "second", &[("visibility", "unlisted")])
        .await);
    let third = id(&srv.status(&alice, "third", &[]).await);

    // Pinning answers with the status, pinned; pinning it again is fine.
    let s = pin(&srv, &alice, &second).await.ok();
    assert_eq!(s["id"], second.as_str());
    assert_eq!(s["pinned"], true);
    assert_eq!(pin(&srv, &alice, &second).await.ok()["pinned"], true);
    assert_eq!(
        srv.store()
            .count_pins(alice.id.parse().unwrap())
            .await
            .unwrap(),
        1
    );
    tick().await;
    pin(&srv, &alice, &first).await.ok();

    // `pinned` is the author's flag: true for alice, absent for others.
    let own = srv
        .get(&format!("/api/v1/statuses/{first}"), Some(&alice.token))
        .await
        .ok();
    assert_eq!(own["pinned"], true);
    let unpinned = srv
        .get(&format!("/api/v1/statuses/{third}"), Some(&alice.token))
        .await
        .ok();
    assert_eq!(unpinned["pinned"], false);
    let theirs = srv
        .get(&format!("/api/v1/statuses/{first}"), Some(&bob.token))
        .await
        .ok();
    assert!(theirs.get("pinned").is_none(), "{theirs}");
    let anonymous = srv
        .get(&format!("/api/v1/statuses/{first}"), None)
        .await
        .ok();
    assert!(anonymous.get("pinned").is_none(), "{anonymous}");
    // Timelines carry the flag too.
    let mine = srv
        .get(
            &format!("/api/v1/accounts/{}/statuses", alice.id),
            Some(&alice.token),
        )
        .await
        .ok();
    let flags: Vec<(String, bool)> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (id(s), s["pinned"] == true))
        .collect();
    assert_eq!(
        flags,
        vec![
            (third.clone(), false),
            (second.clone(), true),
            (first.clone(), true)
        ]
    );

    // The profile's pins: most recently pinned first (not by id), for everyone.
    assert_eq!(
        pinned_ids(&srv, &alice.id, None).await,
        vec![first.clone(), second.clone()]
    );
    assert_eq!(
        pinned_ids(&srv, &alice.id, Some(&bob)).await,
        vec![first.clone(), second.clone()]
    );
    let listed = srv
        .get(
            &format!("/api/v1/accounts/{}/statuses?pinned=true", alice.id),
            Some(&alice.token),
        )
        .await;
    assert_eq!(listed.link(), "", "pins are one unpaged list");
    assert!(
        listed
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["pinned"] == true)
    );

    // Unpinning answers with the status, unpinned; unpinning again is fine.
    let s = unpin(&srv, &alice, &first).await.ok();
    assert_eq!(s["pinned"], false);
    assert_eq!(unpin(&srv, &alice, &first).await.ok()["pinned"], false);
    assert_eq!(
        pinned_ids(&srv, &alice.id, None).await,
        vec![second.clone()]
    );

    // Each change is an activity to the featured collection, as followers get it.
    let me = format!("{}/users/alice", srv.url);
    let kinds = srv
        .engine()
        .store_for_tests()
        .all::<sluice_store::TextScalar>(sluice_store::Query::new(
            "SELECT json AS v FROM activities WHERE kind IN ('Add', 'Remove') ORDER BY id",
        ))
        .await
        .unwrap();
    let docs: Vec<Value> = kinds
        .iter()
        .map(|r| serde_json::from_str(r.v.as_deref().unwrap()).unwrap())
        .collect();
    let shapes: Vec<&str> = docs.iter().map(|d| d["type"].as_str().unwrap()).collect();
    assert_eq!(shapes, vec!["Add", "Add", "Remove"], "one per change");
    for d in &docs {
        assert_eq!(d["actor"], me.as_str());
        assert_eq!(d["target"], format!("{me}/collections/featured"));
        assert!(d["object"].as_str().unwrap().starts_with(&me), "{d}");
    }

    // Pins are part of the profile: Mastodon's scope is write:accounts.
    let reader = srv.user_with_scopes("carol", "read").await;
    let carols = id(&srv.status(&alice, "carol cannot pin this", &[]).await);
    pin(&srv, &reader, &carols).await.expect(403);
    let writer = User {
        id: alice.id.clone(),
        token: srv.password_token("alice", "write:accounts").await,
    };
    assert_eq!(pin(&srv, &writer, &third).await.ok()["id"], third.as_str());
    srv.stop().await;
}

async fn pins_are_limited_to_own_posts_not_direct(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let mut posts = Vec::new();
    for i in 0..6 {
        posts.push(id(&srv.status(&alice, &format!("post {i}"), &[]).await));
    }
    for p in &posts[..5] {
        pin(&srv, &alice, p).await.ok();
    }
    // At most five, with Mastodon's message; pinning one of them again still works.
    let full = pin(&srv, &alice, &posts[5]).await.expect(422);
    assert_eq!(
        full["error"],
        "Validation failed: You have already pinned the maximum number of posts"
    );
    pin(&srv, &alice, &posts[4]).await.ok();
    unpin(&srv, &alice, &posts[0]).await.ok();
    pin(&srv, &alice, &posts[5]).await.ok();
    assert_eq!(
        srv.store()
            .count_pins(alice.id.parse().unwrap())
            .await
            .unwrap(),
        5
    );

    // Followers-only posts may be pinned (as on Mastodon); shown in the pinned
    // listing only to those who may see them. Direct posts may not.
    let private = id(&srv
        .status(&alice, "followers only", &[("visibility", "private")])
        .await);
    unpin(&srv, &alice, &posts[1]).await.ok();
    assert_eq!(pin(&srv, &alice, &private).await.ok()["pinned"], true);
    assert!(
        pinned_ids(&srv, &alice.id, Some(&alice))
            .await
            .contains(&private)
    );
    assert!(
        !pinned_ids(&srv, &alice.id, Some(&bob))
            .await
            .contains(&private)
    );
    assert!(!pinned_ids(&srv, &alice.id, None).await.contains(&private));
    let direct = id(&srv
        .status(&alice, "@bob just us", &[("visibility", "direct")])
        .await);
    let e = pin(&srv, &alice, &direct).await.expect(422);
    assert_eq!(
        e["error"],
        "Validation failed: Posts that are only visible to mentioned users cannot be pinned"
    );

    // Only one's own: someone else's post is refused, a boost too, and a post one
    // cannot see does not exist.
    let e = pin(&srv, &bob, &posts[1]).await.expect(422);
    assert_eq!(
        e["error"],
        "Validation failed: Someone else's post cannot be pinned"
    );
    let boost = srv
        .post(
            &format!("/api/v1/statuses/{}/reblog", posts[1]),
            Some(&bob.token),
            &[],
        )
        .await
        .ok();
    let e = pin(&srv, &bob, &id(&boost)).await.expect(422);
    assert_eq!(e["error"], "Validation failed: A boost cannot be pinned");
    pin(&srv, &bob, &private).await.expect(404);
    unpin(&srv, &bob, &private).await.expect(404);
    pin(&srv, &alice, "12345").await.expect(404);
    srv.post(&format!("/api/v1/statuses/{}/pin", posts[1]), None, &[])
        .await
        .expect(401);
    // Nothing of that changed bob's or alice's pins.
    assert!(pinned_ids(&srv, &bob.id, None).await.is_empty());
    assert_eq!(pinned_ids(&srv, &alice.id, Some(&alice)).await.len(), 5);
    assert_eq!(
        pinned_ids(&srv, &alice.id, None).await.len(),
        4,
        "the followers-only pin is not shown to anonymous readers"
    );
    srv.stop().await;
}

async fn pinned_listing_respects_blocks_and_deletes(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let keep = id(&srv.status(&alice, "keep me", &[]).await);
    let doomed = id(&srv.status(&alice, "delete me", &[]).await);
    let reply = id(&srv
        .status(
            &alice,
            "a reply to myself",
            &[("in_reply_to_id", keep.as_str())],
        )
        .await);
    for p in [&keep, &doomed, &reply] {
        pin(&srv, &alice, p).await.ok();
        tick().await;
    }
    assert_eq!(
        pinned_ids(&srv, &alice.id, Some(&bob)).await,
        vec![reply.clone(), doomed.clone(), keep.clone()]
    );
    // The endpoint's other filters still apply.
    let no_replies = srv
        .get(
            &format!(
                "/api/v1/accounts/{}/statuses?pinned=true&exclude_replies=true",
                alice.id
            ),
            None,
        )
        .await
        .ok();
    assert_eq!(
        ids(&no_replies),
        vec![reply.clone(), doomed.clone(), keep.clone()]
    );
    let limited = srv
        .get(
            &format!("/api/v1/accounts/{}/statuses?pinned=true&limit=2", alice.id),
            None,
        )
        .await
        .ok();
    assert_eq!(ids(&limited), vec![reply.clone(), doomed.clone()]);

    // Deleting a post removes its pin.
    srv.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/statuses/{doomed}"),
        Some(&alice.token),
        None,
    )
    .await
    .ok();
    assert_eq!(
        pinned_ids(&srv, &alice.id, None).await,
        vec![reply.clone(), keep.clone()]
    );
    assert_eq!(
        srv.store()
            .count_pins(alice.id.parse().unwrap())
            .await
            .unwrap(),
        2
    );
    assert_eq!(srv.count("pins").await, 2);

    // A block hides the pins in both directions, like the rest of the profile.
    srv.post(
        &format!("/api/v1/accounts/{}/block", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    assert!(pinned_ids(&srv, &alice.id, Some(&bob)).await.is_empty());
    assert!(pinned_ids(&srv, &bob.id, Some(&alice)).await.is_empty());
    assert_eq!(pinned_ids(&srv, &alice.id, None).await.len(), 2);
    srv.stop().await;
}

async fn featured_collection_and_replaced_pins(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let older = srv.status(&alice, "older pin", &[]).await;
    let newer = srv
        .status(&alice, "newer pin #tagged", &[("visibility", "unlisted")])
        .await;
    let loose = srv.status(&alice, "not pinned", &[]).await;
    pin(&srv, &alice, &id(&older)).await.ok();
    tick().await;
    pin(&srv, &alice, &id(&newer)).await.ok();

    let featured = |srv: &TestServer| {
        let request = srv
            .http
            .get(format!("{}/users/alice/collections/featured", srv.url))
            .header("accept", "application/activity+json");
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let doc = featured(&srv).await;
    assert_eq!(doc["type"], "OrderedCollection");
    assert_eq!(
        doc["id"],
        format!("{}/users/alice/collections/featured", srv.url)
    );
    assert_eq!(doc["totalItems"], 2);
    let items = doc["orderedItems"].as_array().unwrap();
    let uris: Vec<&str> = items.iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(
        uris,
        vec![
            newer["uri"].as_str().unwrap(),
            older["uri"].as_str().unwrap()
        ]
    );
    // Embedded Notes, as federated (no @context of their own).
    assert_eq!(items[0]["type"], "Note");
    assert!(items[0]["content"].as_str().unwrap().contains("newer pin"));
    assert_eq!(items[0]["attributedTo"], format!("{}/users/alice", srv.url));
    assert!(items[0].get("@context").is_none());
    assert_eq!(
        items[1]["to"][0],
        "https://www.w3.org/ns/activitystreams#Public"
    );

    // A remote featured collection replaces an account's pins as a whole, in its
    // order (first = newest); the store does that in one transaction.
    let store = &srv.store();
    let account: i64 = alice.id.parse().unwrap();
    let now = sluice_model::id::now_millis();
    let mut tx = store.begin().await.unwrap();
    tx.replace_pins(
        account,
        &[id(&older).parse().unwrap(), id(&loose).parse().unwrap()],
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.count_pins(account).await.unwrap(), 2);
    assert_eq!(
        pinned_ids(&srv, &alice.id, None).await,
        vec![id(&older), id(&loose)]
    );
    let mut tx = store.begin().await.unwrap();
    tx.replace_pins(account, &[], now).await.unwrap();
    tx.commit().await.unwrap();
    assert!(pinned_ids(&srv, &alice.id, None).await.is_empty());
    assert_eq!(featured(&srv).await["totalItems"], 0);
    srv.stop().await;
}
