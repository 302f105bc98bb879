//! Federation moderation (issue 17): the admin API's domain blocks, domain allows,
//! e-mail, canonical e-mail and IP blocks (who may call them, what they keep), and
//! what the blocks do: a suspended domain's content purged (also after a restart) and
//! its inbox refused, a media-rejecting domain's media not kept, allow-list federation,
//! sign-ups refused by address.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Body, Db, TestServer, eventually, follow_remote, ids, peer};

db_tests!(
    admin_endpoints_need_the_scope_and_the_permission,
    domain_blocks_crud_and_the_public_list,
    allows_email_and_ip_blocks_crud,
    sign_ups_refused_by_email_and_ip_blocks,
    no_access_ip_blocks_refuse_every_request,
    admin_lists_are_paged,
    a_suspended_domain_is_purged_and_its_inbox_refused,
    one_purge_step_spans_accounts_and_keeps_others_right,
    the_purge_resumes_after_a_restart,
    reject_media_keeps_no_media_of_the_domain,
    allowlist_mode_takes_only_allowed_domains,
    the_domains_and_rules_pages,
);

const ENDPOINTS: &[&str] = &[
    "/api/v1/admin/domain_blocks",
    "/api/v1/admin/domain_allows",
    "/api/v1/admin/email_domain_blocks",
    "/api/v1/admin/canonical_email_blocks",
    "/api/v1/admin/ip_blocks",
];

async fn admin_endpoints_need_the_scope_and_the_permission(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let eve = srv
        .user_with_scopes("eve", "read write admin:read admin:write")
        .await;
    let mo = srv.staff("mo", "moderator").await;
    let root = srv.staff("root", "admin").await;
    for path in ENDPOINTS {
        // No token: 401; a user token without the admin scope: 403; a user who is not
        // staff, even with the scope: 403; a moderator lacks manage_federation and
        // manage_blocks: 403; an admin: 200.
        assert_eq!(srv.get(path, None).await.status, 401, "{path}");
        assert_eq!(
            srv.get(path, Some(&alice.token)).await.status,
            403,
            "{path}"
        );
        assert_eq!(srv.get(path, Some(&eve.token)).await.status, 403, "{path}");
        assert_eq!(srv.get(path, Some(&mo.token)).await.status, 403, "{path}");
        let ok = srv.get(path, Some(&root.token)).await.ok();
        assert_eq!(ok, json!([]), "{path}");
        // Writes likewise; nothing is written.
        let r = srv
            .post(path, Some(&eve.token), &[("domain", "x.example")])
            .await;
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(srv.post(path, None, &[]).await.status, 401, "{path}");
    }
    // A narrower admin sub-scope is enough for its own endpoint only.
    let narrow = srv.password_token("root", "admin:read:domain_blocks").await;
    srv.get("/api/v1/admin/domain_blocks", Some(&narrow))
        .await
        .ok();
    let r = srv.get("/api/v1/admin/ip_blocks", Some(&narrow)).await;
    assert_eq!(r.status, 403);
    let r = srv
        .post(
            "/api/v1/admin/domain_blocks",
            Some(&narrow),
            &[("domain", "x.example")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(srv.count("domain_blocks").await, 0);
    srv.stop().await;
}

async fn domain_blocks_crud_and_the_public_list(db: Db) {
    let Some(srv) = TestServer::start(db, |c| {
        c.show_domain_blocks = sluice_api::Exposure::All;
        c.show_domain_blocks_rationale = sluice_api::Exposure::All;
    })
    .await
    else {
        return;
    };
    let root = srv.staff("root", "admin").await;
    let t = Some(root.token.as_str());
    let path = "/api/v1/admin/domain_blocks";
    let created = srv
        .post(
            path,
            t,
            &[
                ("domain", "Bad.Example"),
                ("severity", "suspend"),
                ("reject_reports", "true"),
                ("private_comment", "spam waves"),
                ("public_comment", "spam"),
                ("obfuscate", "true"),
            ],
        )
        .await
        .ok();
    assert_eq!(created["domain"], "bad.example", "{created}");
    assert_eq!(created["severity"], "suspend");
    assert_eq!(created["reject_reports"], true);
    assert_eq!(created["reject_media"], false);
    assert_eq!(created["private_comment"], "spam waves");
    assert_eq!(created["public_comment"], "spam");
    assert_eq!(created["obfuscate"], true);
    assert_eq!(created["digest"].as_str().unwrap().len(), 64);
    let id = created["id"].as_str().unwrap().to_string();
    // The same domain again: 422, one row.
    let again = srv
        .post(
            path,
            t,
            &[("domain", "bad.example"), ("severity", "silence")],
        )
        .await;
    assert_eq!(again.status, 422, "{}", again.text);
    // Bad input: 422, nothing written.
    for form in [
        vec![("domain", "")],
        vec![("domain", "not a domain")],
        vec![("domain", "ok.example"), ("severity", "nuke")],
    ] {
        let r = srv.post(path, t, &form).await;
        assert_eq!(r.status, 422, "{form:?}: {}", r.text);
    }
    let long = "x".repeat(1001);
    let r = srv
        .post(
            path,
            t,
            &[("domain", "ok.example"), ("private_comment", &long)],
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(srv.count("domain_blocks").await, 1);

    let shown = srv.get(&format!("{path}/{id}"), t).await.ok();
    assert_eq!(shown, created);
    let updated = srv
        .request(
            Method::PUT,
            &format!("{path}/{id}"),
            t,
            Some(Body::Form(vec![
                ("severity".into(), "silence".into()),
                ("reject_media".into(), "true".into()),
            ])),
        )
        .await
        .ok();
    assert_eq!(updated["severity"], "silence");
    assert_eq!(updated["reject_media"], true);
    assert_eq!(updated["public_comment"], "spam", "kept: {updated}");
    let list = srv.get(path, t).await.ok();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], id.as_str());

    // The public list: the domain half hidden, its digest whole, the public comment.
    let public = srv.get("/api/v1/instance/domain_blocks", None).await.ok();
    assert_eq!(public.as_array().unwrap().len(), 1, "{public}");
    assert_ne!(public[0]["domain"], "bad.example");
    assert!(public[0]["domain"].as_str().unwrap().contains('*'));
    assert_eq!(public[0]["digest"], created["digest"]);
    assert_eq!(public[0]["comment"], "spam");
    assert_eq!(public[0]["severity"], "silence");

    // Every write is in the audit log, by root.
    let log = srv.engine().audit_log(None, None, 10).await.unwrap();
    let root_id: i64 = root.id.parse().unwrap();
    let actions: Vec<&str> = log
        .iter()
        .filter(|e| e.account_id == Some(root_id))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(actions, ["update_domain_block", "create_domain_block"]);

    srv.request(Method::DELETE, &format!("{path}/{id}"), t, None)
        .await
        .ok();
    assert_eq!(srv.get(&format!("{path}/{id}"), t).await.status, 404);
    assert_eq!(
        srv.request(Method::DELETE, &format!("{path}/{id}"), t, None)
            .await
            .status,
        404
    );
    assert_eq!(srv.get(&format!("{path}/nope"), t).await.status, 404);
    let log = srv.engine().audit_log(None, None, 1).await.unwrap();
    assert_eq!(log[0].action, "destroy_domain_block");
    assert_eq!(log[0].target_label, "bad.example");
    srv.stop().await;
}

async fn allows_email_and_ip_blocks_crud(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let root = srv.staff("root", "admin").await;
    let t = Some(root.token.as_str());

    // Domain allows: a repeat answers the same allow.
    let a = srv
        .post(
            "/api/v1/admin/domain_allows",
            t,
            &[("domain", "friends.example")],
        )
        .await
        .ok();
    assert_eq!(a["domain"], "friends.example");
    let again = srv
        .post(
            "/api/v1/admin/domain_allows",
            t,
            &[("domain", "friends.example")],
        )
        .await
        .ok();
    assert_eq!(again["id"], a["id"]);
    let id = a["id"].as_str().unwrap();
    srv.get(&format!("/api/v1/admin/domain_allows/{id}"), t)
        .await
        .ok();
    srv.request(
        Method::DELETE,
        &format!("/api/v1/admin/domain_allows/{id}"),
        t,
        None,
    )
    .await
    .ok();
    assert_eq!(
        srv.get("/api/v1/admin/domain_allows", t).await.ok(),
        json!([])
    );

    // E-mail domain blocks: a repeat is 422.
    let e = srv
        .post(
            "/api/v1/admin/email_domain_blocks",
            t,
            &[("domain", "spam.example")],
        )
        .await
        .ok();
    assert_eq!(e["domain"], "spam.example");
    assert_eq!(e["history"], json!([]));
    let r = srv
        .post(
            "/api/v1/admin/email_domain_blocks",
            t,
            &[("domain", "spam.example")],
        )
        .await;
    assert_eq!(r.status, 422);

    // Canonical e-mail blocks: Mastodon's canonical form (dots and +tags dropped).
    let c = srv
        .post(
            "/api/v1/admin/canonical_email_blocks",
            t,
            &[("email", "J.Doe+news@Mail.example")],
        )
        .await
        .ok();
    use sha2::Digest as _;
    let expected: String = sha2::Sha256::digest(b"jdoe@mail.example")
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    assert_eq!(c["canonical_email_hash"], expected.as_str());
    let matched = srv
        .post(
            "/api/v1/admin/canonical_email_blocks/test",
            t,
            &[("email", "jdoe+other@mail.example")],
        )
        .await
        .ok();
    assert_eq!(matched.as_array().unwrap().len(), 1);
    assert_eq!(matched[0]["id"], c["id"]);
    let unmatched = srv
        .post(
            "/api/v1/admin/canonical_email_blocks/test",
            t,
            &[("email", "jane@mail.example")],
        )
        .await
        .ok();
    assert_eq!(unmatched, json!([]));
    let r = srv
        .post("/api/v1/admin/canonical_email_blocks", t, &[("email", "")])
        .await;
    assert_eq!(r.status, 422);

    // IP blocks: a network, its severity, an end; bad input refused.
    let ip = srv
        .post(
            "/api/v1/admin/ip_blocks",
            t,
            &[
                ("ip", "192.0.2.7/24"),
                ("severity", "no_access"),
                ("comment", "abuse"),
                ("expires_in", "3600"),
            ],
        )
        .await
        .ok();
    assert_eq!(ip["ip"], "192.0.2.0/24");
    assert_eq!(ip["severity"], "no_access");
    assert!(ip["expires_at"].is_string(), "{ip}");
    let ip_id = ip["id"].as_str().unwrap();
    let changed = srv
        .request(
            Method::PUT,
            &format!("/api/v1/admin/ip_blocks/{ip_id}"),
            t,
            Some(Body::Form(vec![(
                "severity".into(),
                "sign_up_block".into(),
            )])),
        )
        .await
        .ok();
    assert_eq!(changed["severity"], "sign_up_block");
    assert_eq!(changed["ip"], "192.0.2.0/24");
    for form in [
        vec![("ip", "300.1.1.1"), ("severity", "no_access")],
        vec![("ip", "192.0.2.9"), ("severity", "everything")],
        vec![("ip", "192.0.2.9")],
        vec![
            ("ip", "192.0.2.9"),
            ("severity", "no_access"),
            ("expires_in", "-5"),
        ],
        // The same network again.
        vec![("ip", "192.0.2.0/24"), ("severity", "no_access")],
    ] {
        let r = srv.post("/api/v1/admin/ip_blocks", t, &form).await;
        assert_eq!(r.status, 422, "{form:?}: {}", r.text);
    }
    assert_eq!(srv.count("ip_blocks").await, 1);
    srv.stop().await;
}

/// POSTs a sign-up through the API, as if from `ip` (the test server trusts the
/// loopback proxy's `X-Forwarded-For`).
async fn sign_up(srv: &TestServer, app_token: &str, name: &str, email: &str, ip: &str) -> u16 {
    srv.http
        .post(format!("{}/api/v1/accounts", srv.url))
        .bearer_auth(app_token)
        .header("x-forwarded-for", ip)
        .form(&[
            ("username", name),
            ("email", email),
            ("password", "password123"),
            ("agreement", "true"),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn sign_ups_refused_by_email_and_ip_blocks(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let root = srv.staff("root", "admin").await;
    let t = Some(root.token.as_str());
    let (_, _, app) = srv.app_token("read write").await;
    srv.post(
        "/api/v1/admin/email_domain_blocks",
        t,
        &[("domain", "spam.example")],
    )
    .await
    .ok();
    srv.post(
        "/api/v1/admin/canonical_email_blocks",
        t,
        &[("email", "j.doe@mail.example")],
    )
    .await
    .ok();
    srv.post(
        "/api/v1/admin/ip_blocks",
        t,
        &[("ip", "203.0.113.0/24"), ("severity", "sign_up_block")],
    )
    .await
    .ok();
    srv.post(
        "/api/v1/admin/ip_blocks",
        t,
        &[
            ("ip", "198.51.100.9"),
            ("severity", "sign_up_requires_approval"),
        ],
    )
    .await
    .ok();
    let users = srv.count("users").await;
    // A blocked e-mail domain, and its subdomain: 422.
    assert_eq!(
        sign_up(&srv, &app, "s1", "a@spam.example", "192.0.2.1").await,
        422
    );
    assert_eq!(
        sign_up(&srv, &app, "s2", "a@mx.spam.example", "192.0.2.1").await,
        422
    );
    // The canonical form of a blocked address: 422.
    assert_eq!(
        sign_up(&srv, &app, "s3", "JDoe+x@mail.example", "192.0.2.1").await,
        422
    );
    // An address in a blocked network: refused.
    assert_eq!(
        sign_up(&srv, &app, "s4", "ok@good.example", "203.0.113.77").await,
        403
    );
    assert_eq!(srv.count("users").await, users, "nothing written");
    // Elsewhere: welcome.
    assert_eq!(
        sign_up(&srv, &app, "fine", "fine@good.example", "192.0.2.1").await,
        200
    );
    // From an address that needs approval: made, not approved.
    assert_eq!(
        sign_up(&srv, &app, "waits", "waits@good.example", "198.51.100.9").await,
        200
    );
    let engine = srv.engine();
    let waits = engine
        .store_for_tests()
        .account_by_acct("waits", "")
        .await
        .unwrap()
        .unwrap();
    let user = engine.user(waits.id).await.unwrap().unwrap();
    assert!(!user.approved);
    let fine = engine
        .store_for_tests()
        .account_by_acct("fine", "")
        .await
        .unwrap()
        .unwrap();
    assert!(engine.user(fine.id).await.unwrap().unwrap().approved);
    srv.stop().await;
}

/// The admin lists are paged as Mastodon's: newest first, `limit`, `max_id`,
/// `min_id`, and a `Link` header to the next page.
async fn admin_lists_are_paged(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let root = srv.staff("root", "admin").await;
    let t = Some(root.token.as_str());
    for (path, field, values) in [
        (
            "/api/v1/admin/domain_blocks",
            "domain",
            ["a.example", "b.example", "c.example"],
        ),
        (
            "/api/v1/admin/domain_allows",
            "domain",
            ["a.example", "b.example", "c.example"],
        ),
        (
            "/api/v1/admin/email_domain_blocks",
            "domain",
            ["a.example", "b.example", "c.example"],
        ),
        (
            "/api/v1/admin/ip_blocks",
            "ip",
            ["192.0.2.1", "192.0.2.2", "192.0.2.3"],
        ),
        (
            "/api/v1/admin/canonical_email_blocks",
            "email",
            ["a@x.example", "b@x.example", "c@x.example"],
        ),
    ] {
        let mut made = Vec::new();
        for v in values {
            let r = srv
                .post(path, t, &[(field, v), ("severity", "no_access")])
                .await;
            // domain blocks take severities of their own: the default then.
            let r = if r.status == 422 {
                srv.post(path, t, &[(field, v)]).await
            } else {
                r
            };
            made.push(r.ok()["id"].as_str().unwrap().to_string());
        }
        let first = srv.get(&format!("{path}?limit=2"), t).await;
        let page: Vec<String> = ids(&first.body);
        assert_eq!(page, [made[2].clone(), made[1].clone()], "{path}");
        let link = first.headers["link"].to_str().unwrap().to_string();
        assert!(
            link.contains(&format!("max_id={}", made[1])),
            "{path}: {link}"
        );
        let next = srv
            .get(&format!("{path}?limit=2&max_id={}", made[1]), t)
            .await
            .ok();
        assert_eq!(ids(&next), [made[0].clone()], "{path}");
        let above = srv
            .get(&format!("{path}?limit=1&min_id={}", made[0]), t)
            .await
            .ok();
        assert_eq!(ids(&above), [made[1].clone()], "{path}");
        let bad = srv.get(&format!("{path}?limit=x"), t).await.status.as_u16();
        assert!((400..500).contains(&bad), "{path}: {bad}");
    }
    srv.stop().await;
}

/// A `no_access` IP block refuses every request from its network, API and pages
/// alike, at once when made; other addresses are served; lifting it lets the address
/// back in.
async fn no_access_ip_blocks_refuse_every_request(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let root = srv.staff("root", "admin").await;
    let t = Some(root.token.as_str());
    let status_from = async |path: &str, ip: &str| -> u16 {
        srv.http
            .get(format!("{}{path}", srv.url))
            .header("x-forwarded-for", ip)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(status_from("/api/v1/instance", "192.0.2.66").await, 200);
    let block = srv
        .post(
            "/api/v1/admin/ip_blocks",
            t,
            &[("ip", "192.0.2.64/28"), ("severity", "no_access")],
        )
        .await
        .ok();
    for path in [
        "/api/v1/instance",
        "/api/v1/timelines/public",
        "/",
        "/about",
    ] {
        assert_eq!(status_from(path, "192.0.2.66").await, 403, "{path}");
        assert_eq!(status_from(path, "192.0.2.79").await, 403, "{path}");
        assert_eq!(status_from(path, "192.0.2.5").await, 200, "{path}");
        assert_eq!(status_from(path, "192.0.2.200").await, 200, "{path}");
    }
    // Sign-up from there is refused too, with nothing written.
    let users = srv.count("users").await;
    let (_, _, app) = srv.app_token("read write").await;
    assert_eq!(
        sign_up(&srv, &app, "inside", "in@good.example", "192.0.2.70").await,
        403
    );
    assert_eq!(srv.count("users").await, users);
    let id = block["id"].as_str().unwrap();
    srv.request(
        Method::DELETE,
        &format!("/api/v1/admin/ip_blocks/{id}"),
        t,
        None,
    )
    .await
    .ok();
    assert_eq!(status_from("/api/v1/instance", "192.0.2.66").await, 200);
    srv.stop().await;
}

/// Two servers: `alice` on `a` follows `bob` on `b`, who posts `n` times; returns
/// (a, b, alice's token, bob, b's domain) once `a` stored the posts.
async fn bob_posts_to_a(
    db: Db,
    n: usize,
    tweak: impl FnOnce(&mut sluice::Config),
) -> Option<(TestServer, TestServer, crate::common::User, String)> {
    let a = TestServer::start(db, |c| {
        peer("127.0.0.2")(c);
        tweak(c);
    })
    .await?;
    let b = TestServer::start(db, peer("127.0.0.3")).await?;
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let b_domain = b.url.trim_start_matches("http://").to_string();
    follow_remote(&a, &alice, &format!("bob@{b_domain}")).await;
    for i in 0..n {
        b.status(&bob, &format!("post {i}"), &[]).await;
    }
    eventually("bob's posts on a", async || {
        a.count("statuses").await == n as i64
    })
    .await;
    let _ = bob;
    Some((a, b, alice, b_domain))
}

async fn a_suspended_domain_is_purged_and_its_inbox_refused(db: Db) {
    let Some((a, b, _alice, _)) = bob_posts_to_a(db, 3, |c| c.purge_batch = 2).await else {
        return;
    };
    let root = a.staff("root", "admin").await;
    let block = a
        .post(
            "/api/v1/admin/domain_blocks",
            Some(&root.token),
            &[("domain", "127.0.0.3"), ("severity", "suspend")],
        )
        .await
        .ok();
    eventually("the domain's posts purged", async || {
        a.count("statuses").await == 0
    })
    .await;
    let blocks = a.engine().domain_blocks().await.unwrap();
    let progress = a.engine().purge_progress(&blocks[0]).await.unwrap();
    assert_eq!((progress.purged, progress.left), (3, 0));
    assert_eq!(blocks[0].id.to_string(), block["id"].as_str().unwrap());
    // Its follows are gone too.
    eventually("the follow removed", async || a.count("follows").await == 0).await;

    // bob posts again: b delivers, a takes nothing.
    let bob2 = b.password_token("bob", "read write").await;
    b.post("/api/v1/statuses", Some(&bob2), &[("status", "still here")])
        .await
        .ok();
    eventually("b's delivery done", async || {
        b.pending_deliveries().await == 0
    })
    .await;
    assert_eq!(a.pending_inbox().await, 0);
    assert_eq!(a.count("statuses").await, 0);
    a.stop().await;
    b.stop().await;
}

/// `acct`'s post whose URI is `uri`, as `srv` shows it in `token`'s home, once there.
async fn in_home(srv: &TestServer, token: &str, uri: &str) -> Value {
    let mut seen = Value::Null;
    eventually("the post in home", async || {
        let home = srv.get("/api/v1/timelines/home", Some(token)).await.ok();
        match home
            .as_array()
            .and_then(|h| h.iter().find(|s| s["uri"] == uri).cloned())
        {
            Some(s) => {
                seen = s;
                true
            }
            None => false,
        }
    })
    .await;
    seen
}

async fn one_purge_step_spans_accounts_and_keeps_others_right(db: Db) {
    // One step, then an hour's pause: what the first step does is all there is.
    let Some(a) = TestServer::start(db, |c| {
        peer("127.0.0.2")(c);
        c.purge_batch = 100;
        c.purge_pause_ms = 3_600_000;
    })
    .await
    else {
        return;
    };
    let b = TestServer::start(db, peer("127.0.0.3")).await.unwrap();
    let a_domain = a.url.trim_start_matches("http://").to_string();
    let b_domain = b.url.trim_start_matches("http://").to_string();
    let alice = a.user("alice").await;
    let dave = a.user("dave").await;
    let bob = b.user("bob").await;
    let carol = b.user("carol").await;
    follow_remote(&a, &alice, &format!("bob@{b_domain}")).await;
    follow_remote(&a, &alice, &format!("carol@{b_domain}")).await;
    follow_remote(&b, &carol, &format!("alice@{a_domain}")).await;

    // alice's post reaches carol, who replies to it, boosts it and favourites it.
    let hello = a.status(&alice, "hello #local", &[]).await;
    let hello_id = hello["id"].as_str().unwrap().to_string();
    let on_b = in_home(&b, &carol.token, hello["uri"].as_str().unwrap()).await;
    let on_b_id = on_b["id"].as_str().unwrap().to_string();
    let reply = b
        .status(&carol, "hi alice", &[("in_reply_to_id", on_b_id.as_str())])
        .await;
    for verb in ["reblog", "favourite"] {
        b.post(
            &format!("/api/v1/statuses/{on_b_id}/{verb}"),
            Some(&carol.token),
            &[],
        )
        .await
        .ok();
    }
    // bob posts three times, mentioning alice with a hashtag once; alice favourites,
    // bookmarks and boosts his first post, and dave replies to it.
    let first = b
        .status(&bob, &format!("@alice@{a_domain} buy now #spam"), &[])
        .await;
    b.status(&bob, "two", &[]).await;
    let last = b.status(&bob, "three", &[]).await;
    let first_on_a = in_home(&a, &alice.token, first["uri"].as_str().unwrap()).await;
    let first_id = first_on_a["id"].as_str().unwrap().to_string();
    for verb in ["favourite", "bookmark", "reblog"] {
        a.post(
            &format!("/api/v1/statuses/{first_id}/{verb}"),
            Some(&alice.token),
            &[],
        )
        .await
        .ok();
    }
    let dave_reply = a
        .status(&dave, "no thanks", &[("in_reply_to_id", first_id.as_str())])
        .await;
    in_home(&a, &alice.token, last["uri"].as_str().unwrap()).await;
    in_home(&a, &alice.token, reply["uri"].as_str().unwrap()).await;
    eventually("carol's boost and favourite on a", async || {
        let s = a
            .get(&format!("/api/v1/statuses/{hello_id}"), Some(&alice.token))
            .await
            .ok();
        s["replies_count"] == 1 && s["reblogs_count"] == 1 && s["favourites_count"] == 1
    })
    .await;
    // alice: hello and her boost; dave: his reply; bob: 3; carol: a reply and a boost.
    eventually("every post on a", async || a.count("statuses").await == 8).await;
    let alice_acct = a
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .ok();
    assert_eq!(alice_acct["statuses_count"], 2);
    assert_eq!(alice_acct["following_count"], 2);
    assert!(a.count("mentions").await >= 1);
    assert!(a.count("notifications").await >= 3);
    let deletes_before = a.count("event_log WHERE kind = 'delete'").await;

    a.post(
        "/api/v1/admin/domain_blocks",
        Some(&a.staff("root", "admin").await.token),
        &[("domain", "127.0.0.3"), ("severity", "suspend")],
    )
    .await
    .ok();
    // Both accounts' posts, and alice's boost of bob's, go in the first step.
    eventually("the first step", async || a.count("statuses").await == 2).await;
    let left: Vec<String> = {
        let q = sluice_store::Query::new("SELECT id AS v FROM statuses ORDER BY id");
        a.store()
            .all::<sluice_store::Scalar>(q)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.v.to_string())
            .collect()
    };
    assert_eq!(
        left,
        vec![
            hello_id.clone(),
            dave_reply["id"].as_str().unwrap().to_string()
        ]
    );
    // The counts of what stays no longer count what went.
    let s = a
        .get(&format!("/api/v1/statuses/{hello_id}"), Some(&alice.token))
        .await
        .ok();
    assert_eq!(
        (
            &s["replies_count"],
            &s["reblogs_count"],
            &s["favourites_count"]
        ),
        (&json!(0), &json!(0), &json!(0)),
        "{s}"
    );
    let alice_acct = a
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .ok();
    assert_eq!(
        alice_acct["statuses_count"], 1,
        "her boost of bob's post went"
    );
    assert_eq!(alice_acct["following_count"], 0);
    // Nothing hangs off the posts that went, nothing is left of what the accounts did.
    for table in [
        "mentions",
        "status_tags",
        "favourites",
        "bookmarks",
        "notifications",
        "status_search",
    ] {
        let key =
            if table == "status_search" && a.store().kind() == sluice_store::EngineKind::Sqlite {
                "rowid"
            } else {
                "status_id"
            };
        let orphans = a
            .count(&format!(
                "{table} WHERE {key} IS NOT NULL AND {key} NOT IN (SELECT id FROM statuses)"
            ))
            .await;
        assert_eq!(orphans, 0, "{table}");
    }
    for table in ["favourites", "bookmarks", "follows"] {
        assert_eq!(a.count(table).await, 0, "{table}");
    }
    assert_eq!(
        a.count(
            "notifications WHERE from_account_id IN (SELECT id FROM accounts WHERE domain <> '')"
        )
        .await,
        0
    );
    assert_eq!(
        a.count("status_tags").await,
        1,
        "alice's #local only, not #spam"
    );
    // A tombstone for each post that is not a boost (bob's three, carol's reply), and
    // a `delete` event for each status that went (boosts too).
    assert_eq!(a.count("tombstones").await, 4);
    assert_eq!(
        a.count("event_log WHERE kind = 'delete'").await - deletes_before,
        6
    );
    // Every account of the domain is done (bob, carol, and b's instance actor, which
    // signed b's requests), their posts counted on the block.
    assert_eq!(
        a.count("accounts WHERE domain <> '' AND (purged_at IS NULL OR purged_at < suspended_at)")
            .await,
        0
    );
    assert!(a.count("accounts WHERE purged_at IS NOT NULL").await >= 2);
    let blocks = a.engine().domain_blocks().await.unwrap();
    assert_eq!(blocks[0].purged_statuses, 5);
    let progress = a.engine().purge_progress(&blocks[0]).await.unwrap();
    assert_eq!((progress.purged, progress.left), (5, 0));
    // dave's reply still stands, its parent gone.
    a.get(
        &format!("/api/v1/statuses/{}", dave_reply["id"].as_str().unwrap()),
        Some(&dave.token),
    )
    .await
    .ok();
    a.stop().await;
    b.stop().await;
}

async fn the_purge_resumes_after_a_restart(db: Db) {
    // bob posts 3 times, carol twice; one step, then an hour's pause.
    let Some((mut a, b, alice, b_domain)) = bob_posts_to_a(db, 3, |c| {
        c.purge_pause_ms = 3_600_000;
    })
    .await
    else {
        return;
    };
    let carol = b.user("carol").await;
    let carol_id = follow_remote(&a, &alice, &format!("carol@{b_domain}")).await;
    let bob_id = a.lookup_id(&format!("bob@{b_domain}")).await;
    b.status(&carol, "carol 1", &[]).await;
    b.status(&carol, "carol 2", &[]).await;
    eventually("carol's posts on a", async || {
        a.count("statuses").await == 5
    })
    .await;
    // A batch of every account of the domain without posts (b's instance actor), each
    // counted as one, plus bob's 3 posts and bob (4), plus one: whatever the order of
    // the accounts, the first step takes all of bob's posts and some of carol's, not all.
    let others = a
        .count(&format!(
            "accounts WHERE domain <> '' AND id NOT IN ({bob_id}, {carol_id})"
        ))
        .await;
    a.halt().await;
    a.config.purge_batch = usize::try_from(others).unwrap() + 5;
    a.resume().await;
    a.engine()
        .set_domain_block(&sluice_store::DomainBlockRow {
            domain: "127.0.0.3".into(),
            severity: "suspend".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    eventually("one batch purged", async || a.count("statuses").await < 5).await;
    let posts_of = |id: &str| format!("statuses WHERE account_id = {id}");
    assert_eq!(a.count(&posts_of(&bob_id)).await, 0, "all of bob's");
    assert!(a.count(&posts_of(&carol_id)).await < 2, "and carol's too");
    let purged = |id: &str| format!("accounts WHERE id = {id} AND purged_at IS NOT NULL");
    assert_eq!(a.count(&purged(&bob_id)).await, 1, "bob done");
    assert_eq!(a.count(&purged(&carol_id)).await, 0, "carol not yet");
    // A restart without the pause: the work is found again and finished.
    a.config.purge_pause_ms = 0;
    a.restart().await;
    eventually("the rest purged after the restart", async || {
        a.count("statuses").await == 0 && a.count(&purged(&carol_id)).await == 1
    })
    .await;
    let blocks = a.engine().domain_blocks().await.unwrap();
    assert_eq!(blocks[0].purged_statuses, 5);
    assert_eq!(a.count("follows").await, 0);
    a.stop().await;
    b.stop().await;
}

fn home_media_types(home: &Value) -> Vec<String> {
    home.as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["media_attachments"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|m| m["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn reject_media_keeps_no_media_of_the_domain(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let b_domain = b.url.trim_start_matches("http://").to_string();
    follow_remote(&a, &alice, &format!("bob@{b_domain}")).await;
    let m = crate::media::upload_png(&b, &bob, 1).await;
    b.status(
        &bob,
        "a picture",
        &[("media_ids[]", m["id"].as_str().unwrap())],
    )
    .await;
    eventually("the picture on a", async || {
        let home = a
            .get("/api/v1/timelines/home", Some(&alice.token))
            .await
            .ok();
        home_media_types(&home) == ["image"]
    })
    .await;
    let root = a.staff("root", "admin").await;
    a.post(
        "/api/v1/admin/domain_blocks",
        Some(&root.token),
        &[
            ("domain", "127.0.0.3"),
            ("severity", "noop"),
            ("reject_media", "true"),
        ],
    )
    .await
    .ok();
    // What was stored loses its media.
    eventually("the stored picture dropped", async || {
        let home = a
            .get("/api/v1/timelines/home", Some(&alice.token))
            .await
            .ok();
        home_media_types(&home) == ["unknown"]
    })
    .await;
    // What comes next is stored without.
    let m = crate::media::upload_png(&b, &bob, 2).await;
    b.status(
        &bob,
        "another",
        &[("media_ids[]", m["id"].as_str().unwrap())],
    )
    .await;
    eventually("the second post on a, without media", async || {
        let home = a
            .get("/api/v1/timelines/home", Some(&alice.token))
            .await
            .ok();
        home.as_array().unwrap().len() == 2
    })
    .await;
    let home = a
        .get("/api/v1/timelines/home", Some(&alice.token))
        .await
        .ok();
    assert_eq!(home_media_types(&home), ["unknown", "unknown"]);
    // noop: the posts themselves stay.
    assert_eq!(a.count("statuses").await, 2);
    a.stop().await;
    b.stop().await;
}

async fn allowlist_mode_takes_only_allowed_domains(db: Db) {
    use sluice_engine::federation_moderation::FederationMode;
    let Some(a) = TestServer::start(db, |c| {
        peer("127.0.0.2")(c);
        c.federation_mode = FederationMode::Allowlist;
    })
    .await
    else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let Some(c) = TestServer::start(db, peer("127.0.0.4")).await else {
        return;
    };
    let root = a.staff("root", "admin").await;
    a.post(
        "/api/v1/admin/domain_allows",
        Some(&root.token),
        &[("domain", "127.0.0.3")],
    )
    .await
    .ok();
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let carol = c.user("carol").await;
    let a_domain = a.url.trim_start_matches("http://").to_string();
    // bob (allowed) follows alice: accepted.
    follow_remote(&b, &bob, &format!("alice@{a_domain}")).await;
    // carol (not allowed) follows alice: a takes nothing from her server.
    let alice_on_c = c.lookup_id(&format!("alice@{a_domain}")).await;
    let rel = c
        .post(
            &format!("/api/v1/accounts/{alice_on_c}/follow"),
            Some(&carol.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(rel["following"], false, "{rel}");
    eventually("c's delivery done", async || {
        c.pending_deliveries().await == 0
    })
    .await;
    assert_eq!(a.pending_inbox().await, 0);
    let followers = a
        .get(
            &format!("/api/v1/accounts/{}/followers", alice.id),
            Some(&alice.token),
        )
        .await
        .ok();
    let accts: Vec<&str> = followers
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["acct"].as_str().unwrap())
        .collect();
    assert_eq!(accts.len(), 1, "{followers}");
    assert!(accts[0].starts_with("bob@"), "{accts:?}");
    // Nor does a fetch from it: looking carol up finds nothing.
    let c_domain = c.url.trim_start_matches("http://").to_string();
    let r = a
        .get(
            &format!("/api/v1/accounts/lookup?acct=carol@{c_domain}"),
            None,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    a.stop().await;
    b.stop().await;
    c.stop().await;
}

async fn the_domains_and_rules_pages(db: Db) {
    use crate::web::Browser;
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("alice").await;
    srv.staff("mo", "moderator").await;
    srv.staff("root", "admin").await;
    // Not signed in: to sign in; a user, a moderator (no manage_federation): 403.
    let mut anon = Browser::new(&srv);
    let r = anon.get("/admin/domains").await;
    assert_eq!(r.status, 303);
    assert!(r.location.starts_with("/auth/sign_in"), "{}", r.location);
    for name in ["alice", "mo"] {
        let mut b = Browser::new(&srv);
        assert_eq!(b.sign_in(name, "password123").await.status, 303);
        assert_eq!(b.get("/admin/domains").await.status, 403, "{name}");
        assert_eq!(b.get("/admin/rules").await.status, 403, "{name}");
    }
    let mut b = Browser::new(&srv);
    assert_eq!(b.sign_in("root", "password123").await.status, 303);
    let page = b.get("/admin/domains").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let token = page.token();
    // Without the page's token: nothing written.
    let r = b
        .post(
            "/admin/domains",
            &[("domain", "bad.example"), ("severity", "suspend")],
        )
        .await;
    assert_ne!(r.status, 303);
    assert_eq!(srv.count("domain_blocks").await, 0);
    let r = b
        .post(
            "/admin/domains",
            &[
                ("authenticity_token", &token),
                ("domain", "bad.example"),
                ("severity", "suspend"),
                ("public_comment", "spam"),
            ],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/admin/domains?saved=1")
    );
    let page = b.get("/admin/domains?saved=1").await;
    assert!(page.text.contains("bad.example"), "{}", page.text);
    assert!(
        page.text.contains("0 posts purged, 0 left"),
        "{}",
        page.text
    );
    // A refused block: the form again, 422, nothing written.
    let r = b
        .post(
            "/admin/domains",
            &[
                ("authenticity_token", &token),
                ("domain", "bad.example"),
                ("severity", "silence"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    let id = srv.engine().domain_blocks().await.unwrap()[0].id;
    let edit = b.get(&format!("/admin/domains/{id}")).await;
    assert_eq!(edit.status, 200);
    let r = b
        .post(
            &format!("/admin/domains/{id}"),
            &[
                ("authenticity_token", &token),
                ("severity", "silence"),
                ("reject_media", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let blocks = srv.engine().domain_blocks().await.unwrap();
    assert_eq!(blocks[0].severity, "silence");
    assert!(blocks[0].reject_media);
    let r = b
        .post(
            &format!("/admin/domains/{id}/delete"),
            &[("authenticity_token", &token)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(srv.count("domain_blocks").await, 0);

    // Rules: added on the page, shown by the API, removed.
    let r = b
        .post(
            "/admin/rules",
            &[("authenticity_token", &token), ("text", "Be kind")],
        )
        .await;
    assert_eq!(r.status, 303);
    let rules = srv.get("/api/v1/instance/rules", None).await.ok();
    assert_eq!(rules[0]["text"], "Be kind", "{rules}");
    let v2 = srv.get("/api/v2/instance", None).await.ok();
    assert_eq!(v2["rules"], rules);
    let r = b
        .post(
            "/admin/rules",
            &[("authenticity_token", &token), ("text", " ")],
        )
        .await;
    assert_eq!(r.status, 422);
    let rule_id = rules[0]["id"].as_str().unwrap();
    let r = b
        .post(
            &format!("/admin/rules/{rule_id}/delete"),
            &[("authenticity_token", &token)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        srv.get("/api/v1/instance/rules", None).await.ok(),
        json!([])
    );
    let log = srv.engine().audit_log(None, None, 10).await.unwrap();
    let actions: Vec<&str> = log.iter().take(5).map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "destroy_rule",
            "create_rule",
            "destroy_domain_block",
            "update_domain_block",
            "create_domain_block"
        ]
    );
    srv.stop().await;
}
