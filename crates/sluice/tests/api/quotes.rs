//! Quote posts as Mastodon 4.5 makes them: `quoted_status_id` and
//! `quote_approval_policy` on a new post, the `quote` and `quote_approval` of the
//! Status entity (one level deep), `/api/v1/statuses/:id/quotes`, revoking a quote,
//! `PUT /api/v1/statuses/:id/interaction_policy`, the `quote` and `quoted_update`
//! notifications, and quotes across two Sluice servers (FEP-044f).

use reqwest::Method;
use serde_json::Value;

use crate::common::{Body, Db, TestServer, User, eventually, follow_remote, get_as2, peer};

/// The post at `uri` (another server's) as `user`'s server knows it, fetched through
/// search with `resolve`.
async fn resolve(srv: &TestServer, user: &User, uri: &str) -> Value {
    let found = srv
        .get(
            &format!(
                "/api/v2/search?q={}&resolve=true&type=statuses",
                urlencode(uri)
            ),
            Some(&user.token),
        )
        .await
        .ok();
    found["statuses"][0].clone()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

db_tests!(
    a_quote_of_a_public_post_is_accepted_at_once,
    the_web_app_shows_the_quoted_post_inside_the_quote,
    policies_refuse_quotes_and_nothing_is_written,
    revoking_editing_and_deleting_a_quoted_post,
    quotes_cross_servers_with_their_authorization,
    a_quote_of_a_remote_post_is_accepted_through_the_handshake_and_revoked,
    a_quote_the_remote_policy_refuses_is_rejected,
    a_policy_change_reaches_the_other_server,
    the_default_quote_policy_comes_from_the_account,
    a_scheduled_quote_is_published_with_its_quote,
    blocked_and_muted_quoted_authors_show_their_state,
);

async fn quote(
    srv: &TestServer,
    user: &User,
    text: &str,
    quoted: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![("status", text), ("quoted_status_id", quoted)];
    form.extend_from_slice(extra);
    let r = srv.post("/api/v1/statuses", Some(&user.token), &form).await;
    (r.status.as_u16(), r.body)
}

async fn put(srv: &TestServer, path: &str, token: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let pairs = form
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let r = srv
        .request(Method::PUT, path, Some(token), Some(Body::Form(pairs)))
        .await;
    (r.status.as_u16(), r.body)
}

async fn show(srv: &TestServer, user: Option<&User>, id: &str) -> Value {
    srv.get(
        &format!("/api/v1/statuses/{id}"),
        user.map(|u| u.token.as_str()),
    )
    .await
    .ok()
}

async fn notifications(srv: &TestServer, user: &User, kind: &str) -> Vec<Value> {
    srv.get(
        &format!("/api/v1/notifications?types[]={kind}"),
        Some(&user.token),
    )
    .await
    .ok()
    .as_array()
    .unwrap()
    .clone()
}

async fn follow(srv: &TestServer, who: &User, whom: &User) {
    srv.post(
        &format!("/api/v1/accounts/{}/follow", whom.id),
        Some(&who.token),
        &[],
    )
    .await
    .ok();
}

/// A quote of a public post is accepted at once and shown with the quoted post
/// (rendered for each viewer), one level deep; the quoted author is notified, sees
/// the quote in `/quotes` and the count; the text carries Mastodon's `RE:` fallback.
async fn a_quote_of_a_public_post_is_accepted_at_once(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let original = srv.status(&alice, "the original", &[]).await;
    let oid = original["id"].as_str().unwrap();
    assert_eq!(
        original["quote_approval"],
        serde_json::json!({"automatic": ["public"], "manual": [], "current_user": "automatic"})
    );
    assert!(original["quote"].is_null());
    assert_eq!(original["quotes_count"], 0);
    // Others may quote it, and say so; an anonymous reader cannot tell.
    let seen = show(&srv, Some(&bob), oid).await;
    assert_eq!(seen["quote_approval"]["current_user"], "automatic");
    assert_eq!(
        show(&srv, None, oid).await["quote_approval"]["current_user"],
        "unknown"
    );

    let (code, q) = quote(&srv, &bob, "look at this", oid, &[]).await;
    assert_eq!(code, 200, "{q}");
    let qid = q["id"].as_str().unwrap().to_string();
    assert_eq!(q["quote"]["state"], "accepted");
    assert_eq!(q["quote"]["quoted_status"]["id"], oid);
    assert_eq!(q["quote"]["quoted_status"]["account"]["id"], alice.id);
    let content = q["content"].as_str().unwrap();
    assert!(
        content.starts_with("<p class=\"quote-inline\">RE: <a href="),
        "{content}"
    );
    assert!(
        content.contains(original["url"].as_str().unwrap()),
        "{content}"
    );
    assert!(content.contains("look at this"));
    // The same for an anonymous reader.
    let anon = show(&srv, None, &qid).await;
    assert_eq!(anon["quote"]["state"], "accepted");
    assert_eq!(anon["quote"]["quoted_status"]["id"], oid);
    assert_eq!(show(&srv, Some(&alice), oid).await["quotes_count"], 1);

    // Alice is told, through the one notification path (v1 and grouped v2).
    let n = notifications(&srv, &alice, "quote").await;
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0]["type"], "quote");
    assert_eq!(n[0]["account"]["id"], bob.id);
    assert_eq!(n[0]["status"]["id"], qid.as_str());
    assert_eq!(n[0]["status"]["quote"]["quoted_status"]["id"], oid);
    let grouped = srv
        .get("/api/v2/notifications", Some(&alice.token))
        .await
        .ok();
    let groups = grouped["notification_groups"].as_array().unwrap();
    assert!(groups.iter().any(|g| g["type"] == "quote"), "{grouped}");
    assert!(
        grouped["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == qid.as_str() && s["quote"]["state"] == "accepted")
    );

    // Its quotes: the author's alone.
    let list = srv
        .get(
            &format!("/api/v1/statuses/{oid}/quotes"),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(crate::common::ids(&list), vec![qid.clone()]);
    srv.get(&format!("/api/v1/statuses/{oid}/quotes"), Some(&bob.token))
        .await
        .expect(403);
    srv.get(&format!("/api/v1/statuses/{oid}/quotes"), None)
        .await
        .expect(401);

    // A quote of the quote: the inner quote is shallow.
    let (code, qq) = quote(&srv, &carol, "and this", &qid, &[]).await;
    assert_eq!(code, 200, "{qq}");
    let inner = &qq["quote"]["quoted_status"];
    assert_eq!(inner["id"], qid.as_str());
    assert_eq!(
        inner["quote"],
        serde_json::json!({"state": "accepted", "quoted_status_id": oid})
    );
    // Bob is told of carol's quote, alice is not.
    assert_eq!(notifications(&srv, &bob, "quote").await.len(), 1);
    assert_eq!(notifications(&srv, &alice, "quote").await.len(), 1);
    // Quoting oneself is allowed and notifies nobody.
    let (code, own) = quote(&srv, &alice, "me again", oid, &[]).await;
    assert_eq!(code, 200, "{own}");
    assert_eq!(own["quote"]["state"], "accepted");
    assert_eq!(notifications(&srv, &alice, "quote").await.len(), 1);
    srv.stop().await;
}

/// Policies are kept: `nobody` refuses others, `followers` refuses non-followers,
/// followers-only posts and private mentions are not quotable by others (404 as
/// Mastodon, which does not tell these apart from a post that is not there), bad
/// values are 422, and a refused quote writes nothing.
async fn policies_refuse_quotes_and_nothing_is_written(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let mine = srv
        .status(&alice, "mine alone", &[("quote_approval_policy", "nobody")])
        .await;
    let mine_id = mine["id"].as_str().unwrap();
    assert_eq!(
        mine["quote_approval"],
        serde_json::json!({"automatic": [], "manual": [], "current_user": "automatic"})
    );
    assert_eq!(
        show(&srv, Some(&bob), mine_id).await["quote_approval"]["current_user"],
        "denied"
    );
    let friends = srv
        .status(
            &alice,
            "friends only",
            &[("quote_approval_policy", "followers")],
        )
        .await;
    let friends_id = friends["id"].as_str().unwrap();
    assert_eq!(
        friends["quote_approval"]["automatic"],
        serde_json::json!(["followers"])
    );
    let private = srv
        .status(&alice, "followers see this", &[("visibility", "private")])
        .await;
    let private_id = private["id"].as_str().unwrap();
    // A followers-only post is quotable by its author alone, whatever was asked.
    assert_eq!(
        private["quote_approval"]["automatic"],
        serde_json::json!([])
    );
    let direct = srv
        .status(&alice, "@bob psst", &[("visibility", "direct")])
        .await;
    let direct_id = direct["id"].as_str().unwrap();

    let statuses = srv.count("statuses").await;
    let quotes = srv.count("status_quotes").await;
    let notes = srv.count("notifications").await;
    for (id, why) in [
        (mine_id, "nobody"),
        (friends_id, "followers, not following"),
        (private_id, "private, not following"),
        (direct_id, "a private mention"),
        ("999999999", "no such post"),
        ("not-an-id", "a malformed id"),
    ] {
        let (code, body) = quote(&srv, &bob, "quoting", id, &[]).await;
        assert_eq!(code, 404, "{why}: {body}");
    }
    let (code, body) = quote(
        &srv,
        &bob,
        "x",
        friends_id,
        &[("quote_approval_policy", "everyone")],
    )
    .await;
    assert_eq!(code, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("everyone"));
    assert_eq!(srv.count("statuses").await, statuses);
    assert_eq!(srv.count("status_quotes").await, quotes);
    assert_eq!(srv.count("notifications").await, notes);

    // Following opens the followers' posts; the private one stays the author's.
    follow(&srv, &bob, &alice).await;
    assert_eq!(
        show(&srv, Some(&bob), friends_id).await["quote_approval"]["current_user"],
        "automatic"
    );
    let (code, body) = quote(&srv, &bob, "as a follower", friends_id, &[]).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["quote"]["state"], "accepted");
    let (code, _) = quote(&srv, &bob, "still not", private_id, &[]).await;
    assert_eq!(code, 404);
    // The author may quote their own followers-only post: the quote is followers-only.
    let (code, body) = quote(&srv, &alice, "me", private_id, &[("visibility", "public")]).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["visibility"], "private");
    // Others never see a followers-only quoted post through a quote.
    let anon = show(&srv, None, mine_id).await;
    assert!(anon["quote"].is_null());
    srv.stop().await;
}

/// An edit of a quoted post tells the quoting authors (`quoted_update`); the author
/// revokes a quote (then it is `revoked` and no longer counted) and changes who may
/// quote; a deleted quoted post shows as `deleted`.
async fn revoking_editing_and_deleting_a_quoted_post(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let original = srv.status(&alice, "first words", &[]).await;
    let oid = original["id"].as_str().unwrap().to_string();
    let (_, q) = quote(&srv, &bob, "so true", &oid, &[]).await;
    let qid = q["id"].as_str().unwrap().to_string();

    let (code, edited) = put(
        &srv,
        &format!("/api/v1/statuses/{oid}"),
        &alice.token,
        &[("status", "second words")],
    )
    .await;
    assert_eq!(code, 200, "{edited}");
    let n = notifications(&srv, &bob, "quoted_update").await;
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0]["status"]["id"], qid.as_str());
    assert!(
        n[0]["status"]["quote"]["quoted_status"]["content"]
            .as_str()
            .unwrap()
            .contains("second words")
    );
    // Bob's own edit keeps his quote and its fallback.
    let (code, bob_edit) = put(
        &srv,
        &format!("/api/v1/statuses/{qid}"),
        &bob.token,
        &[("status", "so very true")],
    )
    .await;
    assert_eq!(code, 200, "{bob_edit}");
    assert_eq!(bob_edit["quote"]["state"], "accepted");
    assert!(
        bob_edit["content"]
            .as_str()
            .unwrap()
            .contains("quote-inline")
    );

    // Only the quoted author revokes.
    let revoke = format!("/api/v1/statuses/{oid}/quotes/{qid}/revoke");
    srv.post(&revoke, Some(&bob.token), &[]).await.expect(403);
    let r = srv.post(&revoke, Some(&alice.token), &[]).await.ok();
    assert_eq!(r["id"], qid.as_str());
    assert_eq!(
        r["quote"],
        serde_json::json!({"state": "revoked", "quoted_status": null})
    );
    assert_eq!(show(&srv, None, &qid).await["quote"]["state"], "revoked");
    assert_eq!(show(&srv, Some(&alice), &oid).await["quotes_count"], 0);
    let list = srv
        .get(
            &format!("/api/v1/statuses/{oid}/quotes"),
            Some(&alice.token),
        )
        .await
        .ok();
    assert!(list.as_array().unwrap().is_empty());
    srv.post(
        &format!("/api/v1/statuses/{oid}/quotes/999999/revoke"),
        Some(&alice.token),
        &[],
    )
    .await
    .expect(404);

    // Who may quote, changed afterwards.
    let policy = format!("/api/v1/statuses/{oid}/interaction_policy");
    let (code, _) = put(
        &srv,
        &policy,
        &bob.token,
        &[("quote_approval_policy", "nobody")],
    )
    .await;
    assert_eq!(code, 404);
    let (code, body) = put(
        &srv,
        &policy,
        &alice.token,
        &[("quote_approval_policy", "sometimes")],
    )
    .await;
    assert_eq!(code, 422, "{body}");
    let (code, body) = put(
        &srv,
        &policy,
        &alice.token,
        &[("quote_approval_policy", "nobody")],
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["quote_approval"]["automatic"], serde_json::json!([]));
    let (code, _) = quote(&srv, &bob, "again", &oid, &[]).await;
    assert_eq!(code, 404);
    let (code, _) = put(
        &srv,
        &policy,
        &alice.token,
        &[("quote_approval_policy", "public")],
    )
    .await;
    assert_eq!(code, 200);
    let (code, again) = quote(&srv, &bob, "again", &oid, &[]).await;
    assert_eq!(code, 200, "{again}");
    let again_id = again["id"].as_str().unwrap();
    assert_eq!(show(&srv, Some(&alice), &oid).await["quotes_count"], 1);
    // A deleted quote no longer counts.
    let (_, third) = quote(&srv, &bob, "third", &oid, &[]).await;
    assert_eq!(show(&srv, Some(&alice), &oid).await["quotes_count"], 2);
    srv.request(
        Method::DELETE,
        &format!("/api/v1/statuses/{}", third["id"].as_str().unwrap()),
        Some(&bob.token),
        None,
    )
    .await
    .ok();
    assert_eq!(show(&srv, Some(&alice), &oid).await["quotes_count"], 1);

    // The quoted post deleted: the quote says so.
    srv.request(
        Method::DELETE,
        &format!("/api/v1/statuses/{oid}"),
        Some(&alice.token),
        None,
    )
    .await
    .ok();
    let gone = show(&srv, Some(&bob), again_id).await;
    assert_eq!(
        gone["quote"],
        serde_json::json!({"state": "deleted", "quoted_status": null})
    );
    srv.stop().await;
}

/// A quote's page shows the quoted post inside it (author, text, link) without the
/// `RE:` fallback's effect on the layout, under the same strict CSP; a quote that
/// cannot be shown says why.
async fn the_web_app_shows_the_quoted_post_inside_the_quote(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let original = srv.status(&alice, "words worth quoting", &[]).await;
    let oid = original["id"].as_str().unwrap().to_string();
    let (_, q) = quote(&srv, &bob, "my comment", &oid, &[]).await;
    let qid = q["id"].as_str().unwrap().to_string();
    let mut b = crate::web::Browser::new(&srv);
    let r = b.sign_in("bob", "password123").await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = b.get(&format!("/@bob/{qid}")).await;
    assert_eq!(page.status, 200);
    // The anonymous page too, with the strict CSP and our script alone.
    let anon = srv.get(&format!("/@bob/{qid}"), None).await;
    assert_eq!(anon.status.as_u16(), 200);
    let csp = anon.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(crate::common::only_our_script(&anon.text));
    assert!(anon.text.contains("words worth quoting"));
    let html = &page.text;
    let start = html
        .find("<blockquote class=\"quote\">")
        .expect("a quote block");
    let block = &html[start..start + html[start..].find("</blockquote>").unwrap()];
    assert!(block.contains("words worth quoting"), "{block}");
    assert!(block.contains("@alice"), "{block}");
    // The link to the quoted post (minijinja escapes `/` in attributes).
    let link = original["url"].as_str().unwrap().replace('/', "&#x2f;");
    assert!(block.contains(&link), "{block}");
    assert!(html.contains("has-quote"));
    assert!(html.contains("my comment"));
    // Revoked: the page says so and shows no quoted text.
    srv.post(
        &format!("/api/v1/statuses/{oid}/quotes/{qid}/revoke"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    let page = b.get(&format!("/@bob/{qid}")).await;
    let html = &page.text;
    let start = html
        .find("<blockquote class=\"quote\">")
        .expect("a quote block");
    let block = &html[start..start + html[start..].find("</blockquote>").unwrap()];
    assert!(!block.contains("words worth quoting"), "{block}");
    assert!(block.contains("removed this quote"), "{block}");
    srv.stop().await;
}

/// Across two Sluice servers: a quote's Note carries `quote` (with `quoteUri` and
/// `_misskey_quote` for older servers), its `quoteAuthorization` and every post its
/// `interactionPolicy.canQuote`; the stamp is served at its id while it stands; the
/// other server fetches and checks it and shows the quote accepted, with the quoted
/// post. A quote made on the other server is accepted here through its QuoteRequest.
async fn quotes_cross_servers_with_their_authorization(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let carol = a.user("carol").await;
    let bob = b.user("bob").await;
    let a_host = a.url.trim_start_matches("http://").to_string();
    let b_host = b.url.trim_start_matches("http://").to_string();
    follow_remote(&b, &bob, &format!("carol@{a_host}")).await;
    let original = a
        .status(
            &alice,
            "worth a quote",
            &[("quote_approval_policy", "public")],
        )
        .await;
    let oid = original["id"].as_str().unwrap().to_string();
    let (code, q) = quote(&a, &carol, "carol agrees", &oid, &[]).await;
    assert_eq!(code, 200, "{q}");
    let quote_uri = q["uri"].as_str().unwrap().to_string();

    // The documents.
    let note = get_as2(&a, &quote_uri, None).await.ok();
    assert_eq!(note["quote"], original["uri"], "{note}");
    assert_eq!(note["quoteUri"], original["uri"]);
    assert_eq!(note["_misskey_quote"], original["uri"]);
    let stamp = note["quoteAuthorization"]
        .as_str()
        .expect("a stamp")
        .to_string();
    assert_eq!(
        note["interactionPolicy"]["canQuote"]["automaticApproval"][0],
        "https://www.w3.org/ns/activitystreams#Public"
    );
    let doc = get_as2(&a, &stamp, None).await.ok();
    assert_eq!(doc["type"], "QuoteAuthorization");
    assert_eq!(doc["id"], stamp.as_str());
    assert_eq!(
        doc["attributedTo"],
        a.get(&format!("/api/v1/accounts/{}", alice.id), None)
            .await
            .ok()["uri"]
    );
    assert_eq!(doc["interactingObject"], quote_uri.as_str());
    assert_eq!(doc["interactionTarget"], original["uri"]);
    let nobody = a
        .status(
            &alice,
            "not quotable",
            &[("quote_approval_policy", "nobody")],
        )
        .await;
    let nobody_doc = get_as2(&a, nobody["uri"].as_str().unwrap(), None)
        .await
        .ok();
    assert_eq!(
        nobody_doc["interactionPolicy"]["canQuote"]["automaticApproval"],
        serde_json::json!([a
            .get(&format!("/api/v1/accounts/{}", alice.id), None)
            .await
            .ok()["uri"]])
    );

    // Bob's server got carol's quote, fetched alice's post and checked the stamp.
    let mut on_b = Value::Null;
    eventually("carol's quote on bob's server", async || {
        let home = b.get("/api/v1/timelines/home", Some(&bob.token)).await.ok();
        on_b = home
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["uri"] == quote_uri.as_str())
            .cloned()
            .unwrap_or(Value::Null);
        !on_b.is_null()
    })
    .await;
    assert_eq!(on_b["quote"]["state"], "accepted", "{on_b}");
    assert_eq!(on_b["quote"]["quoted_status"]["uri"], original["uri"]);
    assert_eq!(
        on_b["quote"]["quoted_status"]["content"],
        original["content"]
    );
    // Alice's post came with its policy.
    let quoted_on_b = on_b["quote"]["quoted_status"]["id"].as_str().unwrap();
    let seen = b
        .get(&format!("/api/v1/statuses/{quoted_on_b}"), Some(&bob.token))
        .await
        .ok();
    assert_eq!(
        seen["quote_approval"]["automatic"],
        serde_json::json!(["public"])
    );

    // Revoked on alice's server: the stamp is gone.
    a.post(
        &format!(
            "/api/v1/statuses/{oid}/quotes/{}/revoke",
            q["id"].as_str().unwrap()
        ),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    get_as2(&a, &stamp, None).await.expect(404);

    // Bob quotes alice's post from his server: pending there (the author's server
    // decides), and carol, following bob, gets it.
    follow_remote(&a, &carol, &format!("bob@{b_host}")).await;
    let (code, bq) = quote(&b, &bob, "bob too", quoted_on_b, &[]).await;
    assert_eq!(code, 200, "{bq}");
    assert_eq!(
        bq["quote"],
        serde_json::json!({"state": "pending", "quoted_status": null})
    );
    let bq_uri = bq["uri"].as_str().unwrap().to_string();
    let mut on_a = Value::Null;
    eventually("bob's quote on alice's server", async || {
        let home = a
            .get("/api/v1/timelines/home", Some(&carol.token))
            .await
            .ok();
        on_a = home
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["uri"] == bq_uri.as_str())
            .cloned()
            .unwrap_or(Value::Null);
        !on_a.is_null()
    })
    .await;
    // Its QuoteRequest reached alice's server, which accepted it (anyone may quote
    // the post): accepted there too, whichever of the Create and the request came first.
    let bq_on_a = on_a["id"].as_str().unwrap().to_string();
    eventually("bob's quote accepted on alice's server", async || {
        let seen = show(&a, Some(&carol), &bq_on_a).await;
        seen["quote"]["state"] == "accepted" && seen["quote"]["quoted_status"]["id"] == oid.as_str()
    })
    .await;
    a.stop().await;
    b.stop().await;
}

/// A local user quotes a post of another Sluice server: the quote is `pending` and a
/// `QuoteRequest` goes to the quoted author's server, which accepts it by the post's
/// policy (its author is told, the quote is in their `/quotes`), answering with its
/// stamp; the quote turns `accepted` (the stamp checked, the Note sent again with its
/// `quoteAuthorization`). The quoted author revokes it on their server: the stamp's
/// `Delete` turns it `revoked` on the quoting server.
async fn a_quote_of_a_remote_post_is_accepted_through_the_handshake_and_revoked(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let original = a.status(&alice, "quote me, politely", &[]).await;
    let oid = original["id"].as_str().unwrap().to_string();
    let on_b = resolve(&b, &bob, original["uri"].as_str().unwrap()).await;
    let quoted_on_b = on_b["id"].as_str().expect("alice's post on b").to_string();
    assert_eq!(
        on_b["quote_approval"]["current_user"], "automatic",
        "{on_b}"
    );

    let (code, q) = quote(&b, &bob, "bob quotes alice", &quoted_on_b, &[]).await;
    assert_eq!(code, 200, "{q}");
    assert_eq!(
        q["quote"],
        serde_json::json!({"state": "pending", "quoted_status": null})
    );
    let qid = q["id"].as_str().unwrap().to_string();
    let q_uri = q["uri"].as_str().unwrap().to_string();
    let mut accepted = Value::Null;
    eventually("the quote accepted on bob's server", async || {
        accepted = show(&b, Some(&bob), &qid).await;
        accepted["quote"]["state"] == "accepted"
    })
    .await;
    assert_eq!(
        accepted["quote"]["quoted_status"]["id"],
        quoted_on_b.as_str()
    );
    assert!(accepted["edited_at"].is_null(), "{accepted}");
    // The Note now carries the stamp, which alice's server serves.
    let note = get_as2(&b, &q_uri, None).await.ok();
    let stamp = note["quoteAuthorization"]
        .as_str()
        .expect("the stamp in the Note")
        .to_string();
    assert!(stamp.starts_with(&a.url), "{stamp}");
    let doc = get_as2(&a, &stamp, None).await.ok();
    assert_eq!(doc["type"], "QuoteAuthorization");
    assert_eq!(doc["interactingObject"], q_uri.as_str());
    assert_eq!(doc["interactionTarget"], original["uri"]);
    // Alice's server: the quote is accepted, counted, listed; alice is told.
    let n = notifications(&a, &alice, "quote").await;
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0]["status"]["uri"], q_uri.as_str());
    let quoting_on_a = n[0]["status"]["id"].as_str().unwrap().to_string();
    assert_eq!(n[0]["status"]["quote"]["state"], "accepted");
    let list = a
        .get(
            &format!("/api/v1/statuses/{oid}/quotes"),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(crate::common::ids(&list), vec![quoting_on_a.clone()]);
    assert_eq!(show(&a, Some(&alice), &oid).await["quotes_count"], 1);

    // Revoked on alice's server: revoked on bob's, and the stamp is gone.
    let r = a
        .post(
            &format!("/api/v1/statuses/{oid}/quotes/{quoting_on_a}/revoke"),
            Some(&alice.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(r["quote"]["state"], "revoked");
    get_as2(&a, &stamp, None).await.expect(404);
    eventually("the quote revoked on bob's server", async || {
        show(&b, Some(&bob), &qid).await["quote"]["state"] == "revoked"
    })
    .await;
    let note = get_as2(&b, &q_uri, None).await.ok();
    assert!(note["quoteAuthorization"].is_null(), "{note}");
    a.stop().await;
    b.stop().await;
}

/// The quoted post's policy changed to `nobody` after bob's server fetched it (it
/// still says anyone may): bob's quote is asked for, rejected by alice's server, and
/// shows `rejected`; alice is not told, nothing counts.
async fn a_quote_the_remote_policy_refuses_is_rejected(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let original = a.status(&alice, "mine for now", &[]).await;
    let oid = original["id"].as_str().unwrap().to_string();
    let on_b = resolve(&b, &bob, original["uri"].as_str().unwrap()).await;
    let quoted_on_b = on_b["id"].as_str().expect("alice's post on b").to_string();
    // Nobody on b follows alice: the change does not reach b.
    let (code, body) = put(
        &a,
        &format!("/api/v1/statuses/{oid}/interaction_policy"),
        &alice.token,
        &[("quote_approval_policy", "nobody")],
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let (code, q) = quote(&b, &bob, "bob tries", &quoted_on_b, &[]).await;
    assert_eq!(code, 200, "{q}");
    assert_eq!(q["quote"]["state"], "pending");
    let qid = q["id"].as_str().unwrap().to_string();
    eventually("the quote rejected on bob's server", async || {
        show(&b, Some(&bob), &qid).await["quote"]["state"] == "rejected"
    })
    .await;
    assert!(notifications(&a, &alice, "quote").await.is_empty());
    assert_eq!(show(&a, Some(&alice), &oid).await["quotes_count"], 0);
    let note = get_as2(&b, q["uri"].as_str().unwrap(), None).await.ok();
    assert!(note["quoteAuthorization"].is_null(), "{note}");
    a.stop().await;
    b.stop().await;
}

/// Changing who may quote a post sends its Note again with the new
/// `interactionPolicy`: the other server shows the new policy (no edit).
async fn a_policy_change_reaches_the_other_server(db: Db) {
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
    let original = a.status(&alice, "open to quotes", &[]).await;
    let oid = original["id"].as_str().unwrap().to_string();
    let uri = original["uri"].as_str().unwrap().to_string();
    let mut on_b = Value::Null;
    eventually("alice's post on bob's server", async || {
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
    assert_eq!(
        on_b["quote_approval"]["automatic"],
        serde_json::json!(["public"])
    );
    let id_on_b = on_b["id"].as_str().unwrap().to_string();
    let (code, body) = put(
        &a,
        &format!("/api/v1/statuses/{oid}/interaction_policy"),
        &alice.token,
        &[("quote_approval_policy", "followers")],
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["quote_approval"]["automatic"],
        serde_json::json!(["followers"])
    );
    // The Note served says so too.
    let note = get_as2(&a, &uri, None).await.ok();
    assert_eq!(
        note["interactionPolicy"]["canQuote"]["automaticApproval"][0],
        a.get(&format!("/api/v1/accounts/{}", alice.id), None)
            .await
            .ok()["uri"]
            .as_str()
            .map(|u| format!("{u}/followers"))
            .unwrap()
            .as_str()
    );
    let mut seen = Value::Null;
    eventually("the new policy on bob's server", async || {
        seen = show(&b, Some(&bob), &id_on_b).await;
        seen["quote_approval"]["automatic"] == serde_json::json!(["followers"])
    })
    .await;
    // Bob follows alice: he may quote it.
    assert_eq!(seen["quote_approval"]["current_user"], "automatic");
    assert!(seen["edited_at"].is_null(), "{seen}");
    a.stop().await;
    b.stop().await;
}

/// `source[quote_policy]` of `update_credentials` is the policy of posts that do not
/// say (`source.quote_policy` of the credential account); a post's own
/// `quote_approval_policy` wins, followers-only posts stay the author's; a value that
/// is not a policy is 422 and changes nothing.
async fn the_default_quote_policy_comes_from_the_account(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let me = srv
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .ok();
    assert_eq!(me["source"]["quote_policy"], "public");
    let r = srv
        .update_credentials(&alice.token, &[("source[quote_policy]", "followers")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["source"]["quote_policy"], "followers");
    let r = srv
        .update_credentials(&alice.token, &[("source[quote_policy]", "friends")])
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let me = srv
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .ok();
    assert_eq!(me["source"]["quote_policy"], "followers");

    let post = srv.status(&alice, "by default", &[]).await;
    assert_eq!(
        post["quote_approval"]["automatic"],
        serde_json::json!(["followers"])
    );
    let own = srv
        .status(&alice, "said", &[("quote_approval_policy", "public")])
        .await;
    assert_eq!(
        own["quote_approval"]["automatic"],
        serde_json::json!(["public"])
    );
    let private = srv
        .status(&alice, "followers only", &[("visibility", "private")])
        .await;
    assert_eq!(
        private["quote_approval"]["automatic"],
        serde_json::json!([])
    );
    let r = srv
        .update_credentials(&alice.token, &[("source[quote_policy]", "nobody")])
        .await;
    assert_eq!(r.body["source"]["quote_policy"], "nobody");
    let post = srv.status(&alice, "mine", &[]).await;
    assert_eq!(post["quote_approval"]["automatic"], serde_json::json!([]));
    srv.stop().await;
}

/// A scheduled post may quote: the quote is checked when it is scheduled (a post its
/// policy does not let them quote is 404, nothing stored), kept in its parameters, and
/// the post published later quotes it (accepted, the quoted author told).
async fn a_scheduled_quote_is_published_with_its_quote(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let original = srv.status(&alice, "quote me later", &[]).await;
    let oid = original["id"].as_str().unwrap().to_string();
    let closed = srv
        .status(&alice, "not this", &[("quote_approval_policy", "nobody")])
        .await;
    let at = sluice_model::Timestamp(sluice_model::id::now_millis() + 3_600_000).to_rfc3339();
    let (code, body) = quote(
        &srv,
        &bob,
        "no",
        closed["id"].as_str().unwrap(),
        &[("scheduled_at", &at)],
    )
    .await;
    assert_eq!(code, 404, "{body}");
    assert_eq!(srv.count("scheduled_statuses").await, 0);
    let (code, scheduled) = quote(
        &srv,
        &bob,
        "later, a quote",
        &oid,
        &[("scheduled_at", &at), ("quote_approval_policy", "nobody")],
    )
    .await;
    assert_eq!(code, 200, "{scheduled}");
    assert_eq!(scheduled["params"]["quoted_status_id"], oid.as_str());
    assert_eq!(scheduled["params"]["quote_approval_policy"], "nobody");
    let q = sluice_store::Query::new("UPDATE scheduled_statuses SET scheduled_at = 1000");
    srv.engine().store_for_tests().exec(q).await.unwrap();
    assert_eq!(srv.engine().publish_due_statuses().await.unwrap(), 1);
    let posts = srv
        .get(
            &format!("/api/v1/accounts/{}/statuses", bob.id),
            Some(&bob.token),
        )
        .await
        .ok();
    let post = &posts[0];
    assert!(
        post["content"].as_str().unwrap().contains("later, a quote"),
        "{post}"
    );
    assert_eq!(post["quote"]["state"], "accepted", "{post}");
    assert_eq!(post["quote"]["quoted_status"]["id"], oid.as_str());
    assert_eq!(post["quote_approval"]["automatic"], serde_json::json!([]));
    assert_eq!(notifications(&srv, &alice, "quote").await.len(), 1);
    srv.stop().await;
}

/// A viewer who mutes the quoted author sees the quote as `muted_account` (the
/// quoted post still given, as Mastodon, for apps to show behind a notice), one who
/// blocks them `blocked_account`, one who blocks their domain `blocked_domain`;
/// others, and the quoted author, see it `accepted`.
async fn blocked_and_muted_quoted_authors_show_their_state(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = a.user("bob").await;
    let carol = a.user("carol").await;
    let dan = a.user("dan").await;
    let original = a.status(&alice, "the quoted words", &[]).await;
    let oid = original["id"].as_str().unwrap().to_string();
    let (_, q) = quote(&a, &bob, "bob's take", &oid, &[]).await;
    let qid = q["id"].as_str().unwrap().to_string();
    a.post(
        &format!("/api/v1/accounts/{}/mute", alice.id),
        Some(&carol.token),
        &[],
    )
    .await
    .ok();
    let muted = show(&a, Some(&carol), &qid).await;
    assert_eq!(muted["quote"]["state"], "muted_account", "{muted}");
    assert_eq!(muted["quote"]["quoted_status"]["id"], oid.as_str());
    a.post(
        &format!("/api/v1/accounts/{}/block", alice.id),
        Some(&dan.token),
        &[],
    )
    .await
    .ok();
    assert_eq!(
        show(&a, Some(&dan), &qid).await["quote"]["state"],
        "blocked_account"
    );
    assert_eq!(
        show(&a, Some(&bob), &qid).await["quote"]["state"],
        "accepted"
    );
    assert_eq!(
        show(&a, Some(&alice), &qid).await["quote"]["state"],
        "accepted"
    );
    assert_eq!(show(&a, None, &qid).await["quote"]["state"], "accepted");

    // On another server, a reader who blocks alice's domain.
    let erin = b.user("erin").await;
    // A fetched post's quote is not followed: the quoted post is known first.
    resolve(&b, &erin, original["uri"].as_str().unwrap()).await;
    let on_b = resolve(&b, &erin, q["uri"].as_str().unwrap()).await;
    let q_on_b = on_b["id"].as_str().expect("bob's quote on b").to_string();
    assert_eq!(on_b["quote"]["state"], "accepted", "{on_b}");
    let a_host = a.url.trim_start_matches("http://").to_string();
    b.post(
        "/api/v1/domain_blocks",
        Some(&erin.token),
        &[("domain", &a_host)],
    )
    .await
    .ok();
    // Bob's quote is on alice's domain too: read through its id.
    let seen = show(&b, Some(&erin), &q_on_b).await;
    assert_eq!(seen["quote"]["state"], "blocked_domain", "{seen}");
    a.stop().await;
    b.stop().await;
}
