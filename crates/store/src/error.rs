use crate::types::ExpectedVersion;

/// Why a store operation failed. Callers match on `Conflict` and `DuplicateEvent` (both mean
/// "re-read and decide again") and on `Unavailable` (try again later: nothing was lost); the
/// rest are failures to report.
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
    /// The database cannot be reached or cannot take the operation now (down, restarting,
    /// locked, out of connections). The operation did not happen, or its outcome is unknown:
    /// an append retried with the same event ids is recognised, so retrying is safe.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other database failure.
    #[error("database: {0}")]
    Database(sqlx::Error),
    /// Any other failure of SQLite (through rusqlite).
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    /// Applying the embedded migrations failed.
    #[error("migrating: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// PostgreSQL: the log holds transaction ids this cluster has not reached (a dump restored
    /// into another cluster): new events would sort before older ones and never be read.
    #[error(
        "the event log was written by another PostgreSQL cluster (restored from a dump?): its \
         newest transaction id {newest} is not below this cluster's next one {next}, so new \
         events would sort before it; advance this cluster's transaction ids past {newest} \
         (pg_resetwal -e/-x on the stopped cluster) and start again"
    )]
    ForeignLog { newest: u64, next: u64 },
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

    /// True when the database is (for now) out of reach: a retry later can succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Closed)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if crate::outage::is_outage(&e) {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Database(e)
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if crate::outage::is_sqlite_outage(&e) {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Sqlite(e)
        }
    }
}
