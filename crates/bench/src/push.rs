//! The Web Push benchmark (`sluice-bench admin push`, bench/push.sh): one event that
//! notifies N subscribers, timed from the event to the last push message received by a
//! push service on loopback.
//!
//! The event is the end of a poll that N local accounts voted in: the server's poll
//! task closes it and writes N `poll` notifications in one transaction, each of which
//! queues a push message for its voter's subscription; the delivery workers encrypt,
//! sign and POST them. (A popular account's poll is the realistic way one event
//! reaches ten thousand local accounts on one server; Sluice does not notify the
//! `notify=true` followers of a new post.)
//!
//! Against a running server, with `user1..user{N+1}` seeded (`admin seed --statuses 0
//! --follows 0`): the author `user1` posts the poll through the API; the voters' votes,
//! access tokens and push subscriptions are written straight into the database (N
//! password grants would each cost an Argon2 hash); all subscriptions share one key
//! pair, made here as a browser would, so the sink can decrypt any message.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use aws_lc_rs::{agreement, rand as lc_rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sluice_model::Id;
use sluice_store::{NewToken, Query, Scalar, Store};

/// What the benchmark is given.
#[derive(Debug, Clone)]
pub struct PushPlan {
    /// The server's base URL (loopback).
    pub target: String,
    /// Subscribers (voters): `user2..user{N+1}`.
    pub subscribers: usize,
    /// Seconds until the poll ends (at least the server's minimum).
    pub expires_in: u64,
    /// Every n-th message is decrypted and checked (1: all).
    pub check_every: usize,
    /// Longest wait for the last message after the poll ends (s).
    pub timeout: u64,
    /// How long the push service takes to answer each message (ms).
    pub delay_ms: u64,
}

fn now_ms() -> i64 {
    sluice_model::id::now_millis()
}

struct Sink {
    received: AtomicUsize,
    checked: AtomicUsize,
    bad: AtomicUsize,
    first_ms: AtomicU64,
    last_ms: AtomicU64,
}

pub async fn run(
    engine: &sluice_engine::Engine,
    store: &Store,
    plan: PushPlan,
) -> anyhow::Result<()> {
    let n = plan.subscribers;
    // The subscribers' key pair and secret, as a browser makes them.
    let ua_private = Arc::new(
        agreement::PrivateKey::generate(&agreement::ECDH_P256)
            .map_err(|_| anyhow::anyhow!("key generation"))?,
    );
    let p256dh = URL_SAFE_NO_PAD.encode(
        ua_private
            .compute_public_key()
            .map_err(|_| anyhow::anyhow!("public key"))?
            .as_ref(),
    );
    let mut auth = [0u8; 16];
    lc_rand::fill(&mut auth).map_err(|_| anyhow::anyhow!("random"))?;
    let auth_b64 = URL_SAFE_NO_PAD.encode(auth);

    // The push service: counts, timestamps, decrypts a sample, answers 201.
    let sink = Arc::new(Sink {
        received: AtomicUsize::new(0),
        checked: AtomicUsize::new(0),
        bad: AtomicUsize::new(0),
        first_ms: AtomicU64::new(0),
        last_ms: AtomicU64::new(0),
    });
    let every = plan.check_every.max(1);
    let delay = std::time::Duration::from_millis(plan.delay_ms);
    let app = {
        let (sink, key) = (sink.clone(), ua_private.clone());
        axum::Router::new().fallback(move |body: axum::body::Bytes| {
            let (sink, key) = (sink.clone(), key.clone());
            async move {
                let at = now_ms() as u64;
                let k = sink.received.fetch_add(1, Ordering::AcqRel);
                let _ = sink
                    .first_ms
                    .compare_exchange(0, at, Ordering::AcqRel, Ordering::Acquire);
                sink.last_ms.fetch_max(at, Ordering::AcqRel);
                if k % every == 0 {
                    match sluice_federation::push::decrypt(&body, &key, &auth)
                        .ok()
                        .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
                    {
                        Some(v) if v["notification_type"] == "poll" => {
                            sink.checked.fetch_add(1, Ordering::AcqRel);
                        }
                        _ => {
                            sink.bad.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                }
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                axum::http::StatusCode::CREATED
            }
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint_base = format!("http://{}/push", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    // The accounts.
    let rows: Vec<(String, Id)> = store
        .all::<sluice_store::AccountRow>(Query::new(format!(
            "SELECT {} FROM accounts a WHERE a.domain = '' AND a.username LIKE 'user%'",
            sluice_store::ACCOUNT_COLUMNS
        )))
        .await?
        .into_iter()
        .map(|a| (a.username, a.id))
        .collect();
    let by_name: std::collections::HashMap<String, Id> = rows.into_iter().collect();
    let author = *by_name
        .get("user1")
        .context("seed the accounts first (user1 is missing)")?;
    let voters: Vec<Id> = (2..=n + 1)
        .map(|i| {
            by_name
                .get(&format!("user{i}"))
                .copied()
                .with_context(|| format!("user{i} is missing: seed {} accounts", n + 1))
        })
        .collect::<anyhow::Result<_>>()?;

    // The author's token, and the poll through the API.
    let author_token = sluice_engine::oauth::random_secret();
    let now = now_ms();
    let mut tx = store.begin().await?;
    tx.insert_token(&NewToken {
        id: engine.ids.next_at(now),
        token_hash: sluice_engine::oauth::hash_secret(&author_token),
        refresh_hash: None,
        app_id: None,
        account_id: Some(author),
        scopes: "read write push".into(),
        created_at: now,
        expires_at: None,
    })
    .await?;
    tx.commit().await?;
    let http = reqwest::Client::new();
    let posted = http
        .post(format!("{}/api/v1/statuses", plan.target))
        .bearer_auth(&author_token)
        .json(&serde_json::json!({
            "status": "tea or coffee?",
            "poll": {"options": ["tea", "coffee"], "expires_in": plan.expires_in}
        }))
        .send()
        .await?;
    let status: serde_json::Value = posted.json().await?;
    let status_id: Id = status["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("the poll was not posted: {status}"))?;
    let ends_at = store
        .one::<Scalar>(
            Query::new("SELECT expires_at AS v FROM polls WHERE status_id = $1").bind(status_id),
        )
        .await?
        .v;

    // The voters: a token, a subscription (poll alerts on) and a vote each.
    let seeding = Instant::now();
    let alerts = serde_json::json!({"poll": true, "mention": true}).to_string();
    for chunk in voters.chunks(500) {
        let mut tx = store.begin().await?;
        for (i, voter) in chunk.iter().enumerate() {
            let now = now_ms();
            let token = sluice_engine::oauth::random_secret();
            let token_id = engine.ids.next_at(now);
            tx.insert_token(&NewToken {
                id: token_id,
                token_hash: sluice_engine::oauth::hash_secret(&token),
                refresh_hash: None,
                app_id: None,
                account_id: Some(*voter),
                scopes: "read write push".into(),
                created_at: now,
                expires_at: None,
            })
            .await?;
            tx.exec(
                Query::new(
                    "INSERT INTO push_subscriptions (id, account_id, token_id, access_token,
                       endpoint, p256dh, auth, alerts, policy, standard, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'all', TRUE, $9, $9)",
                )
                .bind(engine.ids.next_at(now))
                .bind(*voter)
                .bind(token_id)
                .bind(token.as_str())
                .bind(format!("{endpoint_base}/{voter}"))
                .bind(p256dh.as_str())
                .bind(auth_b64.as_str())
                .bind(alerts.as_str())
                .bind(now),
            )
            .await?;
            tx.exec(
                Query::new(
                    "INSERT INTO poll_votes (id, status_id, account_id, choice, uri, created_at)
                     VALUES ($1, $2, $3, $4, '', $5)",
                )
                .bind(engine.ids.next_at(now))
                .bind(status_id)
                .bind(*voter)
                .bind((i % 2) as i64)
                .bind(now),
            )
            .await?;
        }
        tx.commit().await?;
    }
    // As after seeding (seed.rs): planner statistics for the rows just written, which
    // autovacuum would gather within a minute or so (and never, where it is off). Without
    // them PostgreSQL plans each voter's subscription lookup in the poll's transaction
    // from the empty tables' statistics, a scan of every token per notification.
    if store.kind() == sluice_store::EngineKind::Postgres {
        store.exec(Query::new("ANALYZE")).await?;
    }
    let seeded_in = seeding.elapsed();
    if now_ms() >= ends_at {
        anyhow::bail!(
            "seeding took {:.1} s, past the poll's end: raise --expires-in",
            seeded_in.as_secs_f64()
        );
    }
    eprintln!(
        "{n} voters with push subscriptions written in {:.1} s; the poll ends in {:.1} s",
        seeded_in.as_secs_f64(),
        (ends_at - now_ms()) as f64 / 1000.0
    );

    // Wait for the end, then for the last message.
    let deadline = Instant::now()
        + Duration::from_millis((ends_at - now_ms()).max(0) as u64)
        + Duration::from_secs(plan.timeout);
    while sink.received.load(Ordering::Acquire) < n {
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let closed_at = store
        .one::<Scalar>(
            Query::new("SELECT COALESCE(closed_at, 0) AS v FROM polls WHERE status_id = $1")
                .bind(status_id),
        )
        .await?
        .v;
    // Anything more (a message sent twice) would show within a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = sink.received.load(Ordering::Acquire);
    let first = sink.first_ms.load(Ordering::Acquire) as i64;
    let last = sink.last_ms.load(Ordering::Acquire) as i64;
    let secs = |ms: i64| ms as f64 / 1000.0;
    println!("web push summary ({n} subscribers, one poll ending):");
    println!("  received            {received} (expected {n})");
    println!(
        "  decrypted and checked {} of {} sampled (every {every}th), {} bad",
        sink.checked.load(Ordering::Acquire),
        sink.checked.load(Ordering::Acquire) + sink.bad.load(Ordering::Acquire),
        sink.bad.load(Ordering::Acquire)
    );
    println!(
        "  poll end -> closed    {:.3} s (the poll task's wake-up)",
        secs(closed_at - ends_at)
    );
    println!("  closed -> first push  {:.3} s", secs(first - closed_at));
    println!(
        "  closed -> last push   {:.3} s  ({:.0} messages/s)",
        secs(last - closed_at),
        received as f64 / secs((last - closed_at).max(1))
    );
    println!("  poll end -> last push {:.3} s", secs(last - ends_at));
    if received != n {
        anyhow::bail!("{received} of {n} push messages arrived");
    }
    Ok(())
}
