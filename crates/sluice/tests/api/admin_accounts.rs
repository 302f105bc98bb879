//! The admin accounts API (issue 17): who may call it, the lists and their filters,
//! the actions and what each does (disable, silence, sensitive, suspend, their
//! lifting, approve, reject, delete), the warning a user is shown, the audit log, and
//! a suspension seen from another server.

use serde_json::Value;

use crate::common::{Db, TestServer, User, eventually, follow_remote, ids, peer};

db_tests!(
    admin_accounts_answer_staff_only,
    account_actions_and_their_lifting,
    sign_ups_are_approved_or_rejected,
    silenced_accounts_reach_only_their_followers,
    a_suspension_reaches_the_other_server,
    suspended_accounts_are_purged_after_30_days,
    admin_pages_are_for_staff,
);

fn ids_of(v: &Value) -> Vec<String> {
    ids(v)
}

async fn admin_get(srv: &TestServer, path: &str, who: &User) -> Value {
    srv.get(path, Some(&who.token)).await.ok()
}

async fn act(srv: &TestServer, who: &User, id: &str, form: &[(&str, &str)]) -> Value {
    srv.post(
        &format!("/api/v1/admin/accounts/{id}/action"),
        Some(&who.token),
        form,
    )
    .await
    .ok()
}

async fn admin_accounts_answer_staff_only(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let eve = srv
        .user_with_scopes("eve", "read write admin:read admin:write")
        .await;
    let mo = srv.staff("mo", "moderator").await;
    let root = srv.staff("root", "admin").await;

    // No token 401; a token without the admin scope 403; a plain user with the scope
    // 403; a moderator may.
    for path in [
        "/api/v1/admin/accounts",
        "/api/v2/admin/accounts",
        &format!("/api/v1/admin/accounts/{}", alice.id),
    ] {
        srv.get(path, None).await.expect(401);
        srv.get(path, Some(&alice.token)).await.expect(403);
        srv.get(path, Some(&eve.token)).await.expect(403);
        srv.get(path, Some(&mo.token)).await.ok();
    }
    let action = format!("/api/v1/admin/accounts/{}/action", alice.id);
    srv.post(&action, None, &[("type", "silence")])
        .await
        .expect(401);
    srv.post(&action, Some(&alice.token), &[("type", "silence")])
        .await
        .expect(403);
    srv.post(&action, Some(&eve.token), &[("type", "silence")])
        .await
        .expect(403);
    // Nothing was written by the refused calls.
    let shown = admin_get(&srv, &format!("/api/v1/admin/accounts/{}", alice.id), &mo).await;
    assert_eq!(shown["silenced"], false, "{shown}");
    assert_eq!(shown["email"], "alice@example.test");
    assert_eq!(shown["username"], "alice");
    assert_eq!(shown["domain"], Value::Null);
    assert_eq!(shown["approved"], true);
    assert_eq!(shown["account"]["id"], alice.id);
    assert_eq!(shown["role"]["name"], "");

    // Lists and filters.
    let all = admin_get(&srv, "/api/v1/admin/accounts", &mo).await;
    let mut listed = ids_of(&all);
    listed.sort();
    let mut everyone = vec![
        alice.id.clone(),
        eve.id.clone(),
        mo.id.clone(),
        root.id.clone(),
    ];
    everyone.sort();
    assert_eq!(listed, everyone);
    let staff = admin_get(&srv, "/api/v1/admin/accounts?staff=true", &mo).await;
    assert_eq!(ids_of(&staff), vec![root.id.clone(), mo.id.clone()]);
    let staff2 = admin_get(&srv, "/api/v2/admin/accounts?permissions=staff", &mo).await;
    assert_eq!(ids_of(&staff2), ids_of(&staff));
    let admins = admin_get(&srv, "/api/v2/admin/accounts?role_ids[]=3", &mo).await;
    assert_eq!(ids_of(&admins), vec![root.id.clone()]);
    let by_name = admin_get(&srv, "/api/v1/admin/accounts?username=ALI", &mo).await;
    assert_eq!(ids_of(&by_name), vec![alice.id.clone()]);
    let by_mail = admin_get(&srv, "/api/v1/admin/accounts?email=eve%40", &mo).await;
    assert_eq!(ids_of(&by_mail), vec![eve.id.clone()]);
    let remote = admin_get(&srv, "/api/v2/admin/accounts?origin=remote", &mo).await;
    assert_eq!(ids_of(&remote), Vec::<String>::new());
    srv.get("/api/v2/admin/accounts?origin=mars", Some(&mo.token))
        .await
        .expect(400);
    srv.get("/api/v2/admin/accounts?status=sleepy", Some(&mo.token))
        .await
        .expect(400);
    // Paged newest first, with Link headers.
    let r = srv
        .get("/api/v1/admin/accounts?limit=2", Some(&mo.token))
        .await;
    assert!(r.link().contains("max_id="), "{}", r.link());
    let first = ids_of(&r.ok());
    assert_eq!(first, vec![root.id.clone(), mo.id.clone()]);
    let next = admin_get(
        &srv,
        &format!("/api/v1/admin/accounts?limit=2&max_id={}", mo.id),
        &mo,
    )
    .await;
    assert_eq!(ids_of(&next), vec![eve.id.clone(), alice.id.clone()]);
    srv.get("/api/v1/admin/accounts/123456", Some(&mo.token))
        .await
        .expect(404);

    // A moderator cannot act on an admin, nor on themselves; an unknown type is 422.
    act_refused(&srv, &mo, &root.id, 403).await;
    act_refused(&srv, &mo, &mo.id, 403).await;
    srv.post(&action, Some(&mo.token), &[("type", "banish")])
        .await
        .expect(422);
    let long = "x".repeat(5001);
    srv.post(&action, Some(&mo.token), &[("text", long.as_str())])
        .await
        .expect(422);
    assert_eq!(
        srv.engine().audit_log(None, None, 50).await.unwrap().len(),
        2,
        "only the two roles were recorded"
    );
}

async fn act_refused(srv: &TestServer, who: &User, id: &str, status: u16) {
    srv.post(
        &format!("/api/v1/admin/accounts/{id}/action"),
        Some(&who.token),
        &[("type", "suspend")],
    )
    .await
    .expect(status);
}

async fn account_actions_and_their_lifting(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let mo = srv.staff("mo", "moderator").await;
    let root = srv.staff("root", "admin").await;
    let show = format!("/api/v1/admin/accounts/{}", alice.id);

    // A warning alone: the user is told (Mastodon 4.3's moderation_warning).
    assert_eq!(
        act(
            &srv,
            &mo,
            &alice.id,
            &[("type", "none"), ("text", "be kind")]
        )
        .await,
        serde_json::json!({})
    );
    let notes = srv
        .get("/api/v1/notifications", Some(&alice.token))
        .await
        .ok();
    assert_eq!(notes[0]["type"], "moderation_warning", "{notes}");
    assert_eq!(notes[0]["moderation_warning"]["text"], "be kind");
    assert_eq!(notes[0]["moderation_warning"]["action"], "none");
    assert_eq!(
        notes[0]["moderation_warning"]["target_account"]["id"],
        alice.id
    );

    // Sensitive: her media is marked so.
    act(&srv, &mo, &alice.id, &[("type", "sensitive")]).await;
    assert_eq!(admin_get(&srv, &show, &mo).await["sensitized"], true);
    let media = srv
        .engine()
        .account(alice.id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(media.sensitized_at.is_some());
    let after = srv
        .post(&format!("{show}/unsensitive"), Some(&mo.token), &[])
        .await
        .ok();
    assert_eq!(after["sensitized"], false);

    // Silence and its lifting.
    act(&srv, &mo, &alice.id, &[("type", "silence")]).await;
    assert_eq!(admin_get(&srv, &show, &mo).await["silenced"], true);
    let listed = admin_get(&srv, "/api/v1/admin/accounts?silenced=true", &mo).await;
    assert_eq!(ids_of(&listed), vec![alice.id.clone()]);
    let after = srv
        .post(&format!("{show}/unsilence"), Some(&mo.token), &[])
        .await
        .ok();
    assert_eq!(after["silenced"], false);

    // Disable: her token stops working and she cannot sign in; enable lets her in.
    act(&srv, &mo, &alice.id, &[("type", "disable")]).await;
    let r = srv
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await;
    assert!(
        r.status == 401 || r.status == 403,
        "a disabled user's token: {}",
        r.status
    );
    assert_eq!(sign_in(&srv, "alice").await, 403);
    assert_eq!(admin_get(&srv, &show, &mo).await["disabled"], true);
    srv.post(&format!("{show}/enable"), Some(&mo.token), &[])
        .await
        .ok();
    assert_eq!(sign_in(&srv, "alice").await, 200);
    // Her old token stays revoked: she signs in again.
    srv.get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .expect(401);
    let alice = User {
        id: alice.id.clone(),
        token: srv.password_token("alice", "read write").await,
    };

    // Suspend: her profile is gone, she cannot sign in; unsuspend brings it back.
    let post = srv.status(&alice, "still here", &[]).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    act(
        &srv,
        &mo,
        &alice.id,
        &[("type", "suspend"), ("text", "spam")],
    )
    .await;
    // Shown as suspended, blank (Mastodon since 3.3); her posts hidden.
    let gone = srv
        .get(&format!("/api/v1/accounts/{}", alice.id), None)
        .await
        .ok();
    assert_eq!(gone["suspended"], true, "{gone}");
    srv.get(&format!("/api/v1/statuses/{post}"), None)
        .await
        .expect(404);
    assert_eq!(sign_in(&srv, "alice").await, 403);
    let shown = admin_get(&srv, &show, &mo).await;
    assert_eq!(shown["suspended"], true);
    // Deleting needs `delete_user_data`: not a moderator's.
    srv.request(reqwest::Method::DELETE, &show, Some(&mo.token), None)
        .await
        .expect(403);
    srv.post(&format!("{show}/unsuspend"), Some(&mo.token), &[])
        .await
        .ok();
    srv.get(&format!("/api/v1/accounts/{}", alice.id), None)
        .await
        .ok();
    srv.get(&format!("/api/v1/statuses/{post}"), None)
        .await
        .ok();
    assert_eq!(sign_in(&srv, "alice").await, 200);

    // Delete: refused unless suspended; then her data goes and she cannot return.
    srv.request(reqwest::Method::DELETE, &show, Some(&root.token), None)
        .await
        .expect(403);
    act(&srv, &root, &alice.id, &[("type", "suspend")]).await;
    srv.request(reqwest::Method::DELETE, &show, Some(&root.token), None)
        .await
        .ok();
    assert_eq!(srv.count("statuses").await, 0);
    srv.post(&format!("{show}/unsuspend"), Some(&root.token), &[])
        .await
        .expect(403);
    assert_ne!(sign_in(&srv, "alice").await, 200);

    // Every action is in the audit log, about her, newest first.
    let log = srv
        .engine()
        .audit_log(None, Some(("account", alice.id.as_str())), 50)
        .await
        .unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "delete",
            "suspend",
            "unsuspend",
            "suspend",
            "enable",
            "disable",
            "unsilence",
            "silence",
            "unsensitive",
            "sensitive",
            "warn",
        ]
    );
    assert_eq!(log[3].text, "spam");
    assert_eq!(log[0].account_id, Some(root.id.parse().unwrap()));
    assert_eq!(log[1].account_id, Some(root.id.parse().unwrap()));
    assert_eq!(log[2].account_id, Some(mo.id.parse().unwrap()));
}

/// Signs in with the password grant; the status.
async fn sign_in(srv: &TestServer, name: &str) -> u16 {
    let (id, secret) = srv.app("read", "urn:ietf:wg:oauth:2.0:oob").await;
    srv.post(
        "/oauth/token",
        None,
        &[
            ("grant_type", "password"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("username", name),
            ("password", "password123"),
            ("scope", "read"),
        ],
    )
    .await
    .status
    .as_u16()
}

async fn sign_ups_are_approved_or_rejected(db: Db) {
    let Some(srv) = TestServer::start(db, |c| {
        c.registrations = sluice_engine::Registrations::Approval
    })
    .await
    else {
        return;
    };
    let mo = srv.staff("mo", "moderator").await;
    let mut pending = Vec::new();
    for (name, reason) in [("dora", "I like fish"), ("sam", "spam spam")] {
        let (a, _) = srv
            .engine()
            .register(
                sluice_engine::accounts::Registration {
                    username: name.into(),
                    email: format!("{name}@example.test"),
                    password: "password123".into(),
                    agreement: true,
                    locale: "en".into(),
                    reason: reason.into(),
                    admin: false,
                    ip: None,
                },
                false,
            )
            .await
            .unwrap();
        pending.push(a.id.to_string());
    }
    let (dora, sam) = (&pending[0], &pending[1]);
    let listed = admin_get(&srv, "/api/v1/admin/accounts?pending=true", &mo).await;
    assert_eq!(ids_of(&listed), vec![sam.clone(), dora.clone()]);
    assert_eq!(listed[1]["invite_request"], "I like fish");
    assert_eq!(listed[1]["approved"], false);
    let v2 = admin_get(&srv, "/api/v2/admin/accounts?status=pending", &mo).await;
    assert_eq!(ids_of(&v2), ids_of(&listed));
    assert_eq!(sign_in(&srv, "dora").await, 403);

    let approved = srv
        .post(
            &format!("/api/v1/admin/accounts/{dora}/approve"),
            Some(&mo.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(approved["approved"], true);
    assert_eq!(sign_in(&srv, "dora").await, 200);
    // Approving or rejecting her again is refused.
    for what in ["approve", "reject"] {
        srv.post(
            &format!("/api/v1/admin/accounts/{dora}/{what}"),
            Some(&mo.token),
            &[],
        )
        .await
        .expect(403);
    }
    let rejected = srv
        .post(
            &format!("/api/v1/admin/accounts/{sam}/reject"),
            Some(&mo.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(rejected["username"], "sam");
    srv.get(&format!("/api/v1/admin/accounts/{sam}"), Some(&mo.token))
        .await
        .expect(404);
    assert_ne!(sign_in(&srv, "sam").await, 200);
    let log = srv.engine().audit_log(None, None, 10).await.unwrap();
    assert_eq!(log[0].action, "reject");
    assert_eq!(log[0].target_label, "sam");
    assert_eq!(log[1].action, "approve");
    assert_eq!(log[1].target_label, "dora");
}

async fn silenced_accounts_reach_only_their_followers(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let mo = srv.staff("mo", "moderator").await;
    srv.post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    act(&srv, &mo, &alice.id, &[("type", "silence")]).await;
    let mut carol_stream =
        crate::streaming::Sse::open(&srv, "/api/v1/streaming/public/local", &carol.token, None)
            .await;
    let mut bob_stream =
        crate::streaming::Sse::open(&srv, "/api/v1/streaming/public/local", &bob.token, None).await;

    let post = srv
        .status(&alice, "hello from a limited account", &[])
        .await;
    let post_id = post["id"].as_str().unwrap().to_string();
    srv.status(&alice, "@bob @carol you two", &[]).await;
    let bobs = srv.status(&bob, "bob speaks after her", &[]).await;
    // Streams alike: the follower gets her post first, the other only bob's.
    let first_update = async |s: &mut crate::streaming::Sse| loop {
        let e = s
            .next_within(std::time::Duration::from_secs(60))
            .await
            .expect("an event");
        if e.event == "update" {
            let v: Value = serde_json::from_str(&e.data).unwrap();
            return v["id"].as_str().unwrap().to_string();
        }
    };
    assert_eq!(first_update(&mut bob_stream).await, post_id);
    assert_eq!(
        first_update(&mut carol_stream).await,
        bobs["id"].as_str().unwrap()
    );

    let public = |token: Option<String>| {
        let srv = &srv;
        async move {
            ids_of(
                &srv.get("/api/v1/timelines/public?local=true", token.as_deref())
                    .await
                    .ok(),
            )
        }
    };
    // Not in the public timeline of a non-follower or of a visitor; in the follower's.
    assert!(!public(Some(carol.token.clone())).await.contains(&post_id));
    assert!(!public(None).await.contains(&post_id));
    assert!(public(Some(bob.token.clone())).await.contains(&post_id));
    // Her own.
    assert!(public(Some(alice.token.clone())).await.contains(&post_id));
    // The follower's home has it.
    let home = srv
        .get("/api/v1/timelines/home", Some(&bob.token))
        .await
        .ok();
    assert!(ids_of(&home).contains(&post_id));
    // Her mention reaches bob (a follower) and not carol.
    let bob_notes = srv
        .get("/api/v1/notifications", Some(&bob.token))
        .await
        .ok();
    assert!(
        bob_notes
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "mention"),
        "{bob_notes}"
    );
    let carol_notes = srv
        .get("/api/v1/notifications", Some(&carol.token))
        .await
        .ok();
    assert_eq!(carol_notes.as_array().unwrap().len(), 0, "{carol_notes}");

    // Lifted: everyone sees her again.
    srv.post(
        &format!("/api/v1/admin/accounts/{}/unsilence", alice.id),
        Some(&mo.token),
        &[],
    )
    .await
    .ok();
    assert!(public(Some(carol.token.clone())).await.contains(&post_id));
}

async fn a_suspension_reaches_the_other_server(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let root = a.staff("root", "admin").await;
    let carol = b.user("carol").await;
    let a_domain = a.url.trim_start_matches("http://").to_string();
    let acct = format!("alice@{a_domain}");
    let alice_on_b = follow_remote(&b, &carol, &acct).await;
    let post = a.status(&alice, "a post before the suspension", &[]).await;
    let uri = post["uri"].as_str().unwrap().to_string();
    let in_home = async || {
        b.get("/api/v1/timelines/home", Some(&carol.token))
            .await
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["uri"] == uri.as_str())
    };
    eventually("the post to reach carol's home", in_home).await;

    act(&a, &root, &alice.id, &[("type", "suspend")]).await;
    // Her actor document says so.
    let doc = crate::common::get_as2(&a, &format!("{}/users/alice", a.url), None).await;
    assert_eq!(doc.body["suspended"], true, "{}", doc.text);
    // There she is shown suspended (Mastodon's API since 3.3).
    eventually("the suspension to reach the other server", async || {
        b.get(
            &format!("/api/v1/accounts/{alice_on_b}"),
            Some(&carol.token),
        )
        .await
        .ok()["suspended"]
            == true
    })
    .await;
    assert!(!in_home().await, "her post is hidden there too");

    a.post(
        &format!("/api/v1/admin/accounts/{}/unsuspend", alice.id),
        Some(&root.token),
        &[],
    )
    .await
    .ok();
    eventually("the return to reach the other server", async || {
        b.get(
            &format!("/api/v1/accounts/{alice_on_b}"),
            Some(&carol.token),
        )
        .await
        .ok()
        .get("suspended")
        .is_none()
    })
    .await;
    assert!(in_home().await, "her post is back");
    let rel = b
        .get(
            &format!("/api/v1/accounts/relationships?id[]={alice_on_b}"),
            Some(&carol.token),
        )
        .await
        .ok();
    assert_eq!(rel[0]["following"], true, "the follow was kept");
}

async fn suspended_accounts_are_purged_after_30_days(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let mo = srv.staff("mo", "moderator").await;
    srv.post(
        &format!("/api/v1/accounts/{}/follow", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    for i in 0..3 {
        srv.status(&alice, &format!("post {i}"), &[]).await;
    }
    srv.status(&bob, "bob's own", &[]).await;
    act(&srv, &mo, &alice.id, &[("type", "suspend")]).await;
    // Within the 30 days nothing goes.
    srv.engine().maintain().await.unwrap();
    assert_eq!(srv.count("statuses").await, 4);
    // Suspended 31 days ago: the next run purges her data, not bob's.
    let day = 24 * 3600 * 1000_i64;
    let q = sluice_store::Query::new(
        "UPDATE accounts SET suspended_at = suspended_at - $1 WHERE id = $2",
    )
    .bind(31 * day)
    .bind(alice.id.parse::<i64>().unwrap());
    srv.engine().store_for_tests().exec(q).await.unwrap();
    let report = srv.engine().maintain().await.unwrap();
    assert_eq!(report.accounts_purged, 1);
    assert_eq!(srv.count("statuses").await, 1);
    assert_eq!(srv.count("follows").await, 0);
    let bob_now = srv
        .get(&format!("/api/v1/accounts/{}", bob.id), None)
        .await
        .ok();
    assert_eq!(bob_now["followers_count"], 0);
    // Her name stays taken, her document is gone, and she cannot come back.
    let doc = crate::common::get_as2(&srv, &format!("{}/users/alice", srv.url), None).await;
    assert_eq!(doc.status, 410);
    srv.post(
        &format!("/api/v1/admin/accounts/{}/unsuspend", alice.id),
        Some(&mo.token),
        &[],
    )
    .await
    .expect(403);
    // Done once: the next run has nothing to do.
    assert_eq!(srv.engine().maintain().await.unwrap().accounts_purged, 0);
}

async fn admin_pages_are_for_staff(db: Db) {
    let Some(srv) = TestServer::start(db, |c| {
        c.registrations = sluice_engine::Registrations::Approval
    })
    .await
    else {
        return;
    };
    let alice = srv.user("alice").await;
    srv.staff("mo", "moderator").await;
    let (dora, _) = srv
        .engine()
        .register(
            sluice_engine::accounts::Registration {
                username: "dora".into(),
                email: "dora@example.test".into(),
                password: "password123".into(),
                agreement: true,
                locale: "en".into(),
                reason: "I like <b>fish</b>".into(),
                admin: false,
                ip: None,
            },
            false,
        )
        .await
        .unwrap();

    // A visitor is sent to sign in; a plain user gets the 403 page.
    let mut visitor = crate::web::Browser::new(&srv);
    let page = visitor.get("/admin/accounts").await;
    assert_eq!(page.status, 303);
    assert!(
        page.location.starts_with("/auth/sign_in"),
        "{}",
        page.location
    );
    let mut user = crate::web::Browser::new(&srv);
    user.sign_in("alice", "password123").await;
    for path in [
        "/admin/accounts",
        "/admin/sign-ups",
        &format!("/admin/accounts/{}", alice.id),
    ] {
        assert_eq!(user.get(path).await.status, 403, "{path}");
    }

    let mut mo = crate::web::Browser::new(&srv);
    mo.sign_in("mo", "password123").await;
    let list = mo.get("/admin/accounts?username=ali").await;
    assert_eq!(list.status, 200);
    assert!(list.text.contains(&format!("/admin/accounts/{}", alice.id)));
    assert!(!list.text.contains("@dora"));
    assert!(crate::common::only_our_script(&list.text));
    // Sign-ups show the reason, escaped.
    let sign_ups = mo.get("/admin/sign-ups").await;
    assert!(
        sign_ups.text.contains("I like &lt;b&gt;fish"),
        "{}",
        sign_ups.text
    );
    assert!(!sign_ups.text.contains("<b>fish"));
    let approved = mo
        .post(
            &format!("/admin/accounts/{}/approve", dora.id),
            &[("authenticity_token", &sign_ups.token())],
        )
        .await;
    assert_eq!(approved.status, 303);
    assert_eq!(approved.location, "/admin/sign-ups?saved=1");
    assert_eq!(sign_in(&srv, "dora").await, 200);

    // The action form, with a warning; a form without the token is refused.
    let show = mo.get(&format!("/admin/accounts/{}", alice.id)).await;
    assert_eq!(show.status, 200);
    let refused = mo
        .post(
            &format!("/admin/accounts/{}/action", alice.id),
            &[("type", "silence")],
        )
        .await;
    assert_eq!(refused.status, 403);
    let done = mo
        .post(
            &format!("/admin/accounts/{}/action", alice.id),
            &[
                ("authenticity_token", &show.token()),
                ("type", "silence"),
                ("text", "calm down"),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    let show = mo.get(&done.location).await;
    assert!(
        show.text.contains("calm down"),
        "the history shows the warning"
    );
    assert!(
        show.text.contains("/unsilence"),
        "the lifting button is offered"
    );
    let row = srv
        .engine()
        .admin_account(alice.id.parse().unwrap())
        .await
        .unwrap();
    assert!(row.account.silenced_at.is_some());
    let lifted = mo
        .post(
            &format!("/admin/accounts/{}/unsilence", alice.id),
            &[("authenticity_token", &show.token())],
        )
        .await;
    assert_eq!(lifted.status, 303);
    let log = srv.engine().audit_log(None, None, 3).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["unsilence", "silence", "approve"]);
}
