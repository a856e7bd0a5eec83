//! Parked events: an event a worker failed on, again and again, is set aside with its error
//! instead of blocking the worker forever. Admins see them and ask for a retry; the worker
//! retries what was asked for and forgets it once it succeeds.

use pawpost_store::db::{Db, DbError, Row, Tx};
use pawpost_store::{Position, RecordedEvent};
use serde::Serialize;

/// A parked event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Parked {
    pub worker: String,
    pub event_id: String,
    /// The event's log position (a sync cursor).
    pub position: Position,
    pub stream: String,
    pub version: u64,
    pub event_type: String,
    /// The last error.
    pub error: String,
    /// How many times it was tried.
    pub attempts: u64,
    /// When it was parked and when it last failed (epoch microseconds).
    pub parked_at: i64,
    pub last_failed_at: i64,
    /// An admin asked for a retry that has not run yet.
    pub retry_requested: bool,
}

const COLUMNS: &str = "worker, event_id, commit_pos, seq_pos, stream, version, event_type, error, \
     attempts, parked_at, last_failed_at, retry_requested";

fn parked(r: &Row) -> Result<Parked, DbError> {
    Ok(Parked {
        worker: r.text(0)?,
        event_id: r.text(1)?,
        position: Position {
            commit: u64::try_from(r.int(2)?).unwrap_or(0),
            seq: u64::try_from(r.int(3)?).unwrap_or(0),
        },
        stream: r.text(4)?,
        version: u64::try_from(r.int(5)?).unwrap_or(0),
        event_type: r.text(6)?,
        error: r.text(7)?,
        attempts: u64::try_from(r.int(8)?).unwrap_or(0),
        parked_at: r.int(9)?,
        last_failed_at: r.int(10)?,
        retry_requested: r.bool(11)?,
    })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Parks `event` for `worker` after `attempts` tries ending in `error` (inside the transaction
/// that moves the worker's checkpoint past it).
pub async fn park(
    tx: &mut Tx,
    worker: &str,
    event: &RecordedEvent,
    error: &str,
    attempts: u64,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO worker_parked (worker, event_id, commit_pos, seq_pos, stream, version,
             event_type, error, attempts, parked_at, last_failed_at, retry_requested)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)
         ON CONFLICT (worker, event_id) DO UPDATE SET error = excluded.error,
            attempts = worker_parked.attempts + excluded.attempts,
            last_failed_at = excluded.last_failed_at, retry_requested = excluded.retry_requested",
        &[
            worker.into(),
            event.event_id.to_string().into(),
            event.position.commit.into(),
            event.position.seq.into(),
            event.stream.as_str().into(),
            event.version.into(),
            event.event_type.as_str().into(),
            error.into(),
            attempts.into(),
            now().into(),
            false.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The parked events of `worker` (all workers when `None`), oldest first.
pub async fn list(db: &Db, worker: Option<&str>) -> Result<Vec<Parked>, DbError> {
    let mut tx = db.read().await?;
    let rows = match worker {
        Some(w) => {
            tx.query(
                &format!(
                    "SELECT {COLUMNS} FROM worker_parked WHERE worker = $1
                     ORDER BY commit_pos, seq_pos"
                ),
                &[w.into()],
            )
            .await?
        }
        None => {
            tx.query(
                &format!(
                    "SELECT {COLUMNS} FROM worker_parked ORDER BY worker, commit_pos, seq_pos"
                ),
                &[],
            )
            .await?
        }
    };
    rows.iter().map(parked).collect()
}

/// How many events each worker has parked.
pub async fn counts(db: &Db) -> Result<Vec<(String, u64)>, DbError> {
    let mut tx = db.read().await?;
    let rows = tx
        .query(
            "SELECT worker, count(*) FROM worker_parked GROUP BY worker ORDER BY worker",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.text(0)?, u64::try_from(r.int(1)?).unwrap_or(0))))
        .collect()
}

/// Asks for a retry of `worker`'s parked `event_id`. Returns whether such an event is parked.
pub async fn request_retry(db: &Db, worker: &str, event_id: &str) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let n = tx
        .execute(
            "UPDATE worker_parked SET retry_requested = $3 WHERE worker = $1 AND event_id = $2",
            &[worker.into(), event_id.into(), true.into()],
        )
        .await?;
    tx.commit().await?;
    Ok(n > 0)
}

/// The parked events of `worker` whose retry was asked for.
pub async fn retries_requested(db: &Db, worker: &str) -> Result<Vec<Parked>, DbError> {
    let mut tx = db.read().await?;
    let rows = tx
        .query(
            &format!(
                "SELECT {COLUMNS} FROM worker_parked WHERE worker = $1 AND retry_requested = $2
                 ORDER BY commit_pos, seq_pos"
            ),
            &[worker.into(), true.into()],
        )
        .await?;
    rows.iter().map(parked).collect()
}

/// Forgets a parked event (its retry succeeded).
pub async fn resolve(tx: &mut Tx, worker: &str, event_id: &str) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM worker_parked WHERE worker = $1 AND event_id = $2",
        &[worker.into(), event_id.into()],
    )
    .await?;
    Ok(())
}

/// Records a failed retry: the error, one more attempt, no retry pending.
pub async fn retry_failed(
    db: &Db,
    worker: &str,
    event_id: &str,
    error: &str,
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    tx.execute(
        "UPDATE worker_parked SET error = $3, attempts = attempts + 1, last_failed_at = $4,
            retry_requested = $5
         WHERE worker = $1 AND event_id = $2",
        &[
            worker.into(),
            event_id.into(),
            error.into(),
            now().into(),
            false.into(),
        ],
    )
    .await?;
    tx.commit().await
}
