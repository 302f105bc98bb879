//! ActivityPub documents for other servers: WebFinger, host-meta, actor documents with
//! keys, content negotiation, outbox / followers collections, statuses as Notes.

use reqwest::Method;
use serde_json::Value;

use crate::common::{Db, Resp, TestServer};

db_tests!(
    webfinger_and_host_meta,
    actor_documents_and_negotiation,
    collections_and_notes
);

const AS2: &str = "application/activity+json";
const LD: &str = "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

async fn get_accept(srv: &TestServer, path: &str, accept: &str) -> Resp {
    let r = srv
        .http
        .request(Method::GET, format!("{}{path}", srv.url))
        .header("accept", accept)
        .send()
        .await
        .expect("request sent");
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
        text,
    }
}

fn domain(srv: &TestServer) -> String {
    srv.url.trim_start_matches("http://").to_string()
}

async fn webfinger_and_host_meta(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    srv.user("alice").await;
    let d = domain(&srv);
    let r = srv
        .get(
            &format!("/.well-known/webfinger?resource=acct:alice@{d}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/jrd+json")
    );
    let jrd = r.body;
    assert_eq!(jrd["subject"], format!("acct:alice@{d}"));
    let me = format!("{}/users/alice", srv.url);
    let self_link = jrd["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "self")
        .expect("self link");
    assert_eq!(self_link["href"], me);
    assert_eq!(self_link["type"], AS2);
    // The actor URL and the profile URL name the same account; case does not matter.
    for res in [
        me.clone(),
        format!("{}/@alice", srv.url),
        format!("acct:ALICE@{d}"),
    ] {
        let r = srv
            .get(&format!("/.well-known/webfinger?resource={res}"), None)
            .await;
        assert_eq!(r.ok()["subject"], format!("acct:alice@{d}"), "{res}");
    }
    srv.get(
        &format!("/.well-known/webfinger?resource=acct:nobody@{d}"),
        None,
    )
    .await
    .expect(404);
    srv.get(
        "/.well-known/webfinger?resource=acct:alice@elsewhere.example",
        None,
    )
    .await
    .expect(404);
    let e = srv.get("/.well-known/webfinger", None).await.expect(400);
    assert!(e["error"].as_str().unwrap().contains("resource"));
    // The instance actor answers to acct:domain@domain.
    let r = srv
        .get(
            &format!("/.well-known/webfinger?resource=acct:{d}@{d}"),
            None,
        )
        .await
        .ok();
    assert_eq!(r["links"][0]["href"], format!("{}/actor", srv.url));

    let r = srv.get("/.well-known/host-meta", None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.text.contains(&format!(
            "template=\"{}/.well-known/webfinger?resource={{uri}}\"",
            srv.url
        )),
        "{}",
        r.text
    );
    srv.stop().await;
}

async fn actor_documents_and_negotiation(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    srv.update_credentials(
        &alice.token,
        &[("display_name", "Alice A."), ("note", "hi there")],
    )
    .await
    .ok();
    let me = format!("{}/users/alice", srv.url);
    let r = get_accept(&srv, "/users/alice", AS2).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/activity+json")
    );
    let actor = r.body;
    assert_eq!(actor["id"], me);
    assert_eq!(actor["type"], "Person");
    assert_eq!(actor["preferredUsername"], "alice");
    assert_eq!(actor["name"], "Alice A.");
    assert!(actor["summary"].as_str().unwrap().contains("hi there"));
    assert_eq!(actor["inbox"], format!("{me}/inbox"));
    assert_eq!(actor["outbox"], format!("{me}/outbox"));
    assert_eq!(actor["followers"], format!("{me}/followers"));
    assert_eq!(actor["following"], format!("{me}/following"));
    assert_eq!(actor["featured"], format!("{me}/collections/featured"));
    assert_eq!(
        actor["endpoints"]["sharedInbox"],
        format!("{}/inbox", srv.url)
    );
    assert_eq!(actor["manuallyApprovesFollowers"], false);
    assert_eq!(actor["url"], format!("{}/@alice", srv.url));
    assert_eq!(actor["publicKey"]["owner"], me);
    assert_eq!(actor["publicKey"]["id"], format!("{me}#main-key"));
    let pem = actor["publicKey"]["publicKeyPem"].as_str().unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    let ctx = actor["@context"].as_array().unwrap();
    assert_eq!(ctx[0], "https://www.w3.org/ns/activitystreams");
    assert_eq!(ctx[1], "https://w3id.org/security/v1");

    // The key is made once and kept; the ld+json form and the profile URL give the same.
    let again = get_accept(&srv, "/@alice", LD).await.ok();
    assert_eq!(again["id"], me);
    assert_eq!(again["publicKey"]["publicKeyPem"], pem);
    let alice_keys = sluice_store::Query::new(
        "SELECT count(*) AS v FROM actor_keys WHERE account_id = (SELECT id FROM accounts WHERE uri = $1)",
    )
    .bind(me.as_str());
    let store = &srv.store();
    assert_eq!(
        store
            .one::<sluice_store::Scalar>(alice_keys)
            .await
            .unwrap()
            .v,
        1
    );

    // Browsers get HTML: /users/alice sends them to the profile page.
    let r = get_accept(&srv, "/users/alice", "text/html").await;
    assert!(r.status.is_redirection(), "{}", r.status);
    assert_eq!(r.headers["location"], "/@alice");
    let r = get_accept(&srv, "/@alice", "text/html,application/xhtml+xml").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("<html"));

    get_accept(&srv, "/users/nobody", AS2).await.expect(404);

    // The instance actor.
    let inst = get_accept(&srv, "/actor", AS2).await.ok();
    assert_eq!(inst["type"], "Application");
    assert_eq!(inst["id"], format!("{}/actor", srv.url));
    assert!(
        inst["publicKey"]["publicKeyPem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    assert_ne!(inst["publicKey"]["publicKeyPem"], pem);
    srv.stop().await;
}

async fn collections_and_notes(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    srv.post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    let public = srv.status(&alice, "hello #fediverse", &[]).await;
    let unlisted = srv
        .status(&alice, "quiet one", &[("visibility", "unlisted")])
        .await;
    let private = srv
        .status(&alice, "followers only", &[("visibility", "private")])
        .await;
    let me = format!("{}/users/alice", srv.url);

    let outbox = get_accept(&srv, "/users/alice/outbox", AS2).await.ok();
    assert_eq!(outbox["type"], "OrderedCollection");
    assert_eq!(outbox["totalItems"], 2);
    let first = outbox["first"].as_str().unwrap().to_string();
    let page_path = first.trim_start_matches(&srv.url);
    let page = get_accept(&srv, page_path, AS2).await.ok();
    assert_eq!(page["type"], "OrderedCollectionPage");
    assert_eq!(page["partOf"], format!("{me}/outbox"));
    let items = page["orderedItems"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{page}");
    // Newest first; each a Create whose Note is the status, none of them private.
    assert_eq!(items[0]["type"], "Create");
    assert_eq!(items[0]["object"]["id"], unlisted["uri"]);
    assert_eq!(items[1]["object"]["id"], public["uri"]);
    assert_ne!(items[1]["id"], public["uri"], "the activity has its own id");
    assert!(!page.to_string().contains("followers only"));

    // A status as a Note, under its id and under its page URL.
    let uri = public["uri"].as_str().unwrap();
    let path = uri.trim_start_matches(&srv.url);
    let note = get_accept(&srv, path, AS2).await.ok();
    assert_eq!(note["type"], "Note");
    assert_eq!(note["id"], public["uri"]);
    assert_eq!(note["attributedTo"], me);
    assert!(note["content"].as_str().unwrap().contains("hello"));
    assert_eq!(note["tag"][0]["type"], "Hashtag");
    assert!(note["@context"].is_array());
    let id = public["id"].as_str().unwrap();
    let via_page = get_accept(&srv, &format!("/@alice/{id}"), AS2).await.ok();
    assert_eq!(via_page["id"], public["uri"]);
    let r = get_accept(&srv, path, "text/html").await;
    assert_eq!(r.headers["location"], format!("/@alice/{id}"));
    // Private posts are not served to an anonymous fetch.
    let ppath = private["uri"]
        .as_str()
        .unwrap()
        .trim_start_matches(&srv.url)
        .to_string();
    get_accept(&srv, &ppath, AS2).await.expect(404);
    get_accept(&srv, &format!("/users/bob/statuses/{id}"), AS2)
        .await
        .expect(404);

    // Followers and following.
    let followers = get_accept(&srv, "/users/alice/followers", AS2).await.ok();
    assert_eq!(followers["totalItems"], 1);
    let fpage = get_accept(&srv, "/users/alice/followers?page=true", AS2)
        .await
        .ok();
    assert_eq!(
        fpage["orderedItems"],
        serde_json::json!([format!("{}/users/bob", srv.url)])
    );
    let following = get_accept(&srv, "/users/bob/following?page=true", AS2)
        .await
        .ok();
    assert_eq!(following["orderedItems"], serde_json::json!([me]));
    let featured = get_accept(&srv, "/users/alice/collections/featured", AS2)
        .await
        .ok();
    assert_eq!(featured["totalItems"], 0);
    srv.stop().await;
}
