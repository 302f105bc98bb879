//! Lists and user-level domain blocks: the Mastodon API, the list timeline, exclusive
//! lists, and the `list` stream; a blocked domain's posts gone from timelines,
//! notifications and streams, and its accounts no longer following the user.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sluice_engine::remote::{RemoteActivity, RemoteNote};
use sluice_store::{AccountRow, NewRelation, Relation, RemoteActor};

use crate::common::{Body, Db, TestServer, User, ids};

db_tests!(
    lists_crud_and_membership,
    list_timeline_replies_and_exclusive,
    domain_blocks_api_and_effects,
    list_stream_and_blocked_domains_in_streams
);

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

async fn send(srv: &TestServer, method: Method, path: &str, user: &User, v: Value) -> Value {
    srv.request(method, path, Some(&user.token), Some(Body::Json(v)))
        .await
        .ok()
}

async fn follow(srv: &TestServer, who: &User, whom: &User) {
    srv.post(
        &format!("/api/v1/accounts/{}/follow", whom.id),
        Some(&who.token),
        &[],
    )
    .await
    .ok();
}

async fn new_list(srv: &TestServer, user: &User, title: &str) -> String {
    let l = srv
        .post("/api/v1/lists", Some(&user.token), &[("title", title)])
        .await
        .ok();
    l["id"].as_str().unwrap().to_string()
}

/// A remote account on `domain`, stored as the inbox would store it.
async fn remote_actor(srv: &TestServer, name: &str, domain: &str) -> AccountRow {
    let engine = srv.engine();
    let now = sluice_model::id::now_millis();
    let base = format!("https://{domain}");
    let mut tx = engine.store_for_tests().begin().await.unwrap();
    let id = tx
        .upsert_remote_actor(
            engine.ids.next(),
            &RemoteActor {
                uri: format!("{base}/users/{name}"),
                username: name.into(),
                domain: domain.into(),
                actor_type: "Person".into(),
                display_name: name.into(),
                note: String::new(),
                url: format!("{base}/@{name}"),
                inbox_url: format!("{base}/users/{name}/inbox"),
                shared_inbox_url: format!("{base}/inbox"),
                outbox_url: String::new(),
                followers_url: format!("{base}/users/{name}/followers"),
                following_url: String::new(),
                featured_url: String::new(),
                featured_tags_url: String::new(),
                avatar_url: String::new(),
                header_url: String::new(),
                locked: false,
                bot: false,
                discoverable: true,
                indexable: true,
                fields: "[]".into(),
                also_known_as: "[]".into(),
                created_at: now,
            },
            now,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    engine.store_for_tests().account(id).await.unwrap().unwrap()
}

/// `a` follows `b` (rows written directly: a remote follow needs no handshake here).
async fn insert_follow(srv: &TestServer, a: i64, b: i64) {
    let engine = srv.engine();
    let mut tx = engine.store_for_tests().begin().await.unwrap();
    tx.insert_relation(
        Relation::Follow,
        &NewRelation {
            id: engine.ids.next(),
            account_id: a,
            target_account_id: b,
            uri: format!("https://example.invalid/follows/{a}/{b}"),
            flag_a: true,
            flag_b: false,
            expires_at: None,
            created_at: sluice_model::id::now_millis(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// A public post of a remote actor, through the engine's inbound pipeline.
async fn remote_post(
    srv: &TestServer,
    actor: &AccountRow,
    n: u32,
    text: &str,
    mention: Option<&str>,
) -> String {
    let uri = format!("{}/notes/{n}", actor.uri);
    let note = RemoteNote {
        uri: uri.clone(),
        url: uri.clone(),
        object_type: "Note".into(),
        content: format!("<p>{text}</p>"),
        published: sluice_model::id::now_millis(),
        to: vec![PUBLIC.into()],
        cc: vec![actor.followers_url.clone()],
        mentions: mention.map(|m| vec![m.to_string()]).unwrap_or_default(),
        tags: vec!["lists".into()],
        ..Default::default()
    };
    let activity = RemoteActivity {
        uri: format!("{uri}/activity"),
        kind: "Create".into(),
        object_uri: uri.clone(),
        to: note.to.clone(),
        cc: note.cc.clone(),
        json: "{}".into(),
    };
    let out = srv
        .engine()
        .remote_create_note(actor, &activity, &note)
        .await
        .unwrap();
    out.status.unwrap().to_string()
}

async fn lists_crud_and_membership(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let dave = srv.user("dave").await;
    follow(&srv, &alice, &bob).await;
    follow(&srv, &alice, &dave).await;

    assert_eq!(
        srv.get("/api/v1/lists", Some(&alice.token)).await.ok(),
        json!([])
    );
    let l = srv
        .post(
            "/api/v1/lists",
            Some(&alice.token),
            &[("title", " Friends ")],
        )
        .await
        .ok();
    assert_eq!(l["title"], "Friends");
    assert_eq!(l["replies_policy"], "list");
    assert_eq!(l["exclusive"], false);
    let id = l["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/lists/{id}");

    // Bad input: clear 422s.
    for form in [
        vec![("title", "")],
        vec![("title", &*"x".repeat(257))],
        vec![("title", "ok"), ("replies_policy", "everyone")],
        vec![("title", "ok"), ("exclusive", "maybe")],
    ] {
        let r = srv.post("/api/v1/lists", Some(&alice.token), &form).await;
        assert_eq!(r.status, 422, "{form:?}: {}", r.text);
        assert!(
            r.body["error"]
                .as_str()
                .unwrap()
                .contains("Validation failed")
        );
    }

    // Show and update (JSON body), partial: the title stays when not sent.
    assert_eq!(
        srv.get(&path, Some(&alice.token)).await.ok()["title"],
        "Friends"
    );
    let u = send(
        &srv,
        Method::PUT,
        &path,
        &alice,
        json!({"replies_policy": "followed", "exclusive": true}),
    )
    .await;
    assert_eq!(
        (
            u["title"].as_str(),
            u["replies_policy"].as_str(),
            u["exclusive"].as_bool()
        ),
        (Some("Friends"), Some("followed"), Some(true))
    );
    assert_eq!(
        srv.get("/api/v1/lists", Some(&alice.token)).await.ok(),
        json!([u])
    );

    // Someone else's list does not exist for them.
    assert!(
        srv.get("/api/v1/lists", Some(&carol.token))
            .await
            .ok()
            .as_array()
            .unwrap()
            .is_empty()
    );
    srv.get(&path, Some(&carol.token)).await.expect(404);
    srv.request(
        Method::PUT,
        &path,
        Some(&carol.token),
        Some(Body::Json(json!({"title": "mine"}))),
    )
    .await
    .expect(404);
    srv.request(Method::DELETE, &path, Some(&carol.token), None)
        .await
        .expect(404);
    srv.get(&format!("{path}/accounts"), Some(&carol.token))
        .await
        .expect(404);
    srv.post(
        &format!("{path}/accounts"),
        Some(&carol.token),
        &[("account_ids[]", &alice.id)],
    )
    .await
    .expect(404);
    srv.get(&format!("/api/v1/timelines/list/{id}"), Some(&carol.token))
        .await
        .expect(404);
    srv.get("/api/v1/lists/nonsense", Some(&alice.token))
        .await
        .expect(404);

    // Scopes: read:lists reads, write:lists writes.
    let reader = srv.password_token("alice", "read:lists").await;
    srv.get(&path, Some(&reader)).await.ok();
    srv.post("/api/v1/lists", Some(&reader), &[("title", "no")])
        .await
        .expect(403);
    let statuses_only = srv.password_token("alice", "read:statuses").await;
    srv.get("/api/v1/lists", Some(&statuses_only))
        .await
        .expect(403);

    // Members: only followed accounts (form and JSON bodies).
    let members = format!("{path}/accounts");
    srv.post(&members, Some(&alice.token), &[("account_ids[]", &bob.id)])
        .await
        .ok();
    let r = srv
        .post_json(
            &members,
            Some(&alice.token),
            json!({"account_ids": [carol.id]}),
        )
        .await;
    assert_eq!(r.status, 422, "not followed: {}", r.text);
    srv.post_json(
        &members,
        Some(&alice.token),
        json!({"account_ids": ["999999999"]}),
    )
    .await
    .expect(404);
    srv.post(&members, Some(&alice.token), &[])
        .await
        .expect(422);
    send(
        &srv,
        Method::POST,
        &members,
        &alice,
        json!({"account_ids": [dave.id, bob.id]}),
    )
    .await;
    let all = srv.get(&members, Some(&alice.token)).await.ok();
    let mut got = ids(&all);
    got.sort();
    let mut want = vec![bob.id.clone(), dave.id.clone()];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        ids(&srv
            .get(&format!("{members}?limit=0"), Some(&alice.token))
            .await
            .ok())
        .len(),
        2
    );
    // Paged by member, with Mastodon's Link header.
    let first = srv
        .get(&format!("{members}?limit=1"), Some(&alice.token))
        .await;
    assert!(first.link().contains("rel=\"next\""), "{}", first.link());
    let next_url = first
        .link()
        .split(", ")
        .find(|p| p.contains("rel=\"next\""))
        .unwrap()
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_string();
    let first_ids = ids(&first.body);
    let second = srv
        .get(next_url.trim_start_matches(&srv.url), Some(&alice.token))
        .await
        .ok();
    assert_eq!(first_ids.len() + ids(&second).len(), 2);
    assert_ne!(first_ids, ids(&second));
    assert_eq!(
        ids(&srv
            .get(
                &format!("/api/v1/accounts/{}/lists", bob.id),
                Some(&alice.token)
            )
            .await
            .ok()),
        vec![id.clone()]
    );
    assert!(
        srv.get(
            &format!("/api/v1/accounts/{}/lists", carol.id),
            Some(&alice.token)
        )
        .await
        .ok()
        .as_array()
        .unwrap()
        .is_empty()
    );

    // Unfollowing takes the account out of the lists; removal by request too.
    srv.post(
        &format!("/api/v1/accounts/{}/unfollow", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(
        ids(&srv.get(&members, Some(&alice.token)).await.ok()),
        vec![dave.id.clone()]
    );
    srv.request(
        Method::DELETE,
        &members,
        Some(&alice.token),
        Some(Body::Form(vec![("account_ids[]".into(), dave.id.clone())])),
    )
    .await
    .ok();
    assert!(
        srv.get(&members, Some(&alice.token))
            .await
            .ok()
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Delete.
    assert_eq!(
        srv.request(Method::DELETE, &path, Some(&alice.token), None)
            .await
            .ok(),
        json!({})
    );
    srv.get(&path, Some(&alice.token)).await.expect(404);

    // At most MAX_LISTS lists.
    for i in 0..sluice_engine::lists::MAX_LISTS {
        new_list(&srv, &carol, &format!("list {i}")).await;
    }
    let r = srv
        .post(
            "/api/v1/lists",
            Some(&carol.token),
            &[("title", "one more")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    srv.stop().await;
}

async fn list_timeline_replies_and_exclusive(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let dave = srv.user("dave").await;
    for u in [&bob, &carol, &dave] {
        follow(&srv, &alice, u).await;
    }
    let id = new_list(&srv, &alice, "Close").await;
    srv.post_json(
        &format!("/api/v1/lists/{id}/accounts"),
        Some(&alice.token),
        json!({"account_ids": [bob.id, carol.id]}),
    )
    .await
    .ok();
    let b1 = srv.status(&bob, "bob one", &[]).await;
    let d1 = srv.status(&dave, "dave one", &[]).await;
    let c_to_b = srv
        .status(
            &carol,
            "@bob to a member",
            &[("in_reply_to_id", b1["id"].as_str().unwrap())],
        )
        .await;
    let c_to_d = srv
        .status(
            &carol,
            "@dave to a followed non-member",
            &[("in_reply_to_id", d1["id"].as_str().unwrap())],
        )
        .await;
    let b_dm = srv
        .status(&bob, "@alice secret", &[("visibility", "direct")])
        .await;
    let b_private = srv
        .status(&bob, "followers only", &[("visibility", "private")])
        .await;
    let sid = |v: &Value| v["id"].as_str().unwrap().to_string();
    let timeline = format!("/api/v1/timelines/list/{id}");
    let read = async |q: &str| {
        ids(&srv
            .get(&format!("{timeline}{q}"), Some(&alice.token))
            .await
            .ok())
    };

    // replies_policy=list (the default): replies to members only.
    assert_eq!(
        read("").await,
        vec![sid(&b_private), sid(&c_to_b), sid(&b1)]
    );
    assert!(!read("").await.contains(&sid(&b_dm)), "no direct messages");
    let set = async |body: Value| {
        send(
            &srv,
            Method::PUT,
            &format!("/api/v1/lists/{id}"),
            &alice,
            body,
        )
        .await;
    };
    set(json!({"replies_policy": "followed"})).await;
    assert_eq!(
        read("").await,
        vec![sid(&b_private), sid(&c_to_d), sid(&c_to_b), sid(&b1)]
    );
    set(json!({"replies_policy": "none"})).await;
    assert_eq!(read("").await, vec![sid(&b_private), sid(&b1)]);

    // Paged like home.
    let page = srv
        .get(&format!("{timeline}?limit=1"), Some(&alice.token))
        .await;
    assert_eq!(ids(&page.body), vec![sid(&b_private)]);
    assert!(
        page.link().contains(&format!("max_id={}", sid(&b_private))),
        "{}",
        page.link()
    );
    assert_eq!(
        read(&format!("?max_id={}", sid(&b_private))).await,
        vec![sid(&b1)]
    );

    // A muted member is hidden here too.
    srv.post(
        &format!("/api/v1/accounts/{}/mute", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    assert!(read("").await.is_empty());
    srv.post(
        &format!("/api/v1/accounts/{}/unmute", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();

    // Exclusive: members' posts leave home (dave's stay), and come back when it is not.
    let home = async || {
        ids(&srv
            .get("/api/v1/timelines/home", Some(&alice.token))
            .await
            .ok())
    };
    assert!(home().await.contains(&sid(&b1)));
    set(json!({"exclusive": true})).await;
    let h = home().await;
    assert!(
        !h.contains(&sid(&b1)) && !h.contains(&sid(&c_to_b)),
        "{h:?}"
    );
    assert!(h.contains(&sid(&d1)), "{h:?}");
    set(json!({"exclusive": false})).await;
    assert!(home().await.contains(&sid(&b1)));
    srv.stop().await;
}

async fn domain_blocks_api_and_effects(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let alice_id: i64 = alice.id.parse().unwrap();
    let mallory = remote_actor(&srv, "mallory", "evil.example").await;
    let trent = remote_actor(&srv, "trent", "evil.example").await;
    let walter = remote_actor(&srv, "walter", "good.example").await;
    // alice follows mallory; trent and walter follow alice.
    insert_follow(&srv, alice_id, mallory.id).await;
    insert_follow(&srv, trent.id, alice_id).await;
    insert_follow(&srv, walter.id, alice_id).await;
    let alice_uri = format!("{}/users/alice", srv.url);
    let evil = remote_post(&srv, &mallory, 1, "hello #lists @alice", Some(&alice_uri)).await;
    let good = remote_post(&srv, &walter, 1, "fine #lists", None).await;
    let seen = async |path: &str, token: Option<&str>| ids(&srv.get(path, token).await.ok());
    let a = Some(alice.token.as_str());
    assert!(seen("/api/v1/timelines/public", a).await.contains(&evil));
    assert!(seen("/api/v1/timelines/home", a).await.contains(&evil));
    assert_eq!(
        srv.get("/api/v1/notifications", a)
            .await
            .ok()
            .as_array()
            .unwrap()
            .len(),
        1,
        "mentioned before the block"
    );

    // Bad input.
    for bad in ["", "  ", "a b", "evil.example/path"] {
        let r = srv
            .post("/api/v1/domain_blocks", a, &[("domain", bad)])
            .await;
        assert_eq!(r.status, 422, "{bad:?}: {}", r.text);
    }
    let own = srv.engine().urls.domain().to_string();
    srv.post("/api/v1/domain_blocks", a, &[("domain", &own)])
        .await
        .expect(422);
    srv.post(
        "/api/v1/domain_blocks",
        Some(&srv.password_token("alice", "read").await),
        &[("domain", "x.example")],
    )
    .await
    .expect(403);

    let rejects_before = srv.count("activities WHERE kind = 'Reject'").await;
    assert_eq!(
        srv.post("/api/v1/domain_blocks", a, &[("domain", "Evil.Example")])
            .await
            .ok(),
        json!({})
    );
    // Again: nothing changes.
    srv.post_json(
        "/api/v1/domain_blocks",
        a,
        json!({"domain": "evil.example"}),
    )
    .await
    .ok();
    assert_eq!(
        srv.get("/api/v1/domain_blocks", a).await.ok(),
        json!(["evil.example"])
    );
    let rel = srv
        .get(
            &format!(
                "/api/v1/accounts/relationships?id[]={}&id[]={}",
                mallory.id, walter.id
            ),
            a,
        )
        .await
        .ok();
    assert_eq!(rel[0]["domain_blocking"], true);
    assert_eq!(rel[1]["domain_blocking"], false);

    // Gone from alice's timelines and notifications; others still see it.
    for path in [
        "/api/v1/timelines/public",
        "/api/v1/timelines/tag/lists",
        "/api/v1/timelines/home",
    ] {
        let got = seen(path, a).await;
        assert!(!got.contains(&evil), "{path}: {got:?}");
    }
    assert!(seen("/api/v1/timelines/public", a).await.contains(&good));
    assert!(seen("/api/v1/timelines/public", None).await.contains(&evil));
    assert!(
        seen("/api/v1/timelines/public", Some(&bob.token))
            .await
            .contains(&evil)
    );
    assert!(
        srv.get("/api/v1/notifications", a)
            .await
            .ok()
            .as_array()
            .unwrap()
            .is_empty()
    );
    // New mentions from there notify no one.
    remote_post(&srv, &mallory, 2, "again @alice", Some(&alice_uri)).await;
    assert!(
        srv.get("/api/v1/notifications", a)
            .await
            .ok()
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Its accounts no longer follow alice, and each was sent a Reject.
    let followers = seen(&format!("/api/v1/accounts/{}/followers", alice.id), a).await;
    assert_eq!(followers, vec![walter.id.to_string()]);
    assert_eq!(
        srv.count("activities WHERE kind = 'Reject'").await,
        rejects_before + 1
    );

    // Paging with Link headers.
    for d in ["a.example", "b.example"] {
        srv.post("/api/v1/domain_blocks", a, &[("domain", d)])
            .await
            .ok();
    }
    let page = srv.get("/api/v1/domain_blocks?limit=2", a).await;
    assert_eq!(page.body, json!(["b.example", "a.example"]));
    assert!(page.link().contains("rel=\"next\""), "{}", page.link());
    let next = page
        .link()
        .split('<')
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        srv.get(next.trim_start_matches(&srv.url), a).await.ok(),
        json!(["evil.example"])
    );

    // Unblocked (DELETE with a query parameter): seen again.
    srv.request(
        Method::DELETE,
        "/api/v1/domain_blocks?domain=evil.example",
        a,
        None,
    )
    .await
    .ok();
    assert!(seen("/api/v1/timelines/public", a).await.contains(&evil));
    assert_eq!(
        srv.get("/api/v1/domain_blocks", a).await.ok(),
        json!(["b.example", "a.example"])
    );
    srv.stop().await;
}

/// One SSE event.
#[derive(Debug)]
struct SseEvent {
    event: String,
    data: String,
}

/// A minimal SSE reader (the streaming tests have the full one).
struct Sse {
    response: reqwest::Response,
    buffer: String,
}

impl Sse {
    async fn open(srv: &TestServer, path: &str, token: &str) -> Sse {
        let response = srv
            .http
            .get(format!("{}{path}", srv.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let mut sse = Sse {
            response,
            buffer: String::new(),
        };
        // Wait for the `:)` that opens the stream: the connection is subscribed.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !sse.buffer.contains(":)") && tokio::time::Instant::now() < deadline {
            if let Ok(Ok(Some(c))) =
                tokio::time::timeout(Duration::from_secs(10), sse.response.chunk()).await
            {
                sse.buffer.push_str(&String::from_utf8_lossy(&c));
            }
        }
        sse
    }

    /// The next event (not a comment) within `wait`.
    async fn next_within(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut ev = SseEvent {
                    event: String::new(),
                    data: String::new(),
                };
                for line in block.lines() {
                    if let Some((k, v)) = line.split_once(": ") {
                        match k {
                            "event" => ev.event = v.to_string(),
                            "data" => ev.data = v.to_string(),
                            _ => {}
                        }
                    }
                }
                if !ev.event.is_empty() {
                    return Some(ev);
                }
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(c))) => self.buffer.push_str(&String::from_utf8_lossy(&c)),
                _ => return None,
            }
        }
    }

    /// The id of the next `update`, which must come.
    async fn next_update(&mut self) -> String {
        loop {
            let e = self
                .next_within(Duration::from_secs(20))
                .await
                .expect("an event within 20 s");
            if e.event == "update" {
                let v: Value = serde_json::from_str(&e.data).unwrap();
                return v["id"].as_str().unwrap().to_string();
            }
        }
    }
}

async fn list_stream_and_blocked_domains_in_streams(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    follow(&srv, &alice, &bob).await;
    follow(&srv, &alice, &carol).await;
    let id = new_list(&srv, &alice, "Stream").await;
    srv.post(
        &format!("/api/v1/lists/{id}/accounts"),
        Some(&alice.token),
        &[("account_ids[]", &bob.id)],
    )
    .await
    .ok();

    // Refusals: no list, a bad id, someone else's list.
    let status = async |path: &str, token: &str| {
        srv.http
            .get(format!("{}{path}", srv.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(status("/api/v1/streaming/list", &alice.token).await, 400);
    assert_eq!(
        status("/api/v1/streaming/list?list=abc", &alice.token).await,
        400
    );
    assert_eq!(
        status(&format!("/api/v1/streaming/list?list={id}"), &carol.token).await,
        404
    );

    // A member's post arrives, a followed non-member's does not.
    let mut list = Sse::open(
        &srv,
        &format!("/api/v1/streaming/list?list={id}"),
        &alice.token,
    )
    .await;
    let from_carol = srv.status(&carol, "not in the list", &[]).await;
    let from_bob = srv.status(&bob, "in the list", &[]).await;
    assert_eq!(list.next_update().await, from_bob["id"].as_str().unwrap());
    let _ = from_carol;
    // Adding carol reloads the connection's members: her next post arrives.
    srv.post(
        &format!("/api/v1/lists/{id}/accounts"),
        Some(&alice.token),
        &[("account_ids[]", &carol.id)],
    )
    .await
    .ok();
    let again = srv.status(&carol, "now in the list", &[]).await;
    assert_eq!(list.next_update().await, again["id"].as_str().unwrap());

    // Over a WebSocket: subscribing to someone else's list is an error message; the
    // owner's subscription gets the `["list", ID]` stream array.
    {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let connect = async |token: &str| {
            let url = format!(
                "{}/api/v1/streaming?access_token={token}",
                srv.url.replace("http://", "ws://")
            );
            tokio_tungstenite::connect_async(url).await.unwrap().0
        };
        let next = async |ws: &mut tokio_tungstenite::WebSocketStream<_>| -> Value {
            loop {
                match tokio::time::timeout(Duration::from_secs(20), ws.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(&t).unwrap(),
                    Ok(Some(Ok(_))) => continue,
                    other => panic!("no message: {other:?}"),
                }
            }
        };
        let subscribe = json!({"type": "subscribe", "stream": "list", "list": id}).to_string();
        let mut theirs = connect(&carol.token).await;
        theirs
            .send(Message::Text(subscribe.clone().into()))
            .await
            .unwrap();
        let e = next(&mut theirs).await;
        assert_eq!(e["status"], 404, "{e}");
        let mut ws = connect(&alice.token).await;
        ws.send(Message::Text(subscribe.into())).await.unwrap();
        // A barrier: commands are answered in order, so the subscription is in place.
        ws.send(Message::Text(
            json!({"type": "subscribe", "stream": "barrier"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
        assert_eq!(next(&mut ws).await["status"], 400);
        let post = srv.status(&bob, "over the socket", &[]).await;
        let m = next(&mut ws).await;
        assert_eq!(m["stream"], json!(["list", id]));
        let payload: Value = serde_json::from_str(m["payload"].as_str().unwrap()).unwrap();
        assert_eq!(payload["id"], post["id"]);
        // The SSE connection got it too; skip it there.
        assert_eq!(list.next_update().await, post["id"].as_str().unwrap());
    }

    // Blocked domains: absent from the public and user streams of the blocker.
    let mallory = remote_actor(&srv, "mallory", "evil.example").await;
    let alice_id: i64 = alice.id.parse().unwrap();
    insert_follow(&srv, alice_id, mallory.id).await;
    srv.post(
        "/api/v1/domain_blocks",
        Some(&alice.token),
        &[("domain", "evil.example")],
    )
    .await
    .ok();
    let mut public = Sse::open(&srv, "/api/v1/streaming/public", &alice.token).await;
    let mut user = Sse::open(&srv, "/api/v1/streaming/user", &alice.token).await;
    let mut bobs_public = Sse::open(&srv, "/api/v1/streaming/public", &bob.token).await;
    let evil = remote_post(&srv, &mallory, 1, "from a blocked domain", None).await;
    let fine = srv.status(&bob, "after it", &[]).await;
    let fine = fine["id"].as_str().unwrap().to_string();
    // The first update each stream gets is bob's: mallory's, written before, was left out.
    assert_eq!(public.next_update().await, fine);
    assert_eq!(user.next_update().await, fine);
    // Someone who did not block the domain gets both.
    assert_eq!(bobs_public.next_update().await, evil);
    assert_eq!(bobs_public.next_update().await, fine);
    srv.stop().await;
}
