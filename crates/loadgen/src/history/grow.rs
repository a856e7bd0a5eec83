//! Growing the conversation: concurrent REST senders, all from one user, numbering messages
//! from a shared counter; the time at every `every`-th completed send, for rates per window.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::api::{Api, SendOutcome, Sent};
use crate::probe::{self, histogram};

/// How the sends were answered.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    /// 201.
    pub created: u64,
    /// 200 (a retry the server recognised by its `tempId`).
    pub retried: u64,
    /// 202 (stored; the read models lagged past the server's bound).
    pub lagging: u64,
    /// Attempts that failed (transport error or 5xx) and were retried.
    pub failed_attempts: u64,
    pub first_failure: Option<String>,
}

impl Counts {
    pub fn add(&mut self, outcome: &SendOutcome) {
        match outcome.sent {
            Sent::Created => self.created += 1,
            Sent::Retried => self.retried += 1,
            Sent::Lagging => self.lagging += 1,
        }
        self.failed_attempts += u64::from(outcome.failed_attempts);
        if self.first_failure.is_none() {
            self.first_failure.clone_from(&outcome.failure);
        }
    }

    pub fn merge(&mut self, other: &Counts) {
        self.created += other.created;
        self.retried += other.retried;
        self.lagging += other.lagging;
        self.failed_attempts += other.failed_attempts;
        if self.first_failure.is_none() {
            self.first_failure.clone_from(&other.first_failure);
        }
    }

    pub fn total(&self) -> u64 {
        self.created + self.retried + self.lagging
    }
}

/// One stretch of concurrent sending.
pub struct Segment {
    /// Messages in the conversation before it.
    pub from: u64,
    /// Messages sent in it.
    pub sent: u64,
    pub elapsed: Duration,
    /// (messages in the conversation, time since the segment started) at every multiple of
    /// `every`, in order.
    pub checkpoints: Vec<(u64, Duration)>,
    pub latency: Histogram<u64>,
    pub counts: Counts,
}

impl Segment {
    /// Sends/s between consecutive checkpoints (the first from the segment's start):
    /// (messages in the conversation at the window's end, rate).
    pub fn windows(&self) -> Vec<(u64, f64)> {
        let mut previous = (self.from, Duration::ZERO);
        let mut out = Vec::with_capacity(self.checkpoints.len());
        for &(total, at) in &self.checkpoints {
            let seconds = (at - previous.1).as_secs_f64();
            if seconds > 0.0 {
                out.push((total, (total - previous.0) as f64 / seconds));
            }
            previous = (total, at);
        }
        out
    }
}

/// What every sender shares.
struct Shared {
    api: Api,
    token: String,
    conversation: String,
    run: String,
    /// The next message number to send.
    next: AtomicU64,
    /// Sends completed so far.
    done: AtomicU64,
    to: u64,
    from: u64,
    every: u64,
    started: Instant,
    checkpoints: Mutex<Vec<(u64, Duration)>>,
    progress: bool,
}

/// Sends messages `from..to` (numbers; the conversation holds `from` before) with `senders`
/// concurrent senders as `token`'s user.
#[allow(clippy::too_many_arguments)]
pub async fn grow(
    api: &Api,
    token: &str,
    conversation: &str,
    run: &str,
    from: u64,
    to: u64,
    senders: usize,
    every: u64,
    progress: bool,
) -> anyhow::Result<Segment> {
    let shared = Arc::new(Shared {
        api: api.clone(),
        token: token.to_string(),
        conversation: conversation.to_string(),
        run: run.to_string(),
        next: AtomicU64::new(from),
        done: AtomicU64::new(0),
        to,
        from,
        every: every.max(1),
        started: Instant::now(),
        checkpoints: Mutex::default(),
        progress,
    });
    let tasks: Vec<_> = (0..senders.max(1))
        .map(|_| tokio::spawn(sender(shared.clone())))
        .collect();
    let mut latency = histogram();
    let mut counts = Counts::default();
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(Ok((h, c))) => {
                latency.add(&h).map_err(|e| anyhow::anyhow!("{e:?}"))?;
                counts.merge(&c);
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(anyhow::anyhow!("a sender panicked: {e}"));
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut checkpoints =
        std::mem::take(&mut *shared.checkpoints.lock().unwrap_or_else(|p| p.into_inner()));
    checkpoints.sort_unstable();
    Ok(Segment {
        from,
        sent: shared.done.load(Ordering::Relaxed),
        elapsed: shared.started.elapsed(),
        checkpoints,
        latency,
        counts,
    })
}

/// One sender: takes numbers until there are none left (or a send fails: then it takes the
/// rest so the others stop too).
async fn sender(shared: Arc<Shared>) -> anyhow::Result<(Histogram<u64>, Counts)> {
    let mut latency = histogram();
    let mut counts = Counts::default();
    loop {
        let n = shared.next.fetch_add(1, Ordering::Relaxed);
        if n >= shared.to {
            return Ok((latency, counts));
        }
        let sent = shared
            .api
            .send(
                &shared.token,
                &shared.conversation,
                &probe::content(n),
                &probe::temp_id(&shared.run, n),
            )
            .await;
        let outcome = match sent {
            Ok(o) => o,
            Err(e) => {
                shared.next.store(shared.to, Ordering::Relaxed);
                return Err(e.context(format!("sending message {n}")));
            }
        };
        probe::record(&mut latency, outcome.latency);
        counts.add(&outcome);
        let total = shared.from + shared.done.fetch_add(1, Ordering::Relaxed) + 1;
        if total.is_multiple_of(shared.every) {
            let at = shared.started.elapsed();
            shared
                .checkpoints
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((total, at));
            if shared.progress && total.is_multiple_of(shared.every * 10) {
                eprintln!(
                    "[history] {total} messages, {:.0} sends/s so far in this stretch",
                    (total - shared.from) as f64 / at.as_secs_f64()
                );
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_rates_between_checkpoints() {
        let segment = Segment {
            from: 1200,
            sent: 1800,
            elapsed: Duration::from_secs(3),
            checkpoints: vec![
                (2000, Duration::from_secs(1)),
                (3000, Duration::from_secs(3)),
            ],
            latency: histogram(),
            counts: Counts::default(),
        };
        assert_eq!(segment.windows(), vec![(2000, 800.0), (3000, 500.0)]);
    }
}
