//! What Mastodon apps rely on beyond the entities: CORS on every answer of the API
//! (errors and unknown paths too), how the server presents itself to app detectors, and
//! the small endpoints apps call.

use crate::common::{Db, TestServer, eventually, follow_remote, ids, peer};

db_tests!(
    cors_on_unknown_api_paths,
    cors_on_error_answers,
    identity_for_app_detectors,
    several_statuses_at_once,
    instance_texts_and_languages,
    privacy_policy_from_a_file,
    familiar_followers,
    private_notes_on_accounts,
    remove_from_followers,
    instance_domain_blocks,
);

const ORIGIN: &str = "https://elk.example";

/// A browser's preflight and GET to a path no route answers: the preflight is allowed
/// and the GET is Mastodon's JSON 404, both readable by the page.
async fn cors_on_unknown_api_paths(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    for path in ["/api/v1/x", "/api/x", "/api/v9/nothing/here/at/all"] {
        let pre = srv
            .http
            .request(reqwest::Method::OPTIONS, format!("{}{path}", srv.url))
            .header("origin", ORIGIN)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
            .await
            .unwrap();
        assert!(pre.status().is_success(), "{path}: {}", pre.status());
        let h = pre.headers();
        assert_eq!(h["access-control-allow-origin"], "*", "{path}");
        assert!(
            h["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .contains("GET"),
            "{path}"
        );
        assert!(
            h["access-control-allow-headers"]
                .to_str()
                .unwrap()
                .to_lowercase()
                .contains("authorization"),
            "{path}"
        );

        let r = srv
            .http
            .get(format!("{}{path}", srv.url))
            .header("origin", ORIGIN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(r.headers()["access-control-allow-origin"], "*", "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body, serde_json::json!({ "error": "Record not found" }));
    }
    // A method the route does not have: still readable.
    let r = srv
        .http
        .delete(format!("{}/api/v1/instance", srv.url))
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r.headers()["allow"].to_str().unwrap().contains("GET"));
    // A body the app can read as JSON (masto.js failed with "unknown encoding").
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "Method not allowed");
    // Pages are still not for other origins, found or not.
    for path in ["/oauth/authorize", "/no-such-page/at/all"] {
        let r = srv
            .http
            .get(format!("{}{path}", srv.url))
            .header("origin", ORIGIN)
            .send()
            .await
            .unwrap();
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "{path}"
        );
    }
    srv.stop().await;
}

/// Error answers (a missing token, a rejected post, a body over the limit, a NUL in the
/// URL) carry CORS, so the app can read them.
async fn cors_on_error_answers(db: Db) {
    let Some(srv) = TestServer::start(db, |c| c.max_body_bytes = 1024).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let send = |req: reqwest::RequestBuilder| async move {
        let r = req.header("origin", ORIGIN).send().await.unwrap();
        let status = r.status().as_u16();
        let acao = r
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_string());
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        (status, acao, body)
    };
    // 401: a route that needs a token, without one.
    let (status, acao, body) =
        send(srv.http.get(format!("{}/api/v1/timelines/home", srv.url))).await;
    assert_eq!(status, 401);
    assert_eq!(acao.as_deref(), Some("*"));
    assert!(body["error"].is_string(), "{body}");
    // 422: an empty post.
    let (status, acao, body) = send(
        srv.http
            .post(format!("{}/api/v1/statuses", srv.url))
            .bearer_auth(&alice.token)
            .form(&[("status", "")]),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(acao.as_deref(), Some("*"));
    assert!(body["error"].is_string(), "{body}");
    // 413: refused before any handler runs.
    let (status, acao, _) = send(
        srv.http
            .post(format!("{}/api/v1/statuses", srv.url))
            .bearer_auth(&alice.token)
            .form(&[("status", "x".repeat(4096))]),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(acao.as_deref(), Some("*"));
    // 400: a NUL in the URL, refused before routing.
    let (status, acao, _) = send(srv.http.get(format!("{}/api/v1/accounts/%00", srv.url))).await;
    assert_eq!(status, 400);
    assert_eq!(acao.as_deref(), Some("*"));
    srv.stop().await;
}

/// NodeInfo names Sluice and says what detectors read to take it for a Mastodon API
/// server (megalodon's `detector()`: `metadata.upstream.name`); the instance says the
/// Mastodon version it implements and the limits it holds features to.
async fn identity_for_app_detectors(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    for v in ["2.0", "2.1"] {
        let ni = srv.get(&format!("/nodeinfo/{v}"), None).await.ok();
        assert_eq!(ni["software"]["name"], "sluice", "{v}");
        // What megalodon's detector compares, lowercased, with "mastodon".
        let upstream = &ni["metadata"]["upstream"];
        assert_eq!(
            upstream["name"].as_str().unwrap().to_lowercase(),
            "mastodon",
            "{v}: {ni}"
        );
        assert_eq!(upstream["version"], "4.3.0", "{v}");
        let features = ni["metadata"]["features"].as_array().unwrap();
        assert!(features.iter().any(|f| f == "mastodon_api"), "{v}");
        assert_eq!(ni["metadata"]["nodeName"], "Sluice", "{v}: {ni}");
    }
    for path in ["/api/v1/instance", "/api/v2/instance"] {
        let inst = srv.get(path, None).await.ok();
        // Version-gated features of apps parse the leading Mastodon version.
        assert!(
            inst["version"]
                .as_str()
                .unwrap()
                .starts_with("4.3.0 (compatible; Sluice "),
            "{path}"
        );
        let polls = &inst["configuration"]["polls"];
        // The limits a poll is checked against (Mastodon's defaults).
        assert_eq!(polls["max_options"], 4, "{path}");
        assert_eq!(polls["max_characters_per_option"], 50, "{path}");
        assert_eq!(polls["min_expiration"], 300, "{path}");
        assert_eq!(polls["max_expiration"], 2_629_746, "{path}");
        assert_eq!(
            inst["configuration"]["accounts"]["max_featured_tags"], 0,
            "{path}"
        );
    }
    srv.stop().await;
}

/// `GET /api/v1/statuses?id[]=…`: the statuses the caller may see, in the order asked,
/// each once; unknown, malformed and hidden ones left out; never an error for bad ids.
async fn several_statuses_at_once(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let public = srv.status(&alice, "public", &[]).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let private = srv
        .status(&alice, "followers only", &[("visibility", "private")])
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let direct = srv
        .status(&alice, "@carol hi", &[("visibility", "direct")])
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let q = format!(
        "/api/v1/statuses?id[]={private}&id[]={public}&id[]=nope&id[]=123456789&id[]={direct}&id[]={public}"
    );
    // Anonymous and a stranger: the public post only.
    assert_eq!(ids(&srv.get(&q, None).await.ok()), vec![public.clone()]);
    assert_eq!(
        ids(&srv.get(&q, Some(&bob.token)).await.ok()),
        vec![public.clone()]
    );
    // The author: all three, in the order asked, the repeated one once.
    assert_eq!(
        ids(&srv.get(&q, Some(&alice.token)).await.ok()),
        vec![private.clone(), public.clone(), direct.clone()]
    );
    // The one mentioned sees the direct message.
    assert_eq!(
        ids(&srv.get(&q, Some(&carol.token)).await.ok()),
        vec![public.clone(), direct.clone()]
    );
    // Statuses are full entities.
    let one = srv
        .get(&format!("/api/v1/statuses?id[]={public}"), None)
        .await
        .ok();
    assert_eq!(one[0]["account"]["id"], alice.id.as_str());
    assert_eq!(one[0]["content"], "<p>public</p>");
    // A single `id`, none, junk, and more ids than a page: answers, bounded.
    assert_eq!(
        ids(&srv
            .get(&format!("/api/v1/statuses?id={public}"), None)
            .await
            .ok()),
        vec![public.clone()]
    );
    for bad in [
        "",
        "?id=",
        "?id[]=",
        "?id[a]=b",
        "?id[][]=1",
        "?id=%FF",
        "?limit=5",
    ] {
        let r = srv.get(&format!("/api/v1/statuses{bad}"), None).await;
        assert!(
            r.status.is_success() || r.status.is_client_error(),
            "{bad}: {}",
            r.status
        );
        if r.status.is_success() {
            assert_eq!(r.body, serde_json::json!([]), "{bad}");
        }
    }
    let many: String = (0..100)
        .map(|_| format!("id[]={public}&"))
        .collect::<String>()
        + &(1..100).map(|i| format!("id[]={i}&")).collect::<String>();
    let r = srv
        .get(&format!("/api/v1/statuses?{many}"), None)
        .await
        .ok();
    assert_eq!(ids(&r), vec![public.clone()]);
    // A bad token is refused, as everywhere.
    srv.get(&q, Some("not-a-token")).await.expect(401);
    srv.stop().await;
}

/// The instance's extended description (its description as HTML, escaped), the
/// built-in privacy policy, and the languages apps offer for a post.
async fn instance_texts_and_languages(db: Db) {
    let Some(srv) = TestServer::start(db, |c| {
        c.instance_description = "A <small> place.\n\nSecond <b>paragraph</b>\nand a line.".into();
    })
    .await
    else {
        return;
    };
    let d = srv
        .get("/api/v1/instance/extended_description", None)
        .await
        .ok();
    assert_eq!(
        d["content"],
        "<p>A &lt;small&gt; place.</p><p>Second &lt;b&gt;paragraph&lt;/b&gt;<br>and a line.</p>"
    );
    assert!(d["updated_at"].is_null());

    let p = srv.get("/api/v1/instance/privacy_policy", None).await.ok();
    let content = p["content"].as_str().unwrap();
    assert!(
        content.starts_with("<p>") && content.contains("Sluice"),
        "{content}"
    );
    assert!(
        p["updated_at"].as_str().unwrap().starts_with("20"),
        "{}",
        p["updated_at"]
    );

    let langs = srv.get("/api/v1/instance/languages", None).await.ok();
    let langs = langs.as_array().unwrap();
    assert!(langs.len() > 150, "{}", langs.len());
    assert!(
        langs
            .iter()
            .any(|l| l["code"] == "en" && l["name"] == "English")
    );
    assert!(langs.iter().all(|l| l["code"].as_str().unwrap().len() == 2));
    // Anyone may read them; a bad token is still refused (Mastodon's 401).
    for path in [
        "/api/v1/instance/extended_description",
        "/api/v1/instance/privacy_policy",
        "/api/v1/instance/languages",
    ] {
        let alice = srv.user(&format!("u{}", path.len())).await;
        srv.get(path, Some(&alice.token)).await.ok();
    }
    srv.stop().await;
}

/// `SLUICE_PRIVACY_POLICY_FILE`: the operator's text, escaped, dated by the file.
async fn privacy_policy_from_a_file(db: Db) {
    let dir = std::env::temp_dir().join(format!(
        "sluice-policy-{}-{}",
        std::process::id(),
        matches!(db, Db::Postgres)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("policy.txt");
    std::fs::write(&file, "We keep <nothing>.\n\nReally.").unwrap();
    let path = file.clone();
    let Some(srv) = TestServer::start(db, move |c| c.privacy_policy_file = Some(path)).await else {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    };
    let p = srv.get("/api/v1/instance/privacy_policy", None).await.ok();
    assert_eq!(
        p["content"],
        "<p>We keep &lt;nothing&gt;.</p><p>Really.</p>"
    );
    let year = p["updated_at"].as_str().unwrap();
    assert!(
        year.starts_with("20") && year.ends_with('Z') || year.contains('+'),
        "{year}"
    );
    srv.stop().await;
    // A file that cannot be read stops the start.
    let config = sluice::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.join("data"),
        privacy_policy_file: Some(dir.join("missing.txt")),
        ..Default::default()
    };
    let listener = sluice::Listener::bind(&config.listen).await.unwrap();
    let err = match sluice::start_with(&config, listener, axum::Router::new()).await {
        Ok(_) => panic!("started without its privacy policy"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("SLUICE_PRIVACY_POLICY_FILE"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `GET /api/v1/accounts/familiar_followers`: the accounts I follow that follow each
/// account asked about; those that hide whom they follow are not told; a user token
/// with `read:follows` is needed.
async fn familiar_followers(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let dave = srv.user("dave").await;
    let eve = srv.user("eve").await;
    let follow = async |who: &crate::common::User, whom: &crate::common::User| {
        srv.post(
            &format!("/api/v1/accounts/{}/follow", whom.id),
            Some(&who.token),
            &[],
        )
        .await
        .ok();
    };
    follow(&alice, &bob).await;
    follow(&alice, &carol).await;
    follow(&bob, &dave).await;
    follow(&carol, &dave).await;
    // eve follows dave, but alice does not follow eve.
    follow(&eve, &dave).await;
    follow(&bob, &carol).await;
    let q = format!(
        "/api/v1/accounts/familiar_followers?id[]={}&id[]={}&id[]=junk&id[]=99999999&id[]={}",
        dave.id, carol.id, dave.id
    );
    let r = srv.get(&q, Some(&alice.token)).await.ok();
    let got: Vec<(String, Vec<String>)> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_string(), ids(&f["accounts"])))
        .collect();
    let mut dave_familiar = vec![bob.id.clone(), carol.id.clone()];
    dave_familiar.sort();
    let mut got_dave = got[0].1.clone();
    got_dave.sort();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, dave.id);
    assert_eq!(got_dave, dave_familiar);
    assert_eq!(got[1], (carol.id.clone(), vec![bob.id.clone()]));
    // Full accounts.
    let name = r[0]["accounts"][0]["username"].as_str().unwrap();
    assert!(name == "bob" || name == "carol", "{name}");

    // carol hides whom she follows: she is no longer told as a familiar follower.
    srv.update_credentials(&carol.token, &[("hide_collections", "true")])
        .await
        .ok();
    let r = srv
        .get(
            &format!("/api/v1/accounts/familiar_followers?id[]={}", dave.id),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(ids(&r[0]["accounts"]), vec![bob.id.clone()]);

    // Nothing asked, junk: empty answers, never an error.
    for bad in ["", "?id=", "?id[a]=b", "?id[][]=1", "?id=%FF"] {
        let r = srv
            .get(
                &format!("/api/v1/accounts/familiar_followers{bad}"),
                Some(&alice.token),
            )
            .await;
        assert!(
            r.status.is_client_error() || r.body == serde_json::json!([]),
            "{bad}: {}",
            r.text
        );
    }
    // Auth: a user token with read:follows.
    srv.get(&q, None).await.expect(401);
    let statuses_only = srv.password_token("alice", "read:statuses").await;
    srv.get(&q, Some(&statuses_only)).await.expect(403);
    let (_, _, app) = srv.app_token("read").await;
    srv.get(&q, Some(&app)).await.expect(422);
    srv.stop().await;
}

/// `POST /api/v1/accounts/:id/note`: a private note per owner and account, in the
/// owner's Relationship only; empty removes it; too long or on no account is a 4xx;
/// `write:accounts` is needed.
async fn private_notes_on_accounts(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    let path = format!("/api/v1/accounts/{}/note", bob.id);
    let rel = srv
        .post(
            &path,
            Some(&alice.token),
            &[("comment", "met at <the> café")],
        )
        .await
        .ok();
    assert_eq!(rel["id"], bob.id.as_str());
    assert_eq!(rel["note"], "met at <the> café");
    let rels = |token: String| {
        let q = format!("/api/v1/accounts/relationships?id[]={}", bob.id);
        let srv = &srv;
        async move { srv.get(&q, Some(&token)).await.ok()[0]["note"].clone() }
    };
    assert_eq!(rels(alice.token.clone()).await, "met at <the> café");
    // Only its owner sees it.
    assert_eq!(rels(carol.token.clone()).await, "");
    // Replaced, in JSON too, then removed by an empty one or none.
    srv.post_json(
        &path,
        Some(&alice.token),
        serde_json::json!({"comment": "second"}),
    )
    .await
    .ok();
    assert_eq!(rels(alice.token.clone()).await, "second");
    assert_eq!(srv.count("account_notes").await, 1);
    srv.post(&path, Some(&alice.token), &[("comment", "")])
        .await
        .ok();
    assert_eq!(rels(alice.token.clone()).await, "");
    srv.post(&path, Some(&alice.token), &[("comment", "again")])
        .await
        .ok();
    let rel = srv.post(&path, Some(&alice.token), &[]).await.ok();
    assert_eq!(rel["note"], "");
    assert_eq!(srv.count("account_notes").await, 0);
    // A note on oneself is allowed (Mastodon allows it too).
    srv.post(
        &format!("/api/v1/accounts/{}/note", alice.id),
        Some(&alice.token),
        &[("comment", "me")],
    )
    .await
    .ok();

    // Bad input: 4xx, nothing stored.
    let long = "é".repeat(2001);
    srv.post(&path, Some(&alice.token), &[("comment", long.as_str())])
        .await
        .expect(422);
    srv.post(
        "/api/v1/accounts/99999999/note",
        Some(&alice.token),
        &[("comment", "x")],
    )
    .await
    .expect(404);
    srv.post(
        "/api/v1/accounts/nope/note",
        Some(&alice.token),
        &[("comment", "x")],
    )
    .await
    .expect(404);
    let r = srv
        .post_json(
            &path,
            Some(&alice.token),
            serde_json::json!({"comment": {"a": 1}}),
        )
        .await;
    assert!(
        r.status.is_client_error() || r.status.is_success(),
        "{}",
        r.status
    );
    assert_eq!(srv.count("account_notes").await, 1);
    // Auth: a user token with write:accounts.
    srv.post(&path, None, &[("comment", "x")]).await.expect(401);
    let read_only = srv.password_token("alice", "read").await;
    srv.post(&path, Some(&read_only), &[("comment", "x")])
        .await
        .expect(403);
    let (_, _, app) = srv.app_token("write").await;
    srv.post(&path, Some(&app), &[("comment", "x")])
        .await
        .expect(422);
    srv.stop().await;
}

/// `POST /api/v1/accounts/:id/remove_from_followers`: a local follower stops following;
/// a follower on another server too, told by a `Reject` of its follow.
async fn remove_from_followers(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = a.user("bob").await;
    let rel = |srv: &TestServer, token: String, id: String| {
        let q = format!("/api/v1/accounts/relationships?id[]={id}");
        let srv_url = srv.url.clone();
        let http = srv.http.clone();
        async move {
            let r = http
                .get(format!("{srv_url}{q}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            r.json::<serde_json::Value>().await.unwrap()[0].clone()
        }
    };
    // A local follower.
    a.post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    let path = format!("/api/v1/accounts/{}/remove_from_followers", bob.id);
    let r = a.post(&path, Some(&alice.token), &[]).await.ok();
    assert_eq!(r["id"], bob.id.as_str());
    assert_eq!(r["followed_by"], false);
    assert_eq!(
        rel(&a, bob.token.clone(), alice.id.clone()).await["following"],
        false
    );
    let me = a
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .ok();
    assert_eq!(me["followers_count"], 0);
    // Again: nothing to remove, still fine.
    a.post(&path, Some(&alice.token), &[]).await.ok();

    // A follower on another server.
    let a_domain = a.url.trim_start_matches("http://").to_string();
    let carol = b.user("carol").await;
    let alice_on_b = follow_remote(&b, &carol, &format!("alice@{a_domain}")).await;
    let carol_on_a = a
        .get(
            &format!(
                "/api/v1/accounts/lookup?acct=carol@{}",
                b.url.trim_start_matches("http://")
            ),
            None,
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    eventually("carol to follow alice on alice's server", async || {
        rel(&a, alice.token.clone(), carol_on_a.clone()).await["followed_by"] == true
    })
    .await;
    let r = a
        .post(
            &format!("/api/v1/accounts/{carol_on_a}/remove_from_followers"),
            Some(&alice.token),
            &[],
        )
        .await
        .ok();
    assert_eq!(r["followed_by"], false);
    eventually("carol's server to learn of the Reject", async || {
        rel(&b, carol.token.clone(), alice_on_b.clone()).await["following"] == false
    })
    .await;

    // Bad input and auth.
    a.post(
        "/api/v1/accounts/99999999/remove_from_followers",
        Some(&alice.token),
        &[],
    )
    .await
    .expect(404);
    a.post(
        "/api/v1/accounts/x/remove_from_followers",
        Some(&alice.token),
        &[],
    )
    .await
    .expect(404);
    a.post(&path, None, &[]).await.expect(401);
    let read_only = a.password_token("alice", "read").await;
    a.post(&path, Some(&read_only), &[]).await.expect(403);
    a.stop().await;
    b.stop().await;
}

/// `GET /api/v1/instance/domain_blocks`: shown only as the configuration says (404
/// otherwise, as Mastodon), silenced and suspended domains with their SHA-256, reasons
/// only when those are shown too.
async fn instance_domain_blocks(db: Db) {
    use sha2::Digest as _;
    use sluice_api::Exposure;
    let block = |domain: &str, severity: &str, reason: &str| sluice_store::DomainBlockRow {
        domain: domain.into(),
        severity: severity.into(),
        reject_media: false,
        reason: reason.into(),
        created_at: 1,
        ..Default::default()
    };
    let path = "/api/v1/instance/domain_blocks";
    for (list, rationale) in [
        (Exposure::Disabled, Exposure::All),
        (Exposure::Users, Exposure::Disabled),
        (Exposure::All, Exposure::Users),
    ] {
        let Some(srv) = TestServer::start(db, |c| {
            c.show_domain_blocks = list;
            c.show_domain_blocks_rationale = rationale;
        })
        .await
        else {
            return;
        };
        for b in [
            block("bad.example", "suspend", "spam"),
            block("loud.example", "silence", ""),
            block("media.example", "noop", "big files"),
        ] {
            srv.engine().set_domain_block(&b).await.unwrap();
        }
        let alice = srv.user("alice").await;
        for token in [None, Some(alice.token.as_str())] {
            let r = srv.get(path, token).await;
            if !list.shown_to(token.is_some()) {
                assert_eq!(r.status, 404, "{list:?} {token:?}");
                continue;
            }
            let body = r.ok();
            let mut got = body.as_array().unwrap().clone();
            got.sort_by_key(|b| b["domain"].as_str().unwrap().to_string());
            assert_eq!(got.len(), 2, "{body}");
            assert_eq!(got[0]["domain"], "bad.example");
            assert_eq!(got[0]["severity"], "suspend");
            let digest: String = sha2::Sha256::digest(b"bad.example")
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect();
            assert_eq!(got[0]["digest"], digest);
            assert_eq!(got[1]["domain"], "loud.example");
            assert_eq!(got[1]["severity"], "silence");
            if rationale.shown_to(token.is_some()) {
                assert_eq!(got[0]["comment"], "spam");
                assert!(got[1]["comment"].is_null());
            } else {
                assert!(got[0].get("comment").is_none(), "{body}");
            }
        }
        srv.get(path, Some("not-a-token")).await.expect(401);
        srv.stop().await;
    }
}
