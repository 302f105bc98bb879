//! Accounts: credentials, profiles, lookup, relationships, follows (and requests),
//! followers lists, search, notifications, markers and preferences.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Body, Db, TestServer, ids};

db_tests!(
    credentials_and_profile,
    follows_and_requests,
    notifications_and_markers,
    lookup_and_search
);

async fn credentials_and_profile(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let me = srv
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .ok();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["acct"], "alice");
    assert_eq!(me["source"]["privacy"], "public");
    assert_eq!(me["url"], format!("{}/@alice", srv.url));
    assert!(
        me["avatar"]
            .as_str()
            .unwrap()
            .ends_with("/avatars/original/missing.png")
    );
    assert!(
        me["created_at"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00.000Z")
    );
    let avatar = srv
        .http
        .get(me["avatar"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(avatar.headers()["content-type"], "image/png");
    let r = srv
        .update_credentials(
            &alice.token,
            &[
                ("display_name", "Alice A."),
                ("note", "I like #rust <script>x</script>"),
                ("locked", "true"),
                ("source[privacy]", "unlisted"),
                ("fields_attributes[0][name]", "site"),
                ("fields_attributes[0][value]", "https://alice.example"),
            ],
        )
        .await
        .ok();
    assert_eq!(r["display_name"], "Alice A.");
    assert_eq!(r["locked"], true);
    assert_eq!(r["source"]["privacy"], "unlisted");
    assert_eq!(r["source"]["note"], "I like #rust <script>x</script>");
    assert!(
        !r["note"].as_str().unwrap().contains("<script"),
        "{}",
        r["note"]
    );
    assert!(r["note"].as_str().unwrap().contains("hashtag"));
    assert_eq!(r["fields"][0]["name"], "site");
    // The default visibility applies to new posts.
    let s = srv.status(&alice, "default visibility", &[]).await;
    assert_eq!(s["visibility"], "unlisted");
    let prefs = srv
        .get("/api/v1/preferences", Some(&alice.token))
        .await
        .ok();
    assert_eq!(prefs["posting:default:visibility"], "unlisted");
    // Public view has no source.
    let public = srv
        .get(&format!("/api/v1/accounts/{}", alice.id), None)
        .await
        .ok();
    assert!(public.get("source").is_none());
    assert_eq!(public["statuses_count"], 1);
    assert!(public["last_status_at"].as_str().unwrap().len() == 10);
    // Too long display name: 422 and unchanged.
    let long = "x".repeat(31);
    let r = srv
        .update_credentials(&alice.token, &[("display_name", &long)])
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        srv.get(&format!("/api/v1/accounts/{}", alice.id), None)
            .await
            .ok()["display_name"],
        "Alice A."
    );
    // Profile fields as a form hash by index (in index order, not text order) or as a
    // JSON array give the same fields; blank ones are dropped.
    let names = |r: &Value| -> Vec<String> {
        r["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect()
    };
    let r = srv
        .update_credentials(
            &alice.token,
            &[
                ("fields_attributes[10][name]", "third"),
                ("fields_attributes[10][value]", "3"),
                ("fields_attributes[2][name]", "second"),
                ("fields_attributes[2][value]", "2"),
                ("fields_attributes[0][name]", "first"),
                ("fields_attributes[0][value]", "1"),
                ("fields_attributes[1][name]", ""),
                ("fields_attributes[1][value]", ""),
            ],
        )
        .await
        .ok();
    assert_eq!(names(&r), ["first", "second", "third"]);
    let patch_json = |v: Value| {
        srv.request(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&alice.token),
            Some(Body::Json(v)),
        )
    };
    let r = patch_json(json!({"fields_attributes": [
        {"name": "first", "value": "1"},
        {"name": "", "value": ""},
        {"name": "second", "value": 2}
    ]}))
    .await
    .ok();
    assert_eq!(names(&r), ["first", "second"]);
    // A field that is not a hash is refused, named; the fields stay.
    let r = patch_json(json!({"fields_attributes": ["site"]})).await;
    assert_eq!(r.status, 422);
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("fields_attributes[0]"),
        "{}",
        r.body
    );
    let me = srv
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .ok();
    assert_eq!(names(&me), ["first", "second"]);
    srv.stop().await;
}

async fn follows_and_requests(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let rel = srv
        .post(
            &format!("/api/v1/accounts/{}/follow", bob.id),
            Some(&alice.token),
            &[("reblogs", "false")],
        )
        .await
        .ok();
    assert_eq!(rel["following"], true);
    assert_eq!(rel["showing_reblogs"], false);
    srv.post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        Some(&alice.token),
        &[],
    )
    .await
    .expect(403);
    let followers = srv
        .get(&format!("/api/v1/accounts/{}/followers", bob.id), None)
        .await
        .ok();
    assert_eq!(ids(&followers), vec![alice.id.clone()]);
    let following = srv
        .get(&format!("/api/v1/accounts/{}/following", alice.id), None)
        .await
        .ok();
    assert_eq!(ids(&following), vec![bob.id.clone()]);
    let b = srv
        .get(&format!("/api/v1/accounts/{}", bob.id), None)
        .await
        .ok();
    assert_eq!(b["followers_count"], 1);
    let n = srv
        .get("/api/v1/notifications", Some(&bob.token))
        .await
        .ok();
    assert_eq!(n[0]["type"], "follow");
    let rel = srv
        .post(
            &format!("/api/v1/accounts/{}/unfollow", bob.id),
            Some(&alice.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(rel["following"], false);
    assert_eq!(
        srv.get(&format!("/api/v1/accounts/{}", bob.id), None)
            .await
            .ok()["followers_count"],
        0
    );

    // A locked account gets a request, which it can authorize or reject.
    srv.update_credentials(&carol.token, &[("locked", "1")])
        .await
        .ok();
    // alice asks without boosts and with the bell: the follow keeps both.
    let rel = srv
        .post(
            &format!("/api/v1/accounts/{}/follow", carol.id),
            Some(&alice.token),
            &[("reblogs", "false"), ("notify", "true")],
        )
        .await
        .ok();
    assert_eq!(rel["following"], false);
    assert_eq!(rel["requested"], true);
    srv.post(
        &format!("/api/v1/accounts/{}/follow", carol.id),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    let reqs = srv
        .get("/api/v1/follow_requests", Some(&carol.token))
        .await
        .ok();
    assert_eq!(ids(&reqs).len(), 2);
    let n = srv
        .get(
            "/api/v1/notifications?types[]=follow_request",
            Some(&carol.token),
        )
        .await
        .ok();
    assert_eq!(n.as_array().unwrap().len(), 2);
    let me = srv
        .get("/api/v1/accounts/verify_credentials", Some(&carol.token))
        .await
        .ok();
    assert_eq!(me["source"]["follow_requests_count"], 2);
    let rel = srv
        .post(
            &format!("/api/v1/follow_requests/{}/authorize", alice.id),
            Some(&carol.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(rel["followed_by"], true);
    let rel = srv
        .post(
            &format!("/api/v1/follow_requests/{}/reject", bob.id),
            Some(&carol.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(rel["followed_by"], false);
    assert_eq!(rel["requested_by"], false);
    assert!(
        ids(&srv
            .get("/api/v1/follow_requests", Some(&carol.token))
            .await
            .ok())
        .is_empty()
    );
    srv.post(
        &format!("/api/v1/follow_requests/{}/authorize", bob.id),
        Some(&carol.token),
        &[],
    )
    .await
    .expect(404);
    let rels = srv
        .get(
            &format!(
                "/api/v1/accounts/relationships?id[]={}&id[]={}",
                carol.id, bob.id
            ),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(rels[0]["id"], carol.id.as_str());
    assert_eq!(rels[0]["following"], true);
    assert_eq!(rels[0]["showing_reblogs"], false, "{rels}");
    assert_eq!(rels[0]["notifying"], true, "{rels}");
    assert_eq!(rels[1]["following"], false);
    srv.stop().await;
}

async fn notifications_and_markers(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let s = srv.status(&alice, "hello", &[]).await;
    let id = s["id"].as_str().unwrap();
    srv.post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    srv.post(
        &format!("/api/v1/statuses/{id}/favourite"),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    srv.post(
        &format!("/api/v1/statuses/{id}/reblog"),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    srv.status(&bob, "@alice hi", &[]).await;
    let all = srv
        .get("/api/v1/notifications", Some(&alice.token))
        .await
        .ok();
    let kinds: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["mention", "reblog", "favourite", "follow"]);
    assert!(
        all[0]["group_key"]
            .as_str()
            .unwrap()
            .starts_with("ungrouped-")
    );
    let only = srv
        .get(
            "/api/v1/notifications?types[]=reblog&types[]=follow",
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(only.as_array().unwrap().len(), 2);
    let excl = srv
        .get(
            "/api/v1/notifications?exclude_types[]=mention",
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(excl.as_array().unwrap().len(), 3);
    let first = all[0]["id"].as_str().unwrap();
    let one = srv
        .get(
            &format!("/api/v1/notifications/{first}"),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(one["type"], "mention");
    srv.get(&format!("/api/v1/notifications/{first}"), Some(&bob.token))
        .await
        .expect(404);
    srv.post(
        &format!("/api/v1/notifications/{first}/dismiss"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(
        srv.get("/api/v1/notifications", Some(&alice.token))
            .await
            .ok()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Markers.
    let m = srv
        .post(
            "/api/v1/markers",
            Some(&alice.token),
            &[("home[last_read_id]", id)],
        )
        .await
        .ok();
    assert_eq!(m["home"]["last_read_id"], id);
    assert_eq!(m["home"]["version"], 0);
    let m = srv
        .post_json(
            "/api/v1/markers",
            Some(&alice.token),
            serde_json::json!({"home": {"last_read_id": id}}),
        )
        .await
        .ok();
    assert_eq!(m["home"]["version"], 1);
    let got = srv
        .get(
            "/api/v1/markers?timeline[]=home&timeline[]=notifications",
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(got["home"]["last_read_id"], id);
    assert!(got.get("notifications").is_none());
    srv.post("/api/v1/notifications/clear", Some(&alice.token), &[])
        .await
        .ok();
    assert!(
        srv.get("/api/v1/notifications", Some(&alice.token))
            .await
            .ok()
            .as_array()
            .unwrap()
            .is_empty()
    );
    srv.stop().await;
}

async fn lookup_and_search(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    srv.user("alicia").await;
    srv.user("bob").await;
    let a = srv
        .get("/api/v1/accounts/lookup?acct=ALICE", None)
        .await
        .ok();
    assert_eq!(a["id"], alice.id.as_str());
    let domain = srv.url.trim_start_matches("http://").to_string();
    let a = srv
        .get(
            &format!("/api/v1/accounts/lookup?acct=alice@{domain}"),
            None,
        )
        .await
        .ok();
    assert_eq!(a["id"], alice.id.as_str());
    srv.get("/api/v1/accounts/lookup?acct=nobody", None)
        .await
        .expect(404);
    let found = srv
        .get("/api/v1/accounts/search?q=ali", Some(&alice.token))
        .await
        .ok();
    let mut names: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["alice", "alicia"]);
    // LIKE wildcards are literal.
    assert!(
        srv.get("/api/v1/accounts/search?q=%25", Some(&alice.token))
            .await
            .ok()
            .as_array()
            .unwrap()
            .is_empty()
    );
    let v2 = srv
        .get("/api/v2/search?q=alic&type=accounts", Some(&alice.token))
        .await
        .ok();
    assert_eq!(v2["accounts"].as_array().unwrap().len(), 2);
    assert!(v2["statuses"].as_array().unwrap().is_empty());
    // Visitors search accounts too (as Mastodon), but may not page.
    let visitor = srv.get("/api/v2/search?q=alic", None).await.ok();
    assert_eq!(visitor["accounts"].as_array().unwrap().len(), 2);
    srv.get("/api/v2/search?q=alic&offset=1", None)
        .await
        .expect(401);
    // Start-up calls of common apps answer, with Mastodon's scope rules.
    for path in [
        "/api/v1/lists",
        "/api/v2/filters",
        "/api/v1/announcements",
        "/api/v1/followed_tags",
    ] {
        assert!(
            srv.get(path, Some(&alice.token))
                .await
                .ok()
                .as_array()
                .unwrap()
                .is_empty(),
            "{path}"
        );
        srv.get(path, None).await.expect(401);
    }
    srv.get("/api/v1/accounts/999999", None).await.expect(404);
    srv.get("/api/v1/accounts/not-an-id", None)
        .await
        .expect(404);
    srv.stop().await;
}
