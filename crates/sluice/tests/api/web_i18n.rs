//! The web app's languages: the catalog a request's `Accept-Language` chooses among
//! the built-in English one and those of `SLUICE_LOCALES_DIR`, the English fallback
//! for a message a catalog lacks, plurals, and a malformed catalog stopping the start.

use crate::common::{Db, TestServer};

db_tests!(
    accept_language_chooses_the_catalog,
    plurals_follow_the_count,
    the_script_and_the_posts_speak_the_pages_language,
);

/// A small German catalog: a handful of the English catalog's messages.
const DE: &str = "\
nav-sign-in = Anmelden
about-rules = Regeln
error-not-found = Diese Seite gibt es hier nicht.
status-replies-to-this =
    { $count ->
        [one] eine Antwort darauf
       *[other] { $count } Antworten darauf
    }
";

/// A fresh directory holding `files`.
fn locales_dir(files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sluice-locales-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

async fn start_with_german(db: Db) -> Option<TestServer> {
    let dir = locales_dir(&[("de.ftl", DE)]);
    TestServer::start(db, |c| c.locales_dir = Some(dir)).await
}

/// A page fetched with `accept_language` (none when None): status, `Vary`, HTML.
async fn fetch(
    srv: &TestServer,
    path: &str,
    accept_language: Option<&str>,
) -> (u16, String, String) {
    let mut req = srv.http.get(format!("{}{path}", srv.url));
    if let Some(l) = accept_language {
        req = req.header("accept-language", l);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let vary = r
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    (status, vary, r.text().await.unwrap())
}

async fn accept_language_chooses_the_catalog(db: Db) {
    let Some(srv) = start_with_german(db).await else {
        return;
    };
    // German asked for first: the German words, English for what de.ftl lacks.
    let (status, vary, html) = fetch(&srv, "/about", Some("de-DE,de;q=0.9,en;q=0.5")).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"de\">"), "{html}");
    assert!(html.contains(">Anmelden</a>"), "{html}");
    assert!(html.contains("<h2>Regeln</h2>"), "{html}");
    assert!(
        html.contains("<h2>Contact</h2>"),
        "English fallback: {html}"
    );
    assert!(
        vary.to_ascii_lowercase().contains("accept-language"),
        "Vary: {vary}"
    );
    // The weights order the languages, not their place in the header.
    let (_, _, html) = fetch(&srv, "/about", Some("en;q=0.2, de;q=0.8")).await;
    assert!(html.contains("<html lang=\"de\">"), "{html}");
    // A language with no catalog, or none asked for: English.
    for asked in [Some("fr"), Some("fr-CA, pt;q=0.5"), None, Some(";;,q=x")] {
        let (status, vary, html) = fetch(&srv, "/about", asked).await;
        assert_eq!(status, 200, "{asked:?}: {html}");
        assert!(html.contains("<html lang=\"en\">"), "{asked:?}: {html}");
        assert!(html.contains(">Sign in</a>"), "{asked:?}: {html}");
        assert!(!html.contains("Anmelden"), "{asked:?}: {html}");
        assert!(html.contains("<h2>Rules</h2>"), "{asked:?}: {html}");
        assert!(
            vary.to_ascii_lowercase().contains("accept-language"),
            "{asked:?}: Vary: {vary}"
        );
    }
    // An error page speaks the language too.
    let (status, _, html) = fetch(&srv, "/@nobody-here", Some("de")).await;
    assert_eq!(status, 404, "{html}");
    assert!(html.contains("<html lang=\"de\">"), "{html}");
    assert!(html.contains("Diese Seite gibt es hier nicht."), "{html}");
    let (status, _, html) = fetch(&srv, "/@nobody-here", None).await;
    assert_eq!(status, 404, "{html}");
    assert!(html.contains("The page you are looking for isn"), "{html}");
    srv.stop().await;
}

async fn plurals_follow_the_count(db: Db) {
    let Some(srv) = start_with_german(db).await else {
        return;
    };
    let alice = srv.user("alice").await;
    // root ← one (← a) and two (← b, ← c): "1 reply", then "2 replies".
    let root = srv.status(&alice, "root", &[]).await;
    let root_id = root["id"].as_str().unwrap().to_string();
    let one = srv
        .status(&alice, "one", &[("in_reply_to_id", &root_id)])
        .await;
    let one_id = one["id"].as_str().unwrap().to_string();
    srv.status(&alice, "a", &[("in_reply_to_id", &one_id)])
        .await;
    let two = srv
        .status(&alice, "two", &[("in_reply_to_id", &root_id)])
        .await;
    let two_id = two["id"].as_str().unwrap().to_string();
    for text in ["b", "c"] {
        srv.status(&alice, text, &[("in_reply_to_id", &two_id)])
            .await;
    }
    let path = format!("/@alice/{root_id}");
    let (status, _, html) = fetch(&srv, &path, None).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<summary>1 reply to this</summary>"),
        "{html}"
    );
    assert!(
        html.contains("<summary>2 replies to this</summary>"),
        "{html}"
    );
    let (_, _, html) = fetch(&srv, &path, Some("de")).await;
    assert!(
        html.contains("<summary>eine Antwort darauf</summary>"),
        "{html}"
    );
    assert!(
        html.contains("<summary>2 Antworten darauf</summary>"),
        "{html}"
    );
    srv.stop().await;
}

/// A catalog that does not parse stops the server's start, naming the file and line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_catalog_stops_the_start() {
    let locales = locales_dir(&[
        ("de.ftl", DE),
        ("fr.ftl", "nav-home = Accueil\nnav-lists = {\n"),
    ]);
    let data = locales_dir(&[]);
    let config = sluice::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data,
        locales_dir: Some(locales.clone()),
        drain_grace_ms: 0,
        ..sluice::Config::default()
    };
    let listener = sluice::Listener::bind(&config.listen).await.unwrap();
    let e = match sluice::start_with(&config, listener, axum::Router::new()).await {
        Ok(_) => panic!("started with a malformed catalog"),
        Err(e) => format!("{e:#}"),
    };
    let file = locales.join("fr.ftl").display().to_string();
    assert!(e.contains(&file), "{e}");
    assert!(e.contains("line 2"), "{e}");
    // A file whose name is no language tag is refused too.
    let locales = locales_dir(&[("not a language!.ftl", "nav-home = x\n")]);
    let config = sluice::Config {
        locales_dir: Some(locales),
        ..config
    };
    let listener = sluice::Listener::bind(&config.listen).await.unwrap();
    let e = match sluice::start_with(&config, listener, axum::Router::new()).await {
        Ok(_) => panic!("started with a catalog named by no language"),
        Err(e) => format!("{e:#}"),
    };
    assert!(e.contains("not a language!.ftl"), "{e}");
}

/// The JSON object of the page script's words that a page carries.
fn script_strings(html: &str) -> serde_json::Value {
    let start = "<script type=\"application/json\" id=\"sluice-strings\">";
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("no script strings: {html}"))
        + start.len();
    let to = from + html[from..].find("</script>").unwrap();
    serde_json::from_str(&html[from..to]).unwrap()
}

/// A signed-in page in German: the posts' buttons and counts, and the words the page
/// script shows (carried by the page, English where the catalog lacks them).
async fn the_script_and_the_posts_speak_the_pages_language(db: Db) {
    let dir = locales_dir(&[(
        "de.ftl",
        "script-characters-left = noch { $n } Zeichen\nstatus-favourite = Favorisieren\n",
    )]);
    let Some(srv) = TestServer::start(db, |c| c.locales_dir = Some(dir)).await else {
        return;
    };
    let bob = srv.user("bob").await;
    srv.status(&bob, "hallo <welt> & \"so\"", &[]).await;
    let mut b = crate::web::Browser::new(&srv);
    b.sign_in("bob", "password123").await;
    let home = |lang: &'static str| {
        srv.http
            .get(format!("{}/home", srv.url))
            .header("cookie", b.cookie_header())
            .header("accept-language", lang)
            .send()
    };
    let de = home("de").await.unwrap().text().await.unwrap();
    assert!(de.contains(">Favorisieren</button>"), "{de}");
    // Counts the German catalog lacks: English, with English plurals.
    assert!(de.contains("0 replies · 0 boosts · 0 favourites"), "{de}");
    let words = script_strings(&de);
    assert_eq!(words["characters-left"], "noch {n} Zeichen");
    assert_eq!(words["reconnected"], "Connected again: nothing was missed.");
    let en = home("en").await.unwrap().text().await.unwrap();
    assert!(en.contains(">Favourite</button>"), "{en}");
    assert_eq!(
        script_strings(&en)["characters-left"],
        "{n} characters left"
    );
    // Visitors' pages have nothing for the script to say.
    let about = srv
        .http
        .get(format!("{}/about", srv.url))
        .send()
        .await
        .unwrap();
    assert!(!about.text().await.unwrap().contains("sluice-strings"));
    srv.stop().await;
}
