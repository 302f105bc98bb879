//! `sluice admin backup FILE`, the real binary, against a server that keeps writing:
//! the copy passes `integrity_check`, and a server started on it (the restore of
//! docs/operations.md) serves what was written before the backup began, and of what
//! was written during it, a beginning without holes.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::StatusCode;
use sluice_store::Query;

use crate::common::{Db, TestServer};

db_tests!(backup_of_a_server_that_keeps_writing);

/// Runs `sluice admin backup FILE` in `dir` (which holds no settings) with the settings
/// in `env`, and nothing else of ours from the environment.
async fn admin_backup(dir: &Path, file: &Path, env: &[(&str, String)]) -> Output {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_sluice"));
    c.current_dir(dir)
        .env("RUST_LOG", "warn")
        .args(["admin", "backup"])
        .arg(file);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SLUICE_")) {
        c.env_remove(k);
    }
    c.envs(env.iter().map(|(k, v)| (k, v)));
    c.output().await.expect("sluice runs")
}

async fn backup_of_a_server_that_keeps_writing(db: Db) {
    let Some(srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let work = std::env::temp_dir().join(format!(
        "sluice-backup-{}-{}",
        std::process::id(),
        sluice_model::id::now_millis()
    ));
    std::fs::create_dir_all(&work).unwrap();
    let copy = work.join("copy.db");

    if db == Db::Postgres {
        // PostgreSQL has its own tools; the command says which, and fails.
        let url = srv.config.database_url.clone().unwrap();
        let out = admin_backup(&work, &copy, &[("SLUICE_DATABASE_URL", url)]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains("pg_dump") && stderr.contains("pg_restore"),
            "{stderr}"
        );
        assert!(!copy.exists());
        let _ = std::fs::remove_dir_all(&work);
        srv.stop().await;
        return;
    }

    let alice = srv.user("alice").await;
    let mut before = Vec::new();
    for i in 0..20 {
        let s = srv
            .status(&alice, &format!("before the backup {i}"), &[])
            .await;
        before.push(s["id"].as_str().unwrap().to_string());
    }
    // Ballast, so that the copy takes many steps (about 20 MiB: 80 steps of 1 MiB).
    let store = &srv.store();
    store
        .exec(Query::new(
            "CREATE TABLE test_ballast (id INTEGER PRIMARY KEY, pad BLOB NOT NULL)",
        ))
        .await
        .unwrap();
    store
        .exec(Query::new(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
             INSERT INTO test_ballast SELECT i, randomblob(4000) FROM n",
        ))
        .await
        .unwrap();

    // alice keeps posting while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (http, url, token, stop) = (
            srv.http.clone(),
            srv.url.clone(),
            alice.token.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut during = Vec::new();
            while !stop.load(Ordering::Relaxed) && during.len() < 5_000 {
                let r = http
                    .post(format!("{url}/api/v1/statuses"))
                    .bearer_auth(&token)
                    .form(&[("status", format!("during the backup {}", during.len()))])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    r.status(),
                    StatusCode::OK,
                    "a write failed during the backup"
                );
                let s: serde_json::Value = r.json().await.unwrap();
                during.push(s["id"].as_str().unwrap().to_string());
            }
            during
        })
    };
    let data_dir = srv.config.data_dir.display().to_string();
    let out = admin_backup(&work, &copy, &[("SLUICE_DATA_DIR", data_dir.clone())]).await;
    stop.store(true, Ordering::Relaxed);
    let during = writer.await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("integrity check ok"), "{stdout}");
    assert!(
        stdout.contains("media"),
        "the media files are named: {stdout}"
    );
    assert!(!work.join("copy.db.part").exists());
    // A second backup to the same file is refused: a copy is never overwritten.
    let again = admin_backup(&work, &copy, &[("SLUICE_DATA_DIR", data_dir)]).await;
    assert!(!again.status.success());

    // The copy opens and passes SQLite's integrity check.
    {
        use sqlx::{ConnectOptions, Connection};
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&copy)
            .read_only(true)
            .connect()
            .await
            .unwrap();
        let answers: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(answers, ["ok"]);
        conn.close().await.unwrap();
    }

    // Restore: the copy as the database of a new data directory, the same public URL.
    let restored_dir = work.join("restored");
    std::fs::create_dir_all(&restored_dir).unwrap();
    std::fs::rename(&copy, restored_dir.join("sluice.db")).unwrap();
    let mut config = srv.config.clone();
    config.data_dir = restored_dir;
    config.public_url = Some(srv.url.clone());
    config.listen = "127.0.0.1:0".into();
    let listener = sluice::Listener::bind(&config.listen).await.unwrap();
    let restored = sluice::start(&config, listener)
        .await
        .expect("a server starts on the copy");
    // Asked at its own address: its public URL is the first server's.
    let restored_at = format!("http://{}", restored.addr.unwrap());
    let get = async |id: &str| {
        srv.http
            .get(format!("{restored_at}/api/v1/statuses/{id}"))
            .bearer_auth(&alice.token)
            .send()
            .await
            .unwrap()
    };
    for (i, id) in before.iter().enumerate() {
        let r = get(id).await;
        assert_eq!(r.status(), StatusCode::OK, "post {i} of before the backup");
        let s: serde_json::Value = r.json().await.unwrap();
        assert_eq!(s["content"], format!("<p>before the backup {i}</p>"));
    }
    // One moment's state: the posts of during the backup that it holds are the first
    // ones, without a gap.
    let mut held = 0;
    for (i, id) in during.iter().enumerate() {
        let status = get(id).await.status();
        match status {
            StatusCode::OK => {
                assert_eq!(
                    held, i,
                    "post {i} of during the backup is in the copy, an earlier one is not"
                );
                held += 1;
            }
            StatusCode::NOT_FOUND => {}
            s => panic!("{s}"),
        }
    }
    eprintln!(
        "{} posts written during the backup, {held} of them in the copy",
        during.len()
    );
    restored.stop().await;
    let _ = std::fs::remove_dir_all(&work);
    srv.stop().await;
}
