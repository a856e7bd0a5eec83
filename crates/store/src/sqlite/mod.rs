//! SQLite backend: the embedded default, on rusqlite (not sqlx: on this hot path sqlx's
//! connection thread costs a thread hand-off per statement, ~60 µs here, and appends, log
//! reads and rebuilds lost 25–85 %; BENCHMARKS.md "sqlx"). Migrations still go through sqlx's
//! migrator, like PostgreSQL's.
//!
//! One writer thread owns the only writing connection and commits appends in groups (group
//! commit): whatever queued while the previous commit was syncing goes into the next transaction,
//! each request under its own savepoint so one refused append does not fail the others. Positions
//! are rowids handed out by that single writer, so commit order equals position order and readers
//! can tail by position alone. Readers use a small pool of read-only connections (WAL lets them
//! run beside the writer).

mod pool;
mod read;
mod writer;

pub use pool::{ConnectionPool, Lease};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use crate::db::Db;
use crate::{
    AppendResult, Backend, EventStore, ExpectedVersion, NewEvent, Position, RecordedEvent,
    StoreError,
};

use writer::{WriteOp, Writer};

/// Read connections open at most (more concurrent reads wait for one: opening and closing
/// connections under load costs far more than waiting).
const READ_POOL: usize = 8;

/// The SQLite event store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Writer,
    readers: Arc<ConnectionPool>,
    head: watch::Receiver<Position>,
    db: Db,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and starts the writer thread.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        let p = path.clone();
        let (writer, head) = tokio::task::spawn_blocking(move || Writer::start(&p))
            .await
            .map_err(join_err)??;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                db: Db::sqlite(&path),
                path,
                writer,
                readers: ConnectionPool::new(READ_POOL),
                head,
            }),
        })
    }

    /// The database file (projections open their own connections on it).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Opens a connection configured like the store's own (WAL, busy timeout, FULL sync).
    pub fn open_connection(path: &Path) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_handler(Some(wait_for_lock))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(conn)
    }

    /// Runs `f` on a pooled read connection in a blocking task.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let mut lease = self
            .inner
            .readers
            .lease()
            .await
            .map_err(|_| StoreError::Closed)?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = lease.get_or_open(|| Self::open_connection(&inner.path))?;
            f(conn)
        })
        .await
        .map_err(join_err)?
    }

    async fn write<T: Send + 'static>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> WriteOp,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.inner.writer.send(make(tx))?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

fn join_err(e: tokio::task::JoinError) -> StoreError {
    StoreError::Io(std::io::Error::other(e.to_string()))
}

#[async_trait]
impl EventStore for SqliteStore {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn db(&self) -> Db {
        self.inner.db.clone()
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        use sqlx::{ConnectOptions, Connection};
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&self.inner.path)
            .busy_timeout(std::time::Duration::from_secs(10));
        let mut conn = options.connect().await?;
        let result = crate::migrate::sqlite(&mut conn).await;
        let _ = conn.close().await;
        result?;
        // A migration may have created the events table: the writer reads the head again.
        self.write(|reply| {
            WriteOp::Run(Box::new(move |_| {
                let _ = reply.send(Ok(()));
            }))
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    async fn close(&self) {}

    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        if events.is_empty() {
            return Err(StoreError::Invalid("append of no events".into()));
        }
        let stream = stream.to_string();
        self.write(|reply| WriteOp::Append {
            stream,
            expected,
            events,
            reply,
        })
        .await
    }

    async fn read_stream(
        &self,
        stream: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let stream = stream.to_string();
        self.read(move |c| read::stream(c, &stream, after_version, limit))
            .await
    }

    async fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        let stream = stream.to_string();
        self.read(move |c| read::stream_version(c, &stream)).await
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read(move |c| read::all(c, after.seq, limit)).await
    }

    async fn find_event(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        self.read(move |c| read::by_id(c, event_id)).await
    }

    fn appended(&self) -> watch::Receiver<Position> {
        self.inner.head.clone()
    }

    async fn put_key_if_absent(&self, key_id: &str, wrapped: &[u8]) -> Result<Vec<u8>, StoreError> {
        let keys = vec![(key_id.to_string(), wrapped.to_vec())];
        let stored = self.write(|reply| WriteOp::Keys { keys, reply }).await?;
        stored
            .into_iter()
            .next()
            .map(|(_, key)| key)
            .ok_or_else(|| StoreError::Invalid(format!("data key {key_id} was not stored")))
    }

    async fn put_keys_if_absent(
        &self,
        keys: &[(String, Vec<u8>)],
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys = keys.to_vec();
        // With the appends' group commit: one fsync for many senders' keys.
        self.write(|reply| WriteOp::Keys { keys, reply }).await
    }

    async fn get_key(&self, key_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key_id = key_id.to_string();
        self.read(move |c| {
            Ok(
                c.prepare_cached("SELECT wrapped FROM data_keys WHERE key_id = ?1")?
                    .query_row([&key_id], |r| r.get(0))
                    .optional()?,
            )
        })
        .await
    }

    async fn get_keys(&self, key_ids: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let ids = key_ids.to_vec();
        self.read(move |c| {
            let mut out = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(",");
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT key_id, wrapped FROM data_keys WHERE key_id IN ({marks})"
                ))?;
                let rows = stmt.query_map(rusqlite::params_from_iter(chunk.iter()), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
                })?;
                for r in rows {
                    out.push(r?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn destroy_key(&self, key_id: &str) -> Result<bool, StoreError> {
        let key_id = key_id.to_string();
        self.write(|reply| {
            WriteOp::Run(Box::new(move |conn| {
                let r = conn
                    .execute("DELETE FROM data_keys WHERE key_id = ?1", [&key_id])
                    .map(|n| n > 0)
                    .map_err(StoreError::from);
                let _ = reply.send(r);
            }))
        })
        .await
    }
}

/// How long a connection waiting for the write lock sleeps between tries.
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_micros(200);
/// Tries before a connection gives up on the write lock (≈ 10 s: then `SQLITE_BUSY`, an
/// outage to the caller).
const LOCK_TRIES: i32 = 50_000;

/// SQLite's busy handler: called with the number of earlier calls while another connection
/// holds the lock this one needs. SQLite's own (`busy_timeout`) sleeps ever longer, up to 100 ms
/// a time: under load the log's writer and the projectors take the write lock hundreds of
/// times a second for a millisecond or so each, and a writer that just missed it would sleep
/// tens of milliseconds while the lock sits free. Short, even sleeps keep the wait near the
/// holder's real hold time.
pub(crate) fn wait_for_lock(tries: i32) -> bool {
    if tries >= LOCK_TRIES {
        return false;
    }
    std::thread::sleep(LOCK_RETRY);
    true
}
