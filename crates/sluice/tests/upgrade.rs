//! `sluice serve` as operators run it: the supervisor and its serving processes, real
//! processes of the built binary, on SQLite and (with `SLUICE_TEST_DATABASE_URL`) on
//! PostgreSQL. Upgrades under load lose no request and no stream event; a failed or
//! incompatible upgrade changes nothing; a killed serving process is replaced.
#![cfg(unix)]

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/kept_alive.rs"]
mod kept_alive;
use kept_alive::kept_alive;

const BIN: &str = env!("CARGO_BIN_EXE_sluice");

#[derive(Clone, Copy, PartialEq)]
enum Db {
    Sqlite,
    Postgres,
}

/// A supervisor started from a copy of the binary (which a test may replace).
struct Server {
    dir: PathBuf,
    bin: PathBuf,
    base: String,
    env: Vec<(String, String)>,
    child: Child,
    pg: Option<(String, String)>,
}

impl Server {
    async fn start(name: &str, db: Db) -> Option<Server> {
        Server::start_with(name, db, &[]).await
    }

    /// Starts with `extra` settings (`(name, value)`; an empty value removes one of the
    /// defaults below).
    async fn start_with(name: &str, db: Db, extra: &[(&str, &str)]) -> Option<Server> {
        let dir =
            std::env::temp_dir().join(format!("sluice-upgrade-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let bin = dir.join("bin/sluice");
        forking(|| std::fs::copy(BIN, &bin)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let mut env = vec![
            (
                "SLUICE_DATA_DIR".to_string(),
                dir.join("data").display().to_string(),
            ),
            ("SLUICE_LISTEN".into(), format!("127.0.0.1:{port}")),
            ("SLUICE_PUBLIC_URL".into(), base.clone()),
            ("SLUICE_REGISTRATIONS".into(), "open".into()),
            ("SLUICE_RATE_LIMIT_WRITES".into(), "0".into()),
            ("SLUICE_RATE_LIMIT_SIGN_IN".into(), "0".into()),
            ("SLUICE_RATE_LIMIT_REGISTRATIONS".into(), "0".into()),
            ("SLUICE_DRAIN_SECS".into(), "10".into()),
            ("SLUICE_UPGRADE_READY_SECS".into(), "30".into()),
        ];
        for (k, v) in extra {
            env.retain(|(name, _)| name != k);
            if !v.is_empty() {
                env.push((k.to_string(), v.to_string()));
            }
        }
        let mut pg = None;
        if db == Db::Postgres {
            let Ok(url) = std::env::var("SLUICE_TEST_DATABASE_URL") else {
                eprintln!("skipped: SLUICE_TEST_DATABASE_URL is not set");
                return None;
            };
            let schema = format!("upgrade_{name}_{}", std::process::id());
            pg_exec(
                &url,
                &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
            )
            .await;
            let sep = if url.contains('?') { '&' } else { '?' };
            env.push((
                "SLUICE_DATABASE_URL".into(),
                format!("{url}{sep}options=-c%20search_path%3D{schema}"),
            ));
            pg = Some((url, schema));
        }
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        let child = forking(|| command(&bin, &env).arg("serve").stderr(log).spawn()).unwrap();
        let server = Server {
            dir,
            bin,
            base,
            env,
            child,
            pg,
        };
        server.wait_healthy(Duration::from_secs(60)).await;
        Some(server)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    async fn wait_healthy(&self, limit: Duration) {
        let started = Instant::now();
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http
                .get(format!("{}/api/v1/streaming/health", self.base))
                .send()
                .await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "server not healthy: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    fn signal(&self, sig: i32) {
        send(self.child.id(), sig);
    }

    /// Sends SIGUSR2 and waits for the upgrade with this serial to end; its state.
    async fn upgrade(&self, serial: u64) -> Value {
        self.signal(libc::SIGUSR2);
        self.upgrade_ended(serial).await
    }

    /// Waits for the upgrade with this serial to end; its state.
    async fn upgrade_ended(&self, serial: u64) -> Value {
        let started = Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(self.data().join("upgrade-state.json"))
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && v["serial"] == serial
                && v["state"] != "in_progress"
            {
                return v;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "upgrade {serial} did not end: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Puts `script` where the binary was (an upgrade runs what is on disk then).
    fn replace_binary_with_script(&self, script: &str) {
        let tmp = self.dir.join("bin/next");
        forking(|| std::fs::write(&tmp, script)).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, &self.bin).unwrap();
    }

    fn restore_binary(&self) {
        let tmp = self.dir.join("bin/next");
        forking(|| std::fs::copy(BIN, &tmp)).unwrap();
        std::fs::rename(&tmp, &self.bin).unwrap();
    }

    /// `sluice admin …` with the server's environment.
    fn admin(&self, args: &[&str], stdin: &str) -> std::process::Output {
        let mut c = forking(|| {
            command(&self.bin, &self.env)
                .arg("admin")
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
        })
        .unwrap();
        c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        c.wait_with_output().unwrap()
    }

    /// Waits until one serving process other than `old` runs.
    async fn wait_replaced(&self, old: u32) {
        let started = Instant::now();
        loop {
            let now = self.serving_pids();
            if now.len() == 1 && now[0] != old {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "not replaced: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Serving processes: the supervisor's children.
    fn serving_pids(&self) -> Vec<u32> {
        children_of(self.child.id())
    }

    async fn stop(mut self) {
        self.signal(libc::SIGTERM);
        let started = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "supervisor did not stop"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(
            status.success(),
            "SIGTERM ends the supervisor cleanly: {}",
            self.log()
        );
        assert!(self.serving_pids().is_empty());
        if let Some((url, schema)) = self.pg.take() {
            pg_exec(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// A user and a token with every scope.
    async fn token(&self, name: &str) -> String {
        let out = self.admin(
            &[
                "create-user",
                name,
                "--email",
                &format!("{name}@example.test"),
            ],
            "a-long-password\n",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let http = reqwest::Client::new();
        let app: Value = http
            .post(format!("{}/api/v1/apps", self.base))
            .form(&[
                ("client_name", "upgrade test"),
                ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
                ("scopes", "read write"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token: Value = http
            .post(format!("{}/oauth/token", self.base))
            .form(&[
                ("grant_type", "password"),
                ("client_id", app["client_id"].as_str().unwrap()),
                ("client_secret", app["client_secret"].as_str().unwrap()),
                ("username", &format!("{name}@example.test")),
                ("password", "a-long-password"),
                ("scope", "read write"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        token["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{token}"))
            .to_string()
    }
}

impl Drop for Server {
    /// A test that failed before [`Server::stop`] leaves no server behind (its serving
    /// processes drain and end with their supervisor).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Held while this test process starts a child or writes an executable: a child forked
/// while a file is open for writing holds it open until its exec, and running that
/// file meanwhile fails with ETXTBSY ("Text file busy").
static FORK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn forking<T>(f: impl FnOnce() -> T) -> T {
    let _held = FORK.lock().unwrap_or_else(|e| e.into_inner());
    f()
}

fn send(pid: u32, signal: i32) {
    // SAFETY: kill only sends a signal.
    let r = unsafe { libc::kill(pid as i32, signal) };
    assert_eq!(r, 0, "kill({pid}, {signal})");
}

/// The children of a process (of any of its threads).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut children: Vec<u32> = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| {
            c.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect();
    children.sort_unstable();
    children.dedup();
    children
}

fn command(bin: &Path, env: &[(String, String)]) -> Command {
    let mut c = Command::new(bin);
    for (k, _) in std::env::vars() {
        if k.starts_with("SLUICE_") {
            c.env_remove(k);
        }
    }
    c.env("RUST_LOG", "info,sqlx=warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

async fn pg_exec(url: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .expect(sql);
    let _ = conn.close().await;
}

/// Reads `public:local` over SSE, reconnecting with `Last-Event-ID` whenever the
/// stream ends; counts each status id it sees.
async fn follow_stream(
    base: String,
    token: String,
    stop: Arc<AtomicBool>,
) -> (HashMap<String, u32>, u32, u32) {
    let http = reqwest::Client::new();
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut last: Option<String> = None;
    let (mut reconnects, mut failed) = (0, 0);
    while !stop.load(Ordering::Relaxed) {
        let mut req = http
            .get(format!("{base}/api/v1/streaming/public/local"))
            .bearer_auth(&token);
        if let Some(id) = &last {
            req = req.header("Last-Event-ID", id);
        }
        let mut resp = match tokio::time::timeout(Duration::from_secs(20), req.send()).await {
            Ok(Ok(r)) => r,
            other => {
                eprintln!("stream: reconnect failed: {other:?}");
                failed += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let mut buf = String::new();
        loop {
            let chunk = tokio::select! {
                c = resp.chunk() => c,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    if stop.load(Ordering::Relaxed) { break; }
                    continue;
                }
            };
            let Ok(Some(chunk)) = chunk else { break };
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let message: String = buf.drain(..end + 2).collect();
                let mut event = None;
                for line in message.lines() {
                    if let Some(id) = line.strip_prefix("id: ") {
                        last = Some(id.to_string());
                    } else if let Some(e) = line.strip_prefix("event: ") {
                        event = Some(e.to_string());
                    } else if let Some(data) = line.strip_prefix("data: ")
                        && event.as_deref() == Some("update")
                        && let Ok(v) = serde_json::from_str::<Value>(data)
                        && let Some(id) = v["id"].as_str()
                    {
                        *seen.entry(id.to_string()).or_default() += 1;
                    }
                }
            }
        }
        reconnects += 1;
    }
    (seen, reconnects, failed)
}

/// Reads `public:local` over a WebSocket, reconnecting with `last_event_id` whenever
/// the server closes it (1012 on a restart); counts each status id it sees.
async fn follow_websocket(
    base: String,
    token: String,
    stop: Arc<AtomicBool>,
) -> (HashMap<String, u32>, u32, u32) {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut last: Option<i64> = None;
    let (mut reconnects, mut failed) = (0, 0);
    while !stop.load(Ordering::Relaxed) {
        let mut url = format!(
            "{}/api/v1/streaming?stream=public:local&access_token={token}",
            base.replace("http://", "ws://")
        );
        if let Some(id) = last {
            url.push_str(&format!("&last_event_id={id}"));
        }
        let mut ws = match tokio::time::timeout(
            Duration::from_secs(20),
            tokio_tungstenite::connect_async(url),
        )
        .await
        {
            Ok(Ok((ws, _))) => ws,
            other => {
                eprintln!("websocket: reconnect failed: {other:?}");
                failed += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        loop {
            let next = tokio::select! {
                m = ws.next() => m,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    if stop.load(Ordering::Relaxed) { break; }
                    continue;
                }
            };
            let text = match next {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map(|f| u16::from(f.code)).unwrap_or(0);
                    if code != 1012 {
                        eprintln!("websocket: closed with {code}");
                        failed += 1;
                    }
                    break;
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    eprintln!("websocket: {e}");
                    failed += 1;
                    break;
                }
                None => break,
            };
            let Ok(m) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if let Some(id) = m["id"].as_i64() {
                last = Some(id);
            }
            if m["event"] == "update"
                && let Some(payload) = m["payload"].as_str()
                && let Ok(v) = serde_json::from_str::<Value>(payload)
                && let Some(id) = v["id"].as_str()
            {
                *seen.entry(id.to_string()).or_default() += 1;
            }
        }
        reconnects += 1;
    }
    (seen, reconnects, failed)
}

/// Clients making REST calls in a loop: posts (every second request) and reads of the
/// public timeline, each with a deadline, until `stop`.
struct Load {
    requests: Arc<AtomicU64>,
    failures: Arc<AtomicU64>,
    posted: Arc<std::sync::Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// `keep_alive`: each client reuses its connection (else one connection a request).
    fn start(
        base: &str,
        token: &str,
        clients: usize,
        keep_alive: bool,
        stop: Arc<AtomicBool>,
    ) -> Load {
        let load = Load {
            requests: Arc::new(AtomicU64::new(0)),
            failures: Arc::new(AtomicU64::new(0)),
            posted: Arc::new(std::sync::Mutex::new(Vec::new())),
            tasks: Vec::new(),
        };
        let tasks = (0..clients)
            .map(|client| {
                let (base, token, stop) = (base.to_string(), token.to_string(), stop.clone());
                let (requests, failures, posted) = (
                    load.requests.clone(),
                    load.failures.clone(),
                    load.posted.clone(),
                );
                tokio::spawn(async move {
                    // A bound on every request: a request the server never answers fails.
                    let http = reqwest::Client::builder()
                        .timeout(Duration::from_secs(20))
                        .pool_max_idle_per_host(if keep_alive { 8 } else { 0 })
                        .build()
                        .unwrap();
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let r = if n % 2 == 0 {
                            http.post(format!("{base}/api/v1/statuses"))
                                .bearer_auth(&token)
                                .form(&[("status", format!("post {client}-{n}"))])
                                .send()
                                .await
                        } else {
                            http.get(format!("{base}/api/v1/timelines/public?local=true&limit=5"))
                                .send()
                                .await
                        };
                        requests.fetch_add(1, Ordering::Relaxed);
                        let ok = match r {
                            Ok(r) if r.status().is_success() => {
                                if n % 2 == 0 {
                                    // Acknowledged: the post's id came back.
                                    let v: Value = r.json().await.unwrap_or_default();
                                    v["id"]
                                        .as_str()
                                        .map(|id| posted.lock().unwrap().push(id.to_string()))
                                        .is_some()
                                } else {
                                    true
                                }
                            }
                            other => {
                                eprintln!("request failed: {other:?}");
                                false
                            }
                        };
                        if !ok {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                })
            })
            .collect();
        Load { tasks, ..load }
    }

    /// Waits (at most 60 s) until at least `n` posts were acknowledged, so an
    /// assertion about the load does not depend on how fast this machine is.
    async fn wait_posts(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while self.posted.lock().unwrap().len() < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the clients (after `stop`): requests made, failed, acknowledged posts.
    async fn finish(self) -> (u64, u64, Vec<String>) {
        for t in self.tasks {
            t.await.unwrap();
        }
        let posted = self.posted.lock().unwrap().clone();
        (
            self.requests.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
            posted,
        )
    }
}

/// Three upgrades in a row under REST load with an SSE and a WebSocket stream open:
/// no failed request or reconnection, every post seen on each stream exactly once.
async fn upgrades_under_load(db: Db) {
    let Some(server) = Server::start(&format!("load{}", db as u8), db).await else {
        return;
    };
    let token = server.token("alice").await;
    let stop = Arc::new(AtomicBool::new(false));
    let stream = tokio::spawn(follow_stream(
        server.base.clone(),
        token.clone(),
        stop.clone(),
    ));
    let websocket = tokio::spawn(follow_websocket(
        server.base.clone(),
        token.clone(),
        stop.clone(),
    ));
    let load = Load::start(&server.base, &token, 4, true, stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    for serial in 1..=3 {
        let before = server.serving_pids();
        let state = server.upgrade(serial).await;
        assert_eq!(state["state"], "done", "{state} {}", server.log());
        tokio::time::sleep(Duration::from_millis(700)).await;
        let after = server.serving_pids();
        assert!(
            after.iter().all(|p| !before.contains(p)) || after.len() > before.len(),
            "new serving processes: {before:?} -> {after:?}"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    load.wait_posts(21).await;
    stop.store(true, Ordering::Relaxed);
    let (requests, failures, posted) = load.finish().await;
    // The last posts reach the stream before it is stopped.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (seen, reconnects, failed_reconnects) = stream.await.unwrap();
    assert_eq!(failures, 0, "failed requests: {}", server.log());
    assert!(posted.len() > 20, "load ran: {} posts", posted.len());
    assert!(
        reconnects >= 3,
        "the stream was ended by each upgrade ({reconnects})"
    );
    assert_eq!(failed_reconnects, 0, "stream reconnections failed");
    let (ws_seen, ws_reconnects, ws_failed) = websocket.await.unwrap();
    assert!(
        ws_reconnects >= 3,
        "the WebSocket was closed by each upgrade ({ws_reconnects})"
    );
    assert_eq!(
        ws_failed, 0,
        "WebSocket reconnections failed or closed oddly"
    );
    for (name, seen) in [("SSE", &seen), ("WebSocket", &ws_seen)] {
        let missing: Vec<&String> = posted.iter().filter(|id| !seen.contains_key(*id)).collect();
        assert!(
            missing.is_empty(),
            "missing on the {name} stream: {missing:?}"
        );
        let twice: Vec<(&String, &u32)> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "seen more than once on the {name} stream: {twice:?}"
        );
    }
    eprintln!(
        "{requests} requests, {} posts, {reconnects} stream connections",
        posted.len(),
    );
    server.stop().await;
}

/// An SSE stream read as a client reads it (`id:` lines, `update` events).
struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    /// Opens `public:local`; the answer must be 200 with `:)` first.
    async fn open(http: &reqwest::Client, base: &str, token: &str, last: Option<i64>) -> SseReader {
        let mut req = http
            .get(format!("{base}/api/v1/streaming/public/local"))
            .bearer_auth(token);
        if let Some(id) = last {
            req = req.header("Last-Event-ID", id.to_string());
        }
        let response = tokio::time::timeout(Duration::from_secs(30), req.send())
            .await
            .expect("an answer within 30 s")
            .expect("the stream is opened");
        assert_eq!(response.status(), 200, "the stream is opened");
        let mut sse = SseReader {
            response,
            buffer: String::new(),
        };
        match sse.next_message().await {
            Some(m) => assert_eq!(m, ":)", "the stream starts with `:)`"),
            None => panic!("the stream ended before `:)`"),
        }
        sse
    }

    /// The next message (a comment, or an event with its `id:`), None at the end.
    async fn next_message(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let m: String = self.buffer.drain(..end + 2).collect();
                return Some(m.trim_end().to_string());
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), self.response.chunk())
                .await
                .expect("a message or the end within 30 s");
            match chunk {
                Ok(Some(c)) => self.buffer.push_str(&String::from_utf8_lossy(&c)),
                _ => return None,
            }
        }
    }

    /// Reads until the stream ends; the last event id seen.
    async fn until_end(&mut self, mut last: Option<i64>) -> Option<i64> {
        while let Some(m) = self.next_message().await {
            if let Some(id) = m.lines().find_map(|l| l.strip_prefix("id: ")) {
                last = id.parse().ok();
            }
        }
        last
    }

    /// Reads until the `update` of status `id`; its event id.
    async fn until_status(&mut self, id: &str) -> Option<i64> {
        let needle = format!("\"id\":\"{id}\"");
        loop {
            let m = self
                .next_message()
                .await
                .unwrap_or_else(|| panic!("the stream ended before status {id}"));
            if m.contains("event: update") && m.contains(&needle) {
                return m
                    .lines()
                    .find_map(|l| l.strip_prefix("id: "))
                    .and_then(|id| id.parse().ok());
            }
        }
    }
}

/// Opens the WebSocket as a connection pool does: on the kept-alive connection while
/// it is open (the server has not closed it), else on a new one.
async fn websocket_reusing(
    base: &str,
    query: &str,
    kept: tokio::net::TcpStream,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    tokio_tungstenite::tungstenite::Error,
> {
    let url = format!(
        "{}/api/v1/streaming?{query}",
        base.replace("http://", "ws://")
    );
    let mut probe = [0u8; 1];
    let open =
        matches!(kept.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    let io = if open {
        kept
    } else {
        tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
            .await
            .unwrap()
    };
    tokio::time::timeout(
        Duration::from_secs(30),
        tokio_tungstenite::client_async(url, io),
    )
    .await
    .expect("a handshake answer within 30 s")
    .map(|(ws, _)| ws)
}

/// Reads a WebSocket until the server closes it; the close code and the last event id.
async fn ws_until_close(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    mut last: Option<i64>,
) -> (u16, Option<i64>) {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let m = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("a message or the close within 30 s");
        match m {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                last = v["id"].as_i64().or(last);
            }
            Some(Ok(Message::Close(frame))) => {
                return (frame.map(|f| u16::from(f.code)).unwrap_or(0), last);
            }
            Some(Ok(_)) => {}
            other => panic!("the WebSocket ended without a close: {other:?}"),
        }
    }
}

/// Reads a WebSocket until the `update` of status `id`; its event id.
async fn ws_until_status(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    id: &str,
) -> Option<i64> {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let m = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .unwrap_or_else(|_| panic!("status {id} within 30 s"));
        match m {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["event"] == "update"
                    && serde_json::from_str::<Value>(v["payload"].as_str().unwrap_or("{}"))
                        .unwrap_or_default()["id"]
                        == id
                {
                    return v["id"].as_i64();
                }
            }
            Some(Ok(_)) => {}
            other => panic!("the WebSocket ended before status {id}: {other:?}"),
        }
    }
}

/// Right after an upgrade ends the streams (SSE ends, WebSocket 1012), clients
/// reconnect at once, without retrying, as the soak's did: the SSE client through its
/// pool of kept-alive connections, the WebSocket on a kept-alive connection while one
/// is open. Each reconnection must reach the new process and be live (the next post
/// arrives on it): the draining process stopped accepting and closed its kept-alive
/// connections before it ended its streams.
async fn reconnect_at_once_after_an_upgrade(db: Db) {
    let Some(server) = Server::start(&format!("reconnect{}", db as u8), db).await else {
        return;
    };
    let token = server.token("alice").await;
    let base = server.base.clone();
    let host = base.trim_start_matches("http://").to_string();
    let http = reqwest::Client::new();
    let poster = reqwest::Client::new();
    let query = format!("stream=public:local&access_token={token}");
    let mut sse = SseReader::open(&http, &base, &token, None).await;
    let mut ws = websocket_reusing(&base, &query, kept_alive(&host).await)
        .await
        .expect("the WebSocket is opened");
    let (mut sse_last, mut ws_last) = (None, None);
    for serial in 1..=3 {
        // The pool keeps a connection beside the stream, idle.
        let r = http
            .get(format!("{base}/api/v1/instance"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        let kept = kept_alive(&host).await;
        server.signal(libc::SIGUSR2);
        sse_last = sse.until_end(sse_last).await;
        sse = SseReader::open(&http, &base, &token, sse_last).await;
        let (code, last) = ws_until_close(&mut ws, ws_last).await;
        assert_eq!(
            code, 1012,
            "upgrade {serial}: the WebSocket is closed with 1012"
        );
        ws_last = last;
        let mut q = query.clone();
        if let Some(id) = ws_last {
            q.push_str(&format!("&last_event_id={id}"));
        }
        ws = websocket_reusing(&base, &q, kept)
            .await
            .unwrap_or_else(|e| panic!("upgrade {serial}: the WebSocket is opened again: {e}"));
        let state = server.upgrade_ended(serial).await;
        assert_eq!(state["state"], "done", "{state} {}", server.log());
        let post: Value = poster
            .post(format!("{base}/api/v1/statuses"))
            .bearer_auth(&token)
            .form(&[("status", format!("after upgrade {serial}"))])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = post["id"].as_str().unwrap();
        sse_last = sse.until_status(id).await;
        ws_last = ws_until_status(&mut ws, id).await;
    }
    drop((sse, ws));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reconnect_at_once_after_an_upgrade() {
    reconnect_at_once_after_an_upgrade(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reconnect_at_once_after_an_upgrade() {
    reconnect_at_once_after_an_upgrade(Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_upgrades_under_load() {
    upgrades_under_load(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_upgrades_under_load() {
    upgrades_under_load(Db::Postgres).await;
}

/// A new binary that dies at start aborts the upgrade (the old process serves on),
/// further upgrades are refused until `admin upgrade --reset`; an incompatible stamp
/// is refused with nothing changed; a killed serving process is replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_refused_upgrades_and_a_killed_process() {
    let server = Server::start("failures", Db::Sqlite).await.unwrap();
    // A new client each time: no connection kept from a process that is gone.
    let health = || {
        let (http, base) = (reqwest::Client::new(), server.base.clone());
        async move {
            http.get(format!("{base}/api/v1/instance"))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    let serving = server.serving_pids();
    assert_eq!(serving.len(), 1, "one serving process");

    // Incompatible: refused, nothing started, no failure recorded.
    server.replace_binary_with_script(
        "#!/bin/sh\necho '{\"version\":\"9.9.9\",\"protocol\":99,\"schema\":5,\"schema_min\":5}'\n",
    );
    let state = server.upgrade(1).await;
    assert_eq!(state["state"], "refused", "{state}");
    assert!(
        state["message"].as_str().unwrap().contains("protocol"),
        "{state}"
    );
    assert_eq!(server.serving_pids(), serving);
    assert!(!server.data().join("upgrade-failed").exists());

    // Dies at start (its stamp is the real one): aborted, the old process serves.
    server.replace_binary_with_script(&format!(
        "#!/bin/sh\nif [ \"$1\" = stamp ]; then exec {BIN} stamp; fi\necho 'boom' >&2\nexit 3\n"
    ));
    let state = server.upgrade(2).await;
    assert_eq!(state["state"], "failed", "{state}");
    assert!(
        state["message"]
            .as_str()
            .unwrap()
            .contains("exited before it was ready"),
        "{state}"
    );
    assert_eq!(server.serving_pids(), serving);
    assert_eq!(health().await, 200);

    // Refused until reset, even with a good binary back in place.
    server.restore_binary();
    let state = server.upgrade(3).await;
    assert_eq!(state["state"], "refused", "{state}");
    assert!(
        state["message"].as_str().unwrap().contains("--reset"),
        "{state}"
    );
    let out = server.admin(&["upgrade", "--reset"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = server.admin(&["upgrade"], "");
    assert!(
        out.status.success(),
        "{} {}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("upgraded"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let serving = server.serving_pids();
    assert_eq!(serving.len(), 1, "{serving:?}");

    // SIGKILL of the serving process: the supervisor starts another; the listening
    // socket stays open, so requests made meanwhile wait and are served.
    send(serving[0], libc::SIGKILL);
    let during = tokio::spawn(health());
    server.wait_replaced(serving[0]).await;
    assert_eq!(
        during.await.unwrap(),
        200,
        "a request made while no process served"
    );
    assert!(
        server.log().contains("a serving process died"),
        "{}",
        server.log()
    );
    server.stop().await;
}

/// SIGKILL of the serving process under load: only the requests it had in flight fail
/// (one a client at most), and every post it acknowledged is stored.
async fn killed_under_load(db: Db) {
    let Some(server) = Server::start(&format!("kill{}", db as u8), db).await else {
        return;
    };
    let token = server.token("alice").await;
    let stop = Arc::new(AtomicBool::new(false));
    const CLIENTS: usize = 4;
    // One connection a request: a request is in flight at the kill or made after it.
    let load = Load::start(&server.base, &token, CLIENTS, false, stop.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    load.wait_posts(11).await;
    let serving = server.serving_pids();
    assert_eq!(serving.len(), 1, "{serving:?}");
    send(serving[0], libc::SIGKILL);
    server.wait_replaced(serving[0]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    load.wait_posts(21).await;
    stop.store(true, Ordering::Relaxed);
    let (requests, failures, posted) = load.finish().await;
    eprintln!(
        "{requests} requests, {failures} failed, {} posts acknowledged",
        posted.len()
    );
    assert!(
        failures <= CLIENTS as u64,
        "{failures} requests failed; at most {CLIENTS} were in flight"
    );
    assert!(posted.len() > 20, "load ran: {} posts", posted.len());
    let http = reqwest::Client::new();
    for id in &posted {
        let status = http
            .get(format!("{}/api/v1/statuses/{id}", server.base))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200, "acknowledged post {id} is stored");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_killed_under_load() {
    killed_under_load(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_under_load() {
    killed_under_load(Db::Postgres).await;
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// A serving process that ignores SIGTERM (a debug-build switch) is killed at the drain
/// deadline, after an upgrade and when the supervisor stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_ignores_the_drain_is_killed_at_the_deadline() {
    let server = Server::start_with(
        "stuck",
        Db::Sqlite,
        &[
            ("SLUICE_TEST_IGNORE_SIGTERM", "1"),
            ("SLUICE_DRAIN_SECS", "2"),
        ],
    )
    .await
    .unwrap();
    let old = server.serving_pids();
    assert_eq!(old.len(), 1);
    let state = server.upgrade(1).await;
    assert_eq!(state["state"], "done", "{state}");
    assert!(alive(old[0]), "it ignores SIGTERM, for now");
    let started = Instant::now();
    while alive(old[0]) {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "not killed: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = server.log();
    assert!(log.contains("SIGTERM ignored"), "{log}");
    assert!(
        log.contains("still draining at the deadline: killed"),
        "{log}"
    );
    let status = reqwest::get(format!("{}/api/v1/instance", server.base))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200, "the new process serves");
    // Stopping: it ignores the drain again, is killed, and the supervisor ends cleanly.
    server.stop().await;
}

/// With two workers, a new process that dies after it was ready while the second one
/// starts fails the upgrade: the new ones are stopped, the old ones serve on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_fails_when_a_new_process_dies_after_it_was_ready() {
    let server = Server::start_with("workers", Db::Sqlite, &[("SLUICE_WORKERS", "2")])
        .await
        .unwrap();
    let started = Instant::now();
    while server.serving_pids().len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = server.serving_pids();
    // The old processes hold id slots 1 and 2; the new ones get 3 and 4. Slot 3 is
    // ready, then killed 2 s later; slot 4 takes 5 s to start.
    server.replace_binary_with_script(&format!(
        "#!/bin/sh\n\
         if [ \"$1\" = stamp ]; then exec {BIN} stamp; fi\n\
         if [ \"$SLUICE_SUPERVISOR_ID_SLOT\" = 3 ]; then\n\
         {BIN} \"$@\" & pid=$!; sleep 2; kill -9 $pid; wait $pid; exit 9\n\
         fi\n\
         sleep 5; exec {BIN} \"$@\"\n"
    ));
    let state = server.upgrade(1).await;
    assert_eq!(state["state"], "failed", "{state}");
    assert!(
        state["message"]
            .as_str()
            .unwrap()
            .contains("died after it was ready"),
        "{state}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut after = server.serving_pids();
    after.sort();
    let mut before = before;
    before.sort();
    assert_eq!(after, before, "the old processes serve on");
    let status = reqwest::get(format!("{}/api/v1/instance", server.base))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    server.restore_binary();
    server.stop().await;
}

/// SIGHUP applies a changed log filter, body limit and rate limits to the running
/// processes; settings that need a restart are named; a configuration that does not
/// load changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_log_filter_and_limits() {
    let file = std::env::temp_dir().join(format!("sluice-hup-{}.toml", std::process::id()));
    std::fs::write(&file, "rate_limit_writes = 0\n").unwrap();
    let server = Server::start_with(
        "hup",
        Db::Sqlite,
        &[
            ("SLUICE_CONFIG", &file.display().to_string()),
            ("SLUICE_RATE_LIMIT_WRITES", ""),
        ],
    )
    .await
    .unwrap();
    let token = server.token("alice").await;
    let http = reqwest::Client::new();
    let post = |text: String| {
        let (http, base, token) = (http.clone(), server.base.clone(), token.clone());
        async move {
            http.post(format!("{base}/api/v1/statuses"))
                .bearer_auth(&token)
                .form(&[("status", text)])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let long = "x".repeat(4_500);
    for _ in 0..3 {
        assert_eq!(post(long.clone()).await, 200);
    }
    let reloads = |log: &str| log.matches("SIGHUP: settings reloaded").count();
    std::fs::write(
        &file,
        "rate_limit_writes = 2\nmax_body_bytes = 4096\nlog = \"debug\"\ninstance_title = \"Renamed\"\n",
    )
    .unwrap();
    server.signal(libc::SIGHUP);
    // The supervisor's line and the serving process's.
    let started = Instant::now();
    while reloads(&server.log()) < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(post(long.clone()).await, 413, "the new body limit");
    assert_eq!(post("one".into()).await, 200);
    assert_eq!(post("two".into()).await, 200);
    assert_eq!(post("three".into()).await, 429, "the new write limit");
    let log = server.log();
    assert!(log.contains("rate_limit_writes=2"), "{log}");
    // The serving process's line names every setting it reloaded, with its value.
    let line = log
        .lines()
        .find(|l| l.contains("SIGHUP: settings reloaded") && l.contains("rate_limit_writes"))
        .unwrap_or_else(|| panic!("no reload line: {log}"));
    for key in sluice::RELOADABLE {
        assert!(line.contains(&format!("{key}=")), "{key} missing: {line}");
    }
    assert!(
        log.contains("instance_title"),
        "named as needing a restart: {log}"
    );
    assert!(log.contains(" DEBUG "), "the debug filter: {log}");

    // Invalid: nothing changes.
    std::fs::write(&file, "rate_limit_writes = 0\nmax_body_bytes = 10\n").unwrap();
    server.signal(libc::SIGHUP);
    let started = Instant::now();
    while server
        .log()
        .matches("the settings were not reloaded")
        .count()
        < 1
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        post("four".into()).await,
        429,
        "the limits stay as they were"
    );
    server.stop().await;
    let _ = std::fs::remove_file(&file);
}

/// Polls `ready` every 50 ms until it holds; fails after `limit`.
async fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for the upgrade with this serial to end in `data`; its state.
async fn upgrade_state(data: &Path, serial: u64) -> Value {
    let mut state = Value::Null;
    wait_until("the upgrade's outcome", Duration::from_secs(60), || {
        state = std::fs::read_to_string(data.join("upgrade-state.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .unwrap_or_default();
        state["serial"] == serial && state["state"] != "in_progress"
    })
    .await;
    state
}

fn stop_supervisor(mut child: Child) {
    send(child.id(), libc::SIGTERM);
    let status = child.wait().unwrap();
    assert!(status.success(), "the supervisor ends cleanly: {status}");
}

/// A unix socket listener: served, kept across an upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_on_a_unix_socket_across_an_upgrade() {
    use std::io::Read as _;
    let dir = std::env::temp_dir().join(format!("sluice-upgrade-unix-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("sluice.sock");
    let env = [
        ("SLUICE_DATA_DIR", dir.join("data").display().to_string()),
        ("SLUICE_LISTEN", format!("unix:{}", socket.display())),
        ("SLUICE_PUBLIC_URL", "http://localhost".into()),
    ]
    .map(|(k, v)| (k.to_string(), v));
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let child = forking(|| {
        command(Path::new(BIN), &env)
            .arg("serve")
            .stderr(log)
            .spawn()
    })
    .unwrap();
    let get = || {
        let mut s = std::os::unix::net::UnixStream::connect(&socket).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(
            b"GET /api/v1/instance HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .ok()?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).ok()?;
        Some(answer)
    };
    wait_until("the unix socket to serve", Duration::from_secs(60), || {
        get().is_some_and(|a| a.starts_with("HTTP/1.1 200"))
    })
    .await;
    send(child.id(), libc::SIGUSR2);
    let state = upgrade_state(&dir.join("data"), 1).await;
    assert_eq!(state["state"], "done", "{state}");
    let answer = get().expect("served after the upgrade");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"uri\":\"localhost\""), "{answer}");
    stop_supervisor(child);
    let _ = std::fs::remove_dir_all(&dir);
}

/// systemd: the supervisor serves on the socket passed as descriptor 3 (`LISTEN_FDS`,
/// `LISTEN_PID`) instead of binding `SLUICE_LISTEN`, and reports `READY=1` with
/// `MAINPID`, `RELOADING=1` on `SIGHUP` and `STOPPING=1` on stop to `NOTIFY_SOCKET`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_socket_activation_and_notifications() {
    use std::os::fd::AsRawFd as _;
    use std::os::unix::process::CommandExt as _;
    let dir = std::env::temp_dir().join(format!("sluice-upgrade-systemd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let notify_path = dir.join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let passed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = passed.local_addr().unwrap().port();
    // Bound by nobody: the supervisor must not use it.
    let env = [
        ("SLUICE_DATA_DIR", dir.join("data").display().to_string()),
        ("SLUICE_LISTEN", "127.0.0.1:9".into()),
        ("SLUICE_PUBLIC_URL", format!("http://127.0.0.1:{port}")),
        ("NOTIFY_SOCKET", notify_path.display().to_string()),
    ]
    .map(|(k, v)| (k.to_string(), v));
    let fd = passed.as_raw_fd();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let mut cmd = command(Path::new("/bin/sh"), &env);
    // LISTEN_PID must be the supervisor's own: the shell's, which exec keeps.
    cmd.args(["-c", "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" serve", BIN])
        .stderr(log);
    // SAFETY: only dup2 between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = forking(|| cmd.spawn()).unwrap();
    drop(passed);
    let mut messages = Vec::new();
    let mut next = || {
        let mut buf = [0u8; 512];
        let n = notify.recv(&mut buf).expect("a notification");
        let m = String::from_utf8_lossy(&buf[..n]).to_string();
        messages.push(m.clone());
        m
    };
    let ready = next();
    assert_eq!(
        ready,
        format!("READY=1\nMAINPID={}", child.id()),
        "READY with the supervisor's pid"
    );
    let status = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{port}/api/v1/instance"))
        .send()
        .await
        .expect("served on the passed socket")
        .status();
    assert_eq!(status, 200);
    send(child.id(), libc::SIGHUP);
    assert_eq!(next(), "RELOADING=1");
    assert_eq!(next(), "READY=1");
    send(child.id(), libc::SIGTERM);
    assert_eq!(next(), "STOPPING=1", "{messages:?}");
    let mut child = child;
    assert!(child.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(&dir);
}
