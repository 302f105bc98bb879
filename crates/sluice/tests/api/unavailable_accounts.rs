//! A local account that is not served (issue 17), answered as Mastodon 4 answers:
//! suspended by a moderator (restorable), its profile, posts and their ActivityPub
//! objects answer 403 while its actor document is still served with `suspended`
//! (servers keep its key) and WebFinger still finds it; the API shows it with
//! `suspended: true` and a blank profile; its posts are hidden. Unsuspended, all of it
//! is back. (A deleted account, 410 everywhere, is in `portability.rs`.)

use crate::common::{Db, TestServer, get_as2};
use crate::web::Browser;

db_tests!(a_suspended_local_account_stops_serving);

/// What `srv` answers about alice and her post `id` (object `uri`): the statuses of her
/// profile page, post page, actor, post object (as its URI and as its page's URL asked
/// for ActivityStreams), outbox, feed and WebFinger.
async fn answers(srv: &TestServer, id: &str, uri: &str) -> Vec<(String, u16)> {
    let mut out = Vec::new();
    for path in [
        "/@alice".to_string(),
        format!("/@alice/{id}"),
        "/@alice.rss".into(),
    ] {
        let page = Browser::new(srv).get(&path).await;
        out.push((path, page.status.as_u16()));
    }
    for url in [
        format!("{}/users/alice", srv.url),
        uri.to_string(),
        format!("{}/@alice/{id}", srv.url),
        format!("{}/users/alice/outbox", srv.url),
    ] {
        let r = get_as2(srv, &url, None).await;
        out.push((url, r.status.as_u16()));
    }
    let domain = srv.url.trim_start_matches("http://");
    let wf = format!("/.well-known/webfinger?resource=acct:alice@{domain}");
    out.push((wf.clone(), srv.get(&wf, None).await.status.as_u16()));
    out
}

fn statuses(answers: &[(String, u16)]) -> Vec<u16> {
    answers.iter().map(|(_, s)| *s).collect()
}

async fn a_suspended_local_account_stops_serving(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let mo = srv.staff("mo", "moderator").await;
    srv.update_credentials(
        &alice.token,
        &[("display_name", "Alice A."), ("note", "my bio")],
    )
    .await
    .ok();
    let post = srv.status(&alice, "a public post", &[]).await;
    let id = post["id"].as_str().unwrap().to_string();
    let uri = post["uri"].as_str().unwrap().to_string();
    let served = answers(&srv, &id, &uri).await;
    assert_eq!(statuses(&served), vec![200; 8], "{served:?}");

    srv.post(
        &format!("/api/v1/admin/accounts/{}/action", alice.id),
        Some(&mo.token),
        &[("type", "suspend")],
    )
    .await
    .ok();
    // Pages, feed, post objects and outbox: 403; the actor (with `suspended`) and
    // WebFinger still answer.
    let suspended = answers(&srv, &id, &uri).await;
    assert_eq!(
        statuses(&suspended),
        vec![403, 403, 403, 200, 403, 403, 403, 200],
        "{suspended:?}"
    );
    let actor = get_as2(&srv, &format!("{}/users/alice", srv.url), None).await;
    assert_eq!(actor.body["suspended"], true, "{}", actor.text);
    // The API: the account, blank, with `suspended`; by id and by lookup.
    for path in [
        format!("/api/v1/accounts/{}", alice.id),
        "/api/v1/accounts/lookup?acct=alice".to_string(),
    ] {
        let a = srv.get(&path, None).await.ok();
        assert_eq!(a["id"], alice.id.as_str(), "{a}");
        assert_eq!(a["suspended"], true, "{a}");
        assert_eq!(a["display_name"], "", "{a}");
        assert_eq!(a["note"], "", "{a}");
        assert!(
            a["avatar"]
                .as_str()
                .unwrap()
                .ends_with("/avatars/original/missing.png"),
            "{a}"
        );
    }
    // Her post is hidden.
    srv.get(&format!("/api/v1/statuses/{id}"), None)
        .await
        .expect(404);
    let public = srv.get("/api/v1/timelines/public", None).await.ok();
    assert!(!public.to_string().contains("a public post"), "{public}");

    // Unsuspended: all back.
    srv.post(
        &format!("/api/v1/admin/accounts/{}/unsuspend", alice.id),
        Some(&mo.token),
        &[],
    )
    .await
    .ok();
    let back = answers(&srv, &id, &uri).await;
    assert_eq!(statuses(&back), vec![200; 8], "{back:?}");
    let a = srv
        .get(&format!("/api/v1/accounts/{}", alice.id), None)
        .await
        .ok();
    assert_eq!(a["display_name"], "Alice A.", "{a}");
    assert!(a.get("suspended").is_none(), "{a}");
    srv.get(&format!("/api/v1/statuses/{id}"), None).await.ok();
    srv.stop().await;
}
