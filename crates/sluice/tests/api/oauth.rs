//! OAuth 2: apps, the authorize page (sign-in + consent, PKCE, oob), every grant,
//! revocation, scope enforcement, and registration in its three modes.

use base64::Engine as _;
use sha2::Digest;

use crate::common::{Db, TestServer};

db_tests!(
    authorization_code_with_pkce,
    oob_shows_the_code,
    password_client_credentials_refresh_revoke,
    scopes_are_enforced,
    registration_modes,
    app_validation,
    redirect_uri_schemes,
);

fn query_param(location: &str, key: &str) -> Option<String> {
    let url = url::Url::parse(location).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn authorization_code_with_pkce(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("alice").await;
    let redirect = "https://client.example/callback";
    let (client_id, client_secret) = srv.app("read write", redirect).await;
    let verifier = "a-verifier-that-is-long-enough-for-pkce-0123456789";
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier));

    // The page: a sign-in + consent form, with a strict CSP and no script.
    let page_path = format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=read&state=xyz&code_challenge={challenge}&code_challenge_method=S256",
        urlencode(redirect)
    );
    let page = srv.get(&page_path, None).await;
    assert_eq!(page.status, 200);
    let csp = page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("https://client.example"),
        "{csp}"
    );
    assert!(page.text.contains("test app") && page.text.contains("name=\"password\""));
    assert!(!page.text.contains("<script"));

    // Wrong password: the form again, no code.
    let form = |password: &'static str| {
        vec![
            ("client_id", client_id.clone()),
            ("redirect_uri", redirect.to_string()),
            ("scope", "read".into()),
            ("state", "xyz".into()),
            ("code_challenge", challenge.clone()),
            ("code_challenge_method", "S256".into()),
            ("login", "alice@example.test".into()),
            ("password", password.into()),
            ("decision", "approve".into()),
        ]
    };
    let bad = srv
        .http
        .post(format!("{}/oauth/authorize", srv.url))
        .form(&form("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("Invalid login or password")
    );

    let ok = srv
        .http
        .post(format!("{}/oauth/authorize", srv.url))
        .form(&form("password123"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    let location = ok.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(redirect), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
    let code = query_param(&location, "code").expect("code in redirect");

    // A wrong verifier spends the code.
    let exchange = |code: String, verifier: &'static str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code),
            ("client_id", client_id.clone()),
            ("redirect_uri", redirect.to_string()),
            ("code_verifier", verifier.to_string()),
        ]
    };
    let r = srv
        .http
        .post(format!("{}/oauth/token", srv.url))
        .form(&exchange(code.clone(), "wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");

    // A fresh code with the right verifier (public client: no secret) gives a token.
    let ok = srv
        .http
        .post(format!("{}/oauth/authorize", srv.url))
        .form(&form("password123"))
        .send()
        .await
        .unwrap();
    let code = query_param(ok.headers()["location"].to_str().unwrap(), "code").unwrap();
    let r = srv
        .http
        .post(format!("{}/oauth/token", srv.url))
        .form(&exchange(code.clone(), verifier))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token: serde_json::Value = r.json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["scope"], "read");
    let access = token["access_token"].as_str().unwrap();
    let me = srv
        .get("/api/v1/accounts/verify_credentials", Some(access))
        .await
        .ok();
    assert_eq!(me["username"], "alice");
    // The code works once.
    let r = srv
        .http
        .post(format!("{}/oauth/token", srv.url))
        .form(&exchange(code, verifier))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A "read" token cannot post.
    srv.post("/api/v1/statuses", Some(access), &[("status", "hi")])
        .await
        .expect(403);
    assert!(!client_secret.is_empty());

    // Deny redirects with access_denied.
    let mut deny = form("password123");
    deny.retain(|(k, _)| *k != "decision");
    deny.push(("decision", "deny".into()));
    let r = srv
        .http
        .post(format!("{}/oauth/authorize", srv.url))
        .form(&deny)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        query_param(r.headers()["location"].to_str().unwrap(), "error").as_deref(),
        Some("access_denied")
    );
    srv.stop().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn oob_shows_the_code(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("bob").await;
    let oob = "urn:ietf:wg:oauth:2.0:oob";
    let (client_id, client_secret) = srv.app("read", oob).await;
    // A redirect URI the app did not register is refused.
    let r = srv
        .get(
            &format!(
                "/oauth/authorize?client_id={client_id}&redirect_uri={}&response_type=code",
                urlencode("https://evil.example/")
            ),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("redirect uri"), "{}", r.text);
    let r = srv
        .http
        .post(format!("{}/oauth/authorize", srv.url))
        .form(&[
            ("client_id", client_id.as_str()),
            ("redirect_uri", oob),
            ("response_type", "code"),
            ("login", "bob"),
            ("password", "password123"),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let start = html.find("id=\"oauth-code\">").expect("code element") + "id=\"oauth-code\">".len();
    let code = &html[start..start + html[start..].find('<').unwrap()];
    let t = srv
        .post(
            "/oauth/token",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", &client_id),
                ("client_secret", &client_secret),
                ("redirect_uri", oob),
            ],
        )
        .await
        .ok();
    assert_eq!(t["scope"], "read");
    srv.stop().await;
}

async fn password_client_credentials_refresh_revoke(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("carol").await;
    let (id, secret) = srv
        .app("read write follow", "urn:ietf:wg:oauth:2.0:oob")
        .await;
    let grant = |extra: Vec<(&'static str, String)>| {
        let mut f = vec![("client_id", id.clone()), ("client_secret", secret.clone())];
        f.extend(extra);
        f
    };
    let post = |f: Vec<(&'static str, String)>| {
        let srv = &srv;
        async move {
            srv.http
                .post(format!("{}/oauth/token", srv.url))
                .form(&f)
                .send()
                .await
                .unwrap()
        }
    };
    // Password grant (username or e-mail), scope subset.
    let r = post(grant(vec![
        ("grant_type", "password".into()),
        ("username", "carol".into()),
        ("password", "password123".into()),
        ("scope", "read write".into()),
    ]))
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let t: serde_json::Value = r.json().await.unwrap();
    assert_eq!(t["scope"], "read write");
    let access = t["access_token"].as_str().unwrap().to_string();
    let refresh = t["refresh_token"].as_str().unwrap().to_string();
    // Wrong password.
    let r = post(grant(vec![
        ("grant_type", "password".into()),
        ("username", "carol".into()),
        ("password", "x".into()),
    ]))
    .await;
    assert_eq!(r.status(), 400);
    // Scope beyond the app's registration.
    let r = post(grant(vec![
        ("grant_type", "password".into()),
        ("username", "carol".into()),
        ("password", "password123".into()),
        ("scope", "admin:read".into()),
    ]))
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_scope"
    );
    // Wrong client secret.
    let r = srv
        .http
        .post(format!("{}/oauth/token", srv.url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Client credentials (HTTP Basic works too): an app token, no user.
    let r = srv
        .http
        .post(format!("{}/oauth/token", srv.url))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let app_token = r.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        srv.get("/api/v1/apps/verify_credentials", Some(&app_token))
            .await
            .ok()["name"],
        "test app"
    );
    srv.get("/api/v1/accounts/verify_credentials", Some(&app_token))
        .await
        .expect(422);
    // Refresh: new pair, old access token revoked.
    let r = post(grant(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", refresh.clone()),
    ]))
    .await;
    assert_eq!(r.status(), 200);
    let t2: serde_json::Value = r.json().await.unwrap();
    let access2 = t2["access_token"].as_str().unwrap().to_string();
    assert_ne!(access2, access);
    assert_eq!(t2["scope"], "read write");
    srv.get("/api/v1/accounts/verify_credentials", Some(&access))
        .await
        .expect(401);
    srv.get("/api/v1/accounts/verify_credentials", Some(&access2))
        .await
        .ok();
    // The refresh token was rotated: it works once.
    assert_eq!(
        post(grant(vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh)
        ]))
        .await
        .status(),
        400
    );
    // Revoke.
    srv.post(
        "/oauth/revoke",
        None,
        &[
            ("client_id", &id),
            ("client_secret", &secret),
            ("token", &access2),
        ],
    )
    .await
    .ok();
    let r = srv
        .get("/api/v1/accounts/verify_credentials", Some(&access2))
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"], "The access token is invalid");
    // Unknown grant type.
    let r = post(grant(vec![("grant_type", "magic".into())])).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    srv.stop().await;
}

async fn scopes_are_enforced(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let reader = srv.user_with_scopes("reader", "read").await;
    let writer = srv.user_with_scopes("writer", "write:statuses").await;
    let follower = srv.user_with_scopes("follower", "follow").await;
    srv.post("/api/v1/statuses", Some(&reader.token), &[("status", "no")])
        .await
        .expect(403);
    let s = srv
        .post(
            "/api/v1/statuses",
            Some(&writer.token),
            &[("status", "yes")],
        )
        .await
        .ok();
    // write:statuses cannot favourite or read the home timeline.
    let id = s["id"].as_str().unwrap();
    let r = srv
        .post(
            &format!("/api/v1/statuses/{id}/favourite"),
            Some(&writer.token),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body["error"],
        "This action is outside the authorized scopes"
    );
    srv.get("/api/v1/timelines/home", Some(&writer.token))
        .await
        .expect(403);
    srv.get("/api/v1/timelines/home", Some(&reader.token))
        .await
        .ok();
    // The legacy follow scope covers follows and blocks but not posting.
    srv.post(
        &format!("/api/v1/accounts/{}/follow", writer.id),
        Some(&follower.token),
        &[],
    )
    .await
    .ok();
    srv.post(
        &format!("/api/v1/accounts/{}/block", reader.id),
        Some(&follower.token),
        &[],
    )
    .await
    .ok();
    srv.post(
        "/api/v1/statuses",
        Some(&follower.token),
        &[("status", "no")],
    )
    .await
    .expect(403);
    // No token at all.
    srv.get("/api/v1/timelines/home", None).await.expect(401);
    // A garbage token is 401 even on public endpoints.
    srv.get("/api/v1/timelines/public", Some("garbage"))
        .await
        .expect(401);
    srv.stop().await;
}

async fn registration_modes(db: Db) {
    // Closed (the default): refused, nothing written.
    let Some(srv) = TestServer::start(db, |c| {
        c.registrations = sluice_engine::Registrations::Closed
    })
    .await
    else {
        return;
    };
    let (_, _, app_token) = srv.app_token("write").await;
    let form = [
        ("username", "dora"),
        ("email", "dora@example.test"),
        ("password", "password123"),
        ("agreement", "true"),
        ("locale", "en"),
    ];
    srv.post("/api/v1/accounts", Some(&app_token), &form)
        .await
        .expect(403);
    assert_eq!(srv.count("accounts").await, 0);
    srv.stop().await;

    // Open: a token for the new user at once.
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let (_, _, app_token) = srv.app_token("read write").await;
    // Without a token: 401.
    srv.post("/api/v1/accounts", None, &form).await.expect(401);
    let t = srv
        .post("/api/v1/accounts", Some(&app_token), &form)
        .await
        .ok();
    let me = srv
        .get(
            "/api/v1/accounts/verify_credentials",
            t["access_token"].as_str(),
        )
        .await
        .ok();
    assert_eq!(me["username"], "dora");
    // Taken username and bad fields: 422 with details, nothing written.
    let r = srv
        .post(
            "/api/v1/accounts",
            Some(&app_token),
            &[
                ("username", "dora"),
                ("email", "bad"),
                ("password", "short"),
                ("agreement", "false"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    for field in ["username", "email", "password", "agreement"] {
        assert!(
            r.body["details"][field].is_array(),
            "missing {field}: {}",
            r.text
        );
    }
    assert_eq!(r.body["details"]["username"][0]["error"], "ERR_TAKEN");
    assert_eq!(srv.count("accounts").await, 1);
    srv.stop().await;

    // Approval: the account exists but cannot sign in until approved.
    let Some(srv) = TestServer::start(db, |c| {
        c.registrations = sluice_engine::Registrations::Approval
    })
    .await
    else {
        return;
    };
    let (id, secret, app_token) = srv.app_token("write").await;
    let t = srv
        .post("/api/v1/accounts", Some(&app_token), &form)
        .await
        .ok();
    let r = srv
        .get(
            "/api/v1/accounts/verify_credentials",
            t["access_token"].as_str(),
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("pending approval"), "{}", r.text);
    let r = srv
        .post(
            "/oauth/token",
            None,
            &[
                ("grant_type", "password"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("username", "dora"),
                ("password", "password123"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("pending approval"), "{}", r.text);
    srv.stop().await;
}

async fn app_validation(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.post(
        "/api/v1/apps",
        None,
        &[
            ("client_name", ""),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
        ],
    )
    .await
    .expect(422);
    srv.post(
        "/api/v1/apps",
        None,
        &[("client_name", "x"), ("redirect_uris", "not a uri")],
    )
    .await
    .expect(422);
    srv.post(
        "/api/v1/apps",
        None,
        &[
            ("client_name", "x"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ("scopes", "read bogus"),
        ],
    )
    .await
    .expect(422);
    assert_eq!(srv.count("apps").await, 0);
    // JSON body with an array of redirect URIs; default scope "read".
    let app = srv
        .post_json("/api/v1/apps", None, serde_json::json!({"client_name": "j", "redirect_uris": ["https://a.example/cb", "https://b.example/cb"]}))
        .await
        .ok();
    assert_eq!(app["scopes"], serde_json::json!(["read"]));
    assert_eq!(app["redirect_uris"].as_array().unwrap().len(), 2);
    assert!(app["client_secret"].as_str().unwrap().len() >= 32);
    srv.stop().await;
}

/// Redirect URIs that would run script or open local content in the browser are refused
/// at registration, and `/oauth/authorize` never sends a browser to one, even of an app
/// registered before the rule (issue 13, item 4). Web, native-app and oob ones are fine.
async fn redirect_uri_schemes(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("alice").await;
    let apps = srv.count("apps").await;
    for bad in [
        "javascript:alert(document.cookie)",
        "JavaScript://%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "https://ok.example/cb\njavascript:alert(1)",
    ] {
        let r = srv
            .post(
                "/api/v1/apps",
                None,
                &[("client_name", "x"), ("redirect_uris", bad)],
            )
            .await;
        assert_eq!(r.status, 422, "{bad}: {}", r.text);
        assert!(
            r.body["error"].as_str().unwrap().contains("Redirect URI"),
            "{}",
            r.text
        );
    }
    let r = srv
        .post(
            "/api/v1/apps",
            None,
            &[
                ("client_name", "x"),
                ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
                ("website", "javascript:alert(1)"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(srv.count("apps").await, apps);
    for good in [
        "https://client.example/callback",
        "http://localhost:4000/cb",
        "org.joinmastodon.app://callback",
        "myapp:/oauth",
        "urn:ietf:wg:oauth:2.0:oob",
    ] {
        let app = srv
            .post(
                "/api/v1/apps",
                None,
                &[
                    ("client_name", "x"),
                    ("redirect_uris", good),
                    ("website", "https://client.example"),
                ],
            )
            .await
            .ok();
        assert_eq!(app["redirect_uri"], good);
    }

    // An app stored with a javascript: redirect before the rule: the page refuses it
    // and so does the form, with no redirect anywhere.
    let engine = srv.engine();
    let app = sluice_store::AppRow {
        id: engine.new_id(),
        name: "old".into(),
        website: None,
        redirect_uris: "javascript:alert(1)".into(),
        scopes: "read".into(),
        client_id: "old-client".into(),
        client_secret: "old-secret".into(),
        created_at: 0,
    };
    let mut tx = engine.store_for_tests().begin().await.unwrap();
    tx.insert_app(&app).await.unwrap();
    tx.commit().await.unwrap();
    let page = srv
        .get(
            &format!(
                "/oauth/authorize?response_type=code&client_id=old-client&redirect_uri={}",
                urlencode("javascript:alert(1)")
            ),
            None,
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.text);
    let submitted = srv
        .http
        .post(format!("{}/oauth/authorize", srv.url))
        .form(&[
            ("client_id", "old-client"),
            ("redirect_uri", "javascript:alert(1)"),
            ("login", "alice@example.test"),
            ("password", "password123"),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 400);
    assert!(submitted.headers().get("location").is_none());
    let denied = srv
        .http
        .post(format!("{}/oauth/authorize", srv.url))
        .form(&[
            ("client_id", "old-client"),
            ("redirect_uri", "javascript:alert(1)"),
            ("decision", "deny"),
        ])
        .send()
        .await
        .unwrap();
    assert!(denied.headers().get("location").is_none());
    srv.stop().await;
}
