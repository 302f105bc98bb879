//! The ActivityPub client-to-server API: what a client posts to its outbox is the same
//! post, follow or favourite as the Mastodon API makes, locally and across servers;
//! bad input is refused with the right status; `bcc` never shows.

use serde_json::{Value, json};

use crate::common::{Body, Db, Resp, TestServer, eventually, get_as2, peer};

db_tests!(
    c2s_posts_follows_and_likes_are_mastodon_ones,
    c2s_refuses_bad_input_and_hides_bcc,
    c2s_user_collections,
    proxy_refusals_say_nothing_of_the_network
);

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
const AS2: &str = "application/activity+json";

/// `token`'s relationship to account `id` on `srv`.
async fn relationship(srv: &TestServer, token: &str, id: &str) -> Value {
    srv.get(
        &format!("/api/v1/accounts/relationships?id[]={id}"),
        Some(token),
    )
    .await
    .ok()[0]
        .clone()
}

/// POSTs `doc` to `name`'s outbox with `token`.
async fn post_outbox(srv: &TestServer, name: &str, token: Option<&str>, doc: &Value) -> Resp {
    srv.request(
        reqwest::Method::POST,
        &format!("/users/{name}/outbox"),
        token,
        Some(Body::Raw(AS2, doc.to_string().into_bytes())),
    )
    .await
}

/// Waits until `user` on `srv` has a mention notification of the post `uri`; returns it.
async fn mention_of(srv: &TestServer, token: &str, uri: &str) -> Value {
    let mut found = Value::Null;
    eventually(&format!("a mention notification of {uri}"), async || {
        let n = srv
            .get("/api/v1/notifications?types[]=mention", Some(token))
            .await
            .ok();
        found = n
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["status"]["uri"] == uri)
            .cloned()
            .unwrap_or(Value::Null);
        !found.is_null()
    })
    .await;
    found
}

/// Waits until `srv` no longer shows status `id` to `token`.
async fn gone_from(srv: &TestServer, token: &str, id: &str) {
    eventually(&format!("status {id} to be deleted"), async || {
        srv.get(&format!("/api/v1/statuses/{id}"), Some(token))
            .await
            .status
            == 404
    })
    .await;
}

fn location(r: &Resp) -> String {
    assert_eq!(r.status, 201, "{}", r.text);
    r.headers["location"].to_str().unwrap().to_string()
}

async fn c2s_posts_follows_and_likes_are_mastodon_ones(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = a.user("bob").await;
    let carol = b.user("carol").await;
    let alice_uri = format!("{}/users/alice", a.url);
    let a_domain = a.url.trim_start_matches("http://").to_string();

    // bob (here) and carol (on B) follow alice through the Mastodon API.
    a.post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    crate::common::follow_remote(&b, &carol, &format!("alice@{a_domain}")).await;

    // bob's user stream is open while she posts.
    let mut stream =
        crate::streaming::Sse::open(&a, "/api/v1/streaming/user", &bob.token, None).await;

    // alice posts a bare Note through C2S: wrapped in a Create, 201 with its Location.
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "type": "Note",
            "content": "<p>hello from <em>C2S</em><script>x()</script></p>",
            "to": [PUBLIC],
            "cc": [format!("{alice_uri}/followers")],
        }),
    )
    .await;
    let create_url = location(&r);
    assert_eq!(r.body["type"], "Create", "{}", r.text);
    let create = get_as2(&a, &create_url, Some(&alice.token)).await.ok();
    assert_eq!(create["type"], "Create");
    assert_eq!(create["actor"], alice_uri.as_str());
    let note_id = create["object"]["id"].as_str().unwrap().to_string();
    assert_eq!(create["object"]["type"], "Note");
    assert!(
        !create["object"]["content"]
            .as_str()
            .unwrap()
            .contains("script")
    );
    // Anyone may read a public post's Create.
    assert_eq!(get_as2(&a, &create_url, None).await.status, 200);

    // The same post in bob's Mastodon home timeline and on carol's server.
    let home = a.get("/api/v1/timelines/home", Some(&bob.token)).await.ok();
    let status = home
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uri"] == note_id.as_str())
        .unwrap_or_else(|| panic!("the C2S post in bob's home: {home}"))
        .clone();
    assert!(
        status["content"]
            .as_str()
            .unwrap()
            .contains("hello from <em>C2S</em>")
    );
    assert_eq!(status["visibility"], "public");
    // And in his stream, as any post is.
    let event = stream.next().await;
    assert_eq!(event.event, "update");
    let streamed: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(streamed["uri"], note_id.as_str());
    drop(stream);
    eventually("the C2S post on carol's server", async || {
        let home = b
            .get("/api/v1/timelines/home", Some(&carol.token))
            .await
            .ok();
        home.as_array()
            .unwrap()
            .iter()
            .any(|s| s["uri"] == note_id.as_str())
    })
    .await;

    // An Article: shown with its title by the Mastodon API, federated as an Article.
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Article", "name": "A <title>", "summary": "An abstract", "content": "<p>Body</p>",
                "to": [PUBLIC], "cc": [format!("{alice_uri}/followers")]}),
    )
    .await;
    let article_create = get_as2(&a, &location(&r), None).await.ok();
    let article_id = article_create["object"]["id"].as_str().unwrap().to_string();
    let article = get_as2(&a, &article_id, None).await.ok();
    assert_eq!(article["type"], "Article", "{article}");
    assert_eq!(article["name"], "A <title>");
    assert_eq!(article["content"], "<p>Body</p>");
    let shown = a
        .get("/api/v1/timelines/public?local=true", None)
        .await
        .ok();
    let shown = shown
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uri"] == article_id.as_str())
        .unwrap()
        .clone();
    // Its summary is an abstract, shown after the title, not a content warning.
    assert_eq!(
        shown["content"],
        "<p><strong>A &lt;title&gt;</strong></p><p>An abstract</p><p>Body</p>"
    );
    assert_eq!(shown["spoiler_text"], "");
    assert_eq!(article["summary"], "An abstract");
    // On the other server it is shown the same way, with a link to the original.
    let mut remote = Value::Null;
    eventually("the Article to reach carol", async || {
        let home = b
            .get("/api/v1/timelines/home", Some(&carol.token))
            .await
            .ok();
        remote = home
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["uri"] == article_id.as_str())
            .cloned()
            .unwrap_or(Value::Null);
        !remote.is_null()
    })
    .await;
    let remote_html = remote["content"].as_str().unwrap();
    assert!(
        remote_html
            .starts_with("<p><strong>A &lt;title&gt;</strong></p><p>An abstract</p><p>Body</p>"),
        "{remote_html}"
    );
    assert!(
        remote_html.contains(&format!("href=\"{}", a.url)),
        "{remote_html}"
    );
    assert_eq!(remote["spoiler_text"], "");

    // A partial Update: the given property replaced, a null one removed, the rest kept.
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Update", "object": {"id": article_id, "content": "<p>v1</p>", "name": null, "startTime": "2027-01-01T10:00:00Z"}}),
    )
    .await;
    // The answer is the stored Update (its id has a fragment, as Mastodon's edits).
    assert_eq!(r.body["type"], "Update", "{}", r.text);
    assert_eq!(r.body["id"], location(&r).as_str());
    let article = get_as2(&a, &article_id, None).await.ok();
    assert_eq!(article["type"], "Article", "{article}");
    assert_eq!(article["content"], "<p>v1</p>");
    assert_eq!(article["startTime"], "2027-01-01T10:00:00Z");
    assert!(article.get("name").is_none(), "{article}");
    let edited = a
        .get(
            &format!("/api/v1/statuses/{}", shown["id"].as_str().unwrap()),
            None,
        )
        .await
        .ok();
    assert_eq!(edited["content"], "<p>An abstract</p><p>v1</p>");
    assert!(edited["edited_at"].is_string());
    // Edited through the Mastodon API, it stays an Article.
    a.request(
        reqwest::Method::PUT,
        &format!("/api/v1/statuses/{}", shown["id"].as_str().unwrap()),
        Some(&alice.token),
        Some(Body::Form(vec![("status".into(), "plain now".into())])),
    )
    .await
    .ok();
    assert_eq!(get_as2(&a, &article_id, None).await.ok()["type"], "Article");
    // Nobody else updates it.
    let r = post_outbox(
        &a,
        "bob",
        Some(&bob.token),
        &json!({"type": "Update", "object": {"id": article_id, "content": "mine"}}),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);

    // A Mastodon API post is in the outbox; the owner sees it in the collection itself.
    let posted = a
        .post(
            "/api/v1/statuses",
            Some(&alice.token),
            &[("status", "from the Mastodon API")],
        )
        .await
        .ok();
    let outbox = get_as2(&a, &format!("{alice_uri}/outbox?page=true"), None)
        .await
        .ok();
    assert!(
        outbox["orderedItems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["object"]["id"] == posted["uri"]),
        "{outbox}"
    );
    let own = get_as2(&a, &format!("{alice_uri}/outbox"), Some(&alice.token))
        .await
        .ok();
    assert!(
        own["orderedItems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == create_url.as_str()),
        "{own}"
    );

    // C2S Like and its Undo are the Mastodon API's favourite and unfavourite.
    let bobs = a
        .post(
            "/api/v1/statuses",
            Some(&bob.token),
            &[("status", "bob's post")],
        )
        .await
        .ok();
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Like", "object": bobs["uri"]}),
    )
    .await;
    let like = location(&r);
    // bob's inbox (his alone) holds alice's post and her Like of his.
    let bob_inbox = format!("{}/users/bob/inbox", a.url);
    let inbox = get_as2(&a, &bob_inbox, Some(&bob.token)).await.ok();
    let items = inbox["orderedItems"].as_array().unwrap();
    assert!(
        items.iter().any(|i| i["id"] == create_url.as_str()),
        "{inbox}"
    );
    assert!(
        items
            .iter()
            .any(|i| i["id"] == like.as_str() && i["type"] == "Like"),
        "{inbox}"
    );
    assert_eq!(get_as2(&a, &bob_inbox, None).await.status, 401);
    assert_eq!(
        get_as2(&a, &bob_inbox, Some(&alice.token)).await.status,
        403
    );
    // The owner reads it in the liked collection; others see no items.
    let liked = get_as2(
        &a,
        &format!("{alice_uri}/liked?page=true"),
        Some(&alice.token),
    )
    .await
    .ok();
    assert_eq!(liked["orderedItems"][0], bobs["uri"], "{liked}");
    let public = get_as2(&a, &format!("{alice_uri}/liked?page=true"), None)
        .await
        .ok();
    assert_eq!(public["type"], "OrderedCollection");
    assert!(public.get("orderedItems").is_none() && public.get("first").is_none());
    let seen = a
        .get(
            &format!("/api/v1/statuses/{}", bobs["id"].as_str().unwrap()),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(seen["favourited"], true);
    assert_eq!(seen["favourites_count"], 1);
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Undo", "object": like}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let seen = a
        .get(
            &format!("/api/v1/statuses/{}", bobs["id"].as_str().unwrap()),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(seen["favourited"], false);

    // C2S Follow of carol on B is a Mastodon API follow; Undo (embedded) unfollows.
    let carol_uri = format!("{}/users/carol", b.url);

    // The actor names its C2S endpoints; the proxy reads remote objects for a user.
    let me = get_as2(&a, &alice_uri, None).await.ok();
    assert_eq!(me["liked"], format!("{alice_uri}/liked"));
    assert_eq!(
        me["endpoints"]["oauthTokenEndpoint"],
        format!("{}/oauth/token", a.url)
    );
    let proxy = me["endpoints"]["proxyUrl"].as_str().unwrap().to_string();
    let proxied = a
        .http
        .post(&proxy)
        .bearer_auth(&alice.token)
        .form(&[("id", carol_uri.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 200);
    let carol_doc: Value = proxied.json().await.unwrap();
    assert_eq!(carol_doc["preferredUsername"], "carol");
    let local = a
        .http
        .post(&proxy)
        .bearer_auth(&alice.token)
        .form(&[("id", bobs["uri"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(local.status(), 200);
    let anonymous = a
        .http
        .post(&proxy)
        .form(&[("id", carol_uri.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let junk = a
        .http
        .post(&proxy)
        .bearer_auth(&alice.token)
        .form(&[("id", "not a url")])
        .send()
        .await
        .unwrap();
    assert_eq!(junk.status(), 400);
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Follow", "object": carol_uri}),
    )
    .await;
    location(&r);
    let carol_on_a = a
        .get(
            &format!(
                "/api/v1/accounts/lookup?acct=carol@{}",
                b.url.trim_start_matches("http://")
            ),
            None,
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    eventually("alice to follow carol", async || {
        relationship(&a, &alice.token, &carol_on_a).await["following"] == true
    })
    .await;
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Undo", "object": {"type": "Follow", "object": carol_uri}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let rel = relationship(&a, &alice.token, &carol_on_a).await;
    assert_eq!(rel["following"], false);
    assert_eq!(rel["requested"], false);

    // C2S Delete: the post is gone from the Mastodon API.
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Delete", "object": note_id}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let gone = a
        .get(
            &format!("/api/v1/statuses/{}", status["id"].as_str().unwrap()),
            Some(&alice.token),
        )
        .await;
    assert_eq!(gone.status, 404);
    // Its object is a Tombstone now (410), for anyone.
    let tomb = get_as2(&a, &note_id, None).await;
    assert_eq!(tomb.status, 410, "{}", tomb.text);
    assert_eq!(tomb.body["type"], "Tombstone");
    assert_eq!(get_as2(&a, &note_id, Some(&alice.token)).await.status, 410);
    // A post that never was is not found.
    let never = get_as2(&a, &format!("{alice_uri}/statuses/1"), None).await;
    assert_eq!(never.status, 404);

    // A blind copy to carol on B: delivered to her own inbox, addressed to nobody she
    // can see; B makes her a silent recipient (notified, may read it, never listed).
    let carol_uri = format!("{}/users/carol", b.url);
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Note", "content": "<p>just between us</p>", "to": [], "bcc": [carol_uri]}),
    )
    .await;
    let secret_uri = get_as2(&a, &location(&r), Some(&alice.token)).await.ok()["object"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let note = mention_of(&b, &carol.token, &secret_uri).await;
    assert_eq!(note["status"]["visibility"], "direct");
    assert_eq!(note["status"]["mentions"], json!([]));
    let sid = note["status"]["id"].as_str().unwrap();
    b.get(&format!("/api/v1/statuses/{sid}"), Some(&carol.token))
        .await
        .ok();
    // Nobody else on B sees it.
    let dave = b.user("dave").await;
    b.get(&format!("/api/v1/statuses/{sid}"), Some(&dave.token))
        .await
        .expect(404);
    // Its delete reaches the blind-copied too (at her own inbox, unnamed).
    post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Delete", "object": secret_uri}),
    )
    .await;
    gone_from(&b, &carol.token, sid).await;
    // So does the delete of a direct message to a mentioned remote account.
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Note", "content": "<p>a direct word</p>", "to": [carol_uri]}),
    )
    .await;
    let dm = get_as2(&a, &location(&r), Some(&alice.token)).await.ok()["object"].clone();
    let dm_uri = dm["id"].as_str().unwrap().to_string();
    let dm_on_b = mention_of(&b, &carol.token, &dm_uri).await["status"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Delete", "object": dm_uri}),
    )
    .await;
    gone_from(&b, &carol.token, &dm_on_b).await;
    a.stop().await;
    b.stop().await;
}

async fn c2s_refuses_bad_input_and_hides_bcc(db: Db) {
    let Some(a) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = a.user("bob").await;
    let dave = a.user("dave").await;
    let alice_uri = format!("{}/users/alice", a.url);
    let note = json!({"type": "Note", "content": "x", "to": [PUBLIC]});
    let before = a.count("statuses").await;

    // A browser client's preflight is answered (CORS, as the REST API).
    let preflight = a
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/users/alice/outbox", a.url),
        )
        .header("origin", "https://client.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");

    // Scopes are asked per activity, as the Mastodon API asks them for the same action.
    a.user("erin").await;
    let erin_uri = format!("{}/users/erin", a.url);
    let follows_only = a.password_token("alice", "write:follows").await;
    let r = post_outbox(&a, "alice", Some(&follows_only), &note).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let likes_only = a.password_token("alice", "write:favourites").await;
    let follow = json!({"type": "Follow", "object": erin_uri});
    let r = post_outbox(&a, "alice", Some(&likes_only), &follow).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = post_outbox(&a, "alice", Some(&follows_only), &follow).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = post_outbox(
        &a,
        "alice",
        Some(&follows_only),
        &json!({"type": "Undo", "object": {"type": "Follow", "object": erin_uri}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);

    // No token, someone else's token, someone else's actor or object.
    assert_eq!(post_outbox(&a, "alice", None, &note).await.status, 401);
    assert_eq!(
        post_outbox(&a, "alice", Some(&bob.token), &note)
            .await
            .status,
        403
    );
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Create", "actor": format!("{}/users/bob", a.url), "object": note}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Note", "attributedTo": format!("{}/users/bob", a.url), "content": "x"}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // Malformed, untyped, missing or unknown objects.
    for (body, want) in [
        (b"{\"type\": ".to_vec(), 400),
        (b"[1, 2]".to_vec(), 400),
        (b"{\"content\": \"no type\"}".to_vec(), 400),
        (b"{\"type\": \"Like\"}".to_vec(), 400),
        (
            b"{\"type\": \"Create\", \"object\": \"https://example.invalid/x\"}".to_vec(),
            400,
        ),
    ] {
        let r = a
            .request(
                reqwest::Method::POST,
                "/users/alice/outbox",
                Some(&alice.token),
                Some(Body::Raw(AS2, body.clone())),
            )
            .await;
        assert_eq!(
            r.status,
            want,
            "{}: {}",
            String::from_utf8_lossy(&body),
            r.text
        );
    }
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Like", "object": format!("{}/users/bob/statuses/1", a.url)}),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(a.count("statuses").await, before, "nothing half-written");

    // Types by full IRI are the vocabulary's short names.
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "https://www.w3.org/ns/activitystreams#Note", "content": "by IRI", "to": [PUBLIC]}),
    )
    .await;
    location(&r);
    assert_eq!(r.body["type"], "Create", "{}", r.text);
    assert_eq!(r.body["object"]["type"], "Note", "{}", r.text);

    // An activity type with no effect here is stored, readable by its owner only
    // when not public.
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Listen", "object": "https://music.example/track/1"}),
    )
    .await;
    let listen = location(&r);
    let stored = get_as2(&a, &listen, Some(&alice.token)).await.ok();
    assert_eq!(stored["type"], "Listen");
    assert_eq!(stored["actor"], alice_uri.as_str());
    assert_eq!(get_as2(&a, &listen, None).await.status, 404);
    assert_eq!(get_as2(&a, &listen, Some(&bob.token)).await.status, 404);

    // A Note to bob with dave in bcc: dave may read it and is told, but nobody sees
    // him, not even in the stored documents.
    let dave_uri = format!("{}/users/dave", a.url);
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({
            "type": "Note",
            "content": "<p>for bob, and one more</p>",
            "to": [format!("{}/users/bob", a.url)],
            "bcc": [dave_uri],
        }),
    )
    .await;
    let create_url = location(&r);
    assert!(!r.text.contains("dave"), "{}", r.text);
    let create = get_as2(&a, &create_url, Some(&alice.token)).await.ok();
    assert!(!create.to_string().contains("dave"), "{create}");
    let note_uri = create["object"]["id"].as_str().unwrap().to_string();
    assert!(
        !get_as2(&a, &note_uri, Some(&alice.token))
            .await
            .text
            .contains("dave")
    );
    let id = note_uri.rsplit('/').next().unwrap();
    for who in [&alice, &bob, &dave] {
        let s = a
            .get(&format!("/api/v1/statuses/{id}"), Some(&who.token))
            .await
            .ok();
        assert_eq!(s["visibility"], "direct");
        let mentions: Vec<&str> = s["mentions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["username"].as_str().unwrap())
            .collect();
        assert_eq!(mentions, vec!["bob"], "dave is never shown");
    }
    let notes = a.get("/api/v1/notifications", Some(&dave.token)).await.ok();
    assert!(
        notes
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["status"]["id"] == id),
        "dave is told: {notes}"
    );
    let in_inbox = async |who: &str, token: &str| {
        let inbox = get_as2(&a, &format!("{}/users/{who}/inbox", a.url), Some(token))
            .await
            .ok();
        inbox["orderedItems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == create_url.as_str())
    };
    assert!(in_inbox("bob", &bob.token).await);
    assert!(
        in_inbox("dave", &dave.token).await,
        "a bcc recipient receives it"
    );
    // Outsiders cannot read it.
    let carl = a.user("carl").await;
    assert!(!in_inbox("carl", &carl.token).await);
    assert_eq!(
        a.get(&format!("/api/v1/statuses/{id}"), Some(&carl.token))
            .await
            .status,
        404
    );
    assert_eq!(
        get_as2(&a, &create_url, Some(&carl.token)).await.status,
        404
    );
    assert_eq!(get_as2(&a, &note_uri, None).await.status, 404);
    a.stop().await;
}

async fn c2s_user_collections(db: Db) {
    let Some(a) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = a.user("bob").await;
    let alice_uri = format!("{}/users/alice", a.url);
    let first = "https://books.example/1";
    let second = "https://books.example/2";

    // Created with one item; Add and Remove change it, newest first.
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "OrderedCollection", "name": "Reading list", "to": [PUBLIC], "orderedItems": [first]}),
    )
    .await;
    let create = get_as2(&a, &location(&r), None).await.ok();
    assert_eq!(create["type"], "Create");
    let list = create["object"]["id"].as_str().unwrap().to_string();
    assert!(
        list.starts_with(&format!("{alice_uri}/collections/")),
        "{list}"
    );
    let doc = get_as2(&a, &list, None).await.ok();
    assert_eq!(doc["type"], "OrderedCollection");
    assert_eq!(doc["name"], "Reading list");
    assert_eq!(doc["totalItems"], 1);
    assert_eq!(doc["orderedItems"], json!([first]));
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Add", "object": second, "target": list}),
    )
    .await;
    let add = get_as2(&a, &location(&r), None).await.ok();
    assert_eq!(add["type"], "Add");
    assert_eq!(add["target"], list.as_str());
    let doc = get_as2(&a, &list, None).await.ok();
    assert_eq!(doc["totalItems"], 2);
    assert_eq!(doc["orderedItems"], json!([second, first]));
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Remove", "object": first, "target": list}),
    )
    .await;
    location(&r);
    assert_eq!(
        get_as2(&a, &list, None).await.ok()["orderedItems"],
        json!([second])
    );
    // The actor lists its public collections.
    let me = get_as2(&a, &alice_uri, None).await.ok();
    assert_eq!(me["streams"], json!([list]));

    // Only its owner changes it; only URLs go in; a giant one is refused whole.
    let r = post_outbox(
        &a,
        "bob",
        Some(&bob.token),
        &json!({"type": "Add", "object": first, "target": list}),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Add", "object": "not a url", "target": list}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let giant: Vec<String> = (0..501)
        .map(|i| format!("https://books.example/{i}"))
        .collect();
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Collection", "items": giant}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(a.count("collections").await, 1, "nothing half-written");

    // A collection addressed to nobody: its owner's alone.
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Collection", "name": "Private"}),
    )
    .await;
    let private = get_as2(&a, &location(&r), Some(&alice.token)).await.ok()["object"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        get_as2(&a, &private, Some(&alice.token)).await.ok()["items"],
        json!([])
    );
    assert_eq!(get_as2(&a, &private, None).await.status, 404);
    assert_eq!(get_as2(&a, &private, Some(&bob.token)).await.status, 404);

    // Deleted: gone.
    let r = post_outbox(
        &a,
        "alice",
        Some(&alice.token),
        &json!({"type": "Delete", "object": list}),
    )
    .await;
    location(&r);
    assert_eq!(get_as2(&a, &list, None).await.status, 404);
    assert_eq!(a.count("collection_items").await, 0);
    a.stop().await;
}

/// The proxy's refusals are one generic answer: what an internal name resolves to, or
/// why an address is refused, is not the client's business (issue 13, item 7).
async fn proxy_refusals_say_nothing_of_the_network(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let mut answers = Vec::new();
    for target in [
        "https://localhost/users/x",
        "https://127.0.0.2/secret",
        "https://[::1]:8443/x",
        "https://localhost:1/",
    ] {
        let r = srv
            .post("/api/ap/proxy", Some(&alice.token), &[("id", target)])
            .await;
        for leak in [
            "127.0.0",
            "::1",
            "loopback",
            "allowed",
            "resolve",
            "localhost",
        ] {
            assert!(!r.text.contains(leak), "{target}: {}", r.text);
        }
        answers.push((r.status.as_u16(), r.body));
    }
    assert_eq!(answers[0].0, 502);
    assert_eq!(
        answers[0].1,
        json!({"error": "The object could not be fetched"})
    );
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    srv.stop().await;
}
