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
        let dir =
            std::env::temp_dir().join(format!("sluice-upgrade-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let bin = dir.join("bin/sluice");
        std::fs::copy(BIN, &bin).unwrap();
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
        let child = command(&bin, &env)
            .arg("serve")
            .stderr(log)
            .spawn()
            .unwrap();
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

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    /// Sends SIGUSR2 and waits for the upgrade with this serial to end; its state.
    async fn upgrade(&self, serial: u64) -> Value {
        self.signal("-USR2");
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
        std::fs::write(&tmp, script).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, &self.bin).unwrap();
    }

    fn restore_binary(&self) {
        let tmp = self.dir.join("bin/next");
        std::fs::copy(BIN, &tmp).unwrap();
        std::fs::rename(&tmp, &self.bin).unwrap();
    }

    /// `sluice admin …` with the server's environment.
    fn admin(&self, args: &[&str], stdin: &str) -> std::process::Output {
        let mut c = command(&self.bin, &self.env)
            .arg("admin")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        c.wait_with_output().unwrap()
    }

    /// Serving processes: the supervisor's children.
    fn serving_pids(&self) -> Vec<u32> {
        let out = Command::new("pgrep")
            .args(["-P", &self.child.id().to_string()])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    async fn stop(mut self) {
        self.signal("-TERM");
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
    let failures = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let posted = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut load = Vec::new();
    for worker in 0..2 {
        let (base, token, stop, failures, requests, posted) = (
            server.base.clone(),
            token.clone(),
            stop.clone(),
            failures.clone(),
            requests.clone(),
            posted.clone(),
        );
        load.push(tokio::spawn(async move {
            // A bound on every request: a request the server never answers fails.
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let r = if n % 2 == 0 {
                    http.post(format!("{base}/api/v1/statuses"))
                        .bearer_auth(&token)
                        .form(&[("status", format!("post {worker}-{n}"))])
                        .send()
                        .await
                } else {
                    http.get(format!("{base}/api/v1/timelines/public?local=true&limit=5"))
                        .send()
                        .await
                };
                requests.fetch_add(1, Ordering::Relaxed);
                match r {
                    Ok(r) if r.status().is_success() => {
                        if n % 2 == 0 {
                            let v: Value = r.json().await.unwrap_or_default();
                            if let Some(id) = v["id"].as_str() {
                                posted.lock().unwrap().push(id.to_string());
                            } else {
                                failures.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    other => {
                        eprintln!("request failed: {other:?}");
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
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
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    // The last posts reach the stream before it is stopped.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (seen, reconnects, failed_reconnects) = stream.await.unwrap();
    let posted = posted.lock().unwrap().clone();
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "failed requests: {}",
        server.log()
    );
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
        "{} requests, {} posts, {} stream connections",
        requests.load(Ordering::Relaxed),
        posted.len(),
        reconnects
    );
    server.stop().await;
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
    Command::new("kill")
        .args(["-KILL", &serving[0].to_string()])
        .status()
        .unwrap();
    let during = tokio::spawn(health());
    let started = Instant::now();
    loop {
        let now = server.serving_pids();
        if now.len() == 1 && now[0] != serving[0] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "not replaced: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
