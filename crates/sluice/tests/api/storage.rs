//! Storage behaviour visible from outside: SQLite pragmas, event-log pruning in
//! batches, idempotent maintenance, and data surviving a restart.

use crate::common::{Db, TestServer};

db_tests!(event_log_pruning_and_maintenance, data_survives_restart);

async fn event_log_pruning_and_maintenance(db: Db) {
    let Some(srv) = TestServer::start(db, |c| {
        c.event_retention_secs = 3600;
        c.event_max_rows = 5;
    })
    .await
    else {
        return;
    };
    let store = &srv.store();
    if db == Db::Sqlite {
        assert_eq!(
            store.sqlite_auto_vacuum_mode().await.unwrap(),
            Some(2),
            "auto_vacuum must be INCREMENTAL"
        );
    }
    let alice = srv.user("alice").await;
    for i in 0..12 {
        srv.status(&alice, &format!("post {i}"), &[]).await;
    }
    let last = store.last_event_id().await.unwrap();
    assert!(srv.count("event_log").await >= 12);
    let report = srv.engine().maintain().await.unwrap();
    assert!(report.events_pruned >= 7, "{report:?}");
    assert_eq!(srv.count("event_log").await, 5);
    // The newest events remain, ids never go back.
    assert_eq!(store.last_event_id().await.unwrap(), last);
    srv.status(&alice, "after pruning", &[]).await;
    assert!(store.last_event_id().await.unwrap() > last);
    // Age-based pruning: everything older than "now" goes.
    let n = store
        .prune_events(sluice_model::id::now_millis() + 1, 1_000_000, 2)
        .await
        .unwrap();
    assert_eq!(n, 2, "pruning works in batches of the given size");
    srv.stop().await;
}

async fn data_survives_restart(db: Db) {
    let Some(mut srv) = TestServer::start(db, |_| {}).await else {
        return;
    };
    let alice = srv.user("alice").await;
    let s = srv.status(&alice, "durable", &[]).await;
    let config = srv.config.clone();
    srv.running.take().unwrap().stop().await;
    let listener = sluice::Listener::bind("127.0.0.1:0").await.unwrap();
    let running = sluice::start(&config, listener).await.unwrap();
    // Another port, the same instance: ids stay under the public URL recorded at the
    // first start.
    assert_eq!(running.url, srv.url);
    srv.url = format!("http://{}", running.addr.unwrap());
    srv.running = Some(running);
    let got = srv
        .get(
            &format!("/api/v1/statuses/{}", s["id"].as_str().unwrap()),
            Some(&alice.token),
        )
        .await
        .ok();
    assert_eq!(got["content"], "<p>durable</p>");
    srv.stop().await;
}
