//! Catch-up then live tailing of the whole log, on top of [`EventStore::read_all`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::{EventStore, Position, RecordedEvent, StoreError};

/// Events fetched per read.
const BATCH: usize = 1000;

/// A reader of the global log from a position: pages through the backlog, then waits for new
/// commits (a local poke, or a poll for commits made by other nodes). Every event comes exactly
/// once, in global order; the switch from catch-up to live is the same loop, so nothing falls
/// between them.
pub struct Subscription {
    store: Arc<dyn EventStore>,
    after: Position,
    poke: watch::Receiver<Position>,
    buffer: VecDeque<RecordedEvent>,
    poll: Duration,
    batch: usize,
    /// Reads are at least this far apart while following (see [`Self::with_min_interval`]).
    min_interval: Duration,
    /// When the last read that was not a full batch happened.
    last_read: Option<Instant>,
}

impl Subscription {
    /// Subscribes after `after` (use [`Position::START`] for the whole log).
    pub fn new(store: Arc<dyn EventStore>, after: Position) -> Self {
        // Subscribe to pokes before reading the backlog, so no commit can slip between.
        let poke = store.appended();
        Subscription {
            store,
            after,
            poke,
            buffer: VecDeque::new(),
            poll: Duration::from_millis(250),
            batch: BATCH,
            min_interval: Duration::ZERO,
            last_read: None,
        }
    }

    /// How often to look for commits nobody poked about (other nodes).
    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Coalesces reads while following a busy log: a read comes at least `interval` after the
    /// previous one (unless that one filled a whole batch: a backlog is read at full speed), so
    /// a reader poked by every commit reads once per interval with more events per read, rather
    /// than once per commit. An idle log is read at once when poked; a busy one adds at most
    /// `interval` of latency.
    pub fn with_min_interval(mut self, interval: Duration) -> Self {
        self.min_interval = interval;
        self
    }

    /// How many events to fetch per read.
    pub fn with_batch_size(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// The position of the last event handed out.
    pub fn position(&self) -> Position {
        self.after
    }

    /// The next batch of events (never empty); waits while there is none.
    pub async fn next_batch(&mut self) -> Result<Vec<RecordedEvent>, StoreError> {
        if !self.buffer.is_empty() {
            let batch: Vec<_> = self.buffer.drain(..).collect();
            return Ok(batch);
        }
        loop {
            if let Some(last) = self.last_read {
                let next = last + self.min_interval;
                if next > Instant::now() {
                    tokio::time::sleep_until(next.into()).await;
                }
            }
            // Mark the current poke as seen before reading, so a commit after the read wakes us.
            self.poke.borrow_and_update();
            let events = self.store.read_all(self.after, self.batch).await?;
            self.last_read =
                (events.len() < self.batch && !self.min_interval.is_zero()).then(Instant::now);
            if let Some(last) = events.last() {
                self.after = last.position;
                return Ok(events);
            }
            tokio::select! {
                changed = self.poke.changed() => {
                    if changed.is_err() {
                        // The store is gone; keep polling rather than spinning.
                        tokio::time::sleep(self.poll).await;
                    }
                }
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
    }

    /// The next event; waits while there is none.
    pub async fn next(&mut self) -> Result<RecordedEvent, StoreError> {
        loop {
            if let Some(ev) = self.buffer.pop_front() {
                return Ok(ev);
            }
            let batch = self.next_batch().await?;
            self.buffer.extend(batch);
        }
    }
}
