//! The settings pages, spoken to as a browser does (`web::Browser`): every page needs
//! a signed-in browser, every change is a form with the page's token, and each is
//! checked where the rest of the server sees it (the Mastodon API, the database).

use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::common::{Db, TestServer, only_our_script};
use crate::media::png;
use crate::web::{Browser, Page};

db_tests!(
    settings_pages_need_a_signed_in_browser,
    settings_forms_need_the_pages_token,
    profile_changes_reach_the_api_as_one_update,
    images_upload_and_refused_ones_change_nothing,
    preferences_set_the_apis_source,
    password_change_checks_and_signs_out_others,
    filters_made_changed_and_deleted,
    blocks_mutes_and_domain_blocks,
    authorized_apps_are_revocable,
    sessions_are_listed_and_revocable,
);

/// Every settings page, with its heading.
const PAGES: [(&str, &str); 17] = [
    ("/settings", "Settings"),
    ("/settings/profile", "Profile"),
    ("/settings/preferences", "Preferences"),
    ("/settings/password", "Password"),
    ("/settings/two_factor", "Two-factor sign-in"),
    ("/settings/filters", "Filters"),
    ("/settings/filters/new", "New filter"),
    ("/settings/blocks", "Blocked accounts"),
    ("/settings/mutes", "Muted accounts"),
    ("/settings/domain_blocks", "Blocked domains"),
    ("/settings/applications", "Authorized apps"),
    ("/settings/sessions", "Sessions"),
    ("/settings/aliases", "Aliases"),
    ("/settings/migration", "Move account"),
    ("/settings/export", "Export"),
    ("/settings/import", "Import"),
    ("/settings/delete", "Delete account"),
];

/// A browser signed in as `name` (password `password123`).
async fn signed_in(srv: &TestServer, name: &str) -> Browser {
    let mut b = Browser::new(srv);
    let r = b.sign_in(name, "password123").await;
    assert_eq!(r.status, 303, "{}", r.text);
    b
}

/// The form of the profile page as a browser sends it, with `fields` replaced.
fn profile_form(token: &str, fields: &[(&str, &str)]) -> Form {
    let mut form = Form::new().text("authenticity_token", token.to_string());
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    form
}

fn file(bytes: Vec<u8>, name: &str, mime: &str) -> Part {
    Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str(mime)
        .unwrap()
}

/// An empty file input, as browsers send one left alone.
fn no_file() -> Part {
    file(Vec::new(), "", "application/octet-stream")
}

async fn me(srv: &TestServer, token: &str) -> Value {
    srv.get("/api/v1/accounts/verify_credentials", Some(token))
        .await
        .ok()
}

/// The actor `Update`s stored (each queued for the followers' servers).
async fn updates(srv: &TestServer) -> i64 {
    srv.count("activities WHERE kind = 'Update'").await
}

/// `s` as the pages' templates write a value into HTML (minijinja's escaping).
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

/// The page's streaming token (read-only, made with its session).
fn stream_token(page: &Page) -> String {
    let marker = "name=\"sluice-stream-token\" content=\"";
    let i = page.text.find(marker).expect("a stream token") + marker.len();
    page.text[i..].split('"').next().unwrap().to_string()
}

/// Whether a page has an inline event handler attribute (` onclick="…"`).
fn has_inline_handler(html: &str) -> bool {
    html.match_indices(" on").any(|(i, _)| {
        let rest = &html[i + 3..];
        let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
        !name.is_empty() && rest[name.len()..].starts_with("=\"")
    })
}

async fn settings_pages_need_a_signed_in_browser(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("alice").await;
    let mut visitor = Browser::new(&srv);
    for (path, _) in PAGES {
        let r = visitor.get(path).await;
        assert_eq!(r.status, 303, "{path}");
        let back = format!("/auth/sign_in?return_to={}", path.replace('/', "%2F"));
        assert_eq!(r.location, back, "{path}");
    }
    let mut b = signed_in(&srv, "alice").await;
    let home = b.get("/home").await;
    assert!(
        home.text.contains("<a href=\"/settings\">Settings</a>"),
        "the signed-in nav links to settings"
    );
    for (path, title) in PAGES {
        let r = b.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert!(
            r.text.contains(&format!("<h1>{title}</h1>")),
            "{path}: {}",
            r.text
        );
        assert!(!r.text.contains("style=\""), "{path}: no inline style");
        assert!(!has_inline_handler(&r.text), "{path}: no inline handlers");
        assert!(only_our_script(&r.text), "{path}");
        // Every control has a label: each input that is not hidden, a checkbox or a
        // radio (labelled by wrapping) has an id a label points at.
        for input in r
            .text
            .split("<input ")
            .skip(1)
            .chain(r.text.split("<select ").skip(1))
            .chain(r.text.split("<textarea ").skip(1))
        {
            let tag = input.split('>').next().unwrap();
            if tag.contains("type=\"hidden\"")
                || tag.contains("type=\"checkbox\"")
                || tag.contains("type=\"radio\"")
                || tag.contains("aria-hidden=\"true\"")
            {
                continue;
            }
            let id = tag
                .split("id=\"")
                .nth(1)
                .unwrap_or_else(|| panic!("{path}: a control without an id: {tag}"))
                .split('"')
                .next()
                .unwrap();
            assert!(
                r.text.contains(&format!("<label for=\"{id}\"")),
                "{path}: no label for {id}"
            );
        }
    }
    // The settings navigation marks the page shown.
    let r = b.get("/settings/filters/new").await;
    assert!(
        r.text.contains(&format!(
            "<a href=\"{}\" aria-current=\"page\">",
            esc("/settings/filters")
        )),
        "{}",
        r.text
    );
    // Another person's filter, or no filter, is not found.
    assert_eq!(b.get("/settings/filters/12345").await.status, 404);
    assert_eq!(b.get("/settings/filters/nope").await.status, 404);
    srv.stop().await;
}

async fn settings_forms_need_the_pages_token(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let mut b = signed_in(&srv, "alice").await;
    let before = me(&srv, &alice.token).await;
    let (updates_before, filters_before) = (updates(&srv).await, srv.count("filters").await);
    let posts: [(&str, Vec<(&str, &str)>); 6] = [
        (
            "/settings/preferences",
            vec![("default_visibility", "private")],
        ),
        (
            "/settings/password",
            vec![
                ("current_password", "password123"),
                ("password", "a new password"),
                ("password_confirmation", "a new password"),
            ],
        ),
        (
            "/settings/filters",
            vec![
                ("title", "x"),
                ("context[]", "home"),
                ("filter_action", "warn"),
            ],
        ),
        ("/settings/domain_blocks", vec![("domain", "spam.example")]),
        ("/settings/applications/1/revoke", vec![]),
        ("/settings/sessions/1/revoke", vec![]),
    ];
    for (path, form) in &posts {
        let r = b.post(path, form).await;
        assert_eq!(r.status, 403, "{path}: {}", r.text);
        let mut wrong = form.clone();
        wrong.push(("authenticity_token", "not the token"));
        assert_eq!(b.post(path, &wrong).await.status, 403, "{path}");
    }
    let r = b
        .multipart(
            "/settings/profile",
            Form::new().text("display_name", "Forged"),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // Signed out, a form goes to sign in and changes nothing.
    let mut visitor = Browser::new(&srv);
    let token = visitor.get("/auth/sign_in").await.token();
    let r = visitor
        .post(
            "/settings/domain_blocks",
            &[("authenticity_token", &token), ("domain", "spam.example")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(r.location.starts_with("/auth/sign_in"), "{}", r.location);

    let after = me(&srv, &alice.token).await;
    assert_eq!(after["display_name"], before["display_name"]);
    assert_eq!(after["source"], before["source"]);
    assert_eq!(updates(&srv).await, updates_before);
    assert_eq!(srv.count("filters").await, filters_before);
    assert_eq!(srv.count("account_domain_blocks").await, 0);
    assert_eq!(
        b.get("/settings/sessions").await.status,
        200,
        "still signed in"
    );
    assert_eq!(
        Browser::new(&srv)
            .sign_in("alice", "password123")
            .await
            .status,
        303,
        "the password stands"
    );
    srv.stop().await;
}

async fn profile_changes_reach_the_api_as_one_update(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let mut b = signed_in(&srv, "alice").await;
    let page = b.get("/settings/profile").await;
    assert!(page.text.contains("enctype=\"multipart/form-data\""));
    let before = updates(&srv).await;
    let form = profile_form(
        &page.token(),
        &[
            ("display_name", "Alice in Settings"),
            ("note", "Reads #rust at night"),
            ("fields_attributes[0][name]", "Pronouns"),
            ("fields_attributes[0][value]", "she/her"),
            ("fields_attributes[1][name]", ""),
            ("fields_attributes[1][value]", ""),
            ("fields_attributes[2][name]", "Site"),
            ("fields_attributes[2][value]", "https://alice.example"),
            ("fields_attributes[3][name]", ""),
            ("fields_attributes[3][value]", ""),
            ("locked", "1"),
            ("bot", "1"),
        ],
    )
    .part("avatar", no_file())
    .part("header", no_file());
    let r = b.multipart("/settings/profile", form).await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/settings/profile?saved=1"),
        "{}",
        r.text
    );
    let a = me(&srv, &alice.token).await;
    assert_eq!(a["display_name"], "Alice in Settings");
    assert!(a["note"].as_str().unwrap().contains("tags/rust"), "{a}");
    assert_eq!(a["source"]["note"], "Reads #rust at night");
    assert_eq!(a["locked"], true);
    assert_eq!(a["bot"], true);
    assert_eq!(a["discoverable"], false, "an unticked box is off");
    let fields = a["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 2, "blank rows are dropped: {a}");
    assert_eq!(fields[0]["name"], "Pronouns");
    assert_eq!(fields[1]["name"], "Site");
    assert_eq!(updates(&srv).await, before + 1, "one Update for one change");
    // The page shows what was saved, and says so.
    let page = b.get("/settings/profile?saved=1").await;
    assert!(page.text.contains("role=\"status\""), "{}", page.text);
    assert!(page.text.contains("value=\"Alice in Settings\""));
    assert!(page.text.contains(">Reads #rust at night</textarea>"));
    assert!(page.text.contains(&format!("value=\"{}\"", esc("she/her"))));
    assert!(page.text.contains("name=\"locked\" value=\"1\" checked"));
    let profile = b.get("/@alice").await;
    assert!(profile.text.contains("Alice in Settings"));
    assert!(profile.text.contains("approves followers"));

    // A refused change (a name too long) is shown on the form, as typed; nothing is
    // written.
    let long = "n".repeat(31);
    let form = profile_form(
        &page.token(),
        &[("display_name", &long), ("note", "changed too")],
    );
    let r = b.multipart("/settings/profile", form).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("Display name is too long"), "{}", r.text);
    assert!(
        r.text.contains(&format!("value=\"{long}\"")),
        "kept as typed"
    );
    assert!(r.text.contains(">changed too</textarea>"));
    let a = me(&srv, &alice.token).await;
    assert_eq!(a["display_name"], "Alice in Settings");
    assert_eq!(a["source"]["note"], "Reads #rust at night");
    assert_eq!(updates(&srv).await, before + 1);
    srv.stop().await;
}

async fn images_upload_and_refused_ones_change_nothing(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let mut b = signed_in(&srv, "alice").await;
    let token = b.get("/settings/profile").await.token();
    let default_avatar = me(&srv, &alice.token).await["avatar"]
        .as_str()
        .unwrap()
        .to_string();
    let form = profile_form(&token, &[("display_name", "Alice")])
        .part("avatar", file(png(8, 8, 1), "me.png", "image/png"))
        .part("header", no_file());
    let r = b.multipart("/settings/profile", form).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let a = me(&srv, &alice.token).await;
    let avatar = a["avatar"].as_str().unwrap().to_string();
    assert_ne!(avatar, default_avatar);
    assert!(
        avatar.starts_with(&format!("{}/media/", srv.url)),
        "{avatar}"
    );
    let profile = b.get("/@alice").await;
    assert!(
        profile.text.contains(&format!("src=\"{}\"", esc(&avatar))),
        "the profile shows the new avatar"
    );
    let settings = b.get("/settings/profile").await;
    assert!(settings.text.contains(&format!("src=\"{}\"", esc(&avatar))));
    let got = reqwest::get(&avatar).await.unwrap();
    assert_eq!(got.status(), 200);
    let updates_before = updates(&srv).await;

    // Not an image: refused, with the reason on the form; the profile is as it was.
    for (avatar_part, header_part) in [
        (
            file(b"just some text".to_vec(), "me.png", "image/png"),
            no_file(),
        ),
        // An accepted avatar with a refused header: neither is kept.
        (
            file(png(8, 8, 2), "me.png", "image/png"),
            file(b"<svg><script/></svg>".to_vec(), "x.png", "image/png"),
        ),
    ] {
        let form = profile_form(&token, &[("display_name", "Renamed")])
            .part("avatar", avatar_part)
            .part("header", header_part);
        let r = b.multipart("/settings/profile", form).await;
        assert_eq!(r.status, 422, "{}", r.text);
        assert!(r.text.contains("role=\"alert\""), "{}", r.text);
        assert!(r.text.contains("value=\"Renamed\""), "kept as typed");
        let a = me(&srv, &alice.token).await;
        assert_eq!(a["avatar"], avatar.as_str());
        assert_eq!(a["display_name"], "Alice");
        assert_eq!(updates(&srv).await, updates_before);
    }
    let files = std::fs::read_dir(srv.config.media_dir())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .count();
    assert_eq!(files, 1, "only the avatar kept is on disk");

    // Removing the avatar goes back to the default.
    let form = profile_form(&token, &[("display_name", "Alice"), ("remove_avatar", "1")]);
    assert_eq!(b.multipart("/settings/profile", form).await.status, 303);
    assert_eq!(
        me(&srv, &alice.token).await["avatar"],
        default_avatar.as_str()
    );
    srv.stop().await;
}

async fn preferences_set_the_apis_source(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let mut b = signed_in(&srv, "alice").await;
    let page = b.get("/settings/preferences").await;
    assert!(
        page.text.contains("<option value=\"public\" selected>"),
        "{}",
        page.text
    );
    let token = page.token();
    let r = b
        .post(
            "/settings/preferences",
            &[
                ("authenticity_token", &token),
                ("default_visibility", "private"),
                ("default_sensitive", "1"),
                ("default_quote_policy", "followers"),
            ],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/settings/preferences?saved=1")
    );
    let source = &me(&srv, &alice.token).await["source"];
    assert_eq!(source["privacy"], "private");
    assert_eq!(source["sensitive"], true);
    assert_eq!(source["quote_policy"], "followers");
    let page = b.get("/settings/preferences").await;
    assert!(page.text.contains("<option value=\"private\" selected>"));
    assert!(page.text.contains("<option value=\"followers\" selected>"));
    assert!(
        page.text
            .contains("name=\"default_sensitive\" value=\"1\" checked")
    );
    // A post from a page uses the new default.
    b.post(
        "/statuses",
        &[("authenticity_token", &token), ("status", "quietly")],
    )
    .await;
    let posts = srv
        .get(
            &format!("/api/v1/accounts/{}/statuses", alice.id),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(posts[0]["visibility"], "private", "{posts}");

    let r = b
        .post(
            "/settings/preferences",
            &[
                ("authenticity_token", &token),
                ("default_visibility", "everyone"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = b
        .post(
            "/settings/preferences",
            &[
                ("authenticity_token", &token),
                ("default_visibility", "public"),
                ("default_quote_policy", "anyone-at-all"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        me(&srv, &alice.token).await["source"]["quote_policy"],
        "followers",
        "nothing changed"
    );
    assert!(r.text.contains("role=\"alert\""), "{}", r.text);
    let source = &me(&srv, &alice.token).await["source"];
    assert_eq!(source["privacy"], "private", "nothing changed");
    assert_eq!(source["sensitive"], true, "nothing changed");

    // Unticked, the box turns the default off.
    b.post(
        "/settings/preferences",
        &[
            ("authenticity_token", &token),
            ("default_visibility", "unlisted"),
        ],
    )
    .await;
    let source = &me(&srv, &alice.token).await["source"];
    assert_eq!(source["privacy"], "unlisted");
    assert_eq!(source["sensitive"], false);
    srv.stop().await;
}

async fn password_change_checks_and_signs_out_others(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let mut b = signed_in(&srv, "alice").await;
    let mut other = signed_in(&srv, "alice").await;
    let token = b.get("/settings/password").await.token();
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        vec![
            ("current_password", current),
            ("password", new),
            ("password_confirmation", again),
        ]
    };
    let post = async |b: &mut Browser, mut form: Vec<(&str, &str)>| {
        form.push(("authenticity_token", &token));
        b.post("/settings/password", &form).await
    };

    let r = post(
        &mut b,
        change("wrong password", "a new password", "a new password"),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.text.contains("current password is not right"),
        "{}",
        r.text
    );
    let r = post(
        &mut b,
        change("password123", "a new password", "another one"),
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("confirmation differ"), "{}", r.text);
    let r = post(&mut b, change("password123", "short", "short")).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("between 8 and"), "{}", r.text);
    // Nothing changed: everyone is still signed in, the old password works.
    assert_eq!(other.get("/home").await.status, 200);
    me(&srv, &alice.token).await;
    assert_eq!(
        Browser::new(&srv)
            .sign_in("alice", "password123")
            .await
            .status,
        303
    );

    let r = post(
        &mut b,
        change("password123", "a new password", "a new password"),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/settings/password?saved=1"),
        "{}",
        r.text
    );
    // This browser stays, with its stream token; the others and the apps are out.
    let page = b.get("/settings/password?saved=1").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Your password was changed"));
    me(&srv, &stream_token(&page)).await;
    assert_eq!(
        other.get("/home").await.status,
        303,
        "the other browser is signed out"
    );
    srv.get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .expect(401);
    let alice_id = alice.id.parse().unwrap();
    assert_eq!(srv.engine().web_sessions(alice_id).await.unwrap().len(), 1);
    assert_eq!(
        Browser::new(&srv)
            .sign_in("alice", "password123")
            .await
            .status,
        401
    );
    assert_eq!(
        Browser::new(&srv)
            .sign_in("alice", "a new password")
            .await
            .status,
        303
    );

    // Wrong current passwords count as failed sign-ins: after the free ones, a client
    // the account has never seen is refused without its guess being checked, even
    // the right one, as signing in is.
    let stranger = sluice_engine::sign_in::SignInClient {
        ip: "203.0.113.9".into(),
        device: None,
    };
    for _ in 0..sluice_engine::sign_in::FREE_FAILURES {
        let e = srv
            .engine()
            .change_password(alice_id, "a guess", "password123", &stranger, None)
            .await
            .unwrap_err();
        assert!(matches!(e, sluice_engine::EngineError::Invalid(_)), "{e:?}");
    }
    let e = srv
        .engine()
        .change_password(alice_id, "a new password", "password123", &stranger, None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, sluice_engine::EngineError::TooManyAttempts { .. }),
        "{e:?}"
    );
    // The owner's browser (a known client) is never kept waiting.
    let r = post(
        &mut b,
        change("a new password", "a third password", "a third password"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    srv.stop().await;
}

async fn filters_made_changed_and_deleted(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let mut b = signed_in(&srv, "alice").await;
    let form = b.get("/settings/filters/new").await;
    assert!(form.text.contains("name=\"keywords[0][keyword]\""));
    let token = form.token();
    let r = b
        .post(
            "/settings/filters",
            &[
                ("authenticity_token", &token),
                ("title", "Spoilers"),
                ("context[]", "home"),
                ("context[]", "public"),
                ("filter_action", "hide"),
                ("expires_in", "86400"),
                ("keywords[0][keyword]", "finale"),
                ("keywords[0][whole_word]", "1"),
                ("keywords[1][keyword]", "season 3"),
                ("keywords[2][keyword]", ""),
                ("keywords[2][whole_word]", "1"),
            ],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/settings/filters?saved=1"),
        "{}",
        r.text
    );
    let filters = srv.get("/api/v2/filters", Some(&alice.token)).await.ok();
    assert_eq!(filters.as_array().unwrap().len(), 1, "{filters}");
    let f = &filters[0];
    assert_eq!(f["title"], "Spoilers");
    assert_eq!(f["context"], serde_json::json!(["home", "public"]));
    assert_eq!(f["filter_action"], "hide");
    assert!(f["expires_at"].is_string());
    let keywords = f["keywords"].as_array().unwrap();
    assert_eq!(keywords.len(), 2, "the blank row adds nothing: {f}");
    let finale = keywords.iter().find(|k| k["keyword"] == "finale").unwrap();
    assert_eq!(finale["whole_word"], true);
    let season = keywords
        .iter()
        .find(|k| k["keyword"] == "season 3")
        .unwrap();
    assert_eq!(season["whole_word"], false);
    let id = f["id"].as_str().unwrap().to_string();
    let list = b.get("/settings/filters").await;
    assert!(list.text.contains("Spoilers") && list.text.contains("finale"));

    // Refused: no context. The form comes back as typed; nothing is written.
    let r = b
        .post(
            "/settings/filters",
            &[
                ("authenticity_token", &token),
                ("title", "Nowhere"),
                ("filter_action", "warn"),
                ("keywords[0][keyword]", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.text.contains(&esc("Context can't be blank")),
        "{}",
        r.text
    );
    assert!(r.text.contains("value=\"Nowhere\""));
    assert_eq!(srv.count("filters").await, 1);
    assert_eq!(srv.count("filter_keywords").await, 2);

    // Edit: a new title, one keyword removed, one added, the expiry kept.
    let edit = b.get(&format!("/settings/filters/{id}")).await;
    assert_eq!(edit.status, 200);
    assert!(edit.text.contains("value=\"finale\""));
    let (k0, k1) = (
        keywords[0]["id"].as_str().unwrap(),
        keywords[1]["id"].as_str().unwrap(),
    );
    let (finale_id, season_id) = if keywords[0]["keyword"] == "finale" {
        (k0, k1)
    } else {
        (k1, k0)
    };
    let r = b
        .post(
            &format!("/settings/filters/{id}"),
            &[
                ("authenticity_token", &token),
                ("title", "TV spoilers"),
                ("context[]", "home"),
                ("filter_action", "warn"),
                ("expires_in", "keep"),
                ("keywords[0][id]", finale_id),
                ("keywords[0][keyword]", "finale"),
                ("keywords[0][whole_word]", "1"),
                ("keywords[1][id]", season_id),
                ("keywords[1][keyword]", "season 3"),
                ("keywords[1][destroy]", "1"),
                ("keywords[2][keyword]", "cliffhanger"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let f = srv
        .get(&format!("/api/v2/filters/{id}"), Some(&alice.token))
        .await
        .ok();
    assert_eq!(f["title"], "TV spoilers");
    assert_eq!(f["context"], serde_json::json!(["home"]));
    assert_eq!(f["filter_action"], "warn");
    assert!(f["expires_at"].is_string(), "kept: {f}");
    let mut words: Vec<_> = f["keywords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keyword"].as_str().unwrap().to_string())
        .collect();
    words.sort();
    assert_eq!(words, ["cliffhanger", "finale"]);

    // A refused edit changes nothing (a title too long, with a keyword to add).
    let long = "t".repeat(300);
    let r = b
        .post(
            &format!("/settings/filters/{id}"),
            &[
                ("authenticity_token", &token),
                ("title", &long),
                ("context[]", "home"),
                ("filter_action", "warn"),
                ("expires_in", "keep"),
                ("keywords[0][keyword]", "more"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(srv.count("filter_keywords").await, 2);

    let r = b
        .post(
            &format!("/settings/filters/{id}/delete"),
            &[("authenticity_token", &token)],
        )
        .await;
    assert_eq!(r.status, 303);
    let filters = srv.get("/api/v2/filters", Some(&alice.token)).await.ok();
    assert_eq!(filters, serde_json::json!([]));
    let r = b
        .post(
            &format!("/settings/filters/{id}/delete"),
            &[("authenticity_token", &token)],
        )
        .await;
    assert_eq!(r.status, 404);
    srv.stop().await;
}

async fn blocks_mutes_and_domain_blocks(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    srv.post(
        &format!("/api/v1/accounts/{}/block", bob.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    srv.post(
        &format!("/api/v1/accounts/{}/mute", carol.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    let mut b = signed_in(&srv, "alice").await;
    let blocks = b.get("/settings/blocks").await;
    assert!(blocks.text.contains("@bob"), "{}", blocks.text);
    assert!(!blocks.text.contains("@carol"));
    let unblock = format!("action=\"/accounts/{}/unblock\"", bob.id);
    assert!(blocks.text.contains(&unblock), "{}", blocks.text);
    let r = b
        .post(
            &format!("/accounts/{}/unblock", bob.id),
            &[
                ("authenticity_token", &blocks.token()),
                ("return_to", "/settings/blocks"),
            ],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/settings/blocks")
    );
    let api = srv.get("/api/v1/blocks", Some(&alice.token)).await.ok();
    assert_eq!(api, serde_json::json!([]));
    assert!(!b.get("/settings/blocks").await.text.contains("@bob"));

    let mutes = b.get("/settings/mutes").await;
    assert!(mutes.text.contains("@carol"), "{}", mutes.text);
    let r = b
        .post(
            &format!("/accounts/{}/unmute", carol.id),
            &[
                ("authenticity_token", &mutes.token()),
                ("return_to", "/settings/mutes"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let api = srv.get("/api/v1/mutes", Some(&alice.token)).await.ok();
    assert_eq!(api, serde_json::json!([]));

    // Domains: added, listed, refused when not a domain, removed.
    let page = b.get("/settings/domain_blocks").await;
    let token = page.token();
    let r = b
        .post(
            "/settings/domain_blocks",
            &[("authenticity_token", &token), ("domain", "Spam.Example")],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/settings/domain_blocks?saved=1")
    );
    let api = srv
        .get("/api/v1/domain_blocks", Some(&alice.token))
        .await
        .ok();
    assert_eq!(api, serde_json::json!(["spam.example"]));
    let page = b.get("/settings/domain_blocks").await;
    assert!(page.text.contains("<li>spam.example"), "{}", page.text);
    for bad in ["", "not a domain!"] {
        let r = b
            .post(
                "/settings/domain_blocks",
                &[("authenticity_token", &token), ("domain", bad)],
            )
            .await;
        assert_eq!(r.status, 422, "{bad:?}: {}", r.text);
        assert!(r.text.contains("role=\"alert\""));
        assert!(
            r.text.contains("<li>spam.example"),
            "the list is still shown"
        );
    }
    assert_eq!(srv.count("account_domain_blocks").await, 1);
    let r = b
        .post(
            "/settings/domain_blocks/remove",
            &[("authenticity_token", &token), ("domain", "spam.example")],
        )
        .await;
    assert_eq!(r.status, 303);
    let api = srv
        .get("/api/v1/domain_blocks", Some(&alice.token))
        .await
        .ok();
    assert_eq!(api, serde_json::json!([]));
    srv.stop().await;
}

async fn authorized_apps_are_revocable(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let mut b = signed_in(&srv, "alice").await;
    let page = b.get("/settings/applications").await;
    // The app that has alice's token is listed once; bob's app and the web session's
    // own stream token (no app) are not.
    assert_eq!(
        page.text.matches("class=\"box app\"").count(),
        1,
        "{}",
        page.text
    );
    assert!(page.text.contains("test app"));
    assert!(
        page.text.contains("read write follow push"),
        "{}",
        page.text
    );
    let marker = "action=\"/settings/applications/";
    let i = page.text.find(marker).unwrap() + marker.len();
    let app_id = page.text[i..].split('/').next().unwrap().to_string();

    // Someone else's app (or none) is not found, and nothing is revoked.
    let r = b
        .post(
            "/settings/applications/999/revoke",
            &[("authenticity_token", &page.token())],
        )
        .await;
    assert_eq!(r.status, 404);
    me(&srv, &alice.token).await;

    let r = b
        .post(
            &format!("/settings/applications/{app_id}/revoke"),
            &[("authenticity_token", &page.token())],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/settings/applications?saved=1")
    );
    srv.get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .expect(401);
    me(&srv, &bob.token).await;
    let page = b.get("/settings/applications").await;
    assert_eq!(page.status, 200, "the browser is still signed in");
    assert_eq!(page.text.matches("class=\"box app\"").count(), 0);
    // The page's stream token still works: it was never an app's.
    me(&srv, &stream_token(&page)).await;
    srv.stop().await;
}

/// The sessions page's sessions: (id, whether it is this browser's).
fn sessions_of(page: &Page) -> Vec<(String, bool)> {
    page.text
        .split("<section class=\"box session\"")
        .skip(1)
        .map(|s| {
            let marker = "action=\"/settings/sessions/";
            let i = s.find(marker).unwrap() + marker.len();
            (
                s[i..].split('/').next().unwrap().to_string(),
                s.contains("(this browser)"),
            )
        })
        .collect()
}

async fn sessions_are_listed_and_revocable(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("alice").await;
    srv.user("bob").await;
    let mut b = signed_in(&srv, "alice").await;
    let mut other = signed_in(&srv, "alice").await;
    let mut bobs = signed_in(&srv, "bob").await;
    let page = b.get("/settings/sessions").await;
    let sessions = sessions_of(&page);
    assert_eq!(sessions.len(), 2, "{}", page.text);
    assert_eq!(sessions.iter().filter(|(_, me)| *me).count(), 1);
    assert!(page.text.contains("127.0.0.1"), "{}", page.text);
    let token = page.token();
    let theirs = sessions.iter().find(|(_, me)| !*me).unwrap().0.clone();
    let mine = sessions.iter().find(|(_, me)| *me).unwrap().0.clone();

    // Bob cannot end alice's sessions.
    let bob_token = bobs.get("/settings/sessions").await.token();
    let r = bobs
        .post(
            &format!("/settings/sessions/{theirs}/revoke"),
            &[("authenticity_token", &bob_token)],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(other.get("/home").await.status, 200);

    let r = b
        .post(
            &format!("/settings/sessions/{theirs}/revoke"),
            &[("authenticity_token", &token)],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.location.as_str()),
        (303, "/settings/sessions?saved=1")
    );
    assert_eq!(other.get("/home").await.status, 303, "that browser is out");
    let page = b.get("/settings/sessions?saved=1").await;
    assert_eq!(sessions_of(&page), vec![(mine.clone(), true)]);

    // Ending this browser's own session signs it out.
    let r = b
        .post(
            &format!("/settings/sessions/{mine}/revoke"),
            &[("authenticity_token", &token)],
        )
        .await;
    assert_eq!((r.status.as_u16(), r.location.as_str()), (303, "/"));
    assert!(!b.jar.contains_key("sluice_session"));
    assert_eq!(b.get("/settings/sessions").await.status, 303);
    assert_eq!(bobs.get("/home").await.status, 200, "bob is untouched");
    srv.stop().await;
}
