//! Read queries of the SQLite backend.

use rusqlite::{Connection, OptionalExtension, Row};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::{Metadata, Position, RecordedEvent, StoreError};

const COLUMNS: &str =
    "position, event_id, stream, version, event_type, schema_version, data, metadata";

fn decode(row: &Row<'_>) -> rusqlite::Result<Result<RecordedEvent, StoreError>> {
    let position: i64 = row.get(0)?;
    let id: [u8; 16] = row.get(1)?;
    let stream: String = row.get(2)?;
    let version: i64 = row.get(3)?;
    let event_type: String = row.get(4)?;
    let schema_version: i64 = row.get(5)?;
    let data: String = row.get(6)?;
    let metadata: String = row.get(7)?;
    Ok((|| {
        Ok(RecordedEvent {
            event_id: Uuid::from_bytes(id),
            stream,
            version: version as u64,
            position: Position {
                commit: 0,
                seq: position as u64,
            },
            event_type,
            schema_version: schema_version as u32,
            data: RawValue::from_string(data).map_err(corrupt)?,
            metadata: serde_json::from_str::<Metadata>(&metadata).map_err(corrupt)?,
        })
    })())
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn collect(
    rows: impl Iterator<Item = rusqlite::Result<Result<RecordedEvent, StoreError>>>,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut out = Vec::new();
    for r in rows {
        out.push(r??);
    }
    Ok(out)
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn all(
    conn: &Connection,
    after: u64,
    n: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM events WHERE position > ?1 ORDER BY position LIMIT ?2"
    ))?;
    let rows = stmt.query_map(rusqlite::params![after as i64, limit(n)], decode)?;
    collect(rows)
}

pub(super) fn stream(
    conn: &Connection,
    stream: &str,
    after_version: u64,
    n: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM events WHERE stream = ?1 AND version > ?2 ORDER BY version LIMIT ?3"
    ))?;
    let rows = stmt.query_map(
        rusqlite::params![stream, after_version as i64, limit(n)],
        decode,
    )?;
    collect(rows)
}

pub(super) fn stream_version(conn: &Connection, stream: &str) -> Result<u64, StoreError> {
    // The (stream, version) index answers this directly; the single writer keeps it exact.
    let v: Option<i64> = conn
        .prepare_cached("SELECT MAX(version) FROM events WHERE stream = ?1")?
        .query_row([stream], |r| r.get(0))?;
    Ok(v.unwrap_or(0) as u64)
}

pub(super) fn by_id(conn: &Connection, id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM events WHERE event_id = ?1"))?;
    match stmt
        .query_row([id.as_bytes().as_slice()], decode)
        .optional()?
    {
        Some(r) => Ok(Some(r?)),
        None => Ok(None),
    }
}
