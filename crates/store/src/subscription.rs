//! Catch-up then live tailing of the whole log, on top of [`EventStore::read_all`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

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
        }
    }

    /// How often to look for commits nobody poked about (other nodes).
    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
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
            // Mark the current poke as seen before reading, so a commit after the read wakes us.
            self.poke.borrow_and_update();
            let events = self.store.read_all(self.after, self.batch).await?;
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
