//! Custom emoji: the admin's emojis listed by `/api/v1/custom_emojis`, `:shortcode:` in
//! posts and display names filling `emojis`, the `Emoji` tags of our Notes and actors
//! and the emoji's own document, and remote `Emoji` tags remembered and shown.

use serde_json::{Value, json};

use crate::common::{Db, TestServer, get_as2};
use crate::inbox::{deliver, federating, peer, settled};

db_tests!(
    local_emojis_are_listed_and_used,
    remote_emoji_tags_are_shown,
);

/// A 16×16 GIF header: enough for the sniffing to take it as an image.
const GIF: &[u8] = b"GIF89a\x10\x00\x10\x00\x80\x00\x00;";

fn codes(v: &Value) -> Vec<&str> {
    v["emojis"]
        .as_array()
        .unwrap_or_else(|| panic!("no emojis: {v}"))
        .iter()
        .map(|e| e["shortcode"].as_str().unwrap())
        .collect()
}

async fn local_emojis_are_listed_and_used(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let engine = srv.engine();
    let blob = engine
        .add_custom_emoji("blob_cat", GIF.to_vec().into(), "Cats")
        .await
        .unwrap();
    engine
        .add_custom_emoji("party", GIF.to_vec().into(), "")
        .await
        .unwrap();
    // Refused: not an image, a taken shortcode, a bad shortcode; nothing written.
    assert!(
        engine
            .add_custom_emoji("svg", b"<svg/>".to_vec().into(), "")
            .await
            .is_err()
    );
    assert!(
        engine
            .add_custom_emoji("party", GIF.to_vec().into(), "")
            .await
            .is_err()
    );
    assert!(
        engine
            .add_custom_emoji("a-b", GIF.to_vec().into(), "")
            .await
            .is_err()
    );
    assert_eq!(srv.count("custom_emojis").await, 2);

    let list = srv.get("/api/v1/custom_emojis", None).await.ok();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let cat = list.iter().find(|e| e["shortcode"] == "blob_cat").unwrap();
    assert_eq!(cat["category"], "Cats");
    assert_eq!(cat["visible_in_picker"], true);
    let url = cat["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/media/", srv.url)), "{url}");
    assert_eq!(cat["static_url"], cat["url"]);
    // The image is served like other media.
    let img = srv.http.get(url).send().await.unwrap();
    assert_eq!(img.status(), 200);
    assert_eq!(img.headers()["content-type"], "image/gif");

    let alice = srv.user("alice").await;
    let s = srv
        .status(
            &alice,
            "hello :blob_cat: and :nope: and :party::blob_cat:",
            &[],
        )
        .await;
    assert_eq!(codes(&s), ["blob_cat"], "{s}");
    assert!(s["content"].as_str().unwrap().contains(":blob_cat:"));
    assert_eq!(s["emojis"][0]["url"], url);
    let plain = srv.status(&alice, "no :unknown: here", &[]).await;
    assert!(codes(&plain).is_empty(), "{plain}");
    // Read back (a timeline renders a page at once).
    let again = srv
        .get(
            &format!("/api/v1/statuses/{}", s["id"].as_str().unwrap()),
            None,
        )
        .await
        .ok();
    assert_eq!(codes(&again), ["blob_cat"]);

    // Display name and bio.
    let me = srv
        .update_credentials(
            &alice.token,
            &[
                ("display_name", "Alice :party:"),
                ("note", "likes :blob_cat:"),
            ],
        )
        .await
        .ok();
    let mut mine = codes(&me);
    mine.sort_unstable();
    assert_eq!(mine, ["blob_cat", "party"], "{me}");
    let shown = srv
        .get(&format!("/api/v1/accounts/{}", alice.id), None)
        .await
        .ok();
    assert_eq!(codes(&shown).len(), 2, "{shown}");
    let tl = srv
        .get(&format!("/api/v1/accounts/{}/statuses", alice.id), None)
        .await
        .ok();
    let first = &tl.as_array().unwrap()[0];
    let mut author = codes(&first["account"]);
    author.sort_unstable();
    assert_eq!(author, ["blob_cat", "party"], "{first}");

    // The web app shows the images (in the post and the author's name).
    let page = srv
        .http
        .get(format!("{}/@alice/{}", srv.url, s["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let img = format!("<img class=\"emoji\" src=\"{url}\" alt=\":blob_cat:\"");
    assert!(page.contains(&img), "{page}");
    assert!(page.contains("alt=\":party:\""), "{page}");
    assert!(page.contains(":nope:"), "{page}");

    // The Note carries the Emoji tag; the emoji has its own document at its id.
    let note = get_as2(&srv, s["uri"].as_str().unwrap(), None).await.ok();
    let tags: Vec<&Value> = note["tag"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["type"] == "Emoji")
        .collect();
    assert_eq!(tags.len(), 1, "{note}");
    assert_eq!(tags[0]["name"], ":blob_cat:");
    assert_eq!(tags[0]["icon"]["url"], url);
    assert_eq!(tags[0]["icon"]["mediaType"], "image/gif");
    let emoji_id = tags[0]["id"].as_str().unwrap();
    assert_eq!(emoji_id, format!("{}/emojis/{}", srv.url, blob.id));
    let doc = get_as2(&srv, emoji_id, None).await.ok();
    assert_eq!(doc["type"], "Emoji");
    assert_eq!(doc["name"], ":blob_cat:");
    assert_eq!(srv.get("/emojis/1", None).await.status, 404);
    assert_eq!(srv.get("/emojis/x", None).await.status, 404);
    let actor = get_as2(&srv, &format!("{}/users/alice", srv.url), None)
        .await
        .ok();
    let names: Vec<&str> = actor["tag"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["type"] == "Emoji")
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{actor}");

    // Removed: no longer listed nor shown.
    assert!(engine.remove_custom_emoji("blob_cat").await.unwrap());
    assert!(!engine.remove_custom_emoji("blob_cat").await.unwrap());
    assert_eq!(srv.http.get(url).send().await.unwrap().status(), 404);
    let list = srv.get("/api/v1/custom_emojis", None).await.ok();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let again = srv
        .get(
            &format!("/api/v1/statuses/{}", s["id"].as_str().unwrap()),
            None,
        )
        .await
        .ok();
    assert!(codes(&again).is_empty(), "{again}");
    srv.stop().await;
}

async fn remote_emoji_tags_are_shown(db: Db) {
    let Some(srv) = TestServer::start(db, federating).await else {
        return;
    };
    let p = peer().await;
    srv.user("alice").await;
    // A local emoji of the same shortcode is not the remote one.
    srv.engine()
        .add_custom_emoji("rainbow", GIF.to_vec().into(), "")
        .await
        .unwrap();
    let origin = "http://localhost:8080";
    let path = format!(
        "{}/../../tests/fixtures/activitypub/gotosocial/TestStatusWithTagsToASWithIDs.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let object: Value = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .unwrap()
            .replace(origin, &p.url),
    )
    .unwrap();
    let author = object["attributedTo"].as_str().unwrap().to_string();
    p.actor_extras.lock().unwrap().insert(
        "admin".into(),
        json!({"name": "Admin :blobfox:", "tag": [{
            "type": "Emoji", "name": ":blobfox:",
            "id": format!("{}/emoji/fox", p.url),
            "icon": {"type": "Image", "mediaType": "image/png",
                     "url": format!("{}/files/fox.png", p.url)}
        }]}),
    );
    let id = object["id"].as_str().unwrap().to_string();
    deliver(
        &srv,
        &p,
        "admin",
        json!({"@context": "https://www.w3.org/ns/activitystreams",
               "id": format!("{id}#create"), "type": "Create", "actor": author,
               "to": object["to"], "cc": object["cc"], "object": object}),
    )
    .await;
    settled(&srv).await;
    let status = srv
        .engine()
        .status_by_uri(&id)
        .await
        .unwrap()
        .expect("the fixture's post is stored");
    let s = srv
        .get(&format!("/api/v1/statuses/{}", status.id), None)
        .await
        .ok();
    assert_eq!(codes(&s), ["rainbow"], "{s}");
    let rainbow = &s["emojis"][0];
    assert_eq!(
        rainbow["url"],
        format!(
            "{}/fileserver/01AY6P665V14JJR0AFVRT7311Y/emoji/original/01F8MH9H8E4VG3KDYJR9EGPXCQ.png",
            p.url
        )
    );
    assert_eq!(rainbow["visible_in_picker"], false);
    assert_eq!(codes(&s["account"]), ["blobfox"], "{s}");
    assert_eq!(
        s["account"]["emojis"][0]["url"],
        format!("{}/files/fox.png", p.url)
    );
    // Remote emojis are not offered as ours.
    let list = srv.get("/api/v1/custom_emojis", None).await.ok();
    let ours: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["shortcode"].as_str().unwrap())
        .collect();
    assert_eq!(ours, ["rainbow"]);
    srv.stop().await;
}
