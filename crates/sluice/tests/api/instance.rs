//! Instance metadata, NodeInfo, OAuth server metadata and CORS.

use crate::common::{Db, TestServer};

db_tests!(
    instance_v1_and_v2_shapes,
    nodeinfo_documents,
    cors_like_mastodon
);

async fn instance_v1_and_v2_shapes(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let v1 = srv.get("/api/v1/instance", None).await.ok();
    let domain = srv.url.trim_start_matches("http://").to_string();
    assert_eq!(v1["uri"], domain);
    assert!(
        v1["version"]
            .as_str()
            .unwrap()
            .starts_with("4.3.0 (compatible; Sluice "),
        "{}",
        v1["version"]
    );
    assert_eq!(v1["urls"]["streaming_api"], format!("ws://{domain}"));
    assert_eq!(v1["configuration"]["statuses"]["max_characters"], 5000);
    assert_eq!(v1["registrations"], true);
    // Trailing slash works too.
    let v1s = srv.get("/api/v1/instance/", None).await.ok();
    assert_eq!(v1s["uri"], v1["uri"]);

    let v2 = srv.get("/api/v2/instance", None).await.ok();
    assert_eq!(
        srv.get("/api/v2/instance/", None).await.ok()["domain"],
        v2["domain"]
    );
    assert_eq!(v2["domain"], domain);
    assert_eq!(
        v2["configuration"]["urls"]["streaming"],
        format!("ws://{domain}")
    );
    assert!(v2["configuration"]["media_attachments"]["supported_mime_types"].is_array());
    // The poll limits, Mastodon's by default (compat.rs, polls.rs).
    assert_eq!(v2["configuration"]["polls"]["max_options"], 4);
    assert_eq!(v2["api_versions"]["mastodon"], 2);
    assert_eq!(v2["registrations"]["enabled"], true);

    let meta = srv
        .get("/.well-known/oauth-authorization-server", None)
        .await
        .ok();
    assert_eq!(meta["token_endpoint"], format!("{}/oauth/token", srv.url));
    assert!(
        meta["code_challenge_methods_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "S256")
    );
    assert!(
        meta["scopes_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "read:statuses")
    );
    srv.stop().await;
}

async fn nodeinfo_documents(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    srv.status(&alice, "hello", &[]).await;
    let links = srv.get("/.well-known/nodeinfo", None).await.ok();
    let hrefs: Vec<&str> = links["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["href"].as_str().unwrap())
        .collect();
    assert!(hrefs.contains(&format!("{}/nodeinfo/2.0", srv.url).as_str()));
    for v in ["2.0", "2.1"] {
        let r = srv.get(&format!("/nodeinfo/{v}"), None).await;
        let ctype = r.headers["content-type"].to_str().unwrap().to_string();
        assert!(ctype.contains(&format!("schema/{v}#")), "{ctype}");
        let body = r.ok();
        assert_eq!(body["version"], v);
        assert_eq!(body["software"]["name"], "sluice");
        assert_eq!(body["usage"]["users"]["total"], 1);
        assert_eq!(body["usage"]["localPosts"], 1);
        assert_eq!(body["protocols"][0], "activitypub");
    }
    srv.stop().await;
}

async fn cors_like_mastodon(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let r = srv
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/timelines/public", srv.url),
        )
        .header("origin", "https://elk.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let r = srv
        .http
        .get(format!("{}/api/v1/timelines/public", srv.url))
        .header("origin", "https://elk.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(
        r.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_lowercase()
            .contains("link")
    );
    // The sign-in page is not for other origins.
    let r = srv
        .http
        .get(format!("{}/oauth/authorize", srv.url))
        .header("origin", "https://elk.example")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    srv.stop().await;
}
