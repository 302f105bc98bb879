//! Grouped notifications (`/api/v2/notifications`) as Mastodon 4.3 answers them: the
//! groups, their paging and filters, one group, its accounts and dismissal, unread
//! counts against the read marker, the notification policy and requests, bad input.

use reqwest::Method;
use serde_json::Value;

use crate::common::{Body, Db, TestServer, User};

db_tests!(
    favourites_reblogs_follows_grouped,
    grouped_paging_and_filters,
    partial_avatars,
    group_fetch_accounts_and_dismiss,
    unread_counts_with_marker,
    policy_and_requests,
    bad_input_is_never_a_server_error
);

/// alice's post, favourited then reblogged by bob, carol and dave, who then follow
/// her; then erin mentions her.
struct Scene {
    srv: TestServer,
    alice: User,
    bob: User,
    carol: User,
    dave: User,
    erin: User,
    post: String,
}

async fn scene(db: Db) -> Option<Scene> {
    let srv = TestServer::start(db, |_| {}).await?;
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let dave = srv.user("dave").await;
    let erin = srv.user("erin").await;
    let post = srv.status(&alice, "hello", &[]).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for action in ["favourite", "reblog"] {
        for u in [&bob, &carol, &dave] {
            srv.post(
                &format!("/api/v1/statuses/{post}/{action}"),
                Some(&u.token),
                &[],
            )
            .await
            .ok();
        }
    }
    for u in [&bob, &carol, &dave] {
        srv.post(
            &format!("/api/v1/accounts/{}/follow", alice.id),
            Some(&u.token),
            &[],
        )
        .await
        .ok();
    }
    srv.status(&erin, "@alice hi", &[]).await;
    Some(Scene {
        srv,
        alice,
        bob,
        carol,
        dave,
        erin,
        post,
    })
}

fn groups(v: &Value) -> &Vec<Value> {
    v["notification_groups"]
        .as_array()
        .expect("notification_groups")
}

fn kinds(v: &Value) -> Vec<String> {
    groups(v)
        .iter()
        .map(|g| g["type"].as_str().unwrap().to_string())
        .collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn account_ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

/// The `max_id` of a `Link` header's `next` link.
fn next_max_id(link: &str) -> String {
    let next = link
        .split(", ")
        .find(|p| p.ends_with("rel=\"next\""))
        .unwrap_or_else(|| panic!("no next link in {link:?}"));
    let at = next.find("max_id=").expect("max_id") + "max_id=".len();
    next[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect()
}

async fn favourites_reblogs_follows_grouped(db: Db) {
    let Some(s) = scene(db).await else { return };
    let (srv, alice) = (&s.srv, &s.alice);
    let v = srv
        .get("/api/v2/notifications", Some(&alice.token))
        .await
        .ok();
    assert_eq!(kinds(&v), ["mention", "follow", "reblog", "favourite"]);
    let newest_first = vec![s.dave.id.clone(), s.carol.id.clone(), s.bob.id.clone()];
    for g in &groups(&v)[1..] {
        assert_eq!(g["notifications_count"], 3, "{g}");
        assert_eq!(strs(&g["sample_account_ids"]), newest_first, "{g}");
        assert!(g["page_min_id"].as_str().unwrap() < g["page_max_id"].as_str().unwrap());
        assert_eq!(g["most_recent_notification_id"], g["page_max_id"]);
        assert!(g["latest_page_notification_at"].is_string());
    }
    let (mention, follow, reblog, fav) = (
        &groups(&v)[0],
        &groups(&v)[1],
        &groups(&v)[2],
        &groups(&v)[3],
    );
    assert_eq!(mention["notifications_count"], 1);
    assert_eq!(
        strs(&mention["sample_account_ids"]),
        vec![s.erin.id.clone()]
    );
    assert!(
        mention["group_key"]
            .as_str()
            .unwrap()
            .starts_with("ungrouped-")
    );
    assert!(follow["group_key"].as_str().unwrap().starts_with("follow-"));
    assert!(follow.get("status_id").is_none());
    assert_eq!(reblog["status_id"], s.post.as_str());
    assert_eq!(fav["status_id"], s.post.as_str());
    assert!(
        fav["group_key"]
            .as_str()
            .unwrap()
            .starts_with(&format!("favourite-{}-", s.post))
    );
    // Every account and status referred to, each once.
    let mut accounts = account_ids(&v["accounts"]);
    accounts.sort();
    let mut want = vec![
        s.bob.id.clone(),
        s.carol.id.clone(),
        s.dave.id.clone(),
        s.erin.id.clone(),
    ];
    want.sort();
    assert_eq!(accounts, want);
    assert!(v.get("partial_accounts").is_none());
    let statuses = account_ids(&v["statuses"]);
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert!(statuses.contains(&s.post));
    // The v1 notifications carry the same group keys.
    let v1 = srv
        .get(
            "/api/v1/notifications?types[]=favourite",
            Some(&alice.token),
        )
        .await
        .ok();
    for n in v1.as_array().unwrap() {
        assert_eq!(n["group_key"], fav["group_key"]);
    }
    s.srv.stop().await;
}

async fn grouped_paging_and_filters(db: Db) {
    let Some(s) = scene(db).await else { return };
    let (srv, alice) = (&s.srv, &s.alice);
    let first = srv
        .get("/api/v2/notifications?limit=2", Some(&alice.token))
        .await;
    let link = first.link();
    let first = first.ok();
    assert_eq!(kinds(&first), ["mention", "follow"]);
    let max_id = next_max_id(&link);
    assert_eq!(max_id, groups(&first)[1]["page_min_id"].as_str().unwrap());
    assert!(link.contains("limit=2"), "{link}");
    let second = srv
        .get(
            &format!("/api/v2/notifications?limit=2&max_id={max_id}"),
            Some(&alice.token),
        )
        .await;
    // The last page: a way back, none further.
    let last_link = second.link();
    assert!(last_link.contains("rel=\"prev\""), "{last_link}");
    assert!(!last_link.contains("rel=\"next\""), "{last_link}");
    let second = second.ok();
    assert_eq!(kinds(&second), ["reblog", "favourite"]);
    assert_eq!(groups(&second)[0]["notifications_count"], 3);
    assert_eq!(groups(&second)[1]["notifications_count"], 3);
    // min_id: the groups right after it, oldest side first; a group cut by the page
    // counts only the notifications the page covers.
    let oldest_fav = groups(&second)[1]["page_min_id"].as_str().unwrap();
    let after = srv
        .get(
            &format!("/api/v2/notifications?limit=1&min_id={oldest_fav}"),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(kinds(&after), ["favourite"]);
    assert_eq!(groups(&after)[0]["notifications_count"], 2);
    assert_eq!(
        strs(&groups(&after)[0]["sample_account_ids"]),
        [s.dave.id.clone(), s.carol.id.clone()]
    );

    // types[] and exclude_types[].
    let only = srv
        .get("/api/v2/notifications?types[]=reblog", Some(&alice.token))
        .await
        .ok();
    assert_eq!(kinds(&only), ["reblog"]);
    let excl = srv
        .get(
            "/api/v2/notifications?exclude_types[]=favourite&exclude_types[]=follow",
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(kinds(&excl), ["mention", "reblog"]);
    let from = srv
        .get(
            &format!("/api/v2/notifications?account_id={}", s.erin.id),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(kinds(&from), ["mention"]);
    // grouped_types[]: the other types come one notification per group.
    let some = srv
        .get(
            "/api/v2/notifications?grouped_types[]=favourite",
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(
        kinds(&some),
        [
            "mention",
            "follow",
            "follow",
            "follow",
            "reblog",
            "reblog",
            "reblog",
            "favourite"
        ]
    );
    for g in &groups(&some)[..7] {
        assert!(g["group_key"].as_str().unwrap().starts_with("ungrouped-"));
        assert_eq!(g["notifications_count"], 1);
    }
    s.srv.stop().await;
}

async fn partial_avatars(db: Db) {
    let Some(s) = scene(db).await else { return };
    let v = s
        .srv
        .get(
            "/api/v2/notifications?expand_accounts=partial_avatars",
            Some(&s.alice.token),
        )
        .await
        .ok();
    assert_eq!(kinds(&v), ["mention", "follow", "reblog", "favourite"]);
    // Each group's most recent account in full, the others partial.
    let mut full = account_ids(&v["accounts"]);
    full.sort();
    let mut want = vec![s.dave.id.clone(), s.erin.id.clone()];
    want.sort();
    assert_eq!(full, want);
    let partial = v["partial_accounts"].as_array().expect("partial_accounts");
    let mut ids = account_ids(&v["partial_accounts"]);
    ids.sort();
    let mut want = vec![s.bob.id.clone(), s.carol.id.clone()];
    want.sort();
    assert_eq!(ids, want);
    for a in partial {
        assert!(a["avatar"].is_string() && a["acct"].is_string(), "{a}");
        assert!(a.get("note").is_none(), "{a}");
    }
    s.srv.stop().await;
}

async fn group_fetch_accounts_and_dismiss(db: Db) {
    let Some(s) = scene(db).await else { return };
    let (srv, alice) = (&s.srv, &s.alice);
    let v = srv
        .get("/api/v2/notifications", Some(&alice.token))
        .await
        .ok();
    let fav_key = groups(&v)[3]["group_key"].as_str().unwrap().to_string();
    let mention_key = groups(&v)[0]["group_key"].as_str().unwrap().to_string();

    let one = srv
        .get(
            &format!("/api/v2/notifications/{fav_key}"),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(groups(&one).len(), 1);
    assert_eq!(groups(&one)[0]["group_key"], fav_key.as_str());
    assert_eq!(groups(&one)[0]["notifications_count"], 3);
    assert_eq!(account_ids(&one["statuses"]), vec![s.post.clone()]);
    let accounts = srv
        .get(
            &format!("/api/v2/notifications/{fav_key}/accounts"),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(
        account_ids(&accounts),
        [s.dave.id.clone(), s.carol.id.clone(), s.bob.id.clone()]
    );
    // Another user does not see alice's groups.
    srv.get(
        &format!("/api/v2/notifications/{fav_key}"),
        Some(&s.bob.token),
    )
    .await
    .expect(404);
    srv.post(
        &format!("/api/v2/notifications/{fav_key}/dismiss"),
        Some(&s.bob.token),
        &[],
    )
    .await
    .expect(404);

    srv.post(
        &format!("/api/v2/notifications/{fav_key}/dismiss"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    srv.get(
        &format!("/api/v2/notifications/{fav_key}"),
        Some(&alice.token),
    )
    .await
    .expect(404);
    let v = srv
        .get("/api/v2/notifications", Some(&alice.token))
        .await
        .ok();
    assert_eq!(kinds(&v), ["mention", "follow", "reblog"]);
    // An ungrouped one is fetched and dismissed by its key too.
    let one = srv
        .get(
            &format!("/api/v2/notifications/{mention_key}"),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(kinds(&one), ["mention"]);
    srv.post(
        &format!("/api/v2/notifications/{mention_key}/dismiss"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    let v1 = srv
        .get("/api/v1/notifications", Some(&alice.token))
        .await
        .ok();
    assert_eq!(v1.as_array().unwrap().len(), 6);

    for bad in [
        "nope",
        "ungrouped-1",
        "ungrouped-x",
        "favourite-1-13",
        "follow-99999999999999999999",
        &fav_key,
    ] {
        srv.get(&format!("/api/v2/notifications/{bad}"), Some(&alice.token))
            .await
            .expect(404);
        srv.get(
            &format!("/api/v2/notifications/{bad}/accounts"),
            Some(&alice.token),
        )
        .await
        .expect(404);
        srv.post(
            &format!("/api/v2/notifications/{bad}/dismiss"),
            Some(&alice.token),
            &[],
        )
        .await
        .expect(404);
    }
    s.srv.stop().await;
}

async fn unread_counts_with_marker(db: Db) {
    let Some(s) = scene(db).await else { return };
    let (srv, alice) = (&s.srv, &s.alice);
    let count = |path: &'static str| async move {
        srv.get(path, Some(&alice.token)).await.ok()["count"]
            .as_i64()
            .unwrap()
    };
    // No marker: everything is unread.
    assert_eq!(count("/api/v1/notifications/unread_count").await, 10);
    assert_eq!(count("/api/v2/notifications/unread_count").await, 4);
    assert_eq!(count("/api/v1/notifications/unread_count?limit=3").await, 3);
    assert_eq!(
        count("/api/v2/notifications/unread_count?types[]=favourite").await,
        1
    );
    // Read up to the last reblog.
    let v1 = srv
        .get("/api/v1/notifications?types[]=reblog", Some(&alice.token))
        .await
        .ok();
    let last_reblog = v1[0]["id"].as_str().unwrap();
    srv.post(
        "/api/v1/markers",
        Some(&alice.token),
        &[("notifications[last_read_id]", last_reblog)],
    )
    .await
    .ok();
    assert_eq!(count("/api/v1/notifications/unread_count").await, 4);
    assert_eq!(count("/api/v2/notifications/unread_count").await, 2);
    assert_eq!(
        count("/api/v2/notifications/unread_count?grouped_types[]=favourite").await,
        4
    );
    srv.get("/api/v2/notifications/unread_count", None)
        .await
        .expect(401);
    s.srv.stop().await;
}

async fn policy_and_requests(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let patch = |path: &'static str, k: &'static str, v: &'static str| {
        let srv = &srv;
        let token = alice.token.clone();
        async move {
            srv.request(
                Method::PATCH,
                path,
                Some(&token),
                Some(Body::Form(vec![(k.to_string(), v.to_string())])),
            )
            .await
        }
    };
    let v2 = srv
        .get("/api/v2/notifications/policy", Some(&alice.token))
        .await
        .ok();
    for f in [
        "for_not_following",
        "for_not_followers",
        "for_new_accounts",
        "for_private_mentions",
        "for_limited_accounts",
    ] {
        assert_eq!(v2[f], "accept", "{f}");
    }
    assert_eq!(v2["summary"]["pending_requests_count"], 0);
    let ok = patch("/api/v2/notifications/policy", "for_new_accounts", "accept")
        .await
        .ok();
    assert_eq!(ok["for_new_accounts"], "accept");
    // This server does not filter: asking it to is refused, not ignored.
    patch("/api/v2/notifications/policy", "for_new_accounts", "filter")
        .await
        .expect(422);
    patch("/api/v2/notifications/policy", "for_new_accounts", "bogus")
        .await
        .expect(422);
    let v1 = srv
        .get("/api/v1/notifications/policy", Some(&alice.token))
        .await
        .ok();
    assert_eq!(v1["filter_not_following"], false);
    assert_eq!(v1["summary"]["pending_notifications_count"], 0);
    patch(
        "/api/v1/notifications/policy",
        "filter_new_accounts",
        "false",
    )
    .await
    .ok();
    patch(
        "/api/v1/notifications/policy",
        "filter_new_accounts",
        "true",
    )
    .await
    .expect(422);

    // No notification is ever filtered, so there are no requests.
    let reqs = srv
        .get("/api/v1/notifications/requests", Some(&alice.token))
        .await
        .ok();
    assert_eq!(reqs, serde_json::json!([]));
    srv.get("/api/v1/notifications/requests/123", Some(&alice.token))
        .await
        .expect(404);
    srv.post(
        "/api/v1/notifications/requests/123/accept",
        Some(&alice.token),
        &[],
    )
    .await
    .expect(404);
    let merged = srv
        .get("/api/v1/notifications/requests/merged", Some(&alice.token))
        .await
        .ok();
    assert_eq!(merged["merged"], true);
    srv.get("/api/v2/notifications/policy", None)
        .await
        .expect(401);
    srv.stop().await;
}

async fn bad_input_is_never_a_server_error(db: Db) {
    let Some(s) = scene(db).await else { return };
    let (srv, alice) = (&s.srv, &s.alice);
    // Limits out of range are clamped, as Mastodon does.
    let zero = srv
        .get("/api/v2/notifications?limit=0", Some(&alice.token))
        .await
        .ok();
    assert_eq!(groups(&zero).len(), 1);
    let huge = srv
        .get("/api/v2/notifications?limit=100000", Some(&alice.token))
        .await
        .ok();
    assert_eq!(groups(&huge).len(), 4);
    // Unknown types match nothing; a type never grouped stays ungrouped.
    let none = srv
        .get("/api/v2/notifications?types[]=bogus", Some(&alice.token))
        .await
        .ok();
    assert!(groups(&none).is_empty());
    let mention = srv
        .get(
            "/api/v2/notifications?grouped_types[]=mention&types[]=mention",
            Some(&alice.token),
        )
        .await
        .ok();
    assert!(
        groups(&mention)[0]["group_key"]
            .as_str()
            .unwrap()
            .starts_with("ungrouped-")
    );
    for q in [
        "limit=abc",
        "limit=-5",
        "max_id=abc",
        "min_id=-1",
        "since_id=99999999999999999999999",
        "account_id=abc",
        "types=mention",
        "types[][]=x",
        "grouped_types=nope",
        "expand_accounts=everything",
        "include_filtered=maybe",
    ] {
        for path in [
            "/api/v2/notifications",
            "/api/v2/notifications/unread_count",
            "/api/v1/notifications/unread_count",
        ] {
            let r = srv.get(&format!("{path}?{q}"), Some(&alice.token)).await;
            assert!(r.status.as_u16() < 500, "{path}?{q}: {}", r.status);
        }
    }
    srv.get("/api/v2/notifications", None).await.expect(401);
    s.srv.stop().await;
}
