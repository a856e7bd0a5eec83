//! The live dispatcher: follows the event log from where it stood at start and pushes each
//! conversation event, rendered and serialized once, to the connections of the conversation's
//! participants, in log order (so in per-conversation order); every push carries the event's
//! `seq` (stream version) and `cursor` (log position) so a client can resume with `Sync`.
//! Membership events move connections in and out of the conversation's group: a conversation
//! created or joined after connecting is delivered without reconnecting, and a departed
//! participant stops receiving at once.

use std::time::Duration;

use pawpost_codec::Reveal;
use pawpost_domain::ConversationEvent as E;
use pawpost_projections::envelope::{decode_each, DomainEvent, Envelope, Undecodable};
use pawpost_signalr::{Connections, Outgoing};
use pawpost_store::RecordedEvent;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::group;
use crate::AppState;

/// Decoding attempts of a batch whose keys could not be read (the database out of reach)
/// before its events are pushed as unavailable.
const DECODE_TRIES: u32 = 3;

/// Starts the dispatcher on the process's shared log reader, from the head of the log now; it
/// runs until `stop` turns true.
pub fn spawn_dispatcher(
    state: AppState,
    connections: Connections,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let head = *state.store.appended().borrow();
        let mut reader = state.feed.reader(head);
        loop {
            let batch = tokio::select! {
                b = reader.next() => b,
                _ = stop.changed() => return,
            };
            let events = match batch {
                Ok(events) => events,
                Err(e) => {
                    tracing::error!(error = %e, "the live dispatcher could not read the log; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(200)) => continue,
                        _ = stop.changed() => return,
                    }
                }
            };
            let refs: Vec<&RecordedEvent> = events
                .iter()
                .filter(|e| e.stream.starts_with("conversation-"))
                .collect();
            for decoded in decode(&state, &refs).await {
                match decoded {
                    Ok(env) => dispatch(&connections, &env),
                    Err(u) => unavailable(&connections, &u),
                }
            }
        }
    })
}

/// Decodes a batch event by event; a batch whose keys could not be read is tried again a few
/// times before its events count as unavailable.
async fn decode(state: &AppState, refs: &[&RecordedEvent]) -> Vec<Result<Envelope, Undecodable>> {
    let mut tries = 1;
    loop {
        let decoded = decode_each(&state.codec, refs, Reveal::Content).await;
        let transient = decoded.iter().any(|d| matches!(d, Err(u) if u.transient));
        if !transient || tries >= DECODE_TRIES {
            return decoded;
        }
        tokio::time::sleep(Duration::from_millis(100 << tries)).await;
        tries += 1;
    }
}

/// Pushes `EventUnavailable` in place of an event that could not be decoded: the event's
/// `seq` and `cursor` still reach the clients (no gap that sends them syncing for nothing),
/// and no other event loses its push.
fn unavailable(connections: &Connections, u: &Undecodable) {
    tracing::error!(stream = %u.stream, version = u.version, event_type = %u.event_type,
        error = %u.error, "an event could not be decoded; pushed as unavailable");
    let Some(conversation) = u.stream.strip_prefix("conversation-") else {
        return;
    };
    let payload = json!({
        "conversationId": conversation,
        "seq": u.version,
        "cursor": crate::cursor::encode(u.position),
        "eventType": u.event_type,
        "code": "event_unavailable",
        "detail": "this event could not be read; the rest of the conversation is unaffected",
    });
    connections.send_to_group(
        &group(conversation),
        &Outgoing::invocation("EventUnavailable", vec![payload]),
        None,
    );
}

/// Pushes one event.
fn dispatch(connections: &Connections, env: &Envelope) {
    let DomainEvent::Conversation { id, event } = &env.event else {
        return;
    };
    let conversation = id.to_string();
    let group = group(&conversation);
    let seq = env.version;
    let cursor = crate::cursor::encode(env.position);
    let base = |mut payload: Value| {
        payload["conversationId"] = json!(conversation);
        payload["seq"] = json!(seq);
        payload["cursor"] = json!(cursor);
        payload
    };
    let push = |target: &str, payload: Value| Outgoing::invocation(target, vec![payload]);
    match event {
        E::ConversationCreated { participants, .. } => {
            for p in participants {
                connections.add_user_to_group(p.user_id.as_str(), &group);
            }
            connections.send_to_group(
                &group,
                &push("ConversationUpdated", base(json!({"event": "created"}))),
                None,
            );
        }
        E::ParticipantsAdded { user_ids, .. } => {
            for u in user_ids {
                connections.add_user_to_group(u.as_str(), &group);
            }
            let users: Vec<&str> = user_ids.iter().map(|u| u.as_str()).collect();
            connections.send_to_group(
                &group,
                &push("ParticipantsChanged", base(json!({"added": users}))),
                None,
            );
        }
        E::ParticipantRemoved { user_id, .. } | E::ParticipantLeft { user_id, .. } => {
            connections.send_to_group(
                &group,
                &push(
                    "ParticipantsChanged",
                    base(json!({"removed": [user_id.as_str()]})),
                ),
                None,
            );
            connections.remove_user_from_group(user_id.as_str(), &group);
        }
        E::MessageSent {
            message_id,
            sender_id,
            kind,
            content,
            attachments,
            location,
            reply_to,
            mentions,
            temp_id,
            system_type,
            at,
            ..
        } => {
            let message = json!({
                "id": message_id.to_string(),
                "conversationId": conversation,
                "seq": seq,
                "senderId": sender_id.as_str(),
                "type": kind,
                "content": content.as_clear(),
                "attachments": pawpost_projections::render::attachments(attachments),
                "location": location.as_ref().map(pawpost_projections::render::location),
                "parentMessageId": reply_to.map(|r| r.to_string()),
                "mentions": mentions,
                "tempId": temp_id,
                "systemMessageType": system_type,
                "createdAt": at,
            });
            let payload = base(json!({"message": message, "tempId": temp_id}));
            connections.send_to_group(&group, &push("ReceiveMessage", payload), None);
            connections.send_to_group(
                &group,
                &push(
                    "ConversationUpdated",
                    base(json!({"lastMessage": message, "lastMessageAt": at})),
                ),
                None,
            );
        }
        E::MessageEdited {
            message_id,
            content,
            at,
            ..
        } => {
            let payload = base(json!({"messageId": message_id.to_string(),
                "content": content.as_clear(), "editedAt": at}));
            connections.send_to_group(&group, &push("MessageEdited", payload), None);
        }
        E::MessageDeleted { message_id, by, at } => {
            let payload = base(json!({"messageId": message_id.to_string(),
                "deletedBy": by.as_str(), "deletedAt": at}));
            connections.send_to_group(&group, &push("MessageDeleted", payload), None);
        }
        E::ReactionAdded {
            message_id,
            user_id,
            reaction,
            ..
        }
        | E::ReactionRemoved {
            message_id,
            user_id,
            reaction,
            ..
        } => {
            let target = if matches!(event, E::ReactionAdded { .. }) {
                "ReactionAdded"
            } else {
                "ReactionRemoved"
            };
            let payload = base(json!({"messageId": message_id.to_string(),
                "userId": user_id.as_str(), "reaction": reaction.to_string()}));
            connections.send_to_group(&group, &push(target, payload), None);
        }
        E::MessagesRead {
            user_id,
            message_id,
            up_to_seq,
            ..
        } => {
            let payload = base(json!({"userId": user_id.as_str(),
                "lastReadMessageId": message_id.to_string(), "upToSeq": up_to_seq}));
            connections.send_to_group_except_user(
                &group,
                &push("MessagesRead", payload),
                user_id.as_str(),
            );
        }
        _ => {}
    }
}
