//! Server-rendered pages and feeds: strict CSP, only our own script, escaped content,
//! RSS.

use crate::common::{Db, TestServer};

db_tests!(profile_and_status_pages, rss_feeds);

async fn profile_and_status_pages(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    srv.update_credentials(
        &alice.token,
        &[("display_name", "<img src=x onerror=alert(1)>")],
    )
    .await
    .ok();
    let public = srv
        .status(&alice, "hello <script>alert(1)</script> world", &[])
        .await;
    let private = srv
        .status(&alice, "followers only", &[("visibility", "private")])
        .await;
    let r = srv.get("/@alice", None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    // The only script is our own module, by URL: nothing inline, nothing posted.
    assert!(crate::common::only_our_script(&r.text), "{}", r.text);
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!r.text.contains("<img src=x"), "{}", r.text);
    assert!(r.text.contains("&lt;img src=x"));
    assert!(r.text.contains("hello &lt;script&gt;"));
    assert!(!r.text.contains("followers only"));
    let id = public["id"].as_str().unwrap();
    let r = srv.get(&format!("/@alice/{id}"), None).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("world"));
    assert!(r.headers.contains_key("content-security-policy"));
    srv.get(
        &format!("/@alice/{}", private["id"].as_str().unwrap()),
        None,
    )
    .await
    .expect(404);
    srv.get(&format!("/@bob/{id}"), None).await.expect(404);
    srv.get("/@nobody", None).await.expect(404);
    srv.stop().await;
}

async fn rss_feeds(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    srv.status(&alice, "first & #news", &[]).await;
    srv.status(&alice, "second", &[("visibility", "unlisted")])
        .await;
    let r = srv.get("/@alice.rss", None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/rss+xml")
    );
    assert!(r.text.starts_with("<?xml"));
    assert_eq!(r.text.matches("<item>").count(), 1, "{}", r.text);
    assert!(r.text.contains("first &amp;amp;"), "{}", r.text);
    let r = srv.get("/tags/news.rss", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text.matches("<item>").count(), 1);
    assert!(r.text.contains("<title>#news</title>"));
    srv.stop().await;
}
