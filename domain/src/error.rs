//! Why a value or a command was refused.
//!
//! Two layers only: [`ValidationError`] says which field broke which rule (raised while building
//! validated values and by `decide` for values that arrived unchecked), [`DomainError`] is what
//! `decide` returns. The HTTP layer maps [`DomainError::code`] to problem+json codes, so the
//! variants and codes are stable.

use std::fmt;

use thiserror::Error;

/// The rule a value broke. Stable: clients map [`ValidationRule::code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidationRule {
    /// Empty, or only whitespace, where content is required.
    Empty,
    /// Longer than `max` characters (Unicode scalar values).
    TooLong {
        /// The largest accepted length.
        max: usize,
    },
    /// More than `max` items in a list.
    TooMany {
        /// The largest accepted count.
        max: usize,
    },
    /// Holds a control character (NUL, escape, …).
    ControlCharacter,
    /// Holds whitespace where none is allowed (ids).
    Whitespace,
    /// A number outside its range, written like `-90..=90`.
    OutOfRange {
        /// The accepted range, for the message.
        range: &'static str,
    },
    /// A number that is NaN or infinite.
    NotANumber,
    /// A URL that does not start with `http://` or `https://`.
    Scheme,
    /// Not in the expected format (a UUID, a MIME type, …).
    Format,
    /// Missing although required (e.g. the body of a text message).
    Required,
    /// Personal text that is sealed or erased where clear text is needed.
    NotClear,
    /// A derived id that does not match what it is derived from.
    Mismatch,
    /// The actor themself, where someone else is needed (block yourself, direct with yourself).
    SameAsActor,
    /// A user who is not a current participant (e.g. a mention).
    NotAParticipant,
    /// A time that must lie after the command's time.
    NotInFuture,
}

impl ValidationRule {
    /// A stable snake_case code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            ValidationRule::Empty => "empty",
            ValidationRule::TooLong { .. } => "too_long",
            ValidationRule::TooMany { .. } => "too_many",
            ValidationRule::ControlCharacter => "control_character",
            ValidationRule::Whitespace => "whitespace",
            ValidationRule::OutOfRange { .. } => "out_of_range",
            ValidationRule::NotANumber => "not_a_number",
            ValidationRule::Scheme => "scheme",
            ValidationRule::Format => "format",
            ValidationRule::Required => "required",
            ValidationRule::NotClear => "not_clear",
            ValidationRule::Mismatch => "mismatch",
            ValidationRule::SameAsActor => "same_as_actor",
            ValidationRule::NotAParticipant => "not_a_participant",
            ValidationRule::NotInFuture => "not_in_future",
        }
    }
}

impl fmt::Display for ValidationRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationRule::Empty => f.write_str("must not be empty"),
            ValidationRule::TooLong { max } => write!(f, "must be at most {max} characters"),
            ValidationRule::TooMany { max } => write!(f, "must hold at most {max} items"),
            ValidationRule::ControlCharacter => f.write_str("must not contain control characters"),
            ValidationRule::Whitespace => f.write_str("must not contain whitespace"),
            ValidationRule::OutOfRange { range } => write!(f, "must lie in {range}"),
            ValidationRule::NotANumber => f.write_str("must be a finite number"),
            ValidationRule::Scheme => f.write_str("must start with http:// or https://"),
            ValidationRule::Format => f.write_str("is not in the expected format"),
            ValidationRule::Required => f.write_str("is required"),
            ValidationRule::NotClear => f.write_str("must be clear text"),
            ValidationRule::Mismatch => f.write_str("does not match what it is derived from"),
            ValidationRule::SameAsActor => f.write_str("must not be yourself"),
            ValidationRule::NotAParticipant => f.write_str("must be a current participant"),
            ValidationRule::NotInFuture => f.write_str("must lie in the future"),
        }
    }
}

/// A field that broke a rule: what a 422 reports.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field} {rule}")]
pub struct ValidationError {
    /// The offending field, camelCase as on the wire (`"body"`, `"location.latitude"`).
    pub field: String,
    /// The rule it broke.
    pub rule: ValidationRule,
}

impl ValidationError {
    /// Builds the error for `field` breaking `rule`.
    pub fn new(field: impl Into<String>, rule: ValidationRule) -> Self {
        ValidationError {
            field: field.into(),
            rule,
        }
    }
}

/// Why `decide` refused a command. Stable: the HTTP layer maps each variant to a status.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// The conversation or message is absent, or invisible to the actor (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The actor takes part but is not allowed to do this (403).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The actor is not a current participant of the conversation (403).
    #[error("not a participant of this conversation")]
    NotParticipant,
    /// The recipient has blocked the sender (403).
    #[error("you cannot message this user")]
    Blocked,
    /// A field broke a rule (422).
    #[error("invalid: {0}")]
    Invalid(#[from] ValidationError),
    /// The command clashes with what exists (409): already exists, id reused, ….
    #[error("conflict: {0}")]
    Conflict(String),
    /// The message facts passed in may miss a change the conversation has seen since: look
    /// them up again once the source has caught up (503 if it does not in time).
    #[error("the message facts looked up are out of date; look them up again")]
    StaleFacts,
    /// The message was deleted for everyone; it is a tombstone (409/410).
    #[error("the message was deleted")]
    AlreadyDeleted,
}

impl DomainError {
    /// A stable snake_case code for problem+json bodies.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::NotFound(_) => "not_found",
            DomainError::Forbidden(_) => "forbidden",
            DomainError::NotParticipant => "not_participant",
            DomainError::Blocked => "blocked",
            DomainError::Invalid(_) => "invalid",
            DomainError::Conflict(_) => "conflict",
            DomainError::StaleFacts => "stale_facts",
            DomainError::AlreadyDeleted => "already_deleted",
        }
    }

    /// Shorthand for an [`DomainError::Invalid`] naming `field` and `rule`.
    pub fn invalid(field: impl Into<String>, rule: ValidationRule) -> Self {
        DomainError::Invalid(ValidationError::new(field, rule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_snake_case() {
        let all = [
            DomainError::NotFound("message"),
            DomainError::Forbidden("x"),
            DomainError::NotParticipant,
            DomainError::Blocked,
            DomainError::invalid("body", ValidationRule::Empty),
            DomainError::Conflict("x".into()),
            DomainError::StaleFacts,
            DomainError::AlreadyDeleted,
        ];
        let codes: Vec<_> = all.iter().map(DomainError::code).collect();
        assert_eq!(
            codes,
            [
                "not_found",
                "forbidden",
                "not_participant",
                "blocked",
                "invalid",
                "conflict",
                "stale_facts",
                "already_deleted"
            ]
        );
    }

    #[test]
    fn validation_error_names_field_and_rule() {
        let e = ValidationError::new("body", ValidationRule::TooLong { max: 10_000 });
        assert_eq!(e.to_string(), "body must be at most 10000 characters");
        assert_eq!(e.rule.code(), "too_long");
    }
}
