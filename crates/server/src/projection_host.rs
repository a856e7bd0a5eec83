//! The projectors of a serving process, run under the projection leases (DESIGN.md §5).
//!
//! Exactly one process projects into a database at a time: the one holding the leases
//! (`pawpost_projections::lease`). A server takes them at start and renews them every
//! heartbeat. When another process holds them (a second server on the same PostgreSQL, a
//! `pawpost replay` in progress) it serves without projecting and takes over once they are
//! released or go stale; when it loses them, it stops its projectors until it gets them back.
//! On shutdown the projectors finish their current batch and commit its checkpoint, then the
//! leases are released, so a replay may start at once.

use std::sync::Arc;
use std::time::Instant;

use pawpost_projections::lease::{self, LeaseError, FRESH_FOR, HEARTBEAT};
use pawpost_projections::Projections;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// The lease holder that runs the projectors in the background.
#[derive(Debug)]
pub struct ProjectionHost {
    owner: String,
    running: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
    join: JoinHandle<()>,
}

impl ProjectionHost {
    /// Tries to take the leases (running the projectors if it gets them) and returns once that
    /// first attempt is over; keeps renewing, or retrying, every heartbeat in the background.
    pub async fn start(projections: Arc<Projections>) -> Self {
        let owner = lease::owner_id("serve");
        let (running_tx, running) = watch::channel(false);
        let (stop, stop_rx) = watch::channel(false);
        let mut supervisor = Supervisor {
            projections,
            owner: owner.clone(),
            runners: None,
            renewed_at: Instant::now(),
            standing_by: None,
            running: running_tx,
        };
        supervisor.heartbeat().await;
        let join = tokio::spawn(supervisor.run(stop_rx));
        ProjectionHost {
            owner,
            running,
            stop,
            join,
        }
    }

    /// This process's lease owner id (what `pawpost replay` names when it refuses).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Whether this process runs the projectors now; changes as leases are won and lost.
    pub fn running(&self) -> watch::Receiver<bool> {
        self.running.clone()
    }

    /// Stops the projectors after their current batch (its checkpoint committed) and releases
    /// the leases.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        if let Err(e) = self.join.await {
            tracing::error!(error = %e, "the projection supervisor panicked");
        }
    }
}

/// The projector tasks of one lease tenure.
struct Runners {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Runners {
    fn start(projections: &Arc<Projections>) -> Self {
        let (stop, stop_rx) = watch::channel(false);
        let handles = projections.spawn(stop_rx);
        Runners { stop, handles }
    }

    /// Lets every runner finish and commit its batch, then waits for them.
    async fn stop(self) {
        self.stop.send_replace(true);
        for handle in self.handles {
            if let Err(e) = handle.await {
                tracing::error!(error = %e, "a projector task panicked");
            }
        }
    }
}

struct Supervisor {
    projections: Arc<Projections>,
    owner: String,
    runners: Option<Runners>,
    renewed_at: Instant,
    /// The holder last reported while standing by (logged once per holder).
    standing_by: Option<String>,
    running: watch::Sender<bool>,
}

impl Supervisor {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate: `start` already beat once
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                // A stop, or the host dropped without one: stop either way.
                _ = stop.changed() => break,
            }
            self.heartbeat().await;
        }
        if self.runners.is_some() {
            self.pause().await;
            let names = self.projections.names();
            match lease::release(self.projections.db(), &names, &self.owner).await {
                Ok(()) => tracing::info!(owner = %self.owner, "released the projection leases"),
                Err(e) => {
                    tracing::warn!(error = %e, "releasing the projection leases failed; they go stale in {FRESH_FOR:?}")
                }
            }
        }
    }

    /// Renews (or takes) the leases and starts or stops the projectors accordingly.
    async fn heartbeat(&mut self) {
        let names = self.projections.names();
        match lease::renew(self.projections.db(), &names, &self.owner).await {
            Ok(()) => {
                self.renewed_at = Instant::now();
                self.standing_by = None;
                if self.runners.is_none() {
                    tracing::info!(owner = %self.owner, "took the projection leases; running the projectors");
                    self.runners = Some(Runners::start(&self.projections));
                    self.running.send_replace(true);
                }
            }
            Err(LeaseError::Held(holder)) => {
                if self.runners.is_some() {
                    tracing::error!(projection = %holder.name, holder = %holder.owner,
                        "another process took over the projection lease; pausing the projectors");
                    self.pause().await;
                } else if self.standing_by.as_deref() != Some(holder.owner.as_str()) {
                    tracing::info!(projection = %holder.name, holder = %holder.owner,
                        "the projections are run by another process; standing by");
                    self.standing_by = Some(holder.owner);
                }
            }
            Err(LeaseError::Db(e)) => {
                tracing::warn!(error = %e, "renewing the projection leases failed");
                // Stop before the lease can look stale to others, or two processes would project.
                if self.runners.is_some() && self.renewed_at.elapsed() + HEARTBEAT >= FRESH_FOR {
                    tracing::error!(
                        "the projection leases are about to go stale; pausing the projectors"
                    );
                    self.pause().await;
                }
            }
        }
    }

    async fn pause(&mut self) {
        if let Some(runners) = self.runners.take() {
            runners.stop().await;
            self.running.send_replace(false);
        }
    }
}
