//! Ephemeral real-time signals: who is typing where, and who is online. In-process and never
//! stored (they are worthless a few seconds later): the REST endpoints feed them and read
//! them; the SignalR hub subscribes to the broadcasts and relays them to connected clients.
//!
//! Typing expires on its own: a `typing.start` not refreshed within [`TYPING_TTL`] no longer
//! counts (checked against the clock on every read, so no background task is needed).
//! Presence is a map user → status; users never seen are `offline`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use pawpost_domain::{ConversationId, UserId};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use utoipa::ToSchema;

/// How long a `typing.start` counts without being refreshed (clients refresh every few
/// seconds while the user types, as Stream Chat and Sendbird clients do).
pub const TYPING_TTL: Duration = Duration::from_secs(6);

/// Signals buffered per subscriber before a slow one starts missing them.
const CHANNEL_CAPACITY: usize = 1024;

/// A user started or stopped typing in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypingSignal {
    /// Where.
    pub conversation_id: String,
    /// Who.
    pub user_id: String,
    /// `true` for a start (or refresh), `false` for a stop.
    pub typing: bool,
}

/// What a user says about their availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PresenceStatus {
    Online,
    Away,
    Busy,
    #[default]
    Offline,
}

/// A user's presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Presence {
    /// Whose.
    pub user_id: String,
    /// Their status (`offline` for users never seen).
    pub status: PresenceStatus,
    /// Their free-text status line, if they set one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// When they last updated their presence (absent for users never seen).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
}

/// Typing and presence state with their broadcasts.
#[derive(Debug)]
pub struct Signals {
    id: u64,
    typing: Mutex<HashMap<(ConversationId, UserId), Instant>>,
    presence: Mutex<HashMap<UserId, Presence>>,
    typing_tx: broadcast::Sender<TypingSignal>,
    presence_tx: broadcast::Sender<Presence>,
}

impl Default for Signals {
    fn default() -> Self {
        Self::new()
    }
}

impl Signals {
    /// Empty state: nobody types, everybody is offline.
    pub fn new() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Signals {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            typing: Mutex::default(),
            presence: Mutex::default(),
            typing_tx: broadcast::channel(CHANNEL_CAPACITY).0,
            presence_tx: broadcast::channel(CHANNEL_CAPACITY).0,
        }
    }

    /// Unique in the process (never reused, unlike an address): keys process-wide state
    /// kept for this instance.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Typing signals from now on (starts, refreshes and stops).
    pub fn subscribe_typing(&self) -> broadcast::Receiver<TypingSignal> {
        self.typing_tx.subscribe()
    }

    /// Presence changes from now on.
    pub fn subscribe_presence(&self) -> broadcast::Receiver<Presence> {
        self.presence_tx.subscribe()
    }

    /// `user` types in `conversation` (a start or a refresh: every call is broadcast so that
    /// clients keep their own indicator alive).
    pub fn start_typing(&self, conversation: ConversationId, user: &UserId) -> TypingSignal {
        {
            let mut typing = self.typing.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            typing.retain(|_, started| now.duration_since(*started) < TYPING_TTL);
            typing.insert((conversation, user.clone()), now);
        }
        self.send_typing(conversation, user, true)
    }

    /// `user` stopped typing in `conversation` (broadcast even if the start had expired:
    /// clients may have missed the expiry).
    pub fn stop_typing(&self, conversation: ConversationId, user: &UserId) -> TypingSignal {
        self.typing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(conversation, user.clone()));
        self.send_typing(conversation, user, false)
    }

    /// Whether `user` typed in `conversation` within the last [`TYPING_TTL`].
    pub fn is_typing(&self, conversation: ConversationId, user: &UserId) -> bool {
        self.is_typing_at(conversation, user, Instant::now())
    }

    /// Whether `user` counts as typing in `conversation` at `now`.
    fn is_typing_at(&self, conversation: ConversationId, user: &UserId, now: Instant) -> bool {
        self.typing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(conversation, user.clone()))
            .is_some_and(|started| now.saturating_duration_since(*started) < TYPING_TTL)
    }

    /// Who is typing in `conversation` now, sorted by user id.
    pub fn typing_in(&self, conversation: ConversationId) -> Vec<UserId> {
        let mut users: Vec<UserId> = self
            .typing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|((c, _), started)| *c == conversation && started.elapsed() < TYPING_TTL)
            .map(|((_, u), _)| u.clone())
            .collect();
        users.sort();
        users
    }

    fn send_typing(
        &self,
        conversation: ConversationId,
        user: &UserId,
        typing: bool,
    ) -> TypingSignal {
        let signal = TypingSignal {
            conversation_id: conversation.to_string(),
            user_id: user.to_string(),
            typing,
        };
        // No subscriber is not an error: nobody is listening yet.
        let _ = self.typing_tx.send(signal.clone());
        signal
    }

    /// Sets `user`'s presence (now is their last-seen time) and broadcasts it.
    pub fn set_presence(
        &self,
        user: &UserId,
        status: PresenceStatus,
        status_message: Option<String>,
    ) -> Presence {
        let presence = Presence {
            user_id: user.to_string(),
            status,
            status_message,
            last_seen: Some(Utc::now()),
        };
        self.presence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(user.clone(), presence.clone());
        let _ = self.presence_tx.send(presence.clone());
        presence
    }

    /// `user`'s presence; `offline` without last-seen time if they never set one.
    pub fn presence(&self, user: &UserId) -> Presence {
        self.presence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(user)
            .cloned()
            .unwrap_or_else(|| Presence {
                user_id: user.to_string(),
                status: PresenceStatus::Offline,
                status_message: None,
                last_seen: None,
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn typing_is_broadcast_and_stops() {
        let signals = Signals::new();
        let mut rx = signals.subscribe_typing();
        let conv = ConversationId::from_uuid(uuid::Uuid::now_v7());
        let alice = UserId::parse("alice").unwrap();
        signals.start_typing(conv, &alice);
        assert!(signals.is_typing(conv, &alice));
        assert_eq!(signals.typing_in(conv), vec![alice.clone()]);
        assert!(rx.try_recv().unwrap().typing);
        signals.stop_typing(conv, &alice);
        assert!(!signals.is_typing(conv, &alice));
        assert!(!rx.try_recv().unwrap().typing);
    }

    #[test]
    fn typing_expires_without_refresh() {
        let signals = Signals::new();
        let conv = ConversationId::from_uuid(uuid::Uuid::now_v7());
        let alice = UserId::parse("alice").unwrap();
        signals.start_typing(conv, &alice);
        let later = Instant::now() + TYPING_TTL + Duration::from_millis(1);
        assert!(!signals.is_typing_at(conv, &alice, later));
    }

    #[test]
    fn unknown_users_are_offline() {
        let signals = Signals::new();
        let bob = UserId::parse("bob").unwrap();
        assert_eq!(signals.presence(&bob).status, PresenceStatus::Offline);
        assert_eq!(signals.presence(&bob).last_seen, None);
        signals.set_presence(&bob, PresenceStatus::Busy, Some("walking dogs".into()));
        assert_eq!(signals.presence(&bob).status, PresenceStatus::Busy);
    }
}
