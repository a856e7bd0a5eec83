//! PostgreSQL backend: production and multi-node.
//!
//! * Appends go through `pawpost_append` (one round trip with the expected-version check) and
//!   are group-committed: a few writer connections each take whatever appends are queued and run
//!   them in one transaction, sorted by stream so concurrent groups lock streams in one order.
//!   If a group fails as a whole (a racing duplicate id, say), its appends are retried one by one.
//! * Readers order and resume by `(transaction_id, global_position)` and only read below the
//!   oldest transaction still running (the xid8 snapshot gate), so no commit that lands out of
//!   position order is ever skipped.
//! * No NOTIFY inside append transactions: local commits poke tailing readers through a watch
//!   channel, and readers also poll (for other nodes).

mod read;
mod writer;

use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::{oneshot, watch};
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::migrate;
use crate::{
    AppendResult, Backend, EventStore, ExpectedVersion, NewEvent, Position, RecordedEvent,
    StoreError,
};

/// Writer connections doing group commit.
const WRITERS: usize = 4;
/// Pooled connections for reads and key operations.
const POOL_SIZE: usize = 16;
/// Pooled connections storing new data keys.
const KEY_POOL_SIZE: usize = 4;

/// The PostgreSQL event store. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// Connections whose commits do not wait for their WAL flush, for data keys only.
    keys: Pool,
    queue: async_channel::Sender<writer::Request>,
    head: watch::Receiver<Position>,
}

impl PgStore {
    /// Connects to `url` and starts the writer tasks.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Invalid(e.to_string()))?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        // Data keys commit without waiting for their WAL flush: the event that uses a key is
        // appended after the key is stored, with a synchronous commit whose flush covers the
        // key's earlier commit record too; a crash in between loses only a key nothing refers
        // to. One prepared statement in autocommit: one round trip per key.
        let mut key_config = config.clone();
        key_config.options("-c synchronous_commit=off");
        let keys = Pool::builder(Manager::from_config(
            key_config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        ))
        .max_size(KEY_POOL_SIZE)
        .build()
        .map_err(|e| StoreError::Pool(e.to_string()))?;
        // Fail fast on a wrong url or a server that is down.
        drop(pool.get().await.map_err(pool_err)?);
        let (head_tx, head_rx) = watch::channel(Position::START);
        let head_tx = Arc::new(head_tx);
        let (queue, rx) = async_channel::unbounded();
        for _ in 0..WRITERS {
            writer::spawn(config.clone(), rx.clone(), head_tx.clone()).await?;
        }
        Ok(PgStore {
            inner: Arc::new(Inner {
                pool,
                keys,
                queue,
                head: head_rx,
            }),
        })
    }

    /// The connection pool (projections run their transactions on it).
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.inner.pool.get().await.map_err(pool_err)
    }
}

pub(crate) fn pool_err(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => StoreError::Postgres(e),
        other => StoreError::Pool(other.to_string()),
    }
}

#[async_trait]
impl EventStore for PgStore {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        // One migrator at a time across nodes.
        client
            .batch_execute("SELECT pg_advisory_lock(7366372505)")
            .await?;
        let result = async {
            client.batch_execute(migrate::CREATE_TABLE).await?;
            for m in migrate::POSTGRES {
                let done: bool = client
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM _pawpost_migrations WHERE version = $1)",
                        &[&m.version],
                    )
                    .await?
                    .get(0);
                if done {
                    continue;
                }
                let tx = client.transaction().await?;
                tx.batch_execute(m.sql).await?;
                tx.execute(
                    "INSERT INTO _pawpost_migrations (version, name, applied_at)
                     VALUES ($1, $2, now()::text)",
                    &[&m.version, &m.name],
                )
                .await?;
                tx.commit().await?;
                tracing::info!(migration = m.name, "applied postgres migration");
            }
            Ok::<_, StoreError>(())
        }
        .await;
        client
            .batch_execute("SELECT pg_advisory_unlock(7366372505)")
            .await?;
        result
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
                let found = read::by_ids(&*self.client().await?, &ids).await?;
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
        read::stream(&*self.client().await?, stream, after_version, limit).await
    }

    async fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT version FROM streams WHERE stream_id = $1",
                &[&stream],
            )
            .await?;
        Ok(row.map(|r| r.get::<_, i64>(0) as u64).unwrap_or(0))
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        read::all(&*self.client().await?, after, limit).await
    }

    async fn find_event(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        let mut found = read::by_ids(&*self.client().await?, &[event_id]).await?;
        Ok(found.pop())
    }

    fn appended(&self) -> watch::Receiver<Position> {
        self.inner.head.clone()
    }

    async fn put_key_if_absent(&self, key_id: &str, wrapped: &[u8]) -> Result<Vec<u8>, StoreError> {
        let client = self.inner.keys.get().await.map_err(pool_err)?;
        let stmt = client
            .prepare_cached(
                "WITH ins AS (
                     INSERT INTO data_keys (key_id, wrapped) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING RETURNING wrapped)
                 SELECT wrapped FROM ins
                 UNION ALL SELECT wrapped FROM data_keys WHERE key_id = $1
                 LIMIT 1",
            )
            .await?;
        let row = client.query_one(&stmt, &[&key_id, &wrapped]).await?;
        Ok(row.get(0))
    }

    async fn get_key(&self, key_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT wrapped FROM data_keys WHERE key_id = $1",
                &[&key_id],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn get_keys(&self, key_ids: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT key_id, wrapped FROM data_keys WHERE key_id = ANY($1)",
                &[&key_ids],
            )
            .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn destroy_key(&self, key_id: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute("DELETE FROM data_keys WHERE key_id = $1", &[&key_id])
            .await?;
        Ok(n > 0)
    }
}
