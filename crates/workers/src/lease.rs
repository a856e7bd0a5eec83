//! Who runs a worker: one lease row per worker in `worker_leases`, so each worker runs once in
//! the cluster.
//!
//! A serving process holds the leases of the workers it runs and renews them every
//! [`HEARTBEAT`]; `pawpost replay` holds the leases of the projections it rebuilds. A lease
//! belongs to its holder while it is *live*: its heartbeat is younger than [`FRESH_FOR`], and
//! its holder's process has not been seen to be gone. A holder on this host whose process
//! exited (a crash, `kill -9`) is taken over at once; one on another host after its lease
//! expires. A graceful stop releases its leases.
//!
//! Heartbeats are epoch microseconds of the writer's clock; the nodes sharing a database are
//! assumed to keep their clocks within a few seconds of each other.

use std::time::Duration;

use pawpost_store::db::{Db, DbError, Dialect, Tx};

use crate::process::ProcessId;

/// How often a holder renews its leases.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// How long a lease stays its holder's after the last heartbeat.
pub const FRESH_FOR: Duration = Duration::from_secs(10);

/// Who takes leases: an id that names the process (`{role}@{host}:{pid}/{random}`, so a refusal
/// says which process to stop) and where it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub id: String,
    pub process: ProcessId,
}

impl Owner {
    /// This process, in `role` (`serve`, `replay`).
    pub fn new(role: &str) -> Self {
        let process = ProcessId::current();
        let random = uuid::Uuid::new_v4().simple().to_string();
        Owner {
            id: format!("{role}@{}:{}/{}", process.host, process.pid, &random[..8]),
            process,
        }
    }
}

/// A lease row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The worker.
    pub name: String,
    /// Who holds it ([`Owner::id`]).
    pub owner: String,
    /// The last heartbeat, epoch microseconds.
    pub heartbeat_at: i64,
    /// Where the holder runs.
    pub process: ProcessId,
}

impl Holder {
    /// Time since the last heartbeat (zero if the heartbeat lies in the future).
    pub fn age(&self) -> Duration {
        age_at(self.heartbeat_at, now_micros())
    }

    /// Whether the lease still belongs to its holder: fresh, and its process not seen gone.
    pub fn is_live(&self) -> bool {
        self.age() < FRESH_FOR && self.process.alive_here() != Some(false)
    }
}

/// Why a lease could not be taken or kept.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Someone else holds a live lease on the worker.
    #[error("{} is leased by {} (last heartbeat {:.1} s ago)", .0.name, .0.owner, .0.age().as_secs_f64())]
    Held(Holder),
    #[error(transparent)]
    Db(#[from] DbError),
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn age_at(heartbeat_at: i64, now: i64) -> Duration {
    Duration::from_micros(u64::try_from(now.saturating_sub(heartbeat_at)).unwrap_or(0))
}

/// Takes the leases on `names` for `owner`, all or none. Fails with [`LeaseError::Held`] when
/// another owner holds a live lease on one of them; a dead one is taken over. Taking a lease
/// `owner` already holds renews it.
pub async fn acquire(db: &Db, names: &[&str], owner: &Owner) -> Result<(), LeaseError> {
    let claims = claim(db, names, owner, Mode::AllOrNone).await?;
    match claims.into_iter().find_map(|c| c.held_by) {
        Some(holder) => Err(LeaseError::Held(holder)),
        None => Ok(()),
    }
}

/// The outcome of claiming one lease.
#[derive(Debug, Clone)]
pub struct Claim {
    pub name: String,
    /// `None`: the caller holds it now; otherwise who does.
    pub held_by: Option<Holder>,
}

/// Takes or renews, one by one, each lease on `names` that no one else holds live (a serving
/// process runs exactly the workers it got).
pub async fn claim_each(db: &Db, names: &[&str], owner: &Owner) -> Result<Vec<Claim>, DbError> {
    claim(db, names, owner, Mode::Each).await
}

/// Takes the leases on `names` whoever holds them (`pawpost replay --force`). Returns the live
/// leases of other owners it displaced: those owners notice at their next renewal.
pub async fn take_over(db: &Db, names: &[&str], owner: &Owner) -> Result<Vec<Holder>, DbError> {
    let claims = claim(db, names, owner, Mode::Force).await?;
    Ok(claims.into_iter().filter_map(|c| c.held_by).collect())
}

/// Gives up `owner`'s leases on `names` (leases of other owners are left alone).
pub async fn release(db: &Db, names: &[&str], owner: &Owner) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    for name in names {
        tx.execute(
            "DELETE FROM worker_leases WHERE name = $1 AND owner = $2",
            &[(*name).into(), owner.id.as_str().into()],
        )
        .await?;
    }
    tx.commit().await
}

/// Every lease row, live or dead, by worker name.
pub async fn holders(db: &Db) -> Result<Vec<Holder>, DbError> {
    let mut tx = db.read().await?;
    let rows = tx
        .query(
            "SELECT name, owner, heartbeat_at, host, pid, started FROM worker_leases ORDER BY name",
            &[],
        )
        .await?;
    rows.iter().map(holder).collect()
}

fn holder(r: &pawpost_store::db::Row) -> Result<Holder, DbError> {
    Ok(Holder {
        name: r.text(0)?,
        owner: r.text(1)?,
        heartbeat_at: r.int(2)?,
        process: ProcessId {
            host: r.text(3)?,
            pid: u32::try_from(r.int(4)?).unwrap_or(0),
            started: u64::try_from(r.int(5)?).unwrap_or(0),
        },
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Take all or none (refused if any is held live by someone else).
    AllOrNone,
    /// Take each one that is free; leave the others.
    Each,
    /// Take all, displacing live holders (reported in the claims).
    Force,
}

async fn claim(db: &Db, names: &[&str], owner: &Owner, mode: Mode) -> Result<Vec<Claim>, DbError> {
    let mut tx = db.begin().await?;
    lock(&mut tx).await?;
    let now = now_micros();
    let mut claims = Vec::with_capacity(names.len());
    for name in names {
        let row = tx
            .query_opt(
                "SELECT name, owner, heartbeat_at, host, pid, started FROM worker_leases
                 WHERE name = $1",
                &[(*name).into()],
            )
            .await?;
        let held_by = row
            .as_ref()
            .map(holder)
            .transpose()?
            .filter(|h| h.owner != owner.id && h.is_live());
        claims.push(Claim {
            name: name.to_string(),
            held_by,
        });
    }
    if mode == Mode::AllOrNone && claims.iter().any(|c| c.held_by.is_some()) {
        // Nothing written: the transaction rolls back harmlessly.
        return Ok(claims);
    }
    for claim in &claims {
        if mode == Mode::Each && claim.held_by.is_some() {
            continue;
        }
        tx.execute(
            "INSERT INTO worker_leases (name, owner, heartbeat_at, host, pid, started)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,
                heartbeat_at = excluded.heartbeat_at, host = excluded.host,
                pid = excluded.pid, started = excluded.started",
            &[
                claim.name.as_str().into(),
                owner.id.as_str().into(),
                now.into(),
                owner.process.host.as_str().into(),
                i64::from(owner.process.pid).into(),
                owner.process.started.into(),
            ],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(claims)
}

/// Serializes lease transactions, so checking and writing the rows is one atomic step. SQLite
/// write transactions hold the write lock from their start (`BEGIN IMMEDIATE`).
async fn lock(tx: &mut Tx) -> Result<(), DbError> {
    if tx.dialect() == Dialect::Postgres {
        tx.batch(&["LOCK TABLE worker_leases IN SHARE ROW EXCLUSIVE MODE"])
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
