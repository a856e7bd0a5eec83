//! Ephemeral signals over the hub: typing (`StartTyping`/`StopTyping`, `UserTyping` pushes,
//! automatic stop) and presence (`UpdatePresence`, online/offline with a grace period,
//! `PresenceChanged` to users who share a conversation) and calls (`InitiateCall`, accept,
//! reject, end, WebRTC relays, missed calls after [`CALL_RING_TIMEOUT`], which leave a
//! `call.missed` system message in the conversation).
//!
//! Typing and presence go through `state.signals` only: a relay task (one per `Signals`,
//! started by the first hub connection) turns every typing signal — from the hub or from
//! REST — into a `UserTyping` push to the conversation's group except the typer's own
//! connections, and schedules the automatic stop [`TYPING_TTL`] after the last start; and
//! every presence change — hub `UpdatePresence`, REST `presence/update`, a first connection,
//! the end of a last connection's grace — into a `PresenceChanged` push to the users who
//! share a conversation with its user, in the order the changes were made.
//!
//! Calls live only in memory (a process-wide map, see [`calls`]): a restart forgets them, and
//! clients then see no `CallEnded`; they are signalling only (media flows peer to peer).
//!
//! Process-wide maps (`static`s) are keyed by the id of the `Signals` they serve, so several
//! servers in one process (tests) do not see each other's state.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use pawpost_domain::{ConversationId, UserId};
use pawpost_signalr::{bind, Connection, Connections, HubError, Outgoing};
use serde_json::{json, Value};
use tokio::sync::broadcast::{self, error::RecvError};

use super::{group, hub_error, MessagingHub};
use crate::auth::Caller;
use crate::dto::ids::conversation_id;
use crate::signals::{Presence, PresenceStatus, Signals, TypingSignal, TYPING_TTL};
use crate::AppState;

/// How long a user without connections stays online (a reconnect within it is not seen as
/// going offline and back).
pub const OFFLINE_GRACE: Duration = Duration::from_secs(2);

/// Longest status line accepted from `UpdatePresence`, in characters (as REST).
const MAX_STATUS_MESSAGE_CHARS: usize = 200;

/// Identifies the `Signals` a process-wide entry belongs to.
type SignalsKey = u64;

/// The key of `signals` in the process-wide maps (never reused, so a relay still winding
/// down for a dropped server cannot be mistaken for the relay of a new one).
fn key(signals: &Arc<Signals>) -> SignalsKey {
    signals.id()
}

/// `Signals` whose relay runs (removed when the relay ends).
fn relays() -> &'static Mutex<HashSet<SignalsKey>> {
    static RELAYS: OnceLock<Mutex<HashSet<SignalsKey>>> = OnceLock::new();
    RELAYS.get_or_init(Mutex::default)
}

/// The generation of the latest typing start per (signals, conversation, user): an automatic
/// stop fires only if no start came after the one that scheduled it.
type TypingTimers = HashMap<(SignalsKey, String, String), u64>;

/// The pending automatic stops.
fn typing_timers() -> &'static Mutex<TypingTimers> {
    static TIMERS: OnceLock<Mutex<TypingTimers>> = OnceLock::new();
    TIMERS.get_or_init(Mutex::default)
}

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

/// Answers `target` (lower-cased in `lower`) if it is one of these methods; `None` otherwise.
pub(super) async fn invoke(
    hub: &MessagingHub,
    connection: &Connection<Caller>,
    lower: &str,
    target: &str,
    arguments: &[Value],
) -> Option<Result<Option<Value>, HubError>> {
    let answer = match lower {
        "starttyping" => typing(hub, connection, target, arguments, true).await,
        "stoptyping" => typing(hub, connection, target, arguments, false).await,
        "updatepresence" => update_presence(hub, connection, target, arguments).await,
        "initiatecall" => initiate_call(hub, connection, target, arguments).await,
        "acceptcall" => call_answer(hub, connection, target, arguments, CallAnswer::Accept).await,
        "rejectcall" => call_answer(hub, connection, target, arguments, CallAnswer::Reject).await,
        "endcall" => call_answer(hub, connection, target, arguments, CallAnswer::End).await,
        "sendoffer" => relay_signal(hub, connection, target, arguments, "ReceiveOffer").await,
        "sendanswer" => relay_signal(hub, connection, target, arguments, "ReceiveAnswer").await,
        "sendicecandidate" => {
            relay_signal(hub, connection, target, arguments, "ReceiveIceCandidate").await
        }
        _ => return None,
    };
    Some(answer)
}

/// `StartTyping(conversationId)` / `StopTyping(conversationId)`: participants only.
async fn typing(
    hub: &MessagingHub,
    connection: &Connection<Caller>,
    target: &str,
    arguments: &[Value],
    start: bool,
) -> Result<Option<Value>, HubError> {
    let (raw,): (String,) = bind(target, arguments.to_vec())?;
    let conversation: ConversationId = conversation_id(&raw).map_err(hub_error)?;
    let caller = &connection.user;
    hub.state
        .app
        .require_participant(caller, conversation)
        .await
        .map_err(hub_error)?;
    ensure_relay(&hub.state, &hub.connections);
    if start {
        hub.state.signals.start_typing(conversation, &caller.id);
    } else {
        hub.state.signals.stop_typing(conversation, &caller.id);
    }
    Ok(None)
}

/// `UpdatePresence(status, statusMessage?)`: sets the caller's presence and tells the users
/// who share a conversation with them.
async fn update_presence(
    hub: &MessagingHub,
    connection: &Connection<Caller>,
    target: &str,
    arguments: &[Value],
) -> Result<Option<Value>, HubError> {
    let mut arguments = arguments.to_vec();
    if arguments.len() == 1 {
        // The status line is optional.
        arguments.push(Value::Null);
    }
    let (status, message): (String, Option<String>) = bind(target, arguments)?;
    let status: PresenceStatus =
        serde_json::from_value(Value::String(status.clone())).map_err(|_| {
            HubError::new(format!(
                "status must be online, away, busy or offline, not '{status}' (validation_failed)"
            ))
        })?;
    let message = message
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty());
    if let Some(m) = &message {
        if m.chars().count() > MAX_STATUS_MESSAGE_CHARS || m.contains('\n') {
            return Err(HubError::new(format!(
                "statusMessage must be one line of at most {MAX_STATUS_MESSAGE_CHARS} characters (validation_failed)"
            )));
        }
    }
    ensure_relay(&hub.state, &hub.connections);
    let presence = hub
        .state
        .signals
        .set_presence(&connection.user.id, status, message);
    let answer = serde_json::to_value(&presence).map_err(|e| HubError::new(e.to_string()))?;
    Ok(Some(answer))
}

/// A connection finished its handshake (after it joined its conversation groups): starts the
/// typing relay if needed; a user's first connection makes them online.
pub(super) async fn connected(hub: &MessagingHub, connection: &Connection<Caller>) {
    ensure_relay(&hub.state, &hub.connections);
    let user = &connection.user.id;
    if hub.connections.user_count(user.as_str()) == 1 {
        let previous = hub.state.signals.presence(user);
        hub.state
            .signals
            .set_presence(user, PresenceStatus::Online, previous.status_message);
    }
}

/// A connection closed: after the user's last one, and [`OFFLINE_GRACE`] without a new one,
/// they go offline (with their last-seen time).
pub(super) async fn disconnected(hub: &MessagingHub, connection: &Connection<Caller>) {
    let user = connection.user.id.clone();
    if hub.connections.user_count(user.as_str()) > 0 {
        return;
    }
    let (signals, connections) = (hub.state.signals.clone(), hub.connections.clone());
    tokio::spawn(async move {
        tokio::time::sleep(OFFLINE_GRACE).await;
        if connections.user_count(user.as_str()) > 0 {
            return;
        }
        let previous = signals.presence(&user);
        if previous.status == PresenceStatus::Offline {
            // Another grace period (or the user) already took them offline.
            return;
        }
        signals.set_presence(&user, PresenceStatus::Offline, previous.status_message);
    });
}

/// Pushes `PresenceChanged` to the groups of `user`'s active conversations, except `user`'s
/// own connections.
async fn push_presence(app: &pawpost_app::App, connections: &Connections, presence: &Presence) {
    let Ok(user) = UserId::parse(presence.user_id.as_str()) else {
        return;
    };
    let conversations = app.active_conversations(&user).await;
    let conversations = match conversations {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "reading conversations for a presence push failed");
            return;
        }
    };
    let payload = match serde_json::to_value(presence) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "encoding a presence push failed");
            return;
        }
    };
    let message = Outgoing::invocation("PresenceChanged", vec![payload]);
    for conversation in conversations {
        connections.send_to_group_except_user(&group(&conversation), &message, user.as_str());
    }
}

/// Starts the relay of `state.signals` unless it runs (it subscribes before returning, so
/// no signal sent after this call is missed).
fn ensure_relay(state: &AppState, connections: &Connections) {
    let signals = &state.signals;
    let k = key(signals);
    if !relays().lock().unwrap_or_else(|p| p.into_inner()).insert(k) {
        return;
    }
    let relay = Relay {
        typing: signals.subscribe_typing(),
        presence: signals.subscribe_presence(),
        signals: Arc::downgrade(signals),
        app: state.app.clone(),
        connections: connections.clone(),
        key: k,
    };
    tokio::spawn(relay.run());
}

/// The relay of one `Signals`: holds only a weak reference to it so it never keeps a server
/// alive, and ends when it is dropped.
struct Relay {
    typing: broadcast::Receiver<TypingSignal>,
    presence: broadcast::Receiver<Presence>,
    signals: Weak<Signals>,
    app: pawpost_app::App,
    connections: Connections,
    key: SignalsKey,
}

impl Relay {
    /// Relays typing signals as `UserTyping` pushes (scheduling automatic stops) and presence
    /// changes as `PresenceChanged` pushes.
    async fn run(mut self) {
        loop {
            tokio::select! {
                typing = self.typing.recv() => match typing {
                    Ok(signal) => {
                        push_typing(&self.connections, &signal);
                        schedule_stop(&self.signals, self.key, &signal);
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "the typing relay missed signals");
                    }
                    Err(RecvError::Closed) => break,
                },
                presence = self.presence.recv() => match presence {
                    Ok(presence) => {
                        push_presence(&self.app, &self.connections, &presence).await;
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "the presence relay missed changes");
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
        self.finish();
    }

    /// Lets the next hub connection start a new relay.
    fn finish(&self) {
        relays()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

/// Pushes `UserTyping` to the conversation's group except the typer's connections.
fn push_typing(connections: &Connections, signal: &TypingSignal) {
    let message = Outgoing::invocation(
        "UserTyping",
        vec![json!({
            "conversationId": signal.conversation_id,
            "userId": signal.user_id,
            "isTyping": signal.typing,
        })],
    );
    connections.send_to_group_except_user(
        &group(&signal.conversation_id),
        &message,
        &signal.user_id,
    );
}

/// A start (re)schedules the automatic stop [`TYPING_TTL`] later; a stop cancels it.
fn schedule_stop(signals: &Weak<Signals>, k: SignalsKey, signal: &TypingSignal) {
    let entry = (k, signal.conversation_id.clone(), signal.user_id.clone());
    let mut timers = typing_timers().lock().unwrap_or_else(|p| p.into_inner());
    if !signal.typing {
        timers.remove(&entry);
        return;
    }
    static GENERATION: AtomicU64 = AtomicU64::new(0);
    let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
    timers.insert(entry.clone(), generation);
    drop(timers);
    let signals = signals.clone();
    tokio::spawn(async move {
        tokio::time::sleep(TYPING_TTL).await;
        {
            let mut timers = typing_timers().lock().unwrap_or_else(|p| p.into_inner());
            if timers.get(&entry) != Some(&generation) {
                return;
            }
            timers.remove(&entry);
        }
        let Some(signals) = signals.upgrade() else {
            return;
        };
        let (_, conversation, user) = entry;
        let (Ok(conversation), Ok(user)) =
            (conversation_id(&conversation), UserId::parse(user.as_str()))
        else {
            return;
        };
        if !signals.is_typing(conversation, &user) {
            signals.stop_typing(conversation, &user);
        }
    });
}

/// `InitiateCall(conversationId, callType)`: a participant rings the others of a
/// conversation (`IncomingCall`); answers `{callId}`. Unanswered, it ends as `missed`.
async fn initiate_call(
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
enum CallAnswer {
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
async fn call_answer(
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
async fn relay_signal(
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
