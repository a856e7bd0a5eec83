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
    /// New data keys (kept if stored already), committed with the group like an append.
    Keys {
        keys: Vec<(String, Vec<u8>)>,
        reply: KeysReply,
    },
    /// Anything else that writes (migrations, erasure), run alone, in order.
    Run(Box<dyn FnOnce(&mut Connection) + Send>),
}

/// An operation that joins a group commit.
enum Grouped {
    Append(String, ExpectedVersion, Vec<NewEvent>, Reply),
    Keys(Vec<(String, Vec<u8>)>, KeysReply),
}

/// A grouped operation's caller and what to tell them once the group committed.
enum Answer {
    Append(Reply, Result<AppendResult, StoreError>),
    Keys(KeysReply, Result<Vec<(String, Vec<u8>)>, StoreError>),
}

impl Grouped {
    fn from_op(op: WriteOp) -> Result<Grouped, WriteOp> {
        match op {
            WriteOp::Append {
                stream,
                expected,
                events,
                reply,
            } => Ok(Grouped::Append(stream, expected, events, reply)),
            WriteOp::Keys { keys, reply } => Ok(Grouped::Keys(keys, reply)),
            other => Err(other),
        }
    }

    /// Applies it inside the group's transaction (under a savepoint: a refused append does not
    /// fail the others).
    fn apply(self, tx: &mut rusqlite::Transaction<'_>) -> Result<Answer, StoreError> {
        let sp = tx.savepoint()?;
        let (answer, ok) = match self {
            Grouped::Append(stream, expected, events, reply) => {
                let r = append_one(&sp, &stream, expected, &events);
                let ok = r.is_ok();
                (Answer::Append(reply, r), ok)
            }
            Grouped::Keys(keys, reply) => {
                let r = put_keys(&sp, keys);
                let ok = r.is_ok();
                (Answer::Keys(reply, r), ok)
            }
        };
        if ok {
            sp.commit()?;
        } else {
            let mut sp = sp;
            sp.rollback()?;
        }
        Ok(answer)
    }
}

impl Answer {
    fn position(&self) -> Option<Position> {
        match self {
            Answer::Append(_, Ok(r)) => Some(r.position),
            _ => None,
        }
    }

    fn send(self) {
        match self {
            Answer::Append(reply, r) => {
                let _ = reply.send(r);
            }
            Answer::Keys(reply, r) => {
                let _ = reply.send(r);
            }
        }
    }

    fn fail(self, msg: &str) {
        let err = || StoreError::Io(std::io::Error::other(msg.to_string()));
        match self {
            Answer::Append(reply, _) => {
                let _ = reply.send(Err(err()));
            }
            Answer::Keys(reply, _) => {
                let _ = reply.send(Err(err()));
            }
        }
    }
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
/// Keys as stored, by id.
type StoredKeys = Vec<(String, Vec<u8>)>;
type KeysReply = oneshot::Sender<Result<StoredKeys, StoreError>>;

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
        match Grouped::from_op(op) {
            Ok(grouped) => carried = commit_group(&mut conn, &rx, grouped, &head),
            Err(WriteOp::Run(f)) => {
                f(&mut conn);
                // A migration may have created the events table.
                advance(&head, current_head(&conn));
            }
            Err(_) => {}
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

/// Group commit: opens one transaction, applies `first` and every append or key write that
/// arrives while the group is being written (each under its own savepoint, so one refused
/// append does not fail the others), commits once, then answers every caller. Returns an
/// operation of another kind that was dequeued meanwhile, to run after the commit.
fn commit_group(
    conn: &mut Connection,
    rx: &mpsc::Receiver<WriteOp>,
    first: Grouped,
    head: &watch::Sender<Position>,
) -> Option<WriteOp> {
    let mut carried = None;
    let mut answers: Vec<Answer> = Vec::new();
    let mut next = Some(first);
    let mut unstarted: Option<Grouped> = None;
    let outcome = (|| -> Result<(), StoreError> {
        let mut tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        {
            Ok(tx) => tx,
            Err(e) => {
                unstarted = next.take();
                return Err(e.into());
            }
        };
        while let Some(op) = next.take() {
            answers.push(op.apply(&mut tx)?);
            if answers.len() >= MAX_GROUP {
                break;
            }
            if let Ok(op) = rx.try_recv() {
                match Grouped::from_op(op) {
                    Ok(grouped) => next = Some(grouped),
                    Err(other) => carried = Some(other),
                }
            }
        }
        tx.commit()?;
        Ok(())
    })();
    match outcome {
        Ok(()) => {
            let top = answers.iter().filter_map(Answer::position).max();
            for answer in answers {
                answer.send();
            }
            if let Some(top) = top {
                advance(head, top);
            }
        }
        Err(e) => {
            // Nothing of the group was committed: every caller gets the failure.
            tracing::error!(error = %e, "sqlite group commit failed");
            let msg = e.to_string();
            for answer in answers {
                answer.fail(&msg);
            }
            if let Some(op) = unstarted {
                let err = || StoreError::Io(std::io::Error::other(msg.clone()));
                match op {
                    Grouped::Append(.., reply) => {
                        let _ = reply.send(Err(err()));
                    }
                    Grouped::Keys(_, reply) => {
                        let _ = reply.send(Err(err()));
                    }
                }
            }
        }
    }
    carried
}

/// Stores each key unless one is stored under its id; the stored key of every id.
fn put_keys(
    conn: &Connection,
    keys: Vec<(String, Vec<u8>)>,
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let now = chrono::Utc::now().to_rfc3339();
    let mut insert = conn.prepare_cached(
        "INSERT INTO data_keys (key_id, wrapped, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key_id) DO NOTHING",
    )?;
    let mut select = conn.prepare_cached("SELECT wrapped FROM data_keys WHERE key_id = ?1")?;
    let mut stored = Vec::with_capacity(keys.len());
    for (id, wrapped) in keys {
        insert.execute(rusqlite::params![id, wrapped, now])?;
        let key: Vec<u8> = select.query_row([&id], |r| r.get(0))?;
        stored.push((id, key));
    }
    Ok(stored)
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
