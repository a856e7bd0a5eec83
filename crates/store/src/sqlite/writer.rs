//! The single SQLite writer thread and its group commit.

use std::path::Path;
use std::sync::mpsc;

use rusqlite::Connection;
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

type Reply = oneshot::Sender<Result<AppendResult, StoreError>>;

fn run(mut conn: Connection, rx: mpsc::Receiver<WriteOp>, head: watch::Sender<Position>) {
    // An operation taken from the queue while a group was open, to run once it has committed.
    let mut carried: Option<WriteOp> = None;
    loop {
        let op = match carried.take() {
            Some(op) => op,
            None => match rx.recv() {
                Ok(op) => op,
                Err(_) => return,
            },
        };
        match op {
            WriteOp::Run(f) => {
                f(&mut conn);
                // A migration may have created the events table.
                advance(&head, current_head(&conn));
            }
            WriteOp::Append {
                stream,
                expected,
                events,
                reply,
            } => {
                carried = commit_group(&mut conn, &rx, (stream, expected, events, reply), &head);
            }
        }
    }
}

fn advance(head: &watch::Sender<Position>, to: Position) {
    head.send_if_modified(|h| {
        let changed = to > *h;
        if changed {
            *h = to;
        }
        changed
    });
}

/// Group commit: opens one transaction, applies `first` and every append that arrives while the
/// group is being written (each under its own savepoint, so one refused append does not fail the
/// others), commits once, then answers every caller. Returns a non-append operation that was
/// dequeued meanwhile, to run after the commit.
fn commit_group(
    conn: &mut Connection,
    rx: &mpsc::Receiver<WriteOp>,
    first: (String, ExpectedVersion, Vec<NewEvent>, Reply),
    head: &watch::Sender<Position>,
) -> Option<WriteOp> {
    let mut carried = None;
    let mut replies: Vec<(Reply, Result<AppendResult, StoreError>)> = Vec::new();
    let mut next = Some(first);
    let outcome = (|| -> Result<(), StoreError> {
        let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        while let Some((stream, expected, events, reply)) = next.take() {
            let mut sp = tx.savepoint()?;
            let r = append_one(&sp, &stream, expected, &events);
            if r.is_ok() {
                sp.commit()?;
            } else {
                sp.rollback()?;
            }
            replies.push((reply, r));
            if replies.len() >= MAX_GROUP {
                break;
            }
            match rx.try_recv() {
                Ok(WriteOp::Append {
                    stream,
                    expected,
                    events,
                    reply,
                }) => next = Some((stream, expected, events, reply)),
                Ok(other) => carried = Some(other),
                Err(_) => {}
            }
        }
        tx.commit()?;
        Ok(())
    })();
    match outcome {
        Ok(()) => {
            let top = replies
                .iter()
                .filter_map(|(_, r)| r.as_ref().ok())
                .map(|r| r.position)
                .max();
            for (reply, r) in replies {
                let _ = reply.send(r);
            }
            if let Some(top) = top {
                advance(head, top);
            }
        }
        Err(e) => {
            // Nothing of the group was committed: every caller gets the failure.
            tracing::error!(error = %e, "sqlite group commit failed");
            let msg = e.to_string();
            // `next` still holds the first append if the transaction could not even begin.
            let unstarted = next.map(|(.., reply)| reply);
            for reply in replies.into_iter().map(|(reply, _)| reply).chain(unstarted) {
                let _ = reply.send(Err(StoreError::Io(std::io::Error::other(msg.clone()))));
            }
        }
    }
    carried
}

fn append_one(
    conn: &Connection,
    stream: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<AppendResult, StoreError> {
    // Idempotency: are any of these ids stored already? (An index probe; rows only if so.)
    let mut exists = conn.prepare_cached("SELECT 1 FROM events WHERE event_id = ?1")?;
    let mut any = false;
    for ev in events {
        if exists.exists([ev.event_id.as_bytes().as_slice()])? {
            any = true;
            break;
        }
    }
    if any {
        let mut found = Vec::new();
        for ev in events {
            if let Some(stored) = super::read::by_id(conn, ev.event_id)? {
                found.push(stored);
            }
        }
        return crate::dedupe::original_result(stream, events, found);
    }
    let current = super::read::stream_version(conn, stream)?;
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
