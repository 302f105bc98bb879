//! `sluice-bench admin seed`: a tiny plan seeded into a fresh SQLite database (and into a fresh
//! PostgreSQL schema when `SLUICE_TEST_DATABASE_URL` is set), then the rows and every
//! denormalized counter checked against the rows themselves.

use std::collections::{HashMap, HashSet};

use sluice::Config;
use sluice_bench::seed::{SeedPlan, SeedSummary, seed_quiet};
use sluice_engine::Engine;
use sluice_store::{Page, PairRow, Query, Scalar, StatusRow};

const ACCOUNTS: usize = 20;
const STATUSES: usize = 200;
const FOLLOWS: usize = 5;
const PASSWORD: &str = "correct horse battery";

fn plan() -> SeedPlan {
    SeedPlan {
        accounts: ACCOUNTS,
        statuses: STATUSES,
        follows: FOLLOWS,
        password: PASSWORD.into(),
        thread_replies: 0,
    }
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{nanos}", std::process::id())
}

async fn pg_exec(url: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to SLUICE_TEST_DATABASE_URL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .expect(sql);
    let _ = conn.close().await;
}

async fn scalar(engine: &Engine, sql: &str) -> i64 {
    engine
        .store_for_tests()
        .one::<Scalar>(Query::new(sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .v
}

async fn pairs(engine: &Engine, sql: &str) -> Vec<(i64, i64)> {
    engine
        .store_for_tests()
        .all::<PairRow>(Query::new(sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|p| (p.a, p.b))
        .collect()
}

/// Seeds the plan into the database `config` names and checks everything.
async fn seed_and_check(config: Config) {
    let store = sluice::open_store(&config).await.expect("store opens");
    let engine = sluice::build_engine(&config, store, None, sluice::Identity::Record)
        .await
        .expect("engine builds");

    let first = seed_quiet(&engine, engine.store_for_tests(), plan(), false)
        .await
        .expect("seed runs");
    assert_eq!(first.accounts, ACCOUNTS as u64);
    assert_eq!(first.follows, (ACCOUNTS * FOLLOWS) as u64);
    assert_eq!(first.statuses, STATUSES as u64);
    check(&engine, &first).await;

    // A rerun continues instead of duplicating: nothing is missing, so nothing is added.
    let again = seed_quiet(&engine, engine.store_for_tests(), plan(), false)
        .await
        .expect("rerun works");
    assert_eq!(
        (again.accounts, again.follows, again.statuses),
        (0, 0, 0),
        "a rerun of the same plan adds nothing"
    );
    check(&engine, &first).await;

    // A bigger plan on top adds only the difference.
    let more = seed_quiet(
        &engine,
        engine.store_for_tests(),
        SeedPlan {
            accounts: ACCOUNTS + 5,
            statuses: STATUSES + 50,
            ..plan()
        },
        false,
    )
    .await
    .expect("bigger plan works");
    assert_eq!(more.accounts, 5);
    assert_eq!(more.statuses, 50);
    assert_eq!(
        scalar(
            &engine,
            "SELECT CAST(sum(statuses_count) AS BIGINT) AS v FROM accounts"
        )
        .await,
        (STATUSES + 50) as i64
    );

    engine.store_for_tests().close().await;
}

async fn check(engine: &Engine, summary: &SeedSummary) {
    let domain = engine.urls.domain().to_string();

    // Accounts and users.
    assert_eq!(
        scalar(
            engine,
            "SELECT count(*) AS v FROM accounts WHERE domain = ''"
        )
        .await,
        ACCOUNTS as i64
    );
    assert_eq!(
        scalar(
            engine,
            "SELECT count(*) AS v FROM users WHERE email LIKE '%@seed.invalid' AND approved = TRUE"
        )
        .await,
        ACCOUNTS as i64
    );
    let user1 = engine
        .store_for_tests()
        .account_by_acct("user1", &domain)
        .await
        .unwrap()
        .expect("user1 exists");
    assert_eq!(user1.uri, engine.urls.actor("user1"));
    assert_eq!(user1.url, engine.urls.profile("user1"));
    assert_eq!(user1.inbox_url, engine.urls.inbox("user1"));
    assert_eq!(user1.followers_url, engine.urls.followers("user1"));
    assert!(
        engine
            .store_for_tests()
            .account_by_acct(&format!("user{ACCOUNTS}"), &domain)
            .await
            .unwrap()
            .is_some()
    );
    // Every user shares one hash of the plan's password, and it signs in.
    assert_eq!(
        scalar(
            engine,
            "SELECT count(DISTINCT password_hash) AS v FROM users"
        )
        .await,
        1
    );
    let Ok(sluice_engine::sign_in::SignIn::Done(user)) = engine
        .sign_in("user7@seed.invalid", PASSWORD, &Default::default())
        .await
    else {
        panic!("seeded user signs in with the plan's password");
    };
    assert!(
        engine
            .sign_in("user7", "wrong password", &Default::default())
            .await
            .is_err()
    );
    assert!(user.account_id > 0);

    // Follows: FOLLOWS each, never oneself, never twice, each with a uri.
    assert_eq!(
        scalar(engine, "SELECT count(*) AS v FROM follows").await,
        (ACCOUNTS * FOLLOWS) as i64
    );
    assert_eq!(
        scalar(
            engine,
            "SELECT count(*) AS v FROM follows WHERE account_id = target_account_id OR uri = ''"
        )
        .await,
        0
    );
    let follows = pairs(
        engine,
        "SELECT account_id AS a, target_account_id AS b FROM follows",
    )
    .await;
    let distinct: HashSet<_> = follows.iter().collect();
    assert_eq!(distinct.len(), follows.len());

    // Counters agree with the rows, for every account.
    let mut followers: HashMap<i64, i64> = HashMap::new();
    let mut following: HashMap<i64, i64> = HashMap::new();
    for (a, b) in &follows {
        *following.entry(*a).or_default() += 1;
        *followers.entry(*b).or_default() += 1;
    }
    let accounts = pairs(engine, "SELECT id AS a, followers_count AS b FROM accounts").await;
    for (id, n) in &accounts {
        assert_eq!(
            *n,
            followers.get(id).copied().unwrap_or(0),
            "followers of {id}"
        );
    }
    for (id, n) in pairs(engine, "SELECT id AS a, following_count AS b FROM accounts").await {
        assert_eq!(n, FOLLOWS as i64, "following of {id}");
        assert_eq!(n, following.get(&id).copied().unwrap_or(0));
    }
    assert_eq!(
        scalar(
            engine,
            "SELECT CAST(sum(statuses_count) AS BIGINT) AS v FROM accounts"
        )
        .await,
        STATUSES as i64
    );
    let mismatched = scalar(
        engine,
        "SELECT count(*) AS v FROM accounts a WHERE a.statuses_count <>
           (SELECT count(*) FROM statuses s WHERE s.account_id = a.id)
         OR COALESCE(a.last_status_at, -1) <>
           COALESCE((SELECT max(s.created_at) FROM statuses s WHERE s.account_id = a.id), -1)",
    )
    .await;
    assert_eq!(
        mismatched, 0,
        "statuses_count and last_status_at match the rows"
    );
    let wrong_replies = scalar(
        engine,
        "SELECT count(*) AS v FROM statuses s WHERE s.replies_count <>
           (SELECT count(*) FROM statuses r WHERE r.in_reply_to_id = s.id)",
    )
    .await;
    assert_eq!(wrong_replies, 0, "replies_count matches the replies");

    // Statuses: time-sortable ids, sanitized paragraphs, a visibility mix, replies in
    // their parent's thread, hashtags linked.
    let all: Vec<StatusRow> = engine
        .store_for_tests()
        .all(Query::new(format!(
            "SELECT {} FROM statuses s ORDER BY s.id",
            sluice_store::STATUS_COLUMNS
        )))
        .await
        .unwrap();
    assert_eq!(all.len(), STATUSES);
    let by_id: HashMap<i64, &StatusRow> = all.iter().map(|s| (s.id, s)).collect();
    let now = sluice_model::id::now_millis();
    for w in all.windows(2) {
        assert!(
            w[0].created_at <= w[1].created_at,
            "ids sort by creation time"
        );
    }
    let mut replies = 0;
    for s in &all {
        assert_eq!(sluice_model::id::millis_of(s.id), s.created_at);
        assert!(s.created_at < now && s.created_at > now - 31 * 24 * 3600 * 1000);
        assert!(
            s.content.starts_with("<p>") && s.content.ends_with("</p>"),
            "{}",
            s.content
        );
        assert!(!s.source_text.is_empty());
        assert!(s.local);
        assert!(["public", "unlisted", "private"].contains(&s.visibility.as_str()));
        if let Some(pid) = s.in_reply_to_id {
            replies += 1;
            let parent = by_id.get(&pid).expect("parent exists");
            assert!(parent.id < s.id);
            assert_eq!(s.thread_id, parent.thread_id);
            assert_eq!(s.in_reply_to_account_id, Some(parent.account_id));
        } else {
            assert_eq!(s.thread_id, s.id);
        }
    }
    assert!(replies > 0, "some statuses are replies");
    let public = all.iter().filter(|s| s.visibility == "public").count();
    assert!(public * 2 > STATUSES, "mostly public ({public})");
    assert!(all.iter().any(|s| s.visibility != "public"));
    let links = scalar(engine, "SELECT count(*) AS v FROM status_tags").await;
    assert!(links > 0, "some statuses carry hashtags");
    assert_eq!(links as u64, summary.tags);
    let tagged = all
        .iter()
        .find(|s| s.source_text.contains('#'))
        .expect("a tagged status");
    assert!(tagged.content.contains(&engine.urls.tag("")));

    // user1's home timeline: only user1 and the accounts user1 follows.
    let mut allowed: HashSet<i64> = follows
        .iter()
        .filter(|(a, _)| *a == user1.id)
        .map(|(_, b)| *b)
        .collect();
    assert_eq!(allowed.len(), FOLLOWS);
    allowed.insert(user1.id);
    let home = engine
        .store_for_tests()
        .home_timeline(
            user1.id,
            true,
            &[],
            Page {
                limit: 40,
                ..Page::default()
            },
        )
        .await
        .unwrap();
    // The page's entries (the statuses they reblog may be by anyone).
    let home: Vec<_> = home
        .into_iter()
        .filter(|v| v.requested)
        .map(|v| v.status)
        .collect();
    assert!(!home.is_empty(), "user1's home timeline has posts");
    for s in &home {
        assert!(
            allowed.contains(&s.account_id),
            "status {} by {} in user1's home",
            s.id,
            s.account_id
        );
    }
    for w in home.windows(2) {
        assert!(w[0].id > w[1].id, "home is newest first");
    }
}

/// Runs `check` on a new SQLite database in a temporary directory.
async fn on_sqlite<F, Fut>(prefix: &str, check: F)
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&dir).unwrap();
    let config = Config {
        data_dir: dir.clone(),
        ..Config::default()
    };
    check(config).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `check` on a new schema of `SLUICE_TEST_DATABASE_URL` (skipped when it is not
/// set); the schema and the data directory go whatever happens to the test.
async fn on_postgres<F, Fut>(prefix: &str, check: F)
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Ok(base) = std::env::var("SLUICE_TEST_DATABASE_URL") else {
        eprintln!("skipped: SLUICE_TEST_DATABASE_URL is not set");
        return;
    };
    let schema = unique(prefix).to_lowercase();
    pg_exec(&base, &format!("CREATE SCHEMA {schema}")).await;
    let sep = if base.contains('?') { '&' } else { '?' };
    let dir = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&dir).unwrap();
    let config = Config {
        data_dir: dir.clone(),
        database_url: Some(format!("{base}{sep}options=-c%20search_path%3D{schema}")),
        ..Config::default()
    };
    let outcome = tokio::spawn(check(config)).await;
    pg_exec(&base, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_sqlite() {
    on_sqlite("sluice-seed-test", seed_and_check).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_postgres() {
    on_postgres("seed", seed_and_check).await;
}

/// The thread-context conversation: a public root by an account user1 follows, its
/// replies from several accounts in a mix of visibilities, kept on a rerun; and what
/// the benchmark asks for, `GET /api/v1/statuses/:id/context` as user1 from the real
/// server, shows user1 exactly the replies it may see.
async fn thread_and_check(config: Config) {
    const REPLIES: usize = 20;
    let store = sluice::open_store(&config).await.expect("store opens");
    let engine = sluice::build_engine(&config, store, None, sluice::Identity::Record)
        .await
        .expect("engine builds");
    let with_thread = || SeedPlan {
        thread_replies: REPLIES,
        ..plan()
    };
    let first = seed_quiet(&engine, engine.store_for_tests(), with_thread(), false)
        .await
        .expect("seed runs");
    assert_eq!(first.statuses, STATUSES as u64, "the thread is not counted");
    assert_eq!(first.thread_replies, REPLIES as u64);
    let root_id = first.thread_root.expect("a thread root");
    let again = seed_quiet(&engine, engine.store_for_tests(), with_thread(), false)
        .await
        .expect("rerun works");
    assert_eq!((again.statuses, again.thread_replies), (0, 0));
    assert_eq!(again.thread_root, Some(root_id), "the thread is kept");

    let thread: Vec<StatusRow> = engine.store_for_tests().thread(root_id).await.unwrap();
    assert_eq!(thread.len(), REPLIES + 1);
    let root = &thread[0];
    assert_eq!(root.id, root_id);
    assert_eq!(root.visibility, "public");
    assert_eq!(root.in_reply_to_id, None);
    assert!(root.source_text.starts_with("Benchmark thread:"));
    let newest_other = scalar(
        &engine,
        &format!("SELECT max(id) AS v FROM statuses WHERE thread_id <> {root_id}"),
    )
    .await;
    assert!(
        root_id > newest_other,
        "the thread is the newest conversation"
    );
    let by_id: HashMap<i64, &StatusRow> = thread.iter().map(|s| (s.id, s)).collect();
    for r in &thread[1..] {
        let parent = by_id[&r.in_reply_to_id.expect("a reply")];
        assert_eq!(r.in_reply_to_account_id, Some(parent.account_id));
        assert!(r.id > parent.id);
    }
    let authors: HashSet<i64> = thread.iter().map(|s| s.account_id).collect();
    assert!(
        authors.len() >= 4,
        "several accounts take part ({authors:?})"
    );
    for v in ["public", "unlisted", "private"] {
        assert!(
            thread[1..].iter().any(|s| s.visibility == v),
            "some replies are {v}"
        );
    }
    let root_replies = scalar(
        &engine,
        &format!("SELECT replies_count AS v FROM statuses WHERE id = {root_id}"),
    )
    .await;
    let direct = thread[1..]
        .iter()
        .filter(|s| s.in_reply_to_id == Some(root_id))
        .count();
    assert_eq!(root_replies, direct as i64, "replies_count of the root");

    // What user1 may see: public and unlisted replies, and followers-only ones of
    // accounts it follows or its own.
    let domain = engine.urls.domain().to_string();
    let user1 = engine
        .store_for_tests()
        .account_by_acct("user1", &domain)
        .await
        .unwrap()
        .expect("user1");
    let mut followed: HashSet<i64> = pairs(
        &engine,
        &format!(
            "SELECT account_id AS a, target_account_id AS b FROM follows WHERE account_id = {}",
            user1.id
        ),
    )
    .await
    .into_iter()
    .map(|(_, b)| b)
    .collect();
    assert!(
        followed.contains(&root.account_id),
        "user1 follows the root's author"
    );
    assert!(
        authors
            .iter()
            .any(|a| *a != user1.id && !followed.contains(a)),
        "accounts user1 does not follow take part"
    );
    followed.insert(user1.id);
    let mut visible: Vec<String> = thread[1..]
        .iter()
        .filter(|s| s.visibility != "private" || followed.contains(&s.account_id))
        .map(|s| s.id.to_string())
        .collect();
    assert!(
        visible.len() < REPLIES,
        "some replies are hidden from user1"
    );
    engine.store_for_tests().close().await;

    let listener = sluice::Listener::bind("127.0.0.1:0").await.unwrap();
    let running = sluice::start(&config, listener)
        .await
        .expect("server starts");
    let base = format!("http://{}", running.addr.expect("a TCP address"));
    let http = reqwest::Client::new();
    let app: serde_json::Value = http
        .post(format!("{base}/api/v1/apps"))
        .form(&[
            ("client_name", "seed-test"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ("scopes", "read"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token: serde_json::Value = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", app["client_id"].as_str().unwrap()),
            ("client_secret", app["client_secret"].as_str().unwrap()),
            ("username", "user1"),
            ("password", PASSWORD),
            ("scope", "read"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().expect("a token").to_string();
    let context: serde_json::Value = http
        .get(format!("{base}/api/v1/statuses/{root_id}/context"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    running.stop().await;
    assert_eq!(context["ancestors"].as_array().unwrap().len(), 0);
    let mut shown: Vec<String> = context["descendants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    shown.sort();
    visible.sort();
    assert_eq!(shown, visible, "the replies user1 may see, and only those");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_a_thread_sqlite() {
    on_sqlite("sluice-seed-thread-test", thread_and_check).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_a_thread_postgres() {
    on_postgres("seed_thread", thread_and_check).await;
}
