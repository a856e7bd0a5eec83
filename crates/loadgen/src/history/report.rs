//! What the benchmark measured, kept between its two phases (a JSON file), and its summary:
//! JSON for machines, a table with the targets of DESIGN §9 for people.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::grow::Counts;
use crate::probe::Percentiles;

/// Sends over a stretch.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Rate {
    pub messages: u64,
    pub seconds: f64,
    pub per_second: f64,
}

impl Rate {
    pub fn new(messages: u64, seconds: f64) -> Self {
        let per_second = if seconds > 0.0 {
            messages as f64 / seconds
        } else {
            0.0
        };
        Rate {
            messages,
            seconds: (seconds * 1000.0).round() / 1000.0,
            per_second: (per_second * 10.0).round() / 10.0,
        }
    }
}

/// Measurements at one size of the conversation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AtSize {
    /// Messages in the conversation (all from the sender, all unread by the recipient).
    pub messages: u64,
    /// The recipient's `GET /conversations`.
    pub list: Percentiles,
    /// The conversation's unread count the recipient's last listing showed.
    pub unread_listed: Option<u64>,
    /// Server RSS (bytes) before the sequential sends.
    pub rss_bytes: Option<u64>,
    /// Sequential sends from here on, one at a time.
    pub send: Percentiles,
}

/// The first sends after the server restarted on the same data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cold {
    pub first_ms: f64,
    pub second_ms: f64,
    /// The recipient's unread count after them (expected: every message of the run).
    pub unread_listed: Option<u64>,
    pub rss_bytes: Option<u64>,
}

/// The whole benchmark.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub config: Value,
    pub run_id: String,
    pub sender: String,
    pub recipient: String,
    pub conversation: String,
    /// The first `window` messages, concurrent senders.
    pub early: Rate,
    /// The last `window` messages before the target, concurrent senders.
    pub late: Rate,
    /// Every concurrent send, over the time spent sending concurrently.
    pub sustained: Rate,
    /// (messages in the conversation at the window's end, sends/s) per window.
    pub windows: Vec<(u64, f64)>,
    /// Latency of the concurrent sends.
    pub concurrent_send: Percentiles,
    pub start: AtSize,
    pub end: AtSize,
    pub cold: Option<Cold>,
    /// Every send of the run (growth, probes and the cold ones).
    pub sends: Counts,
    /// Print JSON on stdout at the end.
    pub json: bool,
}

/// One target: what it compares and whether it holds.
struct Target {
    name: &'static str,
    value: String,
    goal: &'static str,
    met: Option<bool>,
}

impl Report {
    /// Every message the run sent: what the recipient should have unread.
    pub fn messages_sent(&self) -> u64 {
        self.sends.total()
    }

    fn targets(&self) -> Vec<Target> {
        let mib = |b: u64| b as f64 / 1048576.0;
        let growth = match (self.start.rss_bytes, self.end.rss_bytes) {
            (Some(a), Some(b)) => Some(mib(b) - mib(a)),
            _ => None,
        };
        let late_ratio = if self.early.per_second > 0.0 {
            self.late.per_second / self.early.per_second
        } else {
            0.0
        };
        let list_ratio = if self.start.list.p50 > 0.0 {
            self.end.list.p50 / self.start.list.p50
        } else {
            0.0
        };
        let mut targets = vec![
            Target {
                name: "late sends/s ≥ 0.8 × early",
                value: format!("{late_ratio:.2} ×"),
                goal: "≥ 0.80",
                met: Some(late_ratio >= 0.8),
            },
            Target {
                name: "sustained sends/s, one conversation",
                value: format!("{:.0}/s", self.sustained.per_second),
                goal: "≥ 1,000/s (SQLite)",
                met: Some(self.sustained.per_second >= 1000.0),
            },
            Target {
                name: "list at end ≤ 2 × at start (p50, p99)",
                value: format!("{list_ratio:.2} × (p50)"),
                goal: "≤ 2",
                met: Some(list_ratio <= 2.0 && self.end.list.p99 <= 2.0 * self.start.list.p99),
            },
            Target {
                name: "list p99 at end",
                value: format!("{:.2} ms", self.end.list.p99),
                goal: "< 5 ms",
                met: Some(self.end.list.p99 < 5.0),
            },
            Target {
                name: "server RSS growth",
                value: growth.map_or("?".into(), |g| format!("{g:.1} MiB")),
                goal: "< 50 MiB",
                met: growth.map(|g| g < 50.0),
            },
        ];
        if let Some(c) = &self.cold {
            targets.push(Target {
                name: "first send after a restart",
                value: format!("{:.1} ms", c.first_ms),
                goal: "< 50 ms",
                met: Some(c.first_ms < 50.0),
            });
        }
        targets
    }

    pub fn json(&self) -> Value {
        let targets: Vec<Value> = self
            .targets()
            .iter()
            .map(|t| json!({"target": t.name, "value": t.value, "goal": t.goal, "met": t.met}))
            .collect();
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("json");
            o.insert("messages_sent".into(), json!(self.messages_sent()));
            o.insert("targets".into(), Value::Array(targets));
        }
        v
    }

    pub fn human(&self) -> String {
        let mib =
            |b: Option<u64>| b.map_or("?".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0));
        let opt = |u: Option<u64>| u.map_or("?".into(), |u| u.to_string());
        let p = |x: &Percentiles| {
            format!(
                "p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
                x.p50, x.p99, x.max
            )
        };
        let mut out = format!(
            "conversation {} ({} → {}), {} messages sent\n",
            self.conversation,
            self.sender,
            self.recipient,
            self.messages_sent()
        );
        out.push_str(&format!(
            "sends/s      first {}: {:.0}   last {} (to {}): {:.0}   overall {:.0} ({} in {:.1} s, concurrent)\n",
            self.early.messages,
            self.early.per_second,
            self.late.messages,
            self.end.messages,
            self.late.per_second,
            self.sustained.per_second,
            self.sustained.messages,
            self.sustained.seconds
        ));
        out.push_str(&format!("concurrent   {}\n", p(&self.concurrent_send)));
        for at in [&self.start, &self.end] {
            out.push_str(&format!(
                "at {:>7}   list {}  (unread shown {})\n             send {}\n             RSS {}\n",
                at.messages,
                p(&at.list),
                opt(at.unread_listed),
                p(&at.send),
                mib(at.rss_bytes)
            ));
        }
        if let Some(c) = &self.cold {
            out.push_str(&format!(
                "restarted    first send {:.1} ms, second {:.1} ms (unread shown {}, RSS {})\n",
                c.first_ms,
                c.second_ms,
                opt(c.unread_listed),
                mib(c.rss_bytes)
            ));
        }
        let s = &self.sends;
        out.push_str(&format!(
            "answers      {} created (201), {} retries recognised (200), {} lagging (202), {} failed attempts retried\n",
            s.created, s.retried, s.lagging, s.failed_attempts
        ));
        if let Some(f) = &s.first_failure {
            out.push_str(&format!("             first failure: {f}\n"));
        }
        out.push_str("targets\n");
        for t in self.targets() {
            let verdict = match t.met {
                Some(true) => "met",
                Some(false) => "NOT MET",
                None => "unknown",
            };
            out.push_str(&format!(
                "  {:<38} {:>12}  (goal {:<18}) {verdict}\n",
                t.name, t.value, t.goal
            ));
        }
        out
    }
}
