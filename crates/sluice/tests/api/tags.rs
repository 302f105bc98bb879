//! Hashtags as people use them: one tag and its use, following tags (their public posts
//! in home and on the user stream), featuring them on a profile (also across two
//! servers), trends of tags and posts, and whom to follow.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Db, TestServer, User, eventually, follow_remote, get_as2, ids, peer};
use crate::streaming::Sse;

db_tests!(
    a_tag_and_its_use,
    followed_tags_bring_public_posts_home_and_to_the_stream,
    home_merges_followed_tags_and_follows_when_paging,
    featured_tags_on_a_profile,
    featured_tags_cross_to_another_server,
    trends_come_from_recent_posts,
    follow_suggestions
);

fn texts(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let html = s["content"].as_str().unwrap_or_default();
            // The words of the post, without its markup.
            let mut out = String::new();
            let mut in_tag = false;
            for c in html.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => out.push(c),
                    _ => {}
                }
            }
            out
        })
        .collect()
}

async fn home(srv: &TestServer, user: &User) -> Vec<String> {
    texts(
        &srv.get("/api/v1/timelines/home", Some(&user.token))
            .await
            .ok(),
    )
}

/// `GET /api/v1/tags/:name` shows any hashtag's use over the last seven days (today
/// first) and, to a user, whether they follow it; a name that cannot be a hashtag is a
/// 404, as is following it; one never used has no id yet.
async fn a_tag_and_its_use(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    srv.status(&alice, "#Rust one", &[]).await;
    srv.status(&alice, "#rust two", &[]).await;
    srv.status(&bob, "#rust three", &[]).await;
    let t = srv.get("/api/v1/tags/RUST", None).await.ok();
    assert_eq!(t["name"], "rust");
    assert!(t["id"].as_str().unwrap().parse::<i64>().is_ok(), "{t}");
    assert!(t["url"].as_str().unwrap().ends_with("/tags/rust"));
    let history = t["history"].as_array().unwrap();
    assert_eq!(history.len(), 7);
    assert_eq!(history[0]["uses"], "3");
    assert_eq!(history[0]["accounts"], "2");
    assert_eq!(history[1]["uses"], "0");
    assert!(t.get("following").is_none(), "not for a visitor: {t}");
    let t = srv.get("/api/v1/tags/rust", Some(&alice.token)).await.ok();
    assert_eq!(t["following"], false);
    assert_eq!(t["featuring"], false);

    let unused = srv
        .get("/api/v1/tags/nobody", Some(&alice.token))
        .await
        .ok();
    assert_eq!(unused["id"], "");
    assert_eq!(unused["history"][0]["uses"], "0");
    for bad in ["two%20words", "2024", "a%25"] {
        let r = srv.get(&format!("/api/v1/tags/{bad}"), None).await;
        assert_eq!(r.status, 404, "{bad}");
        let r = srv
            .post(
                &format!("/api/v1/tags/{bad}/follow"),
                Some(&alice.token),
                &[],
            )
            .await;
        assert_eq!(r.status, 404, "{bad}");
    }
    assert_eq!(srv.count("tag_follows").await, 0);
    // Following needs a user with `write:follows`.
    let r = srv.post("/api/v1/tags/rust/follow", None, &[]).await;
    assert_eq!(r.status, 401);
    srv.stop().await;
}

/// Following a hashtag brings its public posts — from anyone, local or not followed —
/// into home and onto the user stream; not unlisted or followers-only ones, not the
/// posts of accounts one blocked or muted. Unfollowing takes them out again. The list
/// of followed tags pages as Mastodon's.
async fn followed_tags_bring_public_posts_home_and_to_the_stream(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let mallory = srv.user("mallory").await;
    srv.status(&bob, "before #rust", &[]).await;
    assert!(home(&srv, &alice).await.is_empty());

    let t = srv
        .post("/api/v1/tags/%23Rust/follow", Some(&alice.token), &[])
        .await
        .ok();
    assert_eq!(t["name"], "rust");
    assert_eq!(t["following"], true);
    // Again: nothing changes.
    srv.post("/api/v1/tags/rust/follow", Some(&alice.token), &[])
        .await
        .ok();
    assert_eq!(srv.count("tag_follows").await, 1);
    let followed = srv
        .get("/api/v1/followed_tags", Some(&alice.token))
        .await
        .ok();
    assert_eq!(followed.as_array().unwrap().len(), 1);
    assert_eq!(followed[0]["name"], "rust");
    assert_eq!(followed[0]["following"], true);

    // Bob's older public post is in alice's home now (home is read, not pushed).
    assert_eq!(home(&srv, &alice).await, ["before #rust"]);

    let mallory_id = srv.lookup_id("mallory").await;
    srv.post(
        &format!("/api/v1/accounts/{mallory_id}/block"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    let mut stream = Sse::open(&srv, "/api/v1/streaming/user", &alice.token, None).await;
    srv.status(&bob, "unlisted #rust", &[("visibility", "unlisted")])
        .await;
    srv.status(&bob, "private #rust", &[("visibility", "private")])
        .await;
    srv.status(&mallory, "blocked #rust", &[]).await;
    srv.status(&bob, "no tag here", &[]).await;
    srv.status(&bob, "after #RUST", &[]).await;
    // The stream carries exactly the one public post with the tag.
    let ev = stream.next().await;
    assert_eq!(ev.event, "update");
    let post: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(texts(&json!([post])), ["after #RUST"]);
    let more = stream.drain(Duration::from_millis(500)).await;
    assert!(
        more.iter().all(|e| e.event != "update"),
        "{:?}",
        more.iter().map(|e| &e.data).collect::<Vec<_>>()
    );
    assert_eq!(home(&srv, &alice).await, ["after #RUST", "before #rust"]);

    // A followed account's post with the tag is there once.
    let bob_id = srv.lookup_id("bob").await;
    srv.post(
        &format!("/api/v1/accounts/{bob_id}/follow"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(
        home(&srv, &alice).await,
        [
            "after #RUST",
            "no tag here",
            "private #rust",
            "unlisted #rust",
            "before #rust"
        ]
    );
    srv.post(
        &format!("/api/v1/accounts/{bob_id}/unfollow"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();

    // Paging: one page of one tag after another, with a Link header.
    srv.post("/api/v1/tags/cats/follow", Some(&alice.token), &[])
        .await
        .ok();
    let r = srv
        .get("/api/v1/followed_tags?limit=1", Some(&alice.token))
        .await;
    let link = r.link();
    let page = r.ok();
    assert_eq!(page[0]["name"], "cats");
    assert!(link.contains("rel=\"next\""), "{link}");
    let next = link
        .split(['<', '>'])
        .nth(1)
        .unwrap()
        .trim_start_matches(&srv.url)
        .to_string();
    let page = srv.get(&next, Some(&alice.token)).await.ok();
    assert_eq!(page[0]["name"], "rust");

    // Unfollowing: gone from home, and from the stream.
    let t = srv
        .post("/api/v1/tags/rust/unfollow", Some(&alice.token), &[])
        .await
        .ok();
    assert_eq!(t["following"], false);
    assert!(home(&srv, &alice).await.is_empty());
    srv.status(&bob, "later #rust", &[]).await;
    srv.status(&bob, "later #cats", &[]).await;
    let ev = stream.next().await;
    let post: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(texts(&json!([post])), ["later #cats"]);
    srv.stop().await;
}

/// Home merges the walk of followed accounts with one walk per followed hashtag: a post
/// in more than one walk (a followed author's tagged post, a post with two followed
/// tags) is there once; the tag walks leave out what the public timeline leaves out for
/// the viewer (muted authors, authors who block the viewer, silenced authors, unlisted
/// posts); and paging with `max_id`, `since_id` and `min_id` walks the merged timeline
/// whichever walk each post comes from.
async fn home_merges_followed_tags_and_follows_when_paging(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let dave = srv.user("dave").await;
    let erin = srv.user("erin").await;
    let frank = srv.user("frank").await;
    let gina = srv.user("gina").await;
    let mo = srv.staff("mo", "moderator").await;
    for (who, path) in [
        (&alice, format!("/api/v1/accounts/{}/follow", bob.id)),
        (&alice, format!("/api/v1/accounts/{}/mute", erin.id)),
        (&gina, format!("/api/v1/accounts/{}/block", alice.id)),
        (&alice, "/api/v1/tags/rust/follow".to_string()),
        (&alice, "/api/v1/tags/cats/follow".to_string()),
    ] {
        srv.post(&path, Some(&who.token), &[]).await.ok();
    }
    srv.post(
        &format!("/api/v1/admin/accounts/{}/action", frank.id),
        Some(&mo.token),
        &[("type", "silence")],
    )
    .await
    .ok();

    let id = |v: Value| v["id"].as_str().unwrap().to_string();
    let mut shown = Vec::new();
    shown.push(id(srv.status(&carol, "c0 #rust", &[]).await));
    shown.push(id(srv.status(&bob, "b0 plain", &[]).await));
    shown.push(id(srv.status(&dave, "d0 #cats", &[]).await));
    srv.status(&erin, "muted #rust", &[]).await;
    shown.push(id(srv.status(&carol, "c1 #rust #cats", &[]).await));
    shown.push(id(srv.status(&bob, "b1 #rust", &[]).await));
    srv.status(&frank, "silenced #cats", &[]).await;
    srv.status(&gina, "blocks alice #rust", &[]).await;
    srv.status(&carol, "unlisted #cats", &[("visibility", "unlisted")])
        .await;
    shown.push(id(srv.status(&bob, "b2 plain", &[]).await));
    shown.push(id(srv.status(&dave, "d1 #rust", &[]).await));
    shown.reverse();

    let page = |query: String| {
        let srv = &srv;
        let token = alice.token.clone();
        async move {
            ids(&srv
                .get(&format!("/api/v1/timelines/home?{query}"), Some(&token))
                .await
                .ok())
        }
    };
    assert_eq!(page("limit=40".into()).await, shown);
    assert_eq!(
        home(&srv, &alice).await,
        [
            "d1 #rust",
            "b2 plain",
            "b1 #rust",
            "c1 #rust #cats",
            "d0 #cats",
            "b0 plain",
            "c0 #rust"
        ]
    );

    // Older pages (max_id), two at a time, newest first.
    let mut walked = Vec::new();
    let mut query = "limit=2".to_string();
    loop {
        let got = page(query).await;
        if got.is_empty() {
            break;
        }
        query = format!("limit=2&max_id={}", got.last().unwrap());
        walked.extend(got);
    }
    assert_eq!(walked, shown);

    // Newer pages (min_id) from the start, two at a time: each page is the two posts
    // right after min_id, newest first.
    let mut walked = Vec::new();
    let mut query = "limit=2&min_id=0".to_string();
    loop {
        let got = page(query).await;
        if got.is_empty() {
            break;
        }
        query = format!("limit=2&min_id={}", got[0]);
        walked.splice(0..0, got);
    }
    assert_eq!(walked, shown);

    // since_id: the newest posts above it; max_id and since_id together: between them.
    assert_eq!(
        page(format!("limit=2&since_id={}", shown[3])).await,
        shown[..2]
    );
    assert_eq!(
        page(format!(
            "limit=40&max_id={}&since_id={}",
            shown[1], shown[5]
        ))
        .await,
        shown[2..5]
    );
    srv.stop().await;
}

/// A user features hashtags on their profile (at most ten): each with how many of their
/// public posts carry it and the day of the newest; suggestions are the tags they use
/// most and do not feature; anyone reads an account's featured tags; the actor
/// document names its `featuredTags` collection, which lists them.
async fn featured_tags_on_a_profile(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    srv.status(&alice, "#rust and #cats", &[]).await;
    srv.status(&alice, "#rust again", &[]).await;
    srv.status(&alice, "#rust privately", &[("visibility", "private")])
        .await;
    let s = srv
        .get("/api/v1/featured_tags/suggestions", Some(&alice.token))
        .await
        .ok();
    let names: Vec<&str> = s
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rust", "cats"]);

    let f = srv
        .post(
            "/api/v1/featured_tags",
            Some(&alice.token),
            &[("name", "#Rust")],
        )
        .await
        .ok();
    assert_eq!(f["name"], "rust");
    assert_eq!(f["statuses_count"], 2, "public and unlisted only: {f}");
    assert!(f["url"].as_str().unwrap().ends_with("/@alice/tagged/rust"));
    let today = sluice_model::Timestamp(sluice_model::id::now_millis()).to_date();
    assert_eq!(f["last_status_at"], today.as_str());
    let fid = f["id"].as_str().unwrap().to_string();
    // Featuring it again gives the same one.
    let again = srv
        .post(
            "/api/v1/featured_tags",
            Some(&alice.token),
            &[("name", "rust")],
        )
        .await
        .ok();
    assert_eq!(again["id"], fid.as_str());
    let s = srv
        .get("/api/v1/featured_tags/suggestions", Some(&alice.token))
        .await
        .ok();
    assert_eq!(s[0]["name"], "cats");
    assert_eq!(s.as_array().unwrap().len(), 1);
    let t = srv.get("/api/v1/tags/rust", Some(&alice.token)).await.ok();
    assert_eq!(t["featuring"], true);

    let alice_id = srv.lookup_id("alice").await;
    let public = srv
        .get(&format!("/api/v1/accounts/{alice_id}/featured_tags"), None)
        .await
        .ok();
    assert_eq!(public[0]["name"], "rust");
    assert_eq!(public.as_array().unwrap().len(), 1);
    let profile = srv.get("/api/v1/profile", Some(&alice.token)).await.ok();
    assert_eq!(profile["featured_tags"][0]["name"], "rust");

    // The actor and its collection.
    let actor = get_as2(&srv, &format!("{}/users/alice", srv.url), None)
        .await
        .ok();
    let collection_url = actor["featuredTags"].as_str().unwrap().to_string();
    let c = get_as2(&srv, &collection_url, None).await.ok();
    assert_eq!(c["totalItems"], 1);
    assert_eq!(c["items"][0]["type"], "Hashtag");
    assert_eq!(c["items"][0]["name"], "#rust");
    assert!(
        c["items"][0]["href"]
            .as_str()
            .unwrap()
            .ends_with("/tags/rust")
    );

    // Bad input: nothing written.
    for bad in [&[("name", "")][..], &[("name", "two words")], &[]] {
        let r = srv
            .post("/api/v1/featured_tags", Some(&alice.token), bad)
            .await;
        assert_eq!(r.status, 422, "{bad:?}: {}", r.text);
    }
    let r = srv
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/featured_tags/{fid}"),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(r.status, 404, "not bob's");
    // The limit: ten.
    for n in 0..9 {
        srv.post(
            "/api/v1/featured_tags",
            Some(&alice.token),
            &[("name", &format!("tag{n}x"))],
        )
        .await
        .ok();
    }
    let r = srv
        .post(
            "/api/v1/featured_tags",
            Some(&alice.token),
            &[("name", "eleventh")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(srv.count("featured_tags").await, 10);

    let r = srv
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/featured_tags/{fid}"),
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(r.ok(), json!({}));
    assert_eq!(srv.count("featured_tags").await, 9);
    srv.stop().await;
}

/// A server that meets an actor reads its `featuredTags` collection; later featuring
/// and unfeaturing reach it as Mastodon sends them (`Add`/`Remove` of a `Hashtag` to
/// `featuredTags`), and it shows them on the profile.
async fn featured_tags_cross_to_another_server(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    a.post(
        "/api/v1/featured_tags",
        Some(&alice.token),
        &[("name", "cats")],
    )
    .await
    .ok();
    let a_host = a.url.trim_start_matches("http://").to_string();
    let alice_on_b = follow_remote(&b, &bob, &format!("alice@{a_host}")).await;
    let path = format!("/api/v1/accounts/{alice_on_b}/featured_tags");
    let names = async || -> Vec<String> {
        b.get(&path, None)
            .await
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    // Read with the actor.
    assert_eq!(names().await, ["cats"]);
    a.status(&alice, "#rust is nice", &[]).await;
    let f = a
        .post(
            "/api/v1/featured_tags",
            Some(&alice.token),
            &[("name", "rust")],
        )
        .await
        .ok();
    eventually("the featured tag on bob's server", async || {
        names().await == ["cats", "rust"]
    })
    .await;
    let on_b = b.get(&path, Some(&bob.token)).await.ok();
    assert!(
        on_b[1]["url"].as_str().unwrap().contains("/tagged/rust"),
        "{on_b}"
    );
    a.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/featured_tags/{}", f["id"].as_str().unwrap()),
        Some(&alice.token),
        None,
    )
    .await
    .ok();
    eventually("the featured tag gone from bob's server", async || {
        names().await == ["cats"]
    })
    .await;

    // A followed tag brings posts from the other server into home there (the older one
    // came when bob followed alice).
    let carol = b.user("carol").await;
    b.post("/api/v1/tags/rust/follow", Some(&carol.token), &[])
        .await
        .ok();
    a.status(&alice, "more #rust from afar", &[]).await;
    eventually("the remote post in carol's home", async || {
        home(&b, &carol).await == ["more #rust from afar", "#rust is nice"]
    })
    .await;
    a.stop().await;
    b.stop().await;
}

/// Trends read recent public posts: a tag trends when several accounts use it, a post
/// when several people favourite or boost it; accounts that opted out of discovery are
/// left out, and what the reader cannot see is not shown.
async fn trends_come_from_recent_posts(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let hidden = srv.user("hidden").await;
    srv.update_credentials(&hidden.token, &[("discoverable", "false")])
        .await
        .ok();
    srv.status(&alice, "#rust one", &[]).await;
    srv.status(&bob, "#rust two", &[]).await;
    srv.status(&carol, "#solo only mine", &[]).await;
    srv.status(&carol, "#solo again", &[]).await;
    srv.status(&hidden, "#secret", &[]).await;
    srv.status(&alice, "#secret", &[]).await;
    srv.status(&bob, "#rust unlisted", &[("visibility", "unlisted")])
        .await;
    srv.status(&carol, "#unlisted", &[("visibility", "unlisted")])
        .await;
    srv.status(&alice, "#unlisted", &[("visibility", "unlisted")])
        .await;
    let popular = srv.status(&alice, "a popular post", &[]).await;
    let liked_once = srv.status(&bob, "liked once", &[]).await;
    let by_hidden = srv.status(&hidden, "hidden's popular post", &[]).await;
    for (post, fans) in [
        (&popular, vec![&bob, &carol]),
        (&liked_once, vec![&carol]),
        (&by_hidden, vec![&alice, &bob]),
    ] {
        for fan in fans {
            let id = post["id"].as_str().unwrap();
            srv.post(
                &format!("/api/v1/statuses/{id}/favourite"),
                Some(&fan.token),
                &[],
            )
            .await
            .ok();
        }
    }
    let carol_id = srv.lookup_id("carol").await;
    srv.post(
        &format!("/api/v1/accounts/{carol_id}/block"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();

    let tags = srv.get("/api/v1/trends/tags", None).await.ok();
    let names: Vec<&str> = tags
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rust"], "{tags}");
    assert_eq!(tags[0]["history"][0]["accounts"], "2");
    assert_eq!(srv.get("/api/v1/trends", None).await.ok(), tags);
    let statuses = srv.get("/api/v1/trends/statuses", None).await.ok();
    assert_eq!(texts(&statuses), ["a popular post"]);
    assert_eq!(
        srv.get("/api/v1/trends/statuses?offset=1", None).await.ok(),
        json!([])
    );
    // Alice blocked carol: carol is not shown alice's post.
    assert_eq!(
        srv.get("/api/v1/trends/statuses", Some(&carol.token))
            .await
            .ok(),
        json!([])
    );
    // Bad paging is refused, not a 500.
    let r = srv.get("/api/v1/trends/tags?limit=x", None).await;
    assert_eq!(r.status, 422);
    srv.stop().await;
}

/// Suggestions: first whom several of one's follows follow, then the most followed
/// local accounts; never oneself, whom one follows, mutes or dismissed, nor accounts
/// that opted out of discovery.
async fn follow_suggestions(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let mut users = std::collections::HashMap::new();
    for name in ["alice", "bob", "carol", "dave", "erin", "frank", "gina"] {
        users.insert(name, srv.user(name).await);
    }
    srv.update_credentials(&users["frank"].token, &[("discoverable", "false")])
        .await
        .ok();
    let mut ids = std::collections::HashMap::new();
    for name in users.keys() {
        ids.insert(*name, srv.lookup_id(name).await);
    }
    for (who, whom) in [
        ("alice", "bob"),
        ("alice", "carol"),
        ("bob", "dave"),
        ("bob", "frank"),
        ("carol", "dave"),
        ("carol", "erin"),
        ("carol", "frank"),
        ("erin", "gina"),
    ] {
        srv.post(
            &format!("/api/v1/accounts/{}/follow", ids[whom]),
            Some(&users[who].token),
            &[],
        )
        .await
        .ok();
    }
    let alice = &users["alice"];
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| {
                s.get("account").unwrap_or(s)["username"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let v2 = srv
        .get("/api/v2/suggestions", Some(&alice.token))
        .await
        .ok();
    assert_eq!(names(&v2), ["dave", "erin", "gina"], "{v2}");
    assert_eq!(v2[0]["sources"], json!(["friends_of_friends"]));
    assert_eq!(v2[2]["sources"], json!(["most_followed"]));
    assert_eq!(v2[2]["source"], "global");
    let v1 = srv
        .get("/api/v1/suggestions?limit=1", Some(&alice.token))
        .await
        .ok();
    assert_eq!(names(&v1), ["dave"]);

    let r = srv
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/suggestions/{}", ids["dave"]),
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(r.ok(), json!({}));
    srv.post(
        &format!("/api/v1/accounts/{}/mute", ids["gina"]),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    let v2 = srv
        .get("/api/v2/suggestions", Some(&alice.token))
        .await
        .ok();
    assert_eq!(names(&v2), ["erin"], "{v2}");
    let r = srv
        .request(
            reqwest::Method::DELETE,
            "/api/v1/suggestions/123456789",
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(srv.get("/api/v2/suggestions", None).await.status, 401);
    srv.stop().await;
}
