//! Password guessing is slowed per account (issue 13, item 5), and a stranger cannot
//! lock the owner out: clients that signed in to the account before (its address,
//! the sign-in page's device cookie) are never slowed; a success and a password reset
//! clear the count. Clients are told apart by the `X-Forwarded-For` a trusted proxy
//! (loopback here) sends.

use crate::common::{Db, TestServer};

db_tests!(guessing_is_slowed_per_account_but_not_for_the_owner);

const REDIRECT: &str = "https://client.example/cb";

struct Client<'a> {
    srv: &'a TestServer,
    id: String,
    secret: String,
}

impl Client<'_> {
    /// The password grant from `ip`: the status and the error, if any.
    async fn token(&self, ip: &str, password: &str) -> (u16, String) {
        let r = self
            .srv
            .http
            .post(format!("{}/oauth/token", self.srv.url))
            .header("x-forwarded-for", ip)
            .form(&[
                ("grant_type", "password"),
                ("client_id", &self.id),
                ("client_secret", &self.secret),
                ("username", "alice"),
                ("password", password),
            ])
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        if status == 429 {
            assert!(r.headers().contains_key("retry-after"));
        }
        (status, r.text().await.unwrap())
    }

    /// The sign-in page's form from `ip` with the `cookie` it holds: the status and
    /// the device cookie set, if any.
    async fn form(&self, ip: &str, password: &str, cookie: Option<&str>) -> (u16, Option<String>) {
        let mut req = self
            .srv
            .http
            .post(format!("{}/oauth/authorize", self.srv.url))
            .header("x-forwarded-for", ip)
            .form(&[
                ("client_id", self.id.as_str()),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("login", "alice"),
                ("password", password),
                ("decision", "approve"),
            ]);
        if let Some(c) = cookie {
            req = req.header("cookie", format!("theme=dark; {c}"));
        }
        let r = req.send().await.unwrap();
        let set = r
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
        let status = r.status().as_u16();
        if status == 303 {
            let location = r.headers()["location"].to_str().unwrap();
            assert!(
                location.starts_with(&format!("{REDIRECT}?code=")),
                "{location}"
            );
        }
        (status, set)
    }

    /// 30 wrong guesses from each of five addresses `{prefix}.1` to `.5` (the per-IP
    /// limit's worth): the statuses seen.
    async fn attack(&self, prefix: &str) -> Vec<u16> {
        let mut seen = Vec::new();
        for n in 1..=5 {
            for _ in 0..30 {
                let (status, body) = self.token(&format!("{prefix}.{n}"), "guess").await;
                if status == 429 {
                    assert!(body.contains("Too many failed sign-ins"), "{body}");
                }
                seen.push(status);
            }
        }
        seen
    }
}

async fn guessing_is_slowed_per_account_but_not_for_the_owner(db: Db) {
    // The default per-IP limit: 30 attempts per 5 minutes.
    let Some(srv) = TestServer::start(db, |c| c.rate_limit_sign_in = 30).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let (id, secret) = srv.app("read", REDIRECT).await;
    let c = Client {
        srv: &srv,
        id,
        secret,
    };
    // The owner signs in from an app at home and from a browser.
    assert_eq!(c.token("203.0.113.50", "password123").await.0, 200);
    let (status, cookie) = c.form("203.0.113.51", "password123", None).await;
    assert_eq!(status, 303);
    let cookie = cookie.expect("a device cookie");
    assert!(cookie.starts_with("sluice_device="), "{cookie}");

    // The scenario: five addresses guess 30 times each. Only the first few
    // guesses are checked; then strangers are refused, unchecked.
    let seen = c.attack("198.51.100").await;
    assert_eq!(seen.iter().filter(|s| **s == 400).count(), 5, "{seen:?}");
    assert_eq!(seen.iter().filter(|s| **s == 429).count(), 145, "{seen:?}");
    // The right password from a sixth address is refused too (this holds for a
    // minute after the last failure: the test takes seconds), by either way in.
    assert_eq!(c.token("198.51.100.6", "password123").await.0, 429);
    assert_eq!(c.form("198.51.100.7", "password123", None).await.0, 429);
    // The owner's browser signs in from anywhere, with its cookie.
    let (status, set) = c.form("192.0.2.77", "password123", Some(&cookie)).await;
    assert_eq!(status, 303);
    assert_eq!(set, None, "the browser keeps its cookie");

    // Again; now the owner's app at home signs in, which clears the count.
    c.attack("198.51.101").await;
    assert_eq!(c.token("198.51.101.6", "password123").await.0, 429);
    assert_eq!(c.token("203.0.113.50", "password123").await.0, 200);
    assert_eq!(c.token("198.51.101.7", "password123").await.0, 200);

    // A password reset clears it too.
    c.attack("198.51.102").await;
    assert_eq!(c.token("198.51.102.6", "new password 1").await.0, 429);
    srv.engine()
        .reset_password(alice.id.parse().unwrap(), "new password 1")
        .await
        .unwrap();
    assert_eq!(c.token("198.51.102.6", "new password 1").await.0, 200);
    srv.stop().await;
}
