//! The closed sets of the model: conversation kinds, message kinds, roles, notification levels.

use serde::{Deserialize, Serialize};

/// What a conversation is for; it decides which rules apply (a direct one has no admins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationKind {
    /// Exactly two users; id derived from the pair.
    Direct,
    /// Any number of users with an owner and admins.
    Group,
    /// Belongs to a marketplace booking; id derived from the booking.
    Booking,
    /// Platform-initiated (announcements, support).
    System,
}

/// What a message carries; it decides which parts are required.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// Text; the body is required.
    Text,
    /// At least one attachment (usually images); the body is an optional caption.
    Image,
    /// At least one attachment (documents).
    File,
    /// At least one attachment (voice notes).
    Audio,
    /// A location is required.
    Location,
    /// Automated (booking updates, "Alice added Bob"); never edited.
    System,
}

/// A participant's power in a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads and writes.
    Member,
    /// Also manages details, participants and others' messages.
    Admin,
    /// Also manages roles; exactly one per group while it has members.
    Owner,
}

impl Role {
    /// Whether this role may manage the conversation (details, participants, others' messages).
    pub fn can_moderate(self) -> bool {
        matches!(self, Role::Admin | Role::Owner)
    }
}

/// Which notifications a user still gets from a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotificationLevel {
    /// Every message.
    All,
    /// Only messages that mention the user.
    Mentions,
    /// Nothing.
    None,
}
