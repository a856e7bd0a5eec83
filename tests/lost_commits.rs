//! PostgreSQL's read models commit without waiting for their WAL flush, so a crash of the
//! database can take back commits it had acknowledged: a projector believes it reached a
//! position the database no longer holds. An idle projector meets no error that would tell it.
//! Read-your-writes must not trust that belief: after the server restarted, no wait on a
//! position succeeds until the projector has read its checkpoint back (and applied again what
//! was lost).
//!
//! The loss is made exact: the read models are copied before a send, and after the crash,
//! while the server's role may not log in yet, they are put back as they were: the send's
//! projection is gone, its event stays in the log. Retrying the send with its `tempId` finds
//! the event (the log is durable) and must answer with the message, never 404.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{direct_between, Api};
use pawpost_store::testing::PgCluster;
use serde_json::json;
use sqlx::{Connection, PgConnection};

const DEADLINE: Duration = Duration::from_secs(30);

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url).await.unwrap()
}

/// The read-model tables and the worker checkpoints: what a lost commit takes back.
async fn read_model_tables(conn: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'
           AND (tablename LIKE 'rm\\_%' OR tablename = 'worker_checkpoints')",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

async fn run(conn: &mut PgConnection, sql: &str) {
    sqlx::raw_sql(sql).execute(conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_projection_lost_to_a_crash_is_never_reported_as_reached() {
    let cluster = PgCluster::start();
    let mut admin = connect(&cluster.url("postgres")).await;
    run(&mut admin, "CREATE ROLE app LOGIN").await;
    run(&mut admin, "CREATE DATABASE pawpost OWNER app").await;
    let app_url = cluster.url("pawpost").replace("postgres@", "app@");
    let api = Api::start(tempfile::tempdir().unwrap(), app_url, |_| {}).await;
    let conversation = direct_between(&api, "alice", "bob").await;

    // The read models as they stand, all caught up: one consistent copy.
    let head = *api.server.state.store.appended().borrow();
    assert!(api.server.state.projections.wait_for(head, DEADLINE).await);
    let mut owner = connect(&cluster.url("pawpost")).await;
    let tables = read_model_tables(&mut owner).await;
    assert!(tables.len() > 5, "{tables:?}");
    let mut copy = String::from("BEGIN ISOLATION LEVEL REPEATABLE READ;");
    for t in &tables {
        copy.push_str(&format!("CREATE TABLE copy_{t} AS SELECT * FROM {t};"));
    }
    copy.push_str("COMMIT;");
    run(&mut owner, &copy).await;
    owner.close().await.unwrap();

    // A send, projected and shown.
    let path = format!("/api/v1/messaging/conversations/{conversation}/messages");
    let body = json!({"content": "before the crash", "tempId": "t-1"});
    let sent = api.user("bob").post(&path, body.clone()).await.expect(201);
    let message = sent["message"]["id"].as_str().unwrap().to_string();

    // The crash takes the projection back: the server's role is kept out until the read
    // models are as they were before the send.
    run(&mut admin, "ALTER ROLE app NOLOGIN").await;
    admin.close().await.unwrap();
    cluster.stop_now();
    cluster.start_again();
    let mut owner = connect(&cluster.url("pawpost")).await;
    let mut restore = String::from("BEGIN;");
    for t in &tables {
        restore.push_str(&format!(
            "TRUNCATE {t}; INSERT INTO {t} SELECT * FROM copy_{t};"
        ));
    }
    restore.push_str("ALTER ROLE app LOGIN; COMMIT;");
    run(&mut owner, &restore).await;
    owner.close().await.unwrap();

    // The retry finds the send in the log; its answer waits until the projection is back.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let retried = loop {
        let resp = api.user("bob").post(&path, body.clone()).await;
        match resp.status {
            // The database is still coming back for the server's pools.
            503 => {
                assert!(tokio::time::Instant::now() < deadline, "never available");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            _ => break resp,
        }
    };
    assert!(
        retried.status == 200 || retried.status == 202,
        "the retry answered {}: {}",
        retried.status,
        retried.text
    );
    if retried.status == 200 {
        let shown: serde_json::Value = serde_json::from_str(&retried.text).unwrap();
        assert_eq!(shown["message"]["id"], message.as_str(), "{shown}");
    }
    let head = *api.server.state.store.appended().borrow();
    assert!(api.server.state.projections.wait_for(head, DEADLINE).await);
    api.user("alice")
        .get(&format!("{path}/{message}"))
        .await
        .expect(200);
}
