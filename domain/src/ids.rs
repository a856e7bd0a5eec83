//! Typed identifiers, so that a user id can never be passed where a booking id is expected, and
//! the stream names derived from them.
//!
//! String ids are validated on construction *and* on deserialization; UUID ids are plain UUIDs.
//! Direct and booking conversation ids are derived (UUIDv5), which makes creating them idempotent:
//! the same pair of users, or the same booking, always lands on the same stream.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ValidationError, ValidationRule};

/// Namespace of direct conversation ids (UUIDv5 of the sorted user pair). Never change it.
pub const DIRECT_NAMESPACE: Uuid = Uuid::from_u128(0x5b0e_27c4_91d3_4f6a_8e12_7ac0_3d94_b1f5);

/// Namespace of booking conversation ids (UUIDv5 of the booking id). Never change it.
pub const BOOKING_NAMESPACE: Uuid = Uuid::from_u128(0xc27a_9d10_5e4b_4b83_a6f9_12e8_70d5_3c6e);

/// Trims `raw` and checks it is a short, printable token.
fn parse_token(
    field: &'static str,
    raw: &str,
    max: usize,
    allow_spaces: bool,
) -> Result<String, ValidationError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(ValidationError::new(field, ValidationRule::Empty));
    }
    if s.chars().count() > max {
        return Err(ValidationError::new(field, ValidationRule::TooLong { max }));
    }
    if s.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            ValidationRule::ControlCharacter,
        ));
    }
    if !allow_spaces && s.chars().any(char::is_whitespace) {
        return Err(ValidationError::new(field, ValidationRule::Whitespace));
    }
    Ok(s.to_owned())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, field = $field:literal, max = $max:expr, spaces = $spaces:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and builds the id (surrounding whitespace is trimmed).
            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                parse_token($field, raw, $max, $spaces).map($name)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, field = $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID (the edge generates UUIDv7s; the domain never does).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                $name(uuid)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                $name(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map($name)
                    .map_err(|_| ValidationError::new($field, ValidationRule::Format))
            }
        }
    };
}

string_id!(
    /// A user, as the `sub` claim of their token names them. Trimmed, 1–128 characters, no
    /// whitespace or control characters (it becomes part of stream names and data-key ids).
    UserId, field = "userId", max = 128, spaces = false
);

string_id!(
    /// The marketplace booking a booking conversation belongs to. Trimmed, 1–100 characters.
    BookingId, field = "bookingId", max = 100, spaces = true
);

string_id!(
    /// The client's correlation id for a message being sent: a retry with the same tempId by the
    /// same sender is the same message. Trimmed, 1–100 characters.
    TempId, field = "tempId", max = 100, spaces = true
);

uuid_id!(
    /// A conversation; its stream is `conversation-{uuid}`.
    ConversationId, field = "conversationId"
);

uuid_id!(
    /// A message, unique across conversations; also names its data key (`msg-{id}`).
    MessageId, field = "messageId"
);

impl UserId {
    /// The user's private stream: `user-{id}`.
    pub fn stream(&self) -> String {
        format!("user-{}", self.0)
    }
}

impl ConversationId {
    /// The id of the direct conversation between `a` and `b`, the same whichever order they
    /// come in: creating a direct conversation twice returns the same conversation.
    pub fn direct(a: &UserId, b: &UserId) -> Self {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        // A newline cannot occur inside a user id, so the pair encodes unambiguously.
        let name = format!("{lo}\n{hi}");
        ConversationId(Uuid::new_v5(&DIRECT_NAMESPACE, name.as_bytes()))
    }

    /// The id of a booking's conversation: every webhook for one booking lands on one stream.
    pub fn booking(booking: &BookingId) -> Self {
        ConversationId(Uuid::new_v5(
            &BOOKING_NAMESPACE,
            booking.as_str().as_bytes(),
        ))
    }

    /// The conversation's stream: `conversation-{uuid}`.
    pub fn stream(&self) -> String {
        format!("conversation-{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn user_id_rules() {
        assert_eq!(UserId::parse("  alice ").unwrap().as_str(), "alice");
        assert_eq!(UserId::parse("  ").unwrap_err().rule, ValidationRule::Empty);
        assert_eq!(
            UserId::parse("a b").unwrap_err().rule,
            ValidationRule::Whitespace
        );
        assert_eq!(
            UserId::parse("a\u{7}b").unwrap_err().rule,
            ValidationRule::ControlCharacter
        );
        assert!(UserId::parse(&"x".repeat(128)).is_ok());
        assert_eq!(
            UserId::parse(&"x".repeat(129)).unwrap_err().rule,
            ValidationRule::TooLong { max: 128 }
        );
    }

    #[test]
    fn ids_round_trip_through_json_and_deserialization_validates() {
        let u: UserId = serde_json::from_str("\"bob\"").unwrap();
        assert_eq!(serde_json::to_string(&u).unwrap(), "\"bob\"");
        assert!(serde_json::from_str::<UserId>("\"\"").is_err());
        let id = MessageId::from(Uuid::from_u128(7));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<MessageId>(&json).unwrap(), id);
        assert_eq!(json.trim_matches('"').parse::<MessageId>().unwrap(), id);
    }

    #[test]
    fn direct_ids_are_order_independent_and_distinct_per_pair() {
        let (a, b, c) = (
            UserId::parse("a").unwrap(),
            UserId::parse("b").unwrap(),
            UserId::parse("c").unwrap(),
        );
        assert_eq!(
            ConversationId::direct(&a, &b),
            ConversationId::direct(&b, &a)
        );
        assert_ne!(
            ConversationId::direct(&a, &b),
            ConversationId::direct(&a, &c)
        );
        assert_eq!(
            ConversationId::direct(&a, &b).as_uuid().get_version_num(),
            5
        );
    }

    #[test]
    fn booking_ids_are_stable_and_streams_are_named() {
        let b = BookingId::parse("B-17").unwrap();
        let id = ConversationId::booking(&b);
        assert_eq!(
            id,
            ConversationId::booking(&BookingId::parse(" B-17 ").unwrap())
        );
        assert_eq!(id.stream(), format!("conversation-{}", id.as_uuid()));
        assert_eq!(UserId::parse("bob").unwrap().stream(), "user-bob");
    }
}
