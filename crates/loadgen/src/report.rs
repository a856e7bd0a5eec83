//! The run's summary: for people (stderr) and machines (`--json`).

use std::sync::atomic::Ordering;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{json, Value};

use crate::tally::Tally;
use crate::Args;

/// What the server's `GET /stats` said (absent if it has none).
pub async fn server_stats(http: &reqwest::Client, base: &str) -> Option<Value> {
    let answer = http.get(format!("{base}/stats")).send().await.ok()?;
    if !answer.status().is_success() {
        return None;
    }
    answer.json().await.ok()
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub count: u64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        Percentiles {
            p50: ms(h.value_at_quantile(0.50)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            count: h.len(),
        }
    }

    fn json(&self) -> Value {
        let r = |v: f64| (v * 1000.0).round() / 1000.0;
        json!({"p50": r(self.p50), "p95": r(self.p95), "p99": r(self.p99),
               "p999": r(self.p999), "max": r(self.max), "count": self.count})
    }

    fn human(&self) -> String {
        format!(
            "p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  p999 {:.2} ms  max {:.2} ms  ({} samples)",
            self.p50, self.p95, self.p99, self.p999, self.max, self.count
        )
    }
}

/// Everything the run measured.
pub struct Summary {
    config: Value,
    latency: Percentiles,
    completion: Percentiles,
    expected: u64,
    received: u64,
    lost: u64,
    duplicated: u64,
    out_of_order: u64,
    unexpected: u64,
    planned: u64,
    acked: u64,
    failed: u64,
    first_error: Option<String>,
    requested: usize,
    opened: usize,
    connect_failed: u64,
    first_connect_error: Option<String>,
    dropped: u64,
    send_seconds: f64,
    achieved_rate: f64,
    server: [Option<Value>; 3],
}

impl Summary {
    pub fn new(
        args: &Args,
        tally: &Tally,
        opened: usize,
        sending: Duration,
        server: [Option<Value>; 3],
    ) -> Self {
        let (expected, received, _) = tally.deliveries();
        let latency = Percentiles::of(&tally.latency.lock().unwrap_or_else(|p| p.into_inner()));
        let completion =
            Percentiles::of(&tally.completion.lock().unwrap_or_else(|p| p.into_inner()));
        let acked = tally.acked.load(Ordering::Relaxed);
        let send_seconds = sending.as_secs_f64();
        Summary {
            config: json!({
                "url": args.url,
                "connections": args.connections,
                "rate": args.rate,
                "duration": args.duration,
                "group_size": args.group_size,
                "protocol": format!("{:?}", args.protocol).to_lowercase(),
                "connect_rate": args.connect_rate,
                "message_bytes": args.message_bytes,
            }),
            latency,
            completion,
            expected,
            received,
            lost: expected - received,
            duplicated: tally.duplicated.load(Ordering::Relaxed),
            out_of_order: tally.out_of_order.load(Ordering::Relaxed),
            unexpected: tally.unexpected.load(Ordering::Relaxed),
            planned: tally.planned.load(Ordering::Relaxed),
            acked,
            failed: tally.failed.load(Ordering::Relaxed),
            first_error: tally
                .first_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            requested: args.connections,
            opened,
            connect_failed: tally.connect_failed.load(Ordering::Relaxed),
            first_connect_error: tally
                .first_connect_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            dropped: tally.dropped.load(Ordering::Relaxed),
            send_seconds,
            achieved_rate: if send_seconds > 0.0 {
                acked as f64 / send_seconds
            } else {
                0.0
            },
            server,
        }
    }

    /// Nothing lost, duplicated, reordered or refused; every connection opened and stayed.
    pub fn correct(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.out_of_order == 0
            && self.unexpected == 0
            && self.failed == 0
            && self.connect_failed == 0
            && self.dropped == 0
            && self.opened == self.requested
            && self.acked == self.planned
    }

    /// Server memory per connection: RSS growth from before to after connecting.
    fn bytes_per_connection(&self) -> Option<f64> {
        let rss = |i: usize| self.server[i].as_ref()?["rssBytes"].as_f64();
        let (before, connected) = (rss(0)?, rss(1)?);
        (self.opened > 0).then(|| (connected - before) / self.opened as f64)
    }

    pub fn json(&self) -> Value {
        json!({
            "config": self.config,
            "latency_ms": self.latency.json(),
            "completion_ms": self.completion.json(),
            "deliveries": {
                "expected": self.expected,
                "received": self.received,
                "lost": self.lost,
                "duplicated": self.duplicated,
                "out_of_order": self.out_of_order,
                "unexpected": self.unexpected,
            },
            "messages": {
                "planned": self.planned,
                "acked": self.acked,
                "failed": self.failed,
                "first_error": self.first_error,
            },
            "connections": {
                "requested": self.requested,
                "opened": self.opened,
                "failed": self.connect_failed,
                "dropped": self.dropped,
                "first_error": self.first_connect_error,
            },
            "achieved_rate": (self.achieved_rate * 10.0).round() / 10.0,
            "send_seconds": (self.send_seconds * 1000.0).round() / 1000.0,
            "server": {
                "before": self.server[0],
                "connected": self.server[1],
                "end": self.server[2],
                "bytes_per_connection": self.bytes_per_connection().map(f64::round),
            },
            "correct": self.correct(),
        })
    }

    pub fn human(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "connections  {} opened of {} ({} failed, {} dropped)\n",
            self.opened, self.requested, self.connect_failed, self.dropped
        ));
        if let Some(e) = &self.first_connect_error {
            out.push_str(&format!("             first failure: {e}\n"));
        }
        out.push_str(&format!(
            "messages     {} sent, {} acknowledged, {} failed in {:.1} s: {:.1} msg/s\n",
            self.planned, self.acked, self.failed, self.send_seconds, self.achieved_rate
        ));
        if let Some(e) = &self.first_error {
            out.push_str(&format!("             first failure: {e}\n"));
        }
        out.push_str(&format!(
            "deliveries   {} expected, {} received, {} lost, {} duplicated, {} out of order, {} unexpected\n",
            self.expected, self.received, self.lost, self.duplicated, self.out_of_order, self.unexpected
        ));
        out.push_str(&format!("send→receive {}\n", self.latency.human()));
        out.push_str(&format!("completion   {}\n", self.completion.human()));
        if let Some(b) = self.bytes_per_connection() {
            let rss = |i: usize| {
                self.server[i]
                    .as_ref()
                    .and_then(|s| s["rssBytes"].as_f64())
                    .map_or("?".to_string(), |v| format!("{:.1} MiB", v / 1048576.0))
            };
            out.push_str(&format!(
                "server RSS   {} before, {} connected, {} at the end: {:.1} KiB per connection\n",
                rss(0),
                rss(1),
                rss(2),
                b / 1024.0
            ));
        }
        out.push_str(if self.correct() {
            "result       OK: every acknowledged message reached every participant once, in order"
        } else {
            "result       FAILED: see above"
        });
        out
    }
}
