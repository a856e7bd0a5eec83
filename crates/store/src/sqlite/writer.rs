//! The single SQLite writer task and its group commit.
//!
//! One task owns the only writing connection. It takes a queued operation, opens an `IMMEDIATE`
//! transaction, applies it and every operation that queues meanwhile (up to [`MAX_GROUP`]),
//! commits once (one fsync for the group), then answers every caller. A refused append (version
//! conflict, reused event id) writes nothing and does not disturb the group; an unexpected
//! failure rolls the group back and its operations are retried one by one, so only the
//! offending one fails.

use sqlx::{Connection, Row, SqliteConnection};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use super::read;
use crate::{AppendResult, ExpectedVersion, NewEvent, Position, StoreError};

/// Most operations committed in one transaction.
const MAX_GROUP: usize = 1024;
/// Rows per multi-row insert; a batch's tail goes in the smaller sizes (few statement shapes).
const CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// Work for the writer.
pub(super) enum WriteOp {
    Append {
        stream: String,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        reply: oneshot::Sender<Result<AppendResult, StoreError>>,
    },
    /// Stores a data key unless one is stored under its id; answers the stored one.
    PutKey {
        key_id: String,
        wrapped: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, StoreError>>,
    },
    /// Deletes a data key; answers whether it existed.
    DestroyKey {
        key_id: String,
        reply: oneshot::Sender<Result<bool, StoreError>>,
    },
}

/// What an operation did inside a transaction that has not committed yet.
enum Staged {
    Appended(Result<AppendResult, StoreError>),
    Key(Vec<u8>),
    Destroyed(bool),
}

/// Starts the writer task on `conn`. Returns the queue and the head-position watch. The task
/// ends when every sender is dropped.
pub(super) async fn start(
    mut conn: SqliteConnection,
) -> (mpsc::UnboundedSender<WriteOp>, watch::Receiver<Position>) {
    let head = current_head(&mut conn).await;
    let (head_tx, head_rx) = watch::channel(head);
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(conn, rx, head_tx));
    (tx, head_rx)
}

async fn current_head(conn: &mut SqliteConnection) -> Position {
    // Before the first migration there is no events table: the head is the start.
    let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM events")
        .fetch_one(conn)
        .await
        .ok()
        .flatten();
    Position {
        commit: 0,
        seq: seq.unwrap_or(0) as u64,
    }
}

async fn run(
    mut conn: SqliteConnection,
    mut rx: mpsc::UnboundedReceiver<WriteOp>,
    head: watch::Sender<Position>,
) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        match commit_group(&mut conn, Some(&mut rx), &mut group).await {
            Ok(staged) => answer(group, staged, &head),
            Err(e) if group.len() > 1 => {
                tracing::debug!(error = %e, "sqlite group commit failed; retrying one by one");
                for op in group {
                    let mut single = vec![op];
                    match commit_group(&mut conn, None, &mut single).await {
                        Ok(staged) => answer(single, staged, &head),
                        Err(e) => fail(single, &e),
                    }
                }
            }
            Err(e) => fail(group, &e),
        }
    }
    let _ = conn.close().await;
}

/// One transaction: applies `group` and, given the queue, the operations that arrive meanwhile
/// (up to [`MAX_GROUP`]), then commits.
async fn commit_group(
    conn: &mut SqliteConnection,
    mut queue: Option<&mut mpsc::UnboundedReceiver<WriteOp>>,
    group: &mut Vec<WriteOp>,
) -> Result<Vec<Staged>, StoreError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let mut staged = Vec::with_capacity(group.len());
    let mut i = 0;
    while i < group.len() {
        staged.push(apply(&mut tx, &group[i]).await?);
        i += 1;
        if let Some(rx) = queue.as_deref_mut() {
            // Take what queued while this one was written, not only before.
            while i == group.len() && group.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(op) => group.push(op),
                    Err(_) => break,
                }
            }
        }
    }
    tx.commit().await?;
    Ok(staged)
}

async fn apply(conn: &mut SqliteConnection, op: &WriteOp) -> Result<Staged, StoreError> {
    Ok(match op {
        WriteOp::Append {
            stream,
            expected,
            events,
            ..
        } => Staged::Appended(append(conn, stream, *expected, events).await?),
        WriteOp::PutKey {
            key_id, wrapped, ..
        } => {
            // A no-op update on conflict makes RETURNING answer the stored key either way.
            let stored: Vec<u8> = sqlx::query_scalar(
                "INSERT INTO data_keys (key_id, wrapped, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (key_id) DO UPDATE SET key_id = excluded.key_id
                 RETURNING wrapped",
            )
            .bind(key_id)
            .bind(wrapped)
            .bind(chrono::Utc::now().to_rfc3339())
            .fetch_one(&mut *conn)
            .await?;
            Staged::Key(stored)
        }
        WriteOp::DestroyKey { key_id, .. } => {
            let done = sqlx::query("DELETE FROM data_keys WHERE key_id = $1")
                .bind(key_id)
                .execute(&mut *conn)
                .await?;
            Staged::Destroyed(done.rows_affected() > 0)
        }
    })
}

/// Most events an append writes in one statement (the common path).
const ONE_STATEMENT: usize = 64;

/// Appends one request inside the group's transaction. `Ok(Err(..))` is a refusal (conflict,
/// reused id) that wrote nothing; `Err(..)` aborts the group.
///
/// The common case is one statement (each is a round trip to sqlx's connection thread): an
/// insert that checks the expected version and that no id is stored yet, and writes nothing
/// otherwise. Only when it wrote nothing, or for appends of many events, does the step-by-step
/// path find out why (or write them in chunks).
async fn append(
    conn: &mut SqliteConnection,
    stream: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<Result<AppendResult, StoreError>, StoreError> {
    if events.len() <= ONE_STATEMENT {
        if let Some(done) = append_checked(conn, stream, expected, events).await? {
            return Ok(Ok(done));
        }
    }
    append_step_by_step(conn, stream, expected, events).await
}

/// The one-statement append; `None` when it wrote nothing (a conflict or a reused id).
async fn append_checked(
    conn: &mut SqliteConnection,
    stream: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<Option<AppendResult>, StoreError> {
    let sql = checked_insert_sql(events.len());
    let mut query = sqlx::query(&sql).bind(stream).bind(match expected {
        ExpectedVersion::Any => -1i64,
        ExpectedVersion::NoStream => -2,
        ExpectedVersion::Exact(v) => v as i64,
    });
    for (i, ev) in events.iter().enumerate() {
        let metadata =
            serde_json::to_string(&ev.metadata).map_err(|e| StoreError::Invalid(e.to_string()))?;
        query = query
            .bind(i as i64 + 1)
            .bind(ev.event_id.as_bytes().to_vec())
            .bind(ev.event_type.as_str())
            .bind(ev.schema_version as i64)
            .bind(ev.data.get())
            .bind(metadata);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    if rows.len() != events.len() {
        return Err(StoreError::Corrupt(format!(
            "an append of {} events wrote {}",
            events.len(),
            rows.len()
        )));
    }
    let (mut position, mut first, mut last) = (0i64, i64::MAX, 0i64);
    for row in rows {
        position = position.max(row.try_get(0)?);
        let version: i64 = row.try_get(1)?;
        first = first.min(version);
        last = last.max(version);
    }
    Ok(Some(AppendResult {
        first_version: first as u64,
        last_version: last as u64,
        position: Position {
            commit: 0,
            seq: position as u64,
        },
        deduplicated: false,
    }))
}

/// `$1` stream, `$2` expected (-1 any, -2 no stream, n exactly n), then six values per event
/// (ordinal, id, type, schema version, data, metadata).
fn checked_insert_sql(n: usize) -> String {
    let mut values = String::new();
    for r in 0..n {
        if r > 0 {
            values.push_str(", ");
        }
        let b = 3 + r * 6;
        values.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${})",
            b,
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5
        ));
    }
    format!(
        "WITH cur (v) AS (SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = $1),
              new (i, id, t, s, d, m) AS (VALUES {values})
         INSERT INTO events (event_id, stream, version, event_type, schema_version, data, metadata)
         SELECT new.id, $1, cur.v + new.i, new.t, new.s, new.d, new.m FROM cur, new
         WHERE ($2 = -1 OR ($2 = -2 AND cur.v = 0) OR cur.v = $2)
           AND NOT EXISTS (SELECT 1 FROM new AS n JOIN events AS e ON e.event_id = n.id)
         ORDER BY new.i
         RETURNING position, version"
    )
}

/// The step-by-step append: the stream's version and stored ids first, then the rows in
/// chunks.
async fn append_step_by_step(
    conn: &mut SqliteConnection,
    stream: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<Result<AppendResult, StoreError>, StoreError> {
    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    // The stream's version, and whether any of these ids is stored already (idempotency).
    let probe = sqlx::query(
        "SELECT (SELECT MAX(version) FROM events WHERE stream = $1),
                (SELECT count(*) FROM events
                  WHERE event_id IN (SELECT unhex(value) FROM json_each($2)))",
    )
    .bind(stream)
    .bind(read::hex_ids(&ids))
    .fetch_one(&mut *conn)
    .await?;
    let current = probe.try_get::<Option<i64>, _>(0)?.unwrap_or(0) as u64;
    let stored: i64 = probe.try_get(1)?;
    if stored > 0 {
        let found = read::by_ids(conn, &ids).await?;
        return Ok(crate::dedupe::original_result(stream, events, found));
    }
    if !expected.accepts(current) {
        return Ok(Err(StoreError::Conflict {
            stream: stream.to_string(),
            expected,
            actual: current,
        }));
    }
    let mut position = 0i64;
    let mut at = 0;
    for chunk in CHUNKS {
        while events.len() - at >= chunk {
            let sql = insert_sql(chunk);
            let mut query = sqlx::query(&sql);
            for (i, ev) in events[at..at + chunk].iter().enumerate() {
                let metadata = serde_json::to_string(&ev.metadata)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                query = query
                    .bind(ev.event_id.as_bytes().to_vec())
                    .bind(stream)
                    .bind((current + 1 + (at + i) as u64) as i64)
                    .bind(ev.event_type.as_str())
                    .bind(ev.schema_version as i64)
                    .bind(ev.data.get())
                    .bind(metadata);
            }
            let rows = query.fetch_all(&mut *conn).await?;
            for row in rows {
                position = position.max(row.try_get(0)?);
            }
            at += chunk;
        }
    }
    Ok(Ok(AppendResult {
        first_version: current + 1,
        last_version: current + events.len() as u64,
        position: Position {
            commit: 0,
            seq: position as u64,
        },
        deduplicated: false,
    }))
}

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO events (event_id, stream, version, event_type, schema_version, data, metadata) VALUES ",
    );
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        let b = r * 7;
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7
        ));
    }
    sql.push_str(" RETURNING position");
    sql
}

/// Answers every operation of a committed group and moves the head.
fn answer(group: Vec<WriteOp>, staged: Vec<Staged>, head: &watch::Sender<Position>) {
    let mut top: Option<Position> = None;
    for (op, done) in group.into_iter().zip(staged) {
        match (op, done) {
            (WriteOp::Append { reply, .. }, Staged::Appended(result)) => {
                if let Ok(r) = &result {
                    top = top.max(Some(r.position));
                }
                let _ = reply.send(result);
            }
            (WriteOp::PutKey { reply, .. }, Staged::Key(stored)) => {
                let _ = reply.send(Ok(stored));
            }
            (WriteOp::DestroyKey { reply, .. }, Staged::Destroyed(existed)) => {
                let _ = reply.send(Ok(existed));
            }
            (op, _) => fail(vec![op], &StoreError::Invalid("writer mix-up".into())),
        }
    }
    if let Some(top) = top {
        head.send_if_modified(|h| {
            let changed = top > *h;
            if changed {
                *h = top;
            }
            changed
        });
    }
}

/// Nothing of these operations was committed: each caller gets the failure.
fn fail(group: Vec<WriteOp>, e: &StoreError) {
    tracing::warn!(error = %e, "sqlite write failed");
    let err = || {
        if e.is_unavailable() {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Io(std::io::Error::other(e.to_string()))
        }
    };
    for op in group {
        match op {
            WriteOp::Append { reply, .. } => drop(reply.send(Err(err()))),
            WriteOp::PutKey { reply, .. } => drop(reply.send(Err(err()))),
            WriteOp::DestroyKey { reply, .. } => drop(reply.send(Err(err()))),
        }
    }
}
