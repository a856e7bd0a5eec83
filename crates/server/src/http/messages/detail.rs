//! `GET …/messages/{messageId}`: one message with its receipts and reactions.

use axum::extract::{Path, State};
use axum::Json;
use pawpost_projections::queries::messages::{self, MessageView, ReactionGroup, Receipt};
use serde::Serialize;
use utoipa::ToSchema;

use super::super::extract::Caller;
use super::super::problem::{ApiError, ApiResult, Problem};
use super::super::support::{self, query};
use super::{moderates, path_ids, visible_message};
use crate::AppState;

// ---------------------------------------------------------------------------------------------
// GET /messages/{messageId}
// ---------------------------------------------------------------------------------------------

/// A message with its receipts and reactions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageDetail {
    pub message: MessageView,
    /// Participants (other than the sender) whose read marker reached the message.
    pub read_by: Vec<Receipt>,
    /// Participants (other than the sender) who received it (read implies received).
    pub delivered_to: Vec<Receipt>,
    /// Reactions grouped by reaction, with the users who reacted.
    pub reactions: Vec<ReactionGroup>,
}

/// One message with who read it, who received it and its reactions.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}",
    tag = "messages",
    params(
        ("conversationId" = String, Path, description = "The conversation"),
        ("messageId" = String, Path, description = "The message"),
    ),
    responses(
        (status = 200, description = "The message", body = MessageDetail),
        (status = 400, description = "An id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or message for the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path((conversation, message)): Path<(String, String)>,
) -> ApiResult<Json<MessageDetail>> {
    let (conversation, message) = path_ids(&conversation, &message)?;
    support::require_participant(&state, &caller, conversation).await?;
    let m = visible_message(&state, &caller, conversation, message, moderates(&caller)).await?;
    let (user, id) = (caller.id.to_string(), message.to_string());
    let receipts = query(&state, move |tx| {
        Box::pin(async move { messages::receipts(tx, &user, &id).await })
    })
    .await?
    .ok_or_else(|| ApiError::not_found("message"))?;
    Ok(Json(MessageDetail {
        reactions: m.reactions.clone(),
        message: m,
        read_by: receipts.read_by,
        delivered_to: receipts.delivered_to,
    }))
}
