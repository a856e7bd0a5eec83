//! What the run saw: per message, whether it was sent, acknowledged and how many recipients
//! got it; latency histograms; error counters. Shared by every connection task.

use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::setup::Conversation;

/// A message's state.
const PLANNED: u8 = 1;
const ACKED: u8 = 2;
const FAILED: u8 = 3;

/// Latencies are recorded in microseconds, up to an hour.
const MAX_MICROS: u64 = 3_600_000_000;

pub struct Tally {
    epoch: Instant,
    /// Per message number: PLANNED, ACKED or FAILED (0: never planned).
    state: Vec<AtomicU8>,
    /// Per message number: distinct recipients that got it.
    deliveries: Vec<AtomicU16>,
    /// Per message number: its conversation (index).
    conversation: Vec<AtomicU32>,
    /// Participants per conversation index, minus the sender: expected recipients.
    recipients: Mutex<Vec<u16>>,
    pub latency: Mutex<Histogram<u64>>,
    pub completion: Mutex<Histogram<u64>>,
    pub planned: AtomicU64,
    pub acked: AtomicU64,
    pub failed: AtomicU64,
    pub first_error: Mutex<Option<String>>,
    pub received: AtomicU64,
    pub duplicated: AtomicU64,
    pub out_of_order: AtomicU64,
    /// Deliveries of messages this run never sent (or could not read).
    pub unexpected: AtomicU64,
    pub connect_failed: AtomicU64,
    pub first_connect_error: Mutex<Option<String>>,
    pub dropped: AtomicU64,
}

fn histogram() -> Histogram<u64> {
    // Three significant digits from 1 µs to an hour: constant, valid bounds.
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")
}

impl Tally {
    /// Room for `messages` message numbers.
    pub fn new(messages: usize) -> Self {
        let atomics8 = || (0..messages).map(|_| AtomicU8::new(0)).collect();
        Tally {
            epoch: Instant::now(),
            state: atomics8(),
            deliveries: (0..messages).map(|_| AtomicU16::new(0)).collect(),
            conversation: (0..messages).map(|_| AtomicU32::new(0)).collect(),
            recipients: Mutex::default(),
            latency: Mutex::new(histogram()),
            completion: Mutex::new(histogram()),
            planned: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            first_error: Mutex::default(),
            received: AtomicU64::new(0),
            duplicated: AtomicU64::new(0),
            out_of_order: AtomicU64::new(0),
            unexpected: AtomicU64::new(0),
            connect_failed: AtomicU64::new(0),
            first_connect_error: Mutex::default(),
            dropped: AtomicU64::new(0),
        }
    }

    /// Microseconds since the run started: the clock every timestamp in a message uses.
    pub fn now_micros(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    pub fn set_conversations(&self, conversations: &[Conversation]) {
        *self.recipients.lock().unwrap_or_else(|p| p.into_inner()) = conversations
            .iter()
            .map(|c| c.members.len().saturating_sub(1) as u16)
            .collect();
    }

    /// Message `number` is about to be sent in `conversation` (an index).
    pub fn planned(&self, number: usize, conversation: usize) {
        if let (Some(s), Some(c)) = (self.state.get(number), self.conversation.get(number)) {
            c.store(conversation as u32, Ordering::Relaxed);
            s.store(PLANNED, Ordering::Release);
            self.planned.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The server acknowledged message `number` after `micros`.
    pub fn acked(&self, number: u64, micros: u64) {
        if let Some(s) = self.state.get(number as usize) {
            s.store(ACKED, Ordering::Release);
            self.acked.fetch_add(1, Ordering::Relaxed);
        }
        record(&self.completion, micros);
    }

    /// Sending message `number` failed.
    pub fn failed(&self, number: u64, error: String) {
        if let Some(s) = self.state.get(number as usize) {
            s.store(FAILED, Ordering::Release);
        }
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(error);
    }

    /// A recipient got message `number` for the first time, `micros` after it was sent.
    pub fn delivered(&self, number: u64, micros: u64) {
        match self.deliveries.get(number as usize) {
            Some(d) => {
                d.fetch_add(1, Ordering::Relaxed);
                self.received.fetch_add(1, Ordering::Relaxed);
                record(&self.latency, micros);
            }
            None => {
                self.unexpected.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn connect_failed(&self, error: String) {
        self.connect_failed.fetch_add(1, Ordering::Relaxed);
        self.first_connect_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(error);
    }

    /// (expected, received) deliveries of acknowledged messages, and messages still waiting
    /// for their completion.
    pub fn deliveries(&self) -> (u64, u64, u64) {
        let recipients = self.recipients.lock().unwrap_or_else(|p| p.into_inner());
        let (mut expected, mut received, mut waiting) = (0u64, 0u64, 0u64);
        for (number, state) in self.state.iter().enumerate() {
            match state.load(Ordering::Acquire) {
                ACKED => {
                    let c = self.conversation[number].load(Ordering::Relaxed) as usize;
                    let want = u64::from(recipients.get(c).copied().unwrap_or(0));
                    let got = u64::from(self.deliveries[number].load(Ordering::Relaxed));
                    expected += want;
                    received += got.min(want);
                }
                PLANNED => waiting += 1,
                _ => {}
            }
        }
        (expected, received, waiting)
    }

    /// Every sent message is answered and every acknowledged one fully delivered.
    pub fn settled(&self) -> bool {
        let (expected, received, waiting) = self.deliveries();
        waiting == 0 && expected == received
    }

    /// One progress line.
    pub fn progress(&self, elapsed: Duration) -> String {
        let p99 = self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .value_at_quantile(0.99);
        let at = if elapsed.is_zero() {
            "drain".to_string()
        } else {
            format!("{:>3.0} s", elapsed.as_secs_f64())
        };
        format!(
            "{at}: sent {} acked {} failed {} received {} dup {} ooo {} dropped {} p99 {:.1} ms",
            self.planned.load(Ordering::Relaxed),
            self.acked.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
            self.duplicated.load(Ordering::Relaxed),
            self.out_of_order.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
            p99 as f64 / 1000.0,
        )
    }
}

fn record(histogram: &Mutex<Histogram<u64>>, micros: u64) {
    histogram
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .saturating_record(micros.clamp(1, MAX_MICROS));
}
