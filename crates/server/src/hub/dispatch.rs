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
use pawpost_projections::envelope::{decode_batch, DomainEvent, Envelope};
use pawpost_signalr::{Connections, Outgoing};
use pawpost_store::Subscription;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::group;
use crate::AppState;

/// Events read per batch.
const BATCH: usize = 500;

/// Starts the dispatcher; it runs until `stop` turns true.
pub fn spawn_dispatcher(
    state: AppState,
    connections: Connections,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut from = *state.store.appended().borrow();
        loop {
            let mut sub = Subscription::new(state.store.clone(), from).with_batch_size(BATCH);
            loop {
                let batch = tokio::select! {
                    b = sub.next_batch() => b,
                    _ = stop.changed() => return,
                };
                let events = match batch {
                    Ok(events) => events,
                    Err(e) => {
                        tracing::error!(error = %e, "the live dispatcher lost the log; resuming");
                        break;
                    }
                };
                let Some(last) = events.last().map(|e| e.position) else {
                    continue;
                };
                let refs: Vec<_> = events
                    .iter()
                    .filter(|e| e.stream.starts_with("conversation-"))
                    .collect();
                match decode_batch(&state.codec, &refs, Reveal::Content).await {
                    Ok(decoded) => {
                        for env in &decoded {
                            dispatch(&connections, env);
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "decoding for the live dispatcher failed")
                    }
                }
                from = last;
            }
            if tokio::time::timeout(Duration::from_millis(200), stop.changed())
                .await
                .is_ok()
            {
                return;
            }
        }
    })
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
