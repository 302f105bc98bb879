//! `GET /api/v2/search` (search v2): posts by their words with Mastodon's scope rules
//! (own posts, posts interacted with, public posts of indexable accounts), never a
//! post the viewer may not see; the operators; hashtags by prefix with their history;
//! accounts with `following=true`; `resolve=true` with the URL of a post or account on
//! another server; paging; bad input.

use reqwest::Method;
use serde_json::Value;

use crate::common::{Body, Db, TestServer, User, ids, peer};

db_tests!(
    words_and_scope_rules,
    private_posts_never_leak,
    edits_and_deletes_keep_the_index,
    operators,
    hashtags_with_history,
    accounts_following,
    paging_and_bad_input,
    resolve_a_url_from_another_server,
);

/// The ids of the statuses `user` finds with `q` (`type=statuses`).
async fn found(srv: &TestServer, user: &User, q: &str) -> Vec<String> {
    let path = format!("/api/v2/search?type=statuses&q={}", urlencode(q));
    ids(&srv.get(&path, Some(&user.token)).await.ok()["statuses"])
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn indexable(srv: &TestServer, user: &User) {
    let me = srv
        .update_credentials(&user.token, &[("indexable", "true")])
        .await
        .ok();
    assert_eq!(me["indexable"], true);
}

async fn words_and_scope_rules(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let dave = srv.user("dave").await;
    // A new account is not indexable until it says so (Mastodon's default).
    let me = srv
        .get("/api/v1/accounts/verify_credentials", Some(&bob.token))
        .await
        .ok();
    assert_eq!(me["indexable"], false);
    indexable(&srv, &alice).await;

    let fox = id(&srv
        .status(&alice, "The QUICK brown fox jumps over @bob", &[])
        .await);
    let warned = id(&srv
        .status(
            &alice,
            "behind the warning",
            &[("spoiler_text", "Marmalade")],
        )
        .await);
    let zebra = id(&srv.status(&bob, "zebra stripes", &[]).await);

    // Words, any case, in any order; a phrase in order only; exclusions.
    assert_eq!(found(&srv, &carol, "quick fox").await, vec![fox.clone()]);
    assert_eq!(found(&srv, &carol, "FOX Quick").await, vec![fox.clone()]);
    assert_eq!(
        found(&srv, &carol, "\"brown fox\"").await,
        vec![fox.clone()]
    );
    assert!(found(&srv, &carol, "\"fox brown\"").await.is_empty());
    assert!(found(&srv, &carol, "quick -fox").await.is_empty());
    assert_eq!(found(&srv, &carol, "quick -cat").await, vec![fox.clone()]);
    assert!(found(&srv, &carol, "quick cat").await.is_empty());
    // The content warning is searched; the markup is not (the mention's link).
    assert_eq!(found(&srv, &carol, "marmalade").await, vec![warned]);
    assert!(found(&srv, &carol, "href").await.is_empty());
    assert!(found(&srv, &carol, "mention").await.is_empty());
    // The mentioned name is text.
    assert_eq!(found(&srv, &carol, "bob").await, vec![fox.clone()]);

    // bob is not indexable: his public post is found by him, not by others...
    assert!(found(&srv, &carol, "zebra").await.is_empty());
    assert_eq!(found(&srv, &bob, "zebra").await, vec![zebra.clone()]);
    // ...except by those who interacted with it.
    srv.post(
        &format!("/api/v1/statuses/{zebra}/favourite"),
        Some(&carol.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(found(&srv, &carol, "zebra").await, vec![zebra.clone()]);
    assert!(found(&srv, &dave, "zebra").await.is_empty());
    srv.post(
        &format!("/api/v1/statuses/{zebra}/bookmark"),
        Some(&dave.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(found(&srv, &dave, "zebra").await, vec![zebra.clone()]);
    let erin = srv.user("erin").await;
    srv.status(&erin, "nice", &[("in_reply_to_id", &zebra)])
        .await;
    assert_eq!(found(&srv, &erin, "zebra").await, vec![zebra.clone()]);
    let frank = srv.user("frank").await;
    srv.post(
        &format!("/api/v1/statuses/{zebra}/reblog"),
        Some(&frank.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(found(&srv, &frank, "zebra").await, vec![zebra.clone()]);

    // A block either way hides the author's posts.
    srv.post(
        &format!("/api/v1/accounts/{}/block", alice.id),
        Some(&carol.token),
        &[],
    )
    .await
    .ok();
    assert!(found(&srv, &carol, "quick").await.is_empty());
    assert_eq!(found(&srv, &dave, "quick").await, vec![fox]);

    // Visitors: accounts and hashtags, no posts; no paging, no resolving.
    let r = srv.get("/api/v2/search?q=quick", None).await.ok();
    assert_eq!(r["statuses"], serde_json::json!([]));
    let r = srv.get("/api/v2/search?q=alice", None).await.ok();
    assert_eq!(r["accounts"][0]["acct"], "alice");
    srv.get("/api/v2/search?q=alice&offset=0", None)
        .await
        .expect(401);
    srv.get("/api/v2/search?q=alice&resolve=true", None)
        .await
        .expect(401);
}

async fn private_posts_never_leak(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    indexable(&srv, &alice).await;
    let private = id(&srv
        .status(&alice, "confidential plans", &[("visibility", "private")])
        .await);
    let unlisted = id(&srv
        .status(
            &alice,
            "confidential quietly",
            &[("visibility", "unlisted")],
        )
        .await);
    let direct = id(&srv
        .status(
            &alice,
            "confidential whisper @bob",
            &[("visibility", "direct")],
        )
        .await);
    // Her own: all of them.
    let mut mine = found(&srv, &alice, "confidential").await;
    mine.sort();
    let mut all = vec![private.clone(), unlisted.clone(), direct.clone()];
    all.sort();
    assert_eq!(mine, all);
    // Others: no public post here, nothing of the rest but what they were sent.
    assert!(found(&srv, &carol, "confidential").await.is_empty());
    assert_eq!(
        found(&srv, &bob, "confidential").await,
        vec![direct.clone()]
    );
    // A follower sees the private post on her profile, but search offers only what
    // the scope rules allow: it is not public, and he did not interact with it.
    srv.post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        Some(&carol.token),
        &[],
    )
    .await
    .ok();
    assert!(found(&srv, &carol, "plans").await.is_empty());
    srv.post(
        &format!("/api/v1/statuses/{private}/favourite"),
        Some(&carol.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(found(&srv, &carol, "plans").await, vec![private.clone()]);
    // Unfollowed, the favourite no longer lets him see it: not found.
    srv.post(
        &format!("/api/v1/accounts/{}/unfollow", alice.id),
        Some(&carol.token),
        &[],
    )
    .await
    .ok();
    assert!(found(&srv, &carol, "plans").await.is_empty());
    // `in:library` never widens it either.
    assert!(found(&srv, &carol, "plans in:library").await.is_empty());
}

async fn edits_and_deletes_keep_the_index(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let post = id(&srv.status(&alice, "original wording", &[]).await);
    assert_eq!(found(&srv, &alice, "original").await, vec![post.clone()]);
    srv.request(
        Method::PUT,
        &format!("/api/v1/statuses/{post}"),
        Some(&alice.token),
        Some(Body::Form(vec![("status".into(), "revised text".into())])),
    )
    .await
    .ok();
    assert!(found(&srv, &alice, "original").await.is_empty());
    assert_eq!(found(&srv, &alice, "revised").await, vec![post.clone()]);
    // A reblog is not indexed again: one result.
    srv.post(
        &format!("/api/v1/statuses/{post}/reblog"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(found(&srv, &alice, "revised").await, vec![post.clone()]);
    srv.request(
        Method::DELETE,
        &format!("/api/v1/statuses/{post}"),
        Some(&alice.token),
        None,
    )
    .await
    .ok();
    assert!(found(&srv, &alice, "revised").await.is_empty());
    assert_eq!(srv.count("status_search").await, 0);
}

async fn operators(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    indexable(&srv, &alice).await;
    indexable(&srv, &bob).await;
    let root = id(&srv
        .status(&alice, "cats are great", &[("language", "en")])
        .await);
    let reply = id(&srv
        .status(
            &bob,
            "cats agree",
            &[("in_reply_to_id", &root), ("language", "en")],
        )
        .await);
    let sensitive = id(&srv
        .status(
            &alice,
            "cats unsure",
            &[("sensitive", "true"), ("language", "fr")],
        )
        .await);
    let media = crate::media::upload_png(&srv, &bob, 7).await;
    let pictured = id(&srv
        .status(
            &bob,
            "cats pictured",
            &[("media_ids[]", media["id"].as_str().unwrap())],
        )
        .await);

    let set = |v: Vec<String>| {
        let mut v = v;
        v.sort();
        v
    };
    let of = |v: &[&String]| set(v.iter().map(|s| s.to_string()).collect());
    assert_eq!(
        set(found(&srv, &carol, "cats from:alice").await),
        of(&[&root, &sensitive])
    );
    assert_eq!(
        set(found(&srv, &carol, "cats from:@bob").await),
        of(&[&reply, &pictured])
    );
    assert_eq!(
        set(found(&srv, &alice, "cats from:me").await),
        of(&[&root, &sensitive])
    );
    // Operators alone, without words.
    assert_eq!(
        set(found(&srv, &carol, "from:alice").await),
        of(&[&root, &sensitive])
    );
    assert!(found(&srv, &carol, "cats from:nobody").await.is_empty());
    assert_eq!(
        found(&srv, &carol, "cats is:reply").await,
        vec![reply.clone()]
    );
    assert_eq!(
        set(found(&srv, &carol, "cats -is:reply").await),
        of(&[&root, &sensitive, &pictured])
    );
    assert_eq!(
        found(&srv, &carol, "cats is:sensitive").await,
        vec![sensitive.clone()]
    );
    assert_eq!(
        found(&srv, &carol, "cats has:media").await,
        vec![pictured.clone()]
    );
    assert_eq!(
        found(&srv, &carol, "cats language:fr").await,
        vec![sensitive.clone()]
    );
    // Dates (UTC days): all of these were posted today.
    assert!(
        found(&srv, &carol, "cats before:2000-01-01")
            .await
            .is_empty()
    );
    assert_eq!(found(&srv, &carol, "cats after:2000-01-01").await.len(), 4);
    let today = sluice_model::Timestamp::now().to_date();
    assert_eq!(
        found(&srv, &carol, &format!("cats during:{today}"))
            .await
            .len(),
        4
    );
    assert!(
        found(&srv, &carol, &format!("cats after:{today}"))
            .await
            .is_empty()
    );
    // in:library: only what carol interacted with.
    assert!(found(&srv, &carol, "cats in:library").await.is_empty());
    srv.post(
        &format!("/api/v1/statuses/{reply}/favourite"),
        Some(&carol.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(
        found(&srv, &carol, "cats in:library").await,
        vec![reply.clone()]
    );
    // has:poll: a post with a poll (made now, after the date checks above counted).
    let polled = srv
        .post_json(
            "/api/v1/statuses",
            Some(&carol.token),
            serde_json::json!({
                "status": "cats or dogs?",
                "poll": {"options": ["cats", "dogs"], "expires_in": 600}
            }),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        found(&srv, &carol, "cats has:poll").await,
        vec![polled.clone()]
    );
    assert!(
        !found(&srv, &carol, "cats -has:poll")
            .await
            .contains(&polled)
    );
    // `account_id` as `from:`; both naming different accounts find nothing.
    assert_eq!(
        set(ids(&srv
            .get(
                &format!(
                    "/api/v2/search?type=statuses&q=cats&account_id={}",
                    alice.id
                ),
                Some(&carol.token)
            )
            .await
            .ok()["statuses"])),
        of(&[&root, &sensitive])
    );
    let r = srv
        .get(
            &format!(
                "/api/v2/search?type=statuses&q=cats%20from:bob&account_id={}",
                alice.id
            ),
            Some(&carol.token),
        )
        .await
        .ok();
    assert_eq!(r["statuses"], serde_json::json!([]));
    // Values an operator cannot take: 422, saying why.
    for q in [
        "cats has:link",
        "before:yesterday",
        "cats is:boring",
        "-from:me",
    ] {
        let r = srv
            .get(
                &format!("/api/v2/search?type=statuses&q={}", urlencode(q)),
                Some(&carol.token),
            )
            .await;
        assert_eq!(r.status, 422, "{q}: {}", r.text);
        assert!(r.body["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
}

async fn hashtags_with_history(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    srv.status(&alice, "learning #RustLang", &[]).await;
    srv.status(&bob, "me too #rustlang", &[]).await;
    srv.status(&bob, "again #rustlang", &[]).await;
    srv.status(&alice, "hello #rustacean", &[]).await;
    srv.status(&alice, "unrelated #python", &[]).await;

    let tags = |v: &Value| -> Vec<String> {
        v["hashtags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    // The most recently used first.
    let r = srv
        .get("/api/v2/search?type=hashtags&q=rust", Some(&alice.token))
        .await
        .ok();
    assert_eq!(tags(&r), vec!["rustacean", "rustlang"]);
    // An exact name first; `#` and case ignored.
    let r = srv
        .get(
            "/api/v2/search?type=hashtags&q=%23RustLang",
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(tags(&r), vec!["rustlang"]);
    let tag = &r["hashtags"][0];
    assert_eq!(tag["url"], format!("{}/tags/rustlang", srv.url));
    assert_eq!(tag["following"], false);
    let history = tag["history"].as_array().unwrap();
    assert_eq!(history.len(), 7);
    let today = sluice_model::id::now_millis() / 86_400_000 * 86_400;
    assert_eq!(history[0]["day"], today.to_string());
    assert_eq!(history[0]["uses"], "3");
    assert_eq!(history[0]["accounts"], "2");
    assert_eq!(history[1]["uses"], "0");
    // Visitors may search hashtags (no `following`); exclude_unreviewed is accepted.
    let r = srv
        .get(
            "/api/v2/search?type=hashtags&q=py&exclude_unreviewed=true",
            None,
        )
        .await
        .ok();
    assert_eq!(tags(&r), vec!["python"]);
    assert!(r["hashtags"][0].get("following").is_none());
    // Not a tag name: no hashtags.
    let r = srv
        .get(
            "/api/v2/search?type=hashtags&q=rust%20lang",
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(r["hashtags"], serde_json::json!([]));
    // A `%` is a character, not a pattern.
    let r = srv
        .get("/api/v2/search?type=hashtags&q=%25", Some(&alice.token))
        .await
        .ok();
    assert_eq!(r["hashtags"], serde_json::json!([]));
}

async fn accounts_following(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bobby").await;
    srv.user("bobcat").await;
    srv.post(
        &format!("/api/v1/accounts/{}/follow", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    let accts = |v: &Value| -> Vec<String> {
        let mut a: Vec<String> = v["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["acct"].as_str().unwrap().to_string())
            .collect();
        a.sort();
        a
    };
    let all = srv
        .get("/api/v2/search?type=accounts&q=bob", Some(&alice.token))
        .await
        .ok();
    assert_eq!(accts(&all), vec!["bobby", "bobcat"]);
    let followed = srv
        .get(
            "/api/v2/search?type=accounts&q=bob&following=true",
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(accts(&followed), vec!["bobby"]);
    let v1 = srv
        .get(
            "/api/v1/accounts/search?q=bob&following=true",
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(ids(&v1), vec![bob.id.clone()]);
}

async fn paging_and_bad_input(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let mut posts = Vec::new();
    for i in 0..5 {
        posts.push(id(&srv
            .status(&alice, &format!("pagetest number {i}"), &[])
            .await));
    }
    posts.reverse(); // newest first
    let page = |query: String| {
        let srv = &srv;
        let token = alice.token.clone();
        async move {
            ids(&srv
                .get(
                    &format!("/api/v2/search?type=statuses&q=pagetest&{query}"),
                    Some(&token),
                )
                .await
                .ok()["statuses"])
        }
    };
    assert_eq!(page(String::new()).await, posts);
    assert_eq!(page("limit=2".into()).await, posts[..2]);
    assert_eq!(page("limit=2&offset=2".into()).await, posts[2..4]);
    assert_eq!(page(format!("max_id={}", posts[1])).await, posts[2..]);
    assert_eq!(page(format!("min_id={}", posts[3])).await, posts[..3]);
    // Above the maximum: cut to it, as Mastodon.
    assert_eq!(page("limit=500".into()).await, posts);
    let me = alice.token.as_str();
    for (query, status) in [
        ("q=pagetest&limit=-1", 400),
        ("q=pagetest&offset=-1", 400),
        ("q=pagetest&offset=100000", 400),
        ("q=pagetest&type=posts", 400),
        ("q=", 400),
        ("type=statuses", 400),
        ("q=pagetest&type=statuses&account_id=12345", 404),
        ("q=pagetest&type=statuses&account_id=abc", 404),
        ("q=pagetest&limit=lots", 422),
    ] {
        let r = srv.get(&format!("/api/v2/search?{query}"), Some(me)).await;
        assert_eq!(r.status, status, "{query}: {}", r.text);
    }
    // A token without the search scope.
    let writer = srv.password_token("alice", "write").await;
    srv.get("/api/v2/search?q=pagetest", Some(&writer))
        .await
        .expect(403);
}

async fn resolve_a_url_from_another_server(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let b_domain = b.url.trim_start_matches("http://").to_string();
    let post = b.status(&bob, "greetings from the other side", &[]).await;
    let uri = post["uri"].as_str().unwrap();
    let search = |q: String, resolve: bool| {
        let a = &a;
        let token = alice.token.clone();
        async move {
            a.get(
                &format!("/api/v2/search?q={}&resolve={resolve}", urlencode(&q)),
                Some(&token),
            )
            .await
            .ok()
        }
    };
    // Without resolve, a URL is only words: nothing fetched.
    let r = search(uri.to_string(), false).await;
    assert_eq!(r["statuses"], serde_json::json!([]));
    assert!(a.engine().status_by_uri(uri).await.unwrap().is_none());
    // With resolve: fetched, stored, returned (and nothing else).
    let r = search(uri.to_string(), true).await;
    let s = &r["statuses"][0];
    assert!(
        s["content"]
            .as_str()
            .unwrap()
            .contains("greetings from the other side"),
        "{r}"
    );
    assert_eq!(s["account"]["acct"], format!("bob@{b_domain}"));
    assert_eq!(r["accounts"], serde_json::json!([]));
    assert!(a.engine().status_by_uri(uri).await.unwrap().is_some());
    // The post's web address (`url`) resolves to it as well.
    let page_url = post["url"].as_str().unwrap();
    let r = search(page_url.to_string(), true).await;
    assert_eq!(r["statuses"][0]["uri"], uri, "{r}");
    // An account's URL.
    let actor = format!("{}/users/bob", b.url);
    let r = search(actor, true).await;
    assert_eq!(r["accounts"][0]["acct"], format!("bob@{b_domain}"), "{r}");
    // A followers-only post is not served to an unsigned fetch nor shown.
    let private = b
        .status(&bob, "for followers", &[("visibility", "private")])
        .await;
    let r = search(private["uri"].as_str().unwrap().to_string(), true).await;
    assert_eq!(r["statuses"], serde_json::json!([]));
    // A local post by its URL, no fetch needed; type narrows.
    let mine = a.status(&alice, "home grown", &[]).await;
    let r = search(mine["uri"].as_str().unwrap().to_string(), true).await;
    assert_eq!(r["statuses"][0]["id"], mine["id"]);
    // ... and by its page's address (`url`, what people copy), and a profile's page; a
    // page naming another author than the post's finds nothing.
    let r = search(mine["url"].as_str().unwrap().to_string(), true).await;
    assert_eq!(r["statuses"][0]["id"], mine["id"], "{r}");
    let r = search(format!("{}/@alice", a.url), true).await;
    assert_eq!(r["accounts"][0]["username"], "alice", "{r}");
    let wrong = format!("{}/@bob/{}", a.url, mine["id"].as_str().unwrap());
    let r = search(wrong, true).await;
    assert_eq!(r["statuses"], serde_json::json!([]), "{r}");
    let r = a
        .get(
            &format!(
                "/api/v2/search?q={}&resolve=true&type=accounts",
                urlencode(mine["uri"].as_str().unwrap())
            ),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(r["statuses"], serde_json::json!([]));
    // Nothing there: empty, not an error.
    let r = search(format!("{}/users/nobody", b.url), true).await;
    assert_eq!(r["accounts"], serde_json::json!([]));
}
