//! SQLite backend: the embedded default.
//!
//! One writer task owns the only writing connection and commits appends (and data keys) in
//! groups (group commit): whatever queued while the previous commit was syncing goes into the
//! next transaction. Positions are rowids handed out by that single writer, so commit order
//! equals position order and readers can tail by position alone. Readers use a small pool of
//! connections (WAL lets them run beside the writer).

mod read;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, SqlitePool};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use crate::db::Db;
use crate::{
    AppendResult, Backend, EventStore, ExpectedVersion, NewEvent, Position, RecordedEvent,
    StoreError,
};

use writer::WriteOp;

/// Read connections open at most (more concurrent reads wait for one: opening and closing
/// connections under load costs far more than waiting).
const READ_POOL: u32 = 8;
/// How long a read waits for a pooled connection before the database counts as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite event store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    options: SqliteConnectOptions,
    writer: mpsc::UnboundedSender<WriteOp>,
    readers: SqlitePool,
    head: watch::Receiver<Position>,
    db: Db,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and starts the writer task.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        let options = Self::options(&path);
        let (writer, head) = writer::start(options.connect().await?).await;
        let readers = SqlitePoolOptions::new()
            .max_connections(READ_POOL)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options.clone());
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                db: Db::sqlite(&path)?,
                path,
                options,
                writer,
                readers,
                head,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// How the store's connections are opened: WAL, `synchronous=FULL` (an acknowledged append
    /// survives power loss), a busy timeout.
    fn options(path: &Path) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(false)
    }

    async fn write<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> WriteOp,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .writer
            .send(make(tx))
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
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
        let mut conn = self.inner.options.connect().await?;
        let result = crate::migrate::sqlite(&mut conn).await;
        let _ = sqlx::Connection::close(conn).await;
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
        read::stream(&self.inner.readers, stream, after_version, limit).await
    }

    async fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        read::stream_version(&self.inner.readers, stream).await
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        read::all(&self.inner.readers, after.seq, limit).await
    }

    async fn find_event(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        read::by_id(&self.inner.readers, event_id).await
    }

    fn appended(&self) -> watch::Receiver<Position> {
        self.inner.head.clone()
    }

    async fn put_key_if_absent(&self, key_id: &str, wrapped: &[u8]) -> Result<Vec<u8>, StoreError> {
        let (key_id, wrapped) = (key_id.to_string(), wrapped.to_vec());
        self.write(|reply| WriteOp::PutKey {
            key_id,
            wrapped,
            reply,
        })
        .await
    }

    async fn get_key(&self, key_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT wrapped FROM data_keys WHERE key_id = $1")
                .bind(key_id)
                .fetch_optional(&self.inner.readers)
                .await?,
        )
    }

    async fn get_keys(&self, key_ids: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        if key_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(key_ids).map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(sqlx::query_as(
            "SELECT key_id, wrapped FROM data_keys WHERE key_id IN (SELECT value FROM json_each($1))",
        )
        .bind(ids)
        .fetch_all(&self.inner.readers)
        .await?)
    }

    async fn destroy_key(&self, key_id: &str) -> Result<bool, StoreError> {
        let key_id = key_id.to_string();
        self.write(|reply| WriteOp::DestroyKey { key_id, reply })
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.inner.readers).await?;
        Ok(())
    }

    async fn close(&self) {
        self.inner.readers.close().await;
        self.inner.db.close().await;
    }
}
