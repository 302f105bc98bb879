//! Leaving and arriving: aliases, moving an account between servers (three Sluices on
//! loopback), CSV exports and imports, archives, deleting one's own account.

use reqwest::Method;
use serde_json::Value;

use crate::common::{Body, Db, TestServer, User, eventually, follow_remote, get_as2, peer};
use crate::web::Browser;

db_tests!(
    aliases_appear_in_the_actor_document,
    a_move_takes_followers_on_every_server_to_the_new_account,
    csv_exports_use_mastodons_formats,
);

fn domain(srv: &TestServer) -> String {
    srv.url.trim_start_matches("http://").to_string()
}

async fn form(
    srv: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    f: &[(&str, &str)],
) -> crate::common::Resp {
    let pairs = f
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    srv.request(method, path, Some(token), Some(Body::Form(pairs)))
        .await
}

async fn actor_doc(srv: &TestServer, name: &str) -> Value {
    get_as2(srv, &format!("{}/users/{name}", srv.url), None)
        .await
        .body
}

/// A browser signed in as `name` (password `password123`).
async fn signed_in(srv: &TestServer, name: &str) -> Browser {
    let mut b = Browser::new(srv);
    let r = b.sign_in(name, "password123").await;
    assert_eq!(r.status, 303, "{}", r.text);
    b
}

async fn aliases_appear_in_the_actor_document(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    a.user("old").await;
    a.user("other").await;
    let new = b.user("new").await;
    let old_uri = format!("{}/users/old", a.url);
    let other_uri = format!("{}/users/other", a.url);
    let updates_before = b.count("activities WHERE kind = 'Update'").await;

    // Akkoma's API: add by handle (found with WebFinger), list, remove.
    let r = form(
        &b,
        Method::PUT,
        "/api/pleroma/aliases",
        &new.token,
        &[("alias", &format!("old@{}", domain(&a)))],
    )
    .await
    .ok();
    assert_eq!(r["status"], "success");
    let listed = b.get("/api/pleroma/aliases", Some(&new.token)).await.ok();
    assert_eq!(
        listed["aliases"],
        serde_json::json!([format!("old@{}", domain(&a))])
    );
    let doc = actor_doc(&b, "new").await;
    assert_eq!(doc["alsoKnownAs"], serde_json::json!([old_uri]));
    assert!(
        b.count("activities WHERE kind = 'Update'").await > updates_before,
        "a change of aliases sends the actor's Update"
    );

    // An unknown account is a 404, a missing one a 400; nothing changes.
    form(
        &b,
        Method::PUT,
        "/api/pleroma/aliases",
        &new.token,
        &[("alias", &format!("nobody@{}", domain(&a)))],
    )
    .await
    .expect(404);
    form(&b, Method::PUT, "/api/pleroma/aliases", &new.token, &[])
        .await
        .expect(400);
    // Read and write scopes are checked.
    b.get("/api/pleroma/aliases", None).await.expect(401);

    // The settings page adds one too, and shows both.
    let mut browser = signed_in(&b, "new").await;
    let page = browser.get("/settings/aliases").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let r = browser
        .post(
            "/settings/aliases",
            &[
                ("authenticity_token", &page.token()),
                ("acct", &format!("@other@{}", domain(&a))),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = browser.get("/settings/aliases").await;
    assert!(
        page.text.contains(&format!("old@{}", domain(&a))),
        "{}",
        page.text
    );
    assert!(
        page.text.contains(&format!("other@{}", domain(&a))),
        "{}",
        page.text
    );
    let doc = actor_doc(&b, "new").await;
    assert_eq!(doc["alsoKnownAs"], serde_json::json!([old_uri, other_uri]));

    // Removing one.
    form(
        &b,
        Method::DELETE,
        "/api/pleroma/aliases",
        &new.token,
        &[("alias", &format!("old@{}", domain(&a)))],
    )
    .await
    .ok();
    let doc = actor_doc(&b, "new").await;
    assert_eq!(doc["alsoKnownAs"], serde_json::json!([other_uri]));
    form(
        &b,
        Method::DELETE,
        "/api/pleroma/aliases",
        &new.token,
        &[("alias", &format!("old@{}", domain(&a)))],
    )
    .await
    .expect(404);
    a.stop().await;
    b.stop().await;
}

async fn following(srv: &TestServer, who: &User, id: &str) -> bool {
    srv.get(
        &format!("/api/v1/accounts/relationships?id[]={id}"),
        Some(&who.token),
    )
    .await
    .ok()[0]["following"]
        == true
}

/// `old` on A moves to `new` on B. Its followers: `al` on A, `bo` on B, `carol` on
/// C. All three end up following `new` and no longer `old`; `old` shows `moved`
/// everywhere, cannot post, and cannot move again for 30 days.
async fn a_move_takes_followers_on_every_server_to_the_new_account(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let Some(c) = TestServer::start(db, peer("127.0.0.4")).await else {
        return;
    };
    let old = a.user("old").await;
    let al = a.user("al").await;
    let new = b.user("new").await;
    let bo = b.user("bo").await;
    let carol = c.user("carol").await;
    let old_acct = format!("old@{}", domain(&a));
    let new_acct = format!("new@{}", domain(&b));

    a.post(
        &format!("/api/v1/accounts/{}/follow", old.id),
        Some(&al.token),
        &[],
    )
    .await
    .ok();
    let old_on_b = follow_remote(&b, &bo, &old_acct).await;
    let old_on_c = follow_remote(&c, &carol, &old_acct).await;

    // Without the alias the move is refused, and nothing is marked.
    let refused = a
        .post(
            "/api/pleroma/move_account",
            Some(&old.token),
            &[("password", "password123"), ("target_account", &new_acct)],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(refused.text.contains("alias"), "{}", refused.text);
    let me = a
        .get(&format!("/api/v1/accounts/{}", old.id), None)
        .await
        .ok();
    assert!(me.get("moved").is_none(), "{me}");

    form(
        &b,
        Method::PUT,
        "/api/pleroma/aliases",
        &new.token,
        &[("alias", &old_acct)],
    )
    .await
    .ok();

    // A wrong password is refused.
    a.post(
        "/api/pleroma/move_account",
        Some(&old.token),
        &[("password", "wrong"), ("target_account", &new_acct)],
    )
    .await
    .expect(403);

    // The move, from the settings page.
    let mut browser = signed_in(&a, "old").await;
    let page = browser.get("/settings/migration").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let r = browser
        .post(
            "/settings/migration",
            &[
                ("authenticity_token", &page.token()),
                ("acct", &new_acct),
                ("current_password", "password123"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);

    // `moved` on the old account, here and on the other servers.
    let new_on_a = a.lookup_id(&new_acct).await;
    let me = a
        .get(&format!("/api/v1/accounts/{}", old.id), None)
        .await
        .ok();
    assert_eq!(me["moved"]["id"], new_on_a.as_str(), "{me}");
    let doc = actor_doc(&a, "old").await;
    assert_eq!(doc["movedTo"], format!("{}/users/new", b.url));
    let new_on_c = c.lookup_id(&new_acct).await;
    eventually("the move to reach C", async || {
        c.get(&format!("/api/v1/accounts/{old_on_c}"), None)
            .await
            .ok()["moved"]["id"]
            == new_on_c.as_str()
    })
    .await;
    eventually("the move to reach B", async || {
        b.get(&format!("/api/v1/accounts/{old_on_b}"), None)
            .await
            .ok()["moved"]["id"]
            == new.id.as_str()
    })
    .await;

    // Every follower follows the new account and not the old one.
    eventually("al to follow new", async || {
        following(&a, &al, &new_on_a).await
    })
    .await;
    eventually("bo to follow new", async || {
        following(&b, &bo, &new.id).await
    })
    .await;
    eventually("carol to follow new", async || {
        following(&c, &carol, &new_on_c).await
    })
    .await;
    assert!(!following(&a, &al, &old.id).await);
    assert!(!following(&b, &bo, &old_on_b).await);
    assert!(!following(&c, &carol, &old_on_c).await);
    eventually("B to count new's followers", async || {
        b.get(&format!("/api/v1/accounts/{}", new.id), None)
            .await
            .ok()["followers_count"]
            == 3
    })
    .await;

    // The old account posts no more, and cannot move again for 30 days.
    a.post(
        "/api/v1/statuses",
        Some(&old.token),
        &[("status", "still here")],
    )
    .await
    .expect(422);
    let again = a
        .post(
            "/api/pleroma/move_account",
            Some(&old.token),
            &[("password", "password123"), ("target_account", &new_acct)],
        )
        .await;
    assert_eq!(again.status, 400, "{}", again.text);
    assert!(again.text.contains("30 days"), "{}", again.text);
    assert_eq!(a.count("account_migrations").await, 1);
    a.stop().await;
    b.stop().await;
    c.stop().await;
}

async fn csv_exports_use_mastodons_formats(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let d = domain(&srv);
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let dave = srv.user("dave").await;
    srv.post(
        &format!("/api/v1/accounts/{}/follow", bob.id),
        Some(&alice.token),
        &[("reblogs", "false"), ("notify", "true")],
    )
    .await
    .ok();
    srv.post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        Some(&carol.token),
        &[],
    )
    .await
    .ok();
    srv.post(
        &format!("/api/v1/accounts/{}/mute", carol.id),
        Some(&alice.token),
        &[("notifications", "false")],
    )
    .await
    .ok();
    srv.post(
        &format!("/api/v1/accounts/{}/block", dave.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    srv.post(
        "/api/v1/domain_blocks",
        Some(&alice.token),
        &[("domain", "spam.example")],
    )
    .await
    .ok();
    let list = srv
        .post(
            "/api/v1/lists",
            Some(&alice.token),
            &[("title", "Friends, \"close\"")],
        )
        .await
        .ok();
    srv.post(
        &format!("/api/v1/lists/{}/accounts", list["id"].as_str().unwrap()),
        Some(&alice.token),
        &[("account_ids[]", &bob.id)],
    )
    .await
    .ok();
    let post = srv.status(&bob, "worth keeping", &[]).await;
    srv.post(
        &format!("/api/v1/statuses/{}/bookmark", post["id"].as_str().unwrap()),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();

    let mut browser = signed_in(&srv, "alice").await;
    let page = browser.get("/settings/export").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("follows.csv"), "{}", page.text);
    let expected = [
        (
            "follows",
            format!(
                "Account address,Show boosts,Notify on new posts,Languages\nbob@{d},false,true,\n"
            ),
        ),
        ("followers", format!("carol@{d}\n")),
        ("blocks", format!("dave@{d}\n")),
        (
            "mutes",
            format!("Account address,Hide notifications\ncarol@{d},false\n"),
        ),
        ("domain_blocks", "spam.example\n".to_string()),
        ("lists", format!("\"Friends, \"\"close\"\"\",bob@{d}\n")),
        ("bookmarks", format!("{}\n", post["uri"].as_str().unwrap())),
    ];
    for (name, body) in expected {
        let r = browser.get(&format!("/settings/export/{name}.csv")).await;
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(r.text, body, "{name}.csv");
    }
    assert_eq!(
        browser.get("/settings/export/secrets.csv").await.status,
        404
    );
    // Only for the signed-in owner.
    let anon = Browser::new(&srv).get("/settings/export/follows.csv").await;
    assert_eq!(anon.status, 303);
    srv.stop().await;
}
