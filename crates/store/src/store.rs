use async_trait::async_trait;
use tokio::sync::watch;
use uuid::Uuid;

use crate::{AppendResult, ExpectedVersion, NewEvent, Position, RecordedEvent, StoreError};

/// The event log. Every backend passes the same contract suite (`tests/contract.rs`).
///
/// Guarantees (DESIGN.md §4):
/// 1. `append` is atomic; a failed expectation is [`StoreError::Conflict`].
/// 2. Re-appending stored event ids with the same payloads returns the original result
///    (`deduplicated: true`); the same id with another payload is [`StoreError::DuplicateEvent`].
/// 3. `read_all` returns committed events in global order; a reader that pages through it with
///    the last position it saw receives every event exactly once, never skipping one, also under
///    concurrent writers.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Which backend this is.
    fn backend(&self) -> crate::Backend;

    /// The concrete store ([`crate::sqlite::SqliteStore`] or [`crate::postgres::PgStore`]),
    /// for tests and tools that need the backend itself.
    fn as_any(&self) -> &dyn std::any::Any;

    /// The database beside the log (read models, checkpoints, leases): a pool of its own on
    /// the same SQLite file or PostgreSQL database.
    fn db(&self) -> crate::db::Db;

    /// Applies the embedded migrations that are not applied yet.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Appends `events` to `stream` atomically if `expected` holds.
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError>;

    /// Events of one stream with version > `after_version`, in version order, at most `limit`.
    async fn read_stream(
        &self,
        stream: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The stream's current version (0 when it does not exist).
    async fn stream_version(&self, stream: &str) -> Result<u64, StoreError>;

    /// Committed events after `after` in global order, at most `limit`. Safe to tail.
    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// One event by id (idempotency look-ups).
    async fn find_event(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError>;

    /// Changes after each local commit; tailing readers wait on it (and also poll, for other nodes).
    fn appended(&self) -> watch::Receiver<Position>;

    /// Stores a wrapped data key unless one is stored under `key_id`; returns the stored one.
    async fn put_key_if_absent(&self, key_id: &str, wrapped: &[u8]) -> Result<Vec<u8>, StoreError>;

    /// Stores each `(key_id, wrapped)` unless a key is stored under its id; returns the stored
    /// key of every id, in one round trip where the backend can.
    async fn put_keys_if_absent(
        &self,
        keys: &[(String, Vec<u8>)],
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut stored = Vec::with_capacity(keys.len());
        for (id, wrapped) in keys {
            stored.push((id.clone(), self.put_key_if_absent(id, wrapped).await?));
        }
        Ok(stored)
    }

    /// The wrapped data key, or `None` if it never existed or was destroyed.
    async fn get_key(&self, key_id: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Several wrapped data keys at once (rebuilds open thousands of messages per batch);
    /// destroyed or unknown ids are simply absent from the answer.
    async fn get_keys(&self, key_ids: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Destroys a data key (erasure). Returns whether it existed.
    async fn destroy_key(&self, key_id: &str) -> Result<bool, StoreError>;

    /// Whether the database answers now (readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes the store's connections (after the last use; waits for those in use).
    async fn close(&self);
}
