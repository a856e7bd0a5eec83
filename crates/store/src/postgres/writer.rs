//! PostgreSQL writer tasks: group commit of queued appends.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::{oneshot, watch};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Statement};

use crate::{AppendResult, ExpectedVersion, NewEvent, Position, StoreError};

/// Most appends committed in one transaction.
const MAX_GROUP: usize = 256;

/// Locks every stream of a group before anything is written. Advisory locks take no transaction
/// id, so the group's xid8 is assigned only once it holds all its streams: a later append to the
/// same stream always gets a larger xid, and readers ordering by `(xid, position)` see each
/// stream in version order. Locks are taken in key order so concurrent groups cannot deadlock.
const LOCK_SQL: &str = "SELECT count(pg_advisory_xact_lock(k)) FROM \
     (SELECT DISTINCT hashtextextended(s, 0) AS k FROM unnest($1::text[]) AS s ORDER BY k) AS locks";

const APPEND_SQL: &str = "SELECT status, out_version, out_position, out_tx \
     FROM pawpost_append($1, $2, $3, $4, $5, $6::text[]::json[], $7::text[]::json[])";

/// An append waiting for a writer.
pub(super) struct Request {
    pub stream: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
    pub reply: oneshot::Sender<Result<Outcome, StoreError>>,
}

/// What a writer did with a request.
pub(super) enum Outcome {
    Appended(AppendResult),
    /// Some event ids are stored already; the caller compares payloads (outside the group).
    Duplicate(Vec<NewEvent>),
}

struct Conn {
    client: Client,
    statements: Option<(Statement, Statement)>,
}

async fn open(config: &tokio_postgres::Config) -> Result<Conn, StoreError> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "postgres writer connection ended");
        }
    });
    Ok(Conn {
        client,
        statements: None,
    })
}

/// Starts one writer task taking requests from `queue`.
pub(super) async fn spawn(
    config: tokio_postgres::Config,
    queue: async_channel::Receiver<Request>,
    head: Arc<watch::Sender<Position>>,
) -> Result<(), StoreError> {
    let mut conn = open(&config).await?;
    tokio::spawn(async move {
        while let Ok(first) = queue.recv().await {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(r) => group.push(r),
                    Err(_) => break,
                }
            }
            if conn.client.is_closed() {
                match reconnect(&config).await {
                    Some(c) => conn = c,
                    None => {
                        for r in group {
                            let _ = r.reply.send(Err(StoreError::Closed));
                        }
                        continue;
                    }
                }
            }
            commit_group(&mut conn, group, &head).await;
        }
    });
    Ok(())
}

async fn reconnect(config: &tokio_postgres::Config) -> Option<Conn> {
    for attempt in 0..5u32 {
        match open(config).await {
            Ok(c) => return Some(c),
            Err(e) => {
                tracing::warn!(error = %e, attempt, "postgres writer reconnect failed");
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        }
    }
    None
}

async fn commit_group(conn: &mut Conn, group: Vec<Request>, head: &watch::Sender<Position>) {
    match run(conn, &group).await {
        Ok(rows) => finish(group, rows, head),
        Err(e) if group.len() > 1 => {
            // A racing duplicate or a deadlock victim: retry each append alone so only the
            // offending one fails.
            tracing::debug!(error = %e, "group append failed; retrying one by one");
            for req in group {
                let single = vec![req];
                match run(conn, &single).await {
                    Ok(rows) => finish(single, rows, head),
                    Err(e) => fail(single, e),
                }
            }
        }
        Err(e) => fail(group, e),
    }
}

type Row = (i32, i64, i64, String);

async fn run(conn: &mut Conn, group: &[Request]) -> Result<Vec<Row>, StoreError> {
    if conn.statements.is_none() {
        let lock = conn.client.prepare(LOCK_SQL).await?;
        let append = conn.client.prepare(APPEND_SQL).await?;
        conn.statements = Some((lock, append));
    }
    let Some((lock, stmt)) = conn.statements.clone() else {
        return Err(StoreError::Closed);
    };
    let streams: Vec<&str> = group.iter().map(|r| r.stream.as_str()).collect();
    let params: Vec<_> = group.iter().map(Params::of).collect();
    let args: Vec<[&(dyn ToSql + Sync); 7]> = params
        .iter()
        .map(|p| {
            [
                &p.stream as &(dyn ToSql + Sync),
                &p.expected,
                &p.ids,
                &p.types,
                &p.schemas,
                &p.data,
                &p.meta,
            ]
        })
        .collect();
    // The whole group goes out pipelined, one round trip: BEGIN, locks, appends, COMMIT. If any
    // statement fails the transaction is aborted and the COMMIT rolls it back, so the group's
    // result counts only when every statement succeeded.
    let client = &conn.client;
    let lock_args: [&(dyn ToSql + Sync); 1] = [&streams];
    let (begin, locked, rows, commit) = tokio::join!(
        client.batch_execute("BEGIN"),
        client.query_one(&lock, &lock_args),
        join_all(args.iter().map(|a| client.query_one(&stmt, a))),
        client.batch_execute("COMMIT"),
    );
    begin?;
    locked?;
    let rows = rows.into_iter().collect::<Result<Vec<_>, _>>()?;
    commit?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
}

struct Params<'a> {
    stream: &'a str,
    expected: i64,
    ids: Vec<uuid::Uuid>,
    types: Vec<&'a str>,
    schemas: Vec<i32>,
    data: Vec<&'a str>,
    meta: Vec<String>,
}

impl<'a> Params<'a> {
    fn of(r: &'a Request) -> Self {
        Params {
            stream: &r.stream,
            expected: match r.expected {
                ExpectedVersion::Any => -1,
                ExpectedVersion::NoStream => -2,
                ExpectedVersion::Exact(v) => v as i64,
            },
            ids: r.events.iter().map(|e| e.event_id).collect(),
            types: r.events.iter().map(|e| e.event_type.as_str()).collect(),
            schemas: r.events.iter().map(|e| e.schema_version as i32).collect(),
            data: r.events.iter().map(|e| e.data.get()).collect(),
            meta: r
                .events
                .iter()
                .map(|e| serde_json::to_string(&e.metadata).unwrap_or_else(|_| "{}".into()))
                .collect(),
        }
    }
}

fn finish(group: Vec<Request>, rows: Vec<Row>, head: &watch::Sender<Position>) {
    let mut top: Option<Position> = None;
    for (req, (status, version, position, tx)) in group.into_iter().zip(rows) {
        let n = req.events.len() as u64;
        let out = match status {
            0 => match tx.parse::<u64>() {
                Ok(commit) => {
                    let pos = Position {
                        commit,
                        seq: position as u64,
                    };
                    top = top.max(Some(pos));
                    Ok(Outcome::Appended(AppendResult {
                        first_version: version as u64 + 1 - n,
                        last_version: version as u64,
                        position: pos,
                        deduplicated: false,
                    }))
                }
                Err(e) => Err(StoreError::Corrupt(format!("transaction id {tx}: {e}"))),
            },
            1 => Err(StoreError::Conflict {
                stream: req.stream.clone(),
                expected: req.expected,
                actual: version as u64,
            }),
            _ => Ok(Outcome::Duplicate(req.events)),
        };
        let _ = req.reply.send(out);
    }
    if let Some(top) = top {
        head.send_modify(|h| *h = (*h).max(top));
    }
}

fn fail(group: Vec<Request>, e: StoreError) {
    let msg = e.to_string();
    for req in group {
        let err = match &e {
            StoreError::Postgres(pe)
                if pe.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) =>
            {
                // A racing writer stored the same event id or created the same stream first.
                StoreError::Conflict {
                    stream: req.stream.clone(),
                    expected: req.expected,
                    actual: 0,
                }
            }
            _ => StoreError::Io(std::io::Error::other(msg.clone())),
        };
        let _ = req.reply.send(Err(err));
    }
}
