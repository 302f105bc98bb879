//! Reports (issue 17): `POST /api/v1/reports` and what it refuses, the moderators'
//! `admin.report` notifications, forwarding to the reported account's server as a
//! `Flag` from the instance actor, the admin API of reports with its scopes and audit
//! entries, the reporter's mail when a report is resolved, and the `/admin` pages.

use serde_json::Value;

use crate::common::{Body, Db, SmtpSink, TestServer, User, eventually, follow_remote, ids, peer};
use crate::web::Browser;

db_tests!(
    filing_a_report_and_what_it_refuses,
    admin_report_api_lifecycle_and_scopes,
    a_forwarded_report_reaches_the_other_server,
    admin_pages_for_moderators_only,
    an_account_action_resolves_its_reports,
);

fn form(pairs: &[(&str, &str)]) -> Body {
    Body::Form(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

async fn report(srv: &TestServer, who: &User, form: &[(&str, &str)]) -> crate::common::Resp {
    srv.post("/api/v1/reports", Some(&who.token), form).await
}

/// The notifications of `who` of type `admin.report`.
async fn report_notifications(srv: &TestServer, who: &User) -> Vec<Value> {
    srv.get("/api/v1/notifications", Some(&who.token))
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "admin.report")
        .cloned()
        .collect()
}

async fn filing_a_report_and_what_it_refuses(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let mo = srv.staff("mo", "moderator").await;
    let post = srv.status(&alice, "something reportable", &[]).await;
    let post_id = post["id"].as_str().unwrap().to_string();
    let hidden = srv
        .status(&alice, "for my followers", &[("visibility", "private")])
        .await;
    let hidden_id = hidden["id"].as_str().unwrap().to_string();
    let carols = srv.status(&carol, "not alice's", &[]).await;
    let carols_id = carols["id"].as_str().unwrap().to_string();

    // Refused, each with a 422 and nothing written: a post of someone else, a post the
    // reporter cannot see, an unknown rule, a violation citing no rule, a comment too
    // long, an unknown category, oneself.
    let long = "x".repeat(1001);
    let refused: Vec<Vec<(&str, &str)>> = vec![
        vec![("account_id", &alice.id), ("status_ids[]", &carols_id)],
        vec![("account_id", &alice.id), ("status_ids[]", &hidden_id)],
        vec![("account_id", &alice.id), ("status_ids[]", "12345")],
        vec![
            ("account_id", &alice.id),
            ("category", "violation"),
            ("rule_ids[]", "1"),
        ],
        vec![("account_id", &alice.id), ("rule_ids[]", "7")],
        vec![("account_id", &alice.id), ("category", "violation")],
        vec![("account_id", &alice.id), ("comment", &long)],
        vec![("account_id", &alice.id), ("category", "rudeness")],
        vec![("account_id", &bob.id)],
        vec![("comment", "whom?")],
    ];
    for form in &refused {
        let r = report(&srv, &bob, form).await;
        assert_eq!(r.status, 422, "{form:?}: {}", r.text);
        assert!(r.body["error"].as_str().is_some(), "{}", r.text);
    }
    assert_eq!(
        report(&srv, &bob, &[("account_id", "999999")]).await.status,
        404
    );
    assert_eq!(srv.count("reports").await, 0);
    assert!(report_notifications(&srv, &mo).await.is_empty());

    // A token without `write:reports` may not report.
    let reader = srv.user_with_scopes("reader", "read").await;
    assert_eq!(
        report(&srv, &reader, &[("account_id", &alice.id)])
            .await
            .status,
        403
    );
    assert_eq!(
        srv.post("/api/v1/reports", None, &[("account_id", &alice.id)])
            .await
            .status,
        401
    );

    // A good one: the Report entity, comment exactly 1000 characters.
    let comment = "y".repeat(1000);
    let r = report(
        &srv,
        &bob,
        &[
            ("account_id", &alice.id),
            ("status_ids[]", &post_id),
            ("comment", &comment),
            ("category", "spam"),
            ("forward", "true"),
        ],
    )
    .await
    .ok();
    assert_eq!(r["category"], "spam", "{r}");
    assert_eq!(r["comment"], comment.as_str());
    assert_eq!(r["action_taken"], false);
    assert_eq!(r["action_taken_at"], Value::Null);
    // A local account's report is not forwarded anywhere.
    assert_eq!(r["forwarded"], false);
    assert_eq!(r["status_ids"], serde_json::json!([post_id]));
    assert_eq!(r["rule_ids"], serde_json::json!([]));
    assert_eq!(r["target_account"]["id"], alice.id.as_str());
    assert_eq!(srv.count("reports").await, 1);
    // Without a category nor rules: `other`.
    let other = report(&srv, &carol, &[("account_id", &alice.id)])
        .await
        .ok();
    assert_eq!(other["category"], "other");

    // The moderator is told of both, with the report in the notification; the
    // reported account and the reporter are not (they are not staff).
    let seen = report_notifications(&srv, &mo).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    let first = seen
        .iter()
        .find(|n| n["report"]["id"] == r["id"])
        .expect("the report's notification");
    assert_eq!(first["account"]["id"], bob.id.as_str());
    assert_eq!(first["report"]["target_account"]["id"], alice.id.as_str());
    assert_eq!(first["report"]["category"], "spam");
    assert!(report_notifications(&srv, &alice).await.is_empty());
    assert!(report_notifications(&srv, &bob).await.is_empty());
}

async fn admin_report_api_lifecycle_and_scopes(db: Db) {
    let mut sink = SmtpSink::start().await;
    let smtp = format!("smtp://{}", sink.addr);
    let Some(srv) = TestServer::start(db, |c| c.smtp_url = Some(smtp)).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let mo = srv.staff("mo", "moderator").await;
    let post = srv.status(&alice, "reported post", &[]).await;
    let first = report(
        &srv,
        &bob,
        &[
            ("account_id", &alice.id),
            ("status_ids[]", post["id"].as_str().unwrap()),
            ("comment", "please look"),
        ],
    )
    .await
    .ok();
    let id = first["id"].as_str().unwrap().to_string();

    // Who may read: 401 without a token, 403 for a token without an admin scope,
    // 403 for a user who is not staff even with the scopes, 200 for a moderator.
    let plain = srv.user("plain").await;
    let scoped = srv
        .user_with_scopes("scoped", "read write admin:read admin:write")
        .await;
    let list = "/api/v1/admin/reports";
    let one = format!("/api/v1/admin/reports/{id}");
    let resolve = format!("/api/v1/admin/reports/{id}/resolve");
    assert_eq!(srv.get(list, None).await.status, 401);
    assert_eq!(srv.get(list, Some(&plain.token)).await.status, 403);
    assert_eq!(srv.get(list, Some(&scoped.token)).await.status, 403);
    assert_eq!(srv.get(&one, Some(&scoped.token)).await.status, 403);
    assert_eq!(srv.post(&resolve, None, &[]).await.status, 401);
    assert_eq!(
        srv.post(&resolve, Some(&plain.token), &[]).await.status,
        403
    );
    assert_eq!(
        srv.post(&resolve, Some(&scoped.token), &[]).await.status,
        403
    );
    // A moderator's token that can only read may not write.
    let reading_mo = srv.password_token("mo", "read admin:read:reports").await;
    assert_eq!(srv.get(list, Some(&reading_mo)).await.status, 200);
    assert_eq!(srv.post(&resolve, Some(&reading_mo), &[]).await.status, 403);
    assert_eq!(
        srv.count("admin_actions WHERE action = 'resolve_report'")
            .await,
        0
    );

    let all = srv.get(list, Some(&mo.token)).await.ok();
    assert_eq!(ids(&all), vec![id.clone()]);
    let r = &all[0];
    assert_eq!(r["account"]["id"], bob.id.as_str(), "{r}");
    assert_eq!(r["account"]["username"], "bob");
    assert_eq!(r["account"]["email"], "bob@example.test");
    assert_eq!(r["account"]["account"]["acct"], "bob");
    assert_eq!(r["target_account"]["id"], alice.id.as_str());
    assert_eq!(r["target_account"]["domain"], Value::Null);
    assert_eq!(r["assigned_account"], Value::Null);
    assert_eq!(r["action_taken_by_account"], Value::Null);
    assert_eq!(r["statuses"][0]["id"], post["id"]);
    assert_eq!(r["rules"], serde_json::json!([]));
    assert_eq!(r["comment"], "please look");
    assert_eq!(r["forwarded"], false);
    // Filters.
    let by_target = srv
        .get(
            &format!("{list}?target_account_id={}", alice.id),
            Some(&mo.token),
        )
        .await
        .ok();
    assert_eq!(ids(&by_target), vec![id.clone()]);
    let by_other = srv
        .get(
            &format!("{list}?target_account_id={}", bob.id),
            Some(&mo.token),
        )
        .await
        .ok();
    assert!(ids(&by_other).is_empty());
    let by_reporter = srv
        .get(&format!("{list}?account_id={}", bob.id), Some(&mo.token))
        .await
        .ok();
    assert_eq!(ids(&by_reporter), vec![id.clone()]);
    let resolved = srv
        .get(&format!("{list}?resolved=true"), Some(&mo.token))
        .await
        .ok();
    assert!(ids(&resolved).is_empty());

    // Change the category; a violation needs a known rule (there are none).
    let spam = srv
        .request(
            reqwest::Method::PUT,
            &one,
            Some(&mo.token),
            Some(form(&[("category", "spam")])),
        )
        .await
        .ok();
    assert_eq!(spam["category"], "spam");
    let bad = srv
        .request(
            reqwest::Method::PUT,
            &one,
            Some(&mo.token),
            Some(form(&[("category", "violation"), ("rule_ids[]", "3")])),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);

    // Assign, unassign, resolve with a note, reopen.
    let a = srv
        .post(&format!("{one}/assign_to_self"), Some(&mo.token), &[])
        .await
        .ok();
    assert_eq!(a["assigned_account"]["id"], mo.id.as_str());
    let u = srv
        .post(&format!("{one}/unassign"), Some(&mo.token), &[])
        .await
        .ok();
    assert_eq!(u["assigned_account"], Value::Null);
    let done = srv
        .post(&resolve, Some(&mo.token), &[("note", "warned her")])
        .await
        .ok();
    assert_eq!(done["action_taken"], true);
    assert!(done["action_taken_at"].is_string());
    assert_eq!(done["action_taken_by_account"]["id"], mo.id.as_str());
    assert!(
        ids(&srv.get(list, Some(&mo.token)).await.ok()).is_empty(),
        "resolved reports leave the default list"
    );
    let resolved = srv
        .get(&format!("{list}?resolved=true"), Some(&mo.token))
        .await
        .ok();
    assert_eq!(ids(&resolved), vec![id.clone()]);

    // The reporter is told by mail (Mastodon's API has no notification for it).
    let mut mail = String::new();
    while !mail.contains("handled your report") {
        mail = sink.next_mail().await;
    }
    assert!(mail.contains("To: bob@example.test"), "{mail}");
    assert!(mail.contains("@alice"), "{mail}");

    let open = srv
        .post(&format!("{one}/reopen"), Some(&mo.token), &[])
        .await
        .ok();
    assert_eq!(open["action_taken"], false);
    assert_eq!(open["action_taken_by_account"], Value::Null);
    assert_eq!(
        ids(&srv.get(list, Some(&mo.token)).await.ok()),
        vec![id.clone()]
    );

    // Unknown reports and actions.
    assert_eq!(
        srv.get("/api/v1/admin/reports/4242", Some(&mo.token))
            .await
            .status,
        404
    );
    assert_eq!(
        srv.post(&format!("{one}/explode"), Some(&mo.token), &[])
            .await
            .status,
        404
    );

    // Every write left one audit entry, newest first, by the moderator.
    let log = srv
        .engine()
        .audit_log(None, Some(("report", id.as_str())), 20)
        .await
        .unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "reopen_report",
            "resolve_report",
            "unassign_report",
            "assign_report",
            "update_report"
        ]
    );
    assert!(
        log.iter()
            .all(|e| e.account_id == Some(mo.id.parse().unwrap()))
    );
    assert_eq!(log[1].text, "warned her");

    // Paging by id with a Link header.
    for i in 0..3 {
        let post = srv.status(&alice, &format!("post {i}"), &[]).await;
        report(
            &srv,
            &bob,
            &[
                ("account_id", &alice.id),
                ("status_ids[]", post["id"].as_str().unwrap()),
            ],
        )
        .await
        .ok();
    }
    let page = srv.get(&format!("{list}?limit=2"), Some(&mo.token)).await;
    let link = page.link();
    let first_page = ids(&page.ok());
    assert_eq!(first_page.len(), 2);
    assert!(link.contains("rel=\"next\""), "{link}");
    let next = link
        .split(['<', '>'])
        .nth(1)
        .unwrap()
        .trim_start_matches(&srv.url)
        .to_string();
    let second = ids(&srv.get(&next, Some(&mo.token)).await.ok());
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(second.iter().all(|i| !first_page.contains(i)));
}

async fn a_forwarded_report_reaches_the_other_server(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let carol = b.user("carol").await;
    let mo_b = b.staff("mo", "moderator").await;
    let mo_a = a.staff("ma", "moderator").await;
    let b_domain = b.url.trim_start_matches("http://").to_string();
    let a_domain = a.url.trim_start_matches("http://").to_string();
    let carol_on_a = follow_remote(&a, &alice, &format!("carol@{b_domain}")).await;
    let post = b.status(&carol, "a post to report", &[]).await;
    let mut post_on_a = String::new();
    eventually("carol's post on A", async || {
        let home = a
            .get("/api/v1/timelines/home", Some(&alice.token))
            .await
            .ok();
        match home
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["uri"] == post["uri"])
        {
            Some(s) => {
                post_on_a = s["id"].as_str().unwrap().to_string();
                true
            }
            None => false,
        }
    })
    .await;

    let r = report(
        &a,
        &alice,
        &[
            ("account_id", &carol_on_a),
            ("status_ids[]", &post_on_a),
            ("comment", "spam from over there"),
            ("forward", "true"),
        ],
    )
    .await
    .ok();
    assert_eq!(r["forwarded"], true, "{r}");
    // A's moderator has it too.
    assert_eq!(report_notifications(&a, &mo_a).await.len(), 1);

    // B's moderator gets a report from A's instance actor about carol and her post.
    let mut on_b = Value::Null;
    eventually("the Flag on B", async || {
        let list = b.get("/api/v1/admin/reports", Some(&mo_b.token)).await.ok();
        match list.as_array().unwrap().first() {
            Some(r) => {
                on_b = r.clone();
                true
            }
            None => false,
        }
    })
    .await;
    assert_eq!(on_b["target_account"]["id"], carol.id.as_str(), "{on_b}");
    assert_eq!(on_b["comment"], "spam from over there");
    assert_eq!(on_b["statuses"][0]["id"], post["id"]);
    let reporter = &on_b["account"];
    assert_eq!(reporter["domain"], a_domain.as_str(), "{on_b}");
    assert_eq!(
        reporter["account"]["acct"],
        format!("{a_domain}@{a_domain}")
    );
    // Alice is not named anywhere on B.
    assert!(!on_b.to_string().contains("alice"), "{on_b}");
    let told = report_notifications(&b, &mo_b).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["report"]["id"], on_b["id"]);

    // B resolves it: B's own state; nothing goes back to A.
    let id = on_b["id"].as_str().unwrap();
    let done = b
        .post(
            &format!("/api/v1/admin/reports/{id}/resolve"),
            Some(&mo_b.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(done["action_taken"], true);
    let on_a = a.get("/api/v1/admin/reports", Some(&mo_a.token)).await.ok();
    assert_eq!(on_a[0]["action_taken"], false);
}

async fn admin_pages_for_moderators_only(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    srv.staff("mo", "moderator").await;
    // A thread: bob's question, alice's answer (reported), a reply to it.
    let question = srv.status(&bob, "a question for everyone", &[]).await;
    let answer = srv
        .status(
            &alice,
            "@bob the reported answer",
            &[("in_reply_to_id", question["id"].as_str().unwrap())],
        )
        .await;
    srv.status(
        &bob,
        "@alice a reply under it",
        &[("in_reply_to_id", answer["id"].as_str().unwrap())],
    )
    .await;
    let r = report(
        &srv,
        &bob,
        &[
            ("account_id", &alice.id),
            ("status_ids[]", answer["id"].as_str().unwrap()),
            ("comment", "rude <b>answer</b>"),
        ],
    )
    .await
    .ok();
    let id = r["id"].as_str().unwrap().to_string();

    // The moderator's notifications page links the report.
    let mut b = Browser::new(&srv);
    b.sign_in("mo", "password123").await;
    let notes = b.get("/notifications").await;
    assert_eq!(notes.status, 200, "{}", notes.text);
    assert!(
        notes.text.contains(&format!(
            "<a href=\"/admin/reports/{id}\">reported @alice</a>"
        )),
        "{}",
        notes.text
    );

    // Signed out: to sign in. A user: 403 on every admin page.
    let mut visitor = Browser::new(&srv);
    let page = visitor.get("/admin/reports").await;
    assert_eq!(page.status, 303);
    assert!(
        page.location.starts_with("/auth/sign_in"),
        "{}",
        page.location
    );
    let mut user = Browser::new(&srv);
    user.sign_in("alice", "password123").await;
    for path in [
        "/admin".to_string(),
        "/admin/reports".to_string(),
        format!("/admin/reports/{id}"),
        "/admin/audit".to_string(),
    ] {
        assert_eq!(user.get(&path).await.status, 403, "{path}");
    }

    // The moderator: the queue, the report with its thread, the buttons.
    assert_eq!(b.get("/admin").await.location, "/admin/reports");
    let queue = b.get("/admin/reports").await;
    assert_eq!(queue.status, 200, "{}", queue.text);
    assert!(queue.text.contains(&format!("/admin/reports/{id}")));
    for section in ["Reports", "Accounts", "Sign-ups", "Audit log"] {
        assert!(queue.text.contains(section), "{section}");
    }
    // Domains and rules are an admin's: a moderator is not offered them.
    for path in ["/admin/domains", "/admin/rules"] {
        assert!(!queue.text.contains(&format!("href=\"{path}\"")), "{path}");
        assert_eq!(b.get(path).await.status, 403, "{path}");
    }
    let page = b.get(&format!("/admin/reports/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let text = &page.text;
    assert!(text.contains("a question for everyone"), "the parent");
    assert!(text.contains("the reported answer"), "the reported post");
    assert!(text.contains("a reply under it"), "the reply");
    // The comment is text, escaped.
    assert!(text.contains("rude &lt;b&gt;answer"), "{text}");
    assert!(!text.contains("<b>answer"));
    assert!(text.contains("Assign to me"));
    assert!(text.contains(&format!("/admin/reports/{id}/resolve")));
    assert!(crate::common::only_our_script(text));

    // A form without its token changes nothing.
    let forged = b
        .post(&format!("/admin/reports/{id}/resolve"), &[("note", "x")])
        .await;
    assert_eq!(forged.status, 403);
    // Assign, then resolve with a note; the page says so; reopen.
    let token = page.token();
    let done = b
        .post(
            &format!("/admin/reports/{id}/assign"),
            &[("authenticity_token", &token)],
        )
        .await;
    assert_eq!(done.status, 303);
    let done = b
        .post(
            &format!("/admin/reports/{id}/resolve"),
            &[("authenticity_token", &token), ("note", "removed the post")],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location, format!("/admin/reports/{id}?saved=1"));
    let page = b.get(&done.location).await;
    assert!(page.text.contains("Resolved by mo"), "{}", page.text);
    assert!(page.text.contains("removed the post"));
    assert!(page.text.contains("Reopen"));
    let open_queue = b.get("/admin/reports").await;
    assert!(!open_queue.text.contains(&format!("/admin/reports/{id}\"")));
    let resolved_queue = b.get("/admin/reports?resolved=1").await;
    assert!(
        resolved_queue
            .text
            .contains(&format!("/admin/reports/{id}\""))
    );
    // A user cannot act either, even with a valid form of their own.
    let user_page = user.get("/settings/profile").await;
    let forbidden = user
        .post(
            &format!("/admin/reports/{id}/reopen"),
            &[("authenticity_token", &user_page.token())],
        )
        .await;
    assert_eq!(forbidden.status, 403);

    // The audit log page: who, what, on what, why; newest first.
    let audit = b.get("/admin/audit").await;
    assert_eq!(audit.status, 200);
    let resolved_at = audit.text.find("resolve_report").expect("resolve entry");
    let assigned_at = audit.text.find("assign_report").expect("assign entry");
    assert!(resolved_at < assigned_at, "newest first");
    assert!(audit.text.contains("removed the post"));
    assert!(audit.text.contains("@mo"));
    assert!(
        audit.text.contains("(command line)"),
        "the role given by the test"
    );
}

/// As Mastodon: an action on an account resolves every open report about it; a
/// warning (`none`) with a `report_id` resolves that report only; a `report_id` about
/// someone else is refused (422) and an unknown one is 404, with nothing changed.
async fn an_account_action_resolves_its_reports(db: Db) {
    let mut sink = SmtpSink::start().await;
    let smtp = format!("smtp://{}", sink.addr);
    let Some(srv) = TestServer::start(db, |c| c.smtp_url = Some(smtp)).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let mo = srv.staff("mo", "moderator").await;
    let file = async |who: &User, target: &User| -> String {
        report(
            &srv,
            who,
            &[("account_id", &target.id), ("comment", "spam")],
        )
        .await
        .ok()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let r1 = file(&bob, &alice).await;
    let r2 = file(&carol, &alice).await;
    let r3 = file(&bob, &carol).await;
    let taken = async |id: &str| -> bool {
        srv.get(&format!("/api/v1/admin/reports/{id}"), Some(&mo.token))
            .await
            .ok()["action_taken"]
            .as_bool()
            .unwrap()
    };
    let action = format!("/api/v1/admin/accounts/{}/action", alice.id);
    // Someone else's report, and one that does not exist.
    let r = srv
        .post(
            &action,
            Some(&mo.token),
            &[("type", "silence"), ("report_id", &r3)],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = srv
        .post(
            &action,
            Some(&mo.token),
            &[("type", "silence"), ("report_id", "999999")],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let alice_silenced = async || -> bool {
        srv.get(
            &format!("/api/v1/admin/accounts/{}", alice.id),
            Some(&mo.token),
        )
        .await
        .ok()["silenced"]
            .as_bool()
            .unwrap()
    };
    assert!(!alice_silenced().await, "nothing half-done");
    assert!(!taken(&r1).await && !taken(&r2).await);
    // A warning answering r1: r1 only.
    srv.post(
        &action,
        Some(&mo.token),
        &[
            ("type", "none"),
            ("text", "please stop"),
            ("report_id", &r1),
        ],
    )
    .await
    .ok();
    assert!(taken(&r1).await);
    assert!(!taken(&r2).await);
    // An action: every open report about alice, and none about carol.
    srv.post(
        &action,
        Some(&mo.token),
        &[("type", "silence"), ("text", "no more spam")],
    )
    .await
    .ok();
    assert!(alice_silenced().await);
    // Mails: alice's warnings (`send_email_notification` is true by default) and
    // the reporters', in any order.
    let mut mails = Vec::new();
    while mails.len() < 4 {
        mails.push(sink.next_mail().await);
    }
    let to = |who: &str, what: &str| {
        mails
            .iter()
            .any(|m| m.contains(&format!("To: {who}@example.test")) && m.contains(what))
    };
    assert!(to("alice", "please stop"), "{mails:?}");
    assert!(to("alice", "only your followers"), "{mails:?}");
    assert!(to("alice", "no more spam"), "{mails:?}");
    assert!(to("bob", "handled your report"), "{mails:?}");
    assert!(to("carol", "handled your report"), "{mails:?}");
    assert!(taken(&r2).await);
    assert!(!taken(&r3).await);
    let report = srv
        .get(&format!("/api/v1/admin/reports/{r2}"), Some(&mo.token))
        .await
        .ok();
    assert_eq!(report["action_taken_by_account"]["id"], mo.id.as_str());
    // The report's accounts are shown as the admin API shows them.
    assert_eq!(report["target_account"]["silenced"], true, "{report}");
    srv.stop().await;
}
