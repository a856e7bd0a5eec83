//! PostgreSQL writer tasks: group commit of queued appends, one statement per group.

use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres, Row};
use tokio::sync::{oneshot, watch};

use crate::{AppendResult, ExpectedVersion, NewEvent, Position, StoreError};

/// Most appends committed in one transaction.
const MAX_GROUP: usize = 256;

const APPEND_GROUP_SQL: &str = "SELECT idx, status, out_version, out_position, out_tx \
     FROM pawpost_append_group($1, $2, $3, $4, $5, $6, $7, $8) ORDER BY idx";

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

/// Starts one writer task taking requests from `queue`. It holds one connection of `pool`
/// between groups and takes a new one after a failure (the pool reconnects).
pub(super) fn spawn(
    pool: PgPool,
    queue: async_channel::Receiver<Request>,
    head: Arc<watch::Sender<Position>>,
) {
    tokio::spawn(async move {
        let mut conn: Option<PoolConnection<Postgres>> = None;
        while let Ok(first) = queue.recv().await {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(r) => group.push(r),
                    Err(_) => break,
                }
            }
            commit_group(&pool, &mut conn, group, &head).await;
        }
    });
}

async fn commit_group(
    pool: &PgPool,
    conn: &mut Option<PoolConnection<Postgres>>,
    group: Vec<Request>,
    head: &watch::Sender<Position>,
) {
    match run(pool, conn, &group).await {
        Ok(rows) => finish(group, rows, head),
        Err(e) if group.len() > 1 && !e.is_unavailable() => {
            // A racing duplicate id or a deadlock victim: retry each append alone so only
            // the offending one fails.
            tracing::debug!(error = %e, "group append failed; retrying one by one");
            for req in group {
                let single = vec![req];
                match run(pool, conn, &single).await {
                    Ok(rows) => finish(single, rows, head),
                    Err(e) => fail(single, e),
                }
            }
        }
        Err(e) => fail(group, e),
    }
}

type Outcomes = Vec<(i32, i64, i64, String)>;

async fn run(
    pool: &PgPool,
    conn: &mut Option<PoolConnection<Postgres>>,
    group: &[Request],
) -> Result<Outcomes, StoreError> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(pool.acquire().await?),
    };
    let mut streams = Vec::with_capacity(group.len());
    let mut expected = Vec::with_capacity(group.len());
    let mut counts = Vec::with_capacity(group.len());
    let (mut ids, mut types, mut schemas, mut data, mut meta) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in group {
        streams.push(r.stream.as_str());
        expected.push(match r.expected {
            ExpectedVersion::Any => -1,
            ExpectedVersion::NoStream => -2,
            ExpectedVersion::Exact(v) => v as i64,
        });
        counts.push(r.events.len() as i32);
        for e in &r.events {
            ids.push(e.event_id);
            types.push(e.event_type.as_str());
            schemas.push(e.schema_version as i32);
            data.push(e.data.get());
            meta.push(
                serde_json::to_string(&e.metadata)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?,
            );
        }
    }
    let result = sqlx::query(APPEND_GROUP_SQL)
        .bind(&streams)
        .bind(&expected)
        .bind(&counts)
        .bind(&ids)
        .bind(&types)
        .bind(&schemas)
        .bind(&data)
        .bind(&meta)
        .fetch_all(&mut **c)
        .await;
    let rows = match result {
        Ok(rows) => rows,
        Err(e) => {
            let e = StoreError::from(e);
            if e.is_unavailable() {
                // The connection may be broken: take a fresh one next time.
                if let Some(mut c) = conn.take() {
                    c.close_on_drop();
                }
            }
            return Err(e);
        }
    };
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<i32, _>(1)?,
                r.try_get::<i64, _>(2)?,
                r.try_get::<i64, _>(3)?,
                r.try_get::<String, _>(4)?,
            ))
        })
        .collect()
}

fn finish(group: Vec<Request>, rows: Outcomes, head: &watch::Sender<Position>) {
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
    let unique_violation = matches!(&e, StoreError::Database(sqlx::Error::Database(db))
        if db.code().as_deref() == Some("23505"));
    let msg = e.to_string();
    for req in group {
        let err = if unique_violation {
            // A racing writer stored the same event id or created the same stream first.
            StoreError::Conflict {
                stream: req.stream.clone(),
                expected: req.expected,
                actual: 0,
            }
        } else if e.is_unavailable() {
            StoreError::Unavailable(msg.clone())
        } else {
            StoreError::Io(std::io::Error::other(msg.clone()))
        };
        let _ = req.reply.send(Err(err));
    }
}
