//! Emoji reactions (Pleroma/Akkoma's API): the entity in the Status and the list, the
//! limits and refusals, visibility and blocks, the `pleroma:emoji_reaction`
//! notification (grouped too), the web page; between two Sluices; and reactions from
//! other servers' documents (Misskey, Pleroma) delivered to the inbox.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Db, TestServer, User, eventually, peer};
use crate::inbox::{deliver, federating, settled};

db_tests!(
    reactions_api_limits_and_notifications,
    reactions_cross_two_servers,
    reactions_arrive_from_other_servers,
);

/// A 16×16 GIF header: enough for the sniffing to take it as an image.
const GIF: &[u8] = b"GIF89a\x10\x00\x10\x00\x80\x00\x00;";

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn react(srv: &TestServer, who: &User, id: &str, emoji: &str) -> crate::common::Resp {
    srv.request(
        Method::PUT,
        &format!("/api/v1/pleroma/statuses/{id}/reactions/{}", enc(emoji)),
        Some(&who.token),
        None,
    )
    .await
}

async fn unreact(srv: &TestServer, who: &User, id: &str, emoji: &str) -> crate::common::Resp {
    srv.request(
        Method::DELETE,
        &format!("/api/v1/pleroma/statuses/{id}/reactions/{}", enc(emoji)),
        Some(&who.token),
        None,
    )
    .await
}

/// The `pleroma.emoji_reactions` of a Status, by name.
fn reactions(s: &Value) -> Vec<(String, i64, bool)> {
    s["pleroma"]["emoji_reactions"]
        .as_array()
        .unwrap_or_else(|| panic!("no pleroma.emoji_reactions: {s}"))
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["count"].as_i64().unwrap(),
                r["me"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn notifications_of(srv: &TestServer, who: &User, kind: &str) -> Vec<Value> {
    srv.get("/api/v1/notifications", Some(&who.token))
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == kind)
        .cloned()
        .collect()
}

async fn reactions_api_limits_and_notifications(db: Db) {
    let Some(srv) = TestServer::start(db, |c| c.max_reactions_per_account = 2).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let blob = srv
        .engine()
        .add_custom_emoji("blob_cat", GIF.to_vec().into(), "")
        .await
        .unwrap();
    let blob_url = srv.engine().emoji_url(&blob);
    let post = srv.status(&alice, "react to me", &[]).await;
    let id = post["id"].as_str().unwrap();
    assert_eq!(reactions(&post), vec![], "none yet: {post}");

    // bob reacts: the answer is the post as bob sees it.
    let s = react(&srv, &bob, id, "👍").await.ok();
    assert_eq!(reactions(&s), vec![("👍".into(), 1, true)]);
    assert_eq!(
        s["pleroma"]["emoji_reactions"][0]["account_ids"],
        json!([bob.id])
    );
    assert_eq!(s["pleroma"]["emoji_reactions"][0]["url"], Value::Null);
    assert_eq!(s["favourites_count"], 0, "a reaction is not a favourite");
    // Again: one reaction per emoji.
    let s = react(&srv, &bob, id, "👍").await.ok();
    assert_eq!(reactions(&s), vec![("👍".into(), 1, true)]);
    // A custom emoji of this server, with or without colons.
    let s = react(&srv, &bob, id, ":blob_cat:").await.ok();
    assert_eq!(
        reactions(&s),
        vec![("👍".into(), 1, true), ("blob_cat".into(), 1, true)]
    );
    assert_eq!(s["pleroma"]["emoji_reactions"][1]["url"], blob_url.as_str());
    // The third different one is over the limit (2 here); nothing written.
    let r = react(&srv, &bob, id, "🎉").await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(srv.count("status_reactions").await, 2);
    // Not one emoji: 422, nothing written.
    for bad in [
        "👍👍",
        "hello",
        ":nope:",
        "nope",
        "a👍",
        " ",
        "blob_cat@elsewhere.example",
    ] {
        let r = react(&srv, &carol, id, bad).await;
        assert_eq!(r.status, 422, "{bad:?}: {}", r.text);
    }
    assert_eq!(srv.count("status_reactions").await, 2);
    // A skin tone and an unqualified heart are emoji too.
    let s = react(&srv, &carol, id, "👍🏽").await.ok();
    assert!(reactions(&s).iter().any(|r| r.0 == "👍🏽"), "{s}");
    let s = react(&srv, &carol, id, "\u{2764}").await.ok();
    assert!(reactions(&s).iter().any(|r| r.0 == "❤️"), "{s}");
    unreact(&srv, &carol, id, "👍🏽").await.ok();
    unreact(&srv, &carol, id, "❤️").await.ok();

    // Everyone sees the counts; `me` is the viewer's.
    let anon = srv.get(&format!("/api/v1/statuses/{id}"), None).await.ok();
    assert_eq!(
        reactions(&anon),
        vec![("👍".into(), 1, false), ("blob_cat".into(), 1, false)]
    );
    // A timeline renders them too (a page in one statement).
    let tl = srv
        .get(&format!("/api/v1/accounts/{}/statuses", alice.id), None)
        .await
        .ok();
    assert_eq!(reactions(&tl[0]).len(), 2, "{tl}");

    // The list, with accounts; one emoji's.
    let list = srv
        .get(&format!("/api/v1/pleroma/statuses/{id}/reactions"), None)
        .await
        .ok();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert_eq!(list[0]["name"], "👍");
    assert_eq!(list[0]["count"], 1);
    assert_eq!(list[0]["accounts"][0]["id"], bob.id.as_str());
    assert_eq!(list[1]["url"], blob_url.as_str());
    let one = srv
        .get(
            &format!("/api/v1/pleroma/statuses/{id}/reactions/{}", enc("👍")),
            Some(&bob.token),
        )
        .await
        .ok();
    assert_eq!(one.as_array().unwrap().len(), 1, "{one}");
    assert_eq!(one[0]["me"], true);

    // alice is notified, with the emoji (and the custom one's image).
    let notes = notifications_of(&srv, &alice, "pleroma:emoji_reaction").await;
    assert_eq!(notes.len(), 2, "{notes:?}");
    let thumbs = notes.iter().find(|n| n["emoji"] == "👍").unwrap();
    assert_eq!(thumbs["emoji_url"], Value::Null);
    assert_eq!(thumbs["account"]["id"], bob.id.as_str());
    assert_eq!(thumbs["status"]["id"], id);
    let cat = notes.iter().find(|n| n["emoji"] == "blob_cat").unwrap();
    assert_eq!(cat["emoji_url"], blob_url.as_str());
    // Filtered by type, as Akkoma's clients ask.
    let only = srv
        .get(
            "/api/v1/notifications?types[]=pleroma:emoji_reaction",
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(only.as_array().unwrap().len(), 2, "{only}");
    let none = srv
        .get(
            "/api/v1/notifications?exclude_types[]=pleroma:emoji_reaction",
            Some(&alice.token),
        )
        .await
        .ok();
    assert!(none.as_array().unwrap().is_empty(), "{none}");
    // Grouped: each reaction its own group, with its emoji.
    let grouped = srv
        .get("/api/v2/notifications", Some(&alice.token))
        .await
        .ok();
    let groups = grouped["notification_groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{grouped}");
    for g in groups {
        assert_eq!(g["type"], "pleroma:emoji_reaction");
        assert!(g["group_key"].as_str().unwrap().starts_with("ungrouped-"));
        assert!(g["emoji"] == "👍" || g["emoji"] == "blob_cat", "{g}");
    }
    let key = groups[0]["group_key"].as_str().unwrap();
    let g = srv
        .get(&format!("/api/v2/notifications/{key}"), Some(&alice.token))
        .await;
    assert_eq!(g.status, 200, "{}", g.text);
    // Reacting to one's own post notifies nobody.
    react(&srv, &alice, id, "🎉").await.ok();
    assert_eq!(
        notifications_of(&srv, &alice, "pleroma:emoji_reaction")
            .await
            .len(),
        2
    );

    // The web page shows them with their counts.
    let page = srv
        .http
        .get(format!("{}/@alice/{id}", srv.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("class=\"reactions\""), "{page}");
    let file = blob_url.rsplit('/').next().unwrap();
    assert!(
        page.contains(&format!("{file}\" alt=\":blob_cat:\"")),
        "{page}"
    );
    assert!(page.contains("👍 <span class=\"count\">1</span>"), "{page}");

    // Taken back: gone from the post and the notifications.
    let s = unreact(&srv, &bob, id, "👍").await.ok();
    assert_eq!(
        reactions(&s),
        vec![("blob_cat".into(), 1, true), ("🎉".into(), 1, false)]
    );
    let notes = notifications_of(&srv, &alice, "pleroma:emoji_reaction").await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["emoji"], "blob_cat");
    // Taking back what is not there changes nothing.
    let s = unreact(&srv, &bob, id, "👍").await.ok();
    assert_eq!(reactions(&s).len(), 2);

    // Only what one can see: a followers-only post is 404 to a stranger.
    let private = srv
        .status(&alice, "friends only", &[("visibility", "private")])
        .await;
    let pid = private["id"].as_str().unwrap();
    assert_eq!(react(&srv, &carol, pid, "👍").await.status, 404);
    let r = srv
        .get(&format!("/api/v1/pleroma/statuses/{pid}/reactions"), None)
        .await;
    assert_eq!(r.status, 404);
    // Blocks protect the blocker: carol, blocked by alice, cannot react.
    srv.post(
        &format!("/api/v1/accounts/{}/block", carol.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(react(&srv, &carol, id, "👍").await.status, 404);
    assert_eq!(srv.count("status_reactions").await, 2);
    // A token without write:statuses cannot react.
    let reader = srv.user_with_scopes("dave", "read").await;
    assert_eq!(react(&srv, &reader, id, "👍").await.status, 403);
    // An unknown post.
    assert_eq!(react(&srv, &bob, "999999", "👍").await.status, 404);

    // Deleting the post takes its reactions with it.
    srv.request(
        Method::DELETE,
        &format!("/api/v1/statuses/{id}"),
        Some(&alice.token),
        None,
    )
    .await
    .ok();
    assert_eq!(srv.count("status_reactions").await, 0);
    srv.stop().await;
}

async fn reactions_cross_two_servers(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let a_domain = a.url.trim_start_matches("http://").to_string();
    let blob = a
        .engine()
        .add_custom_emoji("blob_cat", GIF.to_vec().into(), "")
        .await
        .unwrap();
    let blob_url = a.engine().emoji_url(&blob);
    let post = b.status(&bob, "hello from B", &[]).await;
    let on_b = post["id"].as_str().unwrap().to_string();
    // alice opens bob's post on A by its URL.
    let found = a
        .get(
            &format!(
                "/api/v2/search?q={}&resolve=true&type=statuses",
                enc(post["uri"].as_str().unwrap())
            ),
            Some(&alice.token),
        )
        .await
        .ok();
    let on_a = found["statuses"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("bob's post found on A: {found}"))
        .to_string();

    // alice reacts on A; B shows it, and bob is notified.
    react(&a, &alice, &on_a, "🎉").await.ok();
    react(&a, &alice, &on_a, ":blob_cat:").await.ok();
    let remote_name = format!("blob_cat@{a_domain}");
    eventually("alice's reactions on B", async || {
        let s = b
            .get(&format!("/api/v1/statuses/{on_b}"), Some(&bob.token))
            .await
            .ok();
        // The two may arrive in either order (deliveries run in parallel).
        let mut got = reactions(&s);
        got.sort();
        let mut want = vec![
            ("🎉".to_string(), 1, false),
            (remote_name.clone(), 1, false),
        ];
        want.sort();
        got == want
    })
    .await;
    let s = b
        .get(&format!("/api/v1/statuses/{on_b}"), Some(&bob.token))
        .await
        .ok();
    let custom = s["pleroma"]["emoji_reactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == remote_name.as_str())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        custom["url"],
        blob_url.as_str(),
        "the custom emoji's image is A's: {s}"
    );
    let notes = notifications_of(&b, &bob, "pleroma:emoji_reaction").await;
    assert_eq!(notes.len(), 2, "{notes:?}");
    let party = notes.iter().find(|n| n["emoji"] == "🎉").unwrap();
    assert_eq!(party["account"]["acct"], format!("alice@{a_domain}"));
    assert_eq!(party["status"]["id"], on_b.as_str());
    let cat = notes.iter().find(|n| n["emoji"] == remote_name).unwrap();
    assert_eq!(cat["emoji_url"], blob_url.as_str());
    // Not a favourite.
    assert_eq!(s["favourites_count"], 0);

    // alice takes 🎉 back: gone on B, with its notification.
    unreact(&a, &alice, &on_a, "🎉").await.ok();
    eventually("the undone reaction gone from B", async || {
        let s = b.get(&format!("/api/v1/statuses/{on_b}"), None).await.ok();
        reactions(&s) == vec![(remote_name.clone(), 1, false)]
    })
    .await;
    let notes = notifications_of(&b, &bob, "pleroma:emoji_reaction").await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["emoji"], remote_name.as_str());
    a.stop().await;
    b.stop().await;
}

/// A fixture of tests/fixtures/activitypub, its origin and ids moved to the peer's and
/// its object to `object`.
fn fixture(name: &str, peer_url: &str, actor: &str, id: &str, object: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/activitypub/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["actor"] = json!(format!("{peer_url}/users/{actor}"));
    v["id"] = json!(format!("{peer_url}/{id}"));
    v["object"] = json!(object);
    v.as_object_mut().unwrap().remove("signature");
    v
}

async fn reactions_arrive_from_other_servers(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = crate::inbox::peer().await;
    let alice = srv.user("alice").await;
    let post = srv.status(&alice, "react from afar", &[]).await;
    let id = post["id"].as_str().unwrap();
    let uri = post["uri"].as_str().unwrap();
    let status = || async { srv.get(&format!("/api/v1/statuses/{id}"), None).await.ok() };
    let p_domain = p.url.trim_start_matches("http://").to_string();

    // Misskey: a `Like` with `_misskey_reaction` and the custom emoji in `tag`.
    let mut mk = fixture(
        "misskey/custom-emoji-reaction.json",
        &p.url,
        "mk",
        "likes/917ocsybgp",
        uri,
    );
    let emoji_url = format!("{}/files/hanapog.png", p.url);
    mk["tag"][0]["id"] = json!(format!("{}/emojis/hanapog", p.url));
    mk["tag"][0]["icon"]["url"] = json!(emoji_url);
    deliver(&srv, &p, "mk", mk).await;
    // Misskey's old named reaction (`pudding` is 🍮).
    let legacy = fixture("misskey/misskey-like.json", &p.url, "old", "likes/2", uri);
    deliver(&srv, &p, "old", legacy).await;
    // Pleroma's `EmojiReact`.
    let pl = fixture(
        "pleroma/emoji-reaction.json",
        &p.url,
        "lain",
        "reactions/2",
        uri,
    );
    deliver(&srv, &p, "lain", pl).await;
    // A `Like` with `content` is a reaction too; a plain `Like` stays a favourite.
    let actor = format!("{}/users/fav", p.url);
    deliver(
        &srv,
        &p,
        "fav",
        json!({"id": format!("{}/likes/3", p.url), "type": "Like", "actor": actor,
               "object": uri, "content": "🔥"}),
    )
    .await;
    deliver(
        &srv,
        &p,
        "fav",
        json!({"id": format!("{}/likes/4", p.url), "type": "Like", "actor": actor,
               "object": uri}),
    )
    .await;
    settled(&srv).await;
    let s = status().await;
    let names: Vec<String> = reactions(&s).into_iter().map(|r| r.0).collect();
    let hanapog = format!("hanapog@{p_domain}");
    assert_eq!(
        names,
        vec![hanapog.clone(), "🍮".into(), "👌".into(), "🔥".into()],
        "{s}"
    );
    assert_eq!(s["favourites_count"], 1, "the plain Like: {s}");
    let custom = &s["pleroma"]["emoji_reactions"][0];
    assert_eq!(custom["url"], emoji_url.as_str());
    // The remote emoji is remembered as that server's, not offered as ours.
    let ours = srv.get("/api/v1/custom_emojis", None).await.ok();
    assert!(ours.as_array().unwrap().is_empty(), "{ours}");
    let notes = notifications_of(&srv, &alice, "pleroma:emoji_reaction").await;
    assert_eq!(notes.len(), 4, "{notes:?}");
    assert_eq!(
        notifications_of(&srv, &alice, "favourite").await.len(),
        1,
        "the plain Like notifies as a favourite"
    );

    // Not applied, each counted: text that is no emoji, a custom emoji without its
    // image, a reaction to a followers-only post by a stranger.
    let before = srv.count("status_reactions").await;
    let private = srv
        .status(&alice, "followers only", &[("visibility", "private")])
        .await;
    for (n, (content, object)) in [
        ("not an emoji", uri),
        (":mystery:", uri),
        ("👍", private["uri"].as_str().unwrap()),
    ]
    .into_iter()
    .enumerate()
    {
        deliver(
            &srv,
            &p,
            "lain",
            json!({"id": format!("{}/reactions/bad{n}", p.url), "type": "EmojiReact",
                   "actor": format!("{}/users/lain", p.url), "object": object,
                   "content": content}),
        )
        .await;
    }
    settled(&srv).await;
    assert_eq!(srv.count("status_reactions").await, before);
    let refused = srv
        .engine()
        .inbox_ignored
        .snapshot()
        .find(|(r, _)| *r == "reaction_refused")
        .map(|(_, n)| n)
        .unwrap();
    assert_eq!(refused, 3);

    // Undone: Misskey's Undo naming the Like by id; Pleroma's with the activity.
    deliver(
        &srv,
        &p,
        "mk",
        json!({"id": format!("{}/likes/917ocsybgp/undo", p.url), "type": "Undo",
               "actor": format!("{}/users/mk", p.url),
               "object": format!("{}/likes/917ocsybgp", p.url)}),
    )
    .await;
    deliver(
        &srv,
        &p,
        "lain",
        json!({"id": format!("{}/undo/2", p.url), "type": "Undo",
               "actor": format!("{}/users/lain", p.url),
               "object": {"id": format!("{}/reactions/2", p.url), "type": "EmojiReact",
                          "actor": format!("{}/users/lain", p.url), "object": uri,
                          "content": "👌"}}),
    )
    .await;
    settled(&srv).await;
    let s = status().await;
    let names: Vec<String> = reactions(&s).into_iter().map(|r| r.0).collect();
    assert_eq!(names, vec!["🍮".to_string(), "🔥".into()], "{s}");
    let notes = notifications_of(&srv, &alice, "pleroma:emoji_reaction").await;
    assert_eq!(notes.len(), 2, "{notes:?}");
    srv.stop().await;
}
