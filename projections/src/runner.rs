//! The projectors as log workers: [`Projections`] holds one runner per projector, the
//! read-model database and the projectors' progress (read-your-writes waits on it). Running
//! them is the worker runtime's job (`pawpost-workers`): a serving process's `WorkerHost`, or
//! `pawpost replay` calling [`Projections::catch_up`].

use std::sync::Arc;
use std::time::Duration;

use pawpost_codec::EventCodec;
use pawpost_store::{EventStore, Position, RecordedEvent};
use pawpost_workers::{
    checkpoint, LogFeed, LogWorker, Runnable, Runner, WorkerError, WorkerStatus,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::db::{Db, DbError, Dialect, Tx};
use crate::projectors::{self, Projector};
use crate::worker::ProjectorWorker;

/// Why projecting failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error("no projection named {0}")]
    Unknown(String),
}

/// The read side: projectors over the log, their read-model database and their progress.
pub struct Projections {
    db: Db,
    runners: Vec<Arc<Runner<ProjectorWorker>>>,
}

impl Projections {
    /// Every projector over `store`'s database.
    pub fn new(store: Arc<dyn EventStore>, codec: EventCodec) -> Result<Self, ProjectionError> {
        Self::with_projectors(store, codec, projectors::all())
    }

    /// The given projectors (tests wrap them to inject faults).
    pub fn with_projectors(
        store: Arc<dyn EventStore>,
        codec: EventCodec,
        projectors: Vec<Arc<dyn Projector>>,
    ) -> Result<Self, ProjectionError> {
        Ok(Projections {
            db: store.db(),
            runners: projectors
                .into_iter()
                .map(|p| {
                    let worker = Arc::new(ProjectorWorker::new(p, codec.clone()));
                    Arc::new(Runner::new(worker, store.clone()))
                })
                .collect(),
        })
    }

    /// Catches up in transactions of `n` events (at least 1) instead of 10,000: a smaller
    /// figure holds the write lock for shorter stretches; tests use it to cut a rebuild into
    /// many batches.
    pub fn with_catch_up_batch(self, n: usize) -> Self {
        Projections {
            db: self.db,
            runners: self
                .runners
                .into_iter()
                .map(|r| match Arc::try_unwrap(r) {
                    Ok(r) => Arc::new(r.with_catch_up_batch(n)),
                    Err(shared) => shared,
                })
                .collect(),
        }
    }

    /// The read-model database (queries run on it).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Names of the projectors.
    pub fn names(&self) -> Vec<&'static str> {
        self.runners.iter().map(|r| r.worker().name()).collect()
    }

    /// The projectors' runners, for a worker host to run.
    pub fn runnables(&self) -> Vec<Arc<dyn Runnable>> {
        self.runners
            .iter()
            .map(|r| r.clone() as Arc<dyn Runnable>)
            .collect()
    }

    /// The projectors' statuses (progress, lag, failures).
    pub fn statuses(&self) -> Vec<Arc<WorkerStatus>> {
        self.runners.iter().map(|r| r.status().clone()).collect()
    }

    fn runner(&self, name: &str) -> Result<&Arc<Runner<ProjectorWorker>>, ProjectionError> {
        self.runners
            .iter()
            .find(|r| r.worker().name() == name)
            .ok_or_else(|| ProjectionError::Unknown(name.to_string()))
    }

    /// Where `name` stands.
    pub async fn checkpoint(&self, name: &str) -> Result<Position, ProjectionError> {
        Ok(self.runner(name)?.checkpoint().await?)
    }

    /// Applies one batch of stored events with `name`'s projector and moves its checkpoint, in
    /// one transaction. Events at or before the checkpoint are skipped, so a batch seen twice
    /// (a crash before the commit, a second runner) is applied once. A batch of fewer events
    /// than a catch-up transaction holds is taken to reach the end of the log (the live
    /// follower's batches): work a projector left for the end of a rebuild is done with it.
    /// Returns the new checkpoint.
    pub async fn apply_batch(
        &self,
        name: &str,
        events: &[RecordedEvent],
    ) -> Result<Position, ProjectionError> {
        let runner = self.runner(name)?;
        let at_head = events.len() < pawpost_workers::CATCH_UP_BATCH;
        Ok(runner.handle(events, at_head).await?)
    }

    /// Applies everything committed so far with `name`'s projector; returns how many events it
    /// read. `on_batch` sees the running count (a progress bar).
    pub async fn catch_up(
        &self,
        name: &str,
        on_batch: impl FnMut(u64),
    ) -> Result<u64, ProjectionError> {
        Ok(self.runner(name)?.catch_up(on_batch).await?)
    }

    /// Empties `name`'s tables and checkpoint, so it rebuilds from the start of the log.
    pub async fn reset(&self, name: &str) -> Result<(), ProjectionError> {
        let runner = self.runner(name)?;
        let projector = runner.worker().projector().clone();
        let mut tx = self.db.begin().await?;
        for table in projector.tables() {
            empty(&mut tx, table).await?;
        }
        projector.on_reset(&mut tx).await?;
        checkpoint::reset(&mut tx, projector.name()).await?;
        tx.commit().await?;
        runner.status().reset();
        Ok(())
    }

    /// Waits until every projector has applied `position`, at most `timeout`. True if reached.
    pub async fn wait_for(&self, position: Position, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        for r in &self.runners {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if !r.status().wait_for(position, left).await {
                return false;
            }
        }
        true
    }

    /// Waits until projector `name` has applied `position`, at most `timeout`.
    pub async fn wait_for_one(&self, name: &str, position: Position, timeout: Duration) -> bool {
        match self.runner(name) {
            Ok(r) => r.status().wait_for(position, timeout).await,
            Err(_) => false,
        }
    }

    /// Runs every projector on `feed` until `stop` turns true, without leases (tests; a
    /// serving process runs them through its worker host).
    pub fn spawn(&self, feed: &LogFeed, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        self.runnables()
            .into_iter()
            .map(|r| tokio::spawn(r.run_until(feed.clone(), stop.clone())))
            .collect()
    }
}

/// Empties a read-model table. SQLite's FTS5 tables delete row by row (seconds for a million
/// messages, holding the write lock); dropping and re-creating them from their stored schema
/// is instant.
async fn empty(tx: &mut Tx, table: &str) -> Result<(), DbError> {
    if tx.dialect() == Dialect::Sqlite {
        let virtual_sql = tx
            .query_opt(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1
                   AND sql LIKE 'CREATE VIRTUAL TABLE%'",
                &[table.into()],
            )
            .await?
            .map(|r| r.text(0))
            .transpose()?;
        if let Some(sql) = virtual_sql {
            return tx.batch(&[&format!("DROP TABLE {table}"), &sql]).await;
        }
    }
    tx.execute(&format!("DELETE FROM {table}"), &[]).await?;
    Ok(())
}
