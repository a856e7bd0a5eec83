//! Fresh stores for tests (feature `testing`).
//!
//! PostgreSQL tests read the admin url from `PAWPOST_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and create a new database per store, named
//! `pawpost_t_…` (`.ci/run` drops leftovers). A PostgreSQL test that cannot reach PostgreSQL
//! fails, saying so; it is never counted as passed. Every PostgreSQL test has `postgres` in its
//! path, so `cargo test -- --skip postgres` leaves them out (`.ci/run` does that, and counts
//! them as skipped, when PostgreSQL is not running outside CI).

mod cluster;

use std::sync::Arc;

use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

use crate::{EventStore, RecordedEvent};

pub use cluster::PgCluster;

/// Asserts what a reader of the whole log must have got: `total` events, none twice, in log
/// order, each stream's versions gapless from 1 (nothing skipped or reordered).
pub fn assert_read_once_in_order(seen: &[RecordedEvent], total: usize) {
    assert_eq!(seen.len(), total);
    let ids: std::collections::HashSet<uuid::Uuid> = seen.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), total, "an event was delivered twice");
    assert!(seen.windows(2).all(|w| w[0].position < w[1].position));
    let mut last: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    for e in seen {
        let prev = last.insert(&e.stream, e.version).unwrap_or(0);
        assert_eq!(
            e.version,
            prev + 1,
            "stream {} skipped or reordered",
            e.stream
        );
    }
}

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

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

/// The url of a new, empty PostgreSQL database. Panics (failing the test, never passing it)
/// when PostgreSQL cannot be reached.
pub async fn pg_database_url() -> String {
    let admin = pg_admin_url();
    let mut conn = match PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) => panic!(
            "PostgreSQL is not reachable at {admin}: {e}. Start it, point PAWPOST_TEST_PG_URL \
             at one, or leave PostgreSQL tests out with `cargo test -- --skip postgres`"
        ),
    };
    let name = format!("pawpost_t_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let _ = conn.close().await;
    with_database(&admin, &name)
}

/// A fresh, migrated PostgreSQL store (see [`pg_database_url`]).
pub async fn postgres() -> Arc<dyn EventStore> {
    let url = pg_database_url().await;
    let store = crate::connect(&url).await.expect("connect postgres");
    store.migrate().await.expect("migrate postgres");
    store
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
        out.push(("PostgreSQL", postgres().await, None));
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

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
    }
}
