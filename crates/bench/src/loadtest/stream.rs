//! `sluice-bench loadtest stream`: many passive streaming clients against a running server
//! (docs/benchmarks.md, "Streaming"; `bench/streaming.sh` runs it).
//!
//! 1. Seeds (or reuses) `--users` accounts `user1..userN` and gives each a real
//!    OAuth token; with `--stream user` every one follows `user1`, who posts.
//! 2. Measures the server's RSS (`--server-pid`), then opens `--connections` streams,
//!    `--sse-share` of them as SSE and the rest as WebSockets, spread over the users,
//!    `--connect-concurrency` at a time, and measures the RSS again: the difference
//!    per connection is what a connection costs the server.
//! 3. Holds them idle for `--idle` seconds and reads the server's CPU time: what
//!    heartbeats and pings cost.
//! 4. Posts through `POST /api/v1/statuses` at `--post-rate` per second for
//!    `--duration` (at least one post), each with a marker the clients look for, and
//!    waits `--settle` seconds for the last events.
//! 5. Reports connections established and dropped, events received against expected
//!    (every connection expects every post), duplicates, and delivery latency from just
//!    before the POST to the event's arrival (p50/p90/p99/max); `--json` prints the
//!    same as one JSON object on standard output.
//!
//! The clients speak just enough HTTP/1.1, SSE and RFC 6455 to stay passive and cheap
//! (one small task and buffer each), so that the load generator, which shares the
//! machine with the server, measures the server. Loopback targets only; connections,
//! posts and time are bounded.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use sluice::Config;
use sluice_model::scope::Scopes;
use sluice_store::{Query, Scalar};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::{client, cpu_percent, cpu_ticks, loopback_target, quantile_ms, with_children};

/// Most connections one run opens (the open-file limit of one process is the real
/// bound: 20,000 here).
const MAX_CONNECTIONS: usize = 60_000;
/// Most posts one run makes.
const MAX_POSTS: usize = 10_000;
/// Longest run, in seconds (`--duration`, `--idle` and `--settle` each).
const MAX_SECONDS: u64 = 3600;
/// Bytes a client reads at once.
const CLIENT_READ: usize = 4096;
/// Longest line or frame a client keeps (a status payload is a few KiB).
const CLIENT_MAX_MESSAGE: usize = 256 * 1024;
/// What each post carries so that clients can tell which post an event is:
/// `MARKER<n>~`.
const MARKER: &str = "lt~";

#[derive(Args)]
pub struct StreamArgs {
    /// Base URL of the server under test (http, loopback IP: http://127.0.0.1:PORT).
    #[arg(long)]
    target: String,
    /// Streaming connections to open and hold.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Share of the connections that use SSE (the rest use WebSockets): 0.0 to 1.0.
    #[arg(long, default_value_t = 0.5)]
    sse_share: f64,
    /// How long to post, e.g. `60s`, `2m` or `90` (seconds).
    #[arg(long, default_value = "60s", value_parser = parse_seconds)]
    duration: u64,
    /// Posts per second while posting (at least one post is made).
    #[arg(long, default_value_t = 1.0)]
    post_rate: f64,
    /// The stream every connection listens to: `public:local`, `public` or `user`
    /// (home: every user follows the poster).
    #[arg(long, default_value = "public:local")]
    stream: String,
    /// Accounts the connections are spread over (seeded as user1..userN if missing).
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Password of seeded accounts.
    #[arg(long, default_value = "loadtest-password")]
    password: String,
    /// Connections being opened at once.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// Idle time with every connection open, before posting: CPU use is measured over
    /// it (make it longer than the heartbeat and ping periods).
    #[arg(long, default_value = "35s", value_parser = parse_seconds)]
    idle: u64,
    /// Wait after the last post for its events.
    #[arg(long, default_value = "5s", value_parser = parse_seconds)]
    settle: u64,
    /// The server's process id: its RSS and CPU time, with its children's (a
    /// supervisor's serving processes), are reported.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Print the summary as JSON on standard output (the progress goes to stderr).
    #[arg(long)]
    json: bool,
}

/// `60s`, `2m`, `1h` or a number of seconds.
fn parse_seconds(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (n, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = n.parse().map_err(|_| format!("not a duration: {s}"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("unknown unit in {s} (use s, m or h)")),
    };
    if secs > MAX_SECONDS {
        return Err(format!("at most {MAX_SECONDS} s"));
    }
    Ok(secs)
}

/// Which protocol a client speaks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Sse,
    WebSocket,
}

/// What clients share: when each post was sent, and the run's phase.
struct Shared {
    t0: Instant,
    /// Microseconds after `t0` at which post `n` was sent (0: not yet).
    sent_us: Vec<AtomicU64>,
    established: AtomicUsize,
    failed: AtomicUsize,
    dropped: AtomicUsize,
    /// Set when the run is over: clients stop reading and report.
    stop: watch::Sender<bool>,
    /// The first few failure reasons, for the report.
    errors: std::sync::Mutex<Vec<String>>,
}

impl Shared {
    fn note_error(&self, e: String) {
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        if errors.len() < 5 {
            errors.push(e);
        }
    }
}

/// What one client saw.
#[derive(Default)]
struct ClientReport {
    established: bool,
    dropped: bool,
    /// Latency of each post received, in microseconds, indexed by post number.
    latencies: Vec<u32>,
    seen: Vec<bool>,
    duplicates: u64,
}

pub async fn stream(config: Config, a: StreamArgs) -> anyhow::Result<()> {
    let base = loopback_target(&a.target)?;
    ensure!(
        (1..=MAX_CONNECTIONS).contains(&a.connections),
        "--connections must be 1 to {MAX_CONNECTIONS}"
    );
    ensure!(
        (0.0..=1.0).contains(&a.sse_share),
        "--sse-share must be between 0 and 1"
    );
    ensure!(
        a.post_rate >= 0.0 && a.post_rate <= 1000.0,
        "--post-rate must be 0 to 1000"
    );
    ensure!(
        (1..=10_000).contains(&a.users),
        "--users must be 1 to 10000"
    );
    let (sse_path, ws_stream) = match a.stream.as_str() {
        "public:local" => ("public/local", "public:local"),
        "public" => ("public", "public"),
        "user" => ("user", "user"),
        s => bail!("--stream {s}: use public:local, public or user"),
    };
    let posts = ((a.duration as f64 * a.post_rate).round() as usize).clamp(1, MAX_POSTS);
    let addr = std::net::SocketAddr::new(
        match base.host() {
            Some(url::Host::Ipv4(ip)) => ip.into(),
            Some(url::Host::Ipv6(ip)) => ip.into(),
            _ => bail!("--target must be an IP address"),
        },
        base.port_or_known_default().unwrap_or(80),
    );
    let host = format!("{}", addr);
    if let Some((soft, hard)) = sluice::raise_open_files_limit() {
        ensure!(
            soft as usize > a.connections + 64,
            "the open-file limit of this process is {soft} (hard {hard}): too low for {} connections",
            a.connections
        );
    }
    let progress = |len: u64, what: &str| {
        let bar = ProgressBar::new(len);
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "  {what:<10} [{{bar:30}}] {{pos}}/{{len}} {{msg}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    };

    // Users and tokens.
    eprintln!(
        "stream load test: {} connections ({:.0}% SSE) on {}, {} users, {posts} posts",
        a.connections,
        a.sse_share * 100.0,
        a.stream,
        a.users
    );
    let store = sluice::open_store(&config).await?;
    let engine =
        sluice::build_engine(&config, store.clone(), Some(addr), sluice::Identity::Record).await?;
    crate::seed::seed_quiet(
        &engine,
        &store,
        crate::seed::SeedPlan {
            accounts: a.users,
            statuses: 0,
            follows: 0,
            password: a.password.clone(),
            thread_replies: 0,
        },
        false,
    )
    .await
    .context("seeding the users")?;
    let scopes = Scopes::parse("read write").map_err(|e| anyhow::anyhow!(e))?;
    let mut tokens = Vec::with_capacity(a.users);
    for n in 1..=a.users {
        let id = store
            .one::<Scalar>(
                Query::new("SELECT id AS v FROM accounts WHERE domain = '' AND username = $1")
                    .bind(format!("user{n}")),
            )
            .await
            .with_context(|| format!("user{n}"))?
            .v;
        let token = engine.token_for_new_user(None, id, &scopes).await?;
        tokens.push(token.access_token);
    }
    let http = client(8)?;
    let poster = tokens[0].clone();
    if a.stream == "user" {
        let me: Value = http
            .get(base.join("api/v1/accounts/verify_credentials")?)
            .bearer_auth(&poster)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = me["id"].as_str().context("no id")?.to_string();
        for t in &tokens[1..] {
            http.post(base.join(&format!("api/v1/accounts/{id}/follow"))?)
                .bearer_auth(t)
                .send()
                .await?
                .error_for_status()
                .context("following the poster")?;
        }
    }

    let pid = a.server_pid;
    let rss = |pid: Option<u32>| pid.and_then(rss_kib);
    let rss_before = rss(pid);

    // Connect.
    let (stop, _) = watch::channel(false);
    let shared = Arc::new(Shared {
        t0: Instant::now(),
        sent_us: (0..posts).map(|_| AtomicU64::new(0)).collect(),
        established: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        dropped: AtomicUsize::new(0),
        stop,
        errors: std::sync::Mutex::new(Vec::new()),
    });
    let sse_count = (a.connections as f64 * a.sse_share).round() as usize;
    let gate = Arc::new(tokio::sync::Semaphore::new(a.connect_concurrency.max(1)));
    let bar = progress(a.connections as u64, "connect");
    let connect_started = Instant::now();
    let mut tasks = Vec::with_capacity(a.connections);
    for i in 0..a.connections {
        let protocol = if i < sse_count {
            Protocol::Sse
        } else {
            Protocol::WebSocket
        };
        let token = tokens[i % tokens.len()].clone();
        let request = match protocol {
            Protocol::Sse => format!(
                "GET /api/v1/streaming/{sse_path} HTTP/1.1\r\nHost: {host}\r\n\
                 Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            ),
            Protocol::WebSocket => format!(
                "GET /api/v1/streaming?stream={ws_stream} HTTP/1.1\r\nHost: {host}\r\n\
                 Authorization: Bearer {token}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: c2x1aWNlLWxvYWR0ZXN0IQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ),
        };
        let permit = gate.clone().acquire_owned().await?;
        let shared = shared.clone();
        let bar = bar.clone();
        tasks.push(tokio::spawn(async move {
            client_task(addr, protocol, request, shared, permit, bar).await
        }));
    }
    // Every connection has been tried once its permit came back.
    let _ = gate
        .acquire_many(a.connect_concurrency.max(1) as u32)
        .await?;
    bar.finish_and_clear();
    let connect_secs = connect_started.elapsed().as_secs_f64();
    let established = shared.established.load(Ordering::Relaxed);
    eprintln!(
        "  connected {established}/{} in {connect_secs:.1} s ({} failed)",
        a.connections,
        shared.failed.load(Ordering::Relaxed)
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_connected = rss(pid);

    // Idle.
    let idle_bar = progress(a.idle, "idle");
    let cpu0 = pid.and_then(cpu_ticks);
    let idle_started = Instant::now();
    for _ in 0..a.idle {
        tokio::time::sleep(Duration::from_secs(1)).await;
        idle_bar.inc(1);
    }
    let idle_cpu = cpu_percent(
        cpu0,
        pid.and_then(cpu_ticks),
        idle_started.elapsed().as_secs_f64(),
    );
    idle_bar.finish_and_clear();
    let rss_idle = rss(pid);

    // Post.
    let post_bar = progress(posts as u64, "post");
    let url = base.join("api/v1/statuses")?;
    let interval = if a.post_rate > 0.0 {
        Duration::from_secs_f64(1.0 / a.post_rate)
    } else {
        Duration::ZERO
    };
    let posting_started = Instant::now();
    let cpu_post0 = pid.and_then(cpu_ticks);
    // This process's own share of the machine while the posts fan out.
    let own_cpu_post0 = cpu_ticks(std::process::id());
    let mut post_failures = 0usize;
    for n in 0..posts {
        let due = posting_started + interval * n as u32;
        tokio::time::sleep_until(due.into()).await;
        shared.sent_us[n].store(
            shared.t0.elapsed().as_micros().max(1) as u64,
            Ordering::Release,
        );
        let res = http
            .post(url.clone())
            .bearer_auth(&poster)
            .form(&[
                ("status", format!("stream load test {MARKER}{n}~")),
                ("visibility", "public".to_string()),
            ])
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => {
                post_failures += 1;
                shared.note_error(format!("POST statuses: {}", r.status()));
            }
            Err(e) => {
                post_failures += 1;
                shared.note_error(format!("POST statuses: {e}"));
            }
        }
        post_bar.inc(1);
    }
    post_bar.finish_and_clear();
    let posting_secs = posting_started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(a.settle)).await;
    let post_cpu = cpu_percent(
        cpu_post0,
        pid.and_then(cpu_ticks),
        posting_started.elapsed().as_secs_f64(),
    );
    let own_post_cpu = cpu_percent(
        own_cpu_post0,
        cpu_ticks(std::process::id()),
        posting_started.elapsed().as_secs_f64(),
    );
    let rss_end = rss(pid);
    let _ = shared.stop.send(true);

    // Collect.
    let mut latencies: Vec<u32> = Vec::new();
    let (mut duplicates, mut missing, mut dropped_sse, mut dropped_ws) = (0u64, 0u64, 0, 0);
    let (mut est_sse, mut est_ws) = (0usize, 0usize);
    let mut lat_sse: Vec<u32> = Vec::new();
    let mut lat_ws: Vec<u32> = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let r = t.await.unwrap_or_default();
        let sse = i < sse_count;
        if !r.established {
            continue;
        }
        if sse {
            est_sse += 1;
        } else {
            est_ws += 1;
        }
        if r.dropped {
            if sse {
                dropped_sse += 1;
            } else {
                dropped_ws += 1;
            }
        }
        duplicates += r.duplicates;
        missing += (0..posts)
            .filter(|n| !r.seen.get(*n).copied().unwrap_or(false))
            .count() as u64;
        for (n, l) in r.latencies.iter().enumerate() {
            if r.seen.get(n).copied().unwrap_or(false) {
                latencies.push(*l);
                if sse {
                    lat_sse.push(*l);
                } else {
                    lat_ws.push(*l);
                }
            }
        }
    }
    latencies.sort_unstable();
    lat_sse.sort_unstable();
    lat_ws.sort_unstable();
    let expected = (established * posts) as u64;
    let per_conn =
        |after: Option<u64>| Some((after? as f64 - rss_before? as f64) / established.max(1) as f64);
    let lat = |v: &[u32]| {
        json!({
            "count": v.len(),
            "p50_ms": quantile_ms(v, 0.50),
            "p90_ms": quantile_ms(v, 0.90),
            "p99_ms": quantile_ms(v, 0.99),
            "max_ms": v.last().map(|m| f64::from(*m) / 1000.0).unwrap_or(0.0),
        })
    };
    let errors = shared
        .errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let summary = json!({
        "stream": a.stream,
        "connections": a.connections,
        "sse": sse_count,
        "websocket": a.connections - sse_count,
        "established": established,
        "established_sse": est_sse,
        "established_websocket": est_ws,
        "failed": shared.failed.load(Ordering::Relaxed),
        "dropped_sse": dropped_sse,
        "dropped_websocket": dropped_ws,
        "connect_seconds": connect_secs,
        "posts": posts,
        "post_failures": post_failures,
        "posting_seconds": posting_secs,
        "events_expected": expected,
        "events_received": latencies.len(),
        "events_missing": missing,
        "duplicates": duplicates,
        "latency": lat(&latencies),
        "latency_sse": lat(&lat_sse),
        "latency_websocket": lat(&lat_ws),
        "server_rss_kib": {
            "before": rss_before,
            "connected": rss_connected,
            "after_idle": rss_idle,
            "end": rss_end,
        },
        "server_rss_per_connection_kib": per_conn(rss_connected),
        "server_rss_per_connection_after_idle_kib": per_conn(rss_idle),
        "server_idle_cpu_percent": idle_cpu,
        "server_cpu_percent_while_posting": post_cpu,
        "load_generator_cpu_percent_while_posting": own_post_cpu,
        "idle_seconds": a.idle,
        "errors": errors,
    });
    if a.json {
        println!("{summary}");
    } else {
        print_summary(&summary);
    }
    Ok(())
}

fn print_summary(s: &Value) {
    let f = |v: &Value| match v.as_f64() {
        Some(x) => format!("{x:.1}"),
        None => "-".into(),
    };
    println!("stream load test ({}):", s["stream"].as_str().unwrap_or(""));
    println!(
        "  connections   {} established of {} ({} SSE, {} WebSocket), {} failed, {} dropped, opened in {} s",
        s["established"],
        s["connections"],
        s["established_sse"],
        s["established_websocket"],
        s["failed"],
        s["dropped_sse"].as_u64().unwrap_or(0) + s["dropped_websocket"].as_u64().unwrap_or(0),
        f(&s["connect_seconds"])
    );
    println!(
        "  server RSS    {} KiB before, {} KiB connected, {} KiB after idle, {} KiB at the end",
        s["server_rss_kib"]["before"],
        s["server_rss_kib"]["connected"],
        s["server_rss_kib"]["after_idle"],
        s["server_rss_kib"]["end"]
    );
    println!(
        "  per connection {} KiB (connected), {} KiB (after idle)",
        f(&s["server_rss_per_connection_kib"]),
        s["server_rss_per_connection_after_idle_kib"]
            .as_f64()
            .map(|x| format!("{x:.2}"))
            .unwrap_or("-".into())
    );
    println!(
        "  server CPU    {} % idle over {} s, {} % while posting (load generator {} %)",
        s["server_idle_cpu_percent"]
            .as_f64()
            .map(|x| format!("{x:.2}"))
            .unwrap_or("-".into()),
        s["idle_seconds"],
        f(&s["server_cpu_percent_while_posting"]),
        f(&s["load_generator_cpu_percent_while_posting"])
    );
    println!(
        "  posts         {} in {} s ({} failed)",
        s["posts"],
        f(&s["posting_seconds"]),
        s["post_failures"]
    );
    println!(
        "  events        {} received of {} expected, {} missing, {} duplicates",
        s["events_received"], s["events_expected"], s["events_missing"], s["duplicates"]
    );
    for (name, key) in [
        ("all", "latency"),
        ("SSE", "latency_sse"),
        ("WebSocket", "latency_websocket"),
    ] {
        let l = &s[key];
        println!(
            "  latency {name:<9} p50 {} ms, p90 {} ms, p99 {} ms, max {} ms ({} events)",
            f(&l["p50_ms"]),
            f(&l["p90_ms"]),
            f(&l["p99_ms"]),
            f(&l["max_ms"]),
            l["count"]
        );
    }
    if let Some(errors) = s["errors"].as_array().filter(|e| !e.is_empty()) {
        println!("  first errors:");
        for e in errors {
            println!("    {}", e.as_str().unwrap_or(""));
        }
    }
}

/// Resident set size of a process, in KiB.
/// The resident memory of a process and its children (a supervisor's serving
/// processes), in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let own = process_rss_kib(pid)?;
    Some(
        own + with_children(pid)[1..]
            .iter()
            .filter_map(|c| process_rss_kib(*c))
            .sum::<u64>(),
    )
}

fn process_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn client_task(
    addr: std::net::SocketAddr,
    protocol: Protocol,
    request: String,
    shared: Arc<Shared>,
    permit: tokio::sync::OwnedSemaphorePermit,
    bar: ProgressBar,
) -> ClientReport {
    let posts = shared.sent_us.len();
    let mut report = ClientReport {
        latencies: vec![0; posts],
        seen: vec![false; posts],
        ..ClientReport::default()
    };
    let mut stop = shared.stop.subscribe();
    let connected = tokio::time::timeout(Duration::from_secs(30), async {
        let mut s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        s.write_all(request.as_bytes()).await?;
        std::io::Result::Ok(s)
    })
    .await;
    let mut socket = match connected {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            fail(&shared, &bar, format!("connect: {e}"));
            return report;
        }
        Err(_) => {
            fail(&shared, &bar, "connect: timed out".into());
            return report;
        }
    };
    let mut conn = Reader {
        buf: Vec::with_capacity(CLIENT_READ),
        head_done: false,
        protocol,
    };
    let mut chunk = vec![0u8; CLIENT_READ];
    let mut permit = Some(permit);
    // The server must answer within this, or the connection counts as failed.
    let head_deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let n = tokio::select! {
            _ = stop.wait_for(|s| *s) => return report,
            _ = tokio::time::sleep_until(head_deadline), if !report.established => {
                fail(&shared, &bar, "no answer within 30 s".into());
                return report;
            }
            n = socket.read(&mut chunk) => n,
        };
        let n = match n {
            Ok(0) | Err(_) => {
                if report.established {
                    report.dropped = true;
                    shared.dropped.fetch_add(1, Ordering::Relaxed);
                } else {
                    fail(&shared, &bar, "closed before the stream began".into());
                }
                return report;
            }
            Ok(n) => n,
        };
        conn.buf.extend_from_slice(&chunk[..n]);
        match conn.process(&shared, &mut report, &mut socket).await {
            Ok(()) => {}
            Err(e) => {
                if report.established {
                    report.dropped = true;
                    shared.dropped.fetch_add(1, Ordering::Relaxed);
                    shared.note_error(e);
                } else {
                    fail(&shared, &bar, e);
                }
                return report;
            }
        }
        if report.established && permit.is_some() {
            shared.established.fetch_add(1, Ordering::Relaxed);
            bar.inc(1);
            permit = None;
        }
        if conn.buf.capacity() > CLIENT_READ * 4 && conn.buf.len() < CLIENT_READ {
            conn.buf.shrink_to(CLIENT_READ);
        }
    }
}

fn fail(shared: &Shared, bar: &ProgressBar, e: String) {
    shared.failed.fetch_add(1, Ordering::Relaxed);
    shared.note_error(e);
    bar.inc(1);
}

struct Reader {
    buf: Vec<u8>,
    head_done: bool,
    protocol: Protocol,
}

impl Reader {
    /// Consumes what is complete in `buf`: the response head, then SSE lines or
    /// WebSocket frames (answering pings).
    async fn process(
        &mut self,
        shared: &Shared,
        report: &mut ClientReport,
        socket: &mut TcpStream,
    ) -> Result<(), String> {
        if !self.head_done {
            let Some(end) = find(&self.buf, b"\r\n\r\n") else {
                if self.buf.len() > CLIENT_MAX_MESSAGE {
                    return Err("response head too large".into());
                }
                return Ok(());
            };
            let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
            let status = head.split_whitespace().nth(1).unwrap_or("");
            let want = match self.protocol {
                Protocol::Sse => "200",
                Protocol::WebSocket => "101",
            };
            if status != want {
                return Err(format!(
                    "answered {}",
                    head.lines().next().unwrap_or_default()
                ));
            }
            self.buf.drain(..end + 4);
            self.head_done = true;
            report.established = true;
        }
        match self.protocol {
            Protocol::Sse => {
                // Chunk-size lines of the chunked body pass through as lines too;
                // only `data:` lines matter.
                let mut start = 0;
                while let Some(nl) = memchr::memchr(b'\n', &self.buf[start..]) {
                    let line = &self.buf[start..start + nl];
                    if line.starts_with(b"data:") {
                        see(shared, report, line);
                    }
                    start += nl + 1;
                }
                self.buf.drain(..start);
                if self.buf.len() > CLIENT_MAX_MESSAGE {
                    return Err("SSE line too long".into());
                }
            }
            Protocol::WebSocket => {
                while let Some((opcode, header, len)) = frame_header(&self.buf) {
                    if len > CLIENT_MAX_MESSAGE {
                        return Err("WebSocket frame too large".into());
                    }
                    if self.buf.len() < header + len {
                        break;
                    }
                    let payload = self.buf[header..header + len].to_vec();
                    self.buf.drain(..header + len);
                    match opcode {
                        0x1 => see(shared, report, &payload),
                        0x8 => {
                            let code = payload
                                .get(..2)
                                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                                .unwrap_or(0);
                            return Err(format!(
                                "closed by the server: {code} {}",
                                String::from_utf8_lossy(payload.get(2..).unwrap_or_default())
                            ));
                        }
                        0x9 => {
                            let pong = masked_frame(0xA, &payload);
                            socket
                                .write_all(&pong)
                                .await
                                .map_err(|e| format!("pong: {e}"))?;
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }
}

/// A received message: which post it carries, when that post was sent.
fn see(shared: &Shared, report: &mut ClientReport, message: &[u8]) {
    let Some(at) = find(message, MARKER.as_bytes()) else {
        return;
    };
    let digits = &message[at + MARKER.len()..];
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    let Some(n) = std::str::from_utf8(&digits[..end])
        .ok()
        .and_then(|d| d.parse::<usize>().ok())
        .filter(|n| *n < report.seen.len())
    else {
        return;
    };
    let now = shared.t0.elapsed().as_micros() as u64;
    let sent = shared.sent_us[n].load(Ordering::Acquire);
    if report.seen[n] {
        report.duplicates += 1;
        return;
    }
    report.seen[n] = true;
    report.latencies[n] = now.saturating_sub(sent).min(u64::from(u32::MAX)) as u32;
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// Opcode, header length and payload length of the frame at the start of `buf`, once
/// its header is complete (server frames are not masked).
fn frame_header(buf: &[u8]) -> Option<(u8, usize, usize)> {
    if buf.len() < 2 {
        return None;
    }
    let opcode = buf[0] & 0x0F;
    let masked = buf[1] & 0x80 != 0;
    let (len, mut header) = match buf[1] & 0x7F {
        126 => {
            let b = buf.get(2..4)?;
            (u16::from_be_bytes([b[0], b[1]]) as usize, 4)
        }
        127 => {
            let b = buf.get(2..10)?;
            (
                u64::from_be_bytes(b.try_into().ok()?).min(usize::MAX as u64) as usize,
                10,
            )
        }
        n => (n as usize, 2),
    };
    if masked {
        header += 4;
    }
    if buf.len() < header {
        return None;
    }
    Some((opcode, header, len))
}

/// A client frame (clients must mask), FIN set.
fn masked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x5Au8, 0x17, 0xC3, 0x2E];
    let mut f = Vec::with_capacity(payload.len() + 14);
    f.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= u16::MAX as usize => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_seconds("60s"), Ok(60));
        assert_eq!(parse_seconds("2m"), Ok(120));
        assert_eq!(parse_seconds("90"), Ok(90));
        assert!(parse_seconds("5d").is_err());
        assert!(parse_seconds("2h").is_err());
    }

    #[test]
    fn frames_round_trip_their_headers() {
        let f = masked_frame(0xA, &[1, 2, 3]);
        assert_eq!(frame_header(&f), Some((0xA, 6, 3)));
        let big = masked_frame(0x1, &[0; 300]);
        assert_eq!(frame_header(&big), Some((0x1, 8, 300)));
        // Unmasked server frame, 16-bit length.
        let mut server = vec![0x81, 126, 0x01, 0x00];
        server.extend(std::iter::repeat_n(b'x', 256));
        assert_eq!(frame_header(&server), Some((0x1, 4, 256)));
        assert_eq!(frame_header(&server[..3]), None);
    }

    #[test]
    fn markers_are_found_in_sse_and_websocket_messages() {
        let (stop, _) = watch::channel(false);
        let shared = Shared {
            t0: Instant::now(),
            sent_us: (0..3).map(|_| AtomicU64::new(1)).collect(),
            established: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            stop,
            errors: std::sync::Mutex::new(Vec::new()),
        };
        let mut r = ClientReport {
            latencies: vec![0; 3],
            seen: vec![false; 3],
            ..ClientReport::default()
        };
        see(
            &shared,
            &mut r,
            br#"data: {"id":"1","content":"<p>x lt~2~</p>"}"#,
        );
        see(
            &shared,
            &mut r,
            br#"{"stream":["public"],"payload":"{\"content\":\"lt~2~\"}"}"#,
        );
        see(&shared, &mut r, b"data: lt~7~");
        assert_eq!(r.seen, vec![false, false, true]);
        assert_eq!(r.duplicates, 1);
    }
}
