//! Wire shapes both adapters share (the REST API and the hub take the same message), and the
//! helpers that parse them into the application's typed inputs.

pub mod ids;
pub mod send;

use pawpost_domain::values::MessageBody;
use pawpost_domain::ValidationError;

use pawpost_app::{AppError, AppResult};

/// A 422 for a domain validation error, renaming the field as the request spells it.
pub fn invalid_as(e: ValidationError, field: impl Into<String>) -> AppError {
    let field = field.into();
    AppError::invalid(field.clone(), format!("{field} {}", e.rule))
}

/// A message body from `content` (422 naming `content` when missing, blank or too long).
pub fn body_of(content: &str) -> AppResult<MessageBody> {
    MessageBody::parse(content).map_err(|e| invalid_as(e, "content"))
}
