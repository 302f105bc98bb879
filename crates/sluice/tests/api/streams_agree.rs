//! The connections of one user agree: after follow changes (of a local and of a remote
//! account) every `user` stream of the user, SSE and WebSocket, gets the same events;
//! and a connection that resumes with `last_event_id` gets what a connection that
//! stayed open got (docs/streaming.md, "Nothing lost").

use std::time::Duration;

use serde_json::Value;

use crate::common::{Db, TestServer, User, eventually, peer};
use crate::streaming::{Sse, Ws, ws_connect, ws_next};

db_tests!(
    follow_changes_reach_every_connection,
    remote_follow_changes_reach_every_connection,
    resume_replays_what_the_open_connection_got
);

/// One event as a client saw it: its log id, its kind and its payload.
#[derive(Debug, Clone)]
struct Seen {
    id: i64,
    event: String,
    payload: Value,
}

impl Seen {
    /// The status of an `update`/`status.update`, or of a notification.
    fn status_id(&self) -> Option<&str> {
        match self.event.as_str() {
            "notification" => self.payload["status"]["id"].as_str(),
            _ => self.payload["id"].as_str(),
        }
    }
}

/// A `user` stream of one user, over SSE or WebSocket.
enum Conn {
    Sse(Box<Sse>),
    Ws(Box<Ws>),
}

impl Conn {
    async fn sse(srv: &TestServer, user: &User, last_event_id: Option<i64>) -> Conn {
        Conn::Sse(Box::new(
            Sse::open(srv, "/api/v1/streaming/user", &user.token, last_event_id).await,
        ))
    }

    async fn ws(srv: &TestServer, user: &User, last_event_id: Option<i64>) -> Conn {
        let mut query = format!("stream=user&access_token={}", user.token);
        if let Some(id) = last_event_id {
            query.push_str(&format!("&last_event_id={id}"));
        }
        Conn::Ws(Box::new(ws_connect(srv, &query).await.expect("WebSocket")))
    }

    fn name(&self) -> &'static str {
        match self {
            Conn::Sse(_) => "SSE",
            Conn::Ws(_) => "WebSocket",
        }
    }

    /// The next event, which must come within 20 s.
    async fn next(&mut self) -> Seen {
        let wait = Duration::from_secs(20);
        match self {
            Conn::Sse(s) => {
                let e = s.next_within(wait).await.expect("an SSE event within 20 s");
                Seen {
                    id: e.id.expect("an event id"),
                    payload: serde_json::from_str(&e.data).unwrap_or(Value::Null),
                    event: e.event,
                }
            }
            Conn::Ws(ws) => {
                let m = ws_next(ws, wait).await.expect("a message within 20 s");
                assert!(m.get("closed").is_none(), "closed: {m}");
                Seen {
                    id: m["id"].as_i64().expect("an event id"),
                    event: m["event"].as_str().unwrap_or("").to_string(),
                    payload: m["payload"]
                        .as_str()
                        .and_then(|p| serde_json::from_str(p).ok())
                        .unwrap_or(Value::Null),
                }
            }
        }
    }

    /// Events up to and including the `update` of `marker` (a status id).
    async fn until(&mut self, marker: &Value) -> Vec<Seen> {
        let mut out = Vec::new();
        loop {
            let e = self.next().await;
            let done = e.event == "update" && e.payload["id"] == *marker;
            out.push(e);
            if done {
                return out;
            }
        }
    }
}

fn ids(events: &[Seen]) -> Vec<i64> {
    events.iter().map(|e| e.id).collect()
}

/// Four SSE and four WebSocket `user` streams of `user`: they share (and reload at
/// once) one copy of the user's relations.
async fn user_streams(srv: &TestServer, user: &User) -> Vec<Conn> {
    let mut conns = Vec::new();
    for _ in 0..4 {
        conns.push(Conn::sse(srv, user, None).await);
        conns.push(Conn::ws(srv, user, None).await);
    }
    conns
}

/// Every connection got the same events, and `expected` (status ids, in order) are
/// the statuses they carry.
async fn assert_all_agree(conns: &mut [Conn], marker: &Value, expected: &[Value]) {
    let mut first: Option<Vec<i64>> = None;
    for (n, c) in conns.iter_mut().enumerate() {
        let name = c.name();
        let got = c.until(marker).await;
        let statuses: Vec<Value> = got
            .iter()
            .filter(|e| e.event == "update")
            .map(|e| e.payload["id"].clone())
            .collect();
        let missed: Vec<usize> = (0..expected.len())
            .filter(|i| !statuses.contains(&expected[*i]))
            .collect();
        assert_eq!(
            statuses,
            expected,
            "connection {n} ({name}) missed or repeated posts (missed: {missed:?} of {})",
            expected.len()
        );
        match &first {
            None => first = Some(ids(&got)),
            Some(f) => assert_eq!(&ids(&got), f, "connection {n} ({name}) disagrees"),
        }
    }
}

/// A user unfollows and follows again a local account, several times, and that
/// account posts at once after each follow: every connection of the user gets each
/// post (the follow is committed before the post is written).
async fn follow_changes_reach_every_connection(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let carol = srv.user("carol").await;
    let follow = |what: &'static str| {
        let (srv, alice, carol) = (&srv, &alice, &carol);
        async move {
            srv.post(
                &format!("/api/v1/accounts/{}/{what}", carol.id),
                Some(&alice.token),
                &[],
            )
            .await
            .ok();
        }
    };
    follow("follow").await;
    let mut conns = user_streams(&srv, &alice).await;
    let mut expected = Vec::new();
    for round in 0..50 {
        follow("unfollow").await;
        follow("follow").await;
        let post = srv.status(&carol, &format!("round {round}"), &[]).await;
        expected.push(post["id"].clone());
    }
    let marker = srv.status(&alice, "the end", &[]).await["id"].clone();
    expected.push(marker.clone());
    assert_all_agree(&mut conns, &marker, &expected).await;
    drop(conns);
    srv.stop().await;
}

/// The same with an account of another server: the follow takes effect when that
/// server's `Accept` arrives.
async fn remote_follow_changes_reach_every_connection(db: Db) {
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
    let following = async || {
        a.get(
            &format!("/api/v1/accounts/relationships?id[]={bob_on_a}"),
            Some(&alice.token),
        )
        .await
        .ok()[0]["following"]
            == true
    };
    let follow = |what: &'static str| {
        let (a, alice, bob_on_a) = (&a, &alice, &bob_on_a);
        async move {
            a.post(
                &format!("/api/v1/accounts/{bob_on_a}/{what}"),
                Some(&alice.token),
                &[],
            )
            .await
            .ok();
        }
    };
    follow("follow").await;
    eventually("the first follow accepted", following).await;
    let mut conns = user_streams(&a, &alice).await;
    let mut expected = Vec::new();
    for round in 0..4 {
        follow("unfollow").await;
        // The Undo reaches B before the next Follow does (an Undo overtaken by the
        // Follow it should precede is another matter).
        eventually("the unfollow reached B", async || {
            b.get(&format!("/api/v1/accounts/{}", bob.id), None)
                .await
                .ok()["followers_count"]
                == 0
        })
        .await;
        follow("follow").await;
        eventually("the follow accepted again", following).await;
        let post = b.status(&bob, &format!("round {round}"), &[]).await;
        // Delivered in the background: the next round starts once it is on A.
        eventually("bob's post in alice's home", async || {
            let home = a
                .get("/api/v1/timelines/home?limit=5", Some(&alice.token))
                .await
                .ok();
            match home
                .as_array()
                .and_then(|h| h.iter().find(|s| s["uri"] == post["uri"]))
            {
                Some(s) => {
                    expected.push(s["id"].clone());
                    true
                }
                None => false,
            }
        })
        .await;
    }
    let marker = a.status(&alice, "the end", &[]).await["id"].clone();
    expected.push(marker.clone());
    assert_all_agree(&mut conns, &marker, &expected).await;
    drop(conns);
    b.stop().await;
    a.stop().await;
}

/// One SSE and one WebSocket connection stay open; two others (SSE, WebSocket) leave
/// and resume with the id of the last event they got. Meanwhile: a boost of a post
/// then deleted, a post edited twice, a favourite notification, a favourite of a post
/// then deleted, a post then deleted. The resumed connections get the events the open
/// ones got, in order, except those whose object no longer exists when they are
/// replayed (docs/streaming.md): the boost (its post was deleted, and the boost with
/// it), the notification about the deleted post, the deleted post's `update`; their
/// `delete` events are replayed. An edited post is replayed as it is now.
async fn resume_replays_what_the_open_connection_got(db: Db) {
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
    let kept = srv.status(&alice, "favourited and kept", &[]).await;
    let gone = srv.status(&alice, "favourited and deleted", &[]).await;
    let boosted = srv.status(&carol, "boosted, then deleted", &[]).await;
    let mut open = vec![
        Conn::sse(&srv, &alice, None).await,
        Conn::ws(&srv, &alice, None).await,
    ];
    let mut leaving = vec![
        Conn::sse(&srv, &alice, None).await,
        Conn::ws(&srv, &alice, None).await,
    ];
    let start = srv.status(&alice, "start", &[]).await["id"].clone();
    let mut resume_at = Vec::new();
    for c in open.iter_mut().chain(leaving.iter_mut()) {
        let got = c.until(&start).await;
        resume_at.push(got.last().unwrap().id);
    }
    assert!(resume_at.windows(2).all(|w| w[0] == w[1]), "{resume_at:?}");
    let resume_at = resume_at[0];
    drop(leaving);

    let act = |token: &str, path: String| {
        let (srv, token) = (&srv, token.to_string());
        async move { srv.post(&path, Some(&token), &[]).await.ok() }
    };
    let delete = |token: &str, id: &Value| {
        let (srv, token, id) = (&srv, token.to_string(), id.as_str().unwrap().to_string());
        async move {
            srv.request(
                reqwest::Method::DELETE,
                &format!("/api/v1/statuses/{id}"),
                Some(&token),
                None,
            )
            .await
            .ok();
        }
    };
    let boosted_id = boosted["id"].as_str().unwrap();
    let boost = act(&bob.token, format!("/api/v1/statuses/{boosted_id}/reblog")).await;
    delete(&carol.token, &boosted["id"]).await;
    let edited = srv.status(&bob, "edited: first", &[]).await;
    let edited_id = edited["id"].as_str().unwrap().to_string();
    for text in ["edited: second", "edited: third"] {
        srv.request(
            reqwest::Method::PUT,
            &format!("/api/v1/statuses/{edited_id}"),
            Some(&bob.token),
            Some(crate::common::Body::Form(vec![(
                "status".into(),
                text.into(),
            )])),
        )
        .await
        .ok();
    }
    for s in [&kept, &gone] {
        act(
            &bob.token,
            format!("/api/v1/statuses/{}/favourite", s["id"].as_str().unwrap()),
        )
        .await;
    }
    delete(&alice.token, &gone["id"]).await;
    let deleted = srv.status(&bob, "posted, then deleted", &[]).await;
    delete(&bob.token, &deleted["id"]).await;
    let end = srv.status(&alice, "end", &[]).await["id"].clone();

    let mut live = Vec::new();
    for c in &mut open {
        live.push(c.until(&end).await);
    }
    assert_eq!(ids(&live[0]), ids(&live[1]), "the open connections agree");
    let live = live.swap_remove(0);
    // What the open connections got that no longer exists.
    let superseded = |e: &Seen| match e.event.as_str() {
        "update" => e.payload["id"] == boost["id"] || e.payload["id"] == deleted["id"],
        "notification" => e.payload["status"]["id"] == gone["id"],
        _ => false,
    };
    let dropped: Vec<&Seen> = live.iter().filter(|e| superseded(e)).collect();
    assert_eq!(
        dropped.len(),
        3,
        "the boost, the notification, the post: {live:#?}"
    );
    let expected: Vec<i64> = live
        .iter()
        .filter(|e| !superseded(e))
        .map(|e| e.id)
        .collect();
    let edits = live
        .iter()
        .filter(|e| e.event == "status.update" && e.status_id() == Some(&edited_id))
        .count();
    assert_eq!(edits, 2, "two edits: {live:#?}");
    assert!(
        live.iter()
            .any(|e| e.event == "notification" && e.payload["status"]["id"] == kept["id"]),
        "the favourite notification"
    );

    for mut resumed in [
        Conn::sse(&srv, &alice, Some(resume_at)).await,
        Conn::ws(&srv, &alice, Some(resume_at)).await,
    ] {
        let name = resumed.name();
        let got = resumed.until(&end).await;
        assert_eq!(ids(&got), expected, "{name} resumed: {got:#?}");
        // An edited post is replayed as it is now, once for each of its events.
        for e in got.iter().filter(|e| e.status_id() == Some(&edited_id)) {
            assert!(
                e.payload["content"]
                    .as_str()
                    .unwrap()
                    .contains("edited: third"),
                "{e:?}"
            );
        }
    }
    drop(open);
    srv.stop().await;
}
