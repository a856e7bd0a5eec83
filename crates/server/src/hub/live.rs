//! Ephemeral signals over the hub: typing (`StartTyping`/`StopTyping`, `UserTyping` pushes,
//! automatic stop) and presence (`UpdatePresence`, online/offline with a grace period,
//! `PresenceChanged` to users who share a conversation); calls are in `calls.rs`.
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

use super::calls::{self, CallAnswer};
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
pub(super) type SignalsKey = u64;

/// The key of `signals` in the process-wide maps (never reused, so a relay still winding
/// down for a dropped server cannot be mistaken for the relay of a new one).
pub(super) fn key(signals: &Arc<Signals>) -> SignalsKey {
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
        "initiatecall" => calls::initiate_call(hub, connection, target, arguments).await,
        "acceptcall" => calls::answer(hub, connection, target, arguments, CallAnswer::Accept).await,
        "rejectcall" => calls::answer(hub, connection, target, arguments, CallAnswer::Reject).await,
        "endcall" => calls::answer(hub, connection, target, arguments, CallAnswer::End).await,
        "sendoffer" => {
            calls::relay_signal(hub, connection, target, arguments, "ReceiveOffer").await
        }
        "sendanswer" => {
            calls::relay_signal(hub, connection, target, arguments, "ReceiveAnswer").await
        }
        "sendicecandidate" => {
            calls::relay_signal(hub, connection, target, arguments, "ReceiveIceCandidate").await
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
