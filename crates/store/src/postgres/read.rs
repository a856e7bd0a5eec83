//! Read queries of the PostgreSQL backend.

use deadpool_postgres::ClientWrapper;
use serde_json::value::RawValue;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{Metadata, Position, RecordedEvent, StoreError};

const COLUMNS: &str = "transaction_id::text AS tx, global_position, event_id, stream_id, \
     stream_version, event_type, schema_version, data::text, metadata::text";

fn decode(row: &Row) -> Result<RecordedEvent, StoreError> {
    let tx: &str = row.get(0);
    let commit = tx
        .parse::<u64>()
        .map_err(|e| StoreError::Corrupt(format!("transaction id {tx}: {e}")))?;
    let metadata: &str = row.get(8);
    Ok(RecordedEvent {
        position: Position {
            commit,
            seq: row.get::<_, i64>(1) as u64,
        },
        event_id: row.get(2),
        stream: row.get(3),
        version: row.get::<_, i64>(4) as u64,
        event_type: row.get(5),
        schema_version: row.get::<_, i32>(6) as u32,
        data: RawValue::from_string(row.get::<_, String>(7))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        metadata: serde_json::from_str::<Metadata>(metadata)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Events after `after` in (transaction, position) order, only from transactions older than
/// every transaction still running: those can no longer be joined by an earlier commit.
pub(super) async fn all(
    client: &ClientWrapper,
    after: Position,
    n: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM events
             WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
               AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
             ORDER BY events.transaction_id, events.global_position
             LIMIT $3"
        ))
        .await?;
    let rows = client
        .query(
            &stmt,
            &[&after.commit.to_string(), &(after.seq as i64), &limit(n)],
        )
        .await?;
    rows.iter().map(decode).collect()
}

pub(super) async fn stream(
    client: &ClientWrapper,
    stream: &str,
    after_version: u64,
    n: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2
             ORDER BY stream_version LIMIT $3"
        ))
        .await?;
    let rows = client
        .query(&stmt, &[&stream, &(after_version as i64), &limit(n)])
        .await?;
    rows.iter().map(decode).collect()
}

pub(super) async fn by_ids(
    client: &ClientWrapper,
    ids: &[Uuid],
) -> Result<Vec<RecordedEvent>, StoreError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM events WHERE event_id = ANY($1)"
        ))
        .await?;
    let rows = client.query(&stmt, &[&ids]).await?;
    rows.iter().map(decode).collect()
}
