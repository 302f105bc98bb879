//! Test harness: starts the real server in-process on an ephemeral loopback port, on
//! SQLite (a fresh temp dir) or PostgreSQL (a fresh schema in the database named by
//! `SLUICE_TEST_DATABASE_URL`), and talks HTTP to it with a real client.

use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;
use sluice::{Config, Listener, Running};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per scenario and database: `sqlite::NAME` and
/// `postgres::NAME`. The PostgreSQL variant returns early (printing why) when
/// `SLUICE_TEST_DATABASE_URL` is not set; CI always sets it.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Db::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Db::Postgres).await
                }
            )*
        }
    };
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

pub struct TestServer {
    pub url: String,
    pub http: reqwest::Client,
    pub running: Option<Running>,
    pub config: Config,
    dir: std::path::PathBuf,
    pg: Option<(String, String)>,
}

/// A signed-in user of the test server.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub token: String,
}

/// A response: status, headers and JSON body (`Value::Null` when not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn link(&self) -> String {
        self.headers
            .get("link")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
    #[track_caller]
    pub fn ok(self) -> Value {
        assert!(
            self.status.is_success(),
            "expected success, got {}: {}",
            self.status,
            self.text
        );
        self.body
    }
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status, body: {}",
            self.text
        );
        self.body
    }
}

impl TestServer {
    /// Starts a server on `db` with test defaults (registrations open, no rate limits),
    /// adjusted by `tweak`. `None` when PostgreSQL is asked for but not configured.
    pub async fn start(db: Db, tweak: impl FnOnce(&mut Config)) -> Option<TestServer> {
        Self::start_with(db, tweak, axum::Router::new()).await
    }

    pub async fn start_with(
        db: Db,
        tweak: impl FnOnce(&mut Config),
        extra: axum::Router<sluice_api::AppState>,
    ) -> Option<TestServer> {
        let _ = tracing_subscriber::fmt()
            // SLUICE_TEST_LOG: a filter for the servers' logs (default: warnings).
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                std::env::var("SLUICE_TEST_LOG").unwrap_or_else(|_| "warn,sqlx=warn".into()),
            ))
            .with_test_writer()
            .try_init();
        let dir = std::env::temp_dir().join(unique("sluice-test"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.clone(),
            registrations: sluice_engine::Registrations::Open,
            rate_limit_sign_in: 0,
            rate_limit_registrations: 0,
            rate_limit_writes: 0,
            rate_limit_apps: 0,
            // Servers stop at once between tests (tests/upgrade.rs covers the grace).
            drain_grace_ms: 0,
            ..Config::default()
        };
        let mut pg = None;
        if db == Db::Postgres {
            let Ok(base) = std::env::var("SLUICE_TEST_DATABASE_URL") else {
                eprintln!("skipped: SLUICE_TEST_DATABASE_URL is not set");
                return None;
            };
            let schema = unique("t").to_lowercase();
            pg_exec(&base, &format!("CREATE SCHEMA {schema}")).await;
            let sep = if base.contains('?') { '&' } else { '?' };
            config.database_url = Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"));
            pg = Some((base, schema));
        }
        tweak(&mut config);
        let listener = Listener::bind(&config.listen).await.unwrap();
        let running = sluice::start_with(&config, listener, extra)
            .await
            .expect("server starts");
        Some(TestServer {
            url: running.url.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            running: Some(running),
            config,
            dir,
            pg,
        })
    }

    /// The address the server listens on (its public URL may differ, behind a proxy).
    pub fn running_addr(&self) -> std::net::SocketAddr {
        self.running.as_ref().unwrap().addr.unwrap()
    }

    pub fn engine(&self) -> &std::sync::Arc<sluice_engine::Engine> {
        &self.running.as_ref().unwrap().engine
    }

    /// The running server's database, for tests that write or count rows directly.
    pub fn store(&self) -> &sluice_store::Store {
        self.engine().store_for_tests()
    }

    /// Deliveries still queued.
    pub async fn pending_deliveries(&self) -> i64 {
        self.store().pending_deliveries().await.unwrap()
    }

    /// Inbox activities still queued.
    pub async fn pending_inbox(&self) -> i64 {
        self.store().pending_inbox().await.unwrap()
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Body>,
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req = match body {
            None => req,
            Some(Body::Form(pairs)) => req.form(&pairs),
            Some(Body::Json(v)) => req.json(&v),
            Some(Body::Raw(ctype, bytes)) => req.header("content-type", ctype).body(bytes),
        };
        let r = req.send().await.expect("request sent");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, form: &[(&str, &str)]) -> Resp {
        let pairs = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.request(Method::POST, path, token, Some(Body::Form(pairs)))
            .await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, v: Value) -> Resp {
        self.request(Method::POST, path, token, Some(Body::Json(v)))
            .await
    }

    /// Registers an app with the given scopes and returns (client_id, client_secret).
    pub async fn app(&self, scopes: &str, redirect: &str) -> (String, String) {
        let app = self
            .post(
                "/api/v1/apps",
                None,
                &[
                    ("client_name", "test app"),
                    ("redirect_uris", redirect),
                    ("scopes", scopes),
                ],
            )
            .await
            .ok();
        (
            app["client_id"].as_str().unwrap().to_string(),
            app["client_secret"].as_str().unwrap().to_string(),
        )
    }

    /// An app and a client_credentials token for it: (client_id, client_secret, token).
    pub async fn app_token(&self, scopes: &str) -> (String, String, String) {
        let (id, secret) = self.app("read write", "urn:ietf:wg:oauth:2.0:oob").await;
        let t = self
            .post(
                "/oauth/token",
                None,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &id),
                    ("client_secret", &secret),
                    ("scope", scopes),
                ],
            )
            .await
            .ok();
        let token = t["access_token"].as_str().unwrap().to_string();
        (id, secret, token)
    }

    /// `PATCH /api/v1/accounts/update_credentials` with a form.
    pub async fn update_credentials(&self, token: &str, form: &[(&str, &str)]) -> Resp {
        let pairs = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.request(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(token),
            Some(Body::Form(pairs)),
        )
        .await
    }

    /// Creates a local user with the admin path and signs in with the password grant.
    pub async fn user(&self, name: &str) -> User {
        self.user_with_scopes(name, "read write follow push").await
    }

    pub async fn user_with_scopes(&self, name: &str, scopes: &str) -> User {
        let engine = self.engine();
        let (account, _) = engine
            .register(
                sluice_engine::accounts::Registration {
                    username: name.into(),
                    email: format!("{name}@example.test"),
                    password: "password123".into(),
                    agreement: true,
                    locale: "en".into(),
                    reason: String::new(),
                    admin: false,
                    ip: None,
                },
                true,
            )
            .await
            .expect("user created");
        let token = self.password_token(name, scopes).await;
        User {
            id: account.id.to_string(),
            token,
        }
    }

    /// Creates a local user with `role` (`moderator`, `admin`) and a token with the
    /// user scopes and `admin:read admin:write`.
    pub async fn staff(&self, name: &str, role: &str) -> User {
        let u = self
            .user_with_scopes(name, "read write follow push admin:read admin:write")
            .await;
        let role = sluice_engine::moderation::Role::parse(role).expect("a role name");
        self.engine()
            .set_role(None, u.id.parse().unwrap(), role)
            .await
            .expect("role set");
        u
    }

    pub async fn password_token(&self, name: &str, scopes: &str) -> String {
        let (id, secret) = self.app(scopes, "urn:ietf:wg:oauth:2.0:oob").await;
        let t = self
            .post(
                "/oauth/token",
                None,
                &[
                    ("grant_type", "password"),
                    ("client_id", &id),
                    ("client_secret", &secret),
                    ("username", &format!("{name}@example.test")),
                    ("password", "password123"),
                    ("scope", scopes),
                ],
            )
            .await
            .ok();
        t["access_token"].as_str().unwrap().to_string()
    }

    /// Posts a status and returns its JSON.
    pub async fn status(&self, user: &User, text: &str, extra: &[(&str, &str)]) -> Value {
        let mut form = vec![("status", text)];
        form.extend_from_slice(extra);
        self.post("/api/v1/statuses", Some(&user.token), &form)
            .await
            .ok()
    }

    /// Rows in a table, read straight from the database (to prove nothing was written).
    pub async fn count(&self, table: &str) -> i64 {
        let q = sluice_store::Query::new(format!("SELECT count(*) AS v FROM {table}"));
        self.engine()
            .store_for_tests()
            .one::<sluice_store::Scalar>(q)
            .await
            .unwrap()
            .v
    }

    /// The id on this server of the account `acct` (`user` or `user@host`), looked up
    /// (and fetched from its server when remote) as an app does.
    pub async fn lookup_id(&self, acct: &str) -> String {
        self.get(&format!("/api/v1/accounts/lookup?acct={acct}"), None)
            .await
            .ok()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A second server process on the same database (as during an upgrade): its own
    /// address, the same data (and so the same public URL, the first one's). It leaves
    /// the database to the first one to clean up.
    pub async fn start_beside(&self) -> TestServer {
        let dir = std::env::temp_dir().join(unique("sluice-test"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".into();
        let listener = Listener::bind(&config.listen).await.unwrap();
        let running = sluice::start_with(&config, listener, axum::Router::new())
            .await
            .expect("the second server starts");
        assert_eq!(running.url, self.url, "one instance, one public URL");
        TestServer {
            // Requests go to this process, not to the first one.
            url: format!("http://{}", running.addr.expect("a TCP listener")),
            http: self.http.clone(),
            running: Some(running),
            config,
            dir,
            pg: None,
        }
    }

    /// Stops the server and starts it again on the same database and address.
    pub async fn restart(&mut self) {
        self.halt().await;
        self.resume().await;
    }

    /// Stops the server (its address refuses connections) and keeps its database and
    /// address for [`TestServer::resume`].
    pub async fn halt(&mut self) {
        let addr = self.running_addr();
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        self.config.listen = addr.to_string();
    }

    /// Starts a server stopped by [`TestServer::halt`] again, on the same database and
    /// address.
    pub async fn resume(&mut self) {
        let listener = Listener::bind(&self.config.listen).await.unwrap();
        let running = sluice::start_with(&self.config, listener, axum::Router::new())
            .await
            .expect("server starts again");
        self.url = running.url.clone();
        self.running = Some(running);
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        self.cleanup().await;
    }

    async fn cleanup(&mut self) {
        if let Some((base, schema)) = self.pg.take() {
            pg_exec(&base, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Best effort when a test panics before `stop`: the temp dir goes; a leftover
        // PostgreSQL schema lives in the throwaway CI database.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub enum Body {
    Form(Vec<(String, String)>),
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

async fn pg_exec(url: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to SLUICE_TEST_DATABASE_URL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .expect(sql);
    let _ = conn.close().await;
}

/// Ids of a JSON array of entities.
pub fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Settings of a federating test server on its own loopback address (`127.0.0.2`, …),
/// talking plain HTTP to its peers, retrying quickly.
pub fn peer(addr: &'static str) -> impl FnOnce(&mut sluice::config::Config) {
    move |c| {
        c.listen = format!("{addr}:0");
        c.allow_private_addresses = true;
        c.federation.allow_http = true;
        // A delivery or inbox activity that fails once (a busy CI machine) is retried
        // in milliseconds, not after Mastodon's 15 s.
        c.federation.delivery_backoff_scale = 0.001;
        // A host that failed several times (a stalled CI machine) is probed again
        // after a second, not Mastodon's minute.
        c.federation.breaker_probe_secs = 1;
    }
}

/// GETs an ActivityStreams document of `srv` with `token`.
pub async fn get_as2(srv: &TestServer, url: &str, token: Option<&str>) -> Resp {
    let mut req = srv
        .http
        .get(url)
        .header("accept", "application/activity+json");
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    let text = r.text().await.unwrap();
    Resp {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

/// `follower` on `srv` follows `acct` (`user@host` of another server) and waits until
/// the follow is accepted; returns the followed account's id on `srv`.
pub async fn follow_remote(srv: &TestServer, follower: &User, acct: &str) -> String {
    let id = srv.lookup_id(acct).await;
    srv.post(
        &format!("/api/v1/accounts/{id}/follow"),
        Some(&follower.token),
        &[],
    )
    .await
    .ok();
    eventually(
        &format!("the follow of {acct} to be accepted"),
        async || {
            srv.get(
                &format!("/api/v1/accounts/relationships?id[]={id}"),
                Some(&follower.token),
            )
            .await
            .ok()[0]["following"]
                == true
        },
    )
    .await;
    id
}

/// Polls `check` until it holds. Generous: this bounds a hang, it is not a speed test
/// (CI machines are busy).
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Whether every `<script` in a page is the web app's own module, loaded by URL, or its
/// words (a JSON data block):
/// nothing inline, nothing that came from what people posted.
pub fn only_our_script(html: &str) -> bool {
    html.matches("<script").count()
        == html
            .matches("<script type=\"module\" src=\"/static/app.")
            .count()
            // Data, not code: the script's words, which a browser never runs.
            + html
                .matches("<script type=\"application/json\" id=\"sluice-strings\">")
                .count()
}

/// A mail receiver on loopback for the tests: speaks just enough SMTP to take
/// messages (no TLS, no authentication) and hands each one over whole.
pub struct SmtpSink {
    pub addr: std::net::SocketAddr,
    mails: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, mails) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(body) = data.as_mut() {
                            if line == "." {
                                let _ = tx.send(std::mem::take(body));
                                data = None;
                                let _ = write.write_all(b"250 queued\r\n").await;
                            } else {
                                body.push_str(line.strip_prefix('.').unwrap_or(&line));
                                body.push('\n');
                            }
                            continue;
                        }
                        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
                        let answer: &[u8] = match verb.as_str() {
                            "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                data = Some(String::new());
                                b"354 go on\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"250 ok\r\n",
                        };
                        if write.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        SmtpSink { addr, mails }
    }

    /// The next message (headers and body, quoted-printable undone), within 20 s.
    pub async fn next_mail(&mut self) -> String {
        let raw = tokio::time::timeout(std::time::Duration::from_secs(20), self.mails.recv())
            .await
            .expect("a mail within 20 s")
            .expect("the sink runs");
        raw.replace("=\n", "").replace("=3D", "=")
    }

    /// Whether a message arrives within `wait`.
    pub async fn any_mail_within(&mut self, wait: std::time::Duration) -> bool {
        tokio::time::timeout(wait, self.mails.recv()).await.is_ok()
    }
}

/// The first link in `text` that starts with `prefix`.
pub fn link_in(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {text}"));
    text[start..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}
