//! Personal content inside events, and the hook that lets the store seal and erase it.
//!
//! DESIGN.md §3 "forgettable payloads": message text (and every edited version), location
//! labels, attachment names, draft text and block reasons are encrypted under a data key before
//! append. The domain only marks *which* fields are personal and *which* key protects them; the
//! store does the cryptography by rewriting the [`PersonalText`] values in place.

use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, ValidationRule};

/// A piece of personal content in one of its three lives.
///
/// Commands always carry `Clear` text; the store turns it into `Sealed` ciphertext before append
/// and back into `Clear` when rendering; once its data key is destroyed it renders as `Erased`.
/// `Debug` never prints the text, so events can be logged safely.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PersonalText {
    /// Readable text.
    Clear(String),
    /// Ciphertext (encoding chosen by the store).
    Sealed(String),
    /// The data key is gone: the content is unrecoverable.
    Erased,
}

impl PersonalText {
    /// Wraps readable text.
    pub fn clear(text: impl Into<String>) -> Self {
        PersonalText::Clear(text.into())
    }

    /// The readable text, if this is clear.
    pub fn as_clear(&self) -> Option<&str> {
        match self {
            PersonalText::Clear(text) => Some(text),
            _ => None,
        }
    }

    /// Whether this is readable text.
    pub fn is_clear(&self) -> bool {
        matches!(self, PersonalText::Clear(_))
    }

    /// Whether the content was destroyed.
    pub fn is_erased(&self) -> bool {
        matches!(self, PersonalText::Erased)
    }

    /// The clear text, or [`ValidationRule::NotClear`] naming `field`: commands must carry
    /// clear text so that rules can be checked and the store seals exactly once.
    pub fn require_clear(&self, field: &str) -> Result<&str, ValidationError> {
        self.as_clear()
            .ok_or_else(|| ValidationError::new(field, ValidationRule::NotClear))
    }
}

impl fmt::Debug for PersonalText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersonalText::Clear(text) => write!(f, "Clear(<{} chars>)", text.chars().count()),
            PersonalText::Sealed(text) => write!(f, "Sealed(<{} bytes>)", text.len()),
            PersonalText::Erased => f.write_str("Erased"),
        }
    }
}

/// Gives the store access to an event's personal fields.
pub trait PersonalData {
    /// The data-key id that protects this event's personal fields, and mutable references to
    /// those fields. `None` if the event holds no personal content.
    fn personal_fields(&mut self) -> Option<(String, Vec<&mut PersonalText>)>;
}

/// A fingerprint of clear text (sealed or erased text has none, so never compares equal).
///
/// Lets state recognise a repeat (an edit or draft that changes nothing) without keeping
/// personal text in memory. In-memory only, never stored: the hash is not stable across builds.
pub(crate) fn fingerprint(text: &PersonalText) -> Option<u64> {
    text.as_clear().map(fingerprint_str)
}

/// A fingerprint of a clear string; see [`fingerprint`].
pub(crate) fn fingerprint_str(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn helpers_and_wire_shape() {
        let t = PersonalText::clear("hi");
        assert_eq!(t.as_clear(), Some("hi"));
        assert!(!t.is_erased());
        assert_eq!(serde_json::to_string(&t).unwrap(), r#"{"clear":"hi"}"#);
        assert_eq!(
            serde_json::to_string(&PersonalText::Erased).unwrap(),
            r#""erased""#
        );
        let sealed: PersonalText = serde_json::from_str(r#"{"sealed":"abc"}"#).unwrap();
        assert_eq!(
            sealed.require_clear("body").unwrap_err().rule,
            ValidationRule::NotClear
        );
    }

    #[test]
    fn debug_never_shows_the_text() {
        let shown = format!("{:?}", PersonalText::clear("my secret address"));
        assert!(!shown.contains("secret"), "{shown}");
    }
}
