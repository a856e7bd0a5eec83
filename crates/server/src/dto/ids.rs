//! Ids in paths, bodies and hub arguments, parsed the same way for both adapters; a bad one is
//! named in the error.

use pawpost_app::{AppError, ErrorKind};
use pawpost_domain::{ConversationId, MessageId, UserId};

/// A conversation id: `invalid_id` (400) if it is no UUID.
pub fn conversation_id(raw: &str) -> Result<ConversationId, AppError> {
    raw.parse::<uuid::Uuid>()
        .map(ConversationId::from_uuid)
        .map_err(|_| {
            AppError::new(
                ErrorKind::BadRequest,
                "invalid_id",
                format!("conversationId `{raw}` is not a UUID"),
            )
            .with_field("conversationId")
        })
}

/// A message id (`field`): `invalid_id` (400) if it is no UUID.
pub fn message_id(raw: &str, field: &str) -> Result<MessageId, AppError> {
    raw.parse::<uuid::Uuid>()
        .map(MessageId::from_uuid)
        .map_err(|_| {
            AppError::new(
                ErrorKind::BadRequest,
                "invalid_id",
                format!("{field} `{raw}` is not a UUID"),
            )
            .with_field(field)
        })
}

/// A user id (`field`): `invalid` (422) if it breaks the id rules.
pub fn user_id(raw: &str, field: &str) -> Result<UserId, AppError> {
    UserId::parse(raw).map_err(|e| AppError::invalid(field, format!("{field}: {e}")))
}
