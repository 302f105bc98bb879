//! The delivery queue end to end: a local post reaches a remote follower's shared inbox
//! (a sink server on loopback), signed so that the receiver can verify it with the
//! author's published key; failures are retried (honouring Retry-After) or given up.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use reqwest::Method;
use serde_json::Value;
use sluice_federation::keys::PublicKey;
use sluice_federation::signatures::{TargetScheme, VerifyLimits, parse_request};
use sluice_store::{NewRelation, Relation, RemoteActor};

use crate::common::{Db, TestServer};

db_tests!(
    post_reaches_remote_follower_signed,
    failed_deliveries_retry_or_give_up,
    claims_respect_host_caps_and_breakers,
    claims_are_fair_between_hosts,
    claims_agree_with_ranking_every_due_row,
    double_knocking_with_rfc9421,
    rfc9421_first_to_hosts_that_ask_for_it,
    signed_gets_knock_again_with_rfc9421
);

/// What the sink received, and what it answers next.
#[derive(Default)]
struct Sink {
    received: Vec<(String, HeaderMap, Vec<u8>)>,
    /// Answers to give, in order; 202 when exhausted.
    script: Vec<(u16, Option<&'static str>)>,
    /// Refuse (401) requests not signed with RFC 9421, as a strict peer would.
    require_rfc9421: bool,
    /// Answer with `Accept-Signature` (RFC 9421 §5.1), as a server that verifies
    /// HTTP Message Signatures may.
    advertise_rfc9421: bool,
}

async fn start_sink(sink: Arc<Mutex<Sink>>) -> String {
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: HeaderMap, body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                let mut s = sink.lock().unwrap();
                let refuse = s.require_rfc9421 && !headers.contains_key("signature-input");
                s.received.push((uri.to_string(), headers, body.to_vec()));
                if refuse {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                let (status, retry_after) = if s.script.is_empty() {
                    (202, None)
                } else {
                    s.script.remove(0)
                };
                let mut res = StatusCode::from_u16(status).unwrap().into_response();
                if s.advertise_rfc9421 {
                    res.headers_mut().insert(
                        "accept-signature",
                        "sig1=(\"@method\" \"@target-uri\" \"content-digest\")"
                            .parse()
                            .unwrap(),
                    );
                }
                if let Some(ra) = retry_after {
                    res.headers_mut().insert("retry-after", ra.parse().unwrap());
                }
                res
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// A remote actor living on the sink, following `target`.
async fn remote_follower(srv: &TestServer, sink: &str, name: &str, target: &str) -> i64 {
    let engine = srv.engine();
    let now = sluice_model::id::now_millis();
    let domain = sink.trim_start_matches("http://").to_string();
    let mut tx = engine.store_for_tests().begin().await.unwrap();
    let id = tx
        .upsert_remote_actor(
            engine.ids.next(),
            &RemoteActor {
                uri: format!("{sink}/users/{name}"),
                username: name.into(),
                domain,
                actor_type: "Person".into(),
                display_name: name.into(),
                note: String::new(),
                url: format!("{sink}/@{name}"),
                inbox_url: format!("{sink}/users/{name}/inbox"),
                shared_inbox_url: format!("{sink}/inbox"),
                outbox_url: String::new(),
                followers_url: String::new(),
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
    tx.insert_relation(
        Relation::Follow,
        &NewRelation {
            id: engine.ids.next(),
            account_id: id,
            target_account_id: target.parse().unwrap(),
            uri: format!("{sink}/follows/{name}"),
            flag_a: true,
            flag_b: false,
            expires_at: None,
            created_at: now,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn federating(c: &mut sluice::config::Config) {
    c.allow_private_addresses = true;
    c.federation.allow_http = true;
}

async fn post_reaches_remote_follower_signed(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let sink = Arc::new(Mutex::new(Sink::default()));
    let sink_url = start_sink(sink.clone()).await;
    let alice = srv.user("alice").await;
    // Two followers on the same server share its inbox: one POST.
    remote_follower(&srv, &sink_url, "carol", &alice.id).await;
    remote_follower(&srv, &sink_url, "dave", &alice.id).await;
    let status = srv.status(&alice, "hello fediverse", &[]).await;
    wait_for("the delivery", async || {
        !sink.lock().unwrap().received.is_empty()
    })
    .await;
    wait_for("the queue to empty", async || {
        srv.pending_deliveries().await == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = std::mem::take(&mut sink.lock().unwrap().received);
    assert_eq!(received.len(), 1, "one POST for the shared inbox");
    let (path, headers, body) = &received[0];
    assert_eq!(path, "/inbox");
    let activity: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(activity["type"], "Create");
    assert_eq!(activity["actor"], format!("{}/users/alice", srv.url));
    assert_eq!(activity["object"]["id"], status["uri"]);
    assert_eq!(
        activity["to"][0],
        "https://www.w3.org/ns/activitystreams#Public"
    );
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/activity+json")
    );

    // The receiver can verify the signature with the key alice publishes.
    let actor: Value = srv
        .http
        .get(format!("{}/users/alice", srv.url))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = PublicKey::from_pem(actor["publicKey"]["publicKeyPem"].as_str().unwrap()).unwrap();
    let limits = VerifyLimits {
        target_scheme: TargetScheme::Http,
        ..VerifyLimits::default()
    };
    let pending = parse_request(
        &Method::POST,
        path,
        headers,
        Some(body),
        SystemTime::now(),
        &limits,
    )
    .expect("a well-formed signature");
    assert_eq!(
        pending.key_id(),
        format!("{}/users/alice#main-key", srv.url)
    );
    pending.verify(&key).expect("signature verifies");
    // Tampering with the body breaks it.
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert!(
        parse_request(
            &Method::POST,
            path,
            headers,
            Some(&tampered),
            SystemTime::now(),
            &limits
        )
        .and_then(|p| p.verify(&key))
        .is_err()
    );

    // A private post goes to followers too; a direct message to nobody on the sink.
    srv.status(&alice, "just followers", &[("visibility", "private")])
        .await;
    srv.user("erin").await;
    srv.status(&alice, "@erin secret", &[("visibility", "direct")])
        .await;
    wait_for("the second delivery", async || {
        !sink.lock().unwrap().received.is_empty()
    })
    .await;
    wait_for("the queue to empty", async || {
        srv.pending_deliveries().await == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = std::mem::take(&mut sink.lock().unwrap().received);
    assert_eq!(received.len(), 1);
    let activity: Value = serde_json::from_slice(&received[0].2).unwrap();
    assert_eq!(activity["object"]["content"], "<p>just followers</p>");

    // Nothing is delivered to a suspended domain: not even queued.
    let mut tx = srv.store().begin().await.unwrap();
    tx.set_domain_block(&sluice_store::DomainBlockRow {
        domain: "127.0.0.1".into(),
        severity: "suspend".into(),
        reject_media: false,
        reason: String::new(),
        created_at: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    srv.status(&alice, "not for them", &[]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(srv.count("deliveries").await, 0);
    assert!(sink.lock().unwrap().received.is_empty());
    srv.stop().await;
}

async fn failed_deliveries_retry_or_give_up(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let sink = Arc::new(Mutex::new(Sink::default()));
    let sink_url = start_sink(sink.clone()).await;
    let alice = srv.user("alice").await;
    remote_follower(&srv, &sink_url, "carol", &alice.id).await;

    // Busy first (503, Retry-After: 1), then accepted: delivered exactly once more.
    sink.lock().unwrap().script = vec![(503, Some("1"))];
    srv.status(&alice, "try again", &[]).await;
    wait_for("two attempts", async || {
        sink.lock().unwrap().received.len() >= 2
    })
    .await;
    wait_for("the queue to empty", async || {
        srv.pending_deliveries().await == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received = std::mem::take(&mut sink.lock().unwrap().received);
    assert_eq!(received.len(), 2, "one failure, one success, nothing more");
    assert_eq!(received[0].2, received[1].2, "the same activity both times");
    assert_eq!(srv.count("deliveries").await, 0);

    // Gone (410) is final: one attempt, kept as expired with the status.
    sink.lock().unwrap().script = vec![(410, None)];
    srv.status(&alice, "nobody home", &[]).await;
    wait_for("the attempt", async || {
        !sink.lock().unwrap().received.is_empty()
    })
    .await;
    wait_for("the queue to empty", async || {
        srv.pending_deliveries().await == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.lock().unwrap().received.len(), 1);
    let stats = srv
        .engine()
        .store_for_tests()
        .delivery_stats()
        .await
        .unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].expired, 1);
    assert_eq!(stats[0].pending, 0);
    assert!(
        stats[0].last_error.contains("410"),
        "{}",
        stats[0].last_error
    );
    srv.stop().await;
}

/// The claim enforces the per-host cap across claims (leases count) and the breaker.
async fn claims_respect_host_caps_and_breakers(db: Db) {
    // The server's own workers never see these rows as due: "now" here is hours ahead.
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let store = &srv.store();
    let ids = &srv.engine().ids;
    let now = sluice_model::id::now_millis() + 10_000_000;
    let inboxes = |host: &str, n: usize| -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("https://{host}/users/u{i}/inbox"), host.to_string()))
            .collect()
    };
    let mut tx = store.begin().await.unwrap();
    let a = inboxes("a.example", 10);
    let b = inboxes("b.example", 3);
    tx.enqueue_deliveries(
        &ids.next_block(now, a.len()),
        1,
        1,
        &a,
        now,
        now + 1_000_000,
    )
    .await
    .unwrap();
    tx.enqueue_deliveries(
        &ids.next_block(now, b.len()),
        2,
        1,
        &b,
        now,
        now + 1_000_000,
    )
    .await
    .unwrap();
    // The same activity and inbox again: ignored.
    assert_eq!(
        tx.enqueue_deliveries(&ids.next_block(now, 1), 1, 1, &a[..1], now, now + 1_000_000)
            .await
            .unwrap(),
        0
    );
    tx.commit().await.unwrap();
    let claim = async |at: i64, limit: i64| {
        let mut tx = store.begin().await.unwrap();
        let rows = tx.claim_deliveries(at, 60_000, limit, 4).await.unwrap();
        tx.commit().await.unwrap();
        rows
    };
    let count = |rows: &[sluice_store::DeliveryRow], host: &str| {
        rows.iter().filter(|r| r.host == host).count()
    };
    let first = claim(now, 100).await;
    assert_eq!(count(&first, "a.example"), 4, "capped at 4 per host");
    assert_eq!(count(&first, "b.example"), 3);
    assert!(first.iter().all(|r| r.attempts == 1));
    // Leases held: nothing more for either host.
    assert!(claim(now + 1, 100).await.is_empty());
    // Two of a.example's finish: two more may go.
    let mut tx = store.begin().await.unwrap();
    for r in first.iter().filter(|r| r.host == "a.example").take(2) {
        tx.delivery_done(r.id).await.unwrap();
    }
    tx.commit().await.unwrap();
    let second = claim(now + 2, 100).await;
    assert_eq!(count(&second, "a.example"), 2);
    assert_eq!(second.len(), 2);
    // b.example fails until its breaker opens: its rows wait, then one probe goes.
    let mut tx = store.begin().await.unwrap();
    for r in first.iter().filter(|r| r.host == "b.example") {
        tx.delivery_retry(r.id, now, Some(503), "HTTP 503")
            .await
            .unwrap();
    }
    for _ in 0..3 {
        tx.record_host_result("b.example", false, "HTTP 503", 3, now + 50_000, now)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let host = store.delivery_host("b.example").await.unwrap().unwrap();
    assert_eq!(host.state, "down");
    assert_eq!(
        count(&claim(now + 3, 100).await, "b.example"),
        0,
        "down: not tried"
    );
    let probe = claim(now + 50_001, 100).await;
    assert_eq!(count(&probe, "b.example"), 1, "one probe when due");
    let mut tx = store.begin().await.unwrap();
    tx.record_host_result("b.example", true, "", 3, 0, now)
        .await
        .unwrap();
    tx.delivery_done(probe.iter().find(|r| r.host == "b.example").unwrap().id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store
            .delivery_host("b.example")
            .await
            .unwrap()
            .unwrap()
            .state,
        "up"
    );
    assert_eq!(count(&claim(now + 50_002, 100).await, "b.example"), 2);
    srv.stop().await;
}

/// `n` inboxes on `host`, as `enqueue_deliveries` takes them.
fn host_inboxes(host: &str, from: usize, n: usize) -> Vec<(String, String)> {
    (from..from + n)
        .map(|i| (format!("https://{host}/users/u{i}/inbox"), host.to_string()))
        .collect()
}

/// Queues `n` deliveries of activity `activity` to `host`, due at `at`; `push` makes
/// them Web Push messages (a subscription id of their own).
async fn queue_rows(
    srv: &TestServer,
    activity: i64,
    host: &str,
    from: usize,
    n: usize,
    at: i64,
    push: bool,
) {
    let inboxes = host_inboxes(host, from, n);
    let mut tx = srv.store().begin().await.unwrap();
    tx.enqueue_deliveries(
        &srv.engine().ids.next_block(at, n),
        activity,
        1,
        &inboxes,
        at,
        at + 1_000_000_000,
    )
    .await
    .unwrap();
    if push {
        tx.exec(
            sluice_store::Query::new(
                "UPDATE deliveries SET push_subscription_id = id
                 WHERE host = $1 AND push_subscription_id IS NULL",
            )
            .bind(host),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// A host with one row queued behind another host's hundreds (more than the claim
/// reads from the front of the queue) and a push service's hundreds still gets it in
/// the next claim, and each host gets no more than its cap.
async fn claims_are_fair_between_hosts(db: Db) {
    // "now" is hours ahead: the server's own workers never see these rows as due.
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let now = sluice_model::id::now_millis() + 10_000_000;
    let busy = sluice_store::DELIVERY_CLAIM_WINDOW as usize + 50;
    queue_rows(&srv, 1, "busy.example", 0, busy, now, false).await;
    queue_rows(&srv, 2, "push.example", 0, busy, now + 1, true).await;
    queue_rows(&srv, 3, "quiet.example", 0, 1, now + 2, false).await;
    let store = srv.store();
    let claim = async |at: i64, limit: i64| {
        let mut tx = store.begin().await.unwrap();
        let rows = tx
            .claim_deliveries_with(at, 60_000, limit, 4, 8)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        rows
    };
    let count = |rows: &[sluice_store::DeliveryRow], host: &str| {
        rows.iter().filter(|r| r.host == host).count()
    };
    let first = claim(now + 10, 32).await;
    assert_eq!(count(&first, "busy.example"), 4, "{first:?}");
    assert_eq!(count(&first, "push.example"), 8, "the push cap");
    assert_eq!(count(&first, "quiet.example"), 1, "not starved");
    assert_eq!(first.len(), 13);
    // The oldest rows of each host, in queue order.
    let busy_ids: Vec<i64> = first
        .iter()
        .filter(|r| r.host == "busy.example")
        .map(|r| r.id)
        .collect();
    let mut tx = store.begin().await.unwrap();
    let oldest: Vec<sluice_store::Scalar> = tx
        .all(sluice_store::Query::new(
            "SELECT id AS v FROM deliveries WHERE host = 'busy.example' ORDER BY id LIMIT 4",
        ))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut sorted = busy_ids.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, oldest.iter().map(|r| r.v).collect::<Vec<_>>());
    // Every cap is held: nothing more, however large the limit.
    assert!(claim(now + 11, 1000).await.is_empty());
    // Three of busy's and one push message finish: that many more go, and only those.
    let mut tx = store.begin().await.unwrap();
    for id in &busy_ids[..3] {
        tx.delivery_done(*id).await.unwrap();
    }
    let push_done = first.iter().find(|r| r.host == "push.example").unwrap().id;
    tx.delivery_done(push_done).await.unwrap();
    tx.commit().await.unwrap();
    let second = claim(now + 12, 1).await;
    assert_eq!(second.len(), 1, "the limit holds");
    assert_eq!(second[0].host, "busy.example", "the oldest row first");
    let third = claim(now + 13, 32).await;
    assert_eq!(count(&third, "busy.example"), 2);
    assert_eq!(count(&third, "push.example"), 1);
    assert_eq!(third.len(), 3);
    // Every lease runs out (the workers died): the rows are claimed again, still at
    // each host's cap.
    let later = claim(now + 13 + 60_001, 1000).await;
    assert_eq!(count(&later, "busy.example"), 4);
    assert_eq!(count(&later, "push.example"), 8);
    srv.stop().await;
}

/// The claim that reads by host agrees with the ranking of every due row (the claim
/// before migration 32, kept here as the reference) on a queue changed at random
/// between claims: new rows, finished ones, retries, leases running out, hosts going
/// down and coming back, limits from 1 to more than the claim's front window.
async fn claims_agree_with_ranking_every_due_row(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let store = srv.store();
    let mut now = sluice_model::id::now_millis() + 10_000_000;
    let (per_host, push_per_host, lease) = (4_i64, 8_i64, 2_500_i64);
    let hosts = [
        ("big.example", false),
        ("push.example", true),
        ("other-push.example", true),
        ("a.example", false),
        ("b.example", false),
        ("c.example", false),
    ];
    // A fixed-seed generator: the same run each time.
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let window = sluice_store::DELIVERY_CLAIM_WINDOW as usize;
    queue_rows(&srv, 1, "big.example", 0, window + 200, now, false).await;
    queue_rows(&srv, 2, "push.example", 0, window + 100, now, true).await;
    let mut next = window + 200;
    let mut activity = 10;
    let mut claimed_total = 0;
    for round in 0..60 {
        now += 1_000;
        // New rows for some hosts.
        for (host, push) in hosts {
            if rand(3) == 0 {
                let n = [1, 3, 40, 300][rand(4) as usize];
                activity += 1;
                queue_rows(
                    &srv,
                    activity,
                    host,
                    next,
                    n,
                    now - rand(3) as i64 * 500,
                    push,
                )
                .await;
                next += n;
            }
        }
        // A host fails (down until a probe time, maybe past) or recovers.
        if rand(4) == 0 {
            let (host, _) = hosts[rand(hosts.len() as u64) as usize];
            let mut tx = store.begin().await.unwrap();
            if rand(2) == 0 {
                let probe = now + [-500, 1_500, 5_000][rand(3) as usize];
                tx.record_host_result(host, false, "HTTP 503", 1, probe, now)
                    .await
                    .unwrap();
            } else {
                tx.record_host_result(host, true, "", 1, 0, now)
                    .await
                    .unwrap();
            }
            tx.commit().await.unwrap();
        }
        let limit = [1, 5, 16, 32, window as i64 + 20][rand(5) as usize];
        let mut tx = store.begin().await.unwrap();
        let expected: Vec<sluice_store::Scalar> = tx
            .all(
                sluice_store::Query::new(
                    "WITH leased AS (
                       SELECT host, COUNT(*) AS n FROM deliveries
                       WHERE state = 'pending' AND locked_until > $1 GROUP BY host),
                     due AS (
                       SELECT d.id, d.host, d.next_attempt_at, d.push_subscription_id,
                              ROW_NUMBER() OVER (PARTITION BY d.host
                                                 ORDER BY d.next_attempt_at, d.id) AS rn
                       FROM deliveries d
                       WHERE d.state = 'pending' AND d.next_attempt_at <= $1
                         AND d.locked_until <= $1)
                     SELECT due.id AS v FROM due
                     LEFT JOIN delivery_hosts h ON h.host = due.host
                     LEFT JOIN leased l ON l.host = due.host
                     WHERE due.rn + COALESCE(l.n, 0) <= CASE
                         WHEN h.state = 'down' AND h.next_probe_at > $1 THEN 0
                         WHEN h.state = 'down' THEN 1
                         WHEN due.push_subscription_id IS NOT NULL THEN $4
                         ELSE $3 END
                     ORDER BY due.next_attempt_at, due.id LIMIT $2",
                )
                .bind(now)
                .bind(limit)
                .bind(per_host)
                .bind(push_per_host),
            )
            .await
            .unwrap();
        let rows = tx
            .claim_deliveries_with(now, lease, limit, per_host, push_per_host)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut expected: Vec<i64> = expected.into_iter().map(|r| r.v).collect();
        let mut got: Vec<i64> = rows.iter().map(|r| r.id).collect();
        expected.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, expected, "round {round}, limit {limit}");
        claimed_total += got.len();
        // Each claimed row finishes, is retried later, or is left to its lease.
        let mut tx = store.begin().await.unwrap();
        for r in &rows {
            match rand(4) {
                0 | 1 => tx.delivery_done(r.id).await.unwrap(),
                2 => tx
                    .delivery_retry(r.id, now + rand(4) as i64 * 1_000, Some(503), "HTTP 503")
                    .await
                    .unwrap(),
                _ => {}
            }
        }
        tx.commit().await.unwrap();
    }
    assert!(claimed_total > 200, "the run claimed {claimed_total} rows");
    srv.stop().await;
}

/// A peer that accepts only RFC 9421 signatures: the cavage-signed POST gets a 401,
/// the same POST signed with RFC 9421 goes through, and the host is remembered.
async fn double_knocking_with_rfc9421(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let sink = Arc::new(Mutex::new(Sink {
        require_rfc9421: true,
        ..Sink::default()
    }));
    let sink_url = start_sink(sink.clone()).await;
    let alice = srv.user("alice").await;
    remote_follower(&srv, &sink_url, "carol", &alice.id).await;
    srv.status(&alice, "knock knock", &[]).await;
    wait_for("the queue to empty", async || {
        srv.pending_deliveries().await == 0 && sink.lock().unwrap().received.len() >= 2
    })
    .await;
    let received = std::mem::take(&mut sink.lock().unwrap().received);
    assert_eq!(received.len(), 2, "one refused knock, one accepted");
    assert!(received[0].1.contains_key("signature"));
    assert!(!received[0].1.contains_key("signature-input"));
    let input = received[1].1["signature-input"].to_str().unwrap();
    assert!(
        input.starts_with("sig1=(\"@method\" \"@target-uri\" \"content-digest\")"),
        "{input}"
    );
    assert_eq!(received[0].2, received[1].2, "the same activity");
    // Verifiable with alice's key, like any delivery.
    let actor: Value = srv
        .http
        .get(format!("{}/users/alice", srv.url))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = PublicKey::from_pem(actor["publicKey"]["publicKeyPem"].as_str().unwrap()).unwrap();
    let limits = VerifyLimits {
        target_scheme: TargetScheme::Http,
        ..VerifyLimits::default()
    };
    parse_request(
        &Method::POST,
        "/inbox",
        &received[1].1,
        Some(&received[1].2),
        SystemTime::now(),
        &limits,
    )
    .unwrap()
    .verify(&key)
    .unwrap();
    // The next delivery to that host goes straight to RFC 9421.
    srv.status(&alice, "again", &[]).await;
    wait_for("the second delivery", async || {
        !sink.lock().unwrap().received.is_empty()
    })
    .await;
    wait_for("the queue to empty", async || {
        srv.pending_deliveries().await == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = std::mem::take(&mut sink.lock().unwrap().received);
    assert_eq!(received.len(), 1);
    assert!(received[0].1.contains_key("signature-input"));
    srv.stop().await;
}

/// A host that answers with `Accept-Signature` gets RFC 9421 first from then on (no
/// refused knock), and Sluice's own inbox says it verifies them.
async fn rfc9421_first_to_hosts_that_ask_for_it(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let sink = Arc::new(Mutex::new(Sink {
        advertise_rfc9421: true,
        ..Sink::default()
    }));
    let sink_url = start_sink(sink.clone()).await;
    let alice = srv.user("alice").await;
    remote_follower(&srv, &sink_url, "carol", &alice.id).await;
    for (text, rfc9421) in [("first", false), ("second", true)] {
        srv.status(&alice, text, &[]).await;
        wait_for("the delivery", async || {
            !sink.lock().unwrap().received.is_empty()
        })
        .await;
        wait_for("the queue to empty", async || {
            srv.pending_deliveries().await == 0
        })
        .await;
        let received = std::mem::take(&mut sink.lock().unwrap().received);
        assert_eq!(received.len(), 1, "{text}: one POST, no second knock");
        let headers = &received[0].1;
        // Nothing known of the host at first: cavage, as most servers expect; then
        // RFC 9421, which it asked for in its answer to the first POST.
        assert_eq!(
            headers.contains_key("signature-input"),
            rfc9421,
            "{text}: {headers:?}"
        );
        assert!(headers.contains_key("signature"));
    }
    // Sluice's inbox advertises RFC 9421 too, even when it refuses (unsigned here).
    let res = srv
        .http
        .post(format!("{}/inbox", srv.url))
        .header("content-type", "application/activity+json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let accept = res.headers()["accept-signature"].to_str().unwrap();
    assert!(accept.contains("\"@target-uri\""), "{accept}");
    srv.stop().await;
}

/// A remote server that answers GETs only when signed with RFC 9421 (401 otherwise),
/// and records each GET: (path, signed with RFC 9421, status answered).
async fn strict_actor_server(log: Arc<Mutex<Vec<(String, bool, u16)>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let key = sluice_federation::keys::KeyPair::generate().unwrap();
    let pem = key.public_key_pem();
    let b = base.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap| {
        let (log, base, pem) = (log.clone(), b.clone(), pem.clone());
        async move {
            let rfc9421 = headers.contains_key("signature-input");
            let path = uri.path().to_string();
            if !rfc9421 {
                log.lock().unwrap().push((path, false, 401));
                return StatusCode::UNAUTHORIZED.into_response();
            }
            log.lock().unwrap().push((path.clone(), true, 200));
            let host = base.trim_start_matches("http://");
            let id = format!("{base}/users/dora");
            let body = if path == "/.well-known/webfinger" {
                serde_json::json!({
                    "subject": format!("acct:dora@{host}"),
                    "links": [{"rel": "self", "type": "application/activity+json", "href": id}],
                })
            } else {
                serde_json::json!({
                    "@context": ["https://www.w3.org/ns/activitystreams"],
                    "id": id, "type": "Person", "preferredUsername": "dora",
                    "inbox": format!("{id}/inbox"),
                    "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": pem},
                })
            };
            (
                [("content-type", "application/activity+json")],
                body.to_string(),
            )
                .into_response()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// Signed GETs (as the instance actor) are double-knocked like deliveries: a 401 to
/// cavage is asked again with RFC 9421, and the host then gets RFC 9421 first.
async fn signed_gets_knock_again_with_rfc9421(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let log = Arc::new(Mutex::new(Vec::new()));
    let base = strict_actor_server(log.clone()).await;
    let host = base.trim_start_matches("http://");
    let found = srv
        .get(&format!("/api/v1/accounts/lookup?acct=dora@{host}"), None)
        .await
        .ok();
    assert_eq!(found["acct"], format!("dora@{host}"));
    let log = log.lock().unwrap().clone();
    let webfinger: Vec<_> = log
        .iter()
        .filter(|(p, _, _)| p == "/.well-known/webfinger")
        .collect();
    assert_eq!(
        webfinger
            .iter()
            .map(|(_, r, s)| (*r, *s))
            .collect::<Vec<_>>(),
        vec![(false, 401), (true, 200)],
        "cavage refused, then RFC 9421: {log:?}"
    );
    let actor: Vec<_> = log.iter().filter(|(p, _, _)| p == "/users/dora").collect();
    assert_eq!(actor.len(), 1, "no refused knock for the actor: {log:?}");
    assert!(actor[0].1, "the actor was fetched with RFC 9421 first");
    srv.stop().await;
}
