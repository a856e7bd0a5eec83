//! Fresh stores for tests (feature `testing`).
//!
//! PostgreSQL tests read the admin url from `PAWPOST_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and create a new database per store, named
//! `pawpost_t_…` (`.ci/run` drops leftovers). When PostgreSQL cannot be reached the test is
//! skipped, except under `CI=true`, where that is a failure.

use std::sync::Arc;

use tempfile::TempDir;

use crate::EventStore;

/// A fresh, migrated SQLite store in a temporary directory (kept alive by the returned guard).
pub async fn sqlite() -> (TempDir, Arc<dyn EventStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("events.db").display());
    let store = crate::connect(&url).await.expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    (dir, store)
}

/// The admin url tests create their databases through.
pub fn pg_admin_url() -> String {
    std::env::var("PAWPOST_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A url of a new, empty PostgreSQL database, or `None` (test skipped) when PostgreSQL is not
/// reachable outside CI.
pub async fn pg_database_url() -> Option<String> {
    let admin = pg_admin_url();
    let connected = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await;
    let (client, conn) = match connected {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL is required under CI=true but {admin} is unreachable: {e}");
            }
            eprintln!("skipping PostgreSQL test: {admin} unreachable: {e}");
            return None;
        }
    };
    tokio::spawn(conn);
    let name = format!("pawpost_t_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let mut config: tokio_postgres::Config = admin.parse().expect("admin url");
    config.dbname(&name);
    Some(to_url(&config, &name))
}

fn to_url(config: &tokio_postgres::Config, db: &str) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    match config.get_password() {
        Some(pw) => format!(
            "postgres://{user}:{}@{host}:{port}/{db}",
            String::from_utf8_lossy(pw)
        ),
        None => format!("postgres://{user}@{host}:{port}/{db}"),
    }
}

/// A fresh, migrated PostgreSQL store, or `None` when skipped (see module docs).
pub async fn postgres() -> Option<Arc<dyn EventStore>> {
    let url = pg_database_url().await?;
    let store = crate::connect(&url).await.expect("connect postgres");
    store.migrate().await.expect("migrate postgres");
    Some(store)
}

/// The stores a benchmark runs on: SQLite and PostgreSQL, or the one named by
/// `PAWPOST_BENCH_BACKEND` (`sqlite` / `postgres`). Keep the guard alive while benchmarking.
pub async fn bench_backends() -> Vec<(&'static str, Arc<dyn EventStore>, Option<TempDir>)> {
    let only = std::env::var("PAWPOST_BENCH_BACKEND").unwrap_or_default();
    let mut out = Vec::new();
    if only.is_empty() || only == "sqlite" {
        let (dir, store) = sqlite().await;
        out.push(("SQLite", store, Some(dir)));
    }
    if only.is_empty() || only == "postgres" {
        if let Some(store) = postgres().await {
            out.push(("PostgreSQL", store, None));
        }
    }
    out
}

/// `PAWPOST_BENCH_SCALE` (default 1.0): how much of a benchmark's nominal size to run.
pub fn bench_scale() -> f64 {
    std::env::var("PAWPOST_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}
