//! What a person features and hides for themselves, and what the admin announces:
//! endorsed accounts, muted conversations, the profile directory, `/api/v1/profile`,
//! and announcements (`sluice admin announce` through the engine) with dismissals and
//! reactions.

use reqwest::Method;
use serde_json::json;

use crate::common::{Body, Db, TestServer, ids};

db_tests!(
    endorse_accounts_one_follows,
    muted_conversation_sends_no_notifications,
    directory_lists_discoverable_accounts,
    profile_entity_reads_and_writes,
    announcements_dismissals_and_reactions,
    announcements_stream_to_every_user,
    instance_v2_advertises_what_works,
);

async fn endorse_accounts_one_follows(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let pin = |who: &str| format!("/api/v1/accounts/{who}/pin");
    // Not followed yet: refused.
    let r = srv.post(&pin(&bob.id), Some(&alice.token), &[]).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.body["error"].as_str().unwrap().contains("following"));
    // Not oneself, not an unknown account.
    srv.post(&pin(&alice.id), Some(&alice.token), &[])
        .await
        .expect(422);
    srv.post(&pin("424242"), Some(&alice.token), &[])
        .await
        .expect(404);

    for who in [&bob, &carol] {
        srv.post(
            &format!("/api/v1/accounts/{}/follow", who.id),
            Some(&alice.token),
            &[],
        )
        .await
        .ok();
    }
    let rel = srv.post(&pin(&bob.id), Some(&alice.token), &[]).await.ok();
    assert_eq!(rel["id"], bob.id.as_str());
    assert_eq!(rel["endorsed"], true);
    // Twice is fine.
    srv.post(&pin(&bob.id), Some(&alice.token), &[]).await.ok();
    srv.post(&pin(&carol.id), Some(&alice.token), &[])
        .await
        .ok();
    let list = srv
        .get("/api/v1/endorsements", Some(&alice.token))
        .await
        .ok();
    assert_eq!(ids(&list), vec![carol.id.clone(), bob.id.clone()]);
    // Anyone can see whom alice features.
    let public = srv
        .get(&format!("/api/v1/accounts/{}/endorsements", alice.id), None)
        .await
        .ok();
    assert_eq!(ids(&public), vec![carol.id.clone(), bob.id.clone()]);
    // Paged.
    let r = srv
        .get("/api/v1/endorsements?limit=1", Some(&alice.token))
        .await;
    assert!(r.link().contains("max_id="), "{}", r.link());
    // Relationships say it, to alice only.
    let q = format!("/api/v1/accounts/relationships?id[]={}", bob.id);
    assert_eq!(
        srv.get(&q, Some(&alice.token)).await.ok()[0]["endorsed"],
        true
    );
    assert_eq!(
        srv.get(&q, Some(&carol.token)).await.ok()[0]["endorsed"],
        false
    );

    // Unpinned; and unfollowing ends the other endorsement.
    let rel = srv
        .post(
            &format!("/api/v1/accounts/{}/unpin", bob.id),
            Some(&alice.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(rel["endorsed"], false);
    srv.post(
        &format!("/api/v1/accounts/{}/unfollow", carol.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(
        srv.get("/api/v1/endorsements", Some(&alice.token))
            .await
            .ok(),
        json!([])
    );
    // Reading needs read:accounts; writing write:accounts.
    srv.get("/api/v1/endorsements", None).await.expect(401);
    srv.stop().await;
}

async fn muted_conversation_sends_no_notifications(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let root = srv.status(&alice, "a thread", &[]).await;
    let root_id = root["id"].as_str().unwrap();
    let other = srv.status(&alice, "another post", &[]).await;
    let muted = srv
        .post(
            &format!("/api/v1/statuses/{root_id}/mute"),
            Some(&alice.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(muted["muted"], true);
    // Seen as muted on any post of the thread, by alice only.
    let reply = srv
        .status(
            &bob,
            "@alice a reply in the thread",
            &[("in_reply_to_id", root_id)],
        )
        .await;
    let seen = srv
        .get(
            &format!("/api/v1/statuses/{}", reply["id"].as_str().unwrap()),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(seen["muted"], true);
    let seen = srv
        .get(&format!("/api/v1/statuses/{root_id}"), Some(&bob.token))
        .await
        .ok();
    assert_eq!(seen["muted"], false);
    // No notifications from the thread: the mention in it, a favourite of it.
    srv.post(
        &format!("/api/v1/statuses/{root_id}/favourite"),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    // From elsewhere they still come.
    srv.post(
        &format!(
            "/api/v1/statuses/{}/favourite",
            other["id"].as_str().unwrap()
        ),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    let n = srv
        .get("/api/v1/notifications", Some(&alice.token))
        .await
        .ok();
    let kinds: Vec<(&str, &str)> = n
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["type"].as_str().unwrap(),
                n["status"]["id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds, vec![("favourite", other["id"].as_str().unwrap())]);

    // Unmuted: notifications come again.
    let unmuted = srv
        .post(
            &format!("/api/v1/statuses/{root_id}/unmute"),
            Some(&alice.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(unmuted["muted"], false);
    srv.status(&bob, "@alice again", &[("in_reply_to_id", root_id)])
        .await;
    let n = srv
        .get("/api/v1/notifications", Some(&alice.token))
        .await
        .ok();
    assert_eq!(n[0]["type"], "mention");
    // A post one may not see cannot be muted.
    srv.user("carol").await;
    let private = srv
        .status(&bob, "@carol only for carol", &[("visibility", "direct")])
        .await;
    srv.post(
        &format!("/api/v1/statuses/{}/mute", private["id"].as_str().unwrap()),
        Some(&alice.token),
        &[],
    )
    .await
    .expect(404);
    srv.stop().await;
}

async fn directory_lists_discoverable_accounts(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let hidden = srv.user("hidden").await;
    srv.update_credentials(&hidden.token, &[("discoverable", "false")])
        .await
        .ok();
    // carol posted last: first by activity; newest account first by `new`.
    srv.status(&bob, "hello", &[]).await;
    srv.status(&carol, "hello too", &[]).await;
    let active = srv.get("/api/v1/directory", None).await.ok();
    let listed = ids(&active);
    assert_eq!(&listed[..2], &[carol.id.clone(), bob.id.clone()]);
    assert!(!listed.contains(&hidden.id));
    let new = srv.get("/api/v1/directory?order=new", None).await.ok();
    assert_eq!(
        ids(&new),
        vec![carol.id.clone(), bob.id.clone(), alice.id.clone()]
    );
    let page = srv
        .get("/api/v1/directory?order=new&limit=1&offset=1", None)
        .await
        .ok();
    assert_eq!(ids(&page), vec![bob.id.clone()]);
    // A reader does not see whom they block, nor themselves.
    srv.post(
        &format!("/api/v1/accounts/{}/block", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    let seen = srv
        .get("/api/v1/directory?local=true", Some(&alice.token))
        .await
        .ok();
    assert_eq!(ids(&seen), vec![carol.id.clone()]);
    srv.get("/api/v1/directory?order=loudest", None)
        .await
        .expect(400);
    srv.stop().await;
}

async fn profile_entity_reads_and_writes(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let p = srv.get("/api/v1/profile", Some(&alice.token)).await.ok();
    assert_eq!(p["id"], alice.id.as_str());
    // Default images are no image.
    assert_eq!(p["avatar"], json!(null));
    assert_eq!(p["header"], json!(null));
    let p = srv
        .request(
            Method::PATCH,
            "/api/v1/profile",
            Some(&alice.token),
            Some(Body::Form(vec![
                ("display_name".into(), "Alice A.".into()),
                ("note".into(), "I like #rust & <b>tags</b>".into()),
                ("fields_attributes[0][name]".into(), "site".into()),
                (
                    "fields_attributes[0][value]".into(),
                    "https://a.example".into(),
                ),
                ("locked".into(), "true".into()),
            ])),
        )
        .await
        .ok();
    assert_eq!(p["display_name"], "Alice A.");
    // The note and fields as typed, not rendered.
    assert_eq!(p["note"], "I like #rust & <b>tags</b>");
    assert_eq!(p["fields"][0]["name"], "site");
    assert_eq!(p["fields"][0]["value"], "https://a.example");
    assert_eq!(p["locked"], true);
    // The account shows the rendered note.
    let a = srv
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .ok();
    assert!(
        a["note"].as_str().unwrap().contains("&lt;b&gt;"),
        "{}",
        a["note"]
    );
    // Bad input is a 4xx and changes nothing.
    let r = srv
        .request(
            Method::PATCH,
            "/api/v1/profile",
            Some(&alice.token),
            Some(Body::Form(vec![("display_name".into(), "x".repeat(500))])),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let p = srv.get("/api/v1/profile", Some(&alice.token)).await.ok();
    assert_eq!(p["display_name"], "Alice A.");
    srv.get("/api/v1/profile", None).await.expect(401);
    srv.stop().await;
}

async fn announcements_dismissals_and_reactions(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    assert_eq!(
        srv.get("/api/v1/announcements", Some(&alice.token))
            .await
            .ok(),
        json!([])
    );
    let engine = srv.engine();
    let a = engine
        .publish_announcement(sluice_engine::announcements::NewAnnouncement {
            text: "Maintenance tonight, see https://status.example #ops".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let ended = engine
        .publish_announcement(sluice_engine::announcements::NewAnnouncement {
            text: "over".into(),
            starts_at: Some(1_000),
            ends_at: Some(2_000),
            all_day: false,
        })
        .await
        .unwrap();
    let list = srv
        .get("/api/v1/announcements", Some(&alice.token))
        .await
        .ok();
    assert_eq!(
        ids(&list),
        vec![a.id.to_string()],
        "ended ones are not shown"
    );
    let one = &list[0];
    assert!(
        one["content"]
            .as_str()
            .unwrap()
            .contains("<a href=\"https://status.example\"")
    );
    assert_eq!(one["read"], false);
    assert_eq!(one["reactions"], json!([]));

    // Reactions: Unicode emoji only, counted per emoji, `me` per reader.
    let react = |token: String, name: &'static str, method: Method| {
        let srv = &srv;
        let path = format!(
            "/api/v1/announcements/{}/reactions/{}",
            a.id,
            urlencode(name)
        );
        async move { srv.request(method, &path, Some(&token), None).await }
    };
    react(alice.token.clone(), "👍", Method::PUT).await.ok();
    react(bob.token.clone(), "👍", Method::PUT).await.ok();
    react(bob.token.clone(), "🎉", Method::PUT).await.ok();
    react(bob.token.clone(), "👍", Method::PUT).await.ok();
    let r = react(alice.token.clone(), "notanemoji", Method::PUT).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let seen = srv
        .get("/api/v1/announcements", Some(&alice.token))
        .await
        .ok();
    assert_eq!(
        seen[0]["reactions"],
        json!([
            {"name": "👍", "count": 2, "me": true, "url": null, "static_url": null},
            {"name": "🎉", "count": 1, "me": false, "url": null, "static_url": null},
        ])
    );
    react(alice.token.clone(), "👍", Method::DELETE).await.ok();
    let seen = srv
        .get("/api/v1/announcements", Some(&alice.token))
        .await
        .ok();
    assert_eq!(seen[0]["reactions"][0]["count"], 1);
    assert_eq!(seen[0]["reactions"][0]["me"], false);
    // An ended or unknown announcement cannot be reacted to.
    srv.request(
        Method::PUT,
        &format!("/api/v1/announcements/{}/reactions/%F0%9F%91%8D", ended.id),
        Some(&alice.token),
        None,
    )
    .await
    .expect(404);

    // Dismissed: gone for alice, shown with with_dismissed, still there for bob.
    srv.post(
        &format!("/api/v1/announcements/{}/dismiss", a.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(
        srv.get("/api/v1/announcements", Some(&alice.token))
            .await
            .ok(),
        json!([])
    );
    let all = srv
        .get(
            "/api/v1/announcements?with_dismissed=true",
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(all[0]["read"], true);
    assert_eq!(
        ids(&srv
            .get("/api/v1/announcements", Some(&bob.token))
            .await
            .ok()),
        vec![a.id.to_string()]
    );
    srv.get("/api/v1/announcements", None).await.expect(401);
    // Removed by the admin, with its reactions.
    assert!(engine.remove_announcement(a.id).await.unwrap());
    assert_eq!(srv.count("announcement_reactions").await, 0);
    assert!(
        srv.get("/api/v1/announcements", Some(&bob.token))
            .await
            .ok()
            .as_array()
            .unwrap()
            .is_empty()
    );
    srv.stop().await;
}

/// Every signed-in user's `user` stream gets an announcement when it is published, the
/// new count when someone reacts, and its id when it is removed (Mastodon's
/// `announcement`, `announcement.reaction`, `announcement.delete`); a stream resumed
/// from before them gets them too.
async fn announcements_stream_to_every_user(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let mut stream =
        crate::streaming::Sse::open(&srv, "/api/v1/streaming/user", &alice.token, None).await;
    let mut notes = crate::streaming::Sse::open(
        &srv,
        "/api/v1/streaming/user/notification",
        &alice.token,
        None,
    )
    .await;
    let engine = srv.engine();
    let a = engine
        .publish_announcement(sluice_engine::announcements::NewAnnouncement {
            text: "Hello everyone".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let ev = stream.next().await;
    assert_eq!(ev.event, "announcement");
    let first_id = ev.id.unwrap();
    let payload: serde_json::Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(payload["id"], a.id.to_string());
    assert_eq!(payload["content"], "<p>Hello everyone</p>");
    assert_eq!(payload["reactions"], json!([]));

    let r = srv
        .request(
            Method::PUT,
            &format!(
                "/api/v1/announcements/{}/reactions/{}",
                a.id,
                urlencode("👍")
            ),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ev = stream.next().await;
    assert_eq!(ev.event, "announcement.reaction");
    let payload: serde_json::Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(
        payload,
        json!({"name": "👍", "count": 1, "announcement_id": a.id.to_string()})
    );

    assert!(engine.remove_announcement(a.id).await.unwrap());
    let ev = stream.next().await;
    assert_eq!(ev.event, "announcement.delete");
    assert_eq!(ev.data, a.id.to_string());
    // Not on the notifications-only stream.
    assert!(
        notes
            .drain(std::time::Duration::from_millis(300))
            .await
            .is_empty()
    );
    // Resumed from before them: the three again, in order.
    let mut resumed = crate::streaming::Sse::open(
        &srv,
        "/api/v1/streaming/user",
        &alice.token,
        Some(first_id - 1),
    )
    .await;
    let kinds: Vec<String> = [
        resumed.next().await,
        resumed.next().await,
        resumed.next().await,
    ]
    .into_iter()
    .map(|e| e.event)
    .collect();
    assert_eq!(
        kinds,
        [
            "announcement",
            "announcement.reaction",
            "announcement.delete"
        ]
    );
    srv.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

async fn instance_v2_advertises_what_works(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let i = srv.get("/api/v2/instance", None).await.ok();
    let c = &i["configuration"];
    assert_eq!(c["translation"]["enabled"], false);
    assert_eq!(c["accounts"]["max_note_length"], 500);
    assert_eq!(c["accounts"]["max_profile_fields"], 4);
    assert_eq!(
        c["urls"]["about"],
        format!("{}/about", srv.url.trim_end_matches('/'))
    );
    srv.stop().await;
}
