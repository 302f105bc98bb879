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
    replying_in_place,
    public_timelines_for_signed_in_people_only,
    a_timeline_page_says_where_its_stream_resumes,
    a_password_reset_ends_web_sessions,
    posting_media_with_descriptions,
    reaching_a_post_on_another_server,
    following_from_another_server,
    ones_own_collections,
    editing_pinning_and_redrafting,
    confirming_an_address_by_mail,
    resetting_a_password_by_mail,
    without_mail_there_is_nothing_to_confirm,
    one_notification_as_its_page_shows_it,
    the_site_icon,
);

/// A browser: a cookie jar and no redirect following.
pub(crate) struct Browser {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) jar: BTreeMap<String, String>,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) location: String,
    pub(crate) text: String,
}

impl Page {
    /// The CSRF token of the page's first form.
    pub(crate) fn token(&self) -> String {
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
    pub(crate) fn new(srv: &TestServer) -> Browser {
        Browser {
            base: srv.url.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
        }
    }

    pub(crate) fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) async fn send(
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

    /// POSTs a multipart form (text fields and files).
    pub(crate) async fn multipart(&mut self, path: &str, form: reqwest::multipart::Form) -> Page {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .multipart(form)
            .send()
            .await
            .expect("request sent");
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

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None, None).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form), None).await
    }

    /// Signs in through the sign-in page.
    pub(crate) async fn sign_in(&mut self, login: &str, password: &str) -> Page {
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
        local.text.contains(&format!(
            "<button form=\"act\" formaction=\"/statuses/{id}/unfavourite\" aria-pressed=\"true\">"
        )),
        "{}",
        local.text
    );
    // The buttons of every post share the page's one form, which carries the token.
    assert_eq!(local.text.matches("<form id=\"act\"").count(), 1);
    assert!(!local.text.contains("<form class=\"inline act\""));

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

/// The script's inline reply: the reply form alone for any post one can see, and a
/// post sent with `Accept: application/json` answered with the new post.
async fn replying_in_place(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let bob = srv.user("bob").await;
    srv.user("alice").await;
    let post = srv.status(&bob, "bob asks something", &[]).await;
    let id = post["id"].as_str().unwrap();
    let secret = srv
        .status(&bob, "for followers", &[("visibility", "private")])
        .await;
    let secret = secret["id"].as_str().unwrap();
    let mut b = Browser::new(&srv);
    // Signed out: the form is not for visitors.
    let r = b.get(&format!("/statuses/{id}/reply")).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(r.location.starts_with("/auth/sign_in"), "{}", r.location);
    b.sign_in("alice", "password123").await;

    let form = b.get(&format!("/statuses/{id}/reply")).await;
    assert_eq!(form.status, 200, "{}", form.text);
    assert!(!form.text.contains("<html"), "a fragment, not a page");
    assert!(
        form.text
            .starts_with("<section class=\"inline-reply\" aria-label=\"Reply to @bob\">"),
        "{}",
        form.text
    );
    assert_eq!(field(&form.text, "in_reply_to_id"), id);
    // Its fields' ids are its own, so that several can be open on one page.
    assert!(
        form.text.contains(&format!("id=\"r{id}-text\"")),
        "{}",
        form.text
    );
    assert!(form.text.contains(&format!("for=\"r{id}-text\"")));
    assert!(form.text.contains(">@bob </textarea>"), "{}", form.text);
    assert!(form.text.contains(" data-inline>"));
    // A post alice may not see has no reply form either.
    let r = b.get(&format!("/statuses/{secret}/reply")).await;
    assert_eq!(r.status, 404);

    // Sent by the script: the new post comes back.
    let r = b
        .send(
            Method::POST,
            "/statuses",
            Some(&[
                ("authenticity_token", &form.token()),
                ("status", "@bob an answer in place"),
                ("in_reply_to_id", id),
            ]),
            Some("application/json"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let reply: serde_json::Value = serde_json::from_str(&r.text).unwrap();
    assert_eq!(reply["in_reply_to_id"], id);
    assert_eq!(reply["account"]["username"], "alice");
    let context = srv
        .get(&format!("/api/v1/statuses/{id}/context"), Some(&bob.token))
        .await
        .ok();
    assert_eq!(context["descendants"][0]["id"], reply["id"]);
    // A refused post is an error page the script reads the message from.
    let r = b
        .send(
            Method::POST,
            "/statuses",
            Some(&[
                ("authenticity_token", &form.token()),
                ("status", "x"),
                ("in_reply_to_id", id),
                ("visibility", "everyone"),
            ]),
            Some("application/json"),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.text
            .contains("<p class=\"error\">&#x27;everyone&#x27; is not a visibility</p>"),
        "{}",
        r.text
    );
    srv.stop().await;
}

/// `local_timeline`/`federated_timeline = signed_in`: visitors are sent to sign in from
/// the pages and refused by the API (422, as Mastodon does), people signed in read
/// them; the default lets anyone read both.
async fn public_timelines_for_signed_in_people_only(db: Db) {
    let Some(srv) = TestServer::start(db, |c| {
        c.local_timeline = sluice_engine::TimelineAccess::SignedIn;
        c.federated_timeline = sluice_engine::TimelineAccess::SignedIn;
    })
    .await
    else {
        return;
    };
    let bob = srv.user("bob").await;
    srv.status(&bob, "a public post", &[]).await;
    let mut b = Browser::new(&srv);
    for path in ["/public/local", "/public"] {
        let r = b.get(path).await;
        assert_eq!(r.status, 303, "{path}: {}", r.text);
        assert!(r.location.starts_with("/auth/sign_in"), "{}", r.location);
    }
    let about = b.get("/about").await;
    assert!(
        !about.text.contains("href=\"/public/local\""),
        "{}",
        about.text
    );
    for q in ["", "?local=true", "?remote=true"] {
        let r = srv
            .get(&format!("/api/v1/timelines/public{q}"), None)
            .await
            .expect(422);
        assert_eq!(
            r["error"], "This method requires an authenticated user",
            "{q}"
        );
    }
    let v2 = srv.get("/api/v2/instance", None).await.ok();
    assert_eq!(
        v2["configuration"]["timelines_access"]["live_feeds"],
        serde_json::json!({ "local": "authenticated", "remote": "authenticated" })
    );
    // Signed in, on the pages and through the API.
    b.sign_in("bob", "password123").await;
    for path in ["/public/local", "/public"] {
        let r = b.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.text.contains("a public post"), "{path}");
    }
    let r = srv
        .get("/api/v1/timelines/public?local=true", Some(&bob.token))
        .await
        .ok();
    assert_eq!(r[0]["content"], "<p>a public post</p>");
    srv.stop().await;

    // By default, anyone.
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let bob = srv.user("bob").await;
    srv.status(&bob, "open to all", &[]).await;
    let mut b = Browser::new(&srv);
    let r = b.get("/public/local").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("open to all"));
    let about = b.get("/about").await;
    assert!(about.text.contains("href=\"/public/local\""));
    let r = srv.get("/api/v1/timelines/public", None).await.ok();
    assert_eq!(r[0]["content"], "<p>open to all</p>");
    let v2 = srv.get("/api/v2/instance", None).await.ok();
    assert_eq!(
        v2["configuration"]["timelines_access"]["live_feeds"]["local"],
        "public"
    );
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

async fn posting_media_with_descriptions(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("alice").await;
    let mut b = Browser::new(&srv);
    b.sign_in("alice", "password123").await;
    let home = b.get("/home").await;
    assert!(home.text.contains("enctype=\"multipart/form-data\""));
    let token = home.token();
    let image = |salt| {
        reqwest::multipart::Part::bytes(crate::media::png(4, 3, salt))
            .file_name("x.png")
            .mime_str("image/png")
            .unwrap()
    };
    let form = reqwest::multipart::Form::new()
        .text("authenticity_token", token.clone())
        .text("status", "two pictures")
        .part("media_1", image(2))
        .text("description_1", "the second, a red square")
        .part("media_0", image(1))
        .text("description_0", "the first, a blue square")
        .text("description_2", "no file here");
    let r = b.multipart("/statuses", form).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let mine = srv.lookup_id("alice").await;
    let posts = srv
        .get(&format!("/api/v1/accounts/{mine}/statuses"), None)
        .await
        .ok();
    let media = posts[0]["media_attachments"].as_array().unwrap();
    let alts: Vec<&str> = media
        .iter()
        .map(|m| m["description"].as_str().unwrap())
        .collect();
    assert_eq!(
        alts,
        ["the first, a blue square", "the second, a red square"]
    );
    // The page shows the images with their descriptions as alt text.
    let page = b.get("/home").await;
    assert!(
        page.text.contains("alt=\"the first, a blue square\""),
        "{}",
        page.text
    );
    // Not an image: refused, nothing posted.
    let form = reqwest::multipart::Form::new()
        .text("authenticity_token", token)
        .text("status", "not a picture")
        .part(
            "media_0",
            reqwest::multipart::Part::bytes(b"hello".to_vec())
                .file_name("x.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let r = b.multipart("/statuses", form).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let posts = srv
        .get(&format!("/api/v1/accounts/{mine}/statuses"), None)
        .await
        .ok();
    assert_eq!(posts.as_array().unwrap().len(), 1);
    srv.stop().await;
}

async fn reaching_a_post_on_another_server(db: Db) {
    use crate::common::peer;
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    a.user("alice").await;
    let bob = b.user("bob").await;
    let post = b.status(&bob, "hello from the other server", &[]).await;
    let b_domain = b.url.trim_start_matches("http://").to_string();
    let mut browser = Browser::new(&a);

    // Signed out: sign in first, then back here.
    let uri = post["uri"].as_str().unwrap();
    let path = format!(
        "/authorize_interaction?uri={}",
        url::form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>()
    );
    let r = browser.get(&path).await;
    assert_eq!(r.status, 303);
    assert!(
        r.location
            .starts_with("/auth/sign_in?return_to=%2Fauthorize_interaction"),
        "{}",
        r.location
    );
    browser.sign_in("alice", "password123").await;

    // The post's id, or the page its server shows it at: either is fetched and opened.
    for given in [uri.to_string(), post["url"].as_str().unwrap().to_string()] {
        let path = format!(
            "/authorize_interaction?uri={}",
            url::form_urlencoded::byte_serialize(given.as_bytes()).collect::<String>()
        );
        let r = browser.get(&path).await;
        assert_eq!(r.status, 303, "{given}: {}", r.text);
        assert!(
            r.location.starts_with(&format!("/@bob@{b_domain}/")),
            "{}",
            r.location
        );
        let page = browser.get(&r.location).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.text.contains("hello from the other server"));
    }
    // Favourited from here, it counts there.
    let here = browser
        .get(&format!(
            "/authorize_interaction?uri={}",
            url::form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>()
        ))
        .await
        .location;
    let id = here.rsplit('/').next().unwrap().to_string();
    let page = browser.get(&here).await;
    let r = browser
        .post(
            &format!("/statuses/{id}/favourite"),
            &[("authenticity_token", &page.token())],
        )
        .await;
    assert_eq!(r.status, 303);
    let bob_post = post["id"].as_str().unwrap().to_string();
    crate::common::eventually("the favourite reaches the other server", async || {
        b.get(&format!("/api/v1/statuses/{bob_post}"), None)
            .await
            .body["favourites_count"]
            == 1
    })
    .await;

    // An account, by handle.
    let r = browser
        .get(&format!("/authorize_interaction?uri=acct:bob@{b_domain}"))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, format!("/@bob@{b_domain}").as_str())
    );
    let profile = browser.get(&r.location).await;
    assert!(
        profile.text.contains("action=\"/accounts/"),
        "a follow button: {}",
        profile.text
    );
    // Nothing there: a clear 404.
    let r = browser
        .get("/authorize_interaction?uri=http%3A%2F%2F127.0.0.3%3A1%2Fnothing")
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = browser.get("/authorize_interaction").await;
    assert_eq!(r.status, 400);
    a.stop().await;
    b.stop().await;
}

async fn following_from_another_server(db: Db) {
    use crate::common::peer;
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    a.user("alice").await;
    b.user("bob").await;
    let b_domain = b.url.trim_start_matches("http://").to_string();
    let mut visitor = Browser::new(&a);
    let profile = visitor.get("/@alice").await;
    assert!(
        profile.text.contains("action=\"/remote_follow\""),
        "{}",
        profile.text
    );
    let r = visitor
        .post(
            "/remote_follow",
            &[
                ("authenticity_token", &profile.token()),
                ("account", "alice"),
                ("acct", &format!("bob@{b_domain}")),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let actor = format!("{}/users/alice", a.url);
    let expected = format!(
        "{}/authorize_interaction?uri={}",
        b.url,
        url::form_urlencoded::byte_serialize(actor.as_bytes()).collect::<String>()
    );
    let shown = r.text.replace("&#x2f;", "/").replace("&amp;", "&");
    assert!(shown.contains(&expected), "{expected} in {}", r.text);
    let r = visitor
        .post(
            "/remote_follow",
            &[
                ("authenticity_token", &profile.token()),
                ("account", "alice"),
                ("acct", "nobody"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    a.stop().await;
    b.stop().await;
}

async fn ones_own_collections(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let bob = srv.user("bob").await;
    let alice = srv.user("alice").await;
    srv.update_credentials(&alice.token, &[("locked", "true")])
        .await
        .ok();
    let post = srv.status(&bob, "worth keeping", &[]).await;
    let id = post["id"].as_str().unwrap();
    srv.status(&bob, "@alice just between us", &[("visibility", "direct")])
        .await;
    let mut b = Browser::new(&srv);
    b.sign_in("alice", "password123").await;
    let token = b.get("/home").await.token();
    for action in ["bookmark", "favourite"] {
        b.post(
            &format!("/statuses/{id}/{action}"),
            &[("authenticity_token", &token)],
        )
        .await;
    }
    for path in ["/bookmarks", "/favourites"] {
        let r = b.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.text.contains("worth keeping"), "{path}: {}", r.text);
        assert!(
            !r.text.contains("action=\"/statuses\""),
            "no compose form on {path}"
        );
    }
    let dms = b.get("/conversations").await;
    assert!(dms.text.contains("just between us"), "{}", dms.text);

    // A follow request to the locked account, approved from the page.
    let bob_id = srv.lookup_id("bob").await;
    let alice_id = srv.lookup_id("alice").await;
    srv.post(
        &format!("/api/v1/accounts/{alice_id}/follow"),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    let requests = b.get("/follow_requests").await;
    assert!(requests.text.contains("@bob"), "{}", requests.text);
    let r = b
        .post(
            &format!("/follow_requests/{bob_id}/authorize"),
            &[("authenticity_token", &token)],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/follow_requests")
    );
    let rel = srv
        .get(
            &format!("/api/v1/accounts/relationships?id[]={alice_id}"),
            Some(&bob.token),
        )
        .await
        .ok();
    assert_eq!(rel[0]["following"], true, "{rel}");
    assert!(
        b.get("/follow_requests")
            .await
            .text
            .contains("Nobody is asking")
    );

    // A list: made, someone added, their posts in it, removed, deleted.
    srv.post(
        &format!("/api/v1/accounts/{bob_id}/follow"),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    let r = b
        .post(
            "/lists",
            &[("authenticity_token", &token), ("title", "friends")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let list = r.location.clone();
    assert!(list.starts_with("/lists/"));
    assert!(b.get("/lists").await.text.contains("friends"));
    let r = b
        .post(
            &format!("{list}/add"),
            &[("authenticity_token", &token), ("acct", "bob")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    srv.status(&bob, "for the list", &[]).await;
    let page = b.get(&list).await;
    assert!(page.text.contains("for the list"), "{}", page.text);
    // Its live stream resumes from where the page was read, as the timelines' do.
    assert!(page.text.contains("data-stream=\"list\""));
    assert!(page.text.contains("data-resume=\""), "{}", page.text);
    assert!(page.text.contains("Remove from list"));
    let r = b
        .post(
            &format!("{list}/add"),
            &[("authenticity_token", &token), ("acct", "nobody")],
        )
        .await;
    assert_eq!(r.status, 422);
    b.post(
        &format!("{list}/remove"),
        &[("authenticity_token", &token), ("account_id", &bob_id)],
    )
    .await;
    assert!(!b.get(&list).await.text.contains("Remove from list"));
    let r = b
        .post(&format!("{list}/delete"), &[("authenticity_token", &token)])
        .await;
    assert_eq!(r.location, "/lists");
    assert_eq!(b.get(&list).await.status, 404);

    // Search: people here by name; a URL goes to the interaction page.
    let found = b.get("/search?q=bob").await;
    assert!(found.text.contains("href=\"/@bob\""), "{}", found.text);
    // ...and posts by their words, as the API finds them: the one bob sent her.
    let found = b.get("/search?q=between").await;
    assert!(found.text.contains("just between us"), "{}", found.text);
    let none = b.get("/search?q=nothingmatches").await;
    assert!(none.text.contains("No posts found"), "{}", none.text);
    let r = b
        .get("/search?q=https%3A%2F%2Fexample.invalid%2F%40x%2F1")
        .await;
    assert_eq!(r.status, 303);
    assert!(
        r.location.starts_with("/authorize_interaction?uri="),
        "{}",
        r.location
    );
    srv.stop().await;
}

async fn editing_pinning_and_redrafting(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let post = srv
        .status(
            &alice,
            "frist post",
            &[("spoiler_text", "typo inside"), ("visibility", "unlisted")],
        )
        .await;
    let id = post["id"].as_str().unwrap();
    let bobs = srv.status(&bob, "not yours", &[]).await;
    let mut b = Browser::new(&srv);
    b.sign_in("alice", "password123").await;

    let form = b.get(&format!("/statuses/{id}/edit")).await;
    assert_eq!(form.status, 200, "{}", form.text);
    assert!(
        form.text.contains(">frist post</textarea>"),
        "{}",
        form.text
    );
    assert!(form.text.contains("value=\"typo inside\""));
    let r = b
        .post(
            &format!("/statuses/{id}/edit"),
            &[
                ("authenticity_token", &form.token()),
                ("status", "first post"),
                ("spoiler_text", ""),
            ],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.location.clone()),
        (303, format!("/@alice/{id}"))
    );
    let shown = srv.get(&format!("/api/v1/statuses/{id}"), None).await.ok();
    assert!(shown["content"].as_str().unwrap().contains("first post"));
    assert_eq!(shown["spoiler_text"], "");
    assert!(shown["edited_at"].is_string());
    let history = srv
        .get(&format!("/api/v1/statuses/{id}/history"), None)
        .await
        .ok();
    assert_eq!(history.as_array().unwrap().len(), 2);
    // Someone else's post has no edit form.
    let other = bobs["id"].as_str().unwrap();
    assert_eq!(b.get(&format!("/statuses/{other}/edit")).await.status, 404);

    // Pinned to the profile, from the post's buttons.
    let token = b.get("/home").await.token();
    let r = b
        .post(
            &format!("/statuses/{id}/pin"),
            &[("authenticity_token", &token), ("return_to", "/@alice")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let profile = b.get("/@alice").await;
    assert!(
        profile.text.contains("aria-label=\"Pinned posts\""),
        "{}",
        profile.text
    );

    // Delete and redraft: gone, and its text back in the form with its visibility.
    let r = b
        .post(
            &format!("/statuses/{id}/redraft"),
            &[("authenticity_token", &token)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains(">first post</textarea>"), "{}", r.text);
    assert!(
        r.text.contains("<option value=\"unlisted\" selected>"),
        "{}",
        r.text
    );
    srv.get(&format!("/api/v1/statuses/{id}"), None)
        .await
        .expect(404);
    let _ = alice;
    srv.stop().await;
}

async fn confirming_an_address_by_mail(db: Db) {
    let mut sink = crate::common::SmtpSink::start().await;
    let smtp = format!("smtp://{}", sink.addr);
    let Some(srv) = TestServer::start(db, |c| c.smtp_url = Some(smtp)).await else {
        return;
    };
    let mut b = Browser::new(&srv);
    let form = b.get("/auth/sign_up").await;
    let r = b
        .post(
            "/auth/sign_up",
            &[
                ("authenticity_token", &form.token()),
                ("username", "erin"),
                ("email", "erin@example.test"),
                ("password", "a good password"),
                ("password_confirmation", "a good password"),
                ("agreement", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("Check your e-mail"), "{}", r.text);
    assert!(!b.jar.contains_key("sluice_session"));
    let mail = sink.next_mail().await;
    assert!(mail.contains("To: erin@example.test"), "{mail}");
    let first = crate::common::link_in(&mail, &format!("{}/auth/confirm?token=", srv.url));

    // Not confirmed yet: no sign-in, and the link can be asked for again.
    let r = b.sign_in("erin", "a good password").await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(
        r.text.contains("missing a confirmed e-mail address"),
        "{}",
        r.text
    );
    assert!(r.text.contains("action=\"/auth/confirmation\""));
    let r = b
        .post(
            "/auth/confirmation",
            &[("authenticity_token", &r.token()), ("login", "erin")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let second = crate::common::link_in(
        &sink.next_mail().await,
        &format!("{}/auth/confirm?token=", srv.url),
    );
    assert_ne!(first, second);
    // An account made through the API waits for its confirmation too: its token is
    // refused until then.
    let (_, _, app) = srv.app_token("write:accounts").await;
    let t = srv
        .post(
            "/api/v1/accounts",
            Some(&app),
            &[
                ("username", "gina"),
                ("email", "gina@example.test"),
                ("password", "a good password"),
                ("agreement", "true"),
                ("locale", "en"),
            ],
        )
        .await
        .ok();
    let gina = t["access_token"].as_str().unwrap().to_string();
    let r = srv
        .get("/api/v1/accounts/verify_credentials", Some(&gina))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let gina_mail = sink.next_mail().await;
    assert!(gina_mail.contains("To: gina@example.test"), "{gina_mail}");
    // The first link was replaced by the second.
    let path = |link: &str| link.trim_start_matches(&srv.url).to_string();
    let r = b.get(&path(&first)).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = b.get(&path(&second)).await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/auth/sign_in?notice=confirmed")
    );
    assert!(
        b.get(&r.location)
            .await
            .text
            .contains("Your address is confirmed")
    );
    let r = b.sign_in("erin", "a good password").await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/home"),
        "{}",
        r.text
    );
    // Used once.
    assert_eq!(b.get(&path(&second)).await.status, 422);
    srv.stop().await;
}

async fn resetting_a_password_by_mail(db: Db) {
    let mut sink = crate::common::SmtpSink::start().await;
    let smtp = format!("smtp://{}", sink.addr);
    let Some(srv) = TestServer::start(db, |c| c.smtp_url = Some(smtp)).await else {
        return;
    };
    srv.user("alice").await;
    let mut other = Browser::new(&srv);
    other.sign_in("alice", "password123").await;
    assert_eq!(other.get("/home").await.status, 200);

    let mut b = Browser::new(&srv);
    let form = b.get("/auth/password/new").await;
    assert!(form.text.contains("name=\"email\""), "{}", form.text);
    // An unknown address gets the same answer, and no mail.
    let unknown = b
        .post(
            "/auth/password/new",
            &[
                ("authenticity_token", &form.token()),
                ("email", "nobody@example.test"),
            ],
        )
        .await;
    let known = b
        .post(
            "/auth/password/new",
            &[
                ("authenticity_token", &form.token()),
                ("email", "alice@example.test"),
            ],
        )
        .await;
    assert_eq!(unknown.status, 200);
    assert_eq!(
        unknown.text, known.text,
        "the answer says nothing about the address"
    );
    let mail = sink.next_mail().await;
    assert!(mail.contains("To: alice@example.test"), "{mail}");
    assert!(
        !sink
            .any_mail_within(std::time::Duration::from_millis(500))
            .await
    );
    let link = crate::common::link_in(&mail, &format!("{}/auth/password/edit?token=", srv.url));
    let page = b.get(link.trim_start_matches(&srv.url)).await;
    assert_eq!(page.status, 200);
    let token = field(&page.text, "token");
    let csrf = page.token();
    let r = b
        .post(
            "/auth/password/edit",
            &[
                ("authenticity_token", &csrf),
                ("token", &token),
                ("password", "a new password"),
                ("password_confirmation", "another one"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    let r = b
        .post(
            "/auth/password/edit",
            &[
                ("authenticity_token", &csrf),
                ("token", &token),
                ("password", "a new password"),
                ("password_confirmation", "a new password"),
            ],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/auth/sign_in?notice=password"),
        "{}",
        r.text
    );
    // Signed out everywhere; the old password no longer works, the new one does.
    assert_eq!(other.get("/home").await.status, 303);
    assert_eq!(b.sign_in("alice", "password123").await.status, 401);
    assert_eq!(b.sign_in("alice", "a new password").await.status, 303);
    // The link worked once.
    let mut c = Browser::new(&srv);
    let csrf = c.get("/auth/password/new").await.token();
    let r = c
        .post(
            "/auth/password/edit",
            &[
                ("authenticity_token", &csrf),
                ("token", &token),
                ("password", "a third password"),
                ("password_confirmation", "a third password"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    srv.stop().await;
}

async fn without_mail_there_is_nothing_to_confirm(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let mut b = Browser::new(&srv);
    let page = b.get("/auth/password/new").await;
    assert!(page.text.contains("sends no mail"), "{}", page.text);
    let csrf = b.get("/auth/sign_in").await.token();
    let r = b
        .post(
            "/auth/password/new",
            &[("authenticity_token", &csrf), ("email", "a@example.test")],
        )
        .await;
    assert_eq!(r.status, 404);
    srv.stop().await;
}

/// `GET /notifications/{id}/item`: one notification as the notifications page shows it
/// (the page's script fetches it when the stream announces one), only to its owner.
async fn one_notification_as_its_page_shows_it(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let bob = srv.user("bob").await;
    let alice = srv.user("alice").await;
    let post = srv.status(&alice, "a post bob will like", &[]).await;
    let post_id = post["id"].as_str().unwrap();
    srv.post(
        &format!("/api/v1/statuses/{post_id}/favourite"),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    let list = srv
        .get("/api/v1/notifications", Some(&alice.token))
        .await
        .ok();
    assert_eq!(list[0]["type"], "favourite", "{list}");
    let id = list[0]["id"].as_str().unwrap().to_string();

    let mut b = Browser::new(&srv);
    b.sign_in("alice", "password123").await;
    let page = b.get("/notifications").await;
    assert!(
        page.text.contains(&format!("id=\"n-{id}\"")),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("data-stream=\"user:notification\" data-resume=\"")
    );
    let item = b.get(&format!("/notifications/{id}/item")).await;
    assert_eq!(item.status, 200, "{}", item.text);
    assert!(!item.text.contains("<html"), "a fragment, not a page");
    assert!(
        item.text
            .trim_start()
            .starts_with(&format!("<div class=\"notification\" id=\"n-{id}\">")),
        "{}",
        item.text
    );
    assert!(item.text.contains("favourited your post"), "{}", item.text);
    assert!(item.text.contains("a post bob will like"), "{}", item.text);
    assert!(item.text.contains(">bob</a>"), "{}", item.text);
    // The same notification as the page renders it, bar where its forms return to.
    let start = page
        .text
        .find(&format!("<div class=\"notification\" id=\"n-{id}\">"))
        .unwrap();
    let on_page = &page.text[start..];
    let on_page = &on_page[..on_page.find("</div>").unwrap()];
    let fragment = item.text.trim_start();
    let fragment = &fragment[..fragment.find("</div>").unwrap()];
    assert_eq!(
        on_page.replace("value=\"/notifications\"", "value=\"HERE\""),
        fragment.replace(
            &format!("value=\"/notifications/{id}/item\""),
            "value=\"HERE\""
        )
    );

    // Someone else's notification is not there for bob; nor an unknown or bad id.
    let mut other = Browser::new(&srv);
    other.sign_in("bob", "password123").await;
    for path in [
        format!("/notifications/{id}/item"),
        "/notifications/99999999999/item".to_string(),
        "/notifications/nope/item".to_string(),
    ] {
        let r = other.get(&path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
    }
    // Signed out: to the sign-in page.
    let r = Browser::new(&srv)
        .get(&format!("/notifications/{id}/item"))
        .await;
    assert_eq!(r.status, 303);
    assert!(r.location.starts_with("/auth/sign_in"), "{}", r.location);
    srv.stop().await;
}

/// `GET /favicon.ico`: an icon, cached for long, for the signed-out and signed-in alike.
async fn the_site_icon(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let r = reqwest::get(format!("{}/favicon.ico", srv.url))
        .await
        .expect("request sent");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/x-icon");
    let cache = r.headers()["cache-control"].to_str().unwrap().to_string();
    let max_age: u64 = cache
        .split("max-age=")
        .nth(1)
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no max-age in {cache}"));
    assert!(max_age >= 7 * 86400, "{cache}");
    assert!(cache.contains("public"), "{cache}");
    let body = r.bytes().await.unwrap();
    // An ICO header (reserved 0, type 1 = icon, one image) with a PNG inside.
    assert_eq!(&body[..6], &[0, 0, 1, 0, 1, 0]);
    assert_eq!(&body[22..30], b"\x89PNG\r\n\x1a\n");
    srv.stop().await;
}
