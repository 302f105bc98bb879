//! Two Sluice servers on loopback federate: lookup through WebFinger, follow (signed
//! Follow, automatic Accept), posts delivered to the follower's home timeline, delete,
//! unfollow — each step checked through the other side's Mastodon API.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Db, TestServer, eventually, follow_remote, peer};

db_tests!(
    two_servers_follow_post_delete_unfollow,
    outage_queues_and_delivers_exactly_once,
    replies_bring_their_thread_within_a_budget,
    partition_heals_to_the_same_posts_and_newest_edits,
    pins_reach_followers_as_add_and_remove,
    stopped_receiver_converges_on_edits_and_undone_boosts,
    a_remote_name_is_not_taken_for_a_local_one
);

/// `bob@other` is looked up on the other server even when a local `bob` exists: the
/// lookup once asked for a bare `bob`, which named the local account.
async fn a_remote_name_is_not_taken_for_a_local_one(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let local_bob = a.user("bob").await;
    let alice = a.user("alice").await;
    b.user("bob").await;
    let b_domain = b.url.trim_start_matches("http://").to_string();
    let found = a
        .get(
            &format!("/api/v1/accounts/lookup?acct=bob@{b_domain}"),
            None,
        )
        .await
        .ok();
    assert_eq!(found["acct"], format!("bob@{b_domain}"));
    assert_ne!(found["id"], local_bob.id.as_str());
    let searched = a
        .get(
            &format!("/api/v2/search?q=bob@{b_domain}&resolve=true&type=accounts"),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(searched["accounts"][0]["id"], found["id"]);
}

async fn two_servers_follow_post_delete_unfollow(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let b_domain = b.url.trim_start_matches("http://").to_string();
    let a_domain = a.url.trim_start_matches("http://").to_string();

    // alice finds bob through WebFinger.
    let remote_bob = a
        .get(
            &format!("/api/v1/accounts/lookup?acct=bob@{b_domain}"),
            None,
        )
        .await
        .ok();
    assert_eq!(remote_bob["acct"], format!("bob@{b_domain}"));
    assert_eq!(remote_bob["username"], "bob");
    let bob_on_a = remote_bob["id"].as_str().unwrap().to_string();
    // The same through search with resolve=true (already known now).
    let found = a
        .get(
            &format!("/api/v2/search?q=bob@{b_domain}&resolve=true&type=accounts"),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(found["accounts"][0]["id"], bob_on_a.as_str());

    // alice follows bob: requested until bob's server accepts.
    let rel = a
        .post(
            &format!("/api/v1/accounts/{bob_on_a}/follow"),
            Some(&alice.token),
            &[],
        )
        .await
        .ok();
    assert!(
        rel["following"] == true || rel["requested"] == true,
        "{rel}"
    );
    eventually("the follow to be accepted", async || {
        let r = a
            .get(
                &format!("/api/v1/accounts/relationships?id[]={bob_on_a}"),
                Some(&alice.token),
            )
            .await
            .ok();
        r[0]["following"] == true
    })
    .await;
    let on_b = b
        .get(&format!("/api/v1/accounts/{}", bob.id), None)
        .await
        .ok();
    assert_eq!(on_b["followers_count"], 1);
    let followers = b
        .get(
            &format!("/api/v1/accounts/{}/followers", bob.id),
            Some(&bob.token),
        )
        .await
        .ok();
    assert_eq!(followers[0]["acct"], format!("alice@{a_domain}"));

    // bob posts; it reaches alice's home timeline on A.
    let post = b
        .status(&bob, "hello from the other side #federation", &[])
        .await;
    let mut seen: Value = Value::Null;
    eventually("bob's post in alice's home", async || {
        let home = a
            .get("/api/v1/timelines/home", Some(&alice.token))
            .await
            .ok();
        match home
            .as_array()
            .and_then(|h| h.iter().find(|s| s["uri"] == post["uri"]).cloned())
        {
            Some(s) => {
                seen = s;
                true
            }
            None => false,
        }
    })
    .await;
    assert_eq!(seen["account"]["acct"], format!("bob@{b_domain}"));
    assert!(
        seen["content"]
            .as_str()
            .unwrap()
            .contains("hello from the other side")
    );
    assert_eq!(seen["visibility"], "public");
    assert_eq!(seen["tags"][0]["name"], "federation");
    let local_id = seen["id"].as_str().unwrap().to_string();
    a.get(&format!("/api/v1/statuses/{local_id}"), Some(&alice.token))
        .await
        .ok();

    // alice favourites, boosts and replies; bob's server counts them and threads it.
    let bob_post_id = post["id"].as_str().unwrap().to_string();
    a.post(
        &format!("/api/v1/statuses/{local_id}/favourite"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    a.post(
        &format!("/api/v1/statuses/{local_id}/reblog"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    let reply = a
        .status(
            &alice,
            "nice to meet you",
            &[("in_reply_to_id", local_id.as_str())],
        )
        .await;
    eventually("the like, boost and reply on B", async || {
        let s = b
            .get(&format!("/api/v1/statuses/{bob_post_id}"), None)
            .await
            .ok();
        s["favourites_count"] == 1 && s["reblogs_count"] == 1 && s["replies_count"] == 1
    })
    .await;
    let ctx = b
        .get(
            &format!("/api/v1/statuses/{bob_post_id}/context"),
            Some(&bob.token),
        )
        .await
        .ok();
    assert_eq!(ctx["descendants"][0]["uri"], reply["uri"]);
    assert_eq!(
        ctx["descendants"][0]["account"]["acct"],
        format!("alice@{a_domain}")
    );
    let notes = b.get("/api/v1/notifications", Some(&bob.token)).await.ok();
    let kinds: Vec<&str> = notes
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    assert!(
        kinds.contains(&"favourite") && kinds.contains(&"reblog") && kinds.contains(&"follow"),
        "{kinds:?}"
    );

    // bob edits; the newer text replaces the old one on A.
    b.request(
        reqwest::Method::PUT,
        &format!("/api/v1/statuses/{bob_post_id}"),
        Some(&bob.token),
        Some(crate::common::Body::Form(vec![(
            "status".into(),
            "hello again, edited".into(),
        )])),
    )
    .await
    .ok();
    eventually("the edit on A", async || {
        let s = a
            .get(&format!("/api/v1/statuses/{local_id}"), Some(&alice.token))
            .await
            .ok();
        s["content"].as_str().is_some_and(|c| c.contains("edited")) && s["edited_at"].is_string()
    })
    .await;

    // bob deletes it; it goes from A too.
    b.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/statuses/{}", post["id"].as_str().unwrap()),
        Some(&bob.token),
        None,
    )
    .await
    .ok();
    eventually("the delete to arrive", async || {
        a.get(&format!("/api/v1/statuses/{local_id}"), Some(&alice.token))
            .await
            .status
            == 404
    })
    .await;

    // alice unfollows; bob's server drops the follower.
    a.post(
        &format!("/api/v1/accounts/{bob_on_a}/unfollow"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    eventually("the unfollow to arrive", async || {
        b.get(&format!("/api/v1/accounts/{}", bob.id), None)
            .await
            .ok()["followers_count"]
            == 0
    })
    .await;

    // bob follows alice; alice blocks bob: bob's server learns the follow is over (a
    // Reject), without being sent the Block itself.
    let remote_alice = b
        .get(
            &format!("/api/v1/accounts/lookup?acct=alice@{a_domain}"),
            None,
        )
        .await
        .ok();
    let alice_on_b = remote_alice["id"].as_str().unwrap().to_string();
    b.post(
        &format!("/api/v1/accounts/{alice_on_b}/follow"),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    eventually("bob following alice", async || {
        a.get(&format!("/api/v1/accounts/{}", alice.id), None)
            .await
            .ok()["followers_count"]
            == 1
    })
    .await;
    let bob_id_on_a = bob_on_a.clone();
    a.post(
        &format!("/api/v1/accounts/{bob_id_on_a}/block"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    eventually("the follow to end on B", async || {
        let r = b
            .get(
                &format!("/api/v1/accounts/relationships?id[]={alice_on_b}"),
                Some(&bob.token),
            )
            .await
            .ok();
        r[0]["following"] == false && r[0]["requested"] == false
    })
    .await;
    assert_eq!(
        b.count("blocks").await,
        0,
        "the Block is not delivered (federation.send_blocks is off)"
    );
    a.stop().await;
    b.stop().await;
}

/// An HTTP proxy in front of a server that can be switched off (it then answers 503,
/// as a server in trouble would); it records each forwarded inbox POST.
struct Proxy {
    url: String,
    down: Arc<AtomicBool>,
    /// `(activity type, activity id, upstream status)` of every forwarded inbox POST.
    forwarded: Arc<Mutex<Vec<(String, String, u16)>>>,
    target: Arc<Mutex<String>>,
}

async fn proxy(addr: &str) -> Proxy {
    let listener = tokio::net::TcpListener::bind(format!("{addr}:0"))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let down = Arc::new(AtomicBool::new(false));
    let forwarded = Arc::new(Mutex::new(Vec::new()));
    let target = Arc::new(Mutex::new(String::new()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (d, f, t) = (down.clone(), forwarded.clone(), target.clone());
    let app = axum::Router::new().fallback(
        move |method: axum::http::Method,
              uri: axum::http::Uri,
              headers: axum::http::HeaderMap,
              body: axum::body::Bytes| {
            let (d, f, t, client) = (d.clone(), f.clone(), t.clone(), client.clone());
            async move {
                use axum::response::IntoResponse;
                if d.load(Ordering::SeqCst) {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
                }
                let base = t.lock().unwrap().clone();
                let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
                let mut req = client.request(method.clone(), format!("{base}{path}"));
                for (k, v) in &headers {
                    if k != "content-length" {
                        req = req.header(k, v);
                    }
                }
                let res = req.body(body.clone()).send().await.unwrap();
                let status = res.status().as_u16();
                if method == axum::http::Method::POST && path.ends_with("inbox") {
                    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    f.lock().unwrap().push((
                        v["type"].as_str().unwrap_or_default().to_string(),
                        v["id"].as_str().unwrap_or_default().to_string(),
                        status,
                    ));
                }
                let mut out = axum::http::Response::builder().status(status);
                for (k, v) in res.headers() {
                    if k != "content-length" && k != "transfer-encoding" {
                        out = out.header(k, v);
                    }
                }
                out.body(axum::body::Body::from(res.bytes().await.unwrap()))
                    .unwrap()
                    .into_response()
            }
        },
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Proxy {
        url,
        down,
        forwarded,
        target,
    }
}

/// While bob's server is unreachable, 1,000 of alice's posts wait in her server's
/// queue; when it is back, every one arrives exactly once, at the per-host pace.
async fn outage_queues_and_delivers_exactly_once(db: Db) {
    const POSTS: usize = 1_000;
    let p = proxy("127.0.0.3").await;
    let proxied = p.url.clone();
    let Some(b) = TestServer::start(db, move |c| {
        c.listen = "127.0.0.3:0".into();
        c.public_url = Some(proxied);
        c.allow_private_addresses = true;
        c.federation.allow_http = true;
        c.rate_limit_writes = 0;
    })
    .await
    else {
        return;
    };
    *p.target.lock().unwrap() = format!("http://{}", b.running_addr());
    let Some(a) = TestServer::start(db, |c| {
        c.listen = "127.0.0.2:0".into();
        c.allow_private_addresses = true;
        c.federation.allow_http = true;
        c.federation.breaker_threshold = 3;
        c.federation.breaker_probe_secs = 1;
        c.federation.delivery_backoff_scale = 0.001;
    })
    .await
    else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let a_domain = a.url.trim_start_matches("http://").to_string();
    let alice_on_b = b.lookup_id(&format!("alice@{a_domain}")).await;
    b.post(
        &format!("/api/v1/accounts/{alice_on_b}/follow"),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    eventually("bob following alice", async || {
        a.get(&format!("/api/v1/accounts/{}", alice.id), None)
            .await
            .ok()["followers_count"]
            == 1
    })
    .await;

    // bob's server goes away; alice keeps posting.
    p.down.store(true, Ordering::SeqCst);
    let mut uris = Vec::with_capacity(POSTS);
    for i in 0..POSTS {
        uris.push(
            a.status(&alice, &format!("post {i} during the outage"), &[])
                .await["uri"]
                .clone(),
        );
    }
    let store = &a.engine().store_for_tests();
    assert!(
        store.pending_deliveries().await.unwrap() > 0,
        "deliveries wait"
    );
    let host = store
        .delivery_host(
            p.url
                .trim_start_matches("http://")
                .split(':')
                .next()
                .unwrap(),
        )
        .await
        .unwrap()
        .expect("the host's failures are counted");
    assert_eq!(host.state, "down", "the breaker is open");
    assert!(
        p.forwarded
            .lock()
            .unwrap()
            .iter()
            .all(|(kind, _, _)| kind != "Create"),
        "nothing got through"
    );

    // It comes back: everything arrives, once.
    p.down.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n = b.count("statuses").await;
        if n as usize == POSTS {
            break;
        }
        assert!(Instant::now() < deadline, "only {n} of {POSTS} arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eventually("alice's queue to empty", async || {
        store.pending_deliveries().await.unwrap() == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let forwarded = p.forwarded.lock().unwrap().clone();
    let creates: Vec<&(String, String, u16)> = forwarded
        .iter()
        .filter(|(kind, _, _)| kind == "Create")
        .collect();
    assert_eq!(creates.len(), POSTS, "each Create POSTed exactly once");
    let mut ids: Vec<&str> = creates.iter().map(|(_, id, _)| id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), POSTS);
    assert!(creates.iter().all(|(_, _, status)| *status == 202));
    // And bob sees them.
    let home = b
        .get("/api/v1/timelines/home?limit=40", Some(&bob.token))
        .await
        .ok();
    // Newest first by the posts' own dates, though they arrived in any order (two
    // posts of the same millisecond may swap, hence the small margin).
    assert_eq!(home.as_array().unwrap().len(), 40);
    let newest: Vec<&Value> = uris[POSTS - 45..].iter().collect();
    assert!(
        home.as_array()
            .unwrap()
            .iter()
            .all(|s| newest.contains(&&s["uri"])),
        "bob's home shows the newest posts first"
    );
    assert!(uris[POSTS - 3..].contains(&home[0]["uri"]));
    assert_eq!(
        store
            .delivery_host(
                p.url
                    .trim_start_matches("http://")
                    .split(':')
                    .next()
                    .unwrap()
            )
            .await
            .unwrap()
            .unwrap()
            .state,
        "up"
    );
    a.stop().await;
    b.stop().await;
}

/// A reply to a post the server has never seen brings the thread above it (fetched from
/// the origin), at most `backfill::MAX_DEPTH` posts up.
async fn replies_bring_their_thread_within_a_budget(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let carol = b.user("carol").await;
    let b_domain = b.url.trim_start_matches("http://").to_string();
    let bob_on_a = a.lookup_id(&format!("bob@{b_domain}")).await;
    a.post(
        &format!("/api/v1/accounts/{bob_on_a}/follow"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    eventually("the follow", async || {
        b.get(&format!("/api/v1/accounts/{}", bob.id), None)
            .await
            .ok()["followers_count"]
            == 1
    })
    .await;

    // carol (whom nobody on A follows) writes a thread of 20; bob answers its end.
    const LEN: usize = 20;
    let mut parent: Option<String> = None;
    let mut thread = Vec::new();
    for i in 0..LEN {
        let extra: Vec<(&str, &str)> = parent
            .as_deref()
            .map(|p| vec![("in_reply_to_id", p)])
            .unwrap_or_default();
        let s = b.status(&carol, &format!("part {i}"), &extra).await;
        parent = Some(s["id"].as_str().unwrap().to_string());
        thread.push(s);
    }
    let reply = b
        .status(
            &bob,
            "what a thread",
            &[("in_reply_to_id", parent.as_deref().unwrap())],
        )
        .await;
    let mut local_reply = String::new();
    // (Not in alice's home: it answers someone she does not follow, as in Mastodon.)
    eventually("bob's reply on A", async || {
        let home = a
            .get(
                &format!("/api/v1/accounts/{bob_on_a}/statuses"),
                Some(&alice.token),
            )
            .await
            .ok();
        match home
            .as_array()
            .and_then(|h| h.iter().find(|s| s["uri"] == reply["uri"]).cloned())
        {
            Some(s) => {
                local_reply = s["id"].as_str().unwrap().to_string();
                true
            }
            None => false,
        }
    })
    .await;
    let ctx = a
        .get(
            &format!("/api/v1/statuses/{local_reply}/context"),
            Some(&alice.token),
        )
        .await
        .ok();
    let ancestors = ctx["ancestors"].as_array().unwrap();
    let depth = sluice_federation::backfill::MAX_DEPTH;
    assert_eq!(ancestors.len(), depth, "the walk stops at its depth budget");
    // Oldest first, ending with the post bob answered; each threaded on its parent.
    assert_eq!(ancestors[depth - 1]["uri"], thread[LEN - 1]["uri"]);
    assert_eq!(ancestors[0]["uri"], thread[LEN - depth]["uri"]);
    assert_eq!(ancestors[0]["account"]["acct"], format!("carol@{b_domain}"));
    for w in ancestors.windows(2) {
        assert_eq!(w[1]["in_reply_to_id"], w[0]["id"]);
    }
    a.stop().await;
    b.stop().await;
}

fn behind_proxy(addr: &'static str, proxy_url: String) -> impl FnOnce(&mut sluice::config::Config) {
    move |c| {
        c.listen = format!("{addr}:0");
        c.public_url = Some(proxy_url);
        c.allow_private_addresses = true;
        c.federation.allow_http = true;
        c.federation.breaker_threshold = 3;
        c.federation.breaker_probe_secs = 1;
        c.federation.delivery_backoff_scale = 0.001;
    }
}

async fn edit(srv: &TestServer, user: &crate::common::User, id: &str, text: &str) {
    srv.request(
        reqwest::Method::PUT,
        &format!("/api/v1/statuses/{id}"),
        Some(&user.token),
        Some(crate::common::Body::Form(vec![(
            "status".into(),
            text.into(),
        )])),
    )
    .await
    .ok();
}

/// Both servers behind proxies; the link is cut both ways while each side posts and
/// edits; after it heals, each side shows the other's posts with the newest edits.
async fn partition_heals_to_the_same_posts_and_newest_edits(db: Db) {
    let pa = proxy("127.0.0.2").await;
    let pb = proxy("127.0.0.3").await;
    let Some(a) = TestServer::start(db, behind_proxy("127.0.0.2", pa.url.clone())).await else {
        return;
    };
    let Some(b) = TestServer::start(db, behind_proxy("127.0.0.3", pb.url.clone())).await else {
        return;
    };
    let (mut a, mut b) = (a, b);
    *pa.target.lock().unwrap() = format!("http://{}", a.running_addr());
    *pb.target.lock().unwrap() = format!("http://{}", b.running_addr());
    // The test's own API calls go straight to each server, not through its proxy.
    a.url = format!("http://{}", a.running_addr());
    b.url = format!("http://{}", b.running_addr());
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let a_domain = pa.url.trim_start_matches("http://").to_string();
    let b_domain = pb.url.trim_start_matches("http://").to_string();
    let bob_on_a = a.lookup_id(&format!("bob@{b_domain}")).await;
    let alice_on_b = b.lookup_id(&format!("alice@{a_domain}")).await;
    a.post(
        &format!("/api/v1/accounts/{bob_on_a}/follow"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    b.post(
        &format!("/api/v1/accounts/{alice_on_b}/follow"),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    eventually("mutual follows", async || {
        a.get(&format!("/api/v1/accounts/{}", alice.id), None)
            .await
            .ok()["followers_count"]
            == 1
            && b.get(&format!("/api/v1/accounts/{}", bob.id), None)
                .await
                .ok()["followers_count"]
                == 1
    })
    .await;
    let a1 = a.status(&alice, "alice one", &[]).await;
    let b1 = b.status(&bob, "bob one", &[]).await;
    eventually("both first posts across", async || {
        a.count("statuses").await == 2 && b.count("statuses").await == 2
    })
    .await;

    // The link goes down both ways; both sides keep writing.
    pa.down.store(true, Ordering::SeqCst);
    pb.down.store(true, Ordering::SeqCst);
    let a1_id = a1["id"].as_str().unwrap().to_string();
    let b1_id = b1["id"].as_str().unwrap().to_string();
    edit(&a, &alice, &a1_id, "alice one, edited once").await;
    edit(&a, &alice, &a1_id, "alice one, edited twice").await;
    let a2 = a.status(&alice, "alice two", &[]).await;
    edit(&b, &bob, &b1_id, "bob one, edited").await;
    let b2 = b.status(&bob, "bob two", &[]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(a.count("statuses").await, 3, "A has not heard of bob two");
    assert_eq!(b.count("statuses").await, 3, "B has not heard of alice two");

    // Healed: both sides converge.
    pa.down.store(false, Ordering::SeqCst);
    pb.down.store(false, Ordering::SeqCst);
    let find = async |srv: &TestServer, token: &str, uri: &Value| -> Option<Value> {
        let home = srv.get("/api/v1/timelines/home", Some(token)).await.ok();
        home.as_array()?.iter().find(|s| s["uri"] == *uri).cloned()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let on_a = find(&a, &alice.token, &b1["uri"]).await;
        let on_b = find(&b, &bob.token, &a1["uri"]).await;
        let b2_on_a = find(&a, &alice.token, &b2["uri"]).await;
        let a2_on_b = find(&b, &bob.token, &a2["uri"]).await;
        let done = on_a.is_some_and(|s| s["content"].as_str().unwrap().contains("bob one, edited"))
            && on_b.is_some_and(|s| {
                s["content"]
                    .as_str()
                    .unwrap()
                    .contains("alice one, edited twice")
            })
            && b2_on_a.is_some()
            && a2_on_b.is_some();
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "the two sides did not converge");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(a.count("statuses").await, 4);
    assert_eq!(b.count("statuses").await, 4);
    // Every delivery is settled on both sides.
    for srv in [&a, &b] {
        eventually("queues to empty", async || {
            srv.pending_deliveries().await == 0
        })
        .await;
    }
    // The newest edit stays, whatever order the two updates arrived in.
    let hist = b
        .get(
            &format!(
                "/api/v1/statuses/{}/history",
                find(&b, &bob.token, &a1["uri"]).await.unwrap()["id"]
                    .as_str()
                    .unwrap()
            ),
            Some(&bob.token),
        )
        .await
        .ok();
    let last = hist.as_array().unwrap().last().unwrap();
    assert!(
        last["content"].as_str().unwrap().contains("edited twice"),
        "{hist}"
    );
    a.stop().await;
    b.stop().await;
}

/// bob (on B) pins a post: the `Add` to his featured collection reaches alice's server
/// (A follows him), whose API lists it among bob's pinned posts; his unpin (`Remove`)
/// takes it away again.
async fn pins_reach_followers_as_add_and_remove(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let b_domain = b.url.trim_start_matches("http://").to_string();
    let bob_on_a = a.lookup_id(&format!("bob@{b_domain}")).await;
    a.post(
        &format!("/api/v1/accounts/{bob_on_a}/follow"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    eventually("the follow", async || {
        b.get(&format!("/api/v1/accounts/{}", bob.id), None)
            .await
            .ok()["followers_count"]
            == 1
    })
    .await;

    let post = b.status(&bob, "this one matters", &[]).await;
    b.status(&bob, "this one does not", &[]).await;
    let pinned_on_a = async || {
        a.get(
            &format!("/api/v1/accounts/{bob_on_a}/statuses?pinned=true"),
            Some(&alice.token),
        )
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["uri"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
    };
    eventually("bob's post on A", async || {
        let statuses = a
            .get(
                &format!("/api/v1/accounts/{bob_on_a}/statuses"),
                Some(&alice.token),
            )
            .await
            .ok();
        statuses.as_array().unwrap().len() == 2
    })
    .await;
    assert!(pinned_on_a().await.is_empty());

    let post_id = post["id"].as_str().unwrap();
    b.post(
        &format!("/api/v1/statuses/{post_id}/pin"),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    let uri = post["uri"].as_str().unwrap().to_string();
    eventually("the pin on A", async || {
        pinned_on_a().await == [uri.clone()]
    })
    .await;
    // The remote post is pinned by bob, not by alice: her `pinned` flag stays off.
    let listed = a
        .get(
            &format!("/api/v1/accounts/{bob_on_a}/statuses?pinned=true"),
            Some(&alice.token),
        )
        .await
        .ok();
    assert!(listed[0].get("pinned").is_none(), "{listed}");

    b.post(
        &format!("/api/v1/statuses/{post_id}/unpin"),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    eventually("the unpin on A", async || pinned_on_a().await.is_empty()).await;

    // Applying is idempotent by activity id: the same Add again (signed by bob's key,
    // as B would re-send it) does not pin anew. An Add to another collection of his
    // is recorded and pins nothing.
    let bob_row = b
        .engine()
        .store_for_tests()
        .account(bob.id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let key = sluice_federation::local::signing_key(b.engine(), &bob_row)
        .await
        .unwrap();
    let key_pair =
        sluice_federation::keys::KeyPair::from_pem(key.private_key_pem.as_deref().unwrap())
            .unwrap();
    let sent_add = b
        .engine()
        .store_for_tests()
        .one::<sluice_store::TextScalar>(sluice_store::Query::new(
            "SELECT json AS v FROM activities WHERE kind = 'Add'",
        ))
        .await
        .unwrap()
        .v
        .unwrap();
    let elsewhere_id = format!("{}#elsewhere", bob_row.uri);
    let elsewhere = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": elsewhere_id, "type": "Add", "actor": bob_row.uri,
        "object": uri, "target": format!("{}/collections/elsewhere", bob_row.uri),
    })
    .to_string();
    for body in [sent_add, elsewhere] {
        let url = url::Url::parse(&format!("{}/inbox", a.url)).unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("content-type", "application/activity+json".parse().unwrap());
        sluice_federation::signatures::sign_request(
            &reqwest::Method::POST,
            &url,
            &mut headers,
            Some(body.as_bytes()),
            &sluice_federation::signatures::SignWith {
                key_id: &key.key_id,
                key: &key_pair,
                scheme: sluice_federation::signatures::Scheme::Cavage,
                now: std::time::SystemTime::now(),
            },
        )
        .unwrap();
        let r = a
            .http
            .post(url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
    let recorded = sluice_store::Query::new("SELECT count(*) AS v FROM activities WHERE uri = $1")
        .bind(elsewhere_id.as_str());
    eventually("both Adds applied on A", async || {
        a.count("inbox_queue").await == 0
            && a.engine()
                .store_for_tests()
                .one::<sluice_store::Scalar>(recorded.clone())
                .await
                .unwrap()
                .v
                == 1
    })
    .await;
    assert!(pinned_on_a().await.is_empty());
    a.stop().await;
    b.stop().await;
}

/// While bob's server is stopped, alice writes posts and edits each one, boosts posts
/// of hers and takes each boost back. Her server queues all of it; when bob's server
/// starts again it gets the lot in one burst (several deliveries at once, in any
/// order) and must end where alice's server is: every post with its edited text, no
/// boost left.
async fn stopped_receiver_converges_on_edits_and_undone_boosts(db: Db) {
    // Several pairs of each, so that a burst applied in the wrong order shows.
    const PAIRS: usize = 4;
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(mut b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let a_domain = a.url.trim_start_matches("http://").to_string();
    let alice_on_b = follow_remote(&b, &bob, &format!("alice@{a_domain}")).await;
    let mut boosted = Vec::new();
    for i in 0..PAIRS {
        boosted.push(a.status(&alice, &format!("boost me {i}"), &[]).await);
    }
    eventually("alice's first posts on B", async || {
        b.count("statuses").await == PAIRS as i64
    })
    .await;

    b.halt().await;
    let mut edited = Vec::new();
    for (i, original) in boosted.iter().enumerate() {
        let post = a.status(&alice, &format!("draft {i}"), &[]).await;
        edit(
            &a,
            &alice,
            post["id"].as_str().unwrap(),
            &format!("final {i}"),
        )
        .await;
        edited.push(post["uri"].as_str().unwrap().to_string());
        let id = original["id"].as_str().unwrap();
        for verb in ["reblog", "unreblog"] {
            a.post(
                &format!("/api/v1/statuses/{id}/{verb}"),
                Some(&alice.token),
                &[],
            )
            .await
            .ok();
        }
    }
    let store = &a.engine().store_for_tests();
    assert_eq!(
        store.pending_deliveries().await.unwrap(),
        4 * PAIRS as i64,
        "everything waits for B"
    );
    b.resume().await;

    // Settled: A delivered everything and B applied everything it received.
    eventually("A's deliveries and B's inbox to settle", async || {
        store.pending_deliveries().await.unwrap() == 0 && b.pending_inbox().await == 0
    })
    .await;
    let on_b = b
        .get(
            &format!("/api/v1/accounts/{alice_on_b}/statuses?limit=40"),
            Some(&bob.token),
        )
        .await
        .ok();
    let on_b = on_b.as_array().unwrap();
    for (i, uri) in edited.iter().enumerate() {
        let post = on_b
            .iter()
            .find(|s| s["uri"] == uri.as_str())
            .unwrap_or_else(|| panic!("post {i} missing on B"));
        assert!(
            post["content"]
                .as_str()
                .unwrap()
                .contains(&format!("final {i}")),
            "the edit of post {i} was lost on B: {}",
            post["content"]
        );
    }
    for s in on_b {
        assert!(s["reblog"].is_null(), "a boost taken back stayed on B: {s}");
        assert_eq!(s["reblogs_count"], 0, "{s}");
    }
    assert_eq!(on_b.len(), 2 * PAIRS, "{on_b:?}");
    a.stop().await;
    b.stop().await;
}
