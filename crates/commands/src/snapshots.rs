//! Aggregate snapshots: a cold aggregate loads from its latest snapshot plus the events after
//! it, so the first command on a long stream costs the same as on a short one.
//!
//! Snapshots live in the `aggregate_snapshots` table beside the log (one row per stream, the
//! latest only). They are a cache: derived from the log, never the source of truth. A snapshot
//! whose schema is not the aggregate's current one, that does not decode, or that claims a
//! version the log does not hold (a database restored from an older backup) is ignored, and the
//! aggregate is folded from the log as if none existed.

use pawpost_store::db::{Db, DbError};

/// Turns an aggregate's state into a snapshot and back.
pub(crate) struct SnapshotCodec<A> {
    /// The aggregate's snapshot schema: bump it whenever the state's shape changes.
    pub schema: u32,
    /// Take a snapshot when this many events were folded since the last one.
    pub every: u64,
    pub encode: fn(&A) -> Option<String>,
    pub decode: fn(&str) -> Option<A>,
}

/// A stored snapshot: the state at `version`.
pub(crate) struct Stored {
    pub version: u64,
    pub data: String,
}

/// The latest snapshot of `stream` in `schema`, if any.
pub(crate) async fn load(db: &Db, stream: &str, schema: u32) -> Result<Option<Stored>, DbError> {
    let mut tx = db.read().await?;
    let row = tx
        .query_opt(
            "SELECT version, data FROM aggregate_snapshots WHERE stream = $1 AND schema_version = $2",
            &[stream.into(), i64::from(schema).into()],
        )
        .await?;
    drop(tx);
    row.map(|r| {
        Ok(Stored {
            version: u64::try_from(r.int(0)?).unwrap_or(0),
            data: r.text(1)?,
        })
    })
    .transpose()
}

/// Stores `data` as the snapshot of `stream` at `version`, unless a later one is stored.
pub(crate) async fn save(
    db: &Db,
    stream: &str,
    schema: u32,
    version: u64,
    data: String,
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO aggregate_snapshots (stream, version, schema_version, data)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (stream) DO UPDATE
           SET version = excluded.version, schema_version = excluded.schema_version,
               data = excluded.data
           WHERE aggregate_snapshots.version < excluded.version
              OR aggregate_snapshots.schema_version <> excluded.schema_version",
        &[
            stream.into(),
            version.into(),
            i64::from(schema).into(),
            data.into(),
        ],
    )
    .await?;
    tx.commit().await
}
