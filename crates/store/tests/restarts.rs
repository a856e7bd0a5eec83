//! The store notices a restart of its PostgreSQL server, the two ways acknowledged commits that
//! did not wait for their WAL flush can be lost: the server stopped at once and started again,
//! and a crash of one server process, after which the server reinitialises without restarting.
//! Reconnecting to the same server is not a restart.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use pawpost_store::testing::PgCluster;
use sqlx::{Connection, PgConnection};

const DEADLINE: Duration = Duration::from_secs(30);

/// Runs a read on the read-model database until the server answers it.
async fn reach(db: &pawpost_store::db::Db) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(mut tx) = db.read().await {
            if tx.query("SELECT 1", &[]).await.is_ok() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "the server never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn stats_reset(conn: &mut PgConnection) -> Option<String> {
    sqlx::query_scalar("SELECT stats_reset::text FROM pg_stat_bgwriter")
        .fetch_one(conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarts_and_crashes_of_the_server_are_noticed() {
    let cluster = PgCluster::start();
    let store = pawpost_store::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    let db = store.db();
    reach(&db).await;
    assert_eq!(db.restarts().count(), 0);

    // Connections closed by the server, which itself goes on: not a restart.
    let mut admin = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    reach(&db).await;
    assert_eq!(db.restarts().count(), 0);

    // A server process killed: the server reinitialises (crash recovery) under the same start
    // time.
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    let before = stats_reset(&mut admin).await;
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    drop(admin);
    // The server has reinitialised when a new connection sees its statistics discarded.
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(mut conn) = PgConnection::connect(&cluster.url("postgres")).await {
            if stats_reset(&mut conn).await != before {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the server never reinitialised");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    reach(&db).await;
    assert_eq!(db.restarts().count(), 1);

    // Stopped at once and started again.
    cluster.stop_now();
    cluster.start_again();
    reach(&db).await;
    assert_eq!(db.restarts().count(), 2);
}
