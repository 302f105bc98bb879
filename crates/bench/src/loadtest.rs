//! `sluice-bench loadtest`: the federation benchmarks (docs/benchmarks.md, "Federation";
//! `bench/federation.sh` runs them). A benchmark, not a test: it measures and reports;
//! it exits non-zero only when what arrived is wrong (lost, duplicated, badly signed,
//! over the per-host cap), never for being slow.
//!
//! Both commands drive a server that is already running, on loopback, with
//! `SLUICE_ALLOW_PRIVATE_ADDRESSES=true` and `SLUICE_FEDERATION_ALLOW_HTTP=true`, and
//! read its database through the same configuration (`sluice::open_store`). Every
//! address they send to or listen on must be a loopback IP address; anything else is
//! refused before a single request is made.
//!
//! - `inbox`: a fake remote server on loopback publishes N actors with RSA keys; one
//!   signed `Create(Note)` per actor warms the server up (it fetches each actor once);
//!   then `duration × rate` Creates are signed beforehand on every core, and POSTed to
//!   `/users/NAME/inbox` at full speed (never above `rate`) with bounded concurrency.
//!   Reports answers per second, non-202 answers, latency, and how fast the statuses
//!   appear in the database (applied, not just queued), including the drain after the
//!   last POST.
//! - `delivery`: a sink listens on many 127.x.y.z addresses (one remote host each);
//!   remote followers living there are inserted straight into the database (a few
//!   large transactions: real Follow activities would take far longer); one public
//!   post through `POST /api/v1/statuses`, then the time from its answer to the last
//!   delivery, the POSTs per host and per inbox, and the most requests any host had in
//!   flight at once against the configured per-host cap.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail, ensure};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::IntoResponse as _;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use sluice::Config;
use sluice_federation::keys::{KeyPair, PublicKey};
use sluice_federation::signatures::{
    Scheme, SignWith, TargetScheme, VerifyLimits, parse_request, sign_request,
};
use sluice_model::{IdGenerator, Timestamp};
use sluice_store::{NewRelation, Query, Relation, RemoteActor, Scalar, Store};
use url::{Host, Url};

#[derive(Subcommand)]
pub enum LoadtestCommand {
    /// Signed Create(Note) activities into a local inbox: accepted/s and stored/s.
    Inbox(InboxArgs),
    /// One public post to many remote followers on many loopback hosts: time to the
    /// last delivery, POSTs per host, requests in flight per host.
    Delivery(DeliveryArgs),
    /// Many passive SSE and WebSocket streams, posts through the API: events received
    /// against expected, delivery latency, the server's RSS per connection and idle CPU.
    Stream(stream::StreamArgs),
}

mod stream;

#[derive(Args)]
pub struct InboxArgs {
    /// Base URL of the server under test (http, loopback IP: http://127.0.0.1:PORT).
    #[arg(long)]
    target: String,
    /// Local user whose inbox receives the activities (`/users/NAME/inbox`).
    #[arg(long, default_value = "alice")]
    to: String,
    /// Seconds of sending.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Remote actors (each with its own RSA-2048 key) the activities come from.
    #[arg(long, default_value_t = 50)]
    actors: usize,
    /// Most requests sent per second; `duration × rate` requests are signed beforehand.
    #[arg(long, default_value_t = 2000)]
    rate: u64,
    /// Loopback address the fake remote server listens on.
    #[arg(long, default_value = "127.0.0.1")]
    peer_address: Ipv4Addr,
    /// Longest wait, after the last POST, for the server to store what it accepted (s).
    #[arg(long, default_value_t = 300)]
    drain_timeout: u64,
    /// The server's process id (its children, a supervisor's serving processes, are
    /// counted with it), to report its CPU use during the sending phase.
    #[arg(long)]
    server_pid: Option<u32>,
}

#[derive(Args)]
pub struct DeliveryArgs {
    /// Base URL of the server under test (http, loopback IP: http://127.0.0.1:PORT).
    #[arg(long)]
    target: String,
    /// Access token (scope write) of the local user who posts; that user must have no
    /// followers yet.
    #[arg(long, env = "SLUICE_LOADTEST_TOKEN", hide_env_values = true)]
    token: String,
    /// Remote followers to create.
    #[arg(long, default_value_t = 10_000)]
    followers: usize,
    /// Remote hosts they live on (one loopback address each); followers are spread
    /// evenly.
    #[arg(long, default_value_t = 1_000)]
    hosts: usize,
    /// Give every follower its own inbox and no shared inbox: one POST per follower
    /// (the per-host cap then matters) instead of one per host.
    #[arg(long)]
    separate_inboxes: bool,
    /// Address of the first host; the others follow (127.1.0.1, 127.1.0.2, …).
    #[arg(long, default_value = "127.1.0.1")]
    first_address: Ipv4Addr,
    /// Port every host listens on (0: an ephemeral port per address).
    #[arg(long, default_value_t = 0)]
    sink_port: u16,
    /// How long the sink takes to answer each POST (ms): with 0 a POST is over too fast
    /// to overlap with the next, so the per-host cap is rarely reached.
    #[arg(long, default_value_t = 0)]
    sink_latency_ms: u64,
    /// Longest wait for all deliveries (s).
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Wait after the last expected POST, to catch repeats (s).
    #[arg(long, default_value_t = 2)]
    settle: u64,
    /// The server's process id (its children counted with it), to report its CPU use
    /// while delivering.
    #[arg(long)]
    server_pid: Option<u32>,
}

pub async fn run(config: Config, command: LoadtestCommand) -> anyhow::Result<()> {
    match command {
        LoadtestCommand::Inbox(a) => inbox(config, a).await,
        LoadtestCommand::Delivery(a) => delivery(config, a).await,
        LoadtestCommand::Stream(a) => stream::stream(config, a).await,
    }
}

const AS_PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
const ACTIVITY_JSON: &str = "application/activity+json";

/// The target as a URL, refused unless it is plain http on a loopback IP address.
fn loopback_target(target: &str) -> anyhow::Result<Url> {
    let url = Url::parse(target).with_context(|| format!("--target {target}"))?;
    ensure!(
        url.scheme() == "http",
        "--target must be http://… (loopback)"
    );
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    ensure!(
        loopback,
        "--target {target}: only loopback IP addresses (127.0.0.0/8, [::1]) may be targets"
    );
    Ok(url)
}

fn client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        // Loopback only, never through a proxy from the environment.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(60))
        .build()?)
}

async fn count(store: &Store, q: Query) -> anyhow::Result<i64> {
    Ok(store.one::<Scalar>(q).await?.v)
}

/// `pid` and its children, from /proc: `sluice serve` is a supervisor, and the serving
/// processes are its children, so the server's use is the sum over them.
fn with_children(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Ok(c) = std::fs::read_to_string(task.path().join("children")) {
                out.extend(c.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
            }
        }
    }
    out
}

/// CPU ticks (user + system) of a process and its children, from /proc.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let own = process_cpu_ticks(pid)?;
    Some(
        own + with_children(pid)[1..]
            .iter()
            .filter_map(|c| process_cpu_ticks(*c))
            .sum::<u64>(),
    )
}

fn process_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at ") ".
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Percent of one core used between two tick readings over `secs`.
fn cpu_percent(t0: Option<u64>, t1: Option<u64>, secs: f64) -> Option<f64> {
    // Linux reports in USER_HZ, 100 on every architecture we run on.
    // (A child that exits between the readings takes its ticks with it.)
    Some(t1?.saturating_sub(t0?) as f64 / 100.0 / secs * 100.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `q`-quantile of sorted microsecond samples, in milliseconds.
fn quantile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[i]) / 1000.0
}

// ---------------------------------------------------------------------------
// inbox
// ---------------------------------------------------------------------------

struct RemoteActorKey {
    uri: String,
    key_id: String,
    key: KeyPair,
}

/// A request signed before the timed phase.
struct Signed {
    body: Bytes,
    headers: HeaderMap,
}

/// One `Create(Note)` from `actor`, public, with ids unique to this run (`tag`).
fn create_note(actor: &str, tag: &str, n: usize) -> String {
    let published = Timestamp(sluice_model::id::now_millis()).to_rfc3339();
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}/activities/{tag}-{n}"),
        "type": "Create",
        "actor": actor,
        "published": published,
        "to": [AS_PUBLIC],
        "cc": [format!("{actor}/followers")],
        "object": {
            "id": format!("{actor}/notes/{tag}-{n}"),
            "type": "Note",
            "attributedTo": actor,
            "content": format!("<p>load test post {n} of run {tag}, with a little text so that the body is about the size of a real post</p>"),
            "published": published,
            "to": [AS_PUBLIC],
            "cc": [format!("{actor}/followers")],
        },
    })
    .to_string()
}

fn sign(inbox: &Url, actor: &RemoteActorKey, body: String) -> anyhow::Result<Signed> {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static(ACTIVITY_JSON));
    sign_request(
        &Method::POST,
        inbox,
        &mut headers,
        Some(body.as_bytes()),
        &SignWith {
            key_id: &actor.key_id,
            key: &actor.key,
            scheme: Scheme::Cavage,
            now: SystemTime::now(),
        },
    )?;
    Ok(Signed {
        body: Bytes::from(body),
        headers,
    })
}

/// Runs `f(i)` for `0..n` on every core; results in order.
async fn on_all_cores<T, F>(n: usize, f: F) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> anyhow::Result<T> + Send + Sync + 'static,
{
    tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunk = n.div_ceil(threads).max(1);
        let f = &f;
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..n)
                .step_by(chunk)
                .map(|start| {
                    s.spawn(move || {
                        (start..(start + chunk).min(n))
                            .map(f)
                            .collect::<anyhow::Result<Vec<T>>>()
                    })
                })
                .collect();
            let mut all = Vec::with_capacity(n);
            for h in handles {
                all.extend(
                    h.join()
                        .map_err(|_| anyhow::anyhow!("a worker panicked"))??,
                );
            }
            Ok(all)
        })
    })
    .await?
}

/// Serves the actors' documents on `listener`; counts the fetches.
fn serve_actors(
    listener: tokio::net::TcpListener,
    docs: HashMap<String, String>,
    fetches: Arc<AtomicU64>,
) {
    let docs = Arc::new(docs);
    let app = axum::Router::new().route(
        "/users/{name}",
        axum::routing::get(
            move |axum::extract::Path(name): axum::extract::Path<String>| {
                let (docs, fetches) = (docs.clone(), fetches.clone());
                async move {
                    fetches.fetch_add(1, Ordering::Relaxed);
                    match docs.get(&name) {
                        Some(d) => ([("content-type", ACTIVITY_JSON)], d.clone()).into_response(),
                        None => StatusCode::NOT_FOUND.into_response(),
                    }
                }
            },
        ),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// Statuses stored for these accounts.
async fn stored(store: &Store, accounts: &[i64]) -> anyhow::Result<i64> {
    let mut q = Query::new("SELECT COUNT(*) AS v FROM statuses WHERE account_id IN ");
    let list = q.in_list(accounts);
    q.push(&list);
    count(store, q).await
}

/// What the senders share.
struct Sending {
    next: AtomicUsize,
    sent: AtomicU64,
    accepted: AtomicU64,
    /// Accepted per second since the start.
    per_second: Vec<AtomicU64>,
    /// Answers other than 202, and transport errors, by kind.
    others: Mutex<BTreeMap<String, u64>>,
}

async fn inbox(config: Config, a: InboxArgs) -> anyhow::Result<()> {
    let base = loopback_target(&a.target)?;
    ensure!(
        a.peer_address.is_loopback(),
        "--peer-address must be a loopback address"
    );
    ensure!(
        a.duration > 0 && a.rate > 0 && a.concurrency > 0 && a.actors > 0,
        "--duration, --rate, --concurrency and --actors must be positive"
    );
    let inbox_url = base.join(&format!("users/{}/inbox", a.to))?;
    let store = sluice::open_store(&config).await?;
    let http = client(a.concurrency)?;
    let tag = format!("r{}", sluice_model::id::now_millis());
    println!(
        "inbox load test: {} s at most {}/s, {} in flight, {} remote actors, POST {inbox_url}",
        a.duration, a.rate, a.concurrency, a.actors
    );

    // The remote server and its actors.
    let t = Instant::now();
    let keys = on_all_cores(a.actors, |_| Ok(KeyPair::generate()?)).await?;
    let listener = tokio::net::TcpListener::bind((a.peer_address, 0)).await?;
    let peer = format!("http://{}", listener.local_addr()?);
    let mut docs = HashMap::new();
    let actors: Arc<Vec<RemoteActorKey>> = Arc::new(
        keys.into_iter()
            .enumerate()
            .map(|(i, key)| {
                let name = format!("lt{i}");
                let uri = format!("{peer}/users/{name}");
                docs.insert(
                    name.clone(),
                    json!({
                        "@context": ["https://www.w3.org/ns/activitystreams",
                                     "https://w3id.org/security/v1"],
                        "id": uri, "type": "Person", "preferredUsername": name,
                        "inbox": format!("{uri}/inbox"),
                        "followers": format!("{uri}/followers"),
                        "endpoints": {"sharedInbox": format!("{peer}/inbox")},
                        "publicKey": {"id": format!("{uri}#main-key"), "owner": uri,
                                      "publicKeyPem": key.public_key_pem()},
                    })
                    .to_string(),
                );
                RemoteActorKey {
                    key_id: format!("{uri}#main-key"),
                    uri,
                    key,
                }
            })
            .collect(),
    );
    let fetches = Arc::new(AtomicU64::new(0));
    serve_actors(listener, docs, fetches.clone());
    println!(
        "  {} actors with RSA-2048 keys on {peer} ({:.1} s)",
        a.actors,
        t.elapsed().as_secs_f64()
    );

    // Warm-up: one Create per actor, so the server fetches and stores every actor
    // before the timed phase.
    let t = Instant::now();
    for chunk in (0..actors.len()).collect::<Vec<_>>().chunks(4) {
        let mut calls = Vec::new();
        for &i in chunk {
            let s = sign(&inbox_url, &actors[i], create_note(&actors[i].uri, &tag, i))?;
            calls.push(
                http.post(inbox_url.clone())
                    .headers(s.headers)
                    .body(s.body)
                    .send(),
            );
        }
        for r in futures_join(calls).await {
            let r = r?;
            let status = r.status();
            if status != StatusCode::ACCEPTED {
                bail!(
                    "warm-up POST answered {status}: {} (is the server running with \
                     SLUICE_ALLOW_PRIVATE_ADDRESSES=true and SLUICE_FEDERATION_ALLOW_HTTP=true, \
                     and does user {} exist?)",
                    r.text().await.unwrap_or_default(),
                    a.to
                );
            }
        }
    }
    let mut ids = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    for actor in actors.iter() {
        loop {
            if let Some(acc) = store.account_by_uri(&actor.uri).await? {
                ids.push(acc.id);
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "the server never stored actor {}",
                actor.uri
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    loop {
        let n = stored(&store, &ids).await?;
        if n >= actors.len() as i64 {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "the warm-up posts were not stored ({n} of {})",
            actors.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "  warm-up: {} Creates accepted and stored, {} actor fetches ({:.1} s)",
        actors.len(),
        fetches.load(Ordering::Relaxed),
        t.elapsed().as_secs_f64()
    );

    // Sign everything the timed phase may send.
    let total = (a.duration * a.rate) as usize;
    let t = Instant::now();
    let signed: Arc<Vec<Signed>> = Arc::new({
        let (actors, inbox_url, tag) = (actors.clone(), inbox_url.clone(), tag.clone());
        on_all_cores(total, move |n| {
            let actor = &actors[n % actors.len()];
            sign(
                &inbox_url,
                actor,
                create_note(&actor.uri, &tag, actors.len() + n),
            )
        })
        .await?
    });
    let sign_secs = t.elapsed().as_secs_f64();
    println!(
        "  signed {total} requests beforehand in {sign_secs:.1} s ({:.0} µs each, all cores)",
        sign_secs * 1e6 / total as f64
            * std::thread::available_parallelism().map_or(2, |n| n.get()) as f64
    );

    // The timed phase.
    let baseline = stored(&store, &ids).await?;
    let fetches_before = fetches.load(Ordering::Relaxed);
    let sending = Arc::new(Sending {
        next: AtomicUsize::new(0),
        sent: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
        per_second: (0..a.duration + 120).map(|_| AtomicU64::new(0)).collect(),
        others: Mutex::new(BTreeMap::new()),
    });
    let server_cpu0 = a.server_pid.and_then(cpu_ticks);
    let own_cpu0 = cpu_ticks(std::process::id());
    let start = Instant::now();
    let deadline = start + Duration::from_secs(a.duration);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..a.concurrency {
        let (sending, signed, http, url) = (
            sending.clone(),
            signed.clone(),
            http.clone(),
            inbox_url.clone(),
        );
        let rate = a.rate as f64;
        workers.spawn(async move {
            let mut latencies: Vec<u32> = Vec::new();
            loop {
                let i = sending.next.fetch_add(1, Ordering::Relaxed);
                if i >= signed.len() {
                    break;
                }
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                if due >= deadline {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                // Stop at the deadline even when behind: the run measures `duration`.
                if Instant::now() >= deadline {
                    break;
                }
                let s = &signed[i];
                let t = Instant::now();
                let r = http
                    .post(url.clone())
                    .headers(s.headers.clone())
                    .body(s.body.clone())
                    .send()
                    .await;
                let kind = match r {
                    Ok(r) => {
                        let status = r.status();
                        // Read the answer, so the connection is reused.
                        let _ = r.bytes().await;
                        if status == StatusCode::ACCEPTED {
                            None
                        } else {
                            Some(status.as_u16().to_string())
                        }
                    }
                    Err(e) if e.is_timeout() => Some("timeout".into()),
                    Err(e) if e.is_connect() => Some("connect error".into()),
                    Err(_) => Some("transport error".into()),
                };
                latencies.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                sending.sent.fetch_add(1, Ordering::Relaxed);
                match kind {
                    None => {
                        sending.accepted.fetch_add(1, Ordering::Relaxed);
                        let sec = start.elapsed().as_secs() as usize;
                        if let Some(b) = sending.per_second.get(sec) {
                            b.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Some(k) => {
                        *sending
                            .others
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .entry(k)
                            .or_default() += 1;
                    }
                }
            }
            latencies
        });
    }
    // Progress, every second (the stored count is kept for the per-second list);
    // printed every 5.
    let stored_by_second: Arc<Mutex<Vec<i64>>> = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let (store, ids, sending, by_second) = (
            store.clone(),
            ids.clone(),
            sending.clone(),
            stored_by_second.clone(),
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(
                (start + Duration::from_secs(1)).into(),
                Duration::from_secs(1),
            );
            let (mut last_acc, mut last_stored) = (0, 0);
            for s in 1.. {
                tick.tick().await;
                let acc = sending.accepted.load(Ordering::Relaxed);
                let st = stored(&store, &ids).await.unwrap_or(0) - baseline;
                by_second
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(st);
                if s % 5 == 0 {
                    let queue = store.pending_inbox().await.unwrap_or(-1);
                    println!(
                        "  t={s:>3}s accepted {acc:>7} (+{:>5}/s)  stored {st:>7} (+{:>5}/s)  inbox queue {queue}",
                        (acc - last_acc) / 5,
                        (st - last_stored) / 5,
                    );
                    (last_acc, last_stored) = (acc, st);
                }
            }
        })
    };
    let mut latencies = Vec::new();
    while let Some(r) = workers.join_next().await {
        latencies.extend(r?);
    }
    let send_secs = start.elapsed().as_secs_f64();
    let server_cpu = cpu_percent(server_cpu0, a.server_pid.and_then(cpu_ticks), send_secs);
    let own_cpu = cpu_percent(own_cpu0, cpu_ticks(std::process::id()), send_secs);
    let sent = sending.sent.load(Ordering::Relaxed);
    let accepted = sending.accepted.load(Ordering::Relaxed);

    // Wait until everything accepted is stored.
    let end_of_sending = Instant::now();
    let drain_deadline = end_of_sending + Duration::from_secs(a.drain_timeout);
    let (stored_n, all_stored_at) = loop {
        let n = stored(&store, &ids).await? - baseline;
        if n >= accepted as i64 {
            break (n, Some(Instant::now()));
        }
        if Instant::now() >= drain_deadline {
            break (n, None);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    sampler.abort();
    let queue_after = store.pending_inbox().await?;

    latencies.sort_unstable();
    let full_secs = (send_secs.floor() as usize).min(sending.per_second.len());
    let mut per_sec: Vec<u64> = sending.per_second[..full_secs]
        .iter()
        .map(|b| b.load(Ordering::Relaxed))
        .collect();
    let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
    println!("  accepted in each second: {}", list(&per_sec));
    let stored_deltas: Vec<u64> = {
        let by_second = stored_by_second
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut prev = 0;
        by_second
            .iter()
            .take(full_secs)
            .map(|&n| {
                let d = (n - prev).max(0) as u64;
                prev = n;
                d
            })
            .collect()
    };
    println!("  stored in each second:   {}", list(&stored_deltas));
    per_sec.sort_unstable();
    let others = sending
        .others
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let refused: u64 = others.values().sum();
    let accepted_rate = accepted as f64 / send_secs;
    println!(
        "  sending: {sent} POSTs ({} offered) in {send_secs:.1} s; {accepted} answered 202 = {accepted_rate:.0}/s \
         (per second: min {}, median {}, max {})",
        a.duration * a.rate,
        per_sec.first().copied().unwrap_or(0),
        per_sec.get(per_sec.len() / 2).copied().unwrap_or(0),
        per_sec.last().copied().unwrap_or(0),
    );
    if others.is_empty() {
        println!("  other answers: none");
    } else {
        let list: Vec<String> = others.iter().map(|(k, v)| format!("{k} × {v}")).collect();
        println!("  other answers: {}", list.join(", "));
    }
    println!(
        "  latency: p50 {:.1} ms  p90 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        quantile_ms(&latencies, 0.5),
        quantile_ms(&latencies, 0.9),
        quantile_ms(&latencies, 0.99),
        quantile_ms(&latencies, 1.0)
    );
    if let Some(c) = server_cpu {
        println!(
            "  CPU while sending: server {c:.0} %, load generator {:.0} % (of one core)",
            own_cpu.unwrap_or(0.0)
        );
    }
    let (stored_rate, drain) = match all_stored_at {
        Some(at) => {
            let whole = (at - start).as_secs_f64();
            (
                stored_n as f64 / whole,
                Some((at - end_of_sending).as_secs_f64()),
            )
        }
        None => (
            stored_n as f64 / (Instant::now() - start).as_secs_f64(),
            None,
        ),
    };
    match drain {
        Some(d) => println!(
            "  stored: {stored_n} statuses (every accepted activity) = {stored_rate:.0}/s from the first POST to the last one stored; drained {d:.1} s after the last POST"
        ),
        None => println!(
            "  stored: only {stored_n} of {accepted} accepted after waiting {} s ({stored_rate:.0}/s); inbox queue {queue_after}",
            a.drain_timeout
        ),
    }
    println!(
        "  actor fetches during the run: {} (keys are cached by the server)",
        fetches.load(Ordering::Relaxed) - fetches_before
    );
    println!(
        "result inbox duration_s={send_secs:.1} sent={sent} accepted={accepted} accepted_per_s={accepted_rate:.0} \
         refused={refused} p50_ms={:.1} p99_ms={:.1} stored={stored_n} stored_per_s={stored_rate:.0} drain_s={} \
         min_accepted_per_s={} server_cpu={} loadgen_cpu={}",
        quantile_ms(&latencies, 0.5),
        quantile_ms(&latencies, 0.99),
        drain.map_or("never".into(), |d| format!("{d:.1}")),
        per_sec.first().copied().unwrap_or(0),
        server_cpu.map_or("-".into(), |c| format!("{c:.0}")),
        own_cpu.map_or("-".into(), |c| format!("{c:.0}")),
    );
    store.close().await;
    if drain.is_none() || stored_n != accepted as i64 {
        bail!("{accepted} activities were accepted but {stored_n} stored");
    }
    Ok(())
}

/// Awaits futures concurrently, results in order.
async fn futures_join<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for (i, f) in futures.into_iter().enumerate() {
        set.spawn(async move { (i, f.await) });
    }
    let mut out: Vec<Option<F::Output>> = Vec::new();
    out.resize_with(set.len(), || None);
    while let Some(Ok((i, r))) = set.join_next().await {
        out[i] = Some(r);
    }
    out.into_iter().flatten().collect()
}

// ---------------------------------------------------------------------------
// delivery
// ---------------------------------------------------------------------------

#[derive(Default)]
struct HostCounters {
    in_flight: AtomicU32,
    max_in_flight: AtomicU32,
    posts: AtomicU32,
}

/// What the sink saw.
struct Sink {
    hosts: Vec<HostCounters>,
    t0: Instant,
    latency: Duration,
    key: OnceLock<PublicKey>,
    total: AtomicU64,
    bad_signatures: AtomicU64,
    /// Microseconds since `t0`.
    first_us: AtomicU64,
    last_us: AtomicU64,
    /// POSTs per (host, path).
    inboxes: Mutex<HashMap<(usize, String), u32>>,
    /// POSTs per `type object-id` of the activity received.
    activities: Mutex<HashMap<String, u64>>,
}

impl Sink {
    async fn receive(&self, host: usize, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
        let h = &self.hosts[host];
        let now = h.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        h.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let verified = self.key.get().is_some_and(|key| {
            parse_request(
                &Method::POST,
                &path,
                &headers,
                Some(&body),
                SystemTime::now(),
                &VerifyLimits {
                    target_scheme: TargetScheme::Http,
                    ..VerifyLimits::default()
                },
            )
            .and_then(|p| p.verify(key))
            .is_ok()
        });
        if !verified {
            self.bad_signatures.fetch_add(1, Ordering::Relaxed);
        }
        let activity = serde_json::from_slice::<Value>(&body)
            .map(|v| {
                format!(
                    "{} {}",
                    v["type"].as_str().unwrap_or("?"),
                    v["object"]["id"].as_str().unwrap_or("?")
                )
            })
            .unwrap_or_else(|_| "not JSON".into());
        *self
            .activities
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(activity)
            .or_default() += 1;
        *self
            .inboxes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((host, path))
            .or_default() += 1;
        h.posts.fetch_add(1, Ordering::SeqCst);
        h.in_flight.fetch_sub(1, Ordering::SeqCst);
        let t = self.t0.elapsed().as_micros() as u64;
        self.first_us.fetch_min(t, Ordering::SeqCst);
        self.last_us.fetch_max(t, Ordering::SeqCst);
        self.total.fetch_add(1, Ordering::SeqCst);
        StatusCode::ACCEPTED
    }
}

/// Binds one listener per host address; returns each host's base URL.
async fn start_sink(sink: &Arc<Sink>, a: &DeliveryArgs) -> anyhow::Result<Vec<String>> {
    let first = u32::from(a.first_address);
    let mut bases = Vec::with_capacity(a.hosts);
    for i in 0..a.hosts {
        let ip = Ipv4Addr::from(first + i as u32);
        ensure!(
            ip.is_loopback(),
            "host {i} would be {ip}, outside 127.0.0.0/8: lower --hosts or --first-address"
        );
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(ip), a.sink_port))
            .await
            .with_context(|| format!("cannot listen on {ip}:{}", a.sink_port))?;
        bases.push(format!("http://{}", listener.local_addr()?));
        let s = sink.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            async move { s.receive(i, uri, headers, body).await }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
    Ok(bases)
}

/// Inserts `n` remote followers of `target`, spread over the hosts, straight into the
/// database, in transactions of 1,000.
async fn insert_followers(
    store: &Store,
    target: i64,
    bases: &[String],
    n: usize,
    separate_inboxes: bool,
) -> anyhow::Result<()> {
    let ids = IdGenerator::new();
    let now = sluice_model::id::now_millis();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1_000) {
        let mut tx = store.begin().await?;
        for &i in chunk {
            let base = &bases[i % bases.len()];
            let name = format!("f{i}");
            let uri = format!("{base}/users/{name}");
            let id = tx
                .upsert_remote_actor(
                    ids.next(),
                    &RemoteActor {
                        uri: uri.clone(),
                        username: name.clone(),
                        domain: base.trim_start_matches("http://").to_string(),
                        actor_type: "Person".into(),
                        display_name: name.clone(),
                        note: String::new(),
                        url: uri.clone(),
                        inbox_url: format!("{uri}/inbox"),
                        shared_inbox_url: if separate_inboxes {
                            String::new()
                        } else {
                            format!("{base}/inbox")
                        },
                        outbox_url: format!("{uri}/outbox"),
                        followers_url: format!("{uri}/followers"),
                        following_url: format!("{uri}/following"),
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
                .await?;
            tx.insert_relation(
                Relation::Follow,
                &NewRelation {
                    id: ids.next(),
                    account_id: id,
                    target_account_id: target,
                    uri: format!("{uri}#follows/1"),
                    flag_a: true,
                    flag_b: false,
                    expires_at: None,
                    created_at: now,
                },
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

async fn delivery(config: Config, a: DeliveryArgs) -> anyhow::Result<()> {
    let base = loopback_target(&a.target)?;
    ensure!(
        a.hosts > 0 && a.followers >= a.hosts,
        "need at least one host and at least as many followers as hosts"
    );
    let cap = config.federation.per_host_concurrency.max(1);
    let store = sluice::open_store(&config).await?;
    let http = client(4)?;
    let bearer = format!("Bearer {}", a.token);

    // Who posts.
    let me: Value = http
        .get(base.join("api/v1/accounts/verify_credentials")?)
        .header("authorization", &bearer)
        .send()
        .await?
        .error_for_status()
        .context("verify_credentials with --token")?
        .json()
        .await?;
    let account_id: i64 = me["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .context("verify_credentials gave no id")?;
    let username = me["username"].as_str().unwrap_or_default().to_string();
    let existing = count(
        &store,
        Query::new("SELECT COUNT(*) AS v FROM follows WHERE target_account_id = $1")
            .bind(account_id),
    )
    .await?;
    ensure!(
        existing == 0,
        "{username} already has {existing} followers: use a user made for this run"
    );
    let expected = if a.separate_inboxes {
        a.followers
    } else {
        a.hosts
    };
    println!(
        "delivery load test: {} followers of {username} on {} hosts ({}), per-host cap {cap}, sink latency {} ms",
        a.followers,
        a.hosts,
        if a.separate_inboxes {
            "each follower its own inbox, no shared inbox"
        } else {
            "shared inbox per host"
        },
        a.sink_latency_ms
    );

    let sink = Arc::new(Sink {
        hosts: (0..a.hosts).map(|_| HostCounters::default()).collect(),
        t0: Instant::now(),
        latency: Duration::from_millis(a.sink_latency_ms),
        key: OnceLock::new(),
        total: AtomicU64::new(0),
        bad_signatures: AtomicU64::new(0),
        first_us: AtomicU64::new(u64::MAX),
        last_us: AtomicU64::new(0),
        inboxes: Mutex::new(HashMap::new()),
        activities: Mutex::new(HashMap::new()),
    });
    let t = Instant::now();
    let bases = start_sink(&sink, &a).await?;
    println!(
        "  sink: {} listeners, {} … {} ({:.1} s)",
        bases.len(),
        bases[0],
        bases[bases.len() - 1],
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    insert_followers(&store, account_id, &bases, a.followers, a.separate_inboxes).await?;
    println!(
        "  followers: {} remote actors and follows inserted directly through the store (not by Follow activities) in {:.1} s",
        a.followers,
        t.elapsed().as_secs_f64()
    );

    // The author's published key, to verify what arrives (fetching the actor also
    // makes the key, if the account had none yet).
    let actor: Value = http
        .get(base.join(&format!("users/{username}"))?)
        .header("accept", ACTIVITY_JSON)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let pem = actor["publicKey"]["publicKeyPem"]
        .as_str()
        .context("the actor document has no publicKeyPem")?;
    let _ = sink.key.set(PublicKey::from_pem(pem)?);

    // The post.
    let server_cpu0 = a.server_pid.and_then(cpu_ticks);
    let sent_at = Instant::now();
    let r = http
        .post(base.join("api/v1/statuses")?)
        .header("authorization", &bearer)
        .form(&[
            (
                "status",
                format!("delivery load test {}", sluice_model::id::now_millis()),
            ),
            ("visibility", "public".into()),
        ])
        .send()
        .await?;
    let answered_at = Instant::now();
    let status = r.status();
    let posted: Value = r.json().await.unwrap_or_default();
    ensure!(
        status.is_success(),
        "POST /api/v1/statuses: {status} {posted}"
    );
    let status_uri = posted["uri"].as_str().unwrap_or_default().to_string();
    let answered_us = (answered_at - sink.t0).as_micros() as u64;

    let deadline = answered_at + Duration::from_secs(a.timeout);
    while sink.total.load(Ordering::SeqCst) < expected as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let complete = sink.total.load(Ordering::SeqCst) >= expected as u64;
    let server_secs = (Instant::now() - sent_at).as_secs_f64();
    let server_cpu = cpu_percent(server_cpu0, a.server_pid.and_then(cpu_ticks), server_secs);
    tokio::time::sleep(Duration::from_secs(a.settle)).await;
    let pending = store.pending_deliveries().await?;
    let expired = count(
        &store,
        Query::new("SELECT COUNT(*) AS v FROM deliveries WHERE state = 'expired'"),
    )
    .await?;

    let total = sink.total.load(Ordering::SeqCst);
    let secs = |us: u64| us.saturating_sub(answered_us) as f64 / 1e6;
    let first = sink.first_us.load(Ordering::SeqCst);
    let last = sink.last_us.load(Ordering::SeqCst);
    let mut per_host: BTreeMap<u32, usize> = BTreeMap::new();
    let mut max_in_flight: BTreeMap<u32, usize> = BTreeMap::new();
    for h in &sink.hosts {
        *per_host.entry(h.posts.load(Ordering::SeqCst)).or_default() += 1;
        *max_in_flight
            .entry(h.max_in_flight.load(Ordering::SeqCst))
            .or_default() += 1;
    }
    let inboxes = sink
        .inboxes
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let repeated = inboxes.values().filter(|&&n| n > 1).count();
    let per_host_expected = (expected / a.hosts) as u32;
    let wrong_hosts: usize = per_host
        .iter()
        .filter(|&(&n, _)| n != per_host_expected)
        .map(|(_, c)| c)
        .sum();
    let worst = max_in_flight.keys().next_back().copied().unwrap_or(0);
    let activities = sink
        .activities
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let right_activity = format!("Create {status_uri}");
    let wrong_activities: u64 = activities
        .iter()
        .filter(|(k, _)| **k != right_activity)
        .map(|(_, v)| v)
        .sum();
    let bad = sink.bad_signatures.load(Ordering::SeqCst);
    let fmt_map = |m: &BTreeMap<u32, usize>| {
        m.iter()
            .map(|(k, v)| format!("{k}: {v} hosts"))
            .collect::<Vec<_>>()
            .join(", ")
    };

    println!(
        "  POST /api/v1/statuses answered {status} in {:.1} ms",
        ms(answered_at - sent_at)
    );
    if first == u64::MAX {
        println!("  deliveries: none arrived within {} s", a.timeout);
    } else {
        println!(
            "  deliveries: {total} POSTs received, {expected} expected; first {:.2} s, last {:.2} s after the answer ({:.0} POSTs/s)",
            secs(first),
            secs(last),
            total as f64 / secs(last).max(1e-6)
        );
    }
    println!("  POSTs per host: {}", fmt_map(&per_host));
    println!(
        "  inboxes: {} distinct, {repeated} received more than one POST",
        inboxes.len()
    );
    println!(
        "  most requests in flight at once per host: {worst} (cap {cap}); {}",
        fmt_map(&max_in_flight)
    );
    println!(
        "  signatures: {} verified with {username}'s published key, {bad} did not verify; activities other than Create of the post: {wrong_activities}",
        total - bad
    );
    println!("  queue afterwards: {pending} pending, {expired} expired");
    if let Some(c) = server_cpu {
        println!("  server CPU from the POST to the last delivery: {c:.0} % (of one core)");
    }
    println!(
        "result delivery followers={} hosts={} separate_inboxes={} expected={expected} received={total} \
         first_s={:.2} last_s={:.2} max_in_flight={worst} cap={cap} repeated_inboxes={repeated} \
         wrong_hosts={wrong_hosts} bad_signatures={bad} pending={pending} server_cpu={}",
        a.followers,
        a.hosts,
        a.separate_inboxes,
        if first == u64::MAX { 0.0 } else { secs(first) },
        secs(last),
        server_cpu.map_or("-".into(), |c| format!("{c:.0}")),
    );
    store.close().await;

    let mut failed = Vec::new();
    if !complete || total != expected as u64 {
        failed.push(format!("{total} POSTs instead of {expected}"));
    }
    if repeated > 0 || wrong_hosts > 0 {
        failed.push(format!(
            "{repeated} inboxes got more than one POST, {wrong_hosts} hosts not exactly {per_host_expected}"
        ));
    }
    if worst > cap {
        failed.push(format!(
            "a host had {worst} requests in flight, over the cap of {cap}"
        ));
    }
    if bad > 0 || wrong_activities > 0 {
        failed.push(format!(
            "{bad} bad signatures, {wrong_activities} unexpected activities"
        ));
    }
    if !failed.is_empty() {
        bail!("delivery check failed: {}", failed.join("; "));
    }
    Ok(())
}
