//! Markdown posts (`content_type=text/markdown`, Pleroma's parameter): rendered through
//! the sanitizer with mentions, hashtags and links as in plain posts, raw HTML shown
//! as text; the format kept for the edit form and edits; advertised by the instance.

use reqwest::Method;
use serde_json::Value;

use crate::common::{Body, Db, TestServer, get_as2};

db_tests!(
    markdown_posts,
    markdown_notes_carry_their_source,
    scheduled_markdown_is_published_as_markdown
);

async fn edit(srv: &TestServer, token: &str, id: &str, form: &[(&str, &str)]) -> Value {
    srv.request(
        Method::PUT,
        &format!("/api/v1/statuses/{id}"),
        Some(token),
        Some(Body::Form(
            form.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )),
    )
    .await
    .ok()
}

async fn markdown_posts(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let text = "**bold** and _soft_ ~~gone~~\n\
                next line with [a link](https://example.com/page) and https://example.org/x\n\n\
                `code @bob #notag` <script>alert(1)</script> <b onclick=\"x()\">raw</b>\n\n\
                ```\nfn main() {}\n```\n\n\
                - hi @bob and #rust\n\
                - [evil](javascript:alert(1)) ![alt text](https://example.com/i.png)";
    let s = srv
        .status(&alice, text, &[("content_type", "text/markdown")])
        .await;
    let html = s["content"].as_str().unwrap();
    assert!(html.contains("<strong>bold</strong>"), "{html}");
    assert!(html.contains("<em>soft</em>"), "{html}");
    assert!(html.contains("<del>gone</del>"), "{html}");
    assert!(html.contains("<br"), "a single line break is kept: {html}");
    assert!(
        html.contains("<a href=\"https://example.com/page\"") && html.contains(">a link</a>"),
        "{html}"
    );
    // A bare URL is linked as in a plain post.
    assert!(html.contains("href=\"https://example.org/x\""), "{html}");
    assert!(html.contains("<code>code @bob #notag</code>"), "{html}");
    assert!(html.contains("<pre><code>fn main() {}"), "{html}");
    // Raw HTML is text, never markup.
    assert!(!html.contains("<script"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<b "), "{html}");
    assert!(html.contains("&lt;b onclick="), "{html}");
    assert!(!html.contains("javascript:"), "{html}");
    // An image is a link to it (no <img> in a post).
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains("href=\"https://example.com/i.png\""),
        "{html}"
    );
    assert!(html.contains("<ul>") && html.contains("<li>"), "{html}");
    // Mentions and hashtags outside code are resolved and linked; inside code not.
    let mentions: Vec<&str> = s["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(mentions, [bob.id.as_str()], "{s}");
    assert!(html.contains("class=\"u-url mention\""), "{html}");
    let tags: Vec<&str> = s["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["rust"], "{s}");
    assert!(html.contains("class=\"mention hashtag\""), "{html}");
    // bob is notified of the mention.
    let n = srv
        .get("/api/v1/notifications", Some(&bob.token))
        .await
        .ok();
    assert_eq!(n[0]["type"], "mention", "{n}");

    // The source keeps the format; an edit without one keeps it too.
    let id = s["id"].as_str().unwrap();
    let src = srv
        .get(&format!("/api/v1/statuses/{id}/source"), Some(&alice.token))
        .await
        .ok();
    assert_eq!(src["content_type"], "text/markdown");
    assert_eq!(src["text"], text);
    let e = edit(&srv, &alice.token, id, &[("status", "*still* markdown")]).await;
    assert!(
        e["content"].as_str().unwrap().contains("<em>still</em>"),
        "{e}"
    );
    // Changed to plain text: the asterisks stay.
    let e = edit(
        &srv,
        &alice.token,
        id,
        &[("status", "*plain* now"), ("content_type", "text/plain")],
    )
    .await;
    assert_eq!(e["content"], "<p>*plain* now</p>");
    let src = srv
        .get(&format!("/api/v1/statuses/{id}/source"), Some(&alice.token))
        .await
        .ok();
    assert_eq!(src["content_type"], "text/plain");

    // Plain text is the default; HTML is refused (422, nothing written).
    let plain = srv.status(&alice, "**not bold**", &[]).await;
    assert_eq!(plain["content"], "<p>**not bold**</p>");
    let before = srv.count("statuses").await;
    let r = srv
        .post(
            "/api/v1/statuses",
            Some(&alice.token),
            &[("status", "<b>x</b>"), ("content_type", "text/html")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("content_type"), "{}", r.text);
    assert_eq!(srv.count("statuses").await, before);
    // A JSON body works the same (Pleroma's clients send JSON).
    let j = srv
        .post_json(
            "/api/v1/statuses",
            Some(&alice.token),
            serde_json::json!({"status": "# Title\n\n1. one", "content_type": "text/markdown"}),
        )
        .await
        .ok();
    let html = j["content"].as_str().unwrap();
    assert!(
        html.contains("<h1>Title</h1>") && html.contains("<ol>"),
        "{html}"
    );

    // The instance says which formats work.
    let v2 = srv.get("/api/v2/instance", None).await.ok();
    assert_eq!(
        v2["configuration"]["statuses"]["supported_mime_types"],
        serde_json::json!(["text/plain", "text/markdown"])
    );
    let v1 = srv.get("/api/v1/instance", None).await.ok();
    assert_eq!(
        v1["configuration"]["statuses"]["supported_mime_types"],
        serde_json::json!(["text/plain", "text/markdown"])
    );
    srv.stop().await;
}

/// A Note made from Markdown carries the text as written (`source`, with its
/// `mediaType`, as Pleroma and Misskey publish it), also after an edit; a plain post's
/// Note has none, nor has a post edited to plain text.
async fn markdown_notes_carry_their_source(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let text = "**bold** [link](https://example.com/)";
    let s = srv
        .status(&alice, text, &[("content_type", "text/markdown")])
        .await;
    let uri = s["uri"].as_str().unwrap().to_string();
    let note = get_as2(&srv, &uri, None).await.ok();
    assert_eq!(note["source"]["content"], text, "{note}");
    assert_eq!(note["source"]["mediaType"], "text/markdown", "{note}");
    assert!(
        note["content"]
            .as_str()
            .unwrap()
            .contains("<strong>bold</strong>"),
        "{note}"
    );
    let id = s["id"].as_str().unwrap();
    edit(&srv, &alice.token, id, &[("status", "_edited_")]).await;
    let note = get_as2(&srv, &uri, None).await.ok();
    assert_eq!(note["source"]["content"], "_edited_", "{note}");
    assert_eq!(note["source"]["mediaType"], "text/markdown", "{note}");
    edit(
        &srv,
        &alice.token,
        id,
        &[("status", "_plain_"), ("content_type", "text/plain")],
    )
    .await;
    let note = get_as2(&srv, &uri, None).await.ok();
    assert!(note.get("source").is_none(), "{note}");
    let plain = srv.status(&alice, "**plain**", &[]).await;
    let note = get_as2(&srv, plain["uri"].as_str().unwrap(), None)
        .await
        .ok();
    assert!(note.get("source").is_none(), "{note}");
    srv.stop().await;
}

/// `content_type=text/markdown` with `scheduled_at`: the format is kept with the
/// scheduled post, which is published as Markdown (its Note with its source), and the
/// published post's source says so.
async fn scheduled_markdown_is_published_as_markdown(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let at = sluice_model::Timestamp(sluice_model::id::now_millis() + 3_600_000).to_rfc3339();
    let text = "**later** and _soon_";
    let r = srv
        .post(
            "/api/v1/statuses",
            Some(&alice.token),
            &[
                ("status", text),
                ("content_type", "text/markdown"),
                ("scheduled_at", &at),
            ],
        )
        .await
        .ok();
    assert_eq!(r["params"]["text"], text, "{r}");
    // And one plain, scheduled as well: it stays plain.
    srv.post(
        "/api/v1/statuses",
        Some(&alice.token),
        &[("status", "**plain later**"), ("scheduled_at", &at)],
    )
    .await
    .ok();
    let q = sluice_store::Query::new("UPDATE scheduled_statuses SET scheduled_at = 1000");
    srv.engine().store_for_tests().exec(q).await.unwrap();
    assert_eq!(srv.engine().publish_due_statuses().await.unwrap(), 2);
    let posts = srv
        .get(
            &format!("/api/v1/accounts/{}/statuses", alice.id),
            Some(&alice.token),
        )
        .await
        .ok();
    let posts = posts.as_array().unwrap();
    assert_eq!(posts.len(), 2, "{posts:?}");
    let md = posts
        .iter()
        .find(|p| p["content"].as_str().unwrap().contains("later</strong>"))
        .unwrap_or_else(|| panic!("the Markdown post, rendered: {posts:?}"));
    assert_eq!(
        md["content"].as_str().unwrap().trim_end(),
        "<p><strong>later</strong> and <em>soon</em></p>",
        "{md}"
    );
    let plain = posts.iter().find(|p| p["id"] != md["id"]).unwrap();
    assert_eq!(plain["content"], "<p>**plain later**</p>", "{plain}");
    let id = md["id"].as_str().unwrap();
    let src = srv
        .get(&format!("/api/v1/statuses/{id}/source"), Some(&alice.token))
        .await
        .ok();
    assert_eq!(src["content_type"], "text/markdown", "{src}");
    assert_eq!(src["text"], text, "{src}");
    let note = get_as2(&srv, md["uri"].as_str().unwrap(), None).await.ok();
    assert_eq!(note["source"]["mediaType"], "text/markdown", "{note}");
    srv.stop().await;
}
