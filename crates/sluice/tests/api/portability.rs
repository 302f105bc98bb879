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
    deleting_an_account_tells_the_servers_that_knew_it_and_keeps_its_name,
    export_then_import_round_trips_between_two_sluices,
    an_import_of_5000_follows_survives_a_restart,
    an_archive_is_made_and_only_its_owner_downloads_it,
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

/// The name of a file of `srv`'s media directory a URL of it names.
fn media_file(srv: &TestServer, url: &str) -> std::path::PathBuf {
    let name = url
        .strip_prefix(&format!("{}/media/", srv.url))
        .unwrap_or_else(|| panic!("not one of our media files: {url}"));
    srv.config.media_dir().join(name)
}

/// `gone` on A is followed by `bob` on B, follows `bea` on C and mentioned `dee` on D
/// (no follow either way); deleting it sends the actor's Delete to the three servers,
/// its actor answers 410 with a Tombstone at once, its data is purged, its uploads,
/// avatar and header removed from disk, and its name stays taken.
async fn deleting_an_account_tells_the_servers_that_knew_it_and_keeps_its_name(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let Some(c) = TestServer::start(db, peer("127.0.0.4")).await else {
        return;
    };
    let Some(d) = TestServer::start(db, peer("127.0.0.5")).await else {
        return;
    };
    let gone = a.user("gone").await;
    let other = a.user("other").await;
    let bob = b.user("bob").await;
    c.user("bea").await;
    d.user("dee").await;
    let gone_acct = format!("gone@{}", domain(&a));
    let gone_on_b = follow_remote(&b, &bob, &gone_acct).await;
    follow_remote(&a, &gone, &format!("bea@{}", domain(&c))).await;
    a.status(&gone, "first", &[]).await;
    a.status(&gone, "second", &[]).await;
    // D only got a post that mentions dee.
    let dee_acct = format!("dee@{}", domain(&d));
    a.lookup_id(&dee_acct).await;
    a.status(&gone, &format!("hello @{dee_acct}"), &[]).await;
    eventually("D to get the mention", async || {
        d.count("statuses WHERE content LIKE '%hello%'").await == 1
    })
    .await;
    // An upload on a post, an avatar and a header: files in A's media directory.
    let upload = crate::media::upload_png(&a, &gone, 7).await;
    let media_id = upload["id"].as_str().unwrap().to_string();
    a.status(
        &gone,
        "with a picture",
        &[("media_ids[]", media_id.as_str())],
    )
    .await;
    let images = reqwest::multipart::Form::new()
        .part(
            "avatar",
            reqwest::multipart::Part::bytes(crate::media::png(4, 4, 8))
                .file_name("avatar.png")
                .mime_str("image/png")
                .unwrap(),
        )
        .part(
            "header",
            reqwest::multipart::Part::bytes(crate::media::png(6, 2, 9))
                .file_name("header.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let r = a
        .http
        .patch(format!("{}/api/v1/accounts/update_credentials", a.url))
        .bearer_auth(&gone.token)
        .multipart(images)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    let files = [
        media_file(&a, upload["url"].as_str().unwrap()),
        media_file(&a, me["avatar"].as_str().unwrap()),
        media_file(&a, me["header"].as_str().unwrap()),
    ];
    for f in &files {
        assert!(f.exists(), "{} written", f.display());
    }
    a.post(
        &format!("/api/v1/accounts/{}/follow", gone.id),
        Some(&other.token),
        &[],
    )
    .await
    .ok();
    eventually("C to know gone", async || {
        c.count("accounts WHERE username = 'gone'").await == 1
    })
    .await;

    // A wrong password changes nothing.
    a.post(
        "/api/pleroma/delete_account",
        Some(&gone.token),
        &[("password", "wrong")],
    )
    .await
    .expect(403);
    let mut browser = signed_in(&a, "gone").await;
    let page = browser.get("/settings/delete").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let wrong = browser
        .post(
            "/settings/delete",
            &[
                ("authenticity_token", &page.token()),
                ("current_password", "nope"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 403, "{}", wrong.text);
    a.get("/api/v1/accounts/verify_credentials", Some(&gone.token))
        .await
        .ok();

    let r = browser
        .post(
            "/settings/delete",
            &[
                ("authenticity_token", &page.token()),
                ("current_password", "password123"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);

    // Gone at once, as Mastodon answers for a deleted account: its actor 410 with a
    // Tombstone, its profile page 410; the API shows it suspended, blank.
    let doc = get_as2(&a, &format!("{}/users/gone", a.url), None).await;
    assert_eq!(doc.status, 410, "{}", doc.text);
    assert_eq!(doc.body["type"], "Tombstone", "{}", doc.text);
    let page = Browser::new(&a).get("/@gone").await;
    assert_eq!(page.status, 410, "{}", page.text);
    let shown = a
        .get(&format!("/api/v1/accounts/{}", gone.id), None)
        .await
        .ok();
    assert_eq!(shown["suspended"], true, "{shown}");
    assert_eq!(shown["display_name"], "", "{shown}");

    // The servers that knew it: B (a follower's), C (of an account it followed) and D
    // (of an account it mentioned).
    eventually("B to apply the Delete", async || {
        b.count("accounts WHERE username = 'gone' AND suspended_at IS NOT NULL")
            .await
            == 1
    })
    .await;
    eventually("C to apply the Delete", async || {
        c.count("accounts WHERE username = 'gone' AND suspended_at IS NOT NULL")
            .await
            == 1
    })
    .await;
    eventually("D to apply the Delete", async || {
        d.count("accounts WHERE username = 'gone' AND suspended_at IS NOT NULL")
            .await
            == 1
    })
    .await;
    assert_eq!(b.count("follows").await, 0, "bob's follow of gone ended");
    eventually("C to end gone's follow of bea", async || {
        c.count("follows").await == 0
    })
    .await;
    let _ = gone_on_b;

    // Signed out everywhere; its data purged in the background.
    a.get("/api/v1/accounts/verify_credentials", Some(&gone.token))
        .await
        .expect(401);
    eventually("the purge to finish", async || {
        a.count("account_deletions WHERE done_at IS NOT NULL").await == 1
    })
    .await;
    assert_eq!(
        a.count(&format!("statuses WHERE account_id = {}", gone.id))
            .await,
        0
    );
    assert_eq!(
        a.count(&format!("media WHERE account_id = {}", gone.id))
            .await,
        0
    );
    for f in &files {
        assert!(!f.exists(), "{} removed", f.display());
    }
    assert_eq!(
        a.count(&format!(
            "follows WHERE account_id = {0} OR target_account_id = {0}",
            gone.id
        ))
        .await,
        0
    );
    let me = a
        .get(&format!("/api/v1/accounts/{}", other.id), None)
        .await
        .ok();
    assert_eq!(me["following_count"], 0, "{me}");

    // The name stays taken.
    let again = a
        .engine()
        .register(
            sluice_engine::accounts::Registration {
                username: "gone".into(),
                email: "new-gone@example.test".into(),
                password: "password123".into(),
                agreement: true,
                locale: "en".into(),
                reason: String::new(),
                admin: false,
                ip: None,
            },
            true,
        )
        .await;
    assert!(
        again.is_err(),
        "the username of a deleted account is reserved"
    );
    let mut fresh = Browser::new(&a);
    let r = fresh.sign_in("gone", "password123").await;
    assert_ne!(r.status, 303, "a deleted account cannot sign in");
    a.stop().await;
    b.stop().await;
    c.stop().await;
    d.stop().await;
}

/// Uploads `csv` to `/settings/import` as `kind` in `mode`.
async fn upload(browser: &mut Browser, kind: &str, mode: &str, csv: String) -> crate::web::Page {
    let page = browser.get("/settings/import").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let form = reqwest::multipart::Form::new()
        .text("authenticity_token", page.token())
        .text("type", kind.to_string())
        .text("mode", mode.to_string())
        .part(
            "data",
            reqwest::multipart::Part::bytes(csv.into_bytes())
                .file_name(format!("{kind}.csv"))
                .mime_str("text/csv")
                .unwrap(),
        );
    browser.multipart("/settings/import", form).await
}

/// Waits (bounded, generously: thousands of rows on a busy machine) until every
/// import of the server is done.
async fn imports_done(srv: &TestServer) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while srv.count("imports WHERE state <> 'done'").await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "imports did not finish"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The lines of a CSV file, sorted (follows accepted in another order are the same
/// follows), header first.
fn lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(str::to_string).collect();
    let header = if v.first().is_some_and(|l| l.starts_with("Account address")) {
        Some(v.remove(0))
    } else {
        None
    };
    v.sort();
    header.into_iter().chain(v).collect()
}

/// `alice` on A exports her follows, blocks, mutes, domain blocks, lists and
/// bookmarks; `alice` on B imports them; B's exports are A's.
async fn export_then_import_round_trips_between_two_sluices(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = a.user("bob").await;
    let eve = a.user("eve").await;
    let fay = a.user("fay").await;
    b.user("alice").await;
    b.user("dan").await;
    let bob_post = a.status(&bob, "a post worth keeping", &[]).await;
    a.post(
        &format!("/api/v1/accounts/{}/follow", bob.id),
        Some(&alice.token),
        &[("reblogs", "false"), ("notify", "true")],
    )
    .await
    .ok();
    let dan_on_a = follow_remote(&a, &alice, &format!("dan@{}", domain(&b))).await;
    a.post(
        &format!("/api/v1/accounts/{}/block", eve.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    a.post(
        &format!("/api/v1/accounts/{}/mute", fay.id),
        Some(&alice.token),
        &[("notifications", "false")],
    )
    .await
    .ok();
    a.post(
        "/api/v1/domain_blocks",
        Some(&alice.token),
        &[("domain", "spam.example")],
    )
    .await
    .ok();
    let list = a
        .post(
            "/api/v1/lists",
            Some(&alice.token),
            &[("title", "Close, friends")],
        )
        .await
        .ok();
    a.post(
        &format!("/api/v1/lists/{}/accounts", list["id"].as_str().unwrap()),
        Some(&alice.token),
        &[("account_ids[]", &dan_on_a)],
    )
    .await
    .ok();
    a.post(
        &format!(
            "/api/v1/statuses/{}/bookmark",
            bob_post["id"].as_str().unwrap()
        ),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();

    let mut on_a = signed_in(&a, "alice").await;
    let mut on_b = signed_in(&b, "alice").await;
    // What cannot be imported is refused and nothing is stored.
    let r = upload(&mut on_b, "followers", "merge", "x@y.example\n".into()).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = upload(&mut on_b, "follows", "sideways", "x@y.example\n".into()).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(b.count("imports").await, 0);

    let kinds = [
        "follows",
        "blocks",
        "mutes",
        "domain_blocks",
        "lists",
        "bookmarks",
    ];
    let mut exported = Vec::new();
    for kind in kinds {
        let r = on_a.get(&format!("/settings/export/{kind}.csv")).await;
        assert_eq!(r.status, 200);
        assert!(!r.text.is_empty(), "{kind}");
        exported.push(r.text);
    }
    for (kind, text) in kinds.iter().zip(&exported) {
        let r = upload(&mut on_b, kind, "merge", text.clone()).await;
        assert_eq!(r.status, 303, "{kind}: {}", r.text);
        imports_done(&b).await;
    }
    // The follow of bob (on A) waits for A's Accept.
    eventually("B's follow of bob to be accepted", async || {
        b.count("follow_requests").await == 0
    })
    .await;
    for (kind, text) in kinds.iter().zip(&exported) {
        let r = on_b.get(&format!("/settings/export/{kind}.csv")).await;
        assert_eq!(lines(&r.text), lines(text), "{kind}.csv after the import");
    }
    let page = on_b.get("/settings/import").await;
    assert!(page.text.contains("1/1"), "{}", page.text);
    assert_eq!(b.count("imports WHERE failed > 0").await, 0);

    // Overwrite: a file without eve unblocks her.
    let r = upload(
        &mut on_b,
        "blocks",
        "overwrite",
        "spam@spam.example\n".into(),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    imports_done(&b).await;
    let r = on_b.get("/settings/export/blocks.csv").await;
    assert_eq!(
        r.text, "",
        "overwrite leaves only what the file names (spam@ is unknown)"
    );
    a.stop().await;
    b.stop().await;
}

/// 5,000 follows (of accounts known here) imported in the background; the server
/// restarts midway and the next process finishes the import.
async fn an_import_of_5000_follows_survives_a_restart(db: Db) {
    let Some(mut srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("alice").await;
    let engine = srv.engine().clone();
    let now = sluice_model::id::now_millis();
    let mut tx = engine.store_for_tests().begin().await.unwrap();
    let mut csv = String::from("Account address,Show boosts,Notify on new posts,Languages\n");
    for i in 0..5000 {
        let name = format!("u{i}");
        tx.insert_account(&sluice_store::NewAccount {
            id: engine.ids.next(),
            username: name.clone(),
            domain: "far.example".into(),
            display_name: String::new(),
            uri: format!("https://far.example/users/{name}"),
            url: format!("https://far.example/@{name}"),
            inbox_url: String::new(),
            shared_inbox_url: String::new(),
            followers_url: String::new(),
            locked: false,
            bot: false,
            indexable: false,
            created_at: now,
        })
        .await
        .unwrap();
        csv.push_str(&format!("{name}@far.example,true,false,\n"));
    }
    tx.commit().await.unwrap();
    let mut browser = signed_in(&srv, "alice").await;
    let r = upload(&mut browser, "follows", "merge", csv).await;
    assert_eq!(r.status, 303, "{}", r.text);
    eventually("the import to start", async || {
        srv.count("imports WHERE processed > 0").await > 0
    })
    .await;
    srv.restart().await;
    imports_done(&srv).await;
    assert_eq!(
        srv.count("imports WHERE processed = 5000 AND failed = 0")
            .await,
        1
    );
    assert_eq!(
        srv.count("import_rows").await,
        0,
        "the rows go with the import"
    );
    assert_eq!(
        srv.count("follow_requests").await + srv.count("follows").await,
        5000
    );
    srv.stop().await;
}

/// The archive: asked for on the export page, written in the background, downloaded
/// by its owner only; a second request within 7 days is refused.
async fn an_archive_is_made_and_only_its_owner_downloads_it(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let media = crate::media::upload_png(&srv, &alice, 7).await;
    srv.status(
        &alice,
        "an archived post",
        &[("media_ids[]", media["id"].as_str().unwrap())],
    )
    .await;
    let bobs = srv.status(&bob, "a liked post", &[]).await;
    srv.post(
        &format!(
            "/api/v1/statuses/{}/favourite",
            bobs["id"].as_str().unwrap()
        ),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    let mut browser = signed_in(&srv, "alice").await;
    let page = browser.get("/settings/export").await;
    let r = browser
        .post(
            "/settings/export/archive",
            &[("authenticity_token", &page.token())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    eventually("the archive to be written", async || {
        srv.count("archives WHERE state = 'done'").await == 1
    })
    .await;
    let page = browser.get("/settings/export").await;
    let page_text = page.text.replace("&#x2f;", "/");
    let start = page_text
        .find("/settings/export/archives/")
        .expect("a download link");
    let href: String = page_text[start..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let zip = browser
        .http
        .get(format!("{}{href}", srv.url))
        .header("cookie", browser.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(zip.status(), 200);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let bytes = zip.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "a zip file");
    let text = String::from_utf8_lossy(&bytes);
    for name in [
        "actor.json",
        "outbox.json",
        "likes.json",
        "bookmarks.json",
        "media_attachments/files/",
    ] {
        assert!(text.contains(name), "{name} in the archive");
    }
    assert!(text.contains("an archived post"), "the post's activity");
    assert!(
        text.contains(bobs["uri"].as_str().unwrap()),
        "the favourite"
    );

    // Once every 7 days.
    let page = browser.get("/settings/export").await;
    let r = browser
        .post(
            "/settings/export/archive",
            &[("authenticity_token", &page.token())],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    // Nobody else downloads it.
    let mut other = signed_in(&srv, "bob").await;
    assert_eq!(other.get(&href).await.status, 404);
    assert_eq!(Browser::new(&srv).get(&href).await.status, 303);
    srv.stop().await;
}
