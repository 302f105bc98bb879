//! The web app's sessions, forms and pages, spoken to as a browser does: cookies kept
//! in a jar, redirects not followed, forms posted with the token the page gave.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};

use crate::common::{Db, TestServer};

db_tests!(
    signing_in_and_out,
    forms_need_the_pages_token,
    cookies_and_tokens_do_not_stand_in_for_each_other,
    signing_up,
    signing_up_for_approval,
    posting_and_acting_from_pages,
    a_timeline_page_says_where_its_stream_resumes,
    a_password_reset_ends_web_sessions,
);

/// A browser: a cookie jar and no redirect following.
struct Browser {
    base: String,
    http: reqwest::Client,
    jar: BTreeMap<String, String>,
}

struct Page {
    status: StatusCode,
    location: String,
    text: String,
}

impl Page {
    /// The CSRF token of the page's first form.
    fn token(&self) -> String {
        field(&self.text, "authenticity_token")
    }
}

/// The value of the first hidden input named `name`.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

impl Browser {
    fn new(srv: &TestServer) -> Browser {
        Browser {
            base: srv.url.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
        accept: Option<&str>,
    ) -> Page {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("cookie", self.cookie_header());
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        if let Some(f) = form {
            req = req.form(f);
        }
        let r = req.send().await.expect("request sent");
        for c in r.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            assert!(
                attrs.contains("HttpOnly") && attrs.contains("SameSite=Lax"),
                "{c}"
            );
            if attrs.contains("Max-Age=0") {
                self.jar.remove(k);
            } else {
                self.jar.insert(k.to_string(), v.to_string());
            }
        }
        Page {
            status: r.status(),
            location: r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default(),
            text: r.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None, None).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form), None).await
    }

    /// Signs in through the sign-in page.
    async fn sign_in(&mut self, login: &str, password: &str) -> Page {
        let form = self.get("/auth/sign_in").await;
        assert_eq!(form.status, 200, "{}", form.text);
        let token = form.token();
        self.post(
            "/auth/sign_in",
            &[
                ("authenticity_token", &token),
                ("login", login),
                ("password", password),
            ],
        )
        .await
    }
}

async fn signing_in_and_out(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("alice").await;
    let mut b = Browser::new(&srv);

    // Signed out, home sends the visitor to sign in, and back afterwards.
    let home = b.get("/home").await;
    assert_eq!(home.status, 303);
    assert_eq!(home.location, "/auth/sign_in?return_to=%2Fhome");

    let wrong = b.sign_in("alice", "not the password").await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.text.contains("Invalid login or password"),
        "{}",
        wrong.text
    );
    assert!(!b.jar.contains_key("sluice_session"));

    let form = b.get("/auth/sign_in?return_to=%2Fpublic%2Flocal").await;
    let ok = b
        .post(
            "/auth/sign_in",
            &[
                ("authenticity_token", &form.token()),
                ("login", "alice@example.test"),
                ("password", "password123"),
                ("return_to", "/public/local"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.text);
    assert_eq!(ok.location, "/public/local");
    assert!(b.jar.contains_key("sluice_session"));

    // A redirect never leaves the site.
    let evil = b.get("/auth/sign_in?return_to=%2F%2Fevil.example%2F").await;
    assert_eq!(evil.status, 303);
    assert_eq!(evil.location, "/home");

    let home = b.get("/home").await;
    assert_eq!(home.status, 200, "{}", home.text);
    assert!(home.text.contains("<h1>Home</h1>"));
    assert!(
        home.text.contains("action=\"/statuses\""),
        "the compose form"
    );
    assert!(home.text.contains("href=\"/@alice\""), "the signed-in nav");
    let root = b.get("/").await;
    assert_eq!(
        (root.status.as_u16(), root.location.as_str()),
        (303, "/home")
    );

    // Settings list the session; signing out ends it, and its cookie is worthless.
    let alice_id: i64 = srv.lookup_id("alice").await.parse().unwrap();
    let sessions = srv.engine().web_sessions(alice_id).await.unwrap();
    assert_eq!(sessions.len(), 1);
    let old = b.jar.get("sluice_session").cloned().unwrap();
    let out = b
        .post("/auth/sign_out", &[("authenticity_token", &home.token())])
        .await;
    assert_eq!((out.status.as_u16(), out.location.as_str()), (303, "/"));
    assert!(!b.jar.contains_key("sluice_session"));
    assert!(
        srv.engine()
            .web_sessions(alice_id)
            .await
            .unwrap()
            .is_empty()
    );
    b.jar.insert("sluice_session".into(), old);
    assert_eq!(b.get("/home").await.status, 303);
    srv.stop().await;
}

async fn forms_need_the_pages_token(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("alice").await;
    let mut b = Browser::new(&srv);

    // Sign-in without the token of a page this browser was shown: refused, unchecked.
    let none = b
        .post(
            "/auth/sign_in",
            &[("login", "alice"), ("password", "password123")],
        )
        .await;
    assert_eq!(none.status, 403, "{}", none.text);
    let other = Browser::new(&srv).get("/auth/sign_in").await.token();
    let foreign = b
        .post(
            "/auth/sign_in",
            &[
                ("authenticity_token", &other),
                ("login", "alice"),
                ("password", "password123"),
            ],
        )
        .await;
    assert_eq!(foreign.status, 403, "another browser's token");
    assert!(!b.jar.contains_key("sluice_session"));

    assert_eq!(b.sign_in("alice", "password123").await.status, 303);
    let home = b.get("/home").await;
    let before = srv.count("statuses").await;
    for form in [
        vec![("status", "no token")],
        vec![("status", "wrong token"), ("authenticity_token", "x")],
        // The anonymous token from before signing in is not the session's.
        vec![
            ("status", "old token"),
            ("authenticity_token", other.as_str()),
        ],
    ] {
        let r = b.post("/statuses", &form).await;
        assert_eq!(r.status, 403, "{form:?}: {}", r.text);
    }
    assert_eq!(srv.count("statuses").await, before, "nothing was written");
    let r = b
        .post(
            "/statuses",
            &[
                ("authenticity_token", &home.token()),
                ("status", "with the token"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(srv.count("statuses").await, before + 1);
    let out = b.post("/auth/sign_out", &[]).await;
    assert_eq!(out.status, 403, "signing out needs the token too");
    srv.stop().await;
}

async fn cookies_and_tokens_do_not_stand_in_for_each_other(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.sign_in("alice", "password123").await.status, 303);
    let cookie = b.jar["sluice_session"].clone();
    let home = b.get("/home").await;
    let stream_token = {
        let marker = "name=\"sluice-stream-token\" content=\"";
        let i = home.text.find(marker).expect("the stream token") + marker.len();
        home.text[i..].split('"').next().unwrap().to_string()
    };
    assert_ne!(stream_token, cookie);

    // The cookie is not a bearer token, and the API ignores the cookie.
    srv.get("/api/v1/accounts/verify_credentials", Some(&cookie))
        .await
        .expect(401);
    let r = b.get("/api/v1/accounts/verify_credentials").await;
    assert_eq!(r.status, 401, "{}", r.text);
    // The page's stream token reads, and only reads.
    let me = srv
        .get("/api/v1/accounts/verify_credentials", Some(&stream_token))
        .await
        .ok();
    assert_eq!(me["username"], "alice");
    srv.post("/api/v1/statuses", Some(&stream_token), &[("status", "hi")])
        .await
        .expect(403);
    // A bearer token is not a web session, in the header or as the cookie.
    let r = srv.get("/home", Some(&alice.token)).await;
    assert!(!r.text.contains("<h1>Home</h1>"), "{}", r.text);
    let mut thief = Browser::new(&srv);
    thief
        .jar
        .insert("sluice_session".into(), alice.token.clone());
    assert_eq!(thief.get("/home").await.status, 303);
    thief
        .jar
        .insert("sluice_session".into(), stream_token.clone());
    assert_eq!(thief.get("/home").await.status, 303);

    // Signing out revokes the stream token with the session.
    b.post("/auth/sign_out", &[("authenticity_token", &home.token())])
        .await;
    srv.get("/api/v1/accounts/verify_credentials", Some(&stream_token))
        .await
        .expect(401);
    srv.stop().await;
}

async fn signing_up(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let mut b = Browser::new(&srv);
    let about = b.get("/").await;
    assert_eq!(about.status, 200);
    assert!(
        about.text.contains("href=\"/auth/sign_up\""),
        "{}",
        about.text
    );
    let form = b.get("/auth/sign_up").await;
    assert_eq!(form.status, 200);
    let token = form.token();
    let base = [
        ("authenticity_token", token.as_str()),
        ("username", "carol"),
        ("email", "carol@example.test"),
        ("password", "a good password"),
        ("agreement", "1"),
    ];
    let mut mismatch = base.to_vec();
    mismatch.push(("password_confirmation", "another password"));
    let r = b.post("/auth/sign_up", &mismatch).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("confirmation differ"), "{}", r.text);
    assert!(
        r.text.contains("value=\"carol\""),
        "the form keeps what was typed"
    );
    let mut taken = base.to_vec();
    taken[1] = ("username", "bad name!");
    taken.push(("password_confirmation", "a good password"));
    let r = b.post("/auth/sign_up", &taken).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("username"), "{}", r.text);
    let mut good = base.to_vec();
    good.push(("password_confirmation", "a good password"));
    let r = b.post("/auth/sign_up", &good).await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/home"),
        "{}",
        r.text
    );
    let home = b.get("/home").await;
    assert_eq!(home.status, 200);
    assert!(home.text.contains("href=\"/@carol\""));
    srv.stop().await;
}

async fn signing_up_for_approval(db: Db) {
    let Some(srv) = TestServer::start(db, |c| {
        c.registrations = sluice_engine::Registrations::Approval;
    })
    .await
    else {
        return;
    };
    let mut b = Browser::new(&srv);
    let form = b.get("/auth/sign_up").await;
    assert!(form.text.contains("name=\"reason\""), "approval asks why");
    let r = b
        .post(
            "/auth/sign_up",
            &[
                ("authenticity_token", &form.token()),
                ("username", "dave"),
                ("email", "dave@example.test"),
                ("password", "a good password"),
                ("password_confirmation", "a good password"),
                ("agreement", "1"),
                ("reason", "I know alice"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.text.contains("waiting for an administrator"),
        "{}",
        r.text
    );
    assert!(!b.jar.contains_key("sluice_session"));
    let r = b.sign_in("dave", "a good password").await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("pending approval"), "{}", r.text);
    srv.stop().await;
}

async fn posting_and_acting_from_pages(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let bob = srv.user("bob").await;
    srv.user("alice").await;
    let post = srv.status(&bob, "bob says hi", &[]).await;
    let id = post["id"].as_str().unwrap();
    let mut b = Browser::new(&srv);
    b.sign_in("alice", "password123").await;
    let local = b.get("/public/local").await;
    assert!(local.text.contains("bob says hi"), "{}", local.text);
    let token = local.token();

    // Without JavaScript: the form, then back to the page.
    let r = b
        .post(
            &format!("/statuses/{id}/favourite"),
            &[
                ("authenticity_token", &token),
                ("return_to", "/public/local"),
            ],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/public/local")
    );
    let shown = srv
        .get(&format!("/api/v1/statuses/{id}"), Some(&bob.token))
        .await
        .ok();
    assert_eq!(shown["favourites_count"], 1);
    let local = b.get("/public/local").await;
    assert!(
        local
            .text
            .contains(&format!("action=\"/statuses/{id}/unfavourite\""))
    );

    // With JavaScript: the same form, answered with the post.
    let r = b
        .send(
            Method::POST,
            &format!("/statuses/{id}/reblog"),
            Some(&[("authenticity_token", &token)]),
            Some("application/json"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s: serde_json::Value = serde_json::from_str(&r.text).unwrap();
    assert_eq!(s["reblogged"], true);
    assert_eq!(s["reblogs_count"], 1);
    let r = b
        .post(
            &format!("/statuses/{id}/bookmark"),
            &[("authenticity_token", &token)],
        )
        .await;
    assert_eq!(r.status, 303);
    let bookmarks = b
        .get("/statuses/{id}/item".replace("{id}", id).as_str())
        .await;
    assert!(
        bookmarks.text.contains("Remove bookmark"),
        "{}",
        bookmarks.text
    );
    assert!(!bookmarks.text.contains("<html"), "a fragment, not a page");
    // Someone else's post cannot be deleted; one's own can.
    let r = b
        .post(
            &format!("/statuses/{id}/delete"),
            &[("authenticity_token", &token)],
        )
        .await;
    assert_eq!(r.status, 404);
    let r = b
        .post(
            "/statuses",
            &[
                ("authenticity_token", &token),
                ("status", "a reply from the web"),
                ("in_reply_to_id", id),
                ("spoiler_text", "careful"),
                ("visibility", "unlisted"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let thread = srv
        .get(&format!("/api/v1/statuses/{id}/context"), Some(&bob.token))
        .await
        .ok();
    let reply = &thread["descendants"][0];
    assert_eq!(reply["spoiler_text"], "careful");
    assert_eq!(reply["visibility"], "unlisted");
    let reply_id = reply["id"].as_str().unwrap();
    let r = b
        .post(
            &format!("/statuses/{reply_id}/delete"),
            &[("authenticity_token", &token)],
        )
        .await;
    assert_eq!(r.status, 303);
    srv.get(&format!("/api/v1/statuses/{reply_id}"), Some(&bob.token))
        .await
        .expect(404);
    // Bad input is a clear 4xx.
    let r = b
        .post(
            "/statuses",
            &[
                ("authenticity_token", &token),
                ("status", "x"),
                ("visibility", "everyone"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    let r = b
        .post(
            &format!("/statuses/{id}/explode"),
            &[("authenticity_token", &token)],
        )
        .await;
    assert_eq!(r.status, 404);
    srv.stop().await;
}

/// A timeline page names the event its live stream starts after (read before the
/// page's posts): a post made after the page was read is replayed from there, so the
/// page's script misses nothing, even before its stream connected.
async fn a_timeline_page_says_where_its_stream_resumes(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let bob = srv.user("bob").await;
    srv.user("alice").await;
    srv.status(&bob, "shown on the page", &[]).await;
    let mut b = Browser::new(&srv);
    b.sign_in("alice", "password123").await;
    let local = b.get("/public/local").await;
    assert!(local.text.contains("shown on the page"), "{}", local.text);
    let marker = "data-stream=\"public:local\" data-resume=\"";
    let start = local
        .text
        .find(marker)
        .unwrap_or_else(|| panic!("no data-resume in {}", local.text))
        + marker.len();
    let resume: i64 = local.text[start..]
        .split('"')
        .next()
        .unwrap()
        .parse()
        .expect("data-resume is an event id");
    let later = srv.status(&bob, "made after the page", &[]).await;
    let mut sse = crate::streaming::Sse::open(
        &srv,
        "/api/v1/streaming/public/local",
        &bob.token,
        Some(resume),
    )
    .await;
    let mut replayed = Vec::new();
    while let Some(ev) = sse.next_within(std::time::Duration::from_secs(5)).await {
        if ev.event == "update" {
            let s: serde_json::Value = serde_json::from_str(&ev.data).unwrap();
            replayed.push(s["id"].as_str().unwrap().to_string());
            if s["id"] == later["id"] {
                break;
            }
        }
    }
    assert!(
        replayed.iter().any(|id| later["id"] == id.as_str()),
        "replayed after {resume}: {replayed:?}"
    );
    // A visitor's page has no stream token (and so no live stream).
    let anon = Browser::new(&srv).get("/public/local").await;
    assert!(!anon.text.contains("sluice-stream-token"), "{}", anon.text);
    srv.stop().await;
}

async fn a_password_reset_ends_web_sessions(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("alice").await;
    let mut b = Browser::new(&srv);
    b.sign_in("alice", "password123").await;
    assert_eq!(b.get("/home").await.status, 200);
    let id: i64 = srv.lookup_id("alice").await.parse().unwrap();
    srv.engine()
        .reset_password(id, "another password")
        .await
        .unwrap();
    assert_eq!(b.get("/home").await.status, 303);
    srv.stop().await;
}
