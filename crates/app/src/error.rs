//! What a use case answers when it does not do what was asked. Both adapters map it the same
//! way: a kind (→ HTTP status; the hub only passes the code on), a stable snake_case `code`, a
//! detail for developers, and the input field at fault when there is one. Server-side failures
//! are logged here once and carry no internals.

use pawpost_commands::CommandError;
use pawpost_domain::DomainError;

/// The class of an error: decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is malformed (400).
    BadRequest,
    /// No valid credentials (401).
    Unauthorized,
    /// Not allowed (403).
    Forbidden,
    /// Absent, or not visible to the actor (404).
    NotFound,
    /// Clashes with the current state (409).
    Conflict,
    /// A field broke a rule (422).
    Invalid,
    /// Try again shortly: the database is out of reach, or the stream is contended (503).
    Unavailable,
    /// A server-side failure (500).
    Internal,
}

/// A use case's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct AppError {
    /// The class.
    pub kind: ErrorKind,
    /// Stable snake_case code clients can branch on.
    pub code: &'static str,
    /// What went wrong, for a developer.
    pub detail: String,
    /// The input field at fault, if one is.
    pub field: Option<String>,
}

/// What use cases return.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// An error of `kind` with `code` and `detail`.
    pub fn new(kind: ErrorKind, code: &'static str, detail: impl Into<String>) -> Self {
        AppError {
            kind,
            code,
            detail: detail.into(),
            field: None,
        }
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// `invalid`: `field` broke a rule.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, "invalid", detail).with_field(field)
    }

    /// `not_found`; also what an actor gets for a conversation it cannot see.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// `unavailable`: nothing was lost; the same call is safe to retry shortly.
    pub fn unavailable(error: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %error, "unavailable");
        Self::new(
            ErrorKind::Unavailable,
            "unavailable",
            "the database is unavailable for a moment; retry the same request shortly",
        )
    }

    /// `internal`: logs `error` (never shown to the client).
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "request failed");
        Self::new(
            ErrorKind::Internal,
            "internal",
            "the server could not complete the request; it has been logged",
        )
    }

    /// `contention`: the stream kept changing under the command.
    pub fn contention(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, "contention", detail)
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        let code = e.code();
        match e {
            DomainError::NotFound(what) => AppError::not_found(what),
            DomainError::Forbidden(why) => {
                AppError::new(ErrorKind::Forbidden, code, format!("forbidden: {why}"))
            }
            DomainError::NotParticipant | DomainError::Blocked => {
                AppError::new(ErrorKind::Forbidden, code, e.to_string())
            }
            DomainError::Invalid(v) => {
                let detail = v.to_string();
                AppError::invalid(v.field, detail)
            }
            DomainError::Conflict(_) | DomainError::AlreadyDeleted => {
                AppError::new(ErrorKind::Conflict, code, e.to_string())
            }
            // The read models did not catch up with the conversation in time.
            DomainError::StaleFacts => AppError::contention(
                "the conversation is changing too fast to decide on this message; retry",
            ),
        }
    }
}

impl From<CommandError> for AppError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Domain(d) => d.into(),
            CommandError::Conflict(_) => {
                AppError::contention("too many concurrent changes to this conversation; retry")
            }
            other if other.is_unavailable() => AppError::unavailable(other),
            other => AppError::internal(other),
        }
    }
}

impl From<pawpost_projections::db::DbError> for AppError {
    fn from(e: pawpost_projections::db::DbError) -> Self {
        if e.is_unavailable() {
            AppError::unavailable(e)
        } else {
            AppError::internal(e)
        }
    }
}

impl From<pawpost_store::StoreError> for AppError {
    fn from(e: pawpost_store::StoreError) -> Self {
        if e.is_unavailable() {
            AppError::unavailable(e)
        } else {
            AppError::internal(e)
        }
    }
}
