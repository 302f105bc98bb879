//! Media: uploads through the Mastodon API and ActivityPub `uploadMedia`, identified by
//! their bytes and stripped of metadata, attached to posts, served with ranges,
//! federated, and removed when left unattached.

use serde_json::{Value, json};

use crate::common::{Db, TestServer, User, eventually, get_as2, peer};

db_tests!(
    mastodon_uploads_attach_and_serve,
    uploads_refuse_bad_files_and_foreign_media,
    media_federates_and_c2s_uploads,
    avatars_and_headers,
    a_refused_header_changes_nothing
);

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A PNG of `w`×`h` with an `eXIf` and a `tEXt` chunk that must not survive an upload.
/// `salt` makes each file's data different.
pub(crate) fn png(w: u32, h: u32, salt: u8) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"eXIf", b"MM\x00\x2asecret-gps-52.37N");
    chunk(&mut out, b"tEXt", b"Author\x00secret-name");
    chunk(&mut out, b"IDAT", &[0x78, 0x9c, salt, 0x00, 0x01]);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn part(bytes: Vec<u8>, name: &str, mime: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str(mime)
        .unwrap()
}

/// POSTs a multipart form to `path` with `token`: (status, body).
async fn upload(
    srv: &TestServer,
    path: &str,
    token: &str,
    form: reqwest::multipart::Form,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let r = srv
        .http
        .post(format!("{}{path}", srv.url))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        headers,
    )
}

pub(crate) async fn upload_png(srv: &TestServer, user: &User, salt: u8) -> Value {
    let form =
        reqwest::multipart::Form::new().part("file", part(png(3, 2, salt), "a.png", "image/png"));
    let (status, body, _) = upload(srv, "/api/v2/media", &user.token, form).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn fetch(srv: &TestServer, url: &str, range: Option<&str>) -> reqwest::Response {
    let mut req = srv.http.get(url);
    if let Some(r) = range {
        req = req.header("range", r);
    }
    req.send().await.unwrap()
}

fn media_files(srv: &TestServer) -> usize {
    std::fs::read_dir(srv.config.media_dir())
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .unwrap_or(0)
}

async fn mastodon_uploads_attach_and_serve(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;

    // Upload with a description and focal point: the entity Mastodon clients expect.
    let form = reqwest::multipart::Form::new()
        .part("file", part(png(3, 2, 1), "dot.png", "image/png"))
        .text("description", "a red dot")
        .text("focus", "0.5,-0.5");
    let (status, m, _) = upload(&srv, "/api/v2/media", &alice.token, form).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["type"], "image");
    assert_eq!(m["description"], "a red dot");
    assert_eq!(m["meta"]["original"]["width"], 3);
    assert_eq!(m["meta"]["original"]["height"], 2);
    assert_eq!(m["meta"]["focus"]["x"], 0.5);
    assert_eq!(m["remote_url"], Value::Null);
    let id = m["id"].as_str().unwrap().to_string();
    let url = m["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{}/media/", srv.url)), "{url}");

    // The file: its bytes without the metadata, sandboxed, cacheable, with ranges.
    let r = fetch(&srv, &url, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let body = r.bytes().await.unwrap();
    assert!(body.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(contains(&body, b"IDAT"));
    assert!(!contains(&body, b"secret-gps"), "eXIf kept");
    assert!(!contains(&body, b"secret-name"), "tEXt kept");
    let r = fetch(&srv, &url, Some("bytes=1-3")).await;
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 1-3/{}", body.len()).as_str()
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"PNG");
    let r = fetch(&srv, &url, Some("bytes=100000-")).await;
    assert_eq!(r.status(), 416);
    assert_eq!(
        fetch(&srv, &format!("{}/media/..%2Fsluice.db", srv.url), None)
            .await
            .status(),
        404
    );

    // Only its owner reads and changes it; a change before posting.
    srv.get(&format!("/api/v1/media/{id}"), Some(&alice.token))
        .await
        .ok();
    srv.get(&format!("/api/v1/media/{id}"), Some(&bob.token))
        .await
        .expect(404);
    let changed = srv
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/media/{id}"),
            Some(&alice.token),
            Some(crate::common::Body::Form(vec![(
                "description".into(),
                "a small red dot".into(),
            )])),
        )
        .await
        .ok();
    assert_eq!(changed["description"], "a small red dot");

    // bob watches the media-only public stream while alice posts.
    let mut media_stream =
        crate::streaming::Sse::open(&srv, "/api/v1/streaming/public/media", &bob.token, None).await;
    srv.status(&alice, "no pictures here", &[]).await;

    // Another user cannot post it; alice posts it with no text.
    srv.post(
        "/api/v1/statuses",
        Some(&bob.token),
        &[("status", "mine now"), ("media_ids[]", &id)],
    )
    .await
    .expect(422);
    let status = srv
        .post_json(
            "/api/v1/statuses",
            Some(&alice.token),
            json!({"status": "", "media_ids": [id]}),
        )
        .await
        .ok();
    let sid = status["id"].as_str().unwrap().to_string();
    assert_eq!(status["media_attachments"][0]["id"], id.as_str());
    assert_eq!(
        status["media_attachments"][0]["description"],
        "a small red dot"
    );
    // The media stream carries the post with media, not the one without.
    let ev = media_stream.next().await;
    assert_eq!(ev.event, "update");
    let streamed: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(streamed["id"], sid.as_str());
    assert_eq!(streamed["media_attachments"][0]["id"], id.as_str());
    // So do the `only_media` timelines.
    let only = srv
        .get("/api/v1/timelines/public?only_media=true", None)
        .await
        .ok();
    assert_eq!(crate::common::ids(&only), vec![sid.clone()]);
    let all = srv.get("/api/v1/timelines/public", None).await.ok();
    assert_eq!(all.as_array().unwrap().len(), 2);
    let only = srv
        .get(
            &format!("/api/v1/accounts/{}/statuses?only_media=true", alice.id),
            None,
        )
        .await
        .ok();
    assert_eq!(crate::common::ids(&only), vec![sid.clone()]);

    // Attached once: not to a second post, no longer changed or deleted on its own.
    srv.post_json(
        "/api/v1/statuses",
        Some(&alice.token),
        json!({"status": "again", "media_ids": [id]}),
    )
    .await
    .expect(422);
    srv.request(
        reqwest::Method::PUT,
        &format!("/api/v1/media/{id}"),
        Some(&alice.token),
        Some(crate::common::Body::Form(vec![(
            "description".into(),
            "x".into(),
        )])),
    )
    .await
    .expect(404);
    srv.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/media/{id}"),
        Some(&alice.token),
        None,
    )
    .await
    .expect(422);

    // Timelines show it; the federated object carries it as a Document.
    let home = srv.get("/api/v1/timelines/public", None).await.ok();
    assert_eq!(home[0]["media_attachments"][0]["url"], url.as_str());
    let note = get_as2(
        &srv,
        &format!("{}/users/alice/statuses/{sid}", srv.url),
        None,
    )
    .await
    .ok();
    let doc = &note["attachment"][0];
    assert_eq!(doc["type"], "Document");
    assert_eq!(doc["mediaType"], "image/png");
    assert_eq!(doc["url"], url.as_str());
    assert_eq!(doc["name"], "a small red dot");
    assert_eq!(doc["width"], 3);

    // An edit replaces the media: the old upload is freed, the new one attached.
    let second = upload_png(&srv, &alice, 2).await;
    let second_id = second["id"].as_str().unwrap();
    let edited = srv
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/statuses/{sid}"),
            Some(&alice.token),
            Some(crate::common::Body::Json(
                json!({"status": "now with another", "media_ids": [second_id]}),
            )),
        )
        .await
        .ok();
    assert_eq!(edited["media_attachments"][0]["id"], second_id);
    assert_eq!(edited["media_attachments"].as_array().unwrap().len(), 1);
    let engine = srv.engine();
    let first = engine
        .store_for_tests()
        .media(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.status_id, None);

    // Deleting the post frees its media for a day ("delete and redraft")…
    srv.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/statuses/{sid}"),
        Some(&alice.token),
        None,
    )
    .await
    .ok();
    let freed = engine
        .store_for_tests()
        .media(second_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(freed.status_id, None);
    assert_eq!(engine.sweep_media().await.unwrap(), 0);
    assert_eq!(fetch(&srv, &url, None).await.status(), 200);
    // …then they go, rows and files.
    engine
        .store_for_tests()
        .exec(sluice_store::Query::new("UPDATE media SET updated_at = 0"))
        .await
        .unwrap();
    assert_eq!(engine.sweep_media().await.unwrap(), 2);
    assert_eq!(fetch(&srv, &url, None).await.status(), 404);
    assert_eq!(srv.count("media").await, 0);
    assert_eq!(media_files(&srv), 0);

    // An upload deleted before it is posted is gone at once.
    let third = upload_png(&srv, &alice, 3).await;
    srv.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/media/{}", third["id"].as_str().unwrap()),
        Some(&alice.token),
        None,
    )
    .await
    .ok();
    assert_eq!(
        fetch(&srv, third["url"].as_str().unwrap(), None)
            .await
            .status(),
        404
    );
    srv.stop().await;
}

async fn uploads_refuse_bad_files_and_foreign_media(db: Db) {
    let Some(srv) = TestServer::start(db, |c| c.media_max_bytes = 64 * 1024).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let bad = |bytes: Vec<u8>, name: &str, mime: &str| {
        reqwest::multipart::Form::new().part("file", part(bytes, name, mime))
    };
    // An SVG (script can ride in it), HTML, text: refused whatever they claim to be.
    for (bytes, name) in [
        (
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec(),
            "x.png",
        ),
        (b"<html><body>hi</body></html>".to_vec(), "x.jpg"),
        (b"just text".to_vec(), "x.gif"),
        (b"\x89PNG\r\n\x1a\ntruncated".to_vec(), "x.png"),
    ] {
        let (status, body, _) = upload(
            &srv,
            "/api/v2/media",
            &alice.token,
            bad(bytes, name, "image/png"),
        )
        .await;
        assert_eq!(status, 422, "{name}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }
    // No file part; a description too long; a focal point out of range.
    let (status, _, _) = upload(
        &srv,
        "/api/v1/media",
        &alice.token,
        reqwest::multipart::Form::new().text("description", "no file"),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _, _) = upload(
        &srv,
        "/api/v1/media",
        &alice.token,
        bad(png(1, 1, 0), "a.png", "image/png").text("description", "d".repeat(1501)),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _, _) = upload(
        &srv,
        "/api/v1/media",
        &alice.token,
        bad(png(1, 1, 0), "a.png", "image/png").text("focus", "2,0"),
    )
    .await;
    assert_eq!(status, 422);
    // Over the media limit: 422 within the upload body limit, 413 beyond it.
    let mut big = png(1, 1, 0);
    big.extend(vec![0u8; 80 * 1024]);
    let (status, _, _) = upload(
        &srv,
        "/api/v2/media",
        &alice.token,
        bad(big, "b.png", "image/png"),
    )
    .await;
    assert_eq!(status, 422);
    let mut huge = png(1, 1, 0);
    huge.extend(vec![0u8; 300 * 1024]);
    let (status, _, _) = upload(
        &srv,
        "/api/v2/media",
        &alice.token,
        bad(huge, "h.png", "image/png"),
    )
    .await;
    assert_eq!(status, 413);
    // A token without write:media may not upload.
    let reader = srv.user_with_scopes("reader", "read").await;
    let (status, _, _) = upload(
        &srv,
        "/api/v2/media",
        &reader.token,
        bad(png(1, 1, 0), "a.png", "image/png"),
    )
    .await;
    assert_eq!(status, 403);
    // Nothing was stored by any of these.
    assert_eq!(srv.count("media").await, 0);
    assert_eq!(media_files(&srv), 0);

    // At most four per post; ids that are not uploads are refused, nothing posted.
    let mut ids = Vec::new();
    for salt in 0..5 {
        ids.push(
            upload_png(&srv, &alice, salt).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let before = srv.count("statuses").await;
    srv.post_json(
        "/api/v1/statuses",
        Some(&alice.token),
        json!({"status": "five", "media_ids": ids}),
    )
    .await
    .expect(422);
    srv.post_json(
        "/api/v1/statuses",
        Some(&alice.token),
        json!({"status": "unknown", "media_ids": [ids[0], "123456"]}),
    )
    .await
    .expect(422);
    srv.post_json(
        "/api/v1/statuses",
        Some(&alice.token),
        json!({"status": "twice", "media_ids": [ids[0], ids[0]]}),
    )
    .await
    .expect(422);
    assert_eq!(srv.count("statuses").await, before);
    // The refused posts attached nothing: the first four still post together.
    let ok = srv
        .post_json(
            "/api/v1/statuses",
            Some(&alice.token),
            json!({"status": "four", "media_ids": &ids[..4]}),
        )
        .await
        .ok();
    let got: Vec<&str> = ok["media_attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, ids[..4].iter().map(String::as_str).collect::<Vec<_>>());
    srv.stop().await;
}

async fn media_federates_and_c2s_uploads(db: Db) {
    let Some(a) = TestServer::start(db, peer("127.0.0.2")).await else {
        return;
    };
    let Some(b) = TestServer::start(db, peer("127.0.0.3")).await else {
        return;
    };
    let alice = a.user("alice").await;
    let bob = a.user("bob").await;
    let carol = b.user("carol").await;
    let a_domain = a.url.trim_start_matches("http://").to_string();
    let alice_uri = format!("{}/users/alice", a.url);
    crate::common::follow_remote(&b, &carol, &format!("alice@{a_domain}")).await;

    // The actor names its upload endpoint; a client uploads a file with a shell object.
    let actor = get_as2(&a, &alice_uri, None).await.ok();
    let endpoint = actor["endpoints"]["uploadMedia"]
        .as_str()
        .unwrap()
        .to_string();
    let path = endpoint.trim_start_matches(&a.url).to_string();
    let form = reqwest::multipart::Form::new()
        .part("file", part(png(4, 4, 9), "c2s.png", "image/png"))
        .text(
            "object",
            json!({"type": "Image", "name": "a square", "focalPoint": [0.0, 0.25]}).to_string(),
        );
    let (status, object, headers) = upload(&a, &path, &alice.token, form).await;
    assert_eq!(status, 201, "{object}");
    let location = headers["location"].to_str().unwrap().to_string();
    assert_eq!(object["id"], location.as_str());
    assert_eq!(object["type"], "Image");
    assert_eq!(object["name"], "a square");
    assert_eq!(object["attributedTo"], alice_uri.as_str());
    let file_url = object["url"].as_str().unwrap().to_string();
    // Its object is its owner's until it is posted.
    let get_object =
        async |token: Option<&str>| get_as2(&a, &location, token).await.status.as_u16();
    assert_eq!(get_object(Some(&alice.token)).await, 200);
    assert_eq!(get_object(None).await, 404);
    assert_eq!(get_object(Some(&bob.token)).await, 404);

    // A C2S Note attaches it by id, and a picture elsewhere by its URL.
    let r = a
        .http
        .post(format!("{}/users/alice/outbox", a.url))
        .bearer_auth(&alice.token)
        .header("content-type", "application/activity+json")
        .body(
            json!({
                "type": "Note",
                "content": "<p>two pictures</p>",
                "to": [PUBLIC],
                "cc": [format!("{alice_uri}/followers")],
                "attachment": [
                    location,
                    {"type": "Image", "url": "https://elsewhere.example/cat.png",
                     "mediaType": "image/png", "name": "a cat"}
                ]
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let timeline = a.get("/api/v1/accounts/lookup?acct=alice", None).await.ok();
    let statuses = a
        .get(
            &format!(
                "/api/v1/accounts/{}/statuses",
                timeline["id"].as_str().unwrap()
            ),
            None,
        )
        .await
        .ok();
    let media = &statuses[0]["media_attachments"];
    assert_eq!(media[0]["url"], file_url.as_str());
    assert_eq!(media[0]["description"], "a square");
    assert_eq!(media[0]["meta"]["focus"]["y"], 0.25);
    assert_eq!(media[1]["remote_url"], "https://elsewhere.example/cat.png");
    assert_eq!(media[1]["type"], "image");
    // Posted publicly, its object is anyone's to read.
    assert_eq!(get_object(None).await, 200);

    // A Mastodon API post with media reaches carol on the other server with it.
    let m = upload_png(&a, &alice, 7).await;
    a.post_json(
        "/api/v1/statuses",
        Some(&alice.token),
        json!({"status": "via the Mastodon API", "media_ids": [m["id"]]}),
    )
    .await
    .ok();
    let mut home = Value::Null;
    eventually("both posts to reach carol", async || {
        home = b
            .get("/api/v1/timelines/home", Some(&carol.token))
            .await
            .ok();
        home.as_array().is_some_and(|a| a.len() >= 2)
    })
    .await;
    let api_post = &home[0];
    assert_eq!(api_post["media_attachments"][0]["type"], "image");
    assert_eq!(
        api_post["media_attachments"][0]["remote_url"],
        m["url"].as_str().unwrap()
    );
    assert_eq!(
        api_post["media_attachments"][0]["meta"]["original"]["width"],
        3
    );
    let c2s_post = &home[1];
    assert_eq!(c2s_post["media_attachments"].as_array().unwrap().len(), 2);
    assert_eq!(
        c2s_post["media_attachments"][0]["remote_url"],
        file_url.as_str()
    );
    assert_eq!(c2s_post["media_attachments"][0]["description"], "a square");
    assert_eq!(
        c2s_post["media_attachments"][1]["url"],
        "https://elsewhere.example/cat.png"
    );
    // Its ids are the other server's own.
    assert_ne!(c2s_post["media_attachments"][0]["id"], m["id"]);

    // A new name and avatar reach the followers' server (an Update of the actor).
    let form = reqwest::multipart::Form::new()
        .part("avatar", part(png(8, 8, 5), "me.png", "image/png"))
        .text("display_name", "Alice Renamed");
    let (status, me) = update_credentials(&a, &alice, form).await;
    assert_eq!(status, 200, "{me}");
    let avatar = me["avatar"].as_str().unwrap().to_string();
    eventually("the new profile to reach B", async || {
        let seen = b
            .get(
                &format!("/api/v1/accounts/lookup?acct=alice@{a_domain}"),
                None,
            )
            .await
            .ok();
        seen["display_name"] == "Alice Renamed" && seen["avatar"] == avatar.as_str()
    })
    .await;
    a.stop().await;
    b.stop().await;
}

async fn update_credentials(
    srv: &TestServer,
    user: &User,
    form: reqwest::multipart::Form,
) -> (u16, Value) {
    let r = srv
        .http
        .patch(format!("{}/api/v1/accounts/update_credentials", srv.url))
        .bearer_auth(&user.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn avatars_and_headers(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let default_avatar = srv
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .ok()["avatar"]
        .clone();

    // An avatar and a header with a profile change in the same form.
    let form = reqwest::multipart::Form::new()
        .part("avatar", part(png(8, 8, 1), "me.png", "image/png"))
        .part("header", part(png(30, 10, 2), "wide.png", "image/png"))
        .text("display_name", "Alice A.");
    let (status, me) = update_credentials(&srv, &alice, form).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["display_name"], "Alice A.");
    let avatar = me["avatar"].as_str().unwrap().to_string();
    let header = me["header"].as_str().unwrap().to_string();
    assert!(
        avatar.starts_with(&format!("{}/media/", srv.url)),
        "{avatar}"
    );
    assert_eq!(me["avatar_static"], avatar.as_str());
    let r = fetch(&srv, &avatar, None).await;
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.unwrap();
    assert!(body.starts_with(b"\x89PNG") && !contains(&body, b"secret-gps"));
    assert_eq!(fetch(&srv, &header, None).await.status(), 200);
    // The actor document shows it to other servers.
    let actor = get_as2(&srv, &format!("{}/users/alice", srv.url), None)
        .await
        .ok();
    assert_eq!(actor["icon"]["url"], avatar.as_str());

    // Something not an image is refused, and nothing else of the form is applied.
    let form = reqwest::multipart::Form::new()
        .part(
            "avatar",
            part(b"<svg><script/></svg>".to_vec(), "x.png", "image/png"),
        )
        .text("display_name", "Changed");
    let (status, _) = update_credentials(&srv, &alice, form).await;
    assert_eq!(status, 422);
    let me = srv
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .ok();
    assert_eq!(me["display_name"], "Alice A.");
    assert_eq!(me["avatar"], avatar.as_str());
    // Too large for an avatar (2 MB), though within the upload limit.
    let mut big = png(8, 8, 3);
    big.extend(vec![0u8; 2 * 1024 * 1024]);
    let form = reqwest::multipart::Form::new().part("avatar", part(big, "big.png", "image/png"));
    assert_eq!(update_credentials(&srv, &alice, form).await.0, 422);

    // A new avatar replaces the old, whose file goes.
    let form =
        reqwest::multipart::Form::new().part("avatar", part(png(8, 8, 4), "new.png", "image/png"));
    let (status, me) = update_credentials(&srv, &alice, form).await;
    assert_eq!(status, 200);
    assert_ne!(me["avatar"], avatar.as_str());
    assert_eq!(fetch(&srv, &avatar, None).await.status(), 404);
    let avatar = me["avatar"].as_str().unwrap().to_string();

    // Deleting it restores the default and removes the file.
    let me = srv
        .request(
            reqwest::Method::DELETE,
            "/api/v1/profile/avatar",
            Some(&alice.token),
            None,
        )
        .await
        .ok();
    assert_eq!(me["avatar"], default_avatar);
    assert_eq!(fetch(&srv, &avatar, None).await.status(), 404);
    assert_eq!(me["header"], header.as_str());
    srv.request(
        reqwest::Method::DELETE,
        "/api/v1/profile/header",
        Some(&alice.token),
        None,
    )
    .await
    .ok();
    assert_eq!(fetch(&srv, &header, None).await.status(), 404);
    assert_eq!(media_files(&srv), 0);
    srv.stop().await;
}

/// A profile change is one activity: an accepted avatar with a refused header leaves
/// the profile as it was, and no file behind.
async fn a_refused_header_changes_nothing(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let before = srv
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .ok();
    let form = reqwest::multipart::Form::new()
        .part("avatar", part(png(8, 8, 1), "me.png", "image/png"))
        .part(
            "header",
            part(b"<svg><script/></svg>".to_vec(), "x.png", "image/png"),
        )
        .text("display_name", "Changed");
    let (status, body) = update_credentials(&srv, &alice, form).await;
    assert_eq!(status, 422, "{body}");
    let me = srv
        .get("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await
        .ok();
    assert_eq!(me["avatar"], before["avatar"]);
    assert_eq!(me["header"], before["header"]);
    assert_eq!(me["display_name"], before["display_name"]);
    assert_eq!(media_files(&srv), 0);
    srv.stop().await;
}
