//! Calls over the hub (`InitiateCall`, accept, reject, end, WebRTC relays): signalling only
//! (media flows peer to peer). A call unanswered after [`CALL_RING_TIMEOUT`] ends as missed and
//! leaves a `call.missed` system message in the conversation.
//!
//! Calls live only in memory (a process-wide map, see [`calls`]): a restart forgets them, and
//! clients then see no `CallEnded`. The map is keyed by the id of the `Signals` the server
//! uses, so several servers in one process (tests) do not see each other's calls.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use pawpost_domain::ConversationId;
use pawpost_signalr::{bind, Connection, HubError, Outgoing};
use serde_json::{json, Value};

use super::live::{key, SignalsKey};
use super::{group, hub_error, MessagingHub};
use crate::auth::Caller;
use crate::dto::ids::conversation_id;
use crate::AppState;

/// How long a call rings unanswered before it ends as `missed`.
pub const CALL_RING_TIMEOUT: Duration = Duration::from_secs(45);

/// A call being set up or under way.
#[derive(Debug, Clone)]
struct Call {
    /// Where it was placed (its participants may answer).
    conversation: String,
    /// Who placed it.
    from: String,
    /// Who accepted it, once someone did.
    accepted_by: Option<String>,
}

/// Calls per (signals, call id), process-wide: the hub has no per-instance storage of its
/// own, so the key carries the `Signals` of the server the call belongs to.
type Calls = HashMap<(SignalsKey, String), Call>;

/// The calls of every server in the process.
fn calls() -> &'static Mutex<Calls> {
    static CALLS: OnceLock<Mutex<Calls>> = OnceLock::new();
    CALLS.get_or_init(Mutex::default)
}

/// `InitiateCall(conversationId, callType)`: a participant rings the others of a
/// conversation (`IncomingCall`); answers `{callId}`. Unanswered, it ends as `missed`.
pub(super) async fn initiate_call(
    hub: &MessagingHub,
    connection: &Connection<Caller>,
    target: &str,
    arguments: &[Value],
) -> Result<Option<Value>, HubError> {
    let (raw, call_type): (String, String) = bind(target, arguments.to_vec())?;
    let conversation: ConversationId = conversation_id(&raw).map_err(hub_error)?;
    let caller = &connection.user;
    hub.state
        .app
        .require_participant(caller, conversation)
        .await
        .map_err(hub_error)?;
    if call_type != "audio" && call_type != "video" {
        return Err(HubError::new(format!(
            "callType must be audio or video, not '{call_type}' (validation_failed)"
        )));
    }
    let call_id = uuid::Uuid::now_v7().to_string();
    let conversation = conversation.to_string();
    let from = caller.id.to_string();
    let k = key(&hub.state.signals);
    calls().lock().unwrap_or_else(|p| p.into_inner()).insert(
        (k, call_id.clone()),
        Call {
            conversation: conversation.clone(),
            from: from.clone(),
            accepted_by: None,
        },
    );
    let ring = Outgoing::invocation(
        "IncomingCall",
        vec![json!({
            "callId": call_id,
            "conversationId": conversation,
            "from": from,
            "callType": call_type,
        })],
    );
    hub.connections
        .send_to_group_except_user(&group(&conversation), &ring, &from);
    let (connections, id) = (hub.connections.clone(), call_id.clone());
    let (state, caller, kind) = (hub.state.clone(), caller.clone(), call_type.clone());
    tokio::spawn(async move {
        tokio::time::sleep(CALL_RING_TIMEOUT).await;
        let missed = {
            let mut calls = calls().lock().unwrap_or_else(|p| p.into_inner());
            match calls.get(&(k, id.clone())) {
                Some(call) if call.accepted_by.is_none() => calls.remove(&(k, id.clone())),
                _ => None,
            }
        };
        if let Some(call) = missed {
            let ended = Outgoing::invocation(
                "CallEnded",
                vec![
                    json!({"callId": id, "conversationId": call.conversation, "reason": "missed"}),
                ],
            );
            connections.send_to_group(&group(&call.conversation), &ended, None);
            post_missed_call(&state, &caller, &call.conversation, &id, &kind).await;
        }
    });
    Ok(Some(json!({ "callId": call_id })))
}

/// Leaves a `call.missed` system message ("Missed video call") in the conversation, in the
/// caller's name, so the history shows it and offline participants see it when they return.
/// Its command id is derived from the call: posted once even if this ran twice.
async fn post_missed_call(
    state: &AppState,
    caller: &Caller,
    conversation: &str,
    call_id: &str,
    call_type: &str,
) {
    let Ok(conversation) = conversation_id(conversation) else {
        return;
    };
    if let Err(e) = state
        .app
        .record_missed_call(caller, conversation, call_id, call_type)
        .await
    {
        tracing::warn!(error = %e.detail, call_id, "recording a missed call failed");
    }
}

/// What a participant does with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CallAnswer {
    /// `AcceptCall`: picks it up (`CallAccepted`).
    Accept,
    /// `RejectCall`: declines it; the call ends (`CallRejected`).
    Reject,
    /// `EndCall`: hangs up (`CallEnded` with reason `ended`).
    End,
}

/// The call `call_id` of this server if `caller` takes part in its conversation; a
/// `not_found` error otherwise (a call one cannot see is not disclosed).
async fn find_call(hub: &MessagingHub, caller: &Caller, call_id: &str) -> Result<Call, HubError> {
    let not_found = || HubError::new(format!("call {call_id} not found (not_found)"));
    let call = calls()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&(key(&hub.state.signals), call_id.to_string()))
        .cloned()
        .ok_or_else(not_found)?;
    let conversation = conversation_id(&call.conversation).map_err(hub_error)?;
    hub.state
        .app
        .require_participant(caller, conversation)
        .await
        .map_err(|_| not_found())?;
    Ok(call)
}

/// `AcceptCall(callId)`, `RejectCall(callId)`, `EndCall(callId)`: pushed to the
/// conversation's other participants' connections (the caller's included when someone
/// else answers).
pub(super) async fn answer(
    hub: &MessagingHub,
    connection: &Connection<Caller>,
    target: &str,
    arguments: &[Value],
    answer: CallAnswer,
) -> Result<Option<Value>, HubError> {
    let (call_id,): (String,) = bind(target, arguments.to_vec())?;
    let caller = &connection.user;
    let call = find_call(hub, caller, &call_id).await?;
    let me = caller.id.to_string();
    let k = (key(&hub.state.signals), call_id.clone());
    let (event, extra) = match answer {
        CallAnswer::Accept => {
            if call.from == me {
                return Err(HubError::new(
                    "the caller cannot accept their own call (conflict)",
                ));
            }
            let mut calls = calls().lock().unwrap_or_else(|p| p.into_inner());
            match calls.get_mut(&k) {
                Some(c) if c.accepted_by.is_none() => c.accepted_by = Some(me.clone()),
                Some(_) => return Err(HubError::new("the call was already accepted (conflict)")),
                None => {
                    return Err(HubError::new(format!(
                        "call {call_id} not found (not_found)"
                    )))
                }
            }
            ("CallAccepted", None)
        }
        CallAnswer::Reject => {
            calls().lock().unwrap_or_else(|p| p.into_inner()).remove(&k);
            ("CallRejected", None)
        }
        CallAnswer::End => {
            calls().lock().unwrap_or_else(|p| p.into_inner()).remove(&k);
            ("CallEnded", Some("ended"))
        }
    };
    let mut payload = json!({"callId": call_id, "conversationId": call.conversation, "by": me});
    if let Some(reason) = extra {
        payload["reason"] = json!(reason);
    }
    let message = Outgoing::invocation(event, vec![payload]);
    hub.connections
        .send_to_group_except_user(&group(&call.conversation), &message, &me);
    Ok(None)
}

/// `SendOffer/SendAnswer/SendIceCandidate(callId, payload)`: relayed as `event`
/// `{callId, from, payload}` to the other party (the caller's peer: the one who accepted, or
/// every other participant while nobody has).
pub(super) async fn relay_signal(
    hub: &MessagingHub,
    connection: &Connection<Caller>,
    target: &str,
    arguments: &[Value],
    event: &str,
) -> Result<Option<Value>, HubError> {
    let (call_id, payload): (String, Value) = bind(target, arguments.to_vec())?;
    let caller = &connection.user;
    let call = find_call(hub, caller, &call_id).await?;
    let me = caller.id.to_string();
    let message = Outgoing::invocation(
        event,
        vec![json!({"callId": call_id, "from": me, "payload": payload})],
    );
    match (&call.accepted_by, call.from == me) {
        (Some(peer), true) => {
            hub.connections.send_to_user(peer, &message);
        }
        (Some(peer), false) if *peer == me => {
            hub.connections.send_to_user(&call.from, &message);
        }
        (Some(_), false) => {
            return Err(HubError::new(format!(
                "only the two parties of call {call_id} signal it (forbidden)"
            )))
        }
        (None, true) => {
            hub.connections
                .send_to_group_except_user(&group(&call.conversation), &message, &me);
        }
        (None, false) => {
            hub.connections.send_to_user(&call.from, &message);
        }
    }
    Ok(None)
}
