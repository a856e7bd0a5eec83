//! PostgreSQL's log gate (migration 0007): readers wait for appends still running, and only
//! for them. A transaction that holds an id but appends nothing (a projector's batch, a lease
//! renewal) holds no reader back; an append still running holds back every later commit
//! until it ends; an append after other writes in its transaction is refused (it could get an
//! id before it registers); and under concurrent appends with such transactions open all
//! along, a tailing reader gets every event once, in order.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pawpost_store::{EventStore, ExpectedVersion, Metadata, NewEvent, Position, Subscription};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

const DEADLINE: Duration = Duration::from_secs(30);

async fn store_and_conn() -> (Arc<dyn EventStore>, PgConnection) {
    let url = pawpost_store::testing::pg_database_url().await;
    let store = pawpost_store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    (store, PgConnection::connect(&url).await.unwrap())
}

fn event(n: u64) -> NewEvent {
    NewEvent::json(
        Uuid::now_v7(),
        "Gate",
        1,
        &serde_json::json!({ "n": n }),
        Metadata::now(None),
    )
    .unwrap()
}

async fn append(store: &Arc<dyn EventStore>, stream: &str, n: u64) {
    store
        .append(stream, ExpectedVersion::Any, vec![event(n)])
        .await
        .unwrap();
}

/// `pawpost_append` of one event to `stream`, on `conn`, inside whatever transaction is open.
async fn append_in(conn: &mut PgConnection, stream: &str) -> Result<(), sqlx::Error> {
    let meta = serde_json::to_string(&Metadata::now(None)).unwrap();
    sqlx::query(
        "SELECT * FROM pawpost_append($1, -1, ARRAY[$2::uuid], ARRAY['Gate'], ARRAY[1],
             ARRAY['{\"n\": 0}'::json], ARRAY[$3::json])",
    )
    .bind(stream)
    .bind(Uuid::now_v7())
    .bind(meta)
    .execute(conn)
    .await
    .map(|_| ())
}

async fn streams_read(store: &Arc<dyn EventStore>) -> Vec<String> {
    let events = store.read_all(Position::START, 100).await.unwrap();
    events.into_iter().map(|e| e.stream).collect()
}

/// Opens a transaction on `conn` that holds a transaction id and appends nothing.
async fn hold_an_id(conn: &mut PgConnection) {
    sqlx::raw_sql("BEGIN; SELECT pg_current_xact_id();")
        .execute(conn)
        .await
        .unwrap();
}

/// PostgreSQL only (`--skip postgres` leaves them out).
mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transaction_that_appends_nothing_holds_no_reader_back() {
        let (store, mut other) = store_and_conn().await;
        hold_an_id(&mut other).await;
        append(&store, "after", 1).await;
        // Read at once: the old gate (the oldest running transaction) returned nothing here
        // until `other` ended.
        assert_eq!(streams_read(&store).await, ["after"]);
        sqlx::raw_sql("COMMIT").execute(&mut other).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_append_still_running_holds_back_later_commits() {
        let (store, mut slow) = store_and_conn().await;
        sqlx::raw_sql("BEGIN").execute(&mut slow).await.unwrap();
        append_in(&mut slow, "first").await.unwrap();
        append(&store, "second", 1).await;
        // "second" committed, but "first" has a lower transaction id and may still commit.
        for _ in 0..3 {
            assert!(streams_read(&store).await.is_empty());
        }
        sqlx::raw_sql("COMMIT").execute(&mut slow).await.unwrap();
        assert_eq!(streams_read(&store).await, ["first", "second"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_append_after_other_writes_in_its_transaction_is_refused() {
        let (_store, mut conn) = store_and_conn().await;
        hold_an_id(&mut conn).await;
        let refused = append_in(&mut conn, "late").await.unwrap_err();
        assert!(refused.to_string().contains("read gate"), "{refused}");
        sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
        // Two appends in one transaction are fine: the first registered it.
        sqlx::raw_sql("BEGIN").execute(&mut conn).await.unwrap();
        append_in(&mut conn, "one").await.unwrap();
        append_in(&mut conn, "two").await.unwrap();
        sqlx::raw_sql("COMMIT").execute(&mut conn).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_tailing_reader_gets_every_event_once_with_other_transactions_open() {
        const WRITERS: u64 = 6;
        const PER_WRITER: u64 = 1_500;
        const STREAMS: u64 = 40;
        let total = (WRITERS * PER_WRITER) as usize;
        let url = pawpost_store::testing::pg_database_url().await;
        let store = pawpost_store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();

        // Transactions that hold an id for a while and append nothing, all along.
        let done = Arc::new(AtomicBool::new(false));
        let mut noise = Vec::new();
        for _ in 0..3 {
            let (url, done) = (url.clone(), done.clone());
            noise.push(tokio::spawn(async move {
                let conn = sqlx::PgPool::connect(&url).await.unwrap();
                while !done.load(Ordering::Relaxed) {
                    sqlx::raw_sql(
                        "BEGIN; SELECT pg_current_xact_id(); SELECT pg_sleep(0.02); COMMIT",
                    )
                    .execute(&conn)
                    .await
                    .unwrap();
                }
            }));
        }
        let reader = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut sub = Subscription::new(store, Position::START)
                    .with_poll_interval(Duration::from_millis(20))
                    .with_batch_size(211);
                let mut seen = Vec::with_capacity(total);
                let deadline = Instant::now() + DEADLINE * 4;
                while seen.len() < total {
                    assert!(
                        Instant::now() < deadline,
                        "the reader stalled at {}",
                        seen.len()
                    );
                    let ev = tokio::time::timeout(DEADLINE, sub.next())
                        .await
                        .expect("the reader stalled")
                        .unwrap();
                    seen.push(ev);
                }
                seen
            })
        };
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let store = store.clone();
            writers.push(tokio::spawn(async move {
                for i in 0..PER_WRITER {
                    append(
                        &store,
                        &format!("gate-{}", (w * 7 + i) % STREAMS),
                        w * PER_WRITER + i,
                    )
                    .await;
                }
            }));
        }
        for w in writers {
            w.await.unwrap();
        }
        let seen = reader.await.unwrap();
        done.store(true, Ordering::Relaxed);
        for n in noise {
            n.await.unwrap();
        }
        pawpost_store::testing::assert_read_once_in_order(&seen, total);
        assert_eq!(
            store
                .read_all(Position::START, total + 1)
                .await
                .unwrap()
                .len(),
            total
        );
    }
}
