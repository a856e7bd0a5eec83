use crate::types::ExpectedVersion;

/// Why a store operation failed. Callers match on `Conflict` and `DuplicateEvent` (both mean
/// "re-read and decide again"); everything else is an infrastructure failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream was not at the expected version.
    #[error("stream {stream} expected {expected:?} but is at version {actual}")]
    Conflict {
        stream: String,
        expected: ExpectedVersion,
        actual: u64,
    },
    /// An event id that is already stored was appended again with a different payload,
    /// or only some of a batch's event ids are already stored.
    #[error("event {event_id} is already stored with a different payload")]
    DuplicateEvent { event_id: uuid::Uuid },
    /// The caller passed something the store cannot take (empty batch, bad url…).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("postgres pool: {0}")]
    Pool(String),
    #[error("the store is shut down")]
    Closed,
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// True for errors where reloading the stream and deciding again can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Conflict { .. } | StoreError::DuplicateEvent { .. }
        )
    }
}
