//! Idempotent appends: a batch whose event ids are all stored already, with the same payloads,
//! returns the original result instead of writing again.

use std::collections::HashMap;

use uuid::Uuid;

use crate::{AppendResult, NewEvent, RecordedEvent, StoreError};

/// Compares a re-appended batch with what is stored under its ids (`found`, any order).
pub(crate) fn original_result(
    stream: &str,
    new: &[NewEvent],
    found: Vec<RecordedEvent>,
) -> Result<AppendResult, StoreError> {
    let by_id: HashMap<Uuid, RecordedEvent> = found.into_iter().map(|e| (e.event_id, e)).collect();
    let mut first: Option<&RecordedEvent> = None;
    let mut last: Option<&RecordedEvent> = None;
    for ev in new {
        let Some(stored) = by_id.get(&ev.event_id) else {
            return Err(StoreError::DuplicateEvent {
                event_id: ev.event_id,
            });
        };
        if stored.stream != stream
            || stored.event_type != ev.event_type
            || !same_json(stored.data.get(), ev.data.get())
        {
            return Err(StoreError::DuplicateEvent {
                event_id: ev.event_id,
            });
        }
        if first.is_none_or(|f| stored.version < f.version) {
            first = Some(stored);
        }
        if last.is_none_or(|l| stored.version > l.version) {
            last = Some(stored);
        }
    }
    match (first, last) {
        (Some(f), Some(l)) => Ok(AppendResult {
            first_version: f.version,
            last_version: l.version,
            position: l.position,
            deduplicated: true,
        }),
        _ => Err(StoreError::Invalid("append of no events".into())),
    }
}

fn same_json(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
