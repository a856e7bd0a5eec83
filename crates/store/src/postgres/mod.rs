//! PostgreSQL backend: production and multi-node.
//!
//! * Appends are group-committed: a few writer tasks each take whatever appends are queued and
//!   send them as one call of `pawpost_append_group` (one statement: one round trip, one
//!   transaction, the group's streams locked in key order first). If a group fails as a whole
//!   (a racing duplicate id, say), its appends are retried one by one.
//! * Readers order and resume by `(transaction_id, global_position)` and only read below the
//!   oldest append still running (the log's gate: appenders hold a shared advisory lock from
//!   before they get a transaction id; migration 0007), so no commit that lands out of
//!   position order is ever skipped, and transactions that append nothing (a projector's
//!   batch) hold no reader back.
//! * No NOTIFY inside append transactions: local commits poke tailing readers through a watch
//!   channel, and readers also poll (for other nodes).
//! * Connections come from sqlx pools, which reconnect by themselves after an outage; errors of
//!   an outage are [`StoreError::Unavailable`].

mod read;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use crate::db::Db;
use crate::restarts::Restarts;
use crate::{
    AppendResult, Backend, EventStore, ExpectedVersion, NewEvent, Position, RecordedEvent,
    StoreError,
};

/// Writer tasks doing group commit (each holds one connection).
const WRITERS: usize = 4;
/// Pooled connections for reads and key look-ups.
const POOL_SIZE: u32 = 16;
/// Connections reading the log in order (`read_all`: the process's log feed, catch-ups), apart
/// from the commands' reads so that a queue of commands never holds back the live feed.
const LOG_POOL_SIZE: u32 = 4;
/// Statements storing a data key that another transaction stores at the same time.
const KEY_RACE_TRIES: usize = 3;
/// Pooled connections storing new data keys.
const KEY_POOL_SIZE: u32 = 4;
/// How long an operation waits for a pooled connection before the database counts as
/// unavailable (503 with `Retry-After`). Waiting longer (10 s was tried) only turned the 503s
/// of an overloaded server into later answers, and made a real outage take that long to show.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// The PostgreSQL event store. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    /// Connections whose commits do not wait for their WAL flush, for data keys only.
    keys: PgPool,
    /// Connections for `read_all`.
    log: PgPool,
    queue: async_channel::Sender<writer::Request>,
    head: watch::Receiver<Position>,
    db: Db,
}

impl PgStore {
    /// Connects to `url` (failing fast if it cannot) and starts the writer tasks.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| StoreError::Invalid(e.to_string()))?;
        // Every pool of the store and of the read models tells one tracker who the server is.
        let restarts = Restarts::default();
        let pool_options = |size| restarts.watching(pool_options(size));
        let pool = pool_options(POOL_SIZE).connect_lazy_with(options.clone());
        // Data keys commit without waiting for their WAL flush: the event that uses a key is
        // appended after the key is stored, with a synchronous commit whose flush covers the
        // key's earlier commit record too; a crash in between loses only a key nothing refers
        // to. One statement in autocommit: one round trip per key.
        let keys = pool_options(KEY_POOL_SIZE)
            .connect_lazy_with(options.clone().options([("synchronous_commit", "off")]));
        // Fail fast on a wrong url or a server that is down.
        sqlx::query("SELECT 1").execute(&pool).await?;
        let log = pool_options(LOG_POOL_SIZE).connect_lazy_with(options.clone());
        let writers = pool_options(WRITERS as u32).connect_lazy_with(options);
        let (head_tx, head_rx) = watch::channel(Position::START);
        let head_tx = Arc::new(head_tx);
        let (queue, rx) = async_channel::unbounded();
        for _ in 0..WRITERS {
            writer::spawn(writers.clone(), rx.clone(), head_tx.clone());
        }
        Ok(PgStore {
            inner: Arc::new(Inner {
                db: Db::postgres(url, restarts)?,
                pool,
                keys,
                log,
                queue,
                head: head_rx,
            }),
        })
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }
}

/// Events are ordered by the id of the transaction that appended them, which only this cluster
/// hands out: a log restored from another cluster that got further must not take appends.
async fn log_is_ours(conn: &mut sqlx::PgConnection) -> Result<(), StoreError> {
    let (newest, next): (Option<i64>, i64) = sqlx::query_as(
        "SELECT (SELECT max(transaction_id)::text::bigint FROM events),
                pg_snapshot_xmax(pg_current_snapshot())::text::bigint",
    )
    .fetch_one(conn)
    .await?;
    match newest {
        Some(newest) if newest >= next => Err(StoreError::ForeignLog {
            newest: newest.unsigned_abs(),
            next: next.unsigned_abs(),
        }),
        _ => Ok(()),
    }
}

/// Pool options shared by the store's pools: no ping before each use (a round trip per query;
/// a broken connection shows as an outage error instead, and the pool replaces it).
fn pool_options(size: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
}

#[async_trait]
impl EventStore for PgStore {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn db(&self) -> Db {
        self.inner.db.clone()
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.inner.pool.acquire().await?;
        crate::migrate::postgres(&mut conn).await?;
        log_is_ours(&mut conn).await
    }

    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        if events.is_empty() {
            return Err(StoreError::Invalid("append of no events".into()));
        }
        let (reply, rx) = oneshot::channel();
        self.inner
            .queue
            .send(writer::Request {
                stream: stream.to_string(),
                expected,
                events,
                reply,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        let outcome = rx.await.map_err(|_| StoreError::Closed)??;
        match outcome {
            writer::Outcome::Appended(r) => Ok(r),
            writer::Outcome::Duplicate(events) => {
                let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
                let found = read::by_ids(&self.inner.pool, &ids).await?;
                crate::dedupe::original_result(stream, &events, found)
            }
        }
    }

    async fn read_stream(
        &self,
        stream: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        read::stream(&self.inner.pool, stream, after_version, limit).await
    }

    async fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar("SELECT version FROM streams WHERE stream_id = $1")
            .bind(stream)
            .fetch_optional(&self.inner.pool)
            .await?;
        Ok(v.unwrap_or(0) as u64)
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        read::all(&self.inner.log, after, limit).await
    }

    async fn find_event(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        let mut found = read::by_ids(&self.inner.pool, &[event_id]).await?;
        Ok(found.pop())
    }

    fn appended(&self) -> watch::Receiver<Position> {
        self.inner.head.clone()
    }

    async fn put_key_if_absent(&self, key_id: &str, wrapped: &[u8]) -> Result<Vec<u8>, StoreError> {
        // Nothing comes back when another transaction inserted the key after this statement's
        // snapshot: the insert waited for it to commit and did nothing, and the snapshot does
        // not show its row. A new statement does (or, if it rolled back, inserts this one).
        for _ in 0..KEY_RACE_TRIES {
            let stored = sqlx::query_scalar(
                "WITH ins AS (
                     INSERT INTO data_keys (key_id, wrapped) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING RETURNING wrapped)
                 SELECT wrapped FROM ins
                 UNION ALL SELECT wrapped FROM data_keys WHERE key_id = $1
                 LIMIT 1",
            )
            .bind(key_id)
            .bind(wrapped)
            .fetch_optional(&self.inner.keys)
            .await?;
            if let Some(stored) = stored {
                return Ok(stored);
            }
        }
        Err(StoreError::Unavailable(format!(
            "data key {key_id}: inserted concurrently and not readable after {KEY_RACE_TRIES} tries"
        )))
    }

    async fn put_keys_if_absent(
        &self,
        keys: &[(String, Vec<u8>)],
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let ids: Vec<String> = keys.iter().map(|(id, _)| id.clone()).collect();
        let wrapped: Vec<Vec<u8>> = keys.iter().map(|(_, w)| w.clone()).collect();
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "WITH input AS (SELECT * FROM unnest($1::text[], $2::bytea[]) AS i(key_id, wrapped)),
             ins AS (
                 INSERT INTO data_keys (key_id, wrapped) SELECT key_id, wrapped FROM input
                 ON CONFLICT DO NOTHING RETURNING key_id, wrapped)
             SELECT key_id, wrapped FROM ins
             UNION ALL
             SELECT d.key_id, d.wrapped FROM data_keys d JOIN input USING (key_id)
              WHERE d.key_id NOT IN (SELECT key_id FROM ins)",
        )
        .bind(&ids)
        .bind(&wrapped)
        .fetch_all(&self.inner.keys)
        .await?;
        let mut stored: std::collections::HashMap<String, Vec<u8>> = rows.into_iter().collect();
        let mut out = Vec::with_capacity(keys.len());
        for (id, w) in keys {
            // Inserted concurrently after this statement's snapshot: asked again alone.
            let key = match stored.remove(id) {
                Some(key) => key,
                None => self.put_key_if_absent(id, w).await?,
            };
            out.push((id.clone(), key));
        }
        Ok(out)
    }

    async fn get_key(&self, key_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT wrapped FROM data_keys WHERE key_id = $1")
                .bind(key_id)
                .fetch_optional(&self.inner.pool)
                .await?,
        )
    }

    async fn get_keys(&self, key_ids: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT key_id, wrapped FROM data_keys WHERE key_id = ANY($1)")
                .bind(key_ids)
                .fetch_all(&self.inner.pool)
                .await?,
        )
    }

    async fn destroy_key(&self, key_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM data_keys WHERE key_id = $1")
            .bind(key_id)
            .execute(&self.inner.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.inner.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.inner.queue.close();
        self.inner.pool.close().await;
        self.inner.keys.close().await;
        self.inner.log.close().await;
        self.inner.db.close().await;
    }
}
