//! Web Push: `/api/v1/push/subscription` (create, read, change, remove; the 422s), the
//! VAPID key in instance v1/v2, and push messages for notifications received by a
//! push service started here on loopback, which decrypts each one (RFC 8291) with the
//! key pair and secret it made as a browser would, and checks the VAPID JWT (RFC 8292).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use aws_lc_rs::{aead, agreement, hkdf, rand as lc_rand, signature};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Body, Db, TestServer, User, eventually, peer};

db_tests!(
    subscription_crud_and_shapes,
    bad_subscriptions_are_refused_and_write_nothing,
    notifications_are_pushed_encrypted_and_signed,
    policies_choose_whose_notifications_are_pushed,
    a_gone_subscription_is_removed,
    failed_pushes_are_retried_until_delivered,
    revoking_the_token_removes_the_subscription,
);

/// A subscriber's keys, made as a browser makes them: a P-256 key pair and a 16-byte
/// authentication secret.
struct BrowserKeys {
    private: agreement::PrivateKey,
    public: Vec<u8>,
    auth: [u8; 16],
}

impl BrowserKeys {
    fn new() -> BrowserKeys {
        let private = agreement::PrivateKey::generate(&agreement::ECDH_P256).unwrap();
        let public = private.compute_public_key().unwrap().as_ref().to_vec();
        let mut auth = [0u8; 16];
        lc_rand::fill(&mut auth).unwrap();
        BrowserKeys {
            private,
            public,
            auth,
        }
    }

    fn p256dh(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.public)
    }

    fn auth(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.auth)
    }

    /// Decrypts an `aes128gcm` push message body (RFC 8291 §3.4, RFC 8188 §2) as the
    /// browser does.
    fn decrypt(&self, body: &[u8]) -> Vec<u8> {
        struct Len(usize);
        impl hkdf::KeyType for Len {
            fn len(&self) -> usize {
                self.0
            }
        }
        let expand = |prk: &hkdf::Prk, info: &[&[u8]], n: usize| {
            let mut out = vec![0u8; n];
            prk.expand(info, Len(n)).unwrap().fill(&mut out).unwrap();
            out
        };
        assert!(body.len() > 86, "message too short: {} bytes", body.len());
        let salt = &body[..16];
        let rs = u32::from_be_bytes(body[16..20].try_into().unwrap());
        assert!(rs >= 18, "record size {rs}");
        let id_len = body[20] as usize;
        assert_eq!(id_len, 65, "keyid is the server's public key");
        let as_public = &body[21..21 + id_len];
        let mut record = body[21 + id_len..].to_vec();
        assert!(record.len() <= rs as usize, "one record");
        let ecdh = agreement::agree(
            &self.private,
            agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, as_public),
            (),
            |s| Ok(s.to_vec()),
        )
        .unwrap();
        let prk_key = hkdf::Salt::new(hkdf::HKDF_SHA256, &self.auth).extract(&ecdh);
        let ikm = expand(&prk_key, &[b"WebPush: info\0", &self.public, as_public], 32);
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(&ikm);
        let cek = expand(&prk, &[b"Content-Encoding: aes128gcm\0"], 16);
        let nonce = expand(&prk, &[b"Content-Encoding: nonce\0"], 12);
        let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_128_GCM, &cek).unwrap());
        let plain = key
            .open_in_place(
                aead::Nonce::try_assume_unique_for_key(&nonce).unwrap(),
                aead::Aad::empty(),
                &mut record,
            )
            .expect("the message decrypts with the subscriber's keys")
            .to_vec();
        // The last record: content, 0x02, then zero padding.
        let end = plain.iter().rposition(|b| *b != 0).unwrap();
        assert_eq!(plain[end], 2, "last-record delimiter");
        plain[..end].to_vec()
    }
}

/// One request the push service received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A push service on loopback: records every request and answers each path with the
/// statuses queued for it (then 201 Created).
#[derive(Clone)]
struct PushService {
    origin: String,
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<HashMap<String, VecDeque<u16>>>>,
}

impl PushService {
    async fn start() -> PushService {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let script: Arc<Mutex<HashMap<String, VecDeque<u16>>>> = Arc::default();
        let (r, s) = (received.clone(), script.clone());
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: axum::body::Bytes| {
                let (r, s) = (r.clone(), s.clone());
                async move {
                    let path = uri.path().to_string();
                    r.lock().unwrap().push(Received {
                        path: path.clone(),
                        headers,
                        body: body.to_vec(),
                    });
                    let status = s
                        .lock()
                        .unwrap()
                        .get_mut(&path)
                        .and_then(VecDeque::pop_front)
                        .unwrap_or(201);
                    StatusCode::from_u16(status).unwrap().into_response()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        PushService {
            origin,
            received,
            script,
        }
    }

    fn endpoint(&self, name: &str) -> String {
        format!("{}/push/{name}", self.origin)
    }

    fn answer(&self, name: &str, statuses: &[u16]) {
        self.script
            .lock()
            .unwrap()
            .insert(format!("/push/{name}"), statuses.iter().copied().collect());
    }

    fn received(&self, name: &str) -> Vec<Received> {
        let path = format!("/push/{name}");
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    async fn wait_for(&self, name: &str, n: usize) -> Vec<Received> {
        eventually(&format!("{n} push messages to {name}"), async || {
            self.received(name).len() >= n
        })
        .await;
        self.received(name)
    }
}

fn b64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).unwrap()
}

/// Checks the request's VAPID JWT and headers against the instance's key; returns the
/// JWT's claims.
fn check_vapid(r: &Received, origin: &str, vapid_key: &str) -> Value {
    let h = |name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(h("content-encoding"), "aes128gcm");
    assert_eq!(h("content-type"), "application/octet-stream");
    assert_eq!(h("ttl"), "172800");
    assert_eq!(h("urgency"), "normal");
    let auth = h("authorization");
    let rest = auth.strip_prefix("vapid ").expect("vapid scheme");
    let mut t = "";
    let mut k = "";
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("t=") {
            t = v;
        } else if let Some(v) = part.strip_prefix("k=") {
            k = v;
        }
    }
    assert_eq!(k, vapid_key, "k= is the instance's VAPID key");
    let parts: Vec<&str> = t.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT: {t}");
    let header: Value = serde_json::from_slice(&b64(parts[0])).unwrap();
    assert_eq!(header["alg"], "ES256");
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, b64(vapid_key))
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &b64(parts[2]),
        )
        .expect("the JWT's signature verifies with the instance's VAPID key");
    let claims: Value = serde_json::from_slice(&b64(parts[1])).unwrap();
    assert_eq!(claims["aud"], origin);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let exp = claims["exp"].as_i64().unwrap();
    assert!(exp > now && exp <= now + 24 * 3600, "exp {exp}, now {now}");
    assert!(
        claims["sub"]
            .as_str()
            .is_some_and(|s| s.starts_with("mailto:") || s.starts_with("http")),
        "{claims}"
    );
    claims
}

async fn subscribe(
    srv: &TestServer,
    token: &str,
    endpoint: &str,
    keys: &BrowserKeys,
    alerts: &[&str],
    policy: &str,
) -> Value {
    let alerts: serde_json::Map<String, Value> = alerts
        .iter()
        .map(|a| (a.to_string(), Value::Bool(true)))
        .collect();
    srv.post_json(
        "/api/v1/push/subscription",
        Some(token),
        json!({
            "subscription": {
                "endpoint": endpoint,
                "keys": {"p256dh": keys.p256dh(), "auth": keys.auth()},
                "standard": true
            },
            "data": {"alerts": alerts, "policy": policy}
        }),
    )
    .await
    .ok()
}

async fn put(srv: &TestServer, token: &str, v: Value) -> crate::common::Resp {
    srv.request(
        Method::PUT,
        "/api/v1/push/subscription",
        Some(token),
        Some(Body::Json(v)),
    )
    .await
}

async fn delete(srv: &TestServer, token: &str) -> crate::common::Resp {
    srv.request(
        Method::DELETE,
        "/api/v1/push/subscription",
        Some(token),
        None,
    )
    .await
}

async fn vapid_key(srv: &TestServer) -> String {
    let v1 = srv.get("/api/v1/instance", None).await.ok();
    let v2 = srv.get("/api/v2/instance", None).await.ok();
    let key = v1["vapid_key"].as_str().unwrap().to_string();
    assert_eq!(v2["configuration"]["vapid"]["public_key"], key.as_str());
    let raw = b64(&key);
    assert_eq!(raw.len(), 65, "an uncompressed P-256 point");
    assert_eq!(raw[0], 4);
    key
}

/// The decrypted payloads of `name`'s messages.
fn payloads(keys: &BrowserKeys, got: &[Received]) -> Vec<Value> {
    got.iter()
        .map(|r| serde_json::from_slice(&keys.decrypt(&r.body)).unwrap())
        .collect()
}

async fn notification_id(srv: &TestServer, user: &User, kind: &str) -> String {
    let n = srv
        .get(
            &format!("/api/v1/notifications?types[]={kind}"),
            Some(&user.token),
        )
        .await
        .ok();
    n[0]["id"].as_str().expect("a notification").to_string()
}

/// Push rows ever queued (done ones are deleted: pending and given-up ones remain).
async fn push_rows(srv: &TestServer) -> i64 {
    let q = sluice_store::Query::new(
        "SELECT count(*) AS v FROM deliveries WHERE push_subscription_id IS NOT NULL",
    );
    srv.engine()
        .store_for_tests()
        .one::<sluice_store::Scalar>(q)
        .await
        .unwrap()
        .v
}

async fn subscription_crud_and_shapes(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let key = vapid_key(&srv).await;
    // The same key in the app registration (older apps read it there).
    let app = srv
        .post(
            "/api/v1/apps",
            None,
            &[
                ("client_name", "x"),
                ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ],
        )
        .await
        .ok();
    assert_eq!(app["vapid_key"], key.as_str());
    assert_eq!(
        srv.get("/api/v1/push/subscription", Some(&alice.token))
            .await
            .status,
        404
    );
    let keys = BrowserKeys::new();
    // Form-encoded, as Mastodon's web app sends it.
    let created = srv
        .post(
            "/api/v1/push/subscription",
            Some(&alice.token),
            &[
                ("subscription[endpoint]", "https://push.example.net/s/1"),
                ("subscription[keys][p256dh]", &keys.p256dh()),
                ("subscription[keys][auth]", &keys.auth()),
                ("data[alerts][mention]", "true"),
                ("data[alerts][favourite]", "1"),
                ("data[alerts][follow]", "false"),
                ("data[alerts][admin.sign_up]", "true"),
                ("data[policy]", "followed"),
            ],
        )
        .await
        .ok();
    assert!(created["id"].is_string());
    assert_eq!(created["endpoint"], "https://push.example.net/s/1");
    assert_eq!(created["standard"], false);
    assert_eq!(created["server_key"], key.as_str());
    assert_eq!(created["policy"], "followed");
    let alerts = created["alerts"].as_object().unwrap();
    let names: Vec<&str> = alerts.keys().map(String::as_str).collect();
    for name in [
        "mention",
        "status",
        "reblog",
        "follow",
        "follow_request",
        "favourite",
        "poll",
        "update",
        "admin.sign_up",
        "admin.report",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert_eq!(alerts.len(), 10);
    assert_eq!(alerts["mention"], true);
    assert_eq!(alerts["favourite"], true);
    assert_eq!(alerts["admin.sign_up"], true);
    assert_eq!(alerts["follow"], false);
    assert_eq!(alerts["reblog"], false);
    let shown = srv
        .get("/api/v1/push/subscription", Some(&alice.token))
        .await
        .ok();
    assert_eq!(shown, created);
    // PUT changes the alerts named and the policy; the others stay.
    let updated = put(
        &srv,
        &alice.token,
        json!({"data": {"alerts": {"follow": true, "mention": false}, "policy": "all"}}),
    )
    .await
    .ok();
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["alerts"]["follow"], true);
    assert_eq!(updated["alerts"]["mention"], false);
    assert_eq!(updated["alerts"]["favourite"], true);
    assert_eq!(updated["policy"], "all");
    // A bad policy or alert value changes nothing.
    put(&srv, &alice.token, json!({"data": {"policy": "friends"}}))
        .await
        .expect(422);
    put(
        &srv,
        &alice.token,
        json!({"data": {"alerts": {"follow": "maybe"}}}),
    )
    .await
    .expect(422);
    assert_eq!(
        srv.get("/api/v1/push/subscription", Some(&alice.token))
            .await
            .ok(),
        updated
    );
    // Another token of the same user has its own (none yet).
    let second = srv.password_token("alice", "read write follow push").await;
    assert_eq!(
        srv.get("/api/v1/push/subscription", Some(&second))
            .await
            .status,
        404
    );
    // POST again (JSON this time) replaces the token's subscription.
    let replaced = subscribe(
        &srv,
        &alice.token,
        "https://push.example.net/s/2",
        &BrowserKeys::new(),
        &["reblog"],
        "none",
    )
    .await;
    assert_ne!(replaced["id"], created["id"]);
    assert_eq!(replaced["standard"], true);
    assert_eq!(replaced["alerts"]["reblog"], true);
    assert_eq!(replaced["alerts"]["favourite"], false);
    assert_eq!(replaced["policy"], "none");
    assert_eq!(srv.count("push_subscriptions").await, 1);
    // The scope is `push`.
    let no_push = srv.password_token("alice", "read write follow").await;
    assert_eq!(
        srv.get("/api/v1/push/subscription", Some(&no_push))
            .await
            .status,
        403
    );
    assert_eq!(srv.get("/api/v1/push/subscription", None).await.status, 401);
    // DELETE: `{}`, then nothing to show or change.
    assert_eq!(delete(&srv, &alice.token).await.ok(), json!({}));
    assert_eq!(
        srv.get("/api/v1/push/subscription", Some(&alice.token))
            .await
            .status,
        404
    );
    put(&srv, &alice.token, json!({"data": {"policy": "all"}}))
        .await
        .expect(404);
    assert_eq!(delete(&srv, &alice.token).await.ok(), json!({}));
    assert_eq!(srv.count("push_subscriptions").await, 0);
    srv.stop().await;
}

async fn bad_subscriptions_are_refused_and_write_nothing(db: Db) {
    // Plain http is refused where the server talks https only.
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let keys = BrowserKeys::new();
    let good = subscribe(
        &srv,
        &alice.token,
        "https://push.example.net/kept",
        &keys,
        &["mention"],
        "all",
    )
    .await;
    let point = keys.public.clone();
    let mut off_curve = point.clone();
    off_curve[64] ^= 1;
    let compressed = {
        let mut c = vec![2 + (point[64] & 1)];
        c.extend_from_slice(&point[1..33]);
        c
    };
    let e = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let cases: Vec<(&str, Value)> = vec![
        (
            "no endpoint",
            json!({"keys": {"p256dh": keys.p256dh(), "auth": keys.auth()}}),
        ),
        (
            "http endpoint",
            json!({"endpoint": "http://push.example.net/x", "keys": {"p256dh": keys.p256dh(), "auth": keys.auth()}}),
        ),
        (
            "ftp endpoint",
            json!({"endpoint": "ftp://push.example.net/x", "keys": {"p256dh": keys.p256dh(), "auth": keys.auth()}}),
        ),
        (
            "not a URL",
            json!({"endpoint": "push.example.net/x", "keys": {"p256dh": keys.p256dh(), "auth": keys.auth()}}),
        ),
        (
            "credentials",
            json!({"endpoint": "https://u:p@push.example.net/x", "keys": {"p256dh": keys.p256dh(), "auth": keys.auth()}}),
        ),
        ("no keys", json!({"endpoint": "https://push.example.net/x"})),
        (
            "p256dh not base64",
            json!({"endpoint": "https://push.example.net/x", "keys": {"p256dh": "***", "auth": keys.auth()}}),
        ),
        (
            "p256dh off the curve",
            json!({"endpoint": "https://push.example.net/x", "keys": {"p256dh": e(&off_curve), "auth": keys.auth()}}),
        ),
        (
            "p256dh compressed",
            json!({"endpoint": "https://push.example.net/x", "keys": {"p256dh": e(&compressed), "auth": keys.auth()}}),
        ),
        (
            "p256dh short",
            json!({"endpoint": "https://push.example.net/x", "keys": {"p256dh": e(&point[..64]), "auth": keys.auth()}}),
        ),
        (
            "auth 15 bytes",
            json!({"endpoint": "https://push.example.net/x", "keys": {"p256dh": keys.p256dh(), "auth": e(&[1u8; 15])}}),
        ),
        (
            "auth 17 bytes",
            json!({"endpoint": "https://push.example.net/x", "keys": {"p256dh": keys.p256dh(), "auth": e(&[1u8; 17])}}),
        ),
    ];
    for (what, subscription) in cases {
        let r = srv
            .post_json(
                "/api/v1/push/subscription",
                Some(&alice.token),
                json!({"subscription": subscription, "data": {"alerts": {"mention": true}}}),
            )
            .await;
        assert_eq!(r.status, 422, "{what}: {}", r.text);
        assert!(r.body["error"].is_string(), "{what}: {}", r.text);
    }
    let valid = json!({"endpoint": "https://push.example.net/x", "keys": {"p256dh": keys.p256dh(), "auth": keys.auth()}});
    for (what, data) in [
        ("bad policy", json!({"policy": "everyone"})),
        (
            "alert not a boolean",
            json!({"alerts": {"mention": "perhaps"}}),
        ),
        ("alerts not a hash", json!({"alerts": "mention"})),
    ] {
        let r = srv
            .post_json(
                "/api/v1/push/subscription",
                Some(&alice.token),
                json!({"subscription": valid, "data": data}),
            )
            .await;
        assert_eq!(r.status, 422, "{what}: {}", r.text);
    }
    // Nothing was written: the token keeps its subscription as it was.
    assert_eq!(srv.count("push_subscriptions").await, 1);
    assert_eq!(
        srv.get("/api/v1/push/subscription", Some(&alice.token))
            .await
            .ok(),
        good
    );
    srv.stop().await;
}

async fn notifications_are_pushed_encrypted_and_signed(db: Db) {
    let Some(srv) = TestServer::start(db, peer("127.0.0.1")).await else {
        return;
    };
    let push = PushService::start().await;
    let key = vapid_key(&srv).await;
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    srv.update_credentials(&bob.token, &[("display_name", "Bob B.")])
        .await
        .ok();
    let keys = BrowserKeys::new();
    // Alice's phone wants favourites and mentions, not follows.
    subscribe(
        &srv,
        &alice.token,
        &push.endpoint("alice"),
        &keys,
        &["favourite", "mention"],
        "all",
    )
    .await;
    // A follow: notified, not pushed.
    srv.post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    notification_id(&srv, &alice, "follow").await;
    // A favourite: pushed.
    let post = srv.status(&alice, "tea <is> ready & hot", &[]).await;
    srv.post(
        &format!(
            "/api/v1/statuses/{}/favourite",
            post["id"].as_str().unwrap()
        ),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    let got = push.wait_for("alice", 1).await;
    let favourite = notification_id(&srv, &alice, "favourite").await;
    // The follow (notified first) never was queued: the favourite arrived alone.
    assert_eq!(got.len(), 1);
    eventually("no other push queued", async || push_rows(&srv).await == 0).await;
    check_vapid(&got[0], &push.origin, &key);
    let p = &payloads(&keys, &got)[0];
    assert_eq!(p["notification_id"], favourite.as_str());
    assert_eq!(p["notification_type"], "favourite");
    assert_eq!(p["access_token"], alice.token.as_str());
    assert_eq!(p["preferred_locale"], "en");
    assert!(p["title"].as_str().unwrap().contains("Bob B."), "{p}");
    assert_eq!(p["body"], "tea <is> ready & hot");
    assert!(
        p["icon"].as_str().unwrap().starts_with("http"),
        "an avatar URL: {p}"
    );
    // A mention: pushed, with the post's text (its content warning when it has one).
    srv.status(&bob, "@alice the secret", &[("spoiler_text", "spoilers")])
        .await;
    let got = push.wait_for("alice", 2).await;
    let p = &payloads(&keys, &got)[1];
    assert_eq!(p["notification_type"], "mention");
    assert_eq!(
        p["notification_id"],
        notification_id(&srv, &alice, "mention").await.as_str()
    );
    assert_eq!(p["body"], "spoilers");
    // Long posts are cut to 140 characters.
    let long = "word ".repeat(100);
    srv.status(&bob, &format!("@alice {long}"), &[]).await;
    let got = push.wait_for("alice", 3).await;
    let p = &payloads(&keys, &got)[2];
    assert_eq!(p["body"].as_str().unwrap().chars().count(), 140);
    // Turning mentions off (PUT) stops them; a favourite still comes, alone.
    put(
        &srv,
        &alice.token,
        json!({"data": {"alerts": {"mention": false}}}),
    )
    .await
    .ok();
    srv.status(&bob, "@alice not pushed", &[]).await;
    let second = srv.status(&alice, "second", &[]).await;
    srv.post(
        &format!(
            "/api/v1/statuses/{}/favourite",
            second["id"].as_str().unwrap()
        ),
        Some(&bob.token),
        &[],
    )
    .await
    .ok();
    let got = push.wait_for("alice", 4).await;
    let p = &payloads(&keys, &got)[3];
    assert_eq!(p["notification_type"], "favourite");
    assert_eq!(p["body"], "second");
    eventually("no other push queued", async || push_rows(&srv).await == 0).await;
    assert_eq!(push.received("alice").len(), 4);
    srv.stop().await;
}

async fn policies_choose_whose_notifications_are_pushed(db: Db) {
    let Some(srv) = TestServer::start(db, peer("127.0.0.1")).await else {
        return;
    };
    let push = PushService::start().await;
    let alice = srv.user("alice").await;
    let carol = srv.user("carol").await;
    let dave = srv.user("dave").await;
    let keys = BrowserKeys::new();
    subscribe(
        &srv,
        &alice.token,
        &push.endpoint("alice"),
        &keys,
        &["mention"],
        "followed",
    )
    .await;
    // Alice follows dave, not carol; carol follows alice.
    srv.post(
        &format!("/api/v1/accounts/{}/follow", dave.id),
        Some(&alice.token),
        &[],
    )
    .await
    .ok();
    srv.post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        Some(&carol.token),
        &[],
    )
    .await
    .ok();
    // `followed`: carol's mention is not pushed, dave's is.
    srv.status(&carol, "@alice from carol 1", &[]).await;
    srv.status(&dave, "@alice from dave 1", &[]).await;
    let got = push.wait_for("alice", 1).await;
    let p = payloads(&keys, &got);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["body"], "@alice from dave 1");
    // `follower`: carol's is pushed, dave's is not.
    put(&srv, &alice.token, json!({"data": {"policy": "follower"}}))
        .await
        .ok();
    srv.status(&dave, "@alice from dave 2", &[]).await;
    srv.status(&carol, "@alice from carol 2", &[]).await;
    let got = push.wait_for("alice", 2).await;
    let p = payloads(&keys, &got);
    assert_eq!(p.len(), 2);
    assert_eq!(p[1]["body"], "@alice from carol 2");
    // `none`: nothing; back to `all`: both.
    put(&srv, &alice.token, json!({"data": {"policy": "none"}}))
        .await
        .ok();
    srv.status(&dave, "@alice from dave 3", &[]).await;
    srv.status(&carol, "@alice from carol 3", &[]).await;
    put(&srv, &alice.token, json!({"data": {"policy": "all"}}))
        .await
        .ok();
    srv.status(&dave, "@alice from dave 4", &[]).await;
    let got = push.wait_for("alice", 3).await;
    let p = payloads(&keys, &got);
    assert_eq!(p.len(), 3);
    assert_eq!(p[2]["body"], "@alice from dave 4");
    srv.stop().await;
}

async fn a_gone_subscription_is_removed(db: Db) {
    let Some(srv) = TestServer::start(db, peer("127.0.0.1")).await else {
        return;
    };
    let push = PushService::start().await;
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let phone = srv.password_token("alice", "read write follow push").await;
    push.answer("gone", &[410]);
    push.answer("missing", &[404]);
    push.answer("kept", &[]);
    subscribe(
        &srv,
        &alice.token,
        &push.endpoint("gone"),
        &BrowserKeys::new(),
        &["mention"],
        "all",
    )
    .await;
    subscribe(
        &srv,
        &phone,
        &push.endpoint("missing"),
        &BrowserKeys::new(),
        &["mention"],
        "all",
    )
    .await;
    let bob_keys = BrowserKeys::new();
    subscribe(
        &srv,
        &bob.token,
        &push.endpoint("kept"),
        &bob_keys,
        &["mention"],
        "all",
    )
    .await;
    srv.status(&bob, "@alice hello", &[]).await;
    push.wait_for("gone", 1).await;
    push.wait_for("missing", 1).await;
    eventually("the gone subscriptions to be removed", async || {
        srv.count("push_subscriptions").await == 1
    })
    .await;
    assert_eq!(
        srv.get("/api/v1/push/subscription", Some(&alice.token))
            .await
            .status,
        404
    );
    assert_eq!(
        srv.get("/api/v1/push/subscription", Some(&phone))
            .await
            .status,
        404
    );
    // Bob's is untouched and still works.
    srv.get("/api/v1/push/subscription", Some(&bob.token))
        .await
        .ok();
    srv.status(&alice, "@bob hi back", &[]).await;
    let got = push.wait_for("kept", 1).await;
    assert_eq!(payloads(&bob_keys, &got)[0]["body"], "@bob hi back");
    // Nothing more was sent to the gone ones.
    srv.status(&bob, "@alice again", &[]).await;
    srv.status(&alice, "@bob and again", &[]).await;
    push.wait_for("kept", 2).await;
    assert_eq!(push.received("gone").len(), 1);
    assert_eq!(push.received("missing").len(), 1);
    srv.stop().await;
}

async fn failed_pushes_are_retried_until_delivered(db: Db) {
    let Some(srv) = TestServer::start(db, peer("127.0.0.1")).await else {
        return;
    };
    let push = PushService::start().await;
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let keys = BrowserKeys::new();
    push.answer("alice", &[500, 429, 503]);
    subscribe(
        &srv,
        &alice.token,
        &push.endpoint("alice"),
        &keys,
        &["mention"],
        "all",
    )
    .await;
    srv.status(&bob, "@alice are you there?", &[]).await;
    let got = push.wait_for("alice", 4).await;
    eventually("the push row to leave the queue", async || {
        push_rows(&srv).await == 0
    })
    .await;
    assert_eq!(got.len(), 4, "three failures, then delivered once");
    // Every attempt carried the same message, each encrypted afresh.
    let p = payloads(&keys, &got);
    let id = notification_id(&srv, &alice, "mention").await;
    for m in &p {
        assert_eq!(m["notification_id"], id.as_str());
    }
    assert_ne!(got[0].body, got[3].body, "a new salt and key per attempt");
    // The subscription stays.
    srv.get("/api/v1/push/subscription", Some(&alice.token))
        .await
        .ok();
    srv.stop().await;
}

async fn revoking_the_token_removes_the_subscription(db: Db) {
    let Some(srv) = TestServer::start(db, peer("127.0.0.1")).await else {
        return;
    };
    let push = PushService::start().await;
    srv.user("alice").await;
    let bob = srv.user("bob").await;
    let (client_id, secret) = srv
        .app("read write follow push", "urn:ietf:wg:oauth:2.0:oob")
        .await;
    let t = srv
        .post(
            "/oauth/token",
            None,
            &[
                ("grant_type", "password"),
                ("client_id", &client_id),
                ("client_secret", &secret),
                ("username", "alice@example.test"),
                ("password", "password123"),
                ("scope", "read write follow push"),
            ],
        )
        .await
        .ok();
    let token = t["access_token"].as_str().unwrap().to_string();
    subscribe(
        &srv,
        &token,
        &push.endpoint("alice"),
        &BrowserKeys::new(),
        &["mention"],
        "all",
    )
    .await;
    // Another user's subscription is not touched by it.
    subscribe(
        &srv,
        &bob.token,
        &push.endpoint("bob"),
        &BrowserKeys::new(),
        &["mention"],
        "all",
    )
    .await;
    assert_eq!(srv.count("push_subscriptions").await, 2);
    srv.post(
        "/oauth/revoke",
        None,
        &[
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("token", &token),
        ],
    )
    .await
    .ok();
    assert_eq!(srv.count("push_subscriptions").await, 1);
    // Nothing is pushed for the revoked token; bob's still works.
    srv.status(&bob, "@alice hi", &[]).await;
    srv.status(&srv.user("carol").await, "@bob hi", &[]).await;
    push.wait_for("bob", 1).await;
    eventually("no other push queued", async || push_rows(&srv).await == 0).await;
    assert!(push.received("alice").is_empty());
    srv.stop().await;
}
