//! The workers of a serving process, each run under its lease (one instance per cluster).
//!
//! The host claims the lease of every worker at start and renews them every heartbeat: a worker
//! whose lease it holds runs here, fed by the process's shared log reader; one whose lease
//! another process holds stands by (its progress is then read from the database, so waits for
//! read-your-writes still see it move) and starts here once that lease is released or dies. A
//! worker whose lease is lost stops after its current batch. On shutdown every worker commits
//! its current batch, then the leases are released, so `pawpost replay` may start at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pawpost_store::db::Db;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::feed::LogFeed;
use crate::lease::{self, Owner, FRESH_FOR, HEARTBEAT};
use crate::runner::Runnable;
use crate::{checkpoint, WorkerReport};

/// How often the progress of workers run elsewhere is read.
const REMOTE_PROGRESS: Duration = Duration::from_millis(50);

/// Runs the workers this process holds the leases of.
#[derive(Debug)]
pub struct WorkerHost {
    owner: Owner,
    running: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
    join: JoinHandle<()>,
}

impl WorkerHost {
    /// Claims the leases (starting the workers it gets) and returns once that first claim is
    /// over; keeps renewing or claiming every heartbeat in the background.
    pub async fn start(db: Db, feed: LogFeed, workers: Vec<Arc<dyn Runnable>>) -> Self {
        let owner = Owner::new("serve");
        let (running_tx, running) = watch::channel(false);
        let (stop, stop_rx) = watch::channel(false);
        let mut supervisor = Supervisor {
            db,
            feed,
            owner: owner.clone(),
            workers,
            tasks: HashMap::new(),
            renewed_at: Instant::now(),
            standing_by: HashMap::new(),
            running: running_tx,
        };
        supervisor.heartbeat().await;
        let join = tokio::spawn(supervisor.run(stop_rx));
        WorkerHost {
            owner,
            running,
            stop,
            join,
        }
    }

    /// This process's lease owner id (what `pawpost replay` names when it refuses).
    pub fn owner(&self) -> &str {
        &self.owner.id
    }

    /// Whether this process runs every one of its workers now; changes as leases are won and
    /// lost.
    pub fn running(&self) -> watch::Receiver<bool> {
        self.running.clone()
    }

    /// Stops the workers after their current batch (its checkpoint committed) and releases
    /// the leases.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        if let Err(e) = self.join.await {
            tracing::error!(error = %e, "the worker supervisor panicked");
        }
    }
}

/// A worker's task during one lease tenure.
struct Task {
    stop: watch::Sender<bool>,
    join: JoinHandle<()>,
}

struct Supervisor {
    db: Db,
    feed: LogFeed,
    owner: Owner,
    workers: Vec<Arc<dyn Runnable>>,
    tasks: HashMap<&'static str, Task>,
    renewed_at: Instant,
    /// The holder last reported per worker while standing by (logged once per holder).
    standing_by: HashMap<&'static str, String>,
    running: watch::Sender<bool>,
}

impl Supervisor {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate: `start` already beat once
        let mut remote = tokio::time::interval(REMOTE_PROGRESS);
        remote.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.heartbeat().await,
                _ = remote.tick(), if self.tasks.len() < self.workers.len() => {
                    self.follow_remote_progress().await;
                }
                // A stop, or the host dropped without one: stop either way.
                _ = stop.changed() => break,
            }
        }
        let held: Vec<&'static str> = self.tasks.keys().copied().collect();
        for name in &held {
            self.stop_worker(name).await;
        }
        if !held.is_empty() {
            match lease::release(&self.db, &held, &self.owner).await {
                Ok(()) => tracing::info!(owner = %self.owner.id, "released the worker leases"),
                Err(e) => tracing::warn!(error = %e,
                    "releasing the worker leases failed; they expire in {FRESH_FOR:?}"),
            }
        }
    }

    /// Renews (or claims) each lease and starts or stops each worker accordingly.
    async fn heartbeat(&mut self) {
        let names: Vec<&'static str> = self.workers.iter().map(|w| w.name()).collect();
        match lease::claim_each(&self.db, &names, &self.owner).await {
            Ok(claims) => {
                self.renewed_at = Instant::now();
                for claim in claims {
                    let Some(worker) = self
                        .workers
                        .iter()
                        .find(|w| w.name() == claim.name)
                        .cloned()
                    else {
                        continue;
                    };
                    let name = worker.name();
                    match claim.held_by {
                        None => {
                            self.standing_by.remove(name);
                            if !self.tasks.contains_key(name) {
                                tracing::info!(worker = name, owner = %self.owner.id, "took the lease; running");
                                self.start_worker(worker);
                            }
                        }
                        Some(holder) => {
                            if self.tasks.contains_key(name) {
                                tracing::error!(worker = name, holder = %holder.owner,
                                    "another process took over the lease; stopping");
                                self.stop_worker(name).await;
                            } else if self.standing_by.get(name) != Some(&holder.owner) {
                                tracing::info!(worker = name, holder = %holder.owner,
                                    "run by another process; standing by");
                                self.standing_by.insert(name, holder.owner);
                            }
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "renewing the worker leases failed");
                // Stop before the leases can look dead to others, or two processes would run.
                if !self.tasks.is_empty() && self.renewed_at.elapsed() + HEARTBEAT >= FRESH_FOR {
                    tracing::error!("the worker leases are about to expire; stopping the workers");
                    let held: Vec<&'static str> = self.tasks.keys().copied().collect();
                    for name in held {
                        self.stop_worker(name).await;
                    }
                }
            }
        }
        self.running
            .send_replace(!self.workers.is_empty() && self.tasks.len() == self.workers.len());
    }

    fn start_worker(&mut self, worker: Arc<dyn Runnable>) {
        let (stop, stop_rx) = watch::channel(false);
        let name = worker.name();
        let join = tokio::spawn(worker.run_until(self.feed.clone(), stop_rx));
        self.tasks.insert(name, Task { stop, join });
    }

    /// Lets the worker finish and commit its batch, then waits for it.
    async fn stop_worker(&mut self, name: &str) {
        if let Some(task) = self.tasks.remove(name) {
            task.stop.send_replace(true);
            if let Err(e) = task.join.await {
                tracing::error!(worker = name, error = %e, "a worker task panicked");
            }
        }
    }

    /// Reads the checkpoints of the workers run elsewhere into their statuses.
    /// Read back as they are stored, they are no longer in doubt after a restart of the
    /// database server.
    async fn follow_remote_progress(&self) {
        let restarts = self.db.restarts().count();
        let Ok(mut tx) = self.db.read().await else {
            return;
        };
        for worker in &self.workers {
            if self.tasks.contains_key(worker.name()) {
                continue;
            }
            if let Ok(p) = checkpoint::peek(&mut tx, worker.name()).await {
                worker.status().confirmed(p, restarts);
            }
        }
    }
}

/// The reports of `workers` against the feed's head.
pub fn reports(feed: &LogFeed, workers: &[Arc<dyn Runnable>]) -> Vec<WorkerReport> {
    let (head, head_at) = feed.head();
    workers
        .iter()
        .map(|w| w.status().report(head, head_at))
        .collect()
}
