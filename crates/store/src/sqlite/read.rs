//! Read queries of the SQLite backend.

use serde_json::value::RawValue;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};
use uuid::Uuid;

use crate::{Metadata, Position, RecordedEvent, StoreError};

/// The columns [`decode`] reads, in order.
pub(super) const COLUMNS: &str =
    "position, event_id, stream, version, event_type, schema_version, data, metadata";

pub(super) fn decode(row: &SqliteRow) -> Result<RecordedEvent, StoreError> {
    let id: Vec<u8> = row.try_get(1)?;
    let id: [u8; 16] = id
        .try_into()
        .map_err(|_| StoreError::Corrupt("an event id is not 16 bytes".into()))?;
    let data: String = row.try_get(6)?;
    let metadata: &str = row.try_get(7)?;
    Ok(RecordedEvent {
        position: Position {
            commit: 0,
            seq: row.try_get::<i64, _>(0)? as u64,
        },
        event_id: Uuid::from_bytes(id),
        stream: row.try_get(2)?,
        version: row.try_get::<i64, _>(3)? as u64,
        event_type: row.try_get(4)?,
        schema_version: row.try_get::<i64, _>(5)? as u32,
        data: RawValue::from_string(data).map_err(corrupt)?,
        metadata: serde_json::from_str::<Metadata>(metadata).map_err(corrupt)?,
    })
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) async fn all(
    pool: &SqlitePool,
    after: u64,
    n: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
    ))
    .bind(after as i64)
    .bind(limit(n))
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode).collect()
}

pub(super) async fn stream(
    pool: &SqlitePool,
    stream: &str,
    after_version: u64,
    n: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM events WHERE stream = $1 AND version > $2 ORDER BY version LIMIT $3"
    ))
    .bind(stream)
    .bind(after_version as i64)
    .bind(limit(n))
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode).collect()
}

pub(super) async fn stream_version(pool: &SqlitePool, stream: &str) -> Result<u64, StoreError> {
    // The (stream, version) index answers this directly; the single writer keeps it exact.
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM events WHERE stream = $1")
        .bind(stream)
        .fetch_one(pool)
        .await?;
    Ok(v.unwrap_or(0) as u64)
}

pub(super) async fn by_id(
    pool: &SqlitePool,
    id: Uuid,
) -> Result<Option<RecordedEvent>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM events WHERE event_id = $1"))
        .bind(id.as_bytes().as_slice())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// The stored events among `ids` (any order), read inside the writer's transaction.
pub(super) async fn by_ids(
    conn: &mut SqliteConnection,
    ids: &[Uuid],
) -> Result<Vec<RecordedEvent>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM events WHERE event_id IN (SELECT unhex(value) FROM json_each($1))"
    ))
    .bind(hex_ids(ids))
    .fetch_all(conn)
    .await?;
    rows.iter().map(decode).collect()
}

/// `ids` as a JSON array of hex strings (for `json_each` + `unhex`: one statement shape for any
/// number of ids).
pub(super) fn hex_ids(ids: &[Uuid]) -> String {
    let mut out = String::with_capacity(2 + ids.len() * 35);
    out.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(&id.simple().to_string());
        out.push('"');
    }
    out.push(']');
    out
}
