//! The inbox against hostile and broken input: every request is signed (or not) by a
//! fake remote actor served from loopback, and each refusal has its status and writes
//! nothing.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sluice_federation::keys::KeyPair;
use sluice_federation::signatures::{Scheme, SignWith, sign_request};
use sluice_store::{NewRelation, Relation};

use crate::common::{Db, TestServer, eventually};

db_tests!(
    inbox_verifies_and_applies,
    inbox_refuses_bad_input,
    inbox_queue_is_durable_and_bounded,
    inbox_move_and_actor_delete,
    silenced_domains_stay_out_of_public_timelines,
    inbox_applies_out_of_order_activities,
    inbox_queue_applies_activities_about_one_thing_in_order,
    inbox_activities_wait_while_the_store_cannot_write,
    nul_characters_are_refused,
    remote_profile_field_names_are_text
);

/// A remote server on loopback that publishes actors and takes their inbox POSTs.
pub(crate) struct Peer {
    pub(crate) url: String,
    key: Arc<KeyPair>,
    pub(crate) received: Arc<Mutex<Vec<Value>>>,
    /// Documents served at `/notes/<n>`, by `n`.
    notes: Arc<Mutex<std::collections::HashMap<String, Value>>>,
    /// GETs of `/notes/<n>` answered.
    note_fetches: Arc<std::sync::atomic::AtomicUsize>,
    /// Properties added to the document of `/users/<name>`, by `name`.
    pub(crate) actor_extras: Arc<Mutex<std::collections::HashMap<String, Value>>>,
}

pub(crate) async fn peer() -> Peer {
    let key = Arc::new(KeyPair::generate().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let notes: Arc<Mutex<std::collections::HashMap<String, Value>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (k, r, base) = (key.clone(), received.clone(), url.clone());
    let served = notes.clone();
    let note_fetches: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
    let fetches = note_fetches.clone();
    let actor_extras: Arc<Mutex<std::collections::HashMap<String, Value>>> = Arc::default();
    let extras = actor_extras.clone();
    let app = axum::Router::new()
        .route(
            "/notes/{n}",
            axum::routing::get(move |axum::extract::Path(n): axum::extract::Path<String>| {
                fetches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let note = served.lock().unwrap().get(&n).cloned();
                async move {
                    match note {
                        Some(v) => (
                            axum::http::StatusCode::OK,
                            [("content-type", "application/activity+json")],
                            v.to_string(),
                        ),
                        None => (
                            axum::http::StatusCode::NOT_FOUND,
                            [("content-type", "text/plain")],
                            String::new(),
                        ),
                    }
                }
            }),
        )
        .route(
            "/users/{name}",
            axum::routing::get(
                move |axum::extract::Path(name): axum::extract::Path<String>| {
                    let (k, base) = (k.clone(), base.clone());
                    let extra = extras.lock().unwrap().get(&name).cloned();
                    async move {
                        let id = format!("{base}/users/{name}");
                        // `new<name>` is where `<name>` moved: it names the old account.
                        let aliases: Vec<String> = name
                            .strip_prefix("new")
                            .map(|old| vec![format!("{base}/users/{old}")])
                            .unwrap_or_default();
                        let mut doc = json!({
                            "@context": ["https://www.w3.org/ns/activitystreams"],
                            "id": id, "type": "Person", "preferredUsername": name,
                            "inbox": format!("{id}/inbox"),
                            "followers": format!("{id}/followers"),
                            "alsoKnownAs": aliases,
                            "publicKey": {"id": format!("{id}#main-key"), "owner": id,
                                          "publicKeyPem": k.public_key_pem()},
                        });
                        if let Some(Value::Object(extra)) = extra {
                            doc.as_object_mut().unwrap().extend(extra);
                        }
                        (
                            [("content-type", "application/activity+json")],
                            doc.to_string(),
                        )
                    }
                },
            ),
        )
        .route(
            "/users/{name}/inbox",
            axum::routing::post(move |body: axum::body::Bytes| {
                let r = r.clone();
                async move {
                    r.lock()
                        .unwrap()
                        .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                    axum::http::StatusCode::ACCEPTED
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Peer {
        url,
        key,
        received,
        notes,
        note_fetches,
        actor_extras,
    }
}

pub(crate) fn federating(c: &mut sluice::config::Config) {
    c.allow_private_addresses = true;
    c.federation.allow_http = true;
}

/// POSTs `body` to `path`, signed by `key` as `key_id` at `at` (None: unsigned).
pub(crate) async fn post_signed(
    srv: &TestServer,
    path: &str,
    body: &[u8],
    signer: Option<(&KeyPair, &str)>,
    at: SystemTime,
    tamper: bool,
) -> (u16, String) {
    let url = url::Url::parse(&format!("{}{path}", srv.url)).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/activity+json".parse().unwrap());
    if let Some((key, key_id)) = signer {
        sign_request(
            &Method::POST,
            &url,
            &mut headers,
            Some(body),
            &SignWith {
                key_id,
                key,
                scheme: Scheme::Cavage,
                now: at,
            },
        )
        .unwrap();
    }
    let mut body = body.to_vec();
    if tamper {
        let last = body.len() - 2;
        body[last] ^= 0x20;
    }
    let r = srv
        .http
        .post(url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// Waits until `srv`'s inbox queue is empty: what was accepted is applied (or given up).
pub(crate) async fn settled(srv: &TestServer) {
    let store = &srv.store();
    eventually("the inbox to settle", async || {
        store.pending_inbox().await.unwrap() == 0
    })
    .await
}

/// POSTs `activity` to the shared inbox, signed as `name` of `p`; it must be accepted.
pub(crate) async fn deliver(srv: &TestServer, p: &Peer, name: &str, activity: Value) {
    let key_id = format!("{}/users/{name}#main-key", p.url);
    let (s, t) = post_signed(
        srv,
        "/inbox",
        activity.to_string().as_bytes(),
        Some((&p.key, &key_id)),
        SystemTime::now(),
        false,
    )
    .await;
    assert_eq!(s, 202, "{t}");
}

async fn inbox_verifies_and_applies(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = peer().await;
    let alice = srv.user("alice").await;
    let mallory = format!("{}/users/mallory", p.url);
    let key_id = format!("{mallory}#main-key");
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{mallory}/follows/1"), "type": "Follow",
        "actor": mallory, "object": format!("{}/users/alice", srv.url),
    })
    .to_string();
    let (status, text) = post_signed(
        &srv,
        "/users/alice/inbox",
        follow.as_bytes(),
        Some((&p.key, &key_id)),
        SystemTime::now(),
        false,
    )
    .await;
    assert_eq!(status, 202, "{text}");
    eventually("the follow", async || {
        srv.get(&format!("/api/v1/accounts/{}", alice.id), None)
            .await
            .ok()["followers_count"]
            == 1
    })
    .await;
    // alice's server accepted, and told mallory's inbox so.
    eventually("the Accept", async || {
        !p.received.lock().unwrap().is_empty()
    })
    .await;
    let accept = p.received.lock().unwrap()[0].clone();
    assert_eq!(accept["type"], "Accept");
    assert_eq!(accept["object"]["id"], format!("{mallory}/follows/1"));
    // A repeated delivery changes nothing.
    let activities = srv.count("activities").await;
    let (status, _) = post_signed(
        &srv,
        "/inbox",
        follow.as_bytes(),
        Some((&p.key, &key_id)),
        SystemTime::now(),
        false,
    )
    .await;
    assert_eq!(status, 202);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(srv.count("activities").await, activities);
    assert_eq!(srv.count("follows").await, 1);

    // A post from mallory, addressed publicly, is stored and shown.
    let note_id = format!("{mallory}/notes/1");
    let create = json!({
        "id": format!("{note_id}/activity"), "type": "Create", "actor": mallory,
        "to": ["as:Public"], "cc": [format!("{mallory}/followers")],
        "object": {"id": note_id, "type": "Note", "attributedTo": mallory,
                   "content": "<p>hi <script>alert(1)</script>there</p>",
                   "published": "2026-11-22T10:00:00Z",
                   "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": []},
    })
    .to_string();
    let (status, _) = post_signed(
        &srv,
        "/inbox",
        create.as_bytes(),
        Some((&p.key, &key_id)),
        SystemTime::now(),
        false,
    )
    .await;
    assert_eq!(status, 202);
    let mut found = Value::Null;
    eventually("the post", async || {
        let tl = srv.get("/api/v1/timelines/public", None).await.ok();
        match tl
            .as_array()
            .and_then(|a| a.iter().find(|s| s["uri"] == note_id.as_str()).cloned())
        {
            Some(s) => {
                found = s;
                true
            }
            None => false,
        }
    })
    .await;
    assert!(
        !found["content"].as_str().unwrap().contains("<script"),
        "sanitized"
    );
    assert_eq!(found["visibility"], "public");
    assert_eq!(found["created_at"], "2026-11-22T10:00:00.000Z");

    // Signed fetches: mallory may read alice's actor until alice blocks mallory.
    let get_signed = async |key: &KeyPair| {
        let url = url::Url::parse(&format!("{}/users/alice", srv.url)).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("accept", "application/activity+json".parse().unwrap());
        sign_request(
            &Method::GET,
            &url,
            &mut headers,
            None,
            &SignWith {
                key_id: &key_id,
                key,
                scheme: Scheme::Cavage,
                now: SystemTime::now(),
            },
        )
        .unwrap();
        srv.http
            .get(url)
            .headers(headers)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(get_signed(&p.key).await, 200);
    let mallory_id = found["account"]["id"].as_str().unwrap().to_string();
    srv.post(
        &format!("/api/v1/accounts/{mallory_id}/block"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(get_signed(&p.key).await, 403, "blocked actors are refused");
    // A signature that does not verify counts as none: public documents stay public
    // (refusing it would protect nothing, unsigned readers get them too).
    let stranger = KeyPair::generate().unwrap();
    assert_eq!(get_signed(&stranger).await, 200);
    let anon = srv
        .http
        .get(format!("{}/users/alice", srv.url))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status().as_u16(), 200);
    // The block also ended mallory's follow, and told mallory's server only that.
    assert_eq!(srv.count("follows").await, 0);
    eventually("the Reject", async || {
        p.received
            .lock()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "Reject")
    })
    .await;
    assert!(
        !p.received
            .lock()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "Block")
    );
    srv.stop().await;
}

async fn inbox_refuses_bad_input(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = peer().await;
    let other = peer().await;
    srv.user("alice").await;
    let mallory = format!("{}/users/mallory", p.url);
    let key_id = format!("{mallory}#main-key");
    let good = |n: u32| {
        json!({
            "id": format!("{mallory}/notes/{n}/activity"), "type": "Create", "actor": mallory,
            "to": ["as:Public"],
            "object": {"id": format!("{mallory}/notes/{n}"), "type": "Note",
                       "attributedTo": mallory, "content": format!("note {n}"),
                       "to": ["as:Public"]},
        })
        .to_string()
    };
    let now = SystemTime::now();
    let before = srv.count("activities").await;
    // Unsigned.
    let (s, t) = post_signed(&srv, "/inbox", good(1).as_bytes(), None, now, false).await;
    assert_eq!(s, 401, "{t}");
    assert!(serde_json::from_str::<Value>(&t).unwrap()["error"].is_string());
    // Signed with a key the actor does not publish (another host's key).
    let (s, _) = post_signed(
        &srv,
        "/inbox",
        good(2).as_bytes(),
        Some((&other.key, &key_id)),
        now,
        false,
    )
    .await;
    assert_eq!(s, 401);
    // A key owned by an actor on another host, for mallory's activity.
    let other_key_id = format!("{}/users/eve#main-key", other.url);
    let (s, t) = post_signed(
        &srv,
        "/inbox",
        good(3).as_bytes(),
        Some((&other.key, &other_key_id)),
        now,
        false,
    )
    .await;
    assert_eq!(s, 401, "{t}");
    assert!(t.contains("does not belong"), "{t}");
    // Replayed: a date 13 hours old.
    let stale = now - Duration::from_secs(13 * 3600);
    let (s, _) = post_signed(
        &srv,
        "/inbox",
        good(4).as_bytes(),
        Some((&p.key, &key_id)),
        stale,
        false,
    )
    .await;
    assert_eq!(s, 401);
    // The body changed after signing: the digest does not match.
    let (s, _) = post_signed(
        &srv,
        "/inbox",
        good(5).as_bytes(),
        Some((&p.key, &key_id)),
        now,
        true,
    )
    .await;
    assert_eq!(s, 400);
    // Malformed JSON, and JSON nested past the limit (both properly signed).
    let (s, _) = post_signed(
        &srv,
        "/inbox",
        b"{\"id\": ",
        Some((&p.key, &key_id)),
        now,
        false,
    )
    .await;
    assert_eq!(s, 400);
    let deep = format!(
        "{{\"id\":\"{mallory}/x\",\"type\":\"Create\",\"actor\":\"{mallory}\",\"object\":{}{}}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    let (s, _) = post_signed(
        &srv,
        "/inbox",
        deep.as_bytes(),
        Some((&p.key, &key_id)),
        now,
        false,
    )
    .await;
    assert_eq!(s, 400);
    // Over the inbox's size limit.
    let big = format!(
        "{{\"id\":\"{mallory}/big\",\"type\":\"Create\",\"actor\":\"{mallory}\",\"content\":\"{}\"}}",
        "x".repeat(1_100_000)
    );
    let (s, _) = post_signed(
        &srv,
        "/inbox",
        big.as_bytes(),
        Some((&p.key, &key_id)),
        now,
        false,
    )
    .await;
    assert_eq!(s, 413);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(srv.count("activities").await, before, "nothing stored");
    assert_eq!(srv.count("statuses").await, 0);

    // A post whose id is on another host than its actor: accepted, never stored.
    let spoof = json!({
        "id": format!("{mallory}/notes/9/activity"), "type": "Create", "actor": mallory,
        "to": ["as:Public"],
        "object": {"id": format!("{}/notes/9", other.url), "type": "Note",
                   "attributedTo": mallory, "content": "spoofed", "to": ["as:Public"]},
    })
    .to_string();
    let (s, _) = post_signed(
        &srv,
        "/inbox",
        spoof.as_bytes(),
        Some((&p.key, &key_id)),
        now,
        false,
    )
    .await;
    assert_eq!(s, 202);
    // A genuine one after it is applied, so the spoof has been processed by then.
    let (s, _) = post_signed(
        &srv,
        "/inbox",
        good(10).as_bytes(),
        Some((&p.key, &key_id)),
        now,
        false,
    )
    .await;
    assert_eq!(s, 202);
    eventually("the genuine post", async || {
        srv.count("statuses").await == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(srv.count("statuses").await, 1);
    let tl = srv.get("/api/v1/timelines/public", None).await.ok();
    assert!(!tl.to_string().contains("spoofed"));
    srv.stop().await;
}

/// An inbox row as a test queues it directly.
fn queued(id: i64, actor_id: i64, json: &str, order_key: i64) -> sluice_store::NewInboxActivity {
    sluice_store::NewInboxActivity {
        id,
        actor_id,
        activity_uri: format!("row-{id}"),
        json: json.into(),
        received_at: sluice_model::id::now_millis(),
        order_key,
    }
}

/// The queue is a table: a row queued by a process that stopped before applying it is
/// applied; a full queue answers 503 with Retry-After and stores nothing.
async fn inbox_queue_is_durable_and_bounded(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = peer().await;
    let alice = srv.user("alice").await;
    let mallory = format!("{}/users/mallory", p.url);
    let key_id = format!("{mallory}#main-key");
    // Make mallory known (a first, normal delivery).
    let hello = json!({
        "id": format!("{mallory}/notes/1/activity"), "type": "Create", "actor": mallory,
        "to": ["as:Public"],
        "object": {"id": format!("{mallory}/notes/1"), "type": "Note", "attributedTo": mallory,
                   "content": "first", "to": ["as:Public"]},
    })
    .to_string();
    let (s, _) = post_signed(
        &srv,
        "/inbox",
        hello.as_bytes(),
        Some((&p.key, &key_id)),
        SystemTime::now(),
        false,
    )
    .await;
    assert_eq!(s, 202);
    eventually("the first post", async || srv.count("statuses").await == 1).await;
    let store = &srv.store();
    let mallory_id = store.account_by_uri(&mallory).await.unwrap().unwrap().id;

    // Left in the queue by a process that stopped: applied by this one.
    let follow = json!({
        "id": format!("{mallory}/follows/7"), "type": "Follow", "actor": mallory,
        "object": format!("{}/users/alice", srv.url),
    })
    .to_string();
    let now = sluice_model::id::now_millis();
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.enqueue_inbox(&queued(srv.engine().ids.next(), mallory_id, &follow, 0), 10)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    eventually("the queued follow", async || {
        srv.get(&format!("/api/v1/accounts/{}", alice.id), None)
            .await
            .ok()["followers_count"]
            == 1
    })
    .await;
    settled(&srv).await;

    // Full: fill the queue with rows leased far ahead (no processor takes them).
    let far = now + 3_600_000;
    // Queued and leased in one transaction, so no processor ever sees them unleased.
    let mut tx = store.begin().await.unwrap();
    for i in 0..sluice_federation::inbox::INBOX_QUEUE {
        let id = srv.engine().ids.next();
        let mut filler = queued(id, mallory_id, "{}", 0);
        filler.activity_uri = format!("filler-{i}");
        tx.enqueue_inbox(&filler, i64::MAX).await.unwrap();
    }
    tx.claim_inbox(now, far - now, 10_000).await.unwrap();
    tx.commit().await.unwrap();
    let before = srv.count("activities").await;
    let late = json!({
        "id": format!("{mallory}/notes/2/activity"), "type": "Create", "actor": mallory,
        "to": ["as:Public"],
        "object": {"id": format!("{mallory}/notes/2"), "type": "Note", "attributedTo": mallory,
                   "content": "second", "to": ["as:Public"]},
    })
    .to_string();
    let url = format!("{}/inbox", srv.url);
    let mut headers = HeaderMap::new();
    sign_request(
        &Method::POST,
        &url::Url::parse(&url).unwrap(),
        &mut headers,
        Some(late.as_bytes()),
        &SignWith {
            key_id: &key_id,
            key: &p.key,
            scheme: Scheme::Cavage,
            now: SystemTime::now(),
        },
    )
    .unwrap();
    let r = srv
        .http
        .post(&url)
        .headers(headers)
        .body(late.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.headers()["retry-after"], "30");
    assert_eq!(
        store.pending_inbox().await.unwrap(),
        sluice_federation::inbox::INBOX_QUEUE as i64
    );
    assert_eq!(srv.count("activities").await, before);
    srv.stop().await;
}

/// `Move` takes alice's follow to the new account (only when it names the old one);
/// `Delete` of an actor removes it from view and ends its follows.
async fn inbox_move_and_actor_delete(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = peer().await;
    let alice = srv.user("alice").await;
    let send = async |name: &str, activity: Value| deliver(&srv, &p, name, activity).await;
    let mallory = format!("{}/users/mallory", p.url);
    let store = &srv.store();
    send(
        "mallory",
        json!({
            "id": format!("{mallory}/notes/1/activity"), "type": "Create", "actor": mallory,
            "to": ["as:Public"],
            "object": {"id": format!("{mallory}/notes/1"), "type": "Note",
                       "attributedTo": mallory, "content": "hello", "to": ["as:Public"]},
        }),
    )
    .await;
    eventually("mallory's post", async || srv.count("statuses").await == 1).await;
    let mallory_id = store.account_by_uri(&mallory).await.unwrap().unwrap().id;
    let alice_id: i64 = alice.id.parse().unwrap();
    // alice follows mallory (as if accepted earlier).
    let mut tx = store.begin().await.unwrap();
    tx.insert_relation(
        Relation::Follow,
        &NewRelation {
            id: srv.engine().ids.next(),
            account_id: alice_id,
            target_account_id: mallory_id,
            uri: format!("{}/users/alice#follows/1", srv.url),
            flag_a: true,
            flag_b: false,
            expires_at: None,
            created_at: 0,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // A move to an account that does not name mallory changes nothing.
    let eve = format!("{}/users/eve", p.url);
    send(
        "mallory",
        json!({"id": format!("{mallory}/moves/1"), "type": "Move", "actor": mallory,
               "object": mallory, "target": eve}),
    )
    .await;
    // A proper one: alice now follows newmallory, and both servers are told.
    let target = format!("{}/users/newmallory", p.url);
    send(
        "mallory",
        json!({"id": format!("{mallory}/moves/2"), "type": "Move", "actor": mallory,
               "object": mallory, "target": target}),
    )
    .await;
    eventually("the follow to move", async || {
        let Some(t) = store.account_by_uri(&target).await.unwrap() else {
            return false;
        };
        let rel = store
            .relationships(alice_id, &[t.id, mallory_id])
            .await
            .unwrap();
        rel.iter()
            .any(|r| r.target == t.id && (r.following || r.requested))
            && rel.iter().all(|r| r.target != mallory_id || !r.following)
    })
    .await;
    eventually("the Follow and the Undo", async || {
        let got = p.received.lock().unwrap();
        got.iter()
            .any(|a| a["type"] == "Follow" && a["object"] == target.as_str())
            && got
                .iter()
                .any(|a| a["type"] == "Undo" && a["object"]["object"] == mallory.as_str())
    })
    .await;
    assert!(
        p.received
            .lock()
            .unwrap()
            .iter()
            .all(|a| a["object"] != eve.as_str()),
        "no follow of an account that did not name mallory"
    );

    // A Delete that overtakes its Create: the late Create does not bring the post back.
    send(
        "mallory",
        json!({"id": format!("{mallory}/notes/9#delete"), "type": "Delete", "actor": mallory,
               "object": format!("{mallory}/notes/9"), "to": ["as:Public"]}),
    )
    .await;
    settled(&srv).await;
    send(
        "mallory",
        json!({
            "id": format!("{mallory}/notes/9/activity"), "type": "Create", "actor": mallory,
            "to": ["as:Public"],
            "object": {"id": format!("{mallory}/notes/9"), "type": "Note",
                       "attributedTo": mallory, "content": "too late", "to": ["as:Public"]},
        }),
    )
    .await;
    settled(&srv).await;
    assert_eq!(
        srv.count("statuses").await,
        1,
        "the deleted post stays deleted"
    );

    // mallory deletes their account: gone from view, follows over.
    send(
        "mallory",
        json!({"id": format!("{mallory}#delete"), "type": "Delete", "actor": mallory,
               "object": mallory, "to": ["as:Public"]}),
    )
    .await;
    eventually("the account to go", async || {
        store.account_by_uri(&mallory).await.unwrap().is_none()
    })
    .await;
    let tl = srv.get("/api/v1/timelines/public", None).await.ok();
    assert_eq!(tl.as_array().unwrap().len(), 0, "{tl}");
    srv.stop().await;
}

/// A silenced ("limited") domain: its public posts are stored but kept out of public
/// timelines, except for those who follow the author, and its accounts notify only
/// those who follow them.
async fn silenced_domains_stay_out_of_public_timelines(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = peer().await;
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let domain = p.url.trim_start_matches("http://").to_string();
    let host = domain.split(':').next().unwrap().to_string();
    {
        let mut tx = srv.store().begin().await.unwrap();
        tx.set_domain_block(&sluice_store::DomainBlockRow {
            domain: host.clone(),
            severity: "silence".into(),
            reject_media: false,
            reason: String::new(),
            created_at: sluice_model::id::now_millis(),
            ..Default::default()
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    // mallory allows search engines: only the silence keeps her posts out of search.
    p.actor_extras
        .lock()
        .unwrap()
        .insert("mallory".into(), json!({"indexable": true}));
    let mut ws =
        crate::streaming::ws_connect(&srv, &format!("stream=public&access_token={}", bob.token))
            .await
            .unwrap();
    let mallory = format!("{}/users/mallory", p.url);
    let key_id = format!("{mallory}#main-key");
    let note_id = format!("{mallory}/notes/limited");
    let create = json!({
        "id": format!("{note_id}/activity"), "type": "Create", "actor": mallory,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": note_id, "type": "Note", "attributedTo": mallory,
                   "content": "<p>hello @alice</p>", "published": "2026-11-22T10:00:00Z",
                   "to": ["https://www.w3.org/ns/activitystreams#Public"],
                   "tag": [{"type": "Mention", "href": format!("{}/users/alice", srv.url)}]},
    })
    .to_string();
    let (status, text) = post_signed(
        &srv,
        "/inbox",
        create.as_bytes(),
        Some((&p.key, &key_id)),
        SystemTime::now(),
        false,
    )
    .await;
    assert_eq!(status, 202, "{text}");
    eventually("the post stored", async || srv.count("statuses").await == 1).await;
    let public_uris = async |token: Option<&str>| -> Vec<Value> {
        let tl = srv.get("/api/v1/timelines/public", token).await.ok();
        tl.as_array()
            .unwrap()
            .iter()
            .map(|s| s["uri"].clone())
            .collect()
    };
    assert!(
        public_uris(None).await.is_empty(),
        "hidden from anonymous readers"
    );
    assert!(
        public_uris(Some(&bob.token)).await.is_empty(),
        "and from bob"
    );
    let found = async |token: &str| -> bool {
        srv.get("/api/v2/search?q=hello&type=statuses", Some(token))
            .await
            .ok()["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["uri"] == note_id.as_str())
    };
    assert!(!found(&bob.token).await, "out of bob's search");
    // Nor in bob's public stream: the next post there is alice's, made after.
    srv.status(&alice, "hello from here", &[]).await;
    let first = loop {
        let ev = crate::streaming::ws_next(&mut ws, std::time::Duration::from_secs(30))
            .await
            .expect("an event on the public stream");
        if ev["event"] == "update" {
            break ev;
        }
    };
    let payload: Value = serde_json::from_str(first["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["account"]["username"], "alice", "{payload}");
    let notes = srv
        .get("/api/v1/notifications", Some(&alice.token))
        .await
        .ok();
    assert_eq!(
        notes.as_array().unwrap().len(),
        0,
        "no mention notification: {notes}"
    );
    // bob follows mallory: he sees her posts in public timelines again.
    let mallory_id = srv
        .get(
            &format!("/api/v1/accounts/lookup?acct=mallory@{domain}"),
            None,
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    {
        let engine = srv.engine();
        let mut tx = engine.store_for_tests().begin().await.unwrap();
        tx.insert_relation(
            Relation::Follow,
            &NewRelation {
                id: engine.ids.next(),
                account_id: bob.id.parse().unwrap(),
                target_account_id: mallory_id,
                uri: format!("{}/follows/x", srv.url),
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
    let bobs = public_uris(Some(&bob.token)).await;
    assert!(bobs.contains(&json!(note_id)), "{bobs:?}");
    assert!(!public_uris(None).await.contains(&json!(note_id)));
    assert!(found(&bob.token).await, "bob follows her: found again");
    // Lifted: everyone sees it.
    {
        let mut tx = srv.store().begin().await.unwrap();
        tx.remove_domain_block(&host).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert!(public_uris(None).await.contains(&json!(note_id)));
    srv.stop().await;
}

/// Activities that arrive before what they change (a sender's retries reorder them):
/// each pair is delivered late part last, after the early part was applied, and the
/// end state is the one the sender meant.
async fn inbox_applies_out_of_order_activities(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = peer().await;
    let alice = srv.user("alice").await;
    let mallory = format!("{}/users/mallory", p.url);
    let store = &srv.store();
    let send = async |activity: Value| deliver(&srv, &p, "mallory", activity).await;
    let note = |n: u32, content: &str, updated: Option<&str>| {
        let mut o = json!({
            "id": format!("{}/notes/{n}", p.url), "type": "Note", "attributedTo": mallory,
            "content": content, "published": "2026-11-22T10:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        });
        if let Some(u) = updated {
            o["updated"] = json!(u);
        }
        o
    };
    let post = srv.status(&alice, "boost me, like me", &[]).await;
    let post_uri = post["uri"].as_str().unwrap().to_string();
    let alice_uri = format!("{}/users/alice", srv.url);
    let undo = |n: u32, inner: Value| {
        json!({"id": format!("{mallory}/undos/{n}"), "type": "Undo", "actor": mallory,
               "to": ["as:Public"], "object": inner})
    };
    let announce = |n: u32| {
        json!({"id": format!("{mallory}/announces/{n}"), "type": "Announce", "actor": mallory,
               "to": ["as:Public"], "cc": [alice_uri], "object": post_uri,
               "published": "2026-11-22T10:05:00Z"})
    };
    let like = json!({"id": format!("{mallory}/likes/1"), "type": "Like", "actor": mallory,
                      "object": post_uri});
    let follow = json!({"id": format!("{mallory}/follows/1"), "type": "Follow",
                        "actor": mallory, "object": alice_uri});
    p.notes.lock().unwrap().insert(
        "3".into(),
        note(3, "fetched from its origin", Some("2026-11-22T11:00:00Z")),
    );

    // The early halves: each is applied before its other half arrives.
    let early = [
        // An Update of a post not yet created (embedded object)...
        json!({"id": format!("{mallory}/notes/1#update"), "type": "Update", "actor": mallory,
               "to": ["as:Public"],
               "object": note(1, "edited", Some("2026-11-22T11:00:00Z"))}),
        // ... and one naming it only by id: fetched from its origin.
        json!({"id": format!("{mallory}/notes/3#update"), "type": "Update", "actor": mallory,
               "to": ["as:Public"], "object": format!("{}/notes/3", p.url)}),
        // An Update of a post deleted before it arrived.
        json!({"id": format!("{mallory}/notes/2#delete"), "type": "Delete", "actor": mallory,
               "to": ["as:Public"], "object": format!("{}/notes/2", p.url)}),
        json!({"id": format!("{mallory}/notes/2#update"), "type": "Update", "actor": mallory,
               "to": ["as:Public"],
               "object": note(2, "deleted", Some("2026-11-22T11:00:00Z"))}),
        // Undos of a boost (embedded, and by id only), a like and a follow.
        undo(1, announce(1)),
        undo(2, json!(format!("{mallory}/announces/2"))),
        undo(3, like.clone()),
        undo(4, follow.clone()),
    ];
    for a in early {
        send(a).await;
        settled(&srv).await;
    }
    let late = [
        json!({"id": format!("{mallory}/notes/1/activity"), "type": "Create", "actor": mallory,
               "to": ["as:Public"], "object": note(1, "original", None)}),
        json!({"id": format!("{mallory}/notes/3/activity"), "type": "Create", "actor": mallory,
               "to": ["as:Public"], "object": note(3, "original", None)}),
        json!({"id": format!("{mallory}/notes/2/activity"), "type": "Create", "actor": mallory,
               "to": ["as:Public"], "object": note(2, "deleted", None)}),
        announce(1),
        announce(2),
        like,
        follow,
    ];
    for a in late {
        send(a).await;
    }
    settled(&srv).await;

    let content = async |n: u32| {
        store
            .status_by_uri(&format!("{}/notes/{n}", p.url))
            .await
            .unwrap()
            .map(|s| s.content)
    };
    let first = content(1)
        .await
        .expect("the post updated before its Create");
    assert!(first.contains("edited"), "{first}");
    let third = content(3).await.expect("the post named by an Update");
    assert!(third.contains("fetched from its origin"), "{third}");
    assert_eq!(content(2).await, None, "a deleted post stays deleted");
    let seen = srv
        .get(
            &format!("/api/v1/statuses/{}", post["id"].as_str().unwrap()),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(
        seen["reblogs_count"], 0,
        "boosts taken back before they came"
    );
    assert_eq!(
        seen["favourites_count"], 0,
        "a like taken back before it came"
    );
    let account = srv
        .get(&format!("/api/v1/accounts/{}", alice.id), None)
        .await
        .ok();
    assert_eq!(account["followers_count"], 0, "a follow taken back");
    let notifications = srv
        .get("/api/v1/notifications", Some(&alice.token))
        .await
        .ok();
    assert_eq!(notifications, json!([]), "nobody to tell about");
    srv.stop().await;
}

/// Activities about one thing are applied one at a time, in arrival order: a queued row
/// is claimed only when no earlier row with its key is still in the queue, whoever
/// holds that one (being applied here or by another process, or waiting for a retry).
async fn inbox_queue_applies_activities_about_one_thing_in_order(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let store = &srv.store();
    let now = sluice_model::id::now_millis();
    // All in one transaction, never committed: the server's own processors never see
    // these rows.
    let mut tx = store.begin().await.unwrap();
    let keys = [7, 7, 0, 8, 7, 0, 8];
    let mut ids = Vec::new();
    for key in keys {
        let id = srv.engine().ids.next();
        assert!(
            tx.enqueue_inbox(&queued(id, 1, "{}", key), 100)
                .await
                .unwrap()
        );
        ids.push(id);
    }
    let claim = async |tx: &mut sluice_store::WriteTx| {
        let mut got: Vec<usize> = tx
            .claim_inbox(now, 3_600_000, 100)
            .await
            .unwrap()
            .iter()
            .map(|r| ids.iter().position(|i| *i == r.id).unwrap())
            .collect();
        got.sort_unstable();
        got
    };
    // The first of each key, and the rows without one.
    assert_eq!(claim(&mut tx).await, [0, 2, 3, 5]);
    // Those are held (applied, or waiting for a retry): nothing behind them moves.
    tx.inbox_retry(ids[0], now + 60_000, "try later")
        .await
        .unwrap();
    assert_eq!(claim(&mut tx).await, Vec::<usize>::new());
    // Finished rows leave the queue; the next of each of their keys follows.
    tx.inbox_done_many(&[ids[0], ids[3]]).await.unwrap();
    assert_eq!(claim(&mut tx).await, [1, 6]);
    tx.inbox_done_many(&[ids[1]]).await.unwrap();
    assert_eq!(claim(&mut tx).await, [4]);
    drop(tx);
    srv.stop().await;
}

/// An activity whose applying fails because the store cannot write (a full disk, a
/// database out of reach) waits for it, however long that takes: such failures are not
/// among its attempts. Here an Update names a post only by id, so each attempt fetches
/// it afresh from its origin (the peer counts them) and then fails to store it.
async fn inbox_activities_wait_while_the_store_cannot_write(db: Db) {
    let Some(srv) = TestServer::start(db, |c| {
        federating(c);
        // Retries a hundred times sooner than in service.
        c.federation.delivery_backoff_scale = 0.01;
    })
    .await
    else {
        return;
    };
    let p = peer().await;
    srv.user("alice").await;
    let mallory = format!("{}/users/mallory", p.url);
    let note_uri = format!("{}/notes/1", p.url);
    // Make mallory known while the store has room.
    deliver(
        &srv,
        &p,
        "mallory",
        json!({"id": format!("{mallory}/follows/1"), "type": "Follow", "actor": mallory,
               "object": format!("{}/users/alice", srv.url)}),
    )
    .await;
    let store = &srv.store();
    settled(&srv).await;
    // Large enough to need room that the full store does not have.
    p.notes.lock().unwrap().insert(
        "1".into(),
        json!({"id": note_uri, "type": "Note", "attributedTo": mallory,
               "content": "kept through the outage ".repeat(2_000),
               "published": "2026-11-22T10:00:00Z",
               "to": ["https://www.w3.org/ns/activitystreams#Public"]}),
    );

    crate::health::fill_disk_for(&srv, db, "statuses").await;
    deliver(
        &srv,
        &p,
        "mallory",
        json!({"id": format!("{note_uri}#update"), "type": "Update", "actor": mallory,
               "to": ["as:Public"], "object": note_uri}),
    )
    .await;
    let attempts = sluice_federation::inbox::INBOX_MAX_ATTEMPTS as usize;
    eventually(
        "more failed attempts than an activity is given",
        async || p.note_fetches.load(std::sync::atomic::Ordering::Relaxed) > attempts + 2,
    )
    .await;
    assert!(
        store.status_by_uri(&note_uri).await.unwrap().is_none(),
        "nothing stored while the store is full"
    );
    crate::health::free_disk_for(&srv, db, "statuses").await;
    eventually("the post stored once the store has room", async || {
        store.status_by_uri(&note_uri).await.unwrap().is_some()
    })
    .await;
    // The applied row leaves the queue at the next claim, a moment after the commit.
    settled(&srv).await;
    srv.stop().await;
}

/// A NUL character means nothing in any ActivityPub property, and PostgreSQL cannot
/// keep one in text: an activity holding one is refused (400) before it is queued, on
/// both engines alike, and so are the documents fetched from other servers (actors,
/// posts), whether the inbox or a client's outbox needed them.
async fn nul_characters_are_refused(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = peer().await;
    let alice = srv.user("alice").await;
    let mallory = format!("{}/users/mallory", p.url);
    let key_id = format!("{mallory}#main-key");
    let store = &srv.store();
    let post = async |body: String, key_id: &str| {
        post_signed(
            &srv,
            "/inbox",
            body.as_bytes(),
            Some((&p.key, key_id)),
            SystemTime::now(),
            false,
        )
        .await
    };
    let create = |n: u32, content: &str| {
        json!({
            "id": format!("{mallory}/notes/{n}/activity"), "type": "Create", "actor": mallory,
            "to": ["as:Public"],
            "object": {"id": format!("{mallory}/notes/{n}"), "type": "Note",
                       "attributedTo": mallory, "content": content, "to": ["as:Public"]},
        })
    };
    // In a string, and in a property's name.
    for body in [
        create(1, "before\0after").to_string(),
        create(2, "x")
            .to_string()
            .replacen("\"type\"", "\"k\\u0000\": 1, \"type\"", 1),
    ] {
        assert!(body.contains("\\u0000"), "{body}");
        let (status, text) = post(body, &key_id).await;
        assert_eq!(status, 400, "{text}");
        let error = serde_json::from_str::<Value>(&text).unwrap()["error"].clone();
        assert!(error.as_str().unwrap().contains("NUL"), "{text}");
    }
    assert_eq!(store.pending_inbox().await.unwrap(), 0, "nothing queued");
    // A backslash followed by `u0000` is text like any other.
    let (status, text) = post(create(3, "a \\u0000 b").to_string(), &key_id).await;
    assert_eq!(status, 202, "{text}");
    let third = format!("{mallory}/notes/3");
    eventually("the post with a backslash", async || {
        store.status_by_uri(&third).await.unwrap().is_some()
    })
    .await;

    // An actor whose document holds a NUL is not taken: its activities are refused.
    let eve = format!("{}/users/eve", p.url);
    p.actor_extras
        .lock()
        .unwrap()
        .insert("eve".into(), json!({"name": "Eve\0"}));
    let follow = json!({"id": format!("{eve}/follows/1"), "type": "Follow", "actor": eve,
                        "object": format!("{}/users/alice", srv.url)});
    let (status, text) = post(follow.to_string(), &format!("{eve}#main-key")).await;
    assert_eq!(status, 401, "{text}");
    assert!(store.account_by_uri(&eve).await.unwrap().is_none());

    // A post fetched from its origin (an Update naming it only by id) is not stored.
    let fetched = format!("{}/notes/9", p.url);
    p.notes.lock().unwrap().insert(
        "9".into(),
        json!({"id": fetched, "type": "Note", "attributedTo": mallory,
               "summary": "a warning\0", "content": "fetched",
               "to": ["https://www.w3.org/ns/activitystreams#Public"]}),
    );
    deliver(
        &srv,
        &p,
        "mallory",
        json!({"id": format!("{fetched}#update"), "type": "Update", "actor": mallory,
               "to": ["as:Public"], "object": fetched}),
    )
    .await;
    settled(&srv).await;
    assert!(store.status_by_uri(&fetched).await.unwrap().is_none());

    // A client's outbox: a NUL in what it posts, or in a post it names and that must be
    // fetched.
    let outbox = async |doc: String| {
        srv.request(
            reqwest::Method::POST,
            "/users/alice/outbox",
            Some(&alice.token),
            Some(crate::common::Body::Raw(
                "application/activity+json",
                doc.into_bytes(),
            )),
        )
        .await
    };
    let note = json!({"type": "Note", "content": "a\0b", "to": ["as:Public"]}).to_string();
    let r = outbox(note).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let like = json!({"type": "Like", "object": fetched}).to_string();
    let r = outbox(like).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert!(store.status_by_uri(&fetched).await.unwrap().is_none());
    srv.stop().await;
}

/// A remote actor's profile fields as Mastodon reads them: the name is plain text (tags
/// dropped, character references decoded, so a client escaping it shows `&`, not
/// `&amp;`), the value sanitized HTML.
async fn remote_profile_field_names_are_text(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = peer().await;
    srv.user("alice").await;
    let carol = format!("{}/users/carol", p.url);
    let field =
        |name: &str, value: &str| json!({"type": "PropertyValue", "name": name, "value": value});
    p.actor_extras.lock().unwrap().insert(
        "carol".into(),
        json!({"attachment": [
            field("A & <b>B</b>", "<a href=\"https://carol.example/\">carol.example</a><script>x()</script>"),
            field("C &amp; D &lt;3", "plain"),
            field("<p>two\nlines</p>", "x"),
        ]}),
    );
    deliver(
        &srv,
        &p,
        "carol",
        json!({"id": format!("{carol}/follows/1"), "type": "Follow", "actor": carol,
               "object": format!("{}/users/alice", srv.url)}),
    )
    .await;
    let account = srv
        .engine()
        .store_for_tests()
        .account_by_uri(&carol)
        .await
        .unwrap()
        .expect("carol is known");
    let seen = srv
        .get(&format!("/api/v1/accounts/{}", account.id), None)
        .await
        .ok();
    let fields = seen["fields"].as_array().unwrap();
    let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["A & B", "C & D <3", "two lines"], "{seen}");
    let value = fields[0]["value"].as_str().unwrap();
    assert!(
        value.contains("<a href=\"https://carol.example/\""),
        "{value}"
    );
    assert!(!value.contains("script"), "{value}");
    srv.stop().await;
}
