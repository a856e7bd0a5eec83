//! One shared reader of the log per process. It tails the log from where it stood at start
//! (catch-up reads of a backlog are the consumers' own business) and hands every batch to all
//! local consumers (workers, the live dispatcher) at once: one read of the log per batch
//! instead of one per consumer.
//!
//! A consumer reads through a [`FeedReader`], which gives it every event after its own
//! position exactly once, in log order: events it has seen are skipped, and a gap (it started
//! behind the feed, or fell so far behind that batches were dropped for it) is filled from the
//! store before the feed's batches resume.

use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pawpost_store::{EventStore, Position, RecordedEvent, StoreError, Subscription};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::backoff::Backoff;

/// Events read per batch while following the log: a feed that fell behind (a burst, a
/// process short of CPU) catches up in few reads.
const BATCH: usize = 2000;
/// Following a busy log, at most one read per this interval: each batch (a transaction per
/// worker) carries several commits' events instead of one, at the cost of this much latency at
/// worst. An idle log is read as soon as it is poked.
const COALESCE: Duration = Duration::from_millis(5);
/// Batches kept for a consumer that is slower than the log; beyond that it reads the store.
const BUFFER: usize = 1024;
/// Events a reader fills a gap with per store read.
const GAP_READ: usize = 1000;
/// Events a reader hands out at most at once when several of the feed's batches wait for it.
const MERGE_UP_TO: usize = 2000;

/// A batch of events in log order, shared by every consumer.
#[derive(Debug, Clone)]
pub struct FeedBatch {
    /// The position just before the first event (the feed's previous batch ended there).
    pub after: Position,
    pub events: Arc<[RecordedEvent]>,
}

/// Some events of the log, in order (a view into a shared batch).
#[derive(Debug, Clone)]
pub struct Events {
    batch: Arc<[RecordedEvent]>,
    start: usize,
}

impl Events {
    fn new(batch: Arc<[RecordedEvent]>, start: usize) -> Self {
        Events { batch, start }
    }

    /// Events read from the store.
    pub fn owned(events: Vec<RecordedEvent>) -> Self {
        Events::new(events.into(), 0)
    }
}

impl Deref for Events {
    type Target = [RecordedEvent];
    fn deref(&self) -> &[RecordedEvent] {
        &self.batch[self.start..]
    }
}

/// The shared reader of this process. Cheap to clone.
#[derive(Clone)]
pub struct LogFeed {
    store: Arc<dyn EventStore>,
    batches: broadcast::Sender<FeedBatch>,
    head: watch::Receiver<(Position, Option<DateTime<Utc>>)>,
}

impl LogFeed {
    /// Starts tailing the log from its head now; the task ends when `stop` turns true.
    pub fn spawn(
        store: Arc<dyn EventStore>,
        mut stop: watch::Receiver<bool>,
    ) -> (LogFeed, JoinHandle<()>) {
        let start = *store.appended().borrow();
        let (batches, _) = broadcast::channel(BUFFER);
        let (head_tx, head) = watch::channel((start, None));
        let feed = LogFeed {
            store: store.clone(),
            batches: batches.clone(),
            head,
        };
        let join = tokio::spawn(async move {
            let mut sub = Subscription::new(store, start)
                .with_batch_size(BATCH)
                .with_min_interval(COALESCE);
            let (backoff, mut failures) = (Backoff::default(), 0u32);
            loop {
                let after = sub.position();
                let next = tokio::select! {
                    b = sub.next_batch() => b,
                    _ = stop.changed() => return,
                };
                match next {
                    Ok(events) => {
                        failures = 0;
                        if let Some(last) = events.last() {
                            head_tx.send_replace((last.position, Some(last.metadata.occurred_at)));
                        }
                        // No receiver is fine: nobody follows the log right now.
                        let _ = batches.send(FeedBatch {
                            after,
                            events: events.into(),
                        });
                    }
                    Err(e) => {
                        let wait = backoff.delay(failures);
                        failures = failures.saturating_add(1);
                        tracing::warn!(error = %e, retry_in = ?wait, "reading the log failed; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = stop.changed() => return,
                        }
                    }
                }
            }
        });
        (feed, join)
    }

    /// A reader that hands out every event after `after`.
    pub fn reader(&self, after: Position) -> FeedReader {
        FeedReader {
            rx: self.batches.subscribe(),
            store: self.store.clone(),
            position: after,
            held: VecDeque::new(),
            behind: true,
        }
    }

    /// The newest event the feed has read: its position and when it was appended.
    pub fn head(&self) -> (Position, Option<DateTime<Utc>>) {
        *self.head.borrow()
    }

    /// The store the feed reads.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }
}

/// One consumer's view of the feed.
pub struct FeedReader {
    rx: broadcast::Receiver<FeedBatch>,
    store: Arc<dyn EventStore>,
    position: Position,
    /// A batch received while a gap before it was being filled.
    held: VecDeque<FeedBatch>,
    /// Batches published before this reader subscribed may hold events after its position:
    /// until the store has nothing more for it, it reads the store first.
    behind: bool,
}

impl FeedReader {
    /// The position of the last event handed out.
    pub fn position(&self) -> Position {
        self.position
    }

    /// The next events after [`FeedReader::position`] (never empty): from the feed, or from
    /// the store to fill a gap. Waits while there are none. Fails only when the store fails
    /// to fill a gap (the reader stays where it was: call again) or the feed has stopped.
    pub async fn next(&mut self) -> Result<Events, StoreError> {
        if self.behind {
            // Subscribed before this read: whatever the store does not show now, the feed
            // will hand over.
            let events = self.store.read_all(self.position, GAP_READ).await?;
            self.behind = events.len() == GAP_READ;
            if let Some(last) = events.last() {
                self.position = last.position;
                return Ok(Events::owned(events));
            }
        }
        loop {
            let batch = match self.held.pop_front() {
                Some(b) => b,
                None => match self.rx.recv().await {
                    Ok(b) => b,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "a feed reader fell behind; reading the store");
                        // Whatever the feed dropped for us is in the store.
                        if let Some(events) = self.fill(None).await? {
                            return Ok(events);
                        }
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return Err(StoreError::Closed),
                },
            };
            match self.place(&batch) {
                // Seen already (read from the store while catching up).
                Place::Seen => continue,
                Place::AfterGap => {
                    let up_to = batch.after;
                    self.held.push_front(batch);
                    if let Some(events) = self.fill(Some(up_to)).await? {
                        return Ok(events);
                    }
                    // The store does not show the gap yet (it cannot lag the feed for long).
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                Place::Next { start, last } => {
                    self.position = last;
                    return Ok(self.with_waiting(Events::new(batch.events, start)));
                }
            }
        }
    }

    /// `first` and the batches that follow it and are already waiting, up to
    /// [`MERGE_UP_TO`] events: a consumer that fell behind the feed (one transaction per
    /// call, for a worker) catches up in large steps instead of one small batch at a time.
    fn with_waiting(&mut self, first: Events) -> Events {
        let mut merged: Option<Vec<RecordedEvent>> = None;
        let mut total = first.len();
        while total < MERGE_UP_TO {
            let batch = match self.held.pop_front() {
                Some(b) => b,
                // Lagged: the next call finds the gap and fills it from the store.
                None => match self.rx.try_recv() {
                    Ok(b) => b,
                    Err(_) => break,
                },
            };
            match self.place(&batch) {
                Place::Seen => continue,
                Place::AfterGap => {
                    self.held.push_front(batch);
                    break;
                }
                Place::Next { start, last } => {
                    let all = merged.get_or_insert_with(|| first.to_vec());
                    all.extend_from_slice(&batch.events[start..]);
                    total = all.len();
                    self.position = last;
                }
            }
        }
        match merged {
            Some(all) => Events::owned(all),
            None => first,
        }
    }

    /// Where `batch` stands against this reader's position.
    fn place(&self, batch: &FeedBatch) -> Place {
        match batch.events.last().map(|e| e.position) {
            None => Place::Seen,
            Some(last) if last <= self.position => Place::Seen,
            Some(_) if batch.after > self.position => Place::AfterGap,
            Some(last) => Place::Next {
                start: batch
                    .events
                    .partition_point(|e| e.position <= self.position),
                last,
            },
        }
    }

    /// Reads the store after this reader's position, up to `up_to` if given. `None` when there
    /// was nothing to read.
    async fn fill(&mut self, up_to: Option<Position>) -> Result<Option<Events>, StoreError> {
        let mut events = self.store.read_all(self.position, GAP_READ).await?;
        if let Some(limit) = up_to {
            events.retain(|e| e.position <= limit);
        }
        match events.last() {
            Some(last) => {
                self.position = last.position;
                Ok(Some(Events::owned(events)))
            }
            None => Ok(None),
        }
    }
}

/// Where a feed batch stands against a reader's position.
enum Place {
    /// Nothing in it after the position.
    Seen,
    /// Events between the position and the batch are missing (fill them from the store first).
    AfterGap,
    /// It continues from the position: its events from `start` on are new, up to `last`.
    Next { start: usize, last: Position },
}
