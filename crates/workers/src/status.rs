//! What a worker is doing, for waiters (read-your-writes) and for admins (lag, failures).

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pawpost_store::{Position, Restarts};
use serde::Serialize;
use tokio::sync::watch;

/// The live state of one worker in this process. Shared by its runner (which writes it) and by
/// everyone who waits on it or reports it.
#[derive(Debug)]
pub struct WorkerStatus {
    name: &'static str,
    /// The checkpoint, and whether it is in doubt: after a failure of the database (or a
    /// restart of its server, below), commits that were acknowledged may be lost (PostgreSQL's
    /// read models commit without waiting for their WAL flush), so until the checkpoint has
    /// been read back, nobody is told a position is reached.
    progress: watch::Sender<Progress>,
    /// The restarts of the database server noticed in this process: a restart since the
    /// checkpoint was last read back puts it in doubt too, even for a worker that never failed
    /// (an idle one sees no error).
    restarts: Restarts,
    inner: Mutex<Inner>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Progress {
    at: Position,
    /// A failure of the database since the checkpoint was last read back.
    in_doubt: bool,
    /// How many restarts of the database server had been noticed when the checkpoint was last
    /// read back.
    confirmed_after: u64,
}

#[derive(Debug, Default)]
struct Inner {
    running: bool,
    /// When the last event handled was appended.
    handled_at: Option<DateTime<Utc>>,
    failures: u64,
    consecutive_failures: u32,
    last_error: Option<String>,
    retrying_until: Option<DateTime<Utc>>,
    parked: u64,
}

/// A snapshot of a worker's state, with its lag behind the head of the log.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerReport {
    pub name: String,
    /// This process runs it now (it holds its lease).
    pub running: bool,
    /// Its checkpoint, as a sync cursor.
    pub checkpoint: Position,
    /// Events of the log after its checkpoint (about: positions are sequence numbers).
    pub lag_events: u64,
    /// How far behind it is in log time: between when the newest event of the log and the last
    /// event it handled were appended (0 when caught up).
    pub lag_seconds: f64,
    /// Failed batches since this process started.
    pub failures: u64,
    /// Failures in a row (0 when the last batch went through).
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// When it retries next, while backing off.
    pub retrying_at: Option<DateTime<Utc>>,
    /// Events it parked since this process started.
    pub parked: u64,
}

impl WorkerStatus {
    /// A status for worker `name` at the start of the log, on a database whose server
    /// restarts `restarts` tells of.
    pub fn new(name: &'static str, restarts: Restarts) -> Self {
        let progress = Progress {
            at: Position::START,
            in_doubt: false,
            confirmed_after: restarts.count(),
        };
        WorkerStatus {
            name,
            progress: watch::channel(progress).0,
            restarts,
            inner: Mutex::default(),
        }
    }

    /// The worker's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Plain data: a panic while it was held leaves it usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the worker stands.
    pub fn checkpoint(&self) -> Position {
        self.progress.borrow().at
    }

    /// Waits until the worker has handled `position`, at most `timeout`. True if reached.
    pub async fn wait_for(&self, position: Position, timeout: Duration) -> bool {
        let mut progress = self.progress.subscribe();
        let mut restarts = self.restarts.subscribe();
        let reached = async {
            loop {
                restarts.borrow_and_update();
                let p = *progress.borrow_and_update();
                if p.at >= position && !self.doubts(&p) {
                    return true;
                }
                tokio::select! {
                    changed = progress.changed() => if changed.is_err() { return false },
                    // The sender lives as long as `self`: an error cannot happen here.
                    _ = restarts.changed() => {}
                }
            }
        };
        tokio::time::timeout(timeout, reached)
            .await
            .unwrap_or(false)
    }

    fn doubts(&self, p: &Progress) -> bool {
        p.in_doubt || p.confirmed_after != self.restarts.count()
    }

    /// Moves the checkpoint forward to `to` (never back), leaving the doubt as it is.
    fn progressed(&self, to: Position) {
        self.progress.send_if_modified(|p| {
            let changed = to > p.at;
            if changed {
                p.at = to;
            }
            changed
        });
    }

    /// How many restarts of the database server were noticed so far: taken before reading the
    /// checkpoint back, for [`WorkerStatus::confirmed`].
    pub(crate) fn restarts_seen(&self) -> u64 {
        self.restarts.count()
    }

    /// The checkpoint as its own transaction read it back, after `restarts` restarts of the
    /// database server were noticed: exact, no longer in doubt, and possibly behind what was
    /// believed (commits lost to a crash of the database).
    pub(crate) fn confirmed(&self, at: Position, restarts: u64) {
        let confirmed = Progress {
            at,
            in_doubt: false,
            confirmed_after: restarts,
        };
        self.progress
            .send_if_modified(|p| std::mem::replace(p, confirmed) != confirmed);
    }

    /// Work went through up to `to`, the last event of it appended at `handled_at`.
    pub fn advanced(&self, to: Position, handled_at: Option<DateTime<Utc>>) {
        self.progressed(to);
        self.progress
            .send_if_modified(|p| std::mem::take(&mut p.in_doubt));
        let mut inner = self.lock();
        if handled_at.is_some() {
            inner.handled_at = handled_at;
        }
        inner.consecutive_failures = 0;
        inner.retrying_until = None;
    }

    /// Starts over from the beginning (a rebuild emptied it).
    pub fn reset(&self) {
        self.progress.send_modify(|p| {
            p.at = Position::START;
            p.in_doubt = false;
        });
        self.lock().handled_at = None;
    }

    pub(crate) fn set_running(&self, running: bool) {
        self.lock().running = running;
    }

    /// Whether the checkpoint is in doubt: the database failed, or its server restarted,
    /// since the checkpoint was last read back.
    pub fn is_in_doubt(&self) -> bool {
        self.doubts(&self.progress.borrow())
    }

    /// The database failed: the checkpoint is in doubt until the next transaction reads it.
    pub(crate) fn in_doubt(&self) {
        self.progress
            .send_if_modified(|p| !std::mem::replace(&mut p.in_doubt, true));
    }

    pub(crate) fn failed(&self, error: &str, retry_in: Duration) {
        let mut inner = self.lock();
        inner.failures += 1;
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        inner.last_error = Some(error.to_string());
        inner.retrying_until = chrono::Duration::from_std(retry_in)
            .ok()
            .map(|d| Utc::now() + d);
    }

    pub(crate) fn parked_one(&self) {
        self.lock().parked += 1;
    }

    /// Failures in a row now.
    pub fn consecutive_failures(&self) -> u32 {
        self.lock().consecutive_failures
    }

    /// The report, given the head of the log and when its newest event was appended.
    pub fn report(&self, head: Position, head_at: Option<DateTime<Utc>>) -> WorkerReport {
        let checkpoint = self.checkpoint();
        let inner = self.lock();
        let lag_events = if head > checkpoint {
            head.seq.saturating_sub(checkpoint.seq).max(1)
        } else {
            0
        };
        let lag_seconds = match (lag_events, head_at, inner.handled_at) {
            (0, _, _) => 0.0,
            (_, Some(head_at), Some(handled)) => {
                (head_at - handled).num_milliseconds().max(0) as f64 / 1000.0
            }
            // Nothing handled yet: behind by the age of the log's head at least.
            (_, Some(head_at), None) => {
                (Utc::now() - head_at).num_milliseconds().max(0) as f64 / 1000.0
            }
            _ => 0.0,
        };
        WorkerReport {
            name: self.name.to_string(),
            running: inner.running,
            checkpoint,
            lag_events,
            lag_seconds,
            failures: inner.failures,
            consecutive_failures: inner.consecutive_failures,
            last_error: inner.last_error.clone(),
            retrying_at: inner.retrying_until,
            parked: inner.parked,
        }
    }
}
