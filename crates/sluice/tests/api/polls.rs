//! Polls end to end: made through the Mastodon API (form and JSON) and C2S, their
//! limits, votes and what each viewer sees, the end of voting (notifications, also
//! across a restart), and federation: votes and counts between two Sluice servers,
//! Questions from Mastodon, Misskey, Pleroma and Smithereen.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Body, Db, TestServer, User, eventually, follow_remote, get_as2, peer};
use crate::inbox::{deliver, federating, settled};

db_tests!(
    polls_are_made_from_forms_and_json,
    bad_polls_are_refused_and_write_nothing,
    votes_count_once_and_show_as_own,
    an_ended_poll_notifies_its_voters_even_across_a_restart,
    a_vote_crosses_to_the_polls_server_and_counts_come_back,
    a_c2s_question_is_a_poll,
    remote_questions_are_votable_polls,
    the_web_app_shows_polls_and_votes_without_javascript,
    a_poll_is_made_from_the_compose_form
);

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// Posts `form` (a status with its poll) as `user`; the status.
async fn post_poll(srv: &TestServer, user: &User, form: &[(&str, &str)]) -> Value {
    srv.post("/api/v1/statuses", Some(&user.token), form)
        .await
        .ok()
}

/// A single-choice poll of three options, running an hour.
async fn three_way(srv: &TestServer, user: &User, extra: &[(&str, &str)]) -> Value {
    let mut form = vec![
        ("status", "which one?"),
        ("poll[options][]", "red"),
        ("poll[options][]", "green"),
        ("poll[options][]", "blue"),
        ("poll[expires_in]", "3600"),
    ];
    form.extend_from_slice(extra);
    post_poll(srv, user, &form).await
}

async fn vote(srv: &TestServer, user: &User, poll: &str, choices: &[&str]) -> (u16, Value) {
    let form: Vec<(&str, &str)> = choices.iter().map(|c| ("choices[]", *c)).collect();
    let r = srv
        .post(
            &format!("/api/v1/polls/{poll}/votes"),
            Some(&user.token),
            &form,
        )
        .await;
    (r.status.as_u16(), r.body)
}

fn counts(poll: &Value) -> Vec<Value> {
    poll["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["votes_count"].clone())
        .collect()
}

/// A form-encoded poll (`poll[options][]`, as most apps send it) and a JSON one (as
/// web apps send it) are the same poll; the Status and Poll entities have Mastodon's
/// shape, for the author, another user and an anonymous reader.
async fn polls_are_made_from_forms_and_json(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let s = post_poll(
        &srv,
        &alice,
        &[
            ("status", "tea or coffee?"),
            ("poll[options][]", " tea "),
            ("poll[options][]", "coffee"),
            ("poll[expires_in]", "600"),
            ("poll[multiple]", "true"),
        ],
    )
    .await;
    let poll = &s["poll"];
    assert_eq!(poll["id"], s["id"], "{s}");
    assert_eq!(poll["multiple"], true);
    assert_eq!(poll["expired"], false);
    assert_eq!(poll["votes_count"], 0);
    assert_eq!(poll["voters_count"], 0);
    assert_eq!(poll["emojis"], json!([]));
    assert_eq!(
        poll["options"],
        json!([{"title": "tea", "votes_count": 0}, {"title": "coffee", "votes_count": 0}])
    );
    // The author has nothing to vote: Mastodon says "voted".
    assert_eq!(poll["voted"], true);
    assert_eq!(poll["own_votes"], json!([]));
    let expires = sluice_model::Timestamp::parse_rfc3339(poll["expires_at"].as_str().unwrap())
        .expect("a date");
    let ahead = expires.0 - sluice_model::id::now_millis();
    assert!((590_000..=600_000).contains(&ahead), "{ahead}");

    let j = srv
        .post_json(
            "/api/v1/statuses",
            Some(&alice.token),
            json!({"status": "pick", "poll": {"options": ["a", "b", "c"], "expires_in": 3600,
                   "hide_totals": true}}),
        )
        .await
        .ok();
    let id = j["id"].as_str().unwrap();
    assert_eq!(j["poll"]["multiple"], false);
    assert_eq!(
        j["poll"]["options"],
        json!([{"title": "a", "votes_count": null}, {"title": "b", "votes_count": null},
               {"title": "c", "votes_count": null}]),
        "totals hidden until the end"
    );
    // `poll: null` and an empty poll are no poll.
    let plain = srv
        .post_json(
            "/api/v1/statuses",
            Some(&alice.token),
            json!({"status": "no poll", "poll": null}),
        )
        .await
        .ok();
    assert_eq!(plain["poll"], Value::Null);

    // Anyone may read it; the viewer's flags only for a signed-in viewer.
    let anon = srv.get(&format!("/api/v1/polls/{id}"), None).await.ok();
    assert_eq!(anon["id"], id);
    assert!(
        anon.get("voted").is_none() && anon.get("own_votes").is_none(),
        "{anon}"
    );
    let for_bob = srv
        .get(&format!("/api/v1/polls/{id}"), Some(&bob.token))
        .await
        .ok();
    assert_eq!(for_bob["voted"], false);
    assert_eq!(for_bob["own_votes"], json!([]));
    let status = srv
        .get(&format!("/api/v1/statuses/{id}"), Some(&bob.token))
        .await
        .ok();
    assert_eq!(status["poll"], for_bob);
    // In timelines too.
    let tl = srv
        .get("/api/v1/timelines/public", Some(&bob.token))
        .await
        .ok();
    let in_tl = tl
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .expect("the poll in the public timeline");
    assert_eq!(in_tl["poll"]["options"].as_array().unwrap().len(), 3);
    assert_eq!(srv.count("polls").await, 2);
    assert_eq!(
        srv.get("/api/v1/polls/1", None).await.status,
        404,
        "no such poll"
    );
    assert_eq!(
        srv.get(
            &format!("/api/v1/polls/{}", plain["id"].as_str().unwrap()),
            None
        )
        .await
        .status,
        404,
        "a post without a poll"
    );
    srv.stop().await;
}

/// Each limit is a 422 with a message saying which, and nothing is stored.
async fn bad_polls_are_refused_and_write_nothing(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let long = "x".repeat(51);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("poll[options][]", "only")], "more than one item"),
        (
            vec![
                ("poll[options][]", "1"),
                ("poll[options][]", "2"),
                ("poll[options][]", "3"),
                ("poll[options][]", "4"),
                ("poll[options][]", "5"),
            ],
            "more than 4 items",
        ),
        (
            vec![("poll[options][]", "a"), ("poll[options][]", &long)],
            "50 characters",
        ),
        (
            vec![("poll[options][]", "a"), ("poll[options][]", "a")],
            "duplicate",
        ),
    ];
    let before = srv.count("statuses").await;
    for (options, says) in cases {
        let mut form = vec![("status", "q"), ("poll[expires_in]", "3600")];
        form.extend(options);
        let r = srv
            .post("/api/v1/statuses", Some(&alice.token), &form)
            .await;
        assert_eq!(r.status, 422, "{form:?}: {}", r.text);
        assert!(
            r.body["error"].as_str().unwrap().contains(says),
            "{}",
            r.text
        );
    }
    for (expires_in, says) in [
        ("299", "too soon"),
        ("2629747", "too far"),
        ("", "can't be blank"),
    ] {
        let r = srv
            .post(
                "/api/v1/statuses",
                Some(&alice.token),
                &[
                    ("status", "q"),
                    ("poll[options][]", "a"),
                    ("poll[options][]", "b"),
                    ("poll[expires_in]", expires_in),
                ],
            )
            .await;
        assert_eq!(r.status, 422, "{expires_in}: {}", r.text);
        assert!(
            r.body["error"].as_str().unwrap().contains(says),
            "{}",
            r.text
        );
    }
    // A poll and media together.
    let media = crate::media::upload_png(&srv, &alice, 1).await;
    let r = srv
        .post(
            "/api/v1/statuses",
            Some(&alice.token),
            &[
                ("status", "q"),
                ("media_ids[]", media["id"].as_str().unwrap()),
                ("poll[options][]", "a"),
                ("poll[options][]", "b"),
                ("poll[expires_in]", "3600"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    // A wrong type is a 422 too, never a 500.
    let r = srv
        .post_json(
            "/api/v1/statuses",
            Some(&alice.token),
            json!({"status": "q", "poll": {"options": "a", "expires_in": "soon"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(srv.count("statuses").await, before);
    assert_eq!(srv.count("polls").await, 0);
    srv.stop().await;
}

/// A vote counts once: refused (422) on a second vote, a missing option, several
/// options of a single-choice poll and one's own poll; 404 for a poll one may not see.
/// The voter's Status and Poll say what they chose.
async fn votes_count_once_and_show_as_own(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let s = three_way(&srv, &alice, &[]).await;
    let id = s["id"].as_str().unwrap();
    let mut stream =
        crate::streaming::Sse::open(&srv, "/api/v1/streaming/public/local", &carol.token, None)
            .await;

    let (code, poll) = vote(&srv, &bob, id, &["1"]).await;
    assert_eq!(code, 200, "{poll}");
    // Streams get the new counts as a `status.update` (after the post's own `update`,
    // when the stream opened before the tailer had passed it).
    let mut e = stream.next().await;
    if e.event == "update" {
        e = stream.next().await;
    }
    assert_eq!(e.event, "status.update");
    let streamed: Value = serde_json::from_str(&e.data).unwrap();
    assert_eq!(streamed["id"], id);
    assert_eq!(
        counts(&streamed["poll"]),
        vec![json!(0), json!(1), json!(0)]
    );
    assert_eq!(poll["voted"], true);
    assert_eq!(poll["own_votes"], json!([1]));
    assert_eq!(counts(&poll), vec![json!(0), json!(1), json!(0)]);
    assert_eq!(poll["votes_count"], 1);
    assert_eq!(poll["voters_count"], 1);

    for (who, choices, says) in [
        (&bob, vec!["2"], "already voted"),
        (&carol, vec!["0", "1"], "already voted"),
        (&carol, vec!["3"], "does not exist"),
        (&carol, vec!["-1"], "does not exist"),
        (&carol, vec!["first"], "does not exist"),
        (&alice, vec!["0"], "your own polls"),
    ] {
        let (code, body) = vote(&srv, who, id, &choices).await;
        assert_eq!(code, 422, "{choices:?}: {body}");
        assert!(body["error"].as_str().unwrap().contains(says), "{body}");
    }
    let (code, _) = vote(&srv, &carol, id, &[]).await;
    assert_eq!(code, 400, "no choices");
    let (code, _) = vote(&srv, &carol, "123", &["0"]).await;
    assert_eq!(code, 404);
    // Nothing of the refused votes counted.
    let poll = srv.get(&format!("/api/v1/polls/{id}"), None).await.ok();
    assert_eq!(counts(&poll), vec![json!(0), json!(1), json!(0)]);
    assert_eq!(srv.count("poll_votes").await, 1);

    // Bob's view of the post says what he chose; carol's that she did not vote.
    let seen = srv
        .get(&format!("/api/v1/statuses/{id}"), Some(&bob.token))
        .await
        .ok();
    assert_eq!(seen["poll"]["own_votes"], json!([1]));
    let seen = srv
        .get(&format!("/api/v1/statuses/{id}"), Some(&carol.token))
        .await
        .ok();
    assert_eq!(seen["poll"]["voted"], false);

    // Several options of a multiple-choice poll, as JSON; each counted once.
    let m = three_way(&srv, &alice, &[("poll[multiple]", "1")]).await;
    let mid = m["id"].as_str().unwrap();
    let poll = srv
        .post_json(
            &format!("/api/v1/polls/{mid}/votes"),
            Some(&carol.token),
            json!({"choices": [2, "0", 2]}),
        )
        .await
        .ok();
    assert_eq!(poll["own_votes"], json!([0, 2]));
    assert_eq!(counts(&poll), vec![json!(1), json!(0), json!(1)]);
    assert_eq!(poll["votes_count"], 2);
    assert_eq!(poll["voters_count"], 1);

    // Hidden totals stay hidden from voters too.
    let h = three_way(&srv, &alice, &[("poll[hide_totals]", "true")]).await;
    let hid = h["id"].as_str().unwrap();
    let (code, poll) = vote(&srv, &bob, hid, &["0"]).await;
    assert_eq!(code, 200);
    assert_eq!(counts(&poll), vec![Value::Null, Value::Null, Value::Null]);
    assert_eq!(poll["own_votes"], json!([0]));

    // A followers-only poll is not there for someone who does not follow.
    let private = three_way(&srv, &alice, &[("visibility", "private")]).await;
    let pid = private["id"].as_str().unwrap();
    let (code, _) = vote(&srv, &carol, pid, &["0"]).await;
    assert_eq!(code, 404);
    assert_eq!(
        srv.get(&format!("/api/v1/polls/{pid}"), Some(&carol.token))
            .await
            .status,
        404
    );
    // Deleting the post takes its poll and votes along.
    srv.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/statuses/{id}"),
        Some(&alice.token),
        None,
    )
    .await
    .ok();
    assert_eq!(
        srv.get(&format!("/api/v1/polls/{id}"), None).await.status,
        404
    );
    assert_eq!(srv.count("polls").await, 3);
    srv.stop().await;
}

/// `poll` notifications of `user`, newest first.
async fn poll_notifications(srv: &TestServer, user: &User) -> Vec<Value> {
    srv.get("/api/v1/notifications?types[]=poll", Some(&user.token))
        .await
        .ok()
        .as_array()
        .unwrap()
        .clone()
}

/// When voting ends, the voters and the author get a `poll` notification, the totals
/// show, and no vote counts any more. The end is found in the database: a poll that
/// ends while the server is down is handled when it starts again.
async fn an_ended_poll_notifies_its_voters_even_across_a_restart(db: Db) {
    let Some(mut srv) = TestServer::start(db, |c| c.poll_min_expiration_secs = 1).await else {
        return;
    };
    // The configured limit is the one announced.
    let inst = srv.get("/api/v2/instance", None).await.ok();
    assert_eq!(inst["configuration"]["polls"]["min_expiration"], 1);
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let s = post_poll(
        &srv,
        &alice,
        &[
            ("status", "quick!"),
            ("poll[options][]", "yes"),
            ("poll[options][]", "no"),
            ("poll[expires_in]", "2"),
            ("poll[hide_totals]", "true"),
        ],
    )
    .await;
    let id = s["id"].as_str().unwrap().to_string();
    let (code, _) = vote(&srv, &bob, &id, &["0"]).await;
    assert_eq!(code, 200);
    eventually("the poll's end notified", async || {
        poll_notifications(&srv, &bob).await.len() == 1
            && poll_notifications(&srv, &alice).await.len() == 1
    })
    .await;
    let n = &poll_notifications(&srv, &bob).await[0];
    assert_eq!(n["type"], "poll");
    assert_eq!(n["status"]["id"], id.as_str());
    assert_eq!(
        n["account"]["id"],
        alice.id.as_str(),
        "from the poll's author"
    );
    assert_eq!(n["status"]["poll"]["expired"], true);
    assert!(
        poll_notifications(&srv, &carol).await.is_empty(),
        "only voters"
    );
    let poll = srv.get(&format!("/api/v1/polls/{id}"), None).await.ok();
    assert_eq!(poll["expired"], true);
    assert_eq!(counts(&poll), vec![json!(1), json!(0)], "totals shown now");
    let (code, body) = vote(&srv, &carol, &id, &["1"]).await;
    assert_eq!(code, 422);
    assert!(body["error"].as_str().unwrap().contains("ended"), "{body}");

    // A poll that ends while the server is stopped.
    let s = post_poll(
        &srv,
        &alice,
        &[
            ("status", "while you were out"),
            ("poll[options][]", "a"),
            ("poll[options][]", "b"),
            ("poll[expires_in]", "2"),
        ],
    )
    .await;
    let later = s["id"].as_str().unwrap().to_string();
    let (code, _) = vote(&srv, &carol, &later, &["1"]).await;
    assert_eq!(code, 200);
    srv.halt().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    srv.resume().await;
    eventually(
        "the end while stopped notified after the start",
        async || {
            poll_notifications(&srv, &carol)
                .await
                .iter()
                .any(|n| n["status"]["id"] == later.as_str())
        },
    )
    .await;
    // Each end is notified once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(poll_notifications(&srv, &alice).await.len(), 2);
    assert_eq!(poll_notifications(&srv, &bob).await.len(), 1);
    srv.stop().await;
}

/// A poll across two servers: the follower's server shows it; a vote there goes to the
/// author's server as Mastodon sends votes (not a post), is counted there, and the
/// counts come back to the follower's server in an `Update` of the Question.
async fn a_vote_crosses_to_the_polls_server_and_counts_come_back(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let a_host = a.url.trim_start_matches("http://").to_string();
    follow_remote(&b, &bob, &format!("alice@{a_host}")).await;
    let s = three_way(&a, &alice, &[]).await;
    let uri = s["uri"].as_str().unwrap().to_string();

    // Alice's server publishes a Question.
    let doc = get_as2(&a, &uri, None).await.ok();
    assert_eq!(doc["type"], "Question", "{doc}");
    let one_of = doc["oneOf"].as_array().unwrap();
    assert_eq!(one_of.len(), 3);
    assert_eq!(one_of[1]["type"], "Note");
    assert_eq!(one_of[1]["name"], "green");
    assert_eq!(one_of[1]["replies"]["totalItems"], 0);
    assert!(
        doc["endTime"].is_string() && doc.get("closed").is_none(),
        "{doc}"
    );
    assert_eq!(doc["votersCount"], 0);

    // Bob's server has the post with its poll.
    let mut on_b = Value::Null;
    eventually("the poll on bob's server", async || {
        let home = b.get("/api/v1/timelines/home", Some(&bob.token)).await.ok();
        on_b = home
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["uri"] == uri.as_str())
            .cloned()
            .unwrap_or(Value::Null);
        !on_b.is_null()
    })
    .await;
    assert_eq!(on_b["poll"]["options"][2]["title"], "blue");
    assert_eq!(on_b["poll"]["voted"], false);
    let b_id = on_b["id"].as_str().unwrap().to_string();
    let (code, poll) = vote(&b, &bob, &b_id, &["2"]).await;
    assert_eq!(code, 200, "{poll}");
    assert_eq!(poll["own_votes"], json!([2]));
    assert_eq!(counts(&poll), vec![json!(0), json!(0), json!(1)]);

    // Counted on alice's server, once, and not as a post.
    let a_id = s["id"].as_str().unwrap().to_string();
    eventually("the vote counted on alice's server", async || {
        let p = a.get(&format!("/api/v1/polls/{a_id}"), None).await.ok();
        p["votes_count"] == 1
    })
    .await;
    let p = a.get(&format!("/api/v1/polls/{a_id}"), None).await.ok();
    assert_eq!(counts(&p), vec![json!(0), json!(0), json!(1)]);
    assert_eq!(p["voters_count"], 1);
    assert_eq!(a.count("statuses").await, 1, "a vote is not a post");
    let doc = get_as2(&a, &uri, None).await.ok();
    assert_eq!(doc["oneOf"][2]["replies"]["totalItems"], 1, "{doc}");
    assert_eq!(doc["votersCount"], 1);

    // A second vote from bob's server is refused there already.
    let (code, _) = vote(&b, &bob, &b_id, &["0"]).await;
    assert_eq!(code, 422);

    // Alice's server's Update(Question) brings a vote made there to bob's server.
    let carol = a.user("carol").await;
    let (code, _) = vote(&a, &carol, &a_id, &["0"]).await;
    assert_eq!(code, 200);
    eventually("the new counts on bob's server", async || {
        let p = b
            .get(&format!("/api/v1/polls/{b_id}"), Some(&bob.token))
            .await
            .ok();
        p["votes_count"] == 2 && p["own_votes"] == json!([2])
    })
    .await;
    let p = b
        .get(&format!("/api/v1/polls/{b_id}"), Some(&bob.token))
        .await
        .ok();
    assert_eq!(counts(&p), vec![json!(1), json!(0), json!(1)]);
    assert_eq!(p["voters_count"], 2);
    a.stop().await;
    b.stop().await;
}

/// A client posts a `Question` with `oneOf`/`anyOf` to its outbox: a poll, the same as
/// the Mastodon API makes; the limits hold there too.
async fn a_c2s_question_is_a_poll(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let end = sluice_model::Timestamp(sluice_model::id::now_millis() + 3_600_000).to_rfc3339();
    let outbox = |doc: Value| {
        srv.request(
            reqwest::Method::POST,
            "/users/alice/outbox",
            Some(&alice.token),
            Some(Body::Raw(
                "application/activity+json",
                doc.to_string().into_bytes(),
            )),
        )
    };
    let r = outbox(json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Question",
        "content": "<p>which?</p>",
        "to": [PUBLIC],
        "anyOf": [{"type": "Note", "name": "this"}, {"type": "Note", "name": "that"}],
        "endTime": end,
        "votersCount": 99,
    }))
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let statuses = srv
        .get(&format!("/api/v1/accounts/{}/statuses", alice.id), None)
        .await
        .ok();
    let s = &statuses[0];
    assert_eq!(s["poll"]["multiple"], true, "{s}");
    assert_eq!(
        s["poll"]["options"],
        json!([{"title": "this", "votes_count": 0}, {"title": "that", "votes_count": 0}])
    );
    // The federated object is the poll as stored, not the client's counts.
    let doc = get_as2(&srv, s["uri"].as_str().unwrap(), None).await.ok();
    assert_eq!(doc["type"], "Question");
    assert_eq!(doc["anyOf"][0]["replies"]["totalItems"], 0, "{doc}");
    assert_eq!(doc["votersCount"], 0);
    assert!(doc.get("oneOf").is_none());

    let before = srv.count("statuses").await;
    for bad in [
        json!({"type": "Question", "content": "x", "to": [PUBLIC], "endTime": end,
               "oneOf": [{"type": "Note", "name": "alone"}]}),
        json!({"type": "Question", "content": "x", "to": [PUBLIC],
               "oneOf": [{"type": "Note", "name": "a"}, {"type": "Note", "name": "b"}]}),
    ] {
        let r = outbox(bad).await;
        assert_eq!(r.status, 422, "{}", r.text);
    }
    assert_eq!(srv.count("statuses").await, before);
    srv.stop().await;
}

/// Questions as Mastodon, Misskey, Pleroma and Smithereen send them become posts with
/// polls; a local vote in a remote poll goes to its author alone as a `Create` of a
/// Note named by the option; the author's `Update` brings new counts; a remote vote in
/// a local poll counts once.
async fn remote_questions_are_votable_polls(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = crate::inbox::peer().await;
    let bob = srv.user("bob").await;
    // (fixture, origin to move onto the peer, options, multiple, closed)
    let fixtures = [
        (
            "mastodon/mastodon-question-activity.json",
            "https://mastodon.sdf.org",
            3,
            false,
            true,
        ),
        (
            "misskey/misskey_poll_no_end_date.json",
            "https://skippers-bin.com",
            2,
            false,
            false,
        ),
        (
            "pleroma/poll_attachment.json",
            "https://patch.cx",
            0,
            false,
            true,
        ),
        (
            "smithereen/smithereen_non_anonymous_poll.json",
            "https://friends.grishka.me",
            0,
            false,
            false,
        ),
    ];
    for (file, origin, _, _, _) in &fixtures {
        let path = format!(
            "{}/../../tests/fixtures/activitypub/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace(origin, &p.url);
        let doc: Value = serde_json::from_str(&text).unwrap();
        let object = if doc["type"] == "Create" {
            doc["object"].clone()
        } else {
            doc.clone()
        };
        let author = object["attributedTo"].as_str().unwrap().to_string();
        let name = author.rsplit('/').next().unwrap().to_string();
        let id = object["id"].as_str().unwrap().to_string();
        deliver(
            &srv,
            &p,
            &name,
            json!({"@context": "https://www.w3.org/ns/activitystreams",
                   "id": format!("{id}#create"), "type": "Create", "actor": author,
                   "to": object["to"], "cc": object["cc"], "object": object}),
        )
        .await;
    }
    settled(&srv).await;
    for (file, origin, _, _, _) in &fixtures {
        let path = format!(
            "{}/../../tests/fixtures/activitypub/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let object = if doc["type"] == "Create" {
            &doc["object"]
        } else {
            &doc
        };
        let source = object["oneOf"]
            .as_array()
            .filter(|a| !a.is_empty())
            .or(object["anyOf"].as_array())
            .unwrap()
            .clone();
        let uri = object["id"].as_str().unwrap().replace(origin, &p.url);
        let status = srv
            .engine()
            .status_by_uri(&uri)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{file} stored"));
        let s = srv
            .get(&format!("/api/v1/statuses/{}", status.id), Some(&bob.token))
            .await
            .ok();
        let poll = &s["poll"];
        let titles: Vec<&str> = poll["options"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: {s}"))
            .iter()
            .map(|o| o["title"].as_str().unwrap())
            .collect();
        let names: Vec<&str> = source.iter().map(|o| o["name"].as_str().unwrap()).collect();
        assert_eq!(titles, names, "{file}");
        let tallies: Vec<i64> = source
            .iter()
            .map(|o| o["replies"]["totalItems"].as_i64().unwrap_or(0))
            .collect();
        assert_eq!(
            counts(poll),
            tallies.iter().map(|n| json!(n)).collect::<Vec<_>>(),
            "{file}"
        );
        assert_eq!(poll["voted"], false, "{file}");
    }
    // Mastodon's ended (its endTime is in 2019); Misskey's has no end.
    let ended = srv
        .engine()
        .status_by_uri(&format!(
            "{}/users/rinpatch/statuses/102070944809637304",
            p.url
        ))
        .await
        .unwrap()
        .unwrap();
    let poll = srv
        .get(&format!("/api/v1/polls/{}", ended.id), Some(&bob.token))
        .await
        .ok();
    assert_eq!(poll["expired"], true);
    let (code, _) = vote(&srv, &bob, &ended.id.to_string(), &["0"]).await;
    assert_eq!(code, 422);
    let endless = srv
        .engine()
        .status_by_uri(&format!("{}/notes/7x9tmrp97i", p.url))
        .await
        .unwrap()
        .unwrap();
    let poll = srv
        .get(&format!("/api/v1/polls/{}", endless.id), None)
        .await
        .ok();
    assert_eq!(poll["expires_at"], Value::Null);
    assert_eq!(poll["expired"], false);

    // An open remote poll: bob votes; the peer's author gets the vote, only it.
    let author = format!("{}/users/zoe", p.url);
    let question = format!("{}/notes/q1", p.url);
    let end = sluice_model::Timestamp(sluice_model::id::now_millis() + 3_600_000).to_rfc3339();
    let q = |counts: [i64; 2], voters: i64| {
        json!({"id": question, "type": "Question", "attributedTo": author,
        "content": "<p>up or down?</p>", "to": [PUBLIC], "endTime": end,
        "published": "2024-01-01T00:00:00Z", "votersCount": voters,
        "anyOf": [
            {"type": "Note", "name": "up", "replies": {"type": "Collection", "totalItems": counts[0]}},
            {"type": "Note", "name": "down", "replies": {"type": "Collection", "totalItems": counts[1]}}
        ]})
    };
    deliver(
        &srv,
        &p,
        "zoe",
        json!({"@context": "https://www.w3.org/ns/activitystreams",
               "id": format!("{question}/activity"), "type": "Create", "actor": author,
               "to": [PUBLIC], "object": q([3, 1], 3)}),
    )
    .await;
    settled(&srv).await;
    let open = srv
        .engine()
        .status_by_uri(&question)
        .await
        .unwrap()
        .unwrap();
    let (code, poll) = vote(&srv, &bob, &open.id.to_string(), &["0", "1"]).await;
    assert_eq!(code, 200, "{poll}");
    assert_eq!(
        counts(&poll),
        vec![json!(4), json!(2)],
        "ours added at once"
    );
    assert_eq!(poll["voters_count"], 4);
    let bob_uri = format!("{}/users/bob", srv.url);
    let mut votes: Vec<Value> = Vec::new();
    eventually("the votes at the poll's author", async || {
        votes = p
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a["type"] == "Create" && a["object"]["inReplyTo"] == question.as_str())
            .cloned()
            .collect();
        votes.len() == 2
    })
    .await;
    let mut names: Vec<&str> = votes
        .iter()
        .map(|v| v["object"]["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["down", "up"]);
    for v in &votes {
        assert_eq!(v["actor"], bob_uri.as_str());
        assert_eq!(v["to"], json!([author]), "to the author alone: {v}");
        assert_eq!(v["object"]["type"], "Note");
        assert_eq!(v["object"]["attributedTo"], bob_uri.as_str());
        assert!(v.get("cc").is_none_or(|cc| cc == &json!([])), "{v}");
    }
    // The author's count comes back without an edit date: it is applied.
    deliver(
        &srv,
        &p,
        "zoe",
        json!({"@context": "https://www.w3.org/ns/activitystreams",
               "id": format!("{question}#updates/1"), "type": "Update", "actor": author,
               "to": [PUBLIC], "object": q([10, 7], 12)}),
    )
    .await;
    settled(&srv).await;
    let poll = srv
        .get(&format!("/api/v1/polls/{}", open.id), Some(&bob.token))
        .await
        .ok();
    assert_eq!(counts(&poll), vec![json!(10), json!(7)]);
    assert_eq!(poll["voters_count"], 12);
    assert_eq!(poll["own_votes"], json!([0, 1]));

    // The peer's actor votes in bob's poll: counted once, not a post.
    let mine = three_way(&srv, &bob, &[]).await;
    let mine_uri = mine["uri"].as_str().unwrap();
    let statuses = srv.count("statuses").await;
    for (n, option) in [(1, "green"), (2, "blue"), (3, "no such option")] {
        let note = format!("{}/users/zoe#votes/{n}", p.url);
        deliver(
            &srv,
            &p,
            "zoe",
            json!({"@context": "https://www.w3.org/ns/activitystreams",
                   "id": format!("{note}/activity"), "type": "Create", "actor": author,
                   "to": [bob_uri], "object": {"id": note, "type": "Note", "name": option,
                   "attributedTo": author, "inReplyTo": mine_uri, "to": [bob_uri]}}),
        )
        .await;
        // One after the other: the inbox orders activities per object only.
        settled(&srv).await;
    }
    let poll = srv
        .get(
            &format!("/api/v1/polls/{}", mine["id"].as_str().unwrap()),
            None,
        )
        .await
        .ok();
    assert_eq!(
        counts(&poll),
        vec![json!(0), json!(1), json!(0)],
        "one vote in a single-choice poll"
    );
    assert_eq!(poll["voters_count"], 1);
    assert_eq!(srv.count("statuses").await, statuses, "votes are not posts");
    srv.stop().await;
}

/// A post's page shows its poll: a signed-in reader who has not voted gets its options
/// as radio buttons of the page's form (no script needed) and votes with a POST that
/// comes back to the page, which then shows the counts and their choice; a choice from
/// nowhere is refused and counts nothing.
async fn the_web_app_shows_polls_and_votes_without_javascript(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    srv.user("bob").await;
    let s = three_way(&srv, &alice, &[]).await;
    let id = s["id"].as_str().unwrap();
    let mut b = crate::web::Browser::new(&srv);
    let r = b.sign_in("bob", "password123").await;
    assert_eq!(r.status, 303, "{}", r.text);
    let path = format!("/@alice/{id}");
    let page = b.get(&path).await;
    assert_eq!(page.status, 200);
    for (i, title) in ["red", "green", "blue"].iter().enumerate() {
        assert!(
            page.text.contains(&format!(
                "<input type=\"radio\" name=\"choices_{id}[]\" value=\"{i}\" form=\"act\"> {title}</label>"
            )),
            "{}",
            page.text
        );
    }
    assert!(
        page.text
            .contains(&format!("formaction=\"/statuses/{id}/vote\"")),
        "{}",
        page.text
    );
    let token = page.token();
    let choice = format!("choices_{id}[]");
    // Nothing chosen: refused, nothing counted.
    let r = b
        .post(
            &format!("/statuses/{id}/vote"),
            &[("authenticity_token", token.as_str()), ("return_to", &path)],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = b
        .post(
            &format!("/statuses/{id}/vote"),
            &[
                ("authenticity_token", token.as_str()),
                ("return_to", &path),
                (&choice, "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let poll = srv.get(&format!("/api/v1/polls/{id}"), None).await.ok();
    assert_eq!(counts(&poll), vec![json!(0), json!(1), json!(0)]);
    let page = b.get(&path).await;
    assert!(
        !page.text.contains("type=\"radio\""),
        "voted: no more choices"
    );
    assert!(page.text.contains("1 vote"), "{}", page.text);
    assert!(page.text.contains("(your choice)"), "{}", page.text);
    // Alice's own page shows the results, not a form.
    let mut a = crate::web::Browser::new(&srv);
    a.sign_in("alice", "password123").await;
    let page = a.get(&path).await;
    assert!(page.text.contains("1 person voted"), "{}", page.text);
    assert!(!page.text.contains("type=\"radio\""));
    srv.stop().await;
}

/// The web app's compose form offers a poll: its filled-in choices, end and "several
/// choices" box become the post's poll; empty choice fields are ignored, a poll with a
/// single choice is refused and posts nothing.
async fn a_poll_is_made_from_the_compose_form(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("alice").await;
    let mut b = crate::web::Browser::new(&srv);
    b.sign_in("alice", "password123").await;
    let home = b.get("/home").await;
    assert!(
        home.text.contains("name=\"poll_option_0\""),
        "{}",
        home.text
    );
    assert!(home.text.contains("name=\"poll_expires_in\""));
    let token = home.token();
    let r = b
        .post(
            "/statuses",
            &[
                ("authenticity_token", token.as_str()),
                ("status", "which one?"),
                ("visibility", "public"),
                ("poll_option_0", "tea"),
                ("poll_option_1", ""),
                ("poll_option_2", "coffee"),
                ("poll_expires_in", "3600"),
                ("poll_multiple", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let mine = srv.lookup_id("alice").await;
    let posts = srv
        .get(&format!("/api/v1/accounts/{mine}/statuses"), None)
        .await
        .ok();
    let poll = &posts[0]["poll"];
    let titles: Vec<&str> = poll["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["tea", "coffee"]);
    assert_eq!(poll["multiple"], json!(true));
    let expires = sluice_model::Timestamp::parse_rfc3339(poll["expires_at"].as_str().unwrap())
        .expect("a date");
    let ahead = expires.0 - sluice_model::id::now_millis();
    assert!((3_500_000..=3_600_000).contains(&ahead), "{ahead}");
    // One choice is not a poll: refused, nothing posted.
    let r = b
        .post(
            "/statuses",
            &[
                ("authenticity_token", token.as_str()),
                ("status", "only one"),
                ("poll_option_0", "tea"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let posts = srv
        .get(&format!("/api/v1/accounts/{mine}/statuses"), None)
        .await
        .ok();
    assert_eq!(posts.as_array().unwrap().len(), 1);
    srv.stop().await;
}
