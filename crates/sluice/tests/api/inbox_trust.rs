//! What the inbox believes of a remote server, through the real inbox with signed
//! requests: ids (of activities and of the objects in them) are taken only from the
//! server they belong to, keys only for the server's own actors, and everything
//! accepted but not applied is counted by reason (`sluice_inbox_ignored_total`).
//! Groups (FEP-1b12) relay their members' posts, and thread owners (FEP-171b) the
//! replies to their threads; both are believed only as far as their origin vouches
//! for them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{Value, json};
use sluice_federation::keys::KeyPair;
use sluice_store::{NewRelation, Query, Relation, Scalar};

use crate::common::{Db, TestServer, eventually};
use crate::inbox::post_signed;

db_tests!(
    activity_ids_stay_on_their_actors_origin,
    activities_without_an_id_are_each_applied,
    object_ids_stay_on_their_actors_origin,
    keys_are_taken_only_for_the_actors_own_origin,
    local_keys_are_made_with_the_account_and_repaired_at_start,
    accepted_but_not_applied_is_counted,
    refused_activities_are_finished_not_retried,
    group_announces_apply_their_members_posts,
    conversation_adds_apply_replies_verified_at_their_origin
);

const METRICS_TOKEN: &str = "inbox-trust-metrics";

/// A remote server on loopback: `/users/NAME` is an actor (a `Group` when NAME starts
/// with `group`) whose key is this server's one key; any other document is served from
/// `docs` (by path, which may also replace an actor); POSTs to inboxes are kept.
struct Origin {
    url: String,
    key: Arc<KeyPair>,
    docs: Arc<Mutex<HashMap<String, Value>>>,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Origin {
    async fn start() -> Origin {
        let key = Arc::new(KeyPair::generate().unwrap());
        let docs: Arc<Mutex<HashMap<String, Value>>> = Arc::default();
        let received: Arc<Mutex<Vec<Value>>> = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (k, d, r, base) = (key.clone(), docs.clone(), received.clone(), url.clone());
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method, uri: axum::http::Uri, body: axum::body::Bytes| {
                let (k, d, r, base) = (k.clone(), d.clone(), r.clone(), base.clone());
                async move {
                    use axum::http::StatusCode;
                    let path = uri.path().to_string();
                    if method == axum::http::Method::POST {
                        r.lock()
                            .unwrap()
                            .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                        return (StatusCode::ACCEPTED, String::new());
                    }
                    let doc = d.lock().unwrap().get(&path).cloned().or_else(|| {
                        let name = path.strip_prefix("/users/")?;
                        (!name.contains('/')).then(|| actor_doc(&base, name, &k))
                    });
                    match doc {
                        Some(doc) => (StatusCode::OK, doc.to_string()),
                        None => (StatusCode::NOT_FOUND, String::new()),
                    }
                }
            },
        );
        let app = app.layer(axum::middleware::map_response(
            async |mut r: axum::response::Response| {
                r.headers_mut()
                    .insert("content-type", "application/activity+json".parse().unwrap());
                r
            },
        ));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Origin {
            url,
            key,
            docs,
            received,
        }
    }

    fn actor(&self, name: &str) -> String {
        format!("{}/users/{name}", self.url)
    }

    fn put(&self, uri: &str, doc: Value) {
        let path = uri.strip_prefix(&self.url).unwrap().to_string();
        self.docs.lock().unwrap().insert(path, doc);
    }

    /// POSTs `activity` to `path` of `srv`, signed as `name` of this server.
    async fn send_to(&self, srv: &TestServer, path: &str, name: &str, activity: &Value) -> u16 {
        let key_id = format!("{}#main-key", self.actor(name));
        let (status, _) = post_signed(
            srv,
            path,
            activity.to_string().as_bytes(),
            Some((&self.key, &key_id)),
            SystemTime::now(),
            false,
        )
        .await;
        status
    }

    async fn send(&self, srv: &TestServer, name: &str, activity: &Value) -> u16 {
        self.send_to(srv, "/inbox", name, activity).await
    }
}

fn actor_doc(base: &str, name: &str, key: &KeyPair) -> Value {
    let id = format!("{base}/users/{name}");
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams"],
        "id": id,
        "type": if name.starts_with("group") { "Group" } else { "Person" },
        "preferredUsername": name,
        "inbox": format!("{id}/inbox"),
        "followers": format!("{id}/followers"),
        "publicKey": {"id": format!("{id}#main-key"), "owner": id,
                      "publicKeyPem": key.public_key_pem()},
    })
}

fn federating(c: &mut sluice::config::Config) {
    c.allow_private_addresses = true;
    c.federation.allow_http = true;
    c.federation.delivery_backoff_scale = 0.001;
    c.metrics_token = Some(METRICS_TOKEN.into());
}

fn note(id: &str, author: &str, content: &str) -> Value {
    json!({"id": id, "type": "Note", "attributedTo": author, "content": content,
           "published": "2026-11-22T10:00:00Z",
           "to": ["https://www.w3.org/ns/activitystreams#Public"]})
}

fn create(id: &str, actor: &str, object: Value) -> Value {
    json!({"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Create",
           "actor": actor, "to": ["https://www.w3.org/ns/activitystreams#Public"],
           "object": object})
}

/// Waits until every queued inbox activity has been applied.
async fn settled(srv: &TestServer) {
    eventually("the inbox queue to empty", async || {
        srv.pending_inbox().await == 0
    })
    .await;
}

async fn scalar(srv: &TestServer, q: Query) -> i64 {
    srv.store().one::<Scalar>(q).await.unwrap().v
}

async fn status_count(srv: &TestServer, uri: &str) -> i64 {
    scalar(
        srv,
        Query::new("SELECT count(*) AS v FROM statuses WHERE uri = $1").bind(uri),
    )
    .await
}

/// `sluice_inbox_ignored_total{reason}` as `/metrics` shows it (0 when absent).
async fn ignored(srv: &TestServer, reason: &str) -> u64 {
    let text = srv
        .http
        .get(format!("{}/metrics", srv.url))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("sluice_inbox_ignored_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0)
}

/// Waits until the counter of `reason` is `before + 1`.
async fn counted(srv: &TestServer, reason: &str, before: u64) {
    eventually(&format!("an activity ignored as {reason}"), async || {
        ignored(srv, reason).await == before + 1
    })
    .await;
}

async fn follow_directly(srv: &TestServer, follower: &str, target_uri: &str) {
    let store = &srv.store();
    let target = store.account_by_uri(target_uri).await.unwrap().unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.insert_relation(
        Relation::Follow,
        &NewRelation {
            id: srv.engine().ids.next(),
            account_id: follower.parse().unwrap(),
            target_account_id: target.id,
            uri: format!("{}/follows/{}", srv.url, target.id),
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

/// An activity's id is taken only from its actor's server: a remote server cannot
/// occupy the id of one of our activities (our Delete of a post still federates after
/// a remote server sent a Like with the Delete's id), nor of another server's.
async fn activity_ids_stay_on_their_actors_origin(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = Origin::start().await;
    let third = Origin::start().await;
    let alice = srv.user("alice").await;
    let mallory = p.actor("mallory");
    let carol = third.actor("carol");
    // mallory follows alice, so alice's activities are delivered to mallory's server.
    let follow = json!({"id": format!("{mallory}/follows/1"), "type": "Follow",
                        "actor": mallory, "object": format!("{}/users/alice", srv.url)});
    assert_eq!(p.send(&srv, "mallory", &follow).await, 202);
    eventually("the Accept", async || {
        p.received
            .lock()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "Accept")
    })
    .await;
    let post = srv.status(&alice, "the post", &[]).await;
    let post_uri = post["uri"].as_str().unwrap().to_string();
    let post_id = post["id"].as_str().unwrap().to_string();

    // A Like whose id is our Delete's id to come: refused, nothing stored.
    let squatting = json!({"id": format!("{post_uri}#delete"), "type": "Like",
                           "actor": mallory, "object": post_uri});
    assert_eq!(p.send(&srv, "mallory", &squatting).await, 400);
    // A Like whose id is on a third server: refused too.
    let third_like = format!("{}/likes/1", third.url);
    let foreign = json!({"id": third_like, "type": "Like", "actor": mallory,
                         "object": post_uri});
    assert_eq!(p.send(&srv, "mallory", &foreign).await, 400);
    // An Announce whose id is the id of a post the third server is about to send.
    let third_note = format!("{carol}/notes/1");
    let boost = json!({"id": third_note, "type": "Announce", "actor": mallory,
                       "object": post_uri, "to": ["https://www.w3.org/ns/activitystreams#Public"]});
    assert_eq!(p.send(&srv, "mallory", &boost).await, 400);
    settled(&srv).await;
    let uris = Query::new("SELECT count(*) AS v FROM activities WHERE uri IN ($1, $2, $3)")
        .bind(format!("{post_uri}#delete"))
        .bind(third_like.as_str())
        .bind(third_note.as_str());
    assert_eq!(scalar(&srv, uris.clone()).await, 0, "no foreign id stored");

    // The third server's own activities with those ids arrive and are applied.
    let like = json!({"id": third_like, "type": "Like", "actor": carol, "object": post_uri});
    assert_eq!(third.send(&srv, "carol", &like).await, 202);
    let carols = create(
        &format!("{third_note}/activity"),
        &carol,
        note(&third_note, &carol, "carol's own post"),
    );
    assert_eq!(third.send(&srv, "carol", &carols).await, 202);
    settled(&srv).await;
    let liked_by = srv
        .get(
            &format!("/api/v1/statuses/{post_id}/favourited_by"),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(liked_by.as_array().unwrap().len(), 1, "{liked_by}");
    assert!(liked_by[0]["acct"].as_str().unwrap().starts_with("carol@"));
    let stored = srv
        .engine()
        .store_for_tests()
        .status_by_uri(&third_note)
        .await
        .unwrap()
        .expect("carol's post is stored");
    assert!(stored.content.contains("carol's own post"));
    assert!(stored.reblog_of_id.is_none());

    // alice deletes her post: the Delete reaches mallory's server.
    srv.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/statuses/{post_id}"),
        Some(&alice.token),
        None,
    )
    .await
    .ok();
    eventually("our Delete at mallory's server", async || {
        p.received
            .lock()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "Delete" && a["id"] == format!("{post_uri}#delete").as_str())
    })
    .await;
    srv.stop().await;
}

/// Activities without an id (ActivityPub allows them; GoToSocial sends its `Delete`s
/// so) are applied each: none is recorded under an id another one could repeat.
async fn activities_without_an_id_are_each_applied(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = Origin::start().await;
    let mallory = p.actor("mallory");
    for n in [1, 2] {
        let uri = format!("{mallory}/notes/{n}");
        let mut anonymous = create("", &mallory, note(&uri, &mallory, "no activity id"));
        anonymous.as_object_mut().unwrap().remove("id");
        assert_eq!(p.send(&srv, "mallory", &anonymous).await, 202);
        settled(&srv).await;
    }
    for n in [1, 2] {
        assert_eq!(status_count(&srv, &format!("{mallory}/notes/{n}")).await, 1);
    }
    srv.stop().await;
}

/// An embedded object's id is taken only from its actor's server: a Create, an Update
/// or a Delete naming one of our posts or another server's changes nothing, and a
/// "blind copy" naming one of our private posts does not show it to anyone.
async fn object_ids_stay_on_their_actors_origin(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = Origin::start().await;
    let third = Origin::start().await;
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let mallory = p.actor("mallory");
    let carol = third.actor("carol");
    let private = srv
        .status(
            &alice,
            "for my followers only",
            &[("visibility", "private")],
        )
        .await;
    let private_uri = private["uri"].as_str().unwrap().to_string();
    let private_id = private["id"].as_str().unwrap().to_string();

    // A Create of alice's post as mallory's, delivered to bob's own inbox as a blind
    // copy: bob must not get to read alice's post.
    let mut copy = note(&private_uri, &mallory, "mine now");
    copy["to"] = json!([format!("{mallory}/followers")]);
    let blind = create(&format!("{mallory}/creates/1"), &mallory, copy.clone());
    assert_eq!(
        p.send_to(&srv, "/users/bob/inbox", "mallory", &blind).await,
        202
    );
    // An Update and a Delete of alice's post by mallory.
    let update = json!({"id": format!("{mallory}/updates/1"), "type": "Update",
                        "actor": mallory, "object": copy});
    assert_eq!(p.send(&srv, "mallory", &update).await, 202);
    let delete = json!({"id": format!("{mallory}/deletes/1"), "type": "Delete",
                        "actor": mallory, "object": private_uri});
    assert_eq!(p.send(&srv, "mallory", &delete).await, 202);
    // A Create of a post whose id is on the third server.
    let third_note = format!("{carol}/notes/2");
    let squat = create(
        &format!("{mallory}/creates/2"),
        &mallory,
        note(&third_note, &mallory, "squatted"),
    );
    assert_eq!(p.send(&srv, "mallory", &squat).await, 202);
    settled(&srv).await;

    assert_eq!(
        srv.get(&format!("/api/v1/statuses/{private_id}"), Some(&bob.token))
            .await
            .status,
        404,
        "bob cannot read alice's private post"
    );
    let notes = srv
        .get("/api/v1/notifications", Some(&bob.token))
        .await
        .ok();
    assert_eq!(notes.as_array().unwrap().len(), 0, "{notes}");
    let mine = srv
        .get(
            &format!("/api/v1/statuses/{private_id}"),
            Some(&alice.token),
        )
        .await
        .ok();
    assert!(
        mine["content"]
            .as_str()
            .unwrap()
            .contains("for my followers only")
    );
    assert_eq!(status_count(&srv, &third_note).await, 0);

    // The third server's post arrives and is its own.
    let carols = create(
        &format!("{third_note}/activity"),
        &carol,
        note(&third_note, &carol, "carol's post"),
    );
    assert_eq!(third.send(&srv, "carol", &carols).await, 202);
    settled(&srv).await;
    let stored = srv
        .engine()
        .store_for_tests()
        .status_by_uri(&third_note)
        .await
        .unwrap()
        .expect("carol's post is stored");
    assert!(stored.content.contains("carol's post"));
    srv.stop().await;
}

/// A remote actor's document may list keys only on its own server: a key id on our
/// server (or a third one) is not stored, and our user of that name keeps a working
/// key of their own.
async fn keys_are_taken_only_for_the_actors_own_origin(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = Origin::start().await;
    let third = Origin::start().await;
    let mallory = p.actor("mallory");
    let planted = format!("{}/users/henry#main-key", srv.url);
    let elsewhere = format!("{}#main-key", third.actor("carol"));
    let mut doc = actor_doc(&p.url, "mallory", &p.key);
    let pem = p.key.public_key_pem();
    doc["publicKey"] = json!([
        {"id": format!("{mallory}#main-key"), "owner": mallory, "publicKeyPem": pem},
        {"id": planted, "owner": mallory, "publicKeyPem": pem},
        {"id": elsewhere, "owner": mallory, "publicKeyPem": pem},
        {"id": format!("{mallory}#other-key"), "owner": third.actor("carol"),
         "publicKeyPem": pem},
    ]);
    p.put(&mallory, doc);
    let hello = create(
        &format!("{mallory}/creates/1"),
        &mallory,
        note(&format!("{mallory}/notes/1"), &mallory, "hello"),
    );
    assert_eq!(p.send(&srv, "mallory", &hello).await, 202);
    settled(&srv).await;
    let keys = Query::new("SELECT count(*) AS v FROM actor_keys WHERE key_id IN ($1, $2, $3)")
        .bind(planted.as_str())
        .bind(elsewhere.as_str())
        .bind(format!("{mallory}#other-key"));
    assert_eq!(
        scalar(&srv, keys).await,
        0,
        "only mallory's own key is stored"
    );
    assert_eq!(
        scalar(
            &srv,
            Query::new("SELECT count(*) AS v FROM actor_keys WHERE key_id = $1")
                .bind(format!("{mallory}#main-key"))
        )
        .await,
        1
    );

    // henry joins: his actor document shows his own key, the same each time, whose
    // private half the server holds.
    srv.user("henry").await;
    let published = async || {
        let doc = crate::common::get_as2(&srv, &format!("{}/users/henry", srv.url), None)
            .await
            .ok();
        assert_eq!(doc["publicKey"]["id"], planted.as_str());
        doc["publicKey"]["publicKeyPem"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = published().await;
    assert_eq!(
        first,
        published().await,
        "the key does not change between GETs"
    );
    assert_ne!(first, pem);
    let key = srv
        .engine()
        .store_for_tests()
        .key(&planted)
        .await
        .unwrap()
        .unwrap();
    let private = KeyPair::from_pem(key.private_key_pem.as_deref().expect("a private half"));
    assert_eq!(private.unwrap().public_key_pem(), first);
    srv.stop().await;
}

/// A local account's key pair is made with the account; GETs of actor documents never
/// make one; at start the server makes the keys that are missing and replaces key rows
/// of local actors without a private half (planted by an older version's bug).
async fn local_keys_are_made_with_the_account_and_repaired_at_start(db: Db) {
    let Some(mut srv) = TestServer::start(db, federating).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let alice_key = format!("{}/users/alice#main-key", srv.url);
    let private_keys = async |srv: &TestServer, key_id: &str| {
        scalar(
            srv,
            Query::new(
                "SELECT count(*) AS v FROM actor_keys
                 WHERE key_id = $1 AND private_key_pem IS NOT NULL",
            )
            .bind(key_id),
        )
        .await
    };
    assert_eq!(
        private_keys(&srv, &alice_key).await,
        1,
        "made with the account"
    );

    // An account without a key (as an older version left them): a GET of its actor
    // document makes none.
    let engine = srv.engine().clone();
    let now = sluice_model::id::now_millis();
    let mut tx = engine.store_for_tests().begin().await.unwrap();
    tx.insert_account(&sluice_store::NewAccount {
        id: engine.ids.next(),
        username: "old".into(),
        domain: String::new(),
        display_name: String::new(),
        uri: engine.urls.actor("old"),
        url: engine.urls.profile("old"),
        inbox_url: engine.urls.inbox("old"),
        shared_inbox_url: engine.urls.shared_inbox(),
        followers_url: engine.urls.followers("old"),
        locked: false,
        bot: false,
        indexable: false,
        created_at: now,
    })
    .await
    .unwrap();
    // alice's key as the old bug left it: a public half only, owned by a remote actor.
    tx.exec(Query::new("DELETE FROM actor_keys WHERE key_id = $1").bind(alice_key.as_str()))
        .await
        .unwrap();
    tx.exec(
        Query::new(
            "INSERT INTO actor_keys (key_id, account_id, public_key_pem, private_key_pem,
               created_at, fetched_at) VALUES ($1, $2, $3, NULL, $4, $4)",
        )
        .bind(alice_key.as_str())
        .bind(12345_i64)
        .bind(KeyPair::generate().unwrap().public_key_pem())
        .bind(now),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let old_key = format!("{}#main-key", engine.urls.actor("old"));
    let r = crate::common::get_as2(&srv, &engine.urls.actor("old"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let keys_of_old =
        Query::new("SELECT count(*) AS v FROM actor_keys WHERE key_id = $1").bind(old_key.as_str());
    assert_eq!(
        scalar(&srv, keys_of_old.clone()).await,
        0,
        "a GET makes no key"
    );

    // At start both are repaired.
    srv.restart().await;
    eventually("the missing keys made", async || {
        private_keys(&srv, &old_key).await == 1 && private_keys(&srv, &alice_key).await == 1
    })
    .await;
    let doc = crate::common::get_as2(&srv, &format!("{}/users/alice", srv.url), None)
        .await
        .ok();
    let key = srv
        .engine()
        .store_for_tests()
        .key(&alice_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(key.account_id.to_string(), alice.id);
    let pair = KeyPair::from_pem(key.private_key_pem.as_deref().unwrap()).unwrap();
    assert_eq!(
        doc["publicKey"]["publicKeyPem"],
        pair.public_key_pem().as_str()
    );
    srv.stop().await;
}

/// Each kind of activity that is accepted but changes nothing is counted with its
/// reason; a Create whose object names no author is its actor's post.
async fn accepted_but_not_applied_is_counted(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = Origin::start().await;
    let alice = srv.user("alice").await;
    let mallory = p.actor("mallory");
    let dave = p.actor("dave");
    let post = srv.status(&alice, "hello", &[]).await;
    let post_uri = post["uri"].as_str().unwrap().to_string();

    // No attributedTo: the actor's post.
    let mut anonymous = note(&format!("{mallory}/notes/1"), &mallory, "no author named");
    anonymous.as_object_mut().unwrap().remove("attributedTo");
    let create_anonymous = create(&format!("{mallory}/creates/1"), &mallory, anonymous);
    assert_eq!(p.send(&srv, "mallory", &create_anonymous).await, 202);
    settled(&srv).await;
    let stored = srv
        .engine()
        .store_for_tests()
        .status_by_uri(&format!("{mallory}/notes/1"))
        .await
        .unwrap()
        .expect("the post without attributedTo is stored");
    let author = srv
        .engine()
        .store_for_tests()
        .account(stored.account_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(author.uri, mallory);

    // Pleroma's chat message.
    let before = ignored(&srv, "unsupported_object").await;
    let mut chat = note(&format!("{mallory}/chats/1"), &mallory, "psst");
    chat["type"] = json!("ChatMessage");
    chat["to"] = json!([format!("{}/users/alice", srv.url)]);
    let chat = create(&format!("{mallory}/creates/2"), &mallory, chat);
    assert_eq!(p.send(&srv, "mallory", &chat).await, 202);
    counted(&srv, "unsupported_object", before).await;
    assert_eq!(status_count(&srv, &format!("{mallory}/chats/1")).await, 0);

    // A reaction to a post we do not have.
    let before = ignored(&srv, "unknown_object").await;
    let react = json!({"id": format!("{mallory}/reactions/1"), "type": "EmojiReact",
                       "actor": mallory, "object": format!("{mallory}/notes/404"),
                       "content": "🔥"});
    assert_eq!(p.send(&srv, "mallory", &react).await, 202);
    counted(&srv, "unknown_object", before).await;

    // A Dislike.
    let before = ignored(&srv, "unsupported_type").await;
    let dislike = json!({"id": format!("{mallory}/dislikes/1"), "type": "Dislike",
                         "actor": mallory, "object": post_uri});
    assert_eq!(p.send(&srv, "mallory", &dislike).await, 202);
    counted(&srv, "unsupported_type", before).await;

    // A moderator's Delete of dave's post (same server, another author).
    let daves = create(
        &format!("{dave}/creates/1"),
        &dave,
        note(&format!("{dave}/notes/1"), &dave, "dave's post"),
    );
    assert_eq!(p.send(&srv, "dave", &daves).await, 202);
    settled(&srv).await;
    let before = ignored(&srv, "not_author").await;
    let delete = json!({"id": format!("{mallory}/deletes/1"), "type": "Delete",
                        "actor": mallory, "object": format!("{dave}/notes/1")});
    assert_eq!(p.send(&srv, "mallory", &delete).await, 202);
    counted(&srv, "not_author", before).await;
    assert_eq!(status_count(&srv, &format!("{dave}/notes/1")).await, 1);

    // An Announce of an activity by someone nobody here follows.
    let before = ignored(&srv, "announced_activity").await;
    let inner = create(
        &format!("{dave}/creates/2"),
        &dave,
        note(&format!("{dave}/notes/2"), &dave, "relayed"),
    );
    let announce = json!({"id": format!("{mallory}/announces/1"), "type": "Announce",
                          "actor": mallory, "object": inner,
                          "to": ["https://www.w3.org/ns/activitystreams#Public"]});
    assert_eq!(p.send(&srv, "mallory", &announce).await, 202);
    counted(&srv, "announced_activity", before).await;
    assert_eq!(status_count(&srv, &format!("{dave}/notes/2")).await, 0);
    srv.stop().await;
}

/// An activity whose applying the engine refuses for good is finished after its one
/// attempt, counted as `failed`, and not retried: here a boost whose id is the id of
/// the booster's own post. The boost would be stored under that id, which the post
/// holds (a conflict no retry resolves).
async fn refused_activities_are_finished_not_retried(db: Db) {
    let Some(srv) = TestServer::start(db, |c| {
        federating(c);
        // Retries as in service: a retry would wait 15 s or more after the attempt.
        c.federation.delivery_backoff_scale = 1.0;
    })
    .await
    else {
        return;
    };
    let p = Origin::start().await;
    let mallory = p.actor("mallory");
    let note_uri = format!("{mallory}/notes/1");
    let post = create(
        &format!("{mallory}/creates/1"),
        &mallory,
        note(&note_uri, &mallory, "mine"),
    );
    assert_eq!(p.send(&srv, "mallory", &post).await, 202);
    settled(&srv).await;
    assert_eq!(status_count(&srv, &note_uri).await, 1);

    let before = ignored(&srv, "failed").await;
    let boost = json!({"id": note_uri, "type": "Announce", "actor": mallory,
                       "object": note_uri,
                       "to": ["https://www.w3.org/ns/activitystreams#Public"]});
    assert_eq!(p.send(&srv, "mallory", &boost).await, 202);
    let waiting_for_retry = async || {
        scalar(
            &srv,
            Query::new("SELECT count(*) AS v FROM inbox_queue WHERE last_error <> ''"),
        )
        .await
    };
    // Attempted: gone from the queue, or waiting there for another attempt.
    eventually("the boost attempted", async || {
        srv.pending_inbox().await == 0 || waiting_for_retry().await > 0
    })
    .await;
    assert_eq!(
        waiting_for_retry().await,
        0,
        "the refused boost waits for a retry"
    );
    assert_eq!(srv.pending_inbox().await, 0);
    assert_eq!(ignored(&srv, "failed").await, before + 1);
    assert_eq!(status_count(&srv, &note_uri).await, 1);
    srv.stop().await;
}

/// FEP-1b12: a group alice follows announces its members' Create, Update and Delete;
/// each is applied as the member's own, and the post shows in alice's home as the
/// group's boost. A member's post on another server than the group's is fetched from
/// its server, not taken from the announce; a moderator's Delete of someone else's
/// post is not applied.
async fn group_announces_apply_their_members_posts(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = Origin::start().await;
    let q = Origin::start().await;
    let alice = srv.user("alice").await;
    let group = p.actor("group1");
    let dave = p.actor("dave");
    let erin = q.actor("erin");
    let public = "https://www.w3.org/ns/activitystreams#Public";
    let relay = |n: u32, inner: Value| {
        json!({"@context": "https://www.w3.org/ns/activitystreams",
               "id": format!("{group}/announces/{n}"), "type": "Announce", "actor": group,
               "object": inner, "to": [public], "cc": [format!("{group}/followers")]})
    };
    // The group becomes known (its first Announce, before anyone follows it).
    let dave_note = format!("{dave}/notes/1");
    let first = relay(
        0,
        create(
            &format!("{dave}/creates/0"),
            &dave,
            note(&format!("{dave}/notes/0"), &dave, "x"),
        ),
    );
    assert_eq!(p.send(&srv, "group1", &first).await, 202);
    settled(&srv).await;
    follow_directly(&srv, &alice.id, &group).await;

    // A member on the group's server: taken from the announce.
    let inner = create(
        &format!("{dave}/creates/1"),
        &dave,
        note(&dave_note, &dave, "dave in the group"),
    );
    assert_eq!(p.send(&srv, "group1", &relay(1, inner)).await, 202);
    let in_home = async |uri: &str| -> Option<Value> {
        let home = srv
            .get("/api/v1/timelines/home", Some(&alice.token))
            .await
            .ok();
        home.as_array()
            .unwrap()
            .iter()
            .find(|s| s["reblog"]["uri"] == uri)
            .cloned()
    };
    eventually("dave's post in alice's home", async || {
        in_home(&dave_note).await.is_some()
    })
    .await;
    let shown = in_home(&dave_note).await.unwrap();
    assert_eq!(shown["account"]["username"], "group1");
    assert!(
        shown["reblog"]["account"]["acct"]
            .as_str()
            .unwrap()
            .starts_with("dave@")
    );
    assert!(
        shown["reblog"]["content"]
            .as_str()
            .unwrap()
            .contains("dave in the group")
    );

    // A member on another server: the announce's copy is not believed, the post is
    // fetched from erin's server.
    let erin_note = format!("{erin}/notes/1");
    q.put(&erin_note, note(&erin_note, &erin, "what erin wrote"));
    let forged = create(
        &format!("{erin}/creates/1"),
        &erin,
        note(&erin_note, &erin, "what the group says erin wrote"),
    );
    assert_eq!(p.send(&srv, "group1", &relay(2, forged)).await, 202);
    eventually("erin's post in alice's home", async || {
        in_home(&erin_note).await.is_some()
    })
    .await;
    let shown = in_home(&erin_note).await.unwrap();
    assert!(
        shown["reblog"]["content"]
            .as_str()
            .unwrap()
            .contains("what erin wrote"),
        "{shown}"
    );
    // A post that erin's server does not have is not stored.
    let ghost = format!("{erin}/notes/ghost");
    let ghostly = create(
        &format!("{erin}/creates/2"),
        &erin,
        note(&ghost, &erin, "boo"),
    );
    assert_eq!(p.send(&srv, "group1", &relay(3, ghostly)).await, 202);
    settled(&srv).await;
    assert_eq!(status_count(&srv, &ghost).await, 0);

    // dave edits, through the group.
    let mut edited = note(&dave_note, &dave, "dave, edited");
    edited["updated"] = json!("2026-11-22T11:00:00Z");
    let update = json!({"id": format!("{dave}/updates/1"), "type": "Update", "actor": dave,
                        "object": edited, "to": [public]});
    assert_eq!(p.send(&srv, "group1", &relay(4, update)).await, 202);
    eventually("dave's edit", async || {
        in_home(&dave_note)
            .await
            .is_some_and(|s| s["reblog"]["content"].as_str().unwrap().contains("edited"))
    })
    .await;

    // A moderator deletes dave's post: not theirs, not applied.
    let before = ignored(&srv, "not_author").await;
    let moderator = p.actor("mod");
    let removal = json!({"id": format!("{moderator}/deletes/1"), "type": "Delete",
                         "actor": moderator, "object": dave_note, "to": [public]});
    assert_eq!(p.send(&srv, "group1", &relay(5, removal)).await, 202);
    counted(&srv, "not_author", before).await;
    assert_eq!(status_count(&srv, &dave_note).await, 1);

    // dave deletes it himself.
    let delete = json!({"id": format!("{dave}/deletes/1"), "type": "Delete", "actor": dave,
                        "object": dave_note, "to": [public]});
    assert_eq!(p.send(&srv, "group1", &relay(6, delete)).await, 202);
    eventually("dave's post deleted", async || {
        status_count(&srv, &dave_note).await == 0
    })
    .await;
    srv.stop().await;
}

/// FEP-171b (as Mitra sends it): the owner of a followers-only thread relays a reply it
/// was sent as `Add(Create(Note))` to its conversation container. The reply is fetched
/// from its own server (never the embedded copy) and stored as its Create would be,
/// seen by the owner's followers as addressed (and not by the replier's followers, who
/// were not addressed); what cannot be verified is recorded and counted, not applied.
async fn conversation_adds_apply_replies_verified_at_their_origin(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let a = Origin::start().await;
    let b = Origin::start().await;
    let carol = srv.user("carol").await;
    let dave = srv.user("dave").await;
    let owner = a.actor("owner");
    let mallory = a.actor("mallory");
    let bob = b.actor("bob");
    let eve = b.actor("eve");
    let followers = format!("{owner}/followers");
    let container = format!("{}/collections/conversations/1/history", a.url);

    // The owner's followers-only post, which carol (a follower) sees.
    let root_uri = format!("{owner}/notes/root");
    let mut root = note(&root_uri, &owner, "followers only, replies welcome");
    root["to"] = json!([followers]);
    root["context"] = json!(format!("{}/collections/conversations/1", a.url));
    let mut create_root = create(&format!("{owner}/creates/root"), &owner, root);
    create_root["to"] = json!([followers]);
    assert_eq!(a.send(&srv, "owner", &create_root).await, 202);
    settled(&srv).await;
    follow_directly(&srv, &carol.id, &owner).await;
    // dave follows bob, the replier, not the owner.
    let known = json!({"id": format!("{bob}/notes/0"), "type": "Note", "attributedTo": bob,
                       "content": "hello", "published": "2026-11-22T09:00:00Z",
                       "to": ["https://www.w3.org/ns/activitystreams#Public"]});
    assert_eq!(
        b.send(
            &srv,
            "bob",
            &create(&format!("{bob}/creates/0"), &bob, known)
        )
        .await,
        202
    );
    settled(&srv).await;
    follow_directly(&srv, &dave.id, &bob).await;
    let root_id = srv
        .store()
        .status_by_uri(&root_uri)
        .await
        .unwrap()
        .expect("the root post")
        .id;

    let reply = |id: &str, author: &str, content: &str| {
        json!({"id": id, "type": "Note", "attributedTo": author, "content": content,
               "inReplyTo": root_uri, "published": "2026-11-22T10:30:00Z",
               "context": format!("{}/collections/conversations/1", a.url),
               "to": [owner, followers]})
    };
    let add = |n: u32, actor: &str, inner: Value| {
        json!({"@context": "https://www.w3.org/ns/activitystreams",
               "id": format!("{actor}/adds/{n}"), "type": "Add", "actor": actor,
               "object": inner,
               "target": {"type": "OrderedCollection", "id": container,
                          "attributedTo": owner},
               "to": [followers]})
    };
    let wrap = |n: u32, author: &str, note: Value| {
        let mut c = create(&format!("{author}/creates/{n}"), author, note);
        c["to"] = json!([owner, followers]);
        c
    };
    let context = async |viewer: &str| -> Vec<String> {
        let c = srv
            .get(&format!("/api/v1/statuses/{root_id}/context"), Some(viewer))
            .await
            .ok();
        c["descendants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["content"].as_str().unwrap().to_string())
            .collect()
    };

    // A verified reply: served by bob's server as bob's. The embedded copy says
    // something else; what is stored is what the origin serves.
    let reply1 = format!("{bob}/notes/1");
    b.put(&reply1, reply(&reply1, &bob, "the real reply"));
    let sent = add(
        1,
        &owner,
        wrap(1, &bob, reply(&reply1, &bob, "embedded words")),
    );
    assert_eq!(a.send(&srv, "owner", &sent).await, 202);
    settled(&srv).await;
    let seen = context(&carol.token).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("the real reply"), "{seen:?}");
    let stored = srv.store().status_by_uri(&reply1).await.unwrap().unwrap();
    assert!(!stored.content.contains("embedded words"));
    // carol follows the owner, to whose followers the reply was addressed: she sees
    // it alone too; dave follows bob but was not addressed; bob's own post stays his.
    let one = format!("/api/v1/statuses/{}", stored.id);
    assert_eq!(srv.get(&one, Some(&carol.token)).await.status, 200);
    assert_eq!(srv.get(&one, Some(&dave.token)).await.status, 404);
    // Delivered again: nothing changes, nothing is counted.
    assert_eq!(a.send(&srv, "owner", &sent).await, 202);
    settled(&srv).await;
    assert_eq!(context(&carol.token).await.len(), 1);

    // A forged reply: its server does not have it (404). Not applied, counted.
    let before = ignored(&srv, "unverified").await;
    let forged = format!("{bob}/notes/2");
    let sent = add(
        2,
        &owner,
        wrap(2, &bob, reply(&forged, &bob, "forged words")),
    );
    assert_eq!(a.send(&srv, "owner", &sent).await, 202);
    counted(&srv, "unverified", before).await;
    assert_eq!(status_count(&srv, &forged).await, 0);

    // The origin serves the note as another author's than the Create names.
    let before = ignored(&srv, "not_author").await;
    let other = format!("{bob}/notes/3");
    b.put(&other, reply(&other, &eve, "eve wrote this"));
    let sent = add(
        3,
        &owner,
        wrap(3, &bob, reply(&other, &bob, "bob wrote this")),
    );
    assert_eq!(a.send(&srv, "owner", &sent).await, 202);
    counted(&srv, "not_author", before).await;
    assert_eq!(status_count(&srv, &other).await, 0);

    // The origin serves another document under the id: not verified.
    let before = ignored(&srv, "unverified").await;
    let moved = format!("{bob}/notes/4");
    b.put(
        &moved,
        reply(&format!("{bob}/notes/elsewhere"), &bob, "moved"),
    );
    let sent = add(4, &owner, wrap(4, &bob, reply(&moved, &bob, "moved")));
    assert_eq!(a.send(&srv, "owner", &sent).await, 202);
    counted(&srv, "unverified", before).await;
    assert_eq!(status_count(&srv, &moved).await, 0);

    // Someone else relays into the owner's thread: refused before anything is fetched.
    let before = ignored(&srv, "other_collection").await;
    let intruder = format!("{bob}/notes/5");
    b.put(&intruder, reply(&intruder, &bob, "via mallory"));
    let sent = add(
        5,
        &mallory,
        wrap(5, &bob, reply(&intruder, &bob, "via mallory")),
    );
    assert_eq!(a.send(&srv, "mallory", &sent).await, 202);
    counted(&srv, "other_collection", before).await;
    // And with a target of its own, the thread is still not mallory's.
    let before = ignored(&srv, "not_author").await;
    let mut sent = add(
        6,
        &mallory,
        wrap(6, &bob, reply(&intruder, &bob, "via mallory")),
    );
    sent["target"]["attributedTo"] = json!(mallory);
    assert_eq!(a.send(&srv, "mallory", &sent).await, 202);
    counted(&srv, "not_author", before).await;
    assert_eq!(status_count(&srv, &intruder).await, 0);
    assert_eq!(context(&carol.token).await.len(), 1);
    srv.stop().await;
}
