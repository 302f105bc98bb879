//! Posting, formatting, visibility, editing, deleting, threads, favourites, reblogs,
//! bookmarks and idempotency — each checked through the API and, where it matters, in
//! the stored activity and event log.

use serde_json::Value;

use crate::common::{Db, TestServer, ids};

db_tests!(
    post_formats_mentions_and_tags,
    visibility_rules,
    edit_history_and_source,
    delete_returns_source_and_tombstones,
    context_of_a_thread,
    context_shows_what_each_viewer_may_see,
    favourite_reblog_bookmark,
    idempotency_key_returns_the_first_post,
    every_write_is_an_activity_with_events,
);

async fn post_formats_mentions_and_tags(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let s = srv
        .status(
            &alice,
            "Hi @bob, see https://example.com/a-long-path/that-goes-on-and-on #Rust <b>x</b>",
            &[("language", "en")],
        )
        .await;
    let html = s["content"].as_str().unwrap();
    assert!(html.starts_with("<p>"), "{html}");
    assert!(html.contains("class=\"u-url mention\""), "{html}");
    assert!(
        html.contains(&format!("href=\"{}/@bob\"", srv.url)),
        "{html}"
    );
    assert!(
        html.contains("href=\"https://example.com/a-long-path/that-goes-on-and-on\""),
        "{html}"
    );
    assert!(html.contains(&format!("{}/tags/rust", srv.url)), "{html}");
    assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"), "{html}");
    assert_eq!(s["mentions"][0]["acct"], "bob");
    assert_eq!(s["mentions"][0]["id"], bob.id);
    assert_eq!(s["tags"][0]["name"], "rust");
    assert_eq!(s["language"], "en");
    assert_eq!(s["visibility"], "public");
    assert_eq!(s["application"]["name"], "test app");
    assert_eq!(s["account"]["acct"], "alice");
    assert_eq!(s["favourited"], false);
    assert_eq!(
        s["uri"].as_str().unwrap(),
        format!(
            "{}/users/alice/statuses/{}",
            srv.url,
            s["id"].as_str().unwrap()
        )
    );
    // Bob is notified of the mention.
    let n = srv
        .get("/api/v1/notifications", Some(&bob.token))
        .await
        .ok();
    assert_eq!(n[0]["type"], "mention");
    assert_eq!(n[0]["status"]["id"], s["id"]);
    assert_eq!(n[0]["account"]["id"], alice.id);
    // The tag timeline has it.
    let t = srv.get("/api/v1/timelines/tag/rust", None).await.ok();
    assert_eq!(ids(&t), vec![s["id"].as_str().unwrap().to_string()]);
    // Too long: 422 and nothing written.
    let before = srv.count("statuses").await;
    let long = "a".repeat(5001);
    let r = srv
        .post("/api/v1/statuses", Some(&alice.token), &[("status", &long)])
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("character limit")
    );
    srv.post("/api/v1/statuses", Some(&alice.token), &[("status", "   ")])
        .await
        .expect(422);
    assert_eq!(srv.count("statuses").await, before);
    srv.stop().await;
}

async fn visibility_rules(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    srv.post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    let private = srv
        .status(&alice, "followers only", &[("visibility", "private")])
        .await;
    let direct = srv
        .status(&alice, "@carol secret", &[("visibility", "direct")])
        .await;
    let unlisted = srv
        .status(&alice, "quiet", &[("visibility", "unlisted")])
        .await;
    let pid = private["id"].as_str().unwrap();
    let did = direct["id"].as_str().unwrap();
    // Followers see private posts; others and anonymous get 404.
    srv.get(&format!("/api/v1/statuses/{pid}"), Some(&bob.token))
        .await
        .ok();
    srv.get(&format!("/api/v1/statuses/{pid}"), Some(&carol.token))
        .await
        .expect(404);
    srv.get(&format!("/api/v1/statuses/{pid}"), None)
        .await
        .expect(404);
    // Direct: only the mentioned.
    srv.get(&format!("/api/v1/statuses/{did}"), Some(&carol.token))
        .await
        .ok();
    srv.get(&format!("/api/v1/statuses/{did}"), Some(&bob.token))
        .await
        .expect(404);
    // Public timeline: none of the three; account statuses: by viewer.
    let public = srv.get("/api/v1/timelines/public", None).await.ok();
    assert!(ids(&public).is_empty());
    let as_anon = ids(&srv
        .get(&format!("/api/v1/accounts/{}/statuses", alice.id), None)
        .await
        .ok());
    assert_eq!(as_anon, vec![unlisted["id"].as_str().unwrap().to_string()]);
    let as_bob = ids(&srv
        .get(
            &format!("/api/v1/accounts/{}/statuses", alice.id),
            Some(&bob.token),
        )
        .await
        .ok());
    assert_eq!(as_bob.len(), 2);
    let as_alice = ids(&srv
        .get(
            &format!("/api/v1/accounts/{}/statuses", alice.id),
            Some(&alice.token),
        )
        .await
        .ok());
    assert_eq!(as_alice.len(), 3);
    // Private posts cannot be reblogged by others; invalid visibility is 422.
    srv.post(
        &format!("/api/v1/statuses/{pid}/reblog"),
        Some(&bob.token),
        &[],
    )
    .await
    .expect(403);
    srv.post(
        "/api/v1/statuses",
        Some(&alice.token),
        &[("status", "x"), ("visibility", "secret")],
    )
    .await
    .expect(422);
    srv.stop().await;
}

async fn edit_history_and_source(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let s = srv.status(&alice, "first #one", &[]).await;
    let id = s["id"].as_str().unwrap();
    assert!(s["edited_at"].is_null());
    let r = srv
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/statuses/{id}"),
            Some(&alice.token),
            Some(crate::common::Body::Form(vec![
                ("status".into(), "second #two".into()),
                ("spoiler_text".into(), "cw".into()),
            ])),
        )
        .await
        .ok();
    assert!(r["content"].as_str().unwrap().contains("second"));
    assert!(r["edited_at"].is_string());
    assert_eq!(r["spoiler_text"], "cw");
    assert_eq!(r["sensitive"], true);
    assert_eq!(r["tags"][0]["name"], "two");
    assert_eq!(r["id"], s["id"]);
    let history = srv
        .get(&format!("/api/v1/statuses/{id}/history"), None)
        .await
        .ok();
    let versions = history.as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert!(versions[0]["content"].as_str().unwrap().contains("first"));
    assert!(versions[1]["content"].as_str().unwrap().contains("second"));
    let source = srv
        .get(&format!("/api/v1/statuses/{id}/source"), Some(&alice.token))
        .await
        .ok();
    assert_eq!(source["text"], "second #two");
    assert_eq!(source["spoiler_text"], "cw");
    // Someone else cannot edit or read the source.
    let r = srv
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/statuses/{id}"),
            Some(&bob.token),
            Some(crate::common::Body::Form(vec![(
                "status".into(),
                "hacked".into(),
            )])),
        )
        .await;
    assert_eq!(r.status, 404);
    srv.get(&format!("/api/v1/statuses/{id}/source"), Some(&bob.token))
        .await
        .expect(404);
    srv.stop().await;
}

async fn delete_returns_source_and_tombstones(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let s = srv.status(&alice, "to be deleted #gone", &[]).await;
    let id = s["id"].as_str().unwrap();
    srv.post(
        &format!("/api/v1/statuses/{id}/reblog"),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    srv.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/statuses/{id}"),
        Some(&bob.token),
        None,
    )
    .await
    .expect(404);
    let r = srv
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/statuses/{id}"),
            Some(&alice.token),
            None,
        )
        .await
        .ok();
    assert_eq!(r["text"], "to be deleted #gone");
    srv.get(&format!("/api/v1/statuses/{id}"), Some(&alice.token))
        .await
        .expect(404);
    // The reblog went with it, and the counters follow.
    assert_eq!(srv.count("statuses").await, 0);
    let me = srv
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .ok();
    assert_eq!(me["statuses_count"], 0);
    let bob_me = srv
        .get("/api/v1/accounts/verify_credentials", Some(&bob.token))
        .await
        .ok();
    assert_eq!(bob_me["statuses_count"], 0);
    assert_eq!(srv.count("tombstones").await, 1);
    srv.stop().await;
}

async fn context_of_a_thread(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let root = srv.status(&alice, "root", &[]).await;
    let rid = root["id"].as_str().unwrap().to_string();
    let r1 = srv
        .status(&bob, "@alice reply 1", &[("in_reply_to_id", &rid)])
        .await;
    let r1id = r1["id"].as_str().unwrap().to_string();
    let r2 = srv
        .status(&alice, "@bob reply 2", &[("in_reply_to_id", &r1id)])
        .await;
    let r3 = srv
        .status(
            &bob,
            "@alice another reply to root",
            &[("in_reply_to_id", &rid)],
        )
        .await;
    assert_eq!(r1["in_reply_to_id"], root["id"]);
    assert_eq!(r1["in_reply_to_account_id"], alice.id.as_str());
    let ctx = srv
        .get(&format!("/api/v1/statuses/{r1id}/context"), None)
        .await
        .ok();
    assert_eq!(ids(&ctx["ancestors"]), vec![rid.clone()]);
    assert_eq!(
        ids(&ctx["descendants"]),
        vec![r2["id"].as_str().unwrap().to_string()]
    );
    let ctx = srv
        .get(&format!("/api/v1/statuses/{rid}/context"), None)
        .await
        .ok();
    assert!(ctx["ancestors"].as_array().unwrap().is_empty());
    let expected: Vec<String> = [&r1, &r2, &r3]
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids(&ctx["descendants"]), expected);
    let root_now = srv.get(&format!("/api/v1/statuses/{rid}"), None).await.ok();
    assert_eq!(root_now["replies_count"], 2);
    // Replying to something you cannot see is 404.
    let carol = srv.user("carol").await;
    let private = srv
        .status(&alice, "private", &[("visibility", "private")])
        .await;
    srv.post(
        "/api/v1/statuses",
        Some(&carol.token),
        &[
            ("status", "hm"),
            ("in_reply_to_id", private["id"].as_str().unwrap()),
        ],
    )
    .await
    .expect(404);
    srv.stop().await;
}

/// A thread of every visibility, read by a viewer who follows one author and blocks
/// another, by its root's author and anonymously: each sees exactly what it may.
async fn context_shows_what_each_viewer_may_see(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let vera = srv.user("vera").await;
    let fay = srv.user("fay").await;
    let nora = srv.user("nora").await;
    let bert = srv.user("bert").await;
    srv.post(
        &format!("/api/v1/accounts/{}/follow", fay.id),
        Some(&vera.token),
        &[],
    )
    .await
    .ok();
    srv.post(
        &format!("/api/v1/accounts/{}/block", bert.id),
        Some(&vera.token),
        &[],
    )
    .await
    .ok();
    let id = |v: &Value| v["id"].as_str().unwrap().to_string();
    let reply = async |who: &crate::common::User, text: &str, to: &str, vis: &str| {
        id(&srv
            .status(who, text, &[("in_reply_to_id", to), ("visibility", vis)])
            .await)
    };
    // Ancestors: root <- a1 <- a2 <- a3 <- target.
    let root = id(&srv.status(&alice, "root", &[]).await);
    let a1 = reply(&nora, "unlisted", &root, "unlisted").await;
    let a2 = reply(&bert, "blocked by vera", &a1, "public").await;
    let a3 = reply(&nora, "@alice only", &a2, "direct").await;
    let target = reply(&alice, "@nora target", &a3, "public").await;
    // Descendants, each a reply to the target unless said.
    let public = reply(&nora, "public", &target, "public").await;
    let nested = reply(&fay, "followers of fay, under public", &public, "private").await;
    let unlisted = reply(&nora, "unlisted", &target, "unlisted").await;
    let followed_private = reply(&fay, "followers of fay", &target, "private").await;
    let private = reply(&nora, "followers of nora", &target, "private").await;
    let private_to_vera = reply(&nora, "@vera followers of nora", &target, "private").await;
    let direct_to_vera = reply(&nora, "@vera direct", &target, "direct").await;
    let direct = reply(&nora, "@alice direct", &target, "direct").await;
    let blocked = reply(&bert, "public, blocked", &target, "public").await;
    let own = reply(&vera, "vera's own, private", &target, "private").await;

    let context = async |token: Option<&str>| {
        let ctx = srv
            .get(&format!("/api/v1/statuses/{target}/context"), token)
            .await
            .ok();
        (ids(&ctx["ancestors"]), ids(&ctx["descendants"]))
    };
    let (anc, desc) = context(Some(&vera.token)).await;
    assert_eq!(anc, vec![root.clone(), a1.clone()]);
    assert_eq!(
        desc,
        vec![
            public.clone(),
            nested.clone(),
            unlisted.clone(),
            followed_private.clone(),
            private_to_vera.clone(),
            direct_to_vera.clone(),
            own.clone(),
        ]
    );
    let (anc, desc) = context(None).await;
    assert_eq!(anc, vec![root.clone(), a1.clone(), a2.clone()]);
    assert_eq!(
        desc,
        vec![public.clone(), unlisted.clone(), blocked.clone()]
    );
    // Alice is mentioned by a3 and by `direct`; she follows nobody.
    let (anc, desc) = context(Some(&alice.token)).await;
    assert_eq!(anc, vec![root.clone(), a1.clone(), a2.clone(), a3.clone()]);
    assert_eq!(
        desc,
        vec![
            public.clone(),
            unlisted.clone(),
            direct.clone(),
            blocked.clone()
        ]
    );
    // The context of what one may not see is not found.
    for hidden in [&private, &direct, &blocked] {
        srv.get(
            &format!("/api/v1/statuses/{hidden}/context"),
            Some(&vera.token),
        )
        .await
        .expect(404);
    }
    srv.get(&format!("/api/v1/statuses/{private}/context"), None)
        .await
        .expect(404);
    srv.stop().await;
}

async fn favourite_reblog_bookmark(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let s = srv.status(&alice, "like me", &[]).await;
    let id = s["id"].as_str().unwrap();
    let f = srv
        .post(
            &format!("/api/v1/statuses/{id}/favourite"),
            Some(&bob.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(f["favourited"], true);
    assert_eq!(f["favourites_count"], 1);
    // Twice is still once.
    let f = srv
        .post(
            &format!("/api/v1/statuses/{id}/favourite"),
            Some(&bob.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(f["favourites_count"], 1);
    let by = srv
        .get(&format!("/api/v1/statuses/{id}/favourited_by"), None)
        .await
        .ok();
    assert_eq!(ids(&by), vec![bob.id.clone()]);
    let favs = srv.get("/api/v1/favourites", Some(&bob.token)).await.ok();
    assert_eq!(ids(&favs), vec![id.to_string()]);
    let n = srv
        .get(
            "/api/v1/notifications?types[]=favourite",
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(n.as_array().unwrap().len(), 1);
    let f = srv
        .post(
            &format!("/api/v1/statuses/{id}/unfavourite"),
            Some(&bob.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(f["favourited"], false);
    assert_eq!(f["favourites_count"], 0);
    let n = srv
        .get(
            "/api/v1/notifications?types[]=favourite",
            Some(&alice.token),
        )
        .await
        .ok();
    assert!(
        n.as_array().unwrap().is_empty(),
        "undo removes the notification"
    );

    let rb = srv
        .post(
            &format!("/api/v1/statuses/{id}/reblog"),
            Some(&bob.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(rb["reblog"]["id"], s["id"]);
    assert_eq!(rb["reblog"]["reblogged"], true);
    assert_eq!(rb["reblog"]["reblogs_count"], 1);
    assert_eq!(rb["account"]["id"], bob.id.as_str());
    let by = srv
        .get(&format!("/api/v1/statuses/{id}/reblogged_by"), None)
        .await
        .ok();
    assert_eq!(ids(&by), vec![bob.id.clone()]);
    // Favouriting the reblog wrapper favourites the original.
    let rbid = rb["id"].as_str().unwrap();
    let f = srv
        .post(
            &format!("/api/v1/statuses/{rbid}/favourite"),
            Some(&alice.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(f["id"], s["id"]);
    let un = srv
        .post(
            &format!("/api/v1/statuses/{id}/unreblog"),
            Some(&bob.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(un["reblogged"], false);
    assert_eq!(un["reblogs_count"], 0);
    srv.get(&format!("/api/v1/statuses/{rbid}"), None)
        .await
        .expect(404);

    let b = srv
        .post(
            &format!("/api/v1/statuses/{id}/bookmark"),
            Some(&bob.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(b["bookmarked"], true);
    let list = srv.get("/api/v1/bookmarks", Some(&bob.token)).await.ok();
    assert_eq!(ids(&list), vec![id.to_string()]);
    let b = srv
        .post(
            &format!("/api/v1/statuses/{id}/unbookmark"),
            Some(&bob.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(b["bookmarked"], false);
    assert!(
        srv.get("/api/v1/bookmarks", Some(&bob.token))
            .await
            .ok()
            .as_array()
            .unwrap()
            .is_empty()
    );
    srv.stop().await;
}

async fn idempotency_key_returns_the_first_post(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let send = || async {
        srv.http
            .post(format!("{}/api/v1/statuses", srv.url))
            .bearer_auth(&alice.token)
            .header("Idempotency-Key", "abc-123")
            .form(&[("status", "only once")])
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let (a, b) = tokio::join!(send(), send());
    let c = send().await;
    assert_eq!(a["id"], b["id"]);
    assert_eq!(a["id"], c["id"]);
    assert_eq!(srv.count("statuses").await, 1);
    srv.stop().await;
}

async fn every_write_is_an_activity_with_events(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let store = &srv.store();
    let before = store.last_event_id().await.unwrap();
    let s = srv.status(&alice, "@bob hello #t", &[]).await;
    let id: i64 = s["id"].as_str().unwrap().parse().unwrap();
    srv.post(
        &format!("/api/v1/statuses/{id}/favourite"),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    srv.post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    let events = store.events_after(before, 100).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds[0], "update");
    assert_eq!(events[0].object_id, Some(id));
    let data: Value = serde_json::from_str(&events[0].data).unwrap();
    assert_eq!(data["visibility"], "public");
    assert_eq!(data["tags"][0], "t");
    assert!(
        kinds.iter().filter(|k| **k == "notification").count() >= 3,
        "{kinds:?}"
    ); // mention, favourite, follow
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    // The activities, with addressing.
    let q = sluice_store::Query::new(
        "SELECT count(*) AS v FROM activities WHERE kind = 'Create' AND to_json LIKE '%#Public%'",
    );
    assert_eq!(store.one::<sluice_store::Scalar>(q).await.unwrap().v, 1);
    for kind in ["Like", "Follow"] {
        let q = sluice_store::Query::new("SELECT count(*) AS v FROM activities WHERE kind = $1")
            .bind(kind);
        assert_eq!(
            store.one::<sluice_store::Scalar>(q).await.unwrap().v,
            1,
            "{kind}"
        );
    }
    srv.stop().await;
}
