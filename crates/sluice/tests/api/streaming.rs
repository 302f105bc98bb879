//! Streaming over server-sent events, read as a client reads it: `:)` first, events
//! as `id:`/`event:`/`data:`, heartbeats, filters, and resume with `Last-Event-ID`
//! after a dropped connection and after a restart.

use std::time::Duration;

use serde_json::Value;

use crate::common::{Db, TestServer};
use crate::kept_alive::kept_alive;

db_tests!(
    streaming_refuses_bad_requests,
    public_and_hashtag_streams,
    user_stream_home_and_notifications,
    resume_after_disconnect_and_restart,
    websocket_streams,
    events_cross_processes,
    events_cross_processes_through_redis,
    status_and_metrics,
    a_stopping_server_serves_no_new_stream
);

/// One event of an SSE stream.
#[derive(Debug, Clone)]
pub(crate) struct SseEvent {
    pub(crate) id: Option<i64>,
    pub(crate) event: String,
    pub(crate) data: String,
}

/// A client end of an SSE stream (also used by the filters and conversations tests).
pub(crate) struct Sse {
    response: reqwest::Response,
    buffer: String,
    /// Comment lines seen (`:)`, heartbeats).
    comments: Vec<String>,
}

impl Sse {
    pub(crate) async fn open(
        srv: &TestServer,
        path: &str,
        token: &str,
        last_event_id: Option<i64>,
    ) -> Sse {
        let mut req = srv
            .http
            .get(format!("{}{path}", srv.url))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        assert_eq!(response.headers()["cache-control"], "no-store");
        let mut sse = Sse {
            response,
            buffer: String::new(),
            comments: Vec::new(),
        };
        // `:)` comes at once, before any event.
        assert!(sse.next_within(Duration::from_secs(10)).await.is_none());
        assert_eq!(sse.comments.first().map(String::as_str), Some(")"));
        sse
    }

    /// The next event within `wait` (None: none came; comments are collected).
    pub(crate) async fn next_within(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut ev = SseEvent {
                    id: None,
                    event: String::new(),
                    data: String::new(),
                };
                let mut comment_only = true;
                for line in block.lines() {
                    if let Some(c) = line.strip_prefix(':') {
                        self.comments.push(c.to_string());
                    } else if let Some((k, v)) = line.split_once(": ") {
                        comment_only = false;
                        match k {
                            "id" => ev.id = v.parse().ok(),
                            "event" => ev.event = v.to_string(),
                            "data" => ev.data = v.to_string(),
                            _ => {}
                        }
                    }
                }
                if comment_only {
                    if self.comments.len() == 1 && self.comments[0] == ")" {
                        return None;
                    }
                    continue;
                }
                return Some(ev);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }

    /// The next event, which must come.
    pub(crate) async fn next(&mut self) -> SseEvent {
        self.next_within(Duration::from_secs(20))
            .await
            .expect("an event within 20 s")
    }

    /// Events within `wait`.
    pub(crate) async fn drain(&mut self, wait: Duration) -> Vec<SseEvent> {
        let mut out = Vec::new();
        while let Some(e) = self.next_within(wait).await {
            out.push(e);
        }
        out
    }
}

pub(crate) fn status_id(e: &SseEvent) -> String {
    let v: Value = serde_json::from_str(&e.data).unwrap();
    v["id"].as_str().unwrap().to_string()
}

async fn streaming_refuses_bad_requests(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let health = srv
        .http
        .get(format!("{}/api/v1/streaming/health", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "OK");
    let get = async |path: &str, token: Option<&str>| {
        let mut r = srv.http.get(format!("{}{path}", srv.url));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    };
    // Public streams need a valid token; the reason is also in X-Error-Message.
    let r = get("/api/v1/streaming/public", None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["x-error-message"], "Missing access token");
    let r = get("/api/v1/streaming/public", Some("not-a-token")).await;
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("x-error-message"));
    let alice = srv.user("alice").await;
    let r = get("/api/v1/streaming/nonsense", Some(&alice.token)).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "Unknown stream type");
    // A hashtag stream needs its tag.
    let r = get("/api/v1/streaming/hashtag", Some(&alice.token)).await;
    assert_eq!(r.status(), 400);
    // Notifications need read:notifications.
    let statuses_only = srv.user_with_scopes("bob", "read:statuses").await;
    let r = get(
        "/api/v1/streaming/user/notification",
        Some(&statuses_only.token),
    )
    .await;
    assert_eq!(r.status(), 401);
    let write_only = srv.user_with_scopes("carol", "write").await;
    let r = get("/api/v1/streaming/user", Some(&write_only.token)).await;
    assert_eq!(r.status(), 401);
    // With the right scope the stream opens (and the user stream accepts read:statuses).
    Sse::open(&srv, "/api/v1/streaming/user", &statuses_only.token, None).await;
    srv.stop().await;
}

async fn public_and_hashtag_streams(db: Db) {
    let Some(srv) = TestServer::start(db, |c| c.streaming_heartbeat_secs = 1).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let mut public = Sse::open(&srv, "/api/v1/streaming/public/local", &alice.token, None).await;
    let mut tag = Sse::open(
        &srv,
        "/api/v1/streaming/hashtag?tag=Rust",
        &alice.token,
        None,
    )
    .await;
    let post = srv.status(&bob, "hello #rust", &[]).await;
    let e = public.next().await;
    assert_eq!(e.event, "update");
    assert_eq!(status_id(&e), post["id"].as_str().unwrap());
    assert!(e.id.is_some(), "every event carries its log id");
    let t = tag.next().await;
    assert_eq!(status_id(&t), post["id"].as_str().unwrap());
    // Unlisted posts stay out of public streams; deletes come as the bare id.
    srv.status(&bob, "quiet #rust", &[("visibility", "unlisted")])
        .await;
    srv.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/statuses/{}", post["id"].as_str().unwrap()),
        Some(&bob.token),
        None,
    )
    .await
    .ok();
    let d = public.next().await;
    assert_eq!(d.event, "delete");
    assert_eq!(d.data, post["id"].as_str().unwrap());
    // Heartbeats keep the idle stream alive (every second here).
    public.drain(Duration::from_millis(2500)).await;
    assert!(
        public.comments.iter().any(|c| c == "thump"),
        "{:?}",
        public.comments
    );
    // alice mutes bob: his posts stop reaching her public stream at once.
    srv.post(
        &format!("/api/v1/accounts/{}/mute", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    srv.status(&bob, "muted now", &[]).await;
    let carol = srv.user("carol").await;
    let after = srv.status(&carol, "carol speaks", &[]).await;
    let e = public.next().await;
    assert_eq!(
        status_id(&e),
        after["id"].as_str().unwrap(),
        "bob's post was skipped"
    );
    srv.stop().await;
}

async fn user_stream_home_and_notifications(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    srv.post(
        &format!("/api/v1/accounts/{}/follow", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    let mut user = Sse::open(&srv, "/api/v1/streaming/user", &alice.token, None).await;
    let mut notes = Sse::open(
        &srv,
        "/api/v1/streaming/user/notification",
        &alice.token,
        None,
    )
    .await;
    // carol is not followed: nothing; bob is.
    srv.status(&carol, "not for alice's home", &[]).await;
    let post = srv
        .status(&bob, "for alice's home", &[("visibility", "private")])
        .await;
    let e = user.next().await;
    assert_eq!(e.event, "update");
    assert_eq!(status_id(&e), post["id"].as_str().unwrap());
    // bob favourites alice's post: a notification on both streams.
    let mine = srv.status(&alice, "like me", &[]).await;
    let e = user.next().await;
    assert_eq!(status_id(&e), mine["id"].as_str().unwrap(), "her own post");
    srv.post(
        &format!(
            "/api/v1/statuses/{}/favourite",
            mine["id"].as_str().unwrap()
        ),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    for stream in [&mut user, &mut notes] {
        let n = stream.next().await;
        assert_eq!(n.event, "notification");
        let v: Value = serde_json::from_str(&n.data).unwrap();
        assert_eq!(v["type"], "favourite");
        assert_eq!(v["account"]["id"], bob.id.as_str());
    }
    // Nothing else reached the notification stream (no updates).
    assert!(notes.drain(Duration::from_millis(500)).await.is_empty());
    srv.stop().await;
}

async fn resume_after_disconnect_and_restart(db: Db) {
    let Some(mut srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let path = "/api/v1/streaming/public";
    let mut s = Sse::open(&srv, path, &alice.token, None).await;
    let first = srv.status(&bob, "one", &[]).await;
    let e = s.next().await;
    assert_eq!(status_id(&e), first["id"].as_str().unwrap());
    let last = e.id.unwrap();
    drop(s);
    // Missed while disconnected.
    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(srv.status(&bob, &format!("missed {i}"), &[]).await["id"].clone());
    }
    let mut s = Sse::open(&srv, path, &alice.token, Some(last)).await;
    let mut got = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let e = s.next().await;
        ids.push(e.id.unwrap());
        got.push(Value::String(status_id(&e)));
    }
    assert_eq!(got, missed, "every missed event, in order");
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    // Then live, without repeating any.
    let live = srv.status(&bob, "live", &[]).await;
    let e = s.next().await;
    assert_eq!(status_id(&e), live["id"].as_str().unwrap());
    assert!(s.drain(Duration::from_millis(500)).await.is_empty());
    let last = e.id.unwrap();
    drop(s);

    // The server restarts on the same database; what was posted meanwhile is there.
    srv.restart().await;
    let after = srv.status(&bob, "after the restart", &[]).await;
    let mut s = Sse::open(&srv, path, &alice.token, Some(last)).await;
    let e = s.next().await;
    assert_eq!(status_id(&e), after["id"].as_str().unwrap());
    assert!(
        s.drain(Duration::from_millis(500)).await.is_empty(),
        "no duplicates"
    );
    srv.stop().await;
}

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn ws_connect(
    srv: &TestServer,
    query: &str,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let url = format!(
        "{}/api/v1/streaming?{query}",
        srv.url.replace("http://", "ws://")
    );
    tokio_tungstenite::connect_async(url)
        .await
        .map(|(ws, _)| ws)
}

/// The next text message within `wait` (pings are answered by the library).
pub(crate) async fn ws_next(ws: &mut Ws, wait: Duration) -> Option<Value> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Some(serde_json::json!({"closed": frame.map(|f| u16::from(f.code))}));
            }
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

async fn ws_send(ws: &mut Ws, v: Value) {
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        v.to_string().into(),
    ))
    .await
    .unwrap();
}

async fn websocket_streams(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    // A bad token is refused before the upgrade, with the reason in X-Error-Message.
    match ws_connect(&srv, "stream=public&access_token=nope").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status(), 401);
            assert!(r.headers().contains_key("x-error-message"));
        }
        other => panic!("expected 401, got {other:?}"),
    }
    let mut ws = ws_connect(
        &srv,
        &format!("stream=public:local&access_token={}", alice.token),
    )
    .await
    .unwrap();
    let post = srv.status(&bob, "over the socket #rust", &[]).await;
    let m = ws_next(&mut ws, Duration::from_secs(20)).await.unwrap();
    assert_eq!(m["stream"], serde_json::json!(["public:local"]));
    assert_eq!(m["event"], "update");
    let payload: Value = serde_json::from_str(m["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["id"], post["id"]);
    assert!(m["id"].as_i64().is_some());
    // Multiplexed: subscribe to a hashtag; the next post arrives on both streams, each
    // with its own stream array; unknown streams get an error message.
    ws_send(
        &mut ws,
        serde_json::json!({"type": "subscribe", "stream": "hashtag", "tag": "rust"}),
    )
    .await;
    ws_send(
        &mut ws,
        serde_json::json!({"type": "subscribe", "stream": "nonsense"}),
    )
    .await;
    let e = ws_next(&mut ws, Duration::from_secs(20)).await.unwrap();
    assert_eq!(e["status"], 400, "{e}");
    srv.status(&bob, "again #rust", &[]).await;
    let a = ws_next(&mut ws, Duration::from_secs(20)).await.unwrap();
    let b = ws_next(&mut ws, Duration::from_secs(20)).await.unwrap();
    let mut streams = vec![a["stream"].clone(), b["stream"].clone()];
    streams.sort_by_key(|s| s.to_string());
    assert_eq!(
        streams,
        vec![
            serde_json::json!(["hashtag", "rust"]),
            serde_json::json!(["public:local"])
        ]
    );
    ws_send(
        &mut ws,
        serde_json::json!({"type": "unsubscribe", "stream": "public:local"}),
    )
    .await;
    ws_send(
        &mut ws,
        serde_json::json!({"type": "unsubscribe", "stream": "hashtag", "tag": "rust"}),
    )
    .await;
    // A barrier: the server answers commands in order, so once this error is back the
    // unsubscribes above are done (the post below travels on another connection).
    ws_send(
        &mut ws,
        serde_json::json!({"type": "subscribe", "stream": "barrier"}),
    )
    .await;
    assert_eq!(
        ws_next(&mut ws, Duration::from_secs(20)).await.unwrap()["status"],
        400
    );
    srv.status(&bob, "nobody listens #rust", &[]).await;
    let quiet = ws_next(&mut ws, Duration::from_millis(800)).await;
    assert!(quiet.is_none(), "{quiet:?}");
    // A binary frame closes the socket with 1003.
    {
        use futures_util::SinkExt;
        ws.send(tokio_tungstenite::tungstenite::Message::Binary(
            vec![1, 2, 3].into(),
        ))
        .await
        .unwrap();
    }
    let c = ws_next(&mut ws, Duration::from_secs(10)).await.unwrap();
    assert_eq!(c["closed"], 1003);

    // The token as Sec-WebSocket-Protocol is accepted and echoed in the 101 (masto.js).
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!(
        "{}/api/v1/streaming?stream=user",
        srv.url.replace("http://", "ws://")
    )
    .into_client_request()
    .unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", alice.token.parse().unwrap());
    let (mut ws, res) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        res.headers()["sec-websocket-protocol"],
        alice.token.as_str()
    );
    let mine = srv.status(&alice, "my own, to my home", &[]).await;
    let m = ws_next(&mut ws, Duration::from_secs(20)).await.unwrap();
    assert_eq!(m["stream"], serde_json::json!(["user"]));
    let payload: Value = serde_json::from_str(m["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["id"], mine["id"]);
    // Stopping the server closes it with 1012 (service restart): clients resume.
    let closing = tokio::spawn(async move { ws_next(&mut ws, Duration::from_secs(30)).await });
    srv.stop().await;
    let c = closing.await.unwrap().unwrap();
    assert_eq!(c["closed"], 1012);
}

/// Two server processes on one database (as during an upgrade): a post made through
/// one reaches a stream held by the other (SQLite: the log is polled; PostgreSQL:
/// NOTIFY wakes the other process).
async fn events_cross_processes(db: Db) {
    let Some(a) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let b = a.start_beside().await;
    let alice = a.user("alice").await;
    let bob = a.user("bob").await;
    let mut on_b = Sse::open(&b, "/api/v1/streaming/public", &alice.token, None).await;
    let post = a.status(&bob, "written through A", &[]).await;
    let e = on_b.next().await;
    assert_eq!(status_id(&e), post["id"].as_str().unwrap());
    b.stop().await;
    a.stop().await;
}

/// With `SLUICE_REDIS_URL`, a commit in one process wakes the other through Redis: the
/// log poll is set to a minute here, so only the wake-up can bring the event in time.
async fn events_cross_processes_through_redis(db: Db) {
    let Ok(redis) = std::env::var("SLUICE_TEST_REDIS_URL") else {
        eprintln!("skipped: SLUICE_TEST_REDIS_URL is not set");
        return;
    };
    let Some(a) = TestServer::start(db, |c| {
        c.redis_url = Some(redis);
        c.streaming_poll_ms = 60_000;
    })
    .await
    else {
        return;
    };
    let b = a.start_beside().await;
    let alice = a.user("alice").await;
    let bob = a.user("bob").await;
    let mut on_b = Sse::open(&b, "/api/v1/streaming/public", &alice.token, None).await;
    // Let B's subscription to Redis settle (it wakes once when it subscribes).
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in 0..3 {
        let post = a.status(&bob, &format!("through Redis {n}"), &[]).await;
        let e = on_b
            .next_within(Duration::from_secs(10))
            .await
            .expect("the event within 10 s, long before the next poll");
        assert_eq!(status_id(&e), post["id"].as_str().unwrap());
    }
    b.stop().await;
    a.stop().await;
}

/// `/api/v1/streaming/status*` and `/metrics`: off by default, behind the metrics token
/// when on, tokenless on the private metrics listener; the counts follow connections.
async fn status_and_metrics(db: Db) {
    const TOKEN: &str = "metrics-token-for-tests";
    let Some(off) = TestServer::start(db, |_| {}).await else {
        return;
    };
    for path in ["/metrics", "/api/v1/streaming/status"] {
        let r = off
            .http
            .get(format!("{}{path}", off.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path} is off by default");
    }
    off.stop().await;

    let private = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let Some(srv) = TestServer::start(db, |c| {
        c.metrics_token = Some(TOKEN.into());
        c.streaming_status = true;
        c.metrics_listen = Some(private.to_string());
    })
    .await
    else {
        return;
    };
    let get = async |path: &str, token: Option<&str>| {
        let mut r = srv.http.get(format!("{}{path}", srv.url));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    };
    for path in [
        "/metrics",
        "/api/v1/streaming/status",
        "/api/v1/streaming/status/per_timeline",
        "/api/v1/streaming/status/queue",
    ] {
        assert_eq!(get(path, None).await.status(), 401, "{path} without token");
        assert_eq!(
            get(path, Some("metrics-token-for-testX")).await.status(),
            401,
            "{path} with a wrong token"
        );
    }
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let status = async || -> Value {
        get("/api/v1/streaming/status", Some(TOKEN))
            .await
            .json()
            .await
            .unwrap()
    };
    assert_eq!(status().await["connections"], 0);
    let mut sse = Sse::open(&srv, "/api/v1/streaming/user", &alice.token, None).await;
    let mut ws = ws_connect(
        &srv,
        &format!("stream=public:local&access_token={}", bob.token),
    )
    .await
    .unwrap();
    ws_send(
        &mut ws,
        serde_json::json!({"type": "subscribe", "stream": "hashtag", "tag": "rust"}),
    )
    .await;
    // The WebSocket's subscriptions are counted once its commands are read.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let per_timeline = loop {
        let v: Value = get("/api/v1/streaming/status/per_timeline", Some(TOKEN))
            .await
            .json()
            .await
            .unwrap();
        if v["hashtag"] == 1 || tokio::time::Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        per_timeline,
        serde_json::json!({"user": 1, "public:local": 1, "hashtag": 1})
    );
    let s = status().await;
    assert_eq!(
        (
            s["connections"].as_i64(),
            s["sse"].as_i64(),
            s["websocket"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );

    // One post reaches both: counted as an event and as messages.
    let post = srv.status(&alice, "counted #rust", &[]).await;
    assert_eq!(status_id(&sse.next().await), post["id"].as_str().unwrap());
    let mut got = 0;
    while got < 2 {
        let m = ws_next(&mut ws, Duration::from_secs(20))
            .await
            .expect("two messages: public:local and hashtag");
        assert_eq!(m["event"], "update");
        got += 1;
    }
    let q: Value = get("/api/v1/streaming/status/queue", Some(TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert!(q["events"].as_u64().unwrap() >= 1, "{q}");
    assert!(q["messages"].as_u64().unwrap() >= 3, "{q}");
    assert_eq!(q["queue_drops"], 0);
    assert_eq!(q["capacity"], 4096);

    let text = get("/metrics", Some(TOKEN)).await.text().await.unwrap();
    let value = |text: &str, series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("{series} missing from:\n{text}"))
    };
    assert_eq!(
        value(&text, "sluice_streaming_connections{protocol=\"sse\"}"),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "sluice_streaming_connections{protocol=\"websocket\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "sluice_streaming_subscriptions{stream=\"hashtag\",protocol=\"websocket\"}"
        ),
        1.0
    );
    assert!(value(&text, "sluice_streaming_messages_total") >= 3.0);
    assert!(value(&text, "sluice_http_requests_total{class=\"2xx\"}") >= 3.0);
    assert!(value(&text, "sluice_http_requests_total{class=\"4xx\"}") >= 8.0);
    assert!(value(&text, "sluice_http_request_duration_seconds_count") >= 11.0);
    assert!(value(&text, "process_resident_memory_bytes") > 1e6);

    // The private listener needs no token.
    let r = srv
        .http
        .get(format!("http://{private}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("sluice_streaming_events_total")
    );
    let r: Value = srv
        .http
        .get(format!("http://{private}/api/v1/streaming/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["connections"], 2);

    // Closed connections are no longer counted.
    drop(sse);
    drop(ws);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let s = status().await;
        if s["connections"] == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still counted: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let per_timeline: Value = get("/api/v1/streaming/status/per_timeline", Some(TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(per_timeline, serde_json::json!({}));
    srv.stop().await;
}

/// Sends `request` on `s` and reads the answer's head (lowercased).
async fn head_of_answer(s: &mut tokio::net::TcpStream, request: String) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    s.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf))
            .await
            .expect("an answer within 20 s")
            .unwrap();
        assert!(n > 0, "closed without an answer");
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).to_lowercase()
}

/// A server told to stop no longer accepts; during its drain grace a kept-alive
/// connection may still send a request, but a stream it asks for (SSE or WebSocket)
/// is refused at once with 503, `Retry-After` and `Connection: close` (the process
/// would end it in a moment; the client tries again elsewhere). The streams already
/// open end only after that.
async fn a_stopping_server_serves_no_new_stream(db: Db) {
    // A grace far longer than the test: it ends early, once no connection is left.
    let Some(mut srv) = TestServer::start(db, |c| c.drain_grace_ms = 120_000).await else {
        return;
    };
    let alice = srv.user("alice").await;
    // A client without kept-alive connections yet: the stream has one of its own.
    srv.http = reqwest::Client::new();
    let mut open = Sse::open(&srv, "/api/v1/streaming/public", &alice.token, None).await;
    let mut for_sse = kept_alive(&srv.running_addr().to_string()).await;
    let mut for_ws = kept_alive(&srv.running_addr().to_string()).await;
    let addr = srv.running_addr();
    let running = srv.running.take().unwrap();
    let stopped = tokio::spawn(running.stop());
    // Accepting stops first.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "still accepting");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let token = &alice.token;
    let sse = head_of_answer(
        &mut for_sse,
        format!(
            "GET /api/v1/streaming/public HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\r\n"
        ),
    )
    .await;
    // The open stream has not ended: a connection to this process (`for_ws`) is left.
    let ended = matches!(
        tokio::time::timeout(Duration::from_millis(300), open.response.chunk()).await,
        Ok(Ok(None) | Err(_))
    );
    assert!(
        !ended,
        "the stream ended while kept-alive connections were open"
    );
    let ws = head_of_answer(
        &mut for_ws,
        format!(
            "GET /api/v1/streaming?stream=public&access_token={token} HTTP/1.1\r\nhost: x\r\n\
             connection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\n\
             sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        ),
    )
    .await;
    for head in [sse, ws] {
        assert!(head.starts_with("http/1.1 503"), "{head}");
        assert!(head.contains("retry-after: 1\r\n"), "{head}");
        assert!(head.contains("connection: close\r\n"), "{head}");
    }
    // With no kept-alive connection left (those two were closed after their answer,
    // the client's own go with it), the grace ends and the open stream with it.
    srv.http = reqwest::Client::new();
    assert!(
        open.next_within(Duration::from_secs(30)).await.is_none(),
        "no event"
    );
    tokio::time::timeout(Duration::from_secs(30), stopped)
        .await
        .expect("stopped")
        .unwrap();
    srv.stop().await;
}
