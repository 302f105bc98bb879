//! Two-factor sign-in (TOTP and recovery codes), spoken to as a browser and as apps
//! do: codes are computed here from the secret the settings page shows, with the
//! same crate an authenticator app's maths follows (RFC 6238).

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;

use crate::common::{Db, TestServer};
use crate::web::{Browser, Page};

db_tests!(
    two_factor_sign_in_codes_and_recovery,
    two_factor_oauth_asks_for_the_code,
    two_factor_forms_need_the_pages_token,
    two_factor_new_recovery_codes_need_the_password,
    two_factor_admin_turns_it_off,
);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The code for `secret` (base32) at `time`.
fn code_at(secret: &str, time: u64) -> String {
    totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap()
        .generate(time)
        .to_string()
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let i = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {html}"))
        + start.len();
    html[i..].split(end).next().unwrap()
}

fn challenge(p: &Page) -> String {
    between(&p.text, "name=\"challenge\" value=\"", "\"").to_string()
}

/// A browser signed in as `name` (password `password123`).
async fn signed_in(srv: &TestServer, name: &str) -> Browser {
    let mut b = Browser::new(srv);
    let r = b.sign_in(name, "password123").await;
    assert_eq!(r.status, 303, "{}", r.text);
    b
}

/// Enables two-factor sign-in from the settings page: (secret, the code confirmed
/// with, the recovery codes).
async fn enable(b: &mut Browser) -> (String, String, Vec<String>) {
    let page = b.get("/settings/two_factor").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("Set up two-factor sign-in"),
        "{}",
        page.text
    );
    let r = b
        .post(
            "/settings/two_factor",
            &[("authenticity_token", &page.token())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = b.get("/settings/two_factor").await;
    let secret = between(&page.text, "id=\"totp-secret\">", "<").to_string();
    assert_eq!(secret.len(), 32, "{secret}");
    let uri = between(&page.text, "id=\"totp-uri\">", "<")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={secret}")),
        "{uri}"
    );
    assert!(page.text.contains("src=\"data:image/svg+xml;base64,"));
    // A wrong code does not turn it on.
    let wrong = b
        .post(
            "/settings/two_factor/confirm",
            &[("authenticity_token", &page.token()), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.text);
    assert!(wrong.text.contains("That code is not right"));
    let code = code_at(&secret, now());
    let done = b
        .post(
            "/settings/two_factor/confirm",
            &[("authenticity_token", &page.token()), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    let list = between(&done.text, "<ul class=\"recovery-codes\">", "</ul>");
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10, "{list}");
    // Shown once: the page says it is on, without the codes.
    let page = b.get("/settings/two_factor").await;
    assert!(page.text.contains("Two-factor sign-in is on"));
    assert!(page.text.contains("Recovery codes left: 10"));
    assert!(!page.text.contains(&codes[0]));
    (secret, code, codes)
}

/// The password step in a fresh browser: the code form.
async fn password_step(srv: &TestServer, name: &str) -> (Browser, Page) {
    let mut b = Browser::new(srv);
    let r = b.sign_in(name, "password123").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("name=\"code\""), "{}", r.text);
    assert!(!b.jar.contains_key("sluice_session"));
    (b, r)
}

async fn send_code(b: &mut Browser, form: &Page, code: &str) -> Page {
    b.post(
        "/auth/sign_in",
        &[
            ("authenticity_token", &form.token()),
            ("challenge", &challenge(form)),
            ("code", code),
        ],
    )
    .await
}

async fn two_factor_sign_in_codes_and_recovery(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("alice").await;
    let mut b = signed_in(&srv, "alice").await;
    let (secret, confirmed_with, recovery) = enable(&mut b).await;

    // Signed out, signing in needs the code.
    let page = b.get("/home").await;
    let r = b
        .post("/auth/sign_out", &[("authenticity_token", &page.token())])
        .await;
    assert_eq!(r.status, 303);
    let (mut b, form) = password_step(&srv, "alice").await;

    // A wrong code: refused, nothing started.
    let wrong = send_code(&mut b, &form, "123456").await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert!(wrong.text.contains("Invalid two-factor code"));
    assert!(!b.jar.contains_key("sluice_session"));
    // The code the secret was confirmed with is used: refused.
    let reused = send_code(&mut b, &form, &confirmed_with).await;
    assert_eq!(reused.status, 401, "{}", reused.text);
    assert!(!b.jar.contains_key("sluice_session"));
    // A challenge from another browser (another anonymous cookie) is not this one's.
    let mut other = Browser::new(&srv);
    let other_form = other.get("/auth/sign_in").await;
    let stolen = other
        .post(
            "/auth/sign_in",
            &[
                ("authenticity_token", &other_form.token()),
                ("challenge", &challenge(&form)),
                ("code", &code_at(&secret, now() + 30)),
            ],
        )
        .await;
    assert_eq!(stolen.status, 401, "{}", stolen.text);
    assert!(stolen.text.contains("This sign-in has expired"));
    assert!(!other.jar.contains_key("sluice_session"));

    // The next step's code (one step of drift is accepted) signs in.
    let next = code_at(&secret, now() + 30);
    let ok = send_code(&mut b, &form, &next).await;
    assert_eq!(ok.status, 303, "{}", ok.text);
    assert!(b.jar.contains_key("sluice_session"));
    assert_eq!(b.get("/home").await.status, 200);
    // The challenge was used once.
    let again = send_code(&mut b, &form, &next).await;
    assert_ne!(again.status, 303);

    // The same code again, from a new sign-in: refused.
    let (mut c, form) = password_step(&srv, "alice").await;
    let reused = send_code(&mut c, &form, &next).await;
    assert_eq!(reused.status, 401, "{}", reused.text);
    // A recovery code works, once.
    let ok = send_code(&mut c, &form, &recovery[0].to_uppercase()).await;
    assert_eq!(ok.status, 303, "{}", ok.text);
    let (mut d, form) = password_step(&srv, "alice").await;
    let used = send_code(&mut d, &form, &recovery[0]).await;
    assert_eq!(used.status, 401, "{}", used.text);
    assert!(!d.jar.contains_key("sluice_session"));

    // Turning it off needs the right password.
    let page = b.get("/settings/two_factor").await;
    assert!(
        page.text.contains("Recovery codes left: 9"),
        "{}",
        page.text
    );
    let wrong = b
        .post(
            "/settings/two_factor/disable",
            &[
                ("authenticity_token", &page.token()),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.text);
    assert!(wrong.text.contains("The password is not right"));
    let (_, still) = password_step(&srv, "alice").await;
    assert!(still.text.contains("name=\"challenge\""));
    let off = b
        .post(
            "/settings/two_factor/disable",
            &[
                ("authenticity_token", &page.token()),
                ("password", "password123"),
            ],
        )
        .await;
    assert_eq!(off.status, 303, "{}", off.text);
    assert_eq!(off.location, "/settings/two_factor?saved=1");
    // Signing in is one step again.
    signed_in(&srv, "alice").await;
}

async fn two_factor_oauth_asks_for_the_code(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("bob").await;
    let mut b = signed_in(&srv, "bob").await;
    let (secret, _, recovery) = enable(&mut b).await;

    // The password grant has no place for a code: refused as Mastodon refuses it.
    let (id, app_secret) = srv.app("read", "urn:ietf:wg:oauth:2.0:oob").await;
    let grant = srv
        .post(
            "/oauth/token",
            None,
            &[
                ("grant_type", "password"),
                ("client_id", &id),
                ("client_secret", &app_secret),
                ("username", "bob"),
                ("password", "password123"),
                ("scope", "read"),
            ],
        )
        .await;
    assert_eq!(grant.status, 400);
    assert_eq!(grant.body["error"], "invalid_grant");

    // The authorize page: the password, then the code, then the app's code.
    let redirect = "https://client.example/cb";
    let (client_id, _) = srv.app("read", redirect).await;
    let base = vec![
        ("client_id", client_id.clone()),
        ("redirect_uri", redirect.to_string()),
        ("response_type", "code".to_string()),
        ("scope", "read".to_string()),
        ("state", "xyz".to_string()),
        ("decision", "approve".to_string()),
    ];
    let post = |extra: Vec<(&'static str, String)>| {
        let mut form = base.clone();
        form.extend(extra);
        srv.http
            .post(format!("{}/oauth/authorize", srv.url))
            .form(&form)
            .send()
    };
    let step1 = post(vec![
        ("login", "bob".into()),
        ("password", "password123".into()),
    ])
    .await
    .unwrap();
    assert_eq!(step1.status(), 200);
    let text = step1.text().await.unwrap();
    assert!(
        text.contains("name=\"code\"") && !text.contains("name=\"password\""),
        "{text}"
    );
    let ch = between(&text, "name=\"challenge\" value=\"", "\"").to_string();

    let wrong = post(vec![("challenge", ch.clone()), ("code", "000000".into())])
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Invalid two-factor code")
    );
    // Another app's request cannot finish this sign-in.
    let (other_app, _) = srv.app("read", redirect).await;
    let mut form = base.clone();
    form[0].1 = other_app;
    form.push(("challenge", ch.clone()));
    form.push(("code", code_at(&secret, now() + 30)));
    let other = srv
        .http
        .post(format!("{}/oauth/authorize", srv.url))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 401);
    assert!(
        other
            .text()
            .await
            .unwrap()
            .contains("This sign-in has expired")
    );

    let ok = post(vec![
        ("challenge", ch.clone()),
        ("code", recovery[1].clone()),
    ])
    .await
    .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let location = ok.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(redirect) && location.contains("code="),
        "{location}"
    );
    // Used once.
    let again = post(vec![("challenge", ch), ("code", recovery[2].clone())])
        .await
        .unwrap();
    assert_eq!(again.status(), 401);
}

async fn two_factor_forms_need_the_pages_token(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("carol").await;
    let mut b = signed_in(&srv, "carol").await;
    for path in [
        "/settings/two_factor",
        "/settings/two_factor/confirm",
        "/settings/two_factor/disable",
        "/settings/two_factor/recovery_codes",
    ] {
        let r = b
            .post(
                path,
                &[
                    ("authenticity_token", "forged"),
                    ("code", "123456"),
                    ("password", "password123"),
                ],
            )
            .await;
        assert_eq!(r.status, 403, "{path}: {}", r.text);
    }
    // Nothing was started.
    let page = b.get("/settings/two_factor").await;
    assert!(
        page.text.contains("Two-factor sign-in is off"),
        "{}",
        page.text
    );

    // The code form of the sign-in too.
    enable(&mut b).await;
    let (mut c, form) = password_step(&srv, "carol").await;
    let r = c
        .post(
            "/auth/sign_in",
            &[
                ("authenticity_token", "forged"),
                ("challenge", &challenge(&form)),
                ("code", "123456"),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(!c.jar.contains_key("sluice_session"));
}

/// The recovery codes shown on `page` (the list shown once).
fn shown_codes(page: &Page) -> Vec<String> {
    between(&page.text, "<ul class=\"recovery-codes\">", "</ul>")
        .split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_string())
        .collect()
}

/// New recovery codes from the settings page: the password is asked for (a wrong one
/// changes nothing), the new codes are shown once, and they replace the old ones.
async fn two_factor_new_recovery_codes_need_the_password(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("dave").await;
    let mut b = signed_in(&srv, "dave").await;
    let (_, _, old) = enable(&mut b).await;
    let page = b.get("/settings/two_factor").await;
    assert!(
        page.text
            .contains("action=\"/settings/two_factor/recovery_codes\""),
        "{}",
        page.text
    );
    let wrong = b
        .post(
            "/settings/two_factor/recovery_codes",
            &[
                ("authenticity_token", &page.token()),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.text);
    assert!(wrong.text.contains("The password is not right"));
    assert!(!wrong.text.contains("class=\"recovery-codes\""));
    // The old codes still work after the refusal.
    let (mut c, form) = password_step(&srv, "dave").await;
    let ok = send_code(&mut c, &form, &old[0]).await;
    assert_eq!(ok.status, 303, "{}", ok.text);

    let made = b
        .post(
            "/settings/two_factor/recovery_codes",
            &[
                ("authenticity_token", &page.token()),
                ("password", "password123"),
            ],
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.text);
    let new = shown_codes(&made);
    assert_eq!(new.len(), 10, "{}", made.text);
    assert!(new.iter().all(|c| !old.contains(c)), "{new:?} {old:?}");
    // Shown once; ten left again.
    let page = b.get("/settings/two_factor").await;
    assert!(
        page.text.contains("Recovery codes left: 10"),
        "{}",
        page.text
    );
    assert!(!page.text.contains(&new[0]));
    // An old, unused code is refused; a new one signs in.
    let (mut d, form) = password_step(&srv, "dave").await;
    let refused = send_code(&mut d, &form, &old[1]).await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    let ok = send_code(&mut d, &form, &new[0]).await;
    assert_eq!(ok.status, 303, "{}", ok.text);
    assert!(d.jar.contains_key("sluice_session"));
}

/// Runs `sluice admin accounts disable-two-factor NAME` (the real binary) against the
/// test server's database, with nothing else of ours from the environment.
async fn admin_disable_two_factor(srv: &TestServer, name: &str) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!(
        "sluice-2fa-cli-{}-{}",
        std::process::id(),
        sluice_model::id::now_millis()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_sluice"));
    c.current_dir(&dir).env("RUST_LOG", "warn").args([
        "admin",
        "accounts",
        "disable-two-factor",
        name,
    ]);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SLUICE_")) {
        c.env_remove(k);
    }
    c.env("SLUICE_DATA_DIR", &srv.config.data_dir);
    if let Some(url) = &srv.config.database_url {
        c.env("SLUICE_DATABASE_URL", url);
    }
    let out = c.output().await.expect("sluice runs");
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// `sluice admin accounts disable-two-factor`: for someone who lost both their app and
/// their recovery codes. Afterwards the password alone signs in, and the browsers that
/// were signed in are signed out.
async fn two_factor_admin_turns_it_off(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("erin").await;
    let mut b = signed_in(&srv, "erin").await;
    enable(&mut b).await;
    // Two steps to sign in now.
    password_step(&srv, "erin").await;

    let out = admin_disable_two_factor(&srv, "nobody").await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no local user nobody"), "{stderr}");
    password_step(&srv, "erin").await;

    let out = admin_disable_two_factor(&srv, "erin").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("erin's two-factor sign-in is off; 1 web session was ended"),
        "{stdout}"
    );
    // The password alone signs in.
    let mut fresh = signed_in(&srv, "erin").await;
    assert_eq!(fresh.get("/home").await.status, 200);
    let page = fresh.get("/settings/two_factor").await;
    assert!(
        page.text.contains("Two-factor sign-in is off"),
        "{}",
        page.text
    );
    // The browser signed in before is signed out (a serving process may trust a
    // session it checked in the last 10 s: sessions are cached that long).
    let started = std::time::Instant::now();
    loop {
        let r = b.get("/settings/two_factor").await;
        if r.status == 303 && r.location.starts_with("/auth/sign_in") {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the old session still works: {} {}",
            r.status,
            r.location
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Running it again says there was nothing to turn off.
    let out = admin_disable_two_factor(&srv, "erin").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("erin had no two-factor sign-in"),
        "{stdout}"
    );
}
