//! Wire shapes both adapters share (the REST API and the hub take the same message), and the
//! helpers that parse them into the application's typed inputs.

pub mod send;

use pawpost_domain::values::MessageBody;
use pawpost_domain::ValidationError;

use crate::http::problem::{ApiError, ApiResult};

/// A 422 for a domain validation error, renaming the field as the request spells it.
pub fn invalid_as(e: ValidationError, field: impl Into<String>) -> ApiError {
    let field = field.into();
    ApiError::invalid(field.clone(), format!("{field} {}", e.rule))
}

/// A message body from `content` (422 naming `content` when missing, blank or too long).
pub fn body_of(content: &str) -> ApiResult<MessageBody> {
    MessageBody::parse(content).map_err(|e| invalid_as(e, "content"))
}
