//! The change feed (`GET /api/v1/messaging/sync?since=<cursor>` and the hub's `Sync`): the
//! caller's changes, for clients that come back online (or never had a live connection) and
//! must catch up without missing or repeating anything.
//!
//! The feed is the event log itself, filtered to what the caller may see:
//! * every event of the caller's own stream (mutes, pins, drafts, blocks, profile);
//! * every event of a conversation that lies inside one of the caller's membership stretches:
//!   from the event that made them a participant to the one that ended it, both included (they
//!   see their own join and their own removal, nothing before or after).
//!
//! The log is only read up to where the read models stand (the membership stretches come from
//! them), so an event is never skipped because its membership was not projected yet: it comes
//! in a later page instead.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pawpost_codec::Reveal;
use pawpost_domain::{EventType, PersonalData, PersonalText};
use pawpost_projections::envelope::{decode_each, DomainEvent, Envelope, Undecodable};
use pawpost_projections::queries::users_extra::{self, MembershipRange};
use pawpost_store::{Position, RecordedEvent};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::{cursor, Actor, App, AppError, AppResult, ErrorKind};

/// Default events per page.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page.
pub const MAX_LIMIT: u32 = 500;
/// Log events looked at per request at most, matching or not: a caller who takes part in
/// little of a busy log still gets a quick answer (possibly empty, with `hasMore`) and
/// advances.
pub const MAX_SCANNED: usize = 5_000;
/// Log events read per store call.
const READ_BATCH: usize = 500;
/// The projector whose read model holds the membership stretches (`rm_membership_ranges`).
const MEMBERSHIP_PROJECTOR: &str = "messages";

/// One change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncEvent {
    /// This event's place in the log (resume after it with `since`).
    pub cursor: String,
    /// The event type (`MessageSent`, `ParticipantsAdded`, `DraftSaved`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// The conversation it concerns, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// For conversation events, its version in the conversation (a message's `seq`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The event as stored, personal content opened: text fields are plain strings, `null`
    /// once erased (right to be forgotten).
    #[schema(value_type = Object)]
    pub data: Value,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPage {
    /// In log order.
    pub events: Vec<SyncEvent>,
    /// Where the next request continues (`since`); always at or after the request's `since`.
    pub next_cursor: String,
    /// Whether more may follow right away (the page is full, or the scan bound was reached);
    /// a page after which the feed turns out to be empty is possible.
    pub has_more: bool,
}

/// One page of `caller`'s changes after the cursor `since` (none: from the start), at most
/// `limit` events: the REST feed and the hub's `Sync`.
pub(crate) async fn sync_page(
    app: &App,
    caller: &Actor,
    since: Option<&str>,
    limit: Option<u32>,
) -> AppResult<SyncPage> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::new(
            ErrorKind::BadRequest,
            "invalid_query",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        )
        .with_field("limit"));
    }
    let after = match since.map(str::trim) {
        None | Some("") => Position::START,
        Some(raw) => cursor::decode(raw).ok_or_else(|| {
            AppError::new(
                ErrorKind::BadRequest,
                "invalid_cursor",
                "since is not a cursor of this server",
            )
            .with_field("since")
        })?,
    };
    // The feed stops where the read models (membership) stand: let them reach the log's head
    // first (bounded), so a client syncing right after a push gets that push's event too.
    let head = *app.store.appended().borrow();
    let _ = app.projections.wait_for(head, app.read_your_writes).await;
    let user = caller.id.to_string();
    let (ranges, horizon) = app
        .query(move |tx| {
            Box::pin(async move {
                Ok((
                    users_extra::membership_ranges(tx, &user).await?,
                    users_extra::projected_position(tx, MEMBERSHIP_PROJECTOR).await?,
                ))
            })
        })
        .await?;
    let filter = Visibility::new(caller.id.stream(), ranges);
    let scan = scan(app, &filter, after, horizon, limit as usize).await?;
    let refs: Vec<&RecordedEvent> = scan.picked.iter().collect();
    let events = decode_each(&app.codec, &refs, Reveal::Content)
        .await
        .into_iter()
        .map(|decoded| match decoded {
            Ok(env) => sync_event(env),
            Err(u) if u.transient => Err(AppError::unavailable(u.error)),
            Err(u) => Ok(unavailable_event(u)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SyncPage {
        events,
        next_cursor: cursor::encode(scan.last),
        has_more: scan.has_more,
    })
}

/// Which log events the caller may see.
struct Visibility {
    own_stream: String,
    ranges: HashMap<String, Vec<MembershipRange>>,
}

impl Visibility {
    fn new(own_stream: String, list: Vec<MembershipRange>) -> Self {
        let mut ranges: HashMap<String, Vec<MembershipRange>> = HashMap::new();
        for r in list {
            ranges.entry(r.conversation_id.clone()).or_default().push(r);
        }
        Visibility { own_stream, ranges }
    }

    fn allows(&self, event: &RecordedEvent) -> bool {
        if event.stream == self.own_stream {
            return true;
        }
        event
            .stream
            .strip_prefix("conversation-")
            .and_then(|id| self.ranges.get(id))
            .is_some_and(|rs| rs.iter().any(|r| r.covers(event.version)))
    }
}

/// What one request read from the log.
struct Scan {
    /// The caller's events, in log order.
    picked: Vec<RecordedEvent>,
    /// The last position looked at (the request's `since` if none).
    last: Position,
    has_more: bool,
}

/// Reads the log after `after` up to `horizon`, keeping what `filter` allows, until `limit`
/// events are kept, [`MAX_SCANNED`] are looked at, or the end is reached.
async fn scan(
    app: &App,
    filter: &Visibility,
    after: Position,
    horizon: Position,
    limit: usize,
) -> AppResult<Scan> {
    let mut scan = Scan {
        picked: Vec::new(),
        last: after,
        has_more: false,
    };
    let mut scanned = 0;
    while scan.last < horizon {
        if scanned >= MAX_SCANNED {
            scan.has_more = true;
            break;
        }
        let want = READ_BATCH.min(MAX_SCANNED - scanned);
        let batch = app.store.read_all(scan.last, want).await?;
        let complete = batch.len() == want;
        for event in batch {
            if event.position > horizon {
                return Ok(scan);
            }
            scanned += 1;
            scan.last = event.position;
            if filter.allows(&event) {
                scan.picked.push(event);
                if scan.picked.len() >= limit {
                    scan.has_more = true;
                    return Ok(scan);
                }
            }
        }
        if !complete {
            break;
        }
    }
    Ok(scan)
}

/// The wire form of a decoded event.
fn sync_event(env: Envelope) -> AppResult<SyncEvent> {
    let cursor = cursor::encode(env.position);
    let (kind, conversation_id, seq, data) = match env.event {
        DomainEvent::Conversation { id, event } => (
            event.event_type(),
            Some(id.to_string()),
            Some(env.version),
            opened(event)?,
        ),
        DomainEvent::User { event, .. } => {
            let kind = event.event_type();
            let data = opened(event)?;
            let conversation_id = data
                .get("conversationId")
                .and_then(Value::as_str)
                .map(str::to_string);
            (kind, conversation_id, None, data)
        }
    };
    Ok(SyncEvent {
        cursor,
        kind: kind.to_string(),
        conversation_id,
        seq,
        occurred_at: env.occurred_at,
        data,
    })
}

/// What stands in the feed for an event that could not be decoded (the live hub pushes the
/// same `EventUnavailable`): its place, type and why, so a client sees no gap and loses
/// nothing else.
fn unavailable_event(u: Undecodable) -> SyncEvent {
    tracing::error!(stream = %u.stream, version = u.version, error = %u.error,
        "an event of the feed could not be decoded");
    let conversation_id = u.stream.strip_prefix("conversation-").map(str::to_string);
    SyncEvent {
        cursor: cursor::encode(u.position),
        kind: "EventUnavailable".to_string(),
        seq: conversation_id.as_ref().map(|_| u.version),
        conversation_id,
        occurred_at: u.occurred_at,
        data: serde_json::json!({
            "eventType": u.event_type,
            "code": "event_unavailable",
            "detail": "this event could not be read; the rest of the feed is unaffected",
        }),
    }
}

/// `event` as JSON with its personal fields as plain strings (`null` when erased or still
/// sealed) instead of the stored `{"clear": …}` wrappers.
fn opened<T: Serialize + PersonalData>(mut event: T) -> AppResult<Value> {
    // Mark unreadable fields so they can be told from text that reads "erased".
    if let Some((_, fields)) = event.personal_fields() {
        for field in fields {
            if !field.is_clear() {
                *field = PersonalText::Sealed(String::new());
            }
        }
    }
    let mut data = serde_json::to_value(&event).map_err(AppError::internal)?;
    unwrap_personal(&mut data);
    Ok(data)
}

/// Replaces `{"clear": "text"}` by `"text"` and `{"sealed": …}` by `null`, anywhere.
fn unwrap_personal(value: &mut Value) {
    match value {
        Value::Object(map) if map.len() == 1 => {
            if let Some(Value::String(text)) = map.get("clear") {
                *value = Value::String(text.clone());
            } else if map.contains_key("sealed") {
                *value = Value::Null;
            } else {
                map.values_mut().for_each(unwrap_personal);
            }
        }
        Value::Object(map) => map.values_mut().for_each(unwrap_personal),
        Value::Array(items) => items.iter_mut().for_each(unwrap_personal),
        _ => {}
    }
}

impl App {
    /// One page of `actor`'s change feed after the cursor `since` (none: from the start), at
    /// most `limit` events (default 100, 1–500): the REST feed and the hub's `Sync`.
    pub async fn sync(
        &self,
        actor: &Actor,
        since: Option<&str>,
        limit: Option<u32>,
    ) -> AppResult<SyncPage> {
        sync_page(self, actor, since, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_wrappers_are_opened() {
        let mut v = serde_json::json!({
            "content": {"clear": "hi"},
            "attachments": [{"name": {"sealed": "xx"}, "size": 3}],
            "by": "alice"
        });
        unwrap_personal(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"content": "hi", "attachments": [{"name": null, "size": 3}], "by": "alice"})
        );
    }
}
