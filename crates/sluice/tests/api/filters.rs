//! Keyword filters through the Mastodon API: v2 CRUD with `keywords_attributes`, the
//! keywords and statuses sub-resources, the v1 view (one filter per keyword), 422s and
//! limits, the `filtered` array and `hide` in each context, expiry, and streaming
//! (`filters_changed`, hidden and warned posts per connection).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Body, Db, Resp, TestServer, User, ids};
use crate::streaming::Sse;

db_tests!(
    filter_crud_v2,
    filter_crud_v1,
    bad_filter_input_is_refused,
    filters_apply_per_context,
    filters_expire_and_name_statuses,
    streaming_applies_filters
);

async fn put(srv: &TestServer, path: &str, token: &str, form: &[(&str, &str)]) -> Resp {
    let pairs = form
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    srv.request(Method::PUT, path, Some(token), Some(Body::Form(pairs)))
        .await
}

async fn delete(srv: &TestServer, path: &str, token: &str) -> Resp {
    srv.request(Method::DELETE, path, Some(token), None).await
}

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

/// Creates a v2 filter from JSON and returns it.
async fn filter(srv: &TestServer, user: &User, body: Value) -> Value {
    srv.post_json("/api/v2/filters", Some(&user.token), body)
        .await
        .ok()
}

async fn filter_crud_v2(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    assert_eq!(
        srv.get("/api/v2/filters", Some(&alice.token)).await.ok(),
        json!([])
    );
    // Form-encoded, Rails style, as most apps send it.
    let f = srv
        .post(
            "/api/v2/filters",
            Some(&alice.token),
            &[
                ("title", "Sports"),
                ("context[]", "home"),
                ("context[]", "public"),
                ("filter_action", "warn"),
                ("keywords_attributes[][keyword]", "football"),
                ("keywords_attributes[][whole_word]", "false"),
                ("keywords_attributes[][keyword]", "Cricket"),
            ],
        )
        .await
        .ok();
    assert_eq!(f["title"], "Sports");
    assert_eq!(f["context"], json!(["home", "public"]));
    assert_eq!(f["filter_action"], "warn");
    assert_eq!(f["expires_at"], Value::Null);
    assert_eq!(f["statuses"], json!([]));
    let kws = f["keywords"].as_array().unwrap();
    assert_eq!(kws.len(), 2);
    assert_eq!(kws[0]["keyword"], "football");
    assert_eq!(kws[0]["whole_word"], false);
    assert_eq!(kws[1]["keyword"], "Cricket");
    assert_eq!(kws[1]["whole_word"], true);
    let fid = s(&f["id"]);
    let football = s(&kws[0]["id"]);
    let cricket = s(&kws[1]["id"]);

    // Show and list; another user sees nothing of it.
    let shown = srv
        .get(&format!("/api/v2/filters/{fid}"), Some(&alice.token))
        .await
        .ok();
    assert_eq!(shown, f);
    assert_eq!(
        ids(&srv.get("/api/v2/filters", Some(&alice.token)).await.ok()),
        vec![fid.clone()]
    );
    srv.get(&format!("/api/v2/filters/{fid}"), Some(&bob.token))
        .await
        .expect(404);
    delete(&srv, &format!("/api/v2/filters/{fid}"), &bob.token)
        .await
        .expect(404);
    srv.get(
        &format!("/api/v2/filters/keywords/{football}"),
        Some(&bob.token),
    )
    .await
    .expect(404);

    // Update: title, action, context; keywords changed, added and destroyed.
    let updated = srv
        .request(
            Method::PUT,
            &format!("/api/v2/filters/{fid}"),
            Some(&alice.token),
            Some(Body::Json(json!({
                "title": "Ball games",
                "filter_action": "hide",
                "context": ["thread"],
                "keywords_attributes": [
                    {"id": football, "keyword": "soccer", "whole_word": true},
                    {"id": cricket, "_destroy": true},
                    {"keyword": "rugby"}
                ]
            }))),
        )
        .await
        .ok();
    assert_eq!(updated["title"], "Ball games");
    assert_eq!(updated["filter_action"], "hide");
    assert_eq!(updated["context"], json!(["thread"]));
    let words: Vec<(String, bool)> = updated["keywords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (s(&k["keyword"]), k["whole_word"] == true))
        .collect();
    assert_eq!(words, vec![("soccer".into(), true), ("rugby".into(), true)]);
    assert_eq!(updated["keywords"][0]["id"], football.as_str());

    // Keywords sub-resource.
    let k = srv
        .post(
            &format!("/api/v2/filters/{fid}/keywords"),
            Some(&alice.token),
            &[("keyword", "golf"), ("whole_word", "false")],
        )
        .await
        .ok();
    assert_eq!(k["keyword"], "golf");
    assert_eq!(k["whole_word"], false);
    let kid = s(&k["id"]);
    let list = srv
        .get(
            &format!("/api/v2/filters/{fid}/keywords"),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(list.as_array().unwrap().len(), 3);
    let k = put(
        &srv,
        &format!("/api/v2/filters/keywords/{kid}"),
        &alice.token,
        &[("keyword", "minigolf")],
    )
    .await
    .ok();
    assert_eq!(k["keyword"], "minigolf");
    assert_eq!(k["whole_word"], false);
    assert_eq!(
        srv.get(
            &format!("/api/v2/filters/keywords/{kid}"),
            Some(&alice.token)
        )
        .await
        .ok()["keyword"],
        "minigolf"
    );
    assert_eq!(
        delete(
            &srv,
            &format!("/api/v2/filters/keywords/{kid}"),
            &alice.token
        )
        .await
        .ok(),
        json!({})
    );
    srv.get(
        &format!("/api/v2/filters/keywords/{kid}"),
        Some(&alice.token),
    )
    .await
    .expect(404);

    // Statuses sub-resource: only statuses the user can see.
    let post = srv.status(&bob, "a post to filter", &[]).await;
    let fs = srv
        .post(
            &format!("/api/v2/filters/{fid}/statuses"),
            Some(&alice.token),
            &[("status_id", post["id"].as_str().unwrap())],
        )
        .await
        .ok();
    assert_eq!(fs["status_id"], post["id"]);
    let fsid = s(&fs["id"]);
    srv.post(
        &format!("/api/v2/filters/{fid}/statuses"),
        Some(&alice.token),
        &[("status_id", post["id"].as_str().unwrap())],
    )
    .await
    .expect(422);
    srv.user("carol").await;
    let hidden = srv
        .status(&bob, "@carol only for carol", &[("visibility", "direct")])
        .await;
    srv.post(
        &format!("/api/v2/filters/{fid}/statuses"),
        Some(&alice.token),
        &[("status_id", hidden["id"].as_str().unwrap())],
    )
    .await
    .expect(404);
    assert_eq!(
        ids(&srv
            .get(
                &format!("/api/v2/filters/{fid}/statuses"),
                Some(&alice.token)
            )
            .await
            .ok()),
        vec![fsid.clone()]
    );
    assert_eq!(
        srv.get(
            &format!("/api/v2/filters/statuses/{fsid}"),
            Some(&alice.token)
        )
        .await
        .ok()["status_id"],
        post["id"]
    );
    assert_eq!(
        srv.get(&format!("/api/v2/filters/{fid}"), Some(&alice.token))
            .await
            .ok()["statuses"][0]["id"],
        fsid.as_str()
    );
    delete(
        &srv,
        &format!("/api/v2/filters/statuses/{fsid}"),
        &alice.token,
    )
    .await
    .ok();
    srv.get(
        &format!("/api/v2/filters/statuses/{fsid}"),
        Some(&alice.token),
    )
    .await
    .expect(404);

    // Delete: gone with its keywords.
    assert_eq!(
        delete(&srv, &format!("/api/v2/filters/{fid}"), &alice.token)
            .await
            .ok(),
        json!({})
    );
    srv.get(&format!("/api/v2/filters/{fid}"), Some(&alice.token))
        .await
        .expect(404);
    srv.get(
        &format!("/api/v2/filters/keywords/{football}"),
        Some(&alice.token),
    )
    .await
    .expect(404);
    assert_eq!(srv.count("filter_keywords").await, 0);

    // Scopes: read:filters to read, write:filters to write.
    let reader = srv.password_token("alice", "read:filters").await;
    srv.get("/api/v2/filters", Some(&reader)).await.ok();
    srv.post_json(
        "/api/v2/filters",
        Some(&reader),
        json!({"title": "x", "context": ["home"]}),
    )
    .await
    .expect(403);
    let statuses_only = srv.password_token("alice", "read:statuses").await;
    srv.get("/api/v2/filters", Some(&statuses_only))
        .await
        .expect(403);
    srv.get("/api/v2/filters", None).await.expect(401);
    srv.stop().await;
}

async fn filter_crud_v1(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let v1 = srv
        .post(
            "/api/v1/filters",
            Some(&alice.token),
            &[
                ("phrase", "Election"),
                ("context[]", "home"),
                ("context[]", "notifications"),
                ("whole_word", "true"),
            ],
        )
        .await
        .ok();
    assert_eq!(v1["phrase"], "Election");
    assert_eq!(v1["context"], json!(["home", "notifications"]));
    assert_eq!(v1["irreversible"], false);
    assert_eq!(v1["whole_word"], true);
    assert_eq!(v1["expires_at"], Value::Null);
    let id = s(&v1["id"]);
    // It is a v2 filter titled by the phrase, with that one keyword (the v1 id).
    let v2 = srv.get("/api/v2/filters", Some(&alice.token)).await.ok();
    assert_eq!(v2[0]["title"], "Election");
    assert_eq!(v2[0]["filter_action"], "warn");
    assert_eq!(v2[0]["keywords"][0]["id"], id.as_str());
    // A v2 filter with two keywords is two v1 filters.
    filter(
        &srv,
        &alice,
        json!({"title": "Two", "context": ["public"], "filter_action": "hide",
               "keywords_attributes": [{"keyword": "one"}, {"keyword": "two", "whole_word": false}]}),
    )
    .await;
    let list = srv.get("/api/v1/filters", Some(&alice.token)).await.ok();
    let phrases: Vec<(String, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (s(&f["phrase"]), f["irreversible"] == true))
        .collect();
    assert_eq!(
        phrases,
        vec![
            ("Election".into(), false),
            ("one".into(), true),
            ("two".into(), true)
        ]
    );
    // Update: phrase, irreversible (hide), expiry.
    let changed = put(
        &srv,
        &format!("/api/v1/filters/{id}"),
        &alice.token,
        &[
            ("phrase", "Elections"),
            ("irreversible", "true"),
            ("expires_in", "3600"),
        ],
    )
    .await
    .ok();
    assert_eq!(changed["phrase"], "Elections");
    assert_eq!(changed["irreversible"], true);
    assert!(changed["expires_at"].is_string(), "{changed}");
    assert_eq!(
        srv.get(&format!("/api/v1/filters/{id}"), Some(&alice.token))
            .await
            .ok(),
        changed
    );
    // Delete: the keyword, and its filter with it (it had no other).
    assert_eq!(
        delete(&srv, &format!("/api/v1/filters/{id}"), &alice.token)
            .await
            .ok(),
        json!({})
    );
    srv.get(&format!("/api/v1/filters/{id}"), Some(&alice.token))
        .await
        .expect(404);
    let v2 = srv.get("/api/v2/filters", Some(&alice.token)).await.ok();
    assert_eq!(v2.as_array().unwrap().len(), 1);
    assert_eq!(v2[0]["title"], "Two");
    // Bad input.
    srv.post(
        "/api/v1/filters",
        Some(&alice.token),
        &[("phrase", ""), ("context[]", "home")],
    )
    .await
    .expect(422);
    srv.post(
        "/api/v1/filters",
        Some(&alice.token),
        &[("phrase", "x"), ("context[]", "everywhere")],
    )
    .await
    .expect(422);
    srv.stop().await;
}

async fn bad_filter_input_is_refused(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bad = [
        json!({"context": ["home"]}),
        json!({"title": "  ", "context": ["home"]}),
        json!({"title": "t"}),
        json!({"title": "t", "context": []}),
        json!({"title": "t", "context": ["home", "nowhere"]}),
        json!({"title": "t", "context": ["home"], "filter_action": "delete"}),
        json!({"title": "t", "context": ["home"], "expires_in": -5}),
        json!({"title": "t", "context": ["home"], "expires_in": "soon"}),
        json!({"title": "t".repeat(300), "context": ["home"]}),
        json!({"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": ""}]}),
        json!({"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": "k".repeat(201)}]}),
        json!({"title": "t", "context": ["home"], "keywords_attributes": "nope"}),
        json!({"title": "t", "context": ["home"],
               "keywords_attributes": (0..101).map(|i| json!({"keyword": format!("k{i}")})).collect::<Vec<_>>()}),
    ];
    for body in bad {
        let r = srv
            .post_json("/api/v2/filters", Some(&alice.token), body.clone())
            .await;
        assert_eq!(r.status.as_u16(), 422, "{body}: {}", r.text);
        assert!(r.body["error"].is_string(), "{}", r.text);
    }
    // Nothing was written by the refused requests.
    assert_eq!(srv.count("filters").await, 0);
    assert_eq!(srv.count("filter_keywords").await, 0);

    let f = filter(&srv, &alice, json!({"title": "t", "context": ["home"]})).await;
    let fid = s(&f["id"]);
    srv.post(
        &format!("/api/v2/filters/{fid}/keywords"),
        Some(&alice.token),
        &[("keyword", "   ")],
    )
    .await
    .expect(422);
    srv.post(
        &format!("/api/v2/filters/{fid}/statuses"),
        Some(&alice.token),
        &[],
    )
    .await
    .expect(422);
    put(
        &srv,
        &format!("/api/v2/filters/{fid}"),
        &alice.token,
        &[("context[]", "bogus")],
    )
    .await
    .expect(422);
    srv.get("/api/v2/filters/abc", Some(&alice.token))
        .await
        .expect(404);

    // At most MAX_FILTERS filters per user.
    let max = sluice_engine::filters::MAX_FILTERS;
    for i in 1..max {
        filter(
            &srv,
            &alice,
            json!({"title": format!("f{i}"), "context": ["home"]}),
        )
        .await;
    }
    let r = srv
        .post_json(
            "/api/v2/filters",
            Some(&alice.token),
            json!({"title": "one too many", "context": ["home"]}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.text);
    assert_eq!(srv.count("filters").await, max);
    srv.stop().await;
}

/// The statuses of a list by their text (`content` is `<p>text</p>`).
fn by_text<'a>(list: &'a Value, text: &str) -> Option<&'a Value> {
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["content"].as_str().unwrap_or("").contains(text))
}

async fn filters_apply_per_context(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    for u in [&alice, &carol] {
        srv.post(
            &format!("/api/v1/accounts/{}/follow", bob.id),
            Some(&u.token),
            &[],
        )
        .await
        .ok();
    }
    let warn = filter(
        &srv,
        &alice,
        json!({"title": "Rust talk", "context": ["home", "thread", "account"],
               "keywords_attributes": [{"keyword": "rust", "whole_word": true}]}),
    )
    .await;
    filter(
        &srv,
        &alice,
        json!({"title": "No spoilers", "context": ["home", "public", "notifications"],
               "filter_action": "hide",
               "keywords_attributes": [{"keyword": "spoiler"}]}),
    )
    .await;
    let rusty = srv.status(&bob, "I love RUST so much", &[]).await;
    let spoiler = srv
        .status(&bob, "the end", &[("spoiler_text", "Spoiler: finale")])
        .await;
    srv.status(&bob, "nothing to see, rusty trombones", &[])
        .await;

    // Home: warned with the FilterResult, hidden gone, others with an empty array.
    let home = srv
        .get("/api/v1/timelines/home", Some(&alice.token))
        .await
        .ok();
    assert_eq!(home.as_array().unwrap().len(), 2, "{home}");
    let r = by_text(&home, "RUST").unwrap();
    let result = &r["filtered"][0];
    assert_eq!(result["filter"]["id"], warn["id"]);
    assert_eq!(result["filter"]["title"], "Rust talk");
    assert_eq!(result["filter"]["filter_action"], "warn");
    assert_eq!(
        result["filter"]["context"],
        json!(["home", "thread", "account"])
    );
    assert!(result["filter"].get("keywords").is_none());
    assert_eq!(result["keyword_matches"], json!(["rust"]));
    assert_eq!(result["status_matches"], Value::Null);
    assert_eq!(by_text(&home, "trombones").unwrap()["filtered"], json!([]));
    assert!(by_text(&home, "the end").is_none());
    // Carol has no filters: everything, unmarked.
    let carols = srv
        .get("/api/v1/timelines/home", Some(&carol.token))
        .await
        .ok();
    assert_eq!(carols.as_array().unwrap().len(), 3);
    assert!(
        carols
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["filtered"] == json!([]))
    );

    // Public: the warning is not for this context; the hide filter is.
    let public = srv
        .get("/api/v1/timelines/public", Some(&alice.token))
        .await
        .ok();
    assert_eq!(by_text(&public, "RUST").unwrap()["filtered"], json!([]));
    assert!(by_text(&public, "the end").is_none());
    assert!(
        by_text(
            &srv.get("/api/v1/timelines/public", None).await.ok(),
            "the end"
        )
        .is_some()
    );

    // Account statuses: the warning applies, the hide filter does not.
    let profile = srv
        .get(
            &format!("/api/v1/accounts/{}/statuses", bob.id),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(profile.as_array().unwrap().len(), 3);
    assert_eq!(
        by_text(&profile, "RUST").unwrap()["filtered"][0]["filter"]["id"],
        warn["id"]
    );
    assert_eq!(by_text(&profile, "the end").unwrap()["filtered"], json!([]));

    // Thread: replies in the context view.
    let reply = srv
        .status(
            &carol,
            "@bob rust is great",
            &[("in_reply_to_id", spoiler["id"].as_str().unwrap())],
        )
        .await;
    let ctx = srv
        .get(
            &format!(
                "/api/v1/statuses/{}/context",
                spoiler["id"].as_str().unwrap()
            ),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(ctx["descendants"][0]["id"], reply["id"]);
    assert_eq!(
        ctx["descendants"][0]["filtered"][0]["keyword_matches"],
        json!(["rust"])
    );

    // Notifications: a mention with a hidden keyword is left out.
    srv.status(&bob, "@alice no spoiler here", &[]).await;
    srv.status(&bob, "@alice plain hello", &[]).await;
    let notes = srv
        .get("/api/v1/notifications", Some(&alice.token))
        .await
        .ok();
    let texts: Vec<String> = notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| s(&n["status"]["content"]))
        .collect();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].contains("plain hello"));

    // Reblogs: matched on the reblogged status, flagged on both.
    srv.post(
        &format!("/api/v1/statuses/{}/reblog", rusty["id"].as_str().unwrap()),
        Some(&carol.token),
        &[],
    )
    .await
    .ok();
    srv.post(
        &format!("/api/v1/accounts/{}/follow", carol.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    let home = srv
        .get("/api/v1/timelines/home", Some(&alice.token))
        .await
        .ok();
    let boost = home
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["reblog"].is_object())
        .expect("the reblog");
    assert_eq!(boost["filtered"][0]["filter"]["id"], warn["id"]);
    assert_eq!(boost["reblog"]["filtered"][0]["filter"]["id"], warn["id"]);
    srv.stop().await;
}

async fn own_statuses(srv: &TestServer, user: &User) -> Value {
    srv.get(
        &format!("/api/v1/accounts/{}/statuses", user.id),
        Some(&user.token),
    )
    .await
    .ok()
}

async fn filters_expire_and_name_statuses(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let post = srv.status(&alice, "an ordinary post", &[]).await;
    let pid = s(&post["id"]);
    let f = filter(
        &srv,
        &alice,
        json!({"title": "Briefly", "context": ["account"], "expires_in": 1,
               "keywords_attributes": [{"keyword": "ordinary"}]}),
    )
    .await;
    assert!(f["expires_at"].is_string());
    let named = filter(
        &srv,
        &alice,
        json!({"title": "That one", "context": ["account"]}),
    )
    .await;
    srv.post(
        &format!("/api/v2/filters/{}/statuses", s(&named["id"])),
        Some(&alice.token),
        &[("status_id", &pid)],
    )
    .await
    .ok();
    let before = own_statuses(&srv, &alice).await;
    let filtered = before[0]["filtered"].as_array().unwrap();
    assert_eq!(filtered.len(), 2, "{before}");
    assert_eq!(filtered[0]["keyword_matches"], json!(["ordinary"]));
    assert_eq!(filtered[1]["status_matches"], json!([pid]));
    assert_eq!(filtered[1]["keyword_matches"], Value::Null);
    // After expiry only the status filter is left (the cached set is re-checked for
    // expiry at every match, not only when reloaded).
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let after = own_statuses(&srv, &alice).await;
    let filtered = after[0]["filtered"].as_array().unwrap();
    assert_eq!(filtered.len(), 1, "{after}");
    assert_eq!(filtered[0]["filter"]["title"], "That one");
    // Deleting the status removes it from the filter.
    srv.request(
        Method::DELETE,
        &format!("/api/v1/statuses/{pid}"),
        Some(&alice.token),
        None,
    )
    .await
    .ok();
    assert_eq!(srv.count("filter_statuses").await, 0);
    srv.stop().await;
}

async fn streaming_applies_filters(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    for u in [&alice, &carol] {
        srv.post(
            &format!("/api/v1/accounts/{}/follow", bob.id),
            Some(&u.token),
            &[],
        )
        .await
        .ok();
    }
    let mut alice_home = Sse::open(&srv, "/api/v1/streaming/user", &alice.token, None).await;
    let mut carol_home = Sse::open(&srv, "/api/v1/streaming/user", &carol.token, None).await;
    let mut alice_public = Sse::open(&srv, "/api/v1/streaming/public", &alice.token, None).await;

    // Creating a filter: `filters_changed` on the user stream, no payload.
    let hide = filter(
        &srv,
        &alice,
        json!({"title": "Hide", "context": ["home"], "filter_action": "hide",
               "keywords_attributes": [{"keyword": "secret"}]}),
    )
    .await;
    let e = alice_home.next().await;
    assert_eq!(e.event, "filters_changed");
    assert_eq!(e.data, "undefined");
    // Adding a keyword changes the filters too.
    srv.post(
        &format!("/api/v2/filters/{}/keywords", s(&hide["id"])),
        Some(&alice.token),
        &[("keyword", "classified")],
    )
    .await
    .ok();
    assert_eq!(alice_home.next().await.event, "filters_changed");
    let warn = filter(
        &srv,
        &alice,
        json!({"title": "Warn", "context": ["home", "public"],
               "keywords_attributes": [{"keyword": "rust"}]}),
    )
    .await;
    assert_eq!(alice_home.next().await.event, "filters_changed");
    // Not for carol, not on the public stream.
    assert!(
        carol_home
            .drain(Duration::from_millis(300))
            .await
            .is_empty()
    );

    let secret = srv.status(&bob, "the secret plan", &[]).await;
    let classified = srv.status(&bob, "classified stuff", &[]).await;
    let rusty = srv.status(&bob, "Rust 2.0 is out", &[]).await;
    let plain = srv.status(&bob, "just lunch", &[]).await;

    // Carol gets all four, as rendered for everyone (no `filtered`).
    for expected in [&secret, &classified, &rusty, &plain] {
        let e = carol_home.next().await;
        assert_eq!(e.event, "update");
        let v: Value = serde_json::from_str(&e.data).unwrap();
        assert_eq!(v["id"], expected["id"]);
        assert!(v.get("filtered").is_none(), "{v}");
    }
    // Alice: the hidden two never come; the warned one carries the FilterResult.
    let e = alice_home.next().await;
    let v: Value = serde_json::from_str(&e.data).unwrap();
    assert_eq!(v["id"], rusty["id"]);
    assert_eq!(v["filtered"][0]["filter"]["id"], warn["id"]);
    assert_eq!(v["filtered"][0]["keyword_matches"], json!(["rust"]));
    assert_eq!(v["content"], rusty["content"]);
    let e = alice_home.next().await;
    let v: Value = serde_json::from_str(&e.data).unwrap();
    assert_eq!(v["id"], plain["id"]);
    assert!(v.get("filtered").is_none());
    // The public stream: the hide filter is home-only, so all four, one warned.
    let mut seen = Vec::new();
    for _ in 0..4 {
        let e = alice_public.next().await;
        let v: Value = serde_json::from_str(&e.data).unwrap();
        seen.push((s(&v["id"]), v.get("filtered").is_some()));
    }
    assert_eq!(
        seen,
        vec![
            (s(&secret["id"]), false),
            (s(&classified["id"]), false),
            (s(&rusty["id"]), true),
            (s(&plain["id"]), false)
        ]
    );

    // Deleting the hide filter: reloaded, so the next secret comes through.
    delete(
        &srv,
        &format!("/api/v2/filters/{}", s(&hide["id"])),
        &alice.token,
    )
    .await
    .ok();
    assert_eq!(alice_home.next().await.event, "filters_changed");
    let again = srv.status(&bob, "another secret", &[]).await;
    let e = alice_home.next().await;
    assert_eq!(status_id(&e), s(&again["id"]));
    srv.stop().await;
}

fn status_id(e: &crate::streaming::SseEvent) -> String {
    let v: Value = serde_json::from_str(&e.data).unwrap();
    s(&v["id"])
}
