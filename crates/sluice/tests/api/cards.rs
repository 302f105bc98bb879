//! Link preview cards: fetched after the post commits, through the one fetcher, politely
//! (one request per host at a time, spacing, Retry-After remembered), cached by URL
//! with conditional GETs, within a size cap and a time limit; the link timeline and
//! link trends; remote posts' cards fetched within a budget. The pages come from a
//! small HTTP server the test runs on loopback, which counts what it is asked.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::{Body, Db, TestServer, eventually, follow_remote, peer};

db_tests!(
    a_card_arrives_after_the_post_cached_polite_and_revalidated,
    limits_retry_after_cap_time_limit_and_failures,
    a_remote_post_gets_its_card_within_the_budget,
    an_edit_that_changes_the_link_changes_the_card,
    cards_no_post_links_are_pruned_in_batches
);

/// One request the page server saw.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HashMap<String, String>,
    at: Instant,
}

#[derive(Default)]
struct PageState {
    seen: Mutex<Vec<Seen>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// `/blocked` answers only once this is true.
    released: tokio::sync::watch::Sender<bool>,
    /// When `/huge` and `/endless` stopped being read (the connection closed), and
    /// whether `/huge` was sent in full.
    closed: Mutex<HashMap<String, (Instant, bool)>>,
    /// Answers of `/limited` so far.
    limited: AtomicUsize,
}

struct PageServer {
    base: String,
    state: Arc<PageState>,
}

impl PageServer {
    async fn start() -> PageServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(PageState::default());
        let s = state.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move { serve(socket, s).await });
            }
        });
        PageServer { base, state }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn seen(&self, path: &str) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

fn page(title: &str, extra: &str) -> String {
    format!(
        "<!doctype html><html><head><title>ignored</title>\
         <meta property=\"og:title\" content=\"{title}\">\
         <meta property=\"og:description\" content=\"About {title}\">\
         <meta property=\"og:image\" content=\"/img/{title}.png\">{extra}</head>\
         <body><p>text</p></body></html>"
    )
}

async fn serve(mut socket: TcpStream, state: Arc<PageState>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let mut lines = head.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/")
        .to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let now_in = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now_in, Ordering::SeqCst);
    state.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        headers: headers.clone(),
        at: Instant::now(),
    });
    // Each answer takes a little while, so overlapping requests would be seen.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let name = path.split('?').next().unwrap_or("").to_string();
    match name.as_str() {
        "/blocked" => {
            let mut released = state.released.subscribe();
            let _ = released.wait_for(|r| *r).await;
            respond(
                &mut socket,
                "200 OK",
                "text/html",
                &[],
                &page("Blocked", ""),
            )
            .await;
        }
        "/og" => {
            if headers.get("if-none-match").map(String::as_str) == Some("\"v1\"") {
                respond(&mut socket, "304 Not Modified", "text/html", &[], "").await;
            } else {
                let title = path.split("t=").nth(1).unwrap_or("Story");
                respond(
                    &mut socket,
                    "200 OK",
                    "text/html; charset=utf-8",
                    &[("ETag", "\"v1\"")],
                    &page(title, ""),
                )
                .await;
            }
        }
        "/oembed-page" => {
            let link = "<link rel=\"alternate\" type=\"application/json+oembed\" href=\"/oembed.json?u=1\">";
            respond(
                &mut socket,
                "200 OK",
                "text/html",
                &[],
                &page("FromTags", link),
            )
            .await;
        }
        "/oembed.json" => {
            let body = r#"{"version":"1.0","type":"link","title":"From oEmbed","author_name":"Ann","provider_name":"Prov","thumbnail_url":"/thumb.png"}"#;
            respond(&mut socket, "200 OK", "application/json", &[], body).await;
        }
        "/limited" => {
            if state.limited.fetch_add(1, Ordering::SeqCst) == 0 {
                respond(
                    &mut socket,
                    "429 Too Many Requests",
                    "text/plain",
                    &[("Retry-After", "2")],
                    "slow down",
                )
                .await;
            } else {
                respond(
                    &mut socket,
                    "200 OK",
                    "text/html",
                    &[],
                    &page("Patient", ""),
                )
                .await;
            }
        }
        "/json" => respond(&mut socket, "200 OK", "application/json", &[], "{}").await,
        "/dead" => {
            respond(
                &mut socket,
                "500 Internal Server Error",
                "text/html",
                &[],
                "no",
            )
            .await
        }
        "/huge" => {
            // The card's tags, then a head that goes on for 32 MiB.
            let start = "<html><head><meta property=\"og:title\" content=\"Huge\">";
            let _ = socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n",
                )
                .await;
            let _ = socket.write_all(start.as_bytes()).await;
            let filler = "<meta name=\"filler\" content=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\">"
                .repeat(256);
            let mut sent = 0;
            let mut complete = true;
            while sent < 32 * 1024 * 1024 {
                if socket.write_all(filler.as_bytes()).await.is_err() {
                    complete = false;
                    break;
                }
                sent += filler.len();
            }
            state
                .closed
                .lock()
                .unwrap()
                .insert(name.clone(), (Instant::now(), complete));
        }
        "/endless" => {
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<html><head>")
                .await;
            let until = Instant::now() + Duration::from_secs(60);
            while Instant::now() < until {
                if socket
                    .write_all(b"<meta name=\"a\" content=\"b\">")
                    .await
                    .is_err()
                {
                    break;
                }
                let _ = socket.flush().await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            state
                .closed
                .lock()
                .unwrap()
                .insert(name.clone(), (Instant::now(), false));
        }
        _ => respond(&mut socket, "404 Not Found", "text/plain", &[], "no").await,
    }
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
}

async fn respond(
    socket: &mut TcpStream,
    status: &str,
    content_type: &str,
    extra: &[(&str, &str)],
    body: &str,
) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = socket.write_all(head.as_bytes()).await;
    let _ = socket.write_all(body.as_bytes()).await;
    let _ = socket.flush().await;
}

/// Settings that let the server reach the page server (loopback, plain HTTP), with
/// short spacing and TTLs.
fn cards_config(c: &mut sluice::config::Config) {
    c.allow_private_addresses = true;
    c.federation.allow_http = true;
    c.cards.host_spacing_ms = 300;
    c.cards.ttl_secs = 3;
    c.cards.failure_ttl_secs = 3600;
    c.cards.timeout_ms = 1500;
    c.cards.max_html_kib = 16;
}

async fn card_of(srv: &TestServer, id: &str, token: &str) -> Value {
    srv.get(&format!("/api/v1/statuses/{id}"), Some(token))
        .await
        .ok()["card"]
        .clone()
}

async fn wait_for_card(srv: &TestServer, id: &str, token: &str) -> Value {
    let mut card = Value::Null;
    eventually("the card", async || {
        card = card_of(srv, id, token).await;
        !card.is_null()
    })
    .await;
    card
}

async fn a_card_arrives_after_the_post_cached_polite_and_revalidated(db: Db) {
    let Some(srv) = TestServer::start(db, cards_config).await else {
        return;
    };
    let pages = PageServer::start().await;
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;

    let mut stream =
        crate::streaming::Sse::open(&srv, "/api/v1/streaming/public/local", &bob.token, None).await;
    // The post is answered while the page server still holds the request: the fetch
    // is not part of posting.
    let blocked = pages.url("/blocked");
    let started = Instant::now();
    let post = tokio::time::timeout(
        Duration::from_secs(20),
        srv.status(&alice, &format!("read {blocked} now"), &[]),
    )
    .await
    .expect("the post is answered while the page is held");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(post["card"].is_null(), "no card yet: {post}");
    let id = post["id"].as_str().unwrap().to_string();
    eventually("the page server to be asked", async || {
        !pages.seen("/blocked").is_empty()
    })
    .await;
    assert!(card_of(&srv, &id, &alice.token).await.is_null());
    pages.state.released.send_replace(true);
    let card = wait_for_card(&srv, &id, &alice.token).await;
    assert_eq!(card["title"], "Blocked");
    assert_eq!(card["url"], blocked);
    assert_eq!(card["type"], "link");
    assert_eq!(card["image"], pages.url("/img/Blocked.png"));
    assert_eq!(card["html"], "");
    assert!(card["authors"].as_array().unwrap().is_empty());
    // Streams hear of the card as they hear of an edit: the post again, with it
    // (`status.update`, which apps apply in place).
    let posted = stream.next().await;
    assert_eq!(posted.event, "update");
    assert_eq!(crate::streaming::status_id(&posted), id);
    let updated = stream.next().await;
    assert_eq!(updated.event, "status.update");
    let payload: Value = serde_json::from_str(&updated.data).unwrap();
    assert_eq!(payload["id"], id.as_str());
    assert_eq!(payload["card"]["title"], "Blocked");
    assert!(payload["edited_at"].is_null(), "not an edit");
    // The web app shows it under the post: a link that passes on nothing, and no image
    // that is not https (the pages' CSP allows https: images only).
    let html = srv.get(&format!("/@alice/{id}"), None).await;
    assert_eq!(html.status, 200);
    let html = html.text;
    let at = html
        .find("class=\"card\"")
        .expect("the card is on the page");
    let card_html = &html[at..at + html[at..].find("</a>").unwrap()];
    // (minijinja escapes `/` as `&#x2f;`, the same URL to a browser)
    let href = format!("href=\"{}\"", blocked.replace('/', "&#x2f;"));
    assert!(card_html.contains(&href), "{card_html}");
    assert!(
        card_html.contains("rel=\"noopener nofollow\""),
        "{card_html}"
    );
    assert!(card_html.contains("Blocked") && card_html.contains("About Blocked"));
    assert!(!card_html.contains("<img"), "{card_html}");

    // Mentions, hashtags and media links are not the post's link; the first page
    // link is. Two posts with one URL: one fetch; the second has the card at once.
    let og = pages.url("/og");
    let first = srv
        .status(
            &alice,
            &format!(
                "@bob #tag {} then {og} and {}",
                pages.url("/pic.png"),
                pages.url("/og?t=Later")
            ),
            &[],
        )
        .await;
    let first_id = first["id"].as_str().unwrap().to_string();
    let card = wait_for_card(&srv, &first_id, &alice.token).await;
    assert_eq!(card["title"], "Story");
    assert_eq!(card["description"], "About Story");
    let second = srv.status(&bob, &format!("also {og}"), &[]).await;
    assert_eq!(second["card"]["title"], "Story", "served from the cache");
    assert_eq!(pages.seen("/og").len(), 1, "one fetch for two posts");
    assert!(pages.seen("/pic.png").is_empty());

    // Several URLs of one host: one request at a time, spaced.
    for n in 1..=4 {
        srv.status(
            &bob,
            &format!("n {}", pages.url(&format!("/og?t=N{n}"))),
            &[],
        )
        .await;
    }
    eventually("four more fetches", async || {
        pages.seen("/og?t=N1").len()
            + pages.seen("/og?t=N2").len()
            + pages.seen("/og?t=N3").len()
            + pages.seen("/og?t=N4").len()
            == 4
    })
    .await;
    assert_eq!(pages.state.max_in_flight.load(Ordering::SeqCst), 1);
    let mut times: Vec<Instant> = pages
        .state
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.at)
        .collect();
    times.sort();
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(300),
            "requests to one host are spaced: {:?}",
            pair[1] - pair[0]
        );
    }

    // oEmbed discovery: the endpoint's answer makes the card.
    let embedded = srv
        .status(&alice, &format!("see {}", pages.url("/oembed-page")), &[])
        .await;
    let card = wait_for_card(&srv, embedded["id"].as_str().unwrap(), &alice.token).await;
    assert_eq!(card["title"], "From oEmbed");
    assert_eq!(card["author_name"], "Ann");
    assert_eq!(card["provider_name"], "Prov");
    assert_eq!(card["image"], pages.url("/thumb.png"));

    // After the TTL the next post revalidates: a conditional GET, a 304, the card kept.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let third = srv.status(&bob, &format!("again {og}"), &[]).await;
    eventually("the conditional GET", async || pages.seen("/og").len() == 2).await;
    let seen = pages.seen("/og");
    assert_eq!(seen[0].headers.get("if-none-match"), None);
    assert_eq!(
        seen[1].headers.get("if-none-match").map(String::as_str),
        Some("\"v1\"")
    );
    assert!(
        !seen[1].headers.contains_key("signature"),
        "pages are not signed"
    );
    let third_id = third["id"].as_str().unwrap().to_string();
    eventually("the revalidated card", async || {
        card_of(&srv, &third_id, &bob.token).await["title"] == "Story"
    })
    .await;

    // The link timeline: the public posts with that card, newest first.
    let encoded: String = url::form_urlencoded::byte_serialize(og.as_bytes()).collect();
    let timeline = srv
        .get(&format!("/api/v1/timelines/link?url={encoded}"), None)
        .await
        .ok();
    let ids: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            third_id.as_str(),
            second["id"].as_str().unwrap(),
            first_id.as_str()
        ]
    );
    let page = srv
        .get(
            &format!("/api/v1/timelines/link?url={encoded}&limit=1"),
            None,
        )
        .await;
    assert!(page.link().contains("max_id="), "paged: {}", page.link());
    srv.get(
        "/api/v1/timelines/link?url=https%3A%2F%2Fnever.example%2F",
        None,
    )
    .await
    .expect(404);
    srv.get("/api/v1/timelines/link", None).await.expect(400);

    // Link trends: the link two accounts shared, with its history.
    let trends = srv.get("/api/v1/trends/links", None).await.ok();
    let trends = trends.as_array().unwrap();
    assert_eq!(
        trends.len(),
        1,
        "only the link two accounts shared: {trends:?}"
    );
    assert_eq!(trends[0]["url"], og);
    assert_eq!(trends[0]["title"], "Story");
    let history = trends[0]["history"].as_array().unwrap();
    assert_eq!(history.len(), 7);
    assert_eq!(history[0]["accounts"], "2");
    assert_eq!(history[0]["uses"], "3");
}

async fn limits_retry_after_cap_time_limit_and_failures(db: Db) {
    let Some(srv) = TestServer::start(db, cards_config).await else {
        return;
    };
    let pages = PageServer::start().await;
    let alice = srv.user("alice").await;

    // 429 with Retry-After: 2: nothing is asked before then, then the card comes.
    let limited = srv
        .status(&alice, &format!("x {}", pages.url("/limited")), &[])
        .await;
    let card = wait_for_card(&srv, limited["id"].as_str().unwrap(), &alice.token).await;
    assert_eq!(card["title"], "Patient");
    let seen = pages.seen("/limited");
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1].at - seen[0].at >= Duration::from_millis(1900),
        "asked again after {:?}",
        seen[1].at - seen[0].at
    );

    // A page far larger than the cap: read up to the cap, the card from its head.
    let huge = srv
        .status(&alice, &format!("x {}", pages.url("/huge")), &[])
        .await;
    let card = wait_for_card(&srv, huge["id"].as_str().unwrap(), &alice.token).await;
    assert_eq!(card["title"], "Huge");
    eventually("the huge page to be left", async || {
        pages.state.closed.lock().unwrap().contains_key("/huge")
    })
    .await;
    assert!(
        !pages.state.closed.lock().unwrap()["/huge"].1,
        "the page was not read to its end"
    );

    // A page that never ends is abandoned at the time limit (1.5 s): no card.
    let endless = srv
        .status(&alice, &format!("x {}", pages.url("/endless")), &[])
        .await;
    eventually("the endless page to be asked", async || {
        !pages.seen("/endless").is_empty()
    })
    .await;
    let asked = pages.seen("/endless")[0].at;
    eventually("the endless page to be abandoned", async || {
        pages.state.closed.lock().unwrap().contains_key("/endless")
    })
    .await;
    let closed = pages.state.closed.lock().unwrap()["/endless"].0;
    assert!(
        closed - asked < Duration::from_secs(10),
        "abandoned after {:?}",
        closed - asked
    );
    assert!(
        card_of(&srv, endless["id"].as_str().unwrap(), &alice.token)
            .await
            .is_null()
    );

    // Not HTML, and a failing site: no card, and the failure is remembered (a second
    // post does not ask again).
    let json = srv
        .status(&alice, &format!("x {}", pages.url("/json")), &[])
        .await;
    let dead = srv
        .status(&alice, &format!("x {}", pages.url("/dead")), &[])
        .await;
    eventually("both asked", async || {
        pages.seen("/json").len() == 1 && pages.seen("/dead").len() == 1
    })
    .await;
    srv.status(&alice, &format!("again {}", pages.url("/dead")), &[])
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(pages.seen("/dead").len(), 1, "a failure is not asked again");
    assert!(
        card_of(&srv, json["id"].as_str().unwrap(), &alice.token)
            .await
            .is_null()
    );
    assert!(
        card_of(&srv, dead["id"].as_str().unwrap(), &alice.token)
            .await
            .is_null()
    );
    assert_eq!(pages.state.max_in_flight.load(Ordering::SeqCst), 1);
}

async fn a_remote_post_gets_its_card_within_the_budget(db: Db) {
    let Some(a) = TestServer::start(db, |c| {
        peer("127.0.0.2")(c);
        // Only b fetches: its budget is what is tested.
        c.cards.enabled = false;
    })
    .await
    else {
        return;
    };
    let Some(b) = TestServer::start(db, |c| {
        peer("127.0.0.3")(c);
        cards_config(c);
        c.cards.remote_per_minute = 1;
    })
    .await
    else {
        return;
    };
    let pages = PageServer::start().await;
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let a_domain = a.url.trim_start_matches("http://").to_string();
    follow_remote(&b, &bob, &format!("alice@{a_domain}")).await;

    a.status(&alice, &format!("first {}", pages.url("/og?t=One")), &[])
        .await;
    a.status(&alice, &format!("second {}", pages.url("/og?t=Two")), &[])
        .await;
    let mut home = Value::Null;
    eventually("both posts on b", async || {
        home = b.get("/api/v1/timelines/home", Some(&bob.token)).await.ok();
        home.as_array().is_some_and(|h| h.len() == 2)
    })
    .await;
    // The first to arrive is within the budget (one a minute) and gets its card; the
    // other is not fetched.
    eventually("one remote link fetched", async || {
        pages.seen("/og?t=One").len() + pages.seen("/og?t=Two").len() == 1
    })
    .await;
    let fetched = if pages.seen("/og?t=One").is_empty() {
        "Two"
    } else {
        "One"
    };
    let mut cards = Vec::new();
    for post in home.as_array().unwrap() {
        let id = post["id"].as_str().unwrap();
        if post["content"]
            .as_str()
            .unwrap()
            .contains(&format!("t={fetched}"))
        {
            cards.push(wait_for_card(&b, id, &bob.token).await["title"].clone());
        }
    }
    assert_eq!(cards, vec![Value::from(fetched)]);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        pages.seen("/og?t=One").len() + pages.seen("/og?t=Two").len(),
        1,
        "over the budget: not fetched"
    );
    for post in home.as_array().unwrap() {
        if !post["content"]
            .as_str()
            .unwrap()
            .contains(&format!("t={fetched}"))
        {
            assert!(
                card_of(&b, post["id"].as_str().unwrap(), &bob.token)
                    .await
                    .is_null()
            );
        }
    }
}

/// PUTs a new text for the post `id`.
async fn edit_text(srv: &TestServer, token: &str, id: &str, text: &str) -> Value {
    srv.request(
        reqwest::Method::PUT,
        &format!("/api/v1/statuses/{id}"),
        Some(token),
        Some(Body::Form(vec![("status".into(), text.into())])),
    )
    .await
    .ok()
}

/// An edit that changes the post's first link gets the new link's card (fetched anew,
/// its arrival a `status.update`); one that keeps the link fetches nothing; one that
/// removes the link drops the card.
async fn an_edit_that_changes_the_link_changes_the_card(db: Db) {
    let Some(srv) = TestServer::start(db, cards_config).await else {
        return;
    };
    let pages = PageServer::start().await;
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let first = pages.url("/og?t=First");
    let post = srv.status(&alice, &format!("see {first}"), &[]).await;
    let id = post["id"].as_str().unwrap().to_string();
    assert_eq!(
        wait_for_card(&srv, &id, &alice.token).await["title"],
        "First"
    );

    // The same link, other words: nothing fetched, the card stays.
    let asked = pages.seen("/og?t=First").len();
    let e = edit_text(&srv, &alice.token, &id, &format!("still {first}")).await;
    assert_eq!(e["card"]["title"], "First", "{e}");
    assert_eq!(pages.seen("/og?t=First").len(), asked);

    let mut stream =
        crate::streaming::Sse::open(&srv, "/api/v1/streaming/public/local", &bob.token, None).await;
    let second = pages.url("/og?t=Second");
    let e = edit_text(&srv, &alice.token, &id, &format!("now {second}")).await;
    assert!(
        e["card"].is_null() || e["card"]["title"] == "Second",
        "the old card is gone: {e}"
    );
    // The edit, then (unless the card came before the edit was sent) the card.
    let mut arrived = Value::Null;
    for _ in 0..2 {
        let ev = stream.next().await;
        assert_eq!(ev.event, "status.update");
        let payload: Value = serde_json::from_str(&ev.data).unwrap();
        assert_eq!(payload["id"], id.as_str());
        if payload["card"]["title"] == "Second" {
            arrived = payload;
            break;
        }
        assert!(payload["card"].is_null(), "{payload}");
    }
    assert_eq!(arrived["card"]["url"], second, "the new card was announced");
    assert_eq!(pages.seen("/og?t=Second").len(), 1);
    assert_eq!(card_of(&srv, &id, &alice.token).await["title"], "Second");

    // The link removed: no card any more.
    let e = edit_text(&srv, &alice.token, &id, "no link now").await;
    assert!(e["card"].is_null(), "{e}");
    assert!(card_of(&srv, &id, &alice.token).await.is_null());
    let linked = srv
        .get(
            &format!("/api/v1/timelines/link?url={second}"),
            Some(&bob.token),
        )
        .await;
    assert_eq!(linked.status, 200, "{}", linked.text);
    assert!(
        linked.body.as_array().unwrap().is_empty(),
        "{}",
        linked.text
    );
    srv.stop().await;
}

/// Maintenance removes cached cards past their time that no post links any more (a
/// post deleted or edited away from the link), in batches of
/// `CARD_PRUNE_BATCH` per run, and keeps those a post still links.
async fn cards_no_post_links_are_pruned_in_batches(db: Db) {
    let Some(srv) = TestServer::start(db, cards_config).await else {
        return;
    };
    let pages = PageServer::start().await;
    let alice = srv.user("alice").await;
    let kept = pages.url("/og?t=Kept");
    let gone = pages.url("/og?t=Gone");
    let edited = pages.url("/og?t=Edited");
    let a = srv.status(&alice, &format!("a {kept}"), &[]).await;
    let b = srv.status(&alice, &format!("b {gone}"), &[]).await;
    let c = srv.status(&alice, &format!("c {edited}"), &[]).await;
    for p in [&a, &b, &c] {
        wait_for_card(&srv, p["id"].as_str().unwrap(), &alice.token).await;
    }
    let r = srv
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/statuses/{}", b["id"].as_str().unwrap()),
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    edit_text(&srv, &alice.token, c["id"].as_str().unwrap(), "no link").await;
    let store = srv.store();
    let cards = async |url: &str| {
        store
            .one::<sluice_store::Scalar>(
                sluice_store::Query::new("SELECT count(*) AS v FROM preview_cards WHERE url = $1")
                    .bind(url),
            )
            .await
            .unwrap()
            .v
    };
    // Not past their time yet: nothing is removed.
    store
        .exec(sluice_store::Query::new(
            "UPDATE preview_cards SET expires_at = 9000000000000",
        ))
        .await
        .unwrap();
    let r = srv.engine().maintain().await.unwrap();
    assert_eq!(r.cards_pruned, 0);
    // More unlinked entries than one run removes, all past their time.
    let batch = sluice_engine::maintenance::CARD_PRUNE_BATCH;
    store
        .exec(
            sluice_store::Query::new(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
                 INSERT INTO preview_cards (url, host, card, fetched_at, expires_at)
                 SELECT 'https://old.example/' || i, 'old.example:443', NULL, 0, 1 FROM n",
            )
            .bind(batch),
        )
        .await
        .unwrap();
    store
        .exec(sluice_store::Query::new(
            "UPDATE preview_cards SET expires_at = 1",
        ))
        .await
        .unwrap();
    let total = srv.count("preview_cards").await;
    assert_eq!(total, batch + 3);
    let r = srv.engine().maintain().await.unwrap();
    assert_eq!(r.cards_pruned, batch as u64, "one batch per run");
    let r = srv.engine().maintain().await.unwrap();
    assert_eq!(r.cards_pruned, 2, "the rest in the next run");
    assert_eq!(srv.engine().maintain().await.unwrap().cards_pruned, 0);
    assert_eq!(cards(&kept).await, 1, "a post still links it");
    assert_eq!(cards(&gone).await, 0, "its post was deleted");
    assert_eq!(cards(&edited).await, 0, "its post was edited away from it");
    assert_eq!(
        card_of(&srv, a["id"].as_str().unwrap(), &alice.token).await["title"],
        "Kept"
    );
    srv.stop().await;
}
