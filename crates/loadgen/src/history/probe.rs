//! Latency samples taken one request at a time (no other load): sends into the conversation
//! and listings of the recipient's conversations; and the server's resident memory.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::api::Api;
use crate::grow::Counts;

/// Latencies are recorded in microseconds, up to ten minutes.
const MAX_MICROS: u64 = 600_000_000;

/// A histogram of microseconds, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("constant, valid histogram bounds")
}

pub fn record(h: &mut Histogram<u64>, latency: Duration) {
    h.saturating_record((latency.as_micros() as u64).clamp(1, MAX_MICROS));
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
    pub count: u64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |micros: f64| (micros / 1000.0 * 1000.0).round() / 1000.0;
        Percentiles {
            p50: ms(h.value_at_quantile(0.50) as f64),
            p99: ms(h.value_at_quantile(0.99) as f64),
            max: ms(h.max() as f64),
            mean: ms(h.mean()),
            count: h.len(),
        }
    }
}

/// `count` sends one after the other from `token`'s user, numbered from `first`.
pub async fn sends(
    api: &Api,
    token: &str,
    conversation: &str,
    run: &str,
    first: u64,
    count: u64,
    counts: &mut Counts,
) -> anyhow::Result<Percentiles> {
    let mut h = histogram();
    for n in first..first + count {
        let outcome = api
            .send(token, conversation, &content(n), &temp_id(run, n))
            .await?;
        counts.add(&outcome);
        record(&mut h, outcome.latency);
    }
    Ok(Percentiles::of(&h))
}

/// `count` listings of `token`'s user's conversations, one after the other; with the unread
/// count of `conversation` the last one showed.
pub async fn lists(
    api: &Api,
    token: &str,
    conversation: &str,
    count: u64,
) -> anyhow::Result<(Percentiles, Option<u64>)> {
    let mut h = histogram();
    let mut unread = None;
    for _ in 0..count {
        let (latency, u) = api.list(token, Some(conversation)).await?;
        record(&mut h, latency);
        unread = u;
    }
    Ok((Percentiles::of(&h), unread))
}

/// The text of message `n`.
pub fn content(n: u64) -> String {
    format!("history benchmark message {n}")
}

/// The correlation id of message `n` of run `run`.
pub fn temp_id(run: &str, n: u64) -> String {
    format!("hb-{run}-{n}")
}

/// The server's resident memory in bytes: `VmRSS` of `/proc/<pid>/status` when the pid is
/// given (the server runs on this machine), else what its `GET /stats` says.
pub async fn rss(api: &Api, pid: Option<u32>) -> Option<u64> {
    match pid {
        Some(pid) => {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map(|kib| kib * 1024)
        }
        None => api.stats_rss().await,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_in_milliseconds() {
        let mut h = histogram();
        for ms in 1..=100u64 {
            record(&mut h, Duration::from_millis(ms));
        }
        let p = Percentiles::of(&h);
        assert_eq!(p.count, 100);
        assert!((p.p50 - 50.0).abs() < 0.1, "{p:?}");
        assert!((p.p99 - 99.0).abs() < 0.1, "{p:?}");
        assert!((p.max - 100.0).abs() < 0.1, "{p:?}");
    }

    #[test]
    fn temp_ids_are_distinct_per_run_and_number() {
        assert_ne!(temp_id("a", 1), temp_id("a", 2));
        assert_ne!(temp_id("a", 1), temp_id("b", 1));
    }
}
