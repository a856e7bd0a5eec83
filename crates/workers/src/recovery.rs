//! Failures of a worker: transient ones are retried with back-off, a failure about the events
//! sends a batch through one event at a time so that only the failing event is retried and, after
//! [`MAX_ATTEMPTS`], parked; parked events are retried when an admin asks.

use std::sync::atomic::Ordering;

use pawpost_store::RecordedEvent;
use tokio::sync::watch;

use crate::runner::{Flow, Runner, MAX_ATTEMPTS, PARKING_LIMIT};
use crate::worker::{Effects, LogWorker, WorkerError};
use crate::{checkpoint, parked};

impl<W: LogWorker> Runner<W> {
    /// Catches up one batch at a time after a batch failed on an event: that batch goes event
    /// by event at once (parking the poison), the next ones as usual, up to the head of the log.
    pub(crate) async fn slow_catch_up(&self, stop: &mut watch::Receiver<bool>) -> Flow {
        let mut first = true;
        loop {
            let batch = match self.checkpoint().await {
                Ok(from) => self
                    .store
                    .read_all(from, self.catch_up_batch)
                    .await
                    .map_err(WorkerError::from),
                Err(e) => Err(e),
            };
            let events = match batch {
                Ok(events) => events,
                Err(e) => {
                    if self.wait_after_failure(&e, stop).await {
                        return Flow::Stopped;
                    }
                    continue;
                }
            };
            let at_head = events.len() < self.catch_up_batch;
            let flow = if first {
                self.one_by_one(&events, at_head, stop).await
            } else {
                self.process(&events, at_head, stop).await
            };
            first = false;
            match flow {
                Flow::Done => {}
                other => return other,
            }
            if at_head {
                return Flow::Done;
            }
        }
    }

    /// Handles `events` whatever it takes: transient failures are retried with back-off; a
    /// failure about the events sends them through one by one, so only the failing one is
    /// retried, and parked after [`MAX_ATTEMPTS`].
    pub(crate) async fn process(
        &self,
        events: &[RecordedEvent],
        at_head: bool,
        stop: &mut watch::Receiver<bool>,
    ) -> Flow {
        loop {
            match self.handle(events, at_head).await {
                Ok(_) => return Flow::Done,
                Err(e) if e.rewound => {
                    self.status.failed(&e.message, std::time::Duration::ZERO);
                    return Flow::Rewound;
                }
                Err(e) if e.transient => {
                    if self.wait_after_failure(&e, stop).await {
                        return Flow::Stopped;
                    }
                }
                Err(e) => {
                    tracing::warn!(worker = self.worker.name(), error = %e,
                        "a batch failed; handling its events one by one");
                    return self.one_by_one(events, at_head, stop).await;
                }
            }
        }
    }

    async fn one_by_one(
        &self,
        events: &[RecordedEvent],
        at_head: bool,
        stop: &mut watch::Receiver<bool>,
    ) -> Flow {
        for (i, event) in events.iter().enumerate() {
            if !self.worker.wants(&event.stream, &event.event_type) {
                continue;
            }
            let alone = std::slice::from_ref(event);
            let last_of_batch = at_head && i + 1 == events.len();
            let mut attempts = 0u32;
            loop {
                let e = match self.handle(alone, last_of_batch).await {
                    Ok(_) => break,
                    Err(e) if e.rewound => return Flow::Rewound,
                    Err(e) => e,
                };
                if !e.transient {
                    attempts += 1;
                    let systemic = self.parked_in_a_row.load(Ordering::Relaxed) >= PARKING_LIMIT;
                    if attempts >= MAX_ATTEMPTS && !systemic {
                        self.status.failed(&e.message, std::time::Duration::ZERO);
                        match self.park(event, &e, attempts).await {
                            Ok(()) => break,
                            Err(pe) => tracing::warn!(error = %pe, "parking an event failed"),
                        }
                    } else if systemic && attempts == MAX_ATTEMPTS {
                        tracing::error!(worker = self.worker.name(), error = %e,
                            "every event fails: not parking more; retrying until it works");
                    }
                }
                if self.wait_after_failure(&e, stop).await {
                    return Flow::Stopped;
                }
            }
        }
        // Past the events it does not want after the last one it handled.
        let Some(last) = events.last() else {
            return Flow::Done;
        };
        loop {
            match self.move_checkpoint(last).await {
                Ok(()) => return Flow::Done,
                Err(e) if e.rewound => return Flow::Rewound,
                Err(e) => {
                    if self.wait_after_failure(&e, stop).await {
                        return Flow::Stopped;
                    }
                }
            }
        }
    }

    /// Moves the checkpoint past `last` without applying anything.
    async fn move_checkpoint(&self, last: &RecordedEvent) -> Result<(), WorkerError> {
        let believed = Some(self.status.checkpoint());
        let effects = Effects::new(self.db.clone(), self.worker.name(), false, believed);
        let checkpoint = effects.finish(last.position).await?;
        self.status
            .advanced(checkpoint, Some(last.metadata.occurred_at));
        Ok(())
    }

    /// Parks `event` and moves the checkpoint past it, in one transaction.
    async fn park(
        &self,
        event: &RecordedEvent,
        error: &WorkerError,
        attempts: u32,
    ) -> Result<(), WorkerError> {
        let name = self.worker.name();
        let mut tx = self.db.begin().await?;
        let at = checkpoint::load(&mut tx, name).await?;
        parked::park(&mut tx, name, event, &error.message, u64::from(attempts)).await?;
        if event.position > at {
            checkpoint::save(&mut tx, name, event.position).await?;
        }
        tx.commit().await?;
        tracing::error!(worker = name, event = %event.event_id, position = ?event.position,
            event_type = %event.event_type, error = %error, attempts, "parked an event");
        self.status.parked_one();
        self.parked_in_a_row.fetch_add(1, Ordering::Relaxed);
        self.status
            .advanced(event.position.max(at), Some(event.metadata.occurred_at));
        Ok(())
    }

    /// Retries the parked events an admin asked for; forgets those that now succeed.
    pub(crate) async fn retry_parked(&self) {
        let name = self.worker.name();
        let asked = match parked::retries_requested(&self.db, name).await {
            Ok(asked) => asked,
            Err(e) => {
                tracing::warn!(worker = name, error = %e, "looking for parked retries failed");
                return;
            }
        };
        for p in asked {
            let outcome = self.retry_one(&p).await;
            match outcome {
                Ok(()) => {
                    tracing::info!(worker = name, event = %p.event_id, "a parked event went through")
                }
                Err(e) => {
                    tracing::warn!(worker = name, event = %p.event_id, error = %e, "a parked event failed again");
                    if let Err(e) =
                        parked::retry_failed(&self.db, name, &p.event_id, &e.message).await
                    {
                        tracing::warn!(error = %e, "recording a failed retry failed");
                    }
                }
            }
        }
    }

    async fn retry_one(&self, p: &parked::Parked) -> Result<(), WorkerError> {
        let name = self.worker.name();
        let id = p
            .event_id
            .parse()
            .map_err(|e| WorkerError::permanent(format!("parked event id {}: {e}", p.event_id)))?;
        let event = self
            .store
            .find_event(id)
            .await?
            .ok_or_else(|| WorkerError::permanent("the parked event is not in the log"))?;
        let prepared = self.worker.prepare(&[&event]).await?;
        let mut effects = Effects::retry(self.db.clone(), name);
        self.worker.apply(&mut effects, prepared).await?;
        let mut tx = match effects.into_tx() {
            Some(tx) => tx,
            None => self.db.begin().await?,
        };
        parked::resolve(&mut tx, name, &p.event_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a failure and waits out the back-off; true if told to stop meanwhile.
    pub(crate) async fn wait_after_failure(
        &self,
        e: &WorkerError,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let attempt = self.status.consecutive_failures();
        let wait = self.backoff.delay(attempt);
        self.status.failed(&e.message, wait);
        if e.transient {
            self.status.in_doubt();
        }
        tracing::warn!(worker = self.worker.name(), error = %e, transient = e.transient,
            retry_in = ?wait, "worker failed");
        tokio::select! {
            _ = tokio::time::sleep(wait) => *stop.borrow(),
            _ = stop.changed() => true,
        }
    }
}
