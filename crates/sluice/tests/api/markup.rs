//! Local text that ends up in HTML (issue 13, item 3): profile fields, display names,
//! bios, list titles, filter phrases, alt text, app names. Text Mastodon keeps plain
//! (names, titles, phrases, alt text) comes back as typed in the API, where clients
//! escape it, and is escaped in every HTML output of ours (pages, feeds); HTML fields
//! (a bio, a profile field's value) are made from escaped text, links made clickable,
//! in the API entity, the actor document and the pages alike.

use reqwest::Method;
use serde_json::Value;

use crate::common::{Body, Db, TestServer, User, get_as2};

db_tests!(
    profile_field_values,
    display_names_and_field_names,
    bios,
    list_titles_and_filter_phrases,
    alt_text,
    app_names
);

const MARKUP: &str = "<img src=x onerror=alert(1)>";
const ESCAPED: &str = "&lt;img src=x onerror=alert(1)&gt;";

/// The page, the actor document and the RSS feed of `alice`.
async fn outputs(srv: &TestServer) -> (String, Value, String) {
    let page = srv.get("/@alice", None).await;
    assert_eq!(page.status, 200);
    let actor = get_as2(srv, &format!("{}/users/alice", srv.url), None)
        .await
        .ok();
    let rss = srv.get("/@alice.rss", None).await;
    assert_eq!(rss.status, 200);
    (page.text, actor, rss.text)
}

/// A server whose user `alice` changed her profile with `form`: the server, alice and
/// the account `update_credentials` answered.
async fn alice_with(db: Db, form: &[(&str, &str)]) -> Option<(TestServer, User, Value)> {
    let srv = TestServer::start(db, |_| {}).await?;
    let alice = srv.user("alice").await;
    let me = srv.update_credentials(&alice.token, form).await.ok();
    Some((srv, alice, me))
}

/// `html` shows `MARKUP` as text and never as markup.
#[track_caller]
fn shown_as_text(what: &str, html: &str) {
    assert!(!html.contains("<img src=x"), "{what}: {html}");
    assert!(html.contains(ESCAPED), "{what}: {html}");
}

async fn profile_field_values(db: Db) {
    let typed = format!("{MARKUP} see https://example.com/me");
    let form = [
        ("fields_attributes[0][name]", "Site"),
        ("fields_attributes[0][value]", typed.as_str()),
    ];
    let Some((srv, alice, me)) = alice_with(db, &form).await else {
        return;
    };
    let link = "<a href=\"https://example.com/me\"";
    let value = me["fields"][0]["value"].as_str().unwrap().to_string();
    shown_as_text("the API's field value", &value);
    assert!(value.contains(link), "{value}");
    // What the owner typed stays theirs to edit.
    assert_eq!(me["source"]["fields"][0]["value"], typed.as_str());
    let seen = srv
        .get(&format!("/api/v1/accounts/{}", alice.id), None)
        .await
        .ok();
    assert_eq!(seen["fields"][0]["value"], value.as_str());
    let (page, actor, _) = outputs(&srv).await;
    let property = &actor["attachment"][0];
    assert_eq!(property["type"], "PropertyValue");
    assert_eq!(property["name"], "Site");
    assert_eq!(property["value"], value.as_str());
    shown_as_text("the profile page", &page);
    assert!(page.contains(link), "{page}");
    srv.stop().await;
}

async fn display_names_and_field_names(db: Db) {
    let form = [
        ("display_name", MARKUP),
        ("fields_attributes[0][name]", MARKUP),
        ("fields_attributes[0][value]", "x"),
    ];
    let Some((srv, alice, me)) = alice_with(db, &form).await else {
        return;
    };
    // Plain text in the API and in the actor document, as Mastodon sends them.
    assert_eq!(me["display_name"], MARKUP);
    assert_eq!(me["fields"][0]["name"], MARKUP);
    let status = srv.status(&alice, "hello", &[]).await;
    let (page, actor, rss) = outputs(&srv).await;
    assert_eq!(actor["name"], MARKUP);
    assert_eq!(actor["attachment"][0]["name"], MARKUP);
    shown_as_text("the profile page", &page);
    shown_as_text("the feed", &rss);
    let post = srv
        .get(&format!("/@alice/{}", status["id"].as_str().unwrap()), None)
        .await;
    shown_as_text("the post's page", &post.text);
    srv.stop().await;
}

async fn bios(db: Db) {
    let bio = format!("{MARKUP} <script>alert(2)</script>");
    let Some((srv, _, me)) = alice_with(db, &[("note", &bio)]).await else {
        return;
    };
    let note = me["note"].as_str().unwrap().to_string();
    shown_as_text("the API's note", &note);
    assert!(!note.contains("<script"), "{note}");
    let (page, actor, rss) = outputs(&srv).await;
    assert_eq!(actor["summary"], note.as_str());
    shown_as_text("the profile page", &page);
    assert!(crate::common::only_our_script(&page), "{page}");
    assert!(!rss.contains("<script"), "{rss}");
    srv.stop().await;
}

async fn list_titles_and_filter_phrases(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let list = srv
        .post("/api/v1/lists", Some(&alice.token), &[("title", MARKUP)])
        .await
        .ok();
    assert_eq!(list["title"], MARKUP);
    let v1 = srv
        .post(
            "/api/v1/filters",
            Some(&alice.token),
            &[("phrase", MARKUP), ("context[]", "home")],
        )
        .await
        .ok();
    assert_eq!(v1["phrase"], MARKUP);
    let v2 = srv
        .post(
            "/api/v2/filters",
            Some(&alice.token),
            &[
                ("title", MARKUP),
                ("context[]", "home"),
                ("keywords_attributes[][keyword]", MARKUP),
            ],
        )
        .await
        .ok();
    assert_eq!(v2["title"], MARKUP);
    assert_eq!(v2["keywords"][0]["keyword"], MARKUP);
    // Private to their owner: no page or document of ours shows them.
    let (page, actor, rss) = outputs(&srv).await;
    for out in [page, actor.to_string(), rss] {
        assert!(!out.contains("onerror"), "{out}");
    }
    srv.stop().await;
}

async fn alt_text(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let media = crate::media::upload_png(&srv, &alice, 1).await;
    let id = media["id"].as_str().unwrap();
    let described = srv
        .request(
            Method::PUT,
            &format!("/api/v1/media/{id}"),
            Some(&alice.token),
            Some(Body::Form(vec![("description".into(), MARKUP.into())])),
        )
        .await
        .ok();
    assert_eq!(described["description"], MARKUP);
    let status = srv
        .status(&alice, "a picture", &[("media_ids[]", id)])
        .await;
    assert_eq!(status["media_attachments"][0]["description"], MARKUP);
    // The object's attachment `name` is plain text too (AS2 `name`).
    let note = get_as2(&srv, status["uri"].as_str().unwrap(), None)
        .await
        .ok();
    assert_eq!(note["attachment"][0]["name"], MARKUP);
    let page = srv
        .get(&format!("/@alice/{}", status["id"].as_str().unwrap()), None)
        .await;
    assert!(!page.text.contains("<img src=x"), "{}", page.text);
    let (page, _, rss) = outputs(&srv).await;
    assert!(!page.contains("<img src=x") && !rss.contains("<img src=x"));
    srv.stop().await;
}

async fn app_names(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("alice").await;
    let app = srv
        .post(
            "/api/v1/apps",
            None,
            &[
                ("client_name", MARKUP),
                ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
                ("scopes", "read write"),
            ],
        )
        .await
        .ok();
    assert_eq!(app["name"], MARKUP);
    let client_id = app["client_id"].as_str().unwrap();
    let page = srv
        .get(
            &format!("/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri=urn:ietf:wg:oauth:2.0:oob&scope=read"),
            None,
        )
        .await;
    assert_eq!(page.status, 200);
    shown_as_text("the authorize page", &page.text);
    // A post made with the app names it as plain text.
    let token = srv
        .post(
            "/oauth/token",
            None,
            &[
                ("grant_type", "password"),
                ("client_id", client_id),
                ("client_secret", app["client_secret"].as_str().unwrap()),
                ("username", "alice"),
                ("password", "password123"),
                ("scope", "read write"),
            ],
        )
        .await
        .ok()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let alice = User {
        id: String::new(),
        token,
    };
    let status = srv.status(&alice, "from the app", &[]).await;
    assert_eq!(status["application"]["name"], MARKUP);
    srv.stop().await;
}
