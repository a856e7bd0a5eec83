//! Read queries of the PostgreSQL backend.

use serde_json::value::RawValue;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::{Metadata, Position, RecordedEvent, StoreError};

const COLUMNS: &str = "transaction_id::text AS tx, global_position, event_id, stream_id, \
     stream_version, event_type, schema_version, data::text, metadata::text";

fn decode(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    let tx: &str = row.try_get(0)?;
    let commit = tx
        .parse::<u64>()
        .map_err(|e| StoreError::Corrupt(format!("transaction id {tx}: {e}")))?;
    let data: String = row.try_get(7)?;
    let metadata: &str = row.try_get(8)?;
    Ok(RecordedEvent {
        position: Position {
            commit,
            seq: row.try_get::<i64, _>(1)? as u64,
        },
        event_id: row.try_get(2)?,
        stream: row.try_get(3)?,
        version: row.try_get::<i64, _>(4)? as u64,
        event_type: row.try_get(5)?,
        schema_version: row.try_get::<i32, _>(6)? as u32,
        data: RawValue::from_string(data).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        metadata: serde_json::from_str::<Metadata>(metadata)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Events after `after` in (transaction, position) order, only from transactions below the
/// log's gate: older than every append still running, so no earlier commit can join them
/// (`pawpost_log_gate`, migration 0007; transactions that append nothing hold nobody back).
/// Two statements on one connection: the read's snapshot must be taken after the gate was
/// computed (a plpgsql function doing both was tried: it materialised every row, 14 % slower).
pub(super) async fn all(
    pool: &PgPool,
    after: Position,
    n: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut conn = pool.acquire().await?;
    let gate: String = sqlx::query_scalar("SELECT pawpost_log_gate()::text")
        .fetch_one(&mut *conn)
        .await?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM events
         WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
           AND transaction_id < $3::text::xid8
         ORDER BY events.transaction_id, events.global_position
         LIMIT $4"
    ))
    .bind(after.commit.to_string())
    .bind(after.seq as i64)
    .bind(gate)
    .bind(limit(n))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(decode).collect()
}

pub(super) async fn stream(
    pool: &PgPool,
    stream: &str,
    after_version: u64,
    n: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2
         ORDER BY stream_version LIMIT $3"
    ))
    .bind(stream)
    .bind(after_version as i64)
    .bind(limit(n))
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode).collect()
}

pub(super) async fn by_ids(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<RecordedEvent>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM events WHERE event_id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode).collect()
}
