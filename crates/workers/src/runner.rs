//! Running one worker: catch up from its checkpoint in large, pipelined batches, then follow
//! the shared feed; back off on failures, find and park a poison event, retry parked events on
//! demand.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pawpost_store::db::Db;
use pawpost_store::{EventStore, Position, RecordedEvent};
use tokio::sync::watch;

use crate::backoff::Backoff;
use crate::checkpoint;
use crate::feed::LogFeed;
use crate::status::WorkerStatus;
use crate::worker::{Effects, LogWorker, WorkerError};

/// Events per transaction while catching up: large transactions write each index page a batch
/// touches once; a rebuild runs several times faster than in small batches.
pub const CATCH_UP_BATCH: usize = 10_000;
/// Tries of one event that keeps failing before it is parked.
pub const MAX_ATTEMPTS: u32 = 3;
/// Events parked in a row after which the worker stops parking and backs off instead: when
/// every event fails, the fault is the worker's or its database's, not the events'.
pub(crate) const PARKING_LIMIT: u32 = 5;
/// How often a running worker looks for parked events an admin asked to retry.
const RETRY_POLL: Duration = Duration::from_secs(2);

/// Runs one [`LogWorker`] over the log's database.
pub struct Runner<W: LogWorker> {
    pub(crate) worker: Arc<W>,
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) db: Db,
    pub(crate) status: Arc<WorkerStatus>,
    pub(crate) backoff: Backoff,
    pub(crate) catch_up_batch: usize,
    /// Events parked in a row (reset by any success).
    pub(crate) parked_in_a_row: AtomicU32,
}

/// How a resilient step ended.
pub(crate) enum Flow {
    Done,
    Stopped,
    /// The stored checkpoint is behind: resume from it.
    Rewound,
}

impl<W: LogWorker> Runner<W> {
    /// A runner of `worker` over `store`'s log and database.
    pub fn new(worker: Arc<W>, store: Arc<dyn EventStore>) -> Self {
        let db = store.db();
        let status = Arc::new(WorkerStatus::new(worker.name(), db.restarts().clone()));
        Runner {
            db,
            worker,
            store,
            status,
            backoff: Backoff::default(),
            catch_up_batch: CATCH_UP_BATCH,
            parked_in_a_row: AtomicU32::new(0),
        }
    }

    /// Catches up in transactions of `n` events (at least 1) instead of 10,000.
    pub fn with_catch_up_batch(mut self, n: usize) -> Self {
        self.catch_up_batch = n.max(1);
        self
    }

    /// Other back-off delays (tests use short ones).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The worker.
    pub fn worker(&self) -> &Arc<W> {
        &self.worker
    }

    /// Its status (progress, lag, failures).
    pub fn status(&self) -> &Arc<WorkerStatus> {
        &self.status
    }

    /// The worker's checkpoint as stored.
    pub async fn checkpoint(&self) -> Result<Position, WorkerError> {
        let mut tx = self.db.read().await?;
        Ok(checkpoint::peek(&mut tx, self.worker.name()).await?)
    }

    /// Handles one batch of log events (any events: the worker gets those it wants) and moves
    /// the checkpoint to the batch's last event, in one transaction with the worker's database
    /// effects. Events at or before the checkpoint are not applied again. `at_head` says the
    /// batch reached the end of the log as read. Returns the checkpoint.
    pub async fn handle(
        &self,
        events: &[RecordedEvent],
        at_head: bool,
    ) -> Result<Position, WorkerError> {
        let Some(last) = events.last() else {
            return self.checkpoint().await;
        };
        let wanted: Vec<&RecordedEvent> = events
            .iter()
            .filter(|e| self.worker.wants(&e.stream, &e.event_type))
            .collect();
        let prepared = if wanted.is_empty() && !at_head {
            None
        } else {
            Some(self.worker.prepare(&wanted).await?)
        };
        self.commit(prepared, last, at_head).await
    }

    /// Applies a prepared batch and moves the checkpoint to `last`.
    async fn commit(
        &self,
        prepared: Option<W::Batch>,
        last: &RecordedEvent,
        at_head: bool,
    ) -> Result<Position, WorkerError> {
        let believed = Some(self.status.checkpoint());
        let mut effects = Effects::new(self.db.clone(), self.worker.name(), at_head, believed);
        if let Some(batch) = prepared {
            if let Err(e) = self.worker.apply(&mut effects, batch).await {
                return Err(effects.error(e));
            }
        }
        let checkpoint = effects.finish(last.position).await?;
        self.status
            .advanced(checkpoint, Some(last.metadata.occurred_at));
        self.parked_in_a_row.store(0, Ordering::Relaxed);
        Ok(checkpoint)
    }

    /// Applies everything committed so far, in large transactions, reading and preparing the
    /// next batch while the current one is applied. Returns how many log events it read;
    /// `on_batch` sees the running count (a progress bar). Fails on the first failure (the
    /// checkpoint stays after the last batch that went through).
    pub async fn catch_up(&self, mut on_batch: impl FnMut(u64)) -> Result<u64, WorkerError> {
        let read = |after: Position| async move {
            let events = self.store.read_all(after, self.catch_up_batch).await?;
            let wanted: Vec<&RecordedEvent> = events
                .iter()
                .filter(|e| self.worker.wants(&e.stream, &e.event_type))
                .collect();
            let at_head = events.len() < self.catch_up_batch;
            let prepared = if wanted.is_empty() && !at_head {
                None
            } else {
                Some(self.worker.prepare(&wanted).await?)
            };
            Ok::<_, WorkerError>((events, prepared, at_head))
        };
        let restarts = self.status.restarts_seen();
        let start = self.checkpoint().await?;
        // Read back from the database: exact, even if behind what was believed (commits lost
        // to a crash of the database are applied again).
        self.status.confirmed(start, restarts);
        let mut n = 0u64;
        let mut pending = read(start).await?;
        loop {
            let (events, prepared, at_head) = pending;
            let Some(last) = events.last() else {
                // The log ended at a full batch (or had nothing new): a batch at the head, of
                // nothing, lets the worker finish what it left for the end.
                let prepared = self.worker.prepare(&[]).await?;
                let mut effects =
                    Effects::new(self.db.clone(), self.worker.name(), true, Some(start));
                self.worker.apply(&mut effects, prepared).await?;
                effects.finish(start).await?;
                return Ok(n);
            };
            let next = last.position;
            let count = events.len() as u64;
            if at_head {
                self.commit(prepared, last, true).await?;
                n += count;
                on_batch(n);
                return Ok(n);
            }
            let (committed, following) =
                tokio::join!(self.commit(prepared, last, false), read(next));
            committed?;
            n += count;
            on_batch(n);
            pending = following?;
        }
    }

    /// Reads the checkpoint back into the status; true if it is behind what was believed
    /// (commits lost to a crash of the database: the worker must resume from it).
    async fn read_back(&self) -> bool {
        let restarts = self.status.restarts_seen();
        match self.checkpoint().await {
            Ok(p) if p < self.status.checkpoint() => true,
            Ok(p) => {
                self.status.confirmed(p, restarts);
                false
            }
            Err(_) => false,
        }
    }

    /// Runs until `stop` turns true: catches up, then follows `feed`; every failure is retried
    /// with back-off, a poison event is parked.
    pub async fn run(&self, feed: LogFeed, mut stop: watch::Receiver<bool>) {
        let name = self.worker.name();
        self.status.set_running(true);
        'restart: while !*stop.borrow() {
            // A backlog (a restart after downtime, a rebuild) goes in large transactions.
            let caught_up = tokio::select! {
                r = self.catch_up(|_| {}) => r,
                _ = stop.changed() => break,
            };
            if let Err(e) = caught_up {
                if e.transient {
                    if self.wait_after_failure(&e, &mut stop).await {
                        break;
                    }
                    continue;
                }
                tracing::warn!(worker = name, error = %e,
                    "catching up failed on an event; going event by event");
                self.status.failed(&e.message, Duration::ZERO);
                match self.slow_catch_up(&mut stop).await {
                    Flow::Stopped => break,
                    Flow::Done | Flow::Rewound => continue,
                }
            }
            let from = match self.checkpoint().await {
                Ok(p) => p,
                Err(e) => {
                    if self.wait_after_failure(&e, &mut stop).await {
                        break;
                    }
                    continue;
                }
            };
            let mut reader = feed.reader(from);
            let mut retries = tokio::time::interval(RETRY_POLL);
            retries.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut restarts = self.db.restarts().subscribe();
            loop {
                let events = tokio::select! {
                    e = reader.next() => e,
                    // The database server restarted: read the checkpoint back at once (an
                    // idle worker sees no failure, and waiters wait until it is read).
                    Ok(()) = restarts.changed() => {
                        if self.read_back().await {
                            continue 'restart;
                        }
                        continue;
                    }
                    _ = retries.tick() => {
                        // After a failure of the database, read the checkpoint back even when
                        // no new event comes to do it.
                        if self.status.is_in_doubt() && self.read_back().await {
                            continue 'restart;
                        }
                        self.retry_parked().await;
                        continue;
                    }
                    _ = stop.changed() => break 'restart,
                };
                match events {
                    Ok(events) => match self.process(&events, true, &mut stop).await {
                        Flow::Done => {}
                        Flow::Stopped => break 'restart,
                        Flow::Rewound => continue 'restart,
                    },
                    Err(e) => {
                        tracing::warn!(worker = name, error = %e, "the feed failed; restarting");
                        if self.wait_after_failure(&e.into(), &mut stop).await {
                            break 'restart;
                        }
                        continue 'restart;
                    }
                }
            }
        }
        self.status.set_running(false);
    }
}

/// A runner with its worker's type erased, for hosts that run workers of several kinds.
#[async_trait]
pub trait Runnable: Send + Sync + 'static {
    /// The worker's name.
    fn name(&self) -> &'static str;
    /// Its status.
    fn status(&self) -> Arc<WorkerStatus>;
    /// Runs it until `stop` turns true (see [`Runner::run`]).
    async fn run_until(self: Arc<Self>, feed: LogFeed, stop: watch::Receiver<bool>);
}

#[async_trait]
impl<W: LogWorker> Runnable for Runner<W> {
    fn name(&self) -> &'static str {
        self.worker.name()
    }

    fn status(&self) -> Arc<WorkerStatus> {
        self.status.clone()
    }

    async fn run_until(self: Arc<Self>, feed: LogFeed, stop: watch::Receiver<bool>) {
        self.run(feed, stop).await;
    }
}
