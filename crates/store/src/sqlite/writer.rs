//! The single SQLite writer thread and its group commit.

use std::path::Path;
use std::sync::mpsc;

use rusqlite::{Connection, OptionalExtension};
use tokio::sync::{oneshot, watch};

use crate::{AppendResult, ExpectedVersion, NewEvent, Position, StoreError};

/// Most appends committed in one transaction.
const MAX_GROUP: usize = 1024;

/// Work for the writer thread.
pub(super) enum WriteOp {
    Append {
        stream: String,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        reply: oneshot::Sender<Result<AppendResult, StoreError>>,
    },
    /// Anything else that writes (migrations, data keys), run alone, in order.
    Run(Box<dyn FnOnce(&mut Connection) + Send>),
}

/// Handle to the writer thread. Dropping every handle stops the thread.
pub(super) struct Writer {
    tx: mpsc::Sender<WriteOp>,
}

impl Writer {
    /// Opens the writing connection and starts the thread. Returns the head-position watch.
    pub(super) fn start(path: &Path) -> Result<(Writer, watch::Receiver<Position>), StoreError> {
        let conn = super::SqliteStore::open_connection(path)?;
        let head = current_head(&conn);
        let (head_tx, head_rx) = watch::channel(head);
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("pawpost-sqlite-writer".into())
            .spawn(move || run(conn, rx, head_tx))?;
        Ok((Writer { tx }, head_rx))
    }

    pub(super) fn send(&self, op: WriteOp) -> Result<(), StoreError> {
        self.tx.send(op).map_err(|_| StoreError::Closed)
    }
}

fn current_head(conn: &Connection) -> Position {
    // Before the first migration there is no events table: the head is the start.
    let seq: Option<i64> = conn
        .query_row("SELECT MAX(position) FROM events", [], |r| r.get(0))
        .ok()
        .flatten();
    Position {
        commit: 0,
        seq: seq.unwrap_or(0) as u64,
    }
}

type Pending = (
    String,
    ExpectedVersion,
    Vec<NewEvent>,
    oneshot::Sender<Result<AppendResult, StoreError>>,
);

fn run(mut conn: Connection, rx: mpsc::Receiver<WriteOp>, head: watch::Sender<Position>) {
    let mut group: Vec<Pending> = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(op) = next.take() {
            match op {
                WriteOp::Append {
                    stream,
                    expected,
                    events,
                    reply,
                } => group.push((stream, expected, events, reply)),
                WriteOp::Run(f) => {
                    commit_group(&mut conn, &mut group, &head);
                    f(&mut conn);
                    // A migration may have created the events table.
                    head.send_if_modified(|h| {
                        let now = current_head(&conn);
                        let changed = now > *h;
                        if changed {
                            *h = now;
                        }
                        changed
                    });
                }
            }
            if group.len() < MAX_GROUP {
                next = rx.try_recv().ok();
            }
        }
        commit_group(&mut conn, &mut group, &head);
    }
}

/// Commits every queued append in one transaction, each under its own savepoint.
fn commit_group(conn: &mut Connection, group: &mut Vec<Pending>, head: &watch::Sender<Position>) {
    if group.is_empty() {
        return;
    }
    let pending = std::mem::take(group);
    let mut results: Vec<Result<AppendResult, StoreError>> = Vec::with_capacity(pending.len());
    let outcome = (|| -> Result<(), StoreError> {
        let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for (stream, expected, events, _) in &pending {
            let mut sp = tx.savepoint()?;
            let r = append_one(&sp, stream, *expected, events);
            if r.is_ok() {
                sp.commit()?;
            } else {
                sp.rollback()?;
            }
            results.push(r);
        }
        tx.commit()?;
        Ok(())
    })();
    match outcome {
        Ok(()) => {
            let top = results
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .map(|r| r.position)
                .max();
            for ((.., reply), r) in pending.into_iter().zip(results) {
                let _ = reply.send(r);
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
        Err(e) => {
            // Nothing of the group was committed: every caller gets the failure.
            tracing::error!(error = %e, "sqlite group commit failed");
            let msg = e.to_string();
            for (.., reply) in pending {
                let _ = reply.send(Err(StoreError::Io(std::io::Error::other(msg.clone()))));
            }
        }
    }
}

fn append_one(
    conn: &Connection,
    stream: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<AppendResult, StoreError> {
    // Idempotency: are any of these ids stored already?
    let mut found = Vec::new();
    for ev in events {
        if let Some(stored) = super::read::by_id(conn, ev.event_id)? {
            found.push(stored);
        }
    }
    if !found.is_empty() {
        return crate::dedupe::original_result(stream, events, found);
    }
    let current: u64 = conn
        .prepare_cached("SELECT version FROM streams WHERE stream = ?1")?
        .query_row([stream], |r| r.get::<_, i64>(0))
        .optional()?
        .unwrap_or(0) as u64;
    if !expected.accepts(current) {
        return Err(StoreError::Conflict {
            stream: stream.to_string(),
            expected,
            actual: current,
        });
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO events (event_id, stream, version, event_type, schema_version, data, metadata)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut position = 0i64;
    for (i, ev) in events.iter().enumerate() {
        let metadata =
            serde_json::to_string(&ev.metadata).map_err(|e| StoreError::Invalid(e.to_string()))?;
        insert.execute(rusqlite::params![
            ev.event_id.as_bytes().as_slice(),
            stream,
            (current + 1 + i as u64) as i64,
            ev.event_type,
            ev.schema_version,
            ev.data.get(),
            metadata,
        ])?;
        position = conn.last_insert_rowid();
    }
    let last = current + events.len() as u64;
    conn.prepare_cached(
        "INSERT INTO streams (stream, version) VALUES (?1, ?2)
         ON CONFLICT (stream) DO UPDATE SET version = excluded.version",
    )?
    .execute(rusqlite::params![stream, last as i64])?;
    Ok(AppendResult {
        first_version: current + 1,
        last_version: last,
        position: Position {
            commit: 0,
            seq: position as u64,
        },
        deduplicated: false,
    })
}
