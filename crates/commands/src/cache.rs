//! Aggregates kept in memory between commands, one lock per stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
}

/// A map from stream name to that stream's cached aggregate, each behind an async lock that
/// serialises this node's commands on the stream (so they rarely conflict).
pub(super) struct Cache<A> {
    entries: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Entry<A>>>>>,
}

impl<A: Default> Cache<A> {
    pub(super) fn new() -> Self {
        Cache {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The entry for `stream`, created empty (not loaded) if absent.
    pub(super) fn entry(&self, stream: &str) -> Arc<tokio::sync::Mutex<Entry<A>>> {
        // Nothing awaits while this std lock is held; a poisoned map is still a valid map.
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = map.get(stream) {
            return e.clone();
        }
        if map.len() >= CAPACITY {
            // Drop entries nobody is using; they reload from the log when needed.
            map.retain(|_, e| Arc::strong_count(e) > 1);
        }
        let e = Arc::new(tokio::sync::Mutex::new(Entry::default()));
        map.insert(stream.to_string(), e.clone());
        e
    }
}
