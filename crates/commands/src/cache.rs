//! Aggregates kept in memory between commands, one lock per stream, with the stream's queue of
//! commands waiting to be decided (group commit: see `group.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pawpost_domain::Aggregate;

use super::group::Job;

/// Streams whose state stays cached; past this, idle entries are dropped.
const CAPACITY: usize = 50_000;

/// A cached aggregate and how it was loaded.
#[derive(Default)]
pub(super) struct Entry<A> {
    /// The folded state (as of the last event this process saw or appended).
    pub state: A,
    /// Whether it was read from the log at least once (a fresh entry has not been).
    pub loaded: bool,
    /// The version of the newest snapshot stored or scheduled for this stream.
    pub snapshot_version: u64,
    /// When the state was last known to be the log's (caught up, or appended to with the
    /// exact version it had).
    pub checked: Option<Instant>,
}

impl<A> Entry<A> {
    /// Whether the state was known to be the log's less than `within` ago.
    pub(super) fn fresh(&self, within: Duration) -> bool {
        self.loaded && self.checked.is_some_and(|t| t.elapsed() < within)
    }
}

/// One stream's place in the cache: its state behind an async lock that serialises this
/// node's commands on the stream (so they rarely conflict), and the commands waiting for it.
pub(super) struct Slot<A: Aggregate> {
    pub entry: tokio::sync::Mutex<Entry<A>>,
    pub queue: Mutex<Vec<Job<A>>>,
}

impl<A: Aggregate> Slot<A> {
    /// The waiting commands, taken out of the queue (a poisoned queue is still a valid queue).
    pub(super) fn take_queue(&self) -> Vec<Job<A>> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts a command in the queue.
    pub(super) fn enqueue(&self, job: Job<A>) {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(job);
    }
}

/// A map from stream name to that stream's slot.
pub(super) struct Cache<A: Aggregate> {
    entries: Mutex<HashMap<String, Arc<Slot<A>>>>,
}

impl<A: Aggregate> Cache<A> {
    pub(super) fn new() -> Self {
        Cache {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How many commands wait for `stream` (none if it is not cached).
    pub(super) fn queued(&self, stream: &str) -> usize {
        let slot = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(stream)
            .cloned();
        slot.map_or(0, |s| {
            s.queue.lock().unwrap_or_else(|p| p.into_inner()).len()
        })
    }

    /// The slot of `stream`, created empty (not loaded) if absent.
    pub(super) fn slot(&self, stream: &str) -> Arc<Slot<A>> {
        // Nothing awaits while this std lock is held; a poisoned map is still a valid map.
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = map.get(stream) {
            return e.clone();
        }
        if map.len() >= CAPACITY {
            // Drop entries nobody is using; they reload from the log when needed.
            map.retain(|_, e| Arc::strong_count(e) > 1);
        }
        let e = Arc::new(Slot {
            entry: tokio::sync::Mutex::new(Entry::default()),
            queue: Mutex::new(Vec::new()),
        });
        map.insert(stream.to_string(), e.clone());
        e
    }
}
