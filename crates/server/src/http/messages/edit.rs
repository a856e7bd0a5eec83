//! `PUT …/messages/{messageId}`: the author edits a message.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pawpost_app::{Projection, Settled};
use pawpost_projections::queries::messages::MessageView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::consistency::{self, Accepted};
use super::super::extract::{Body, Caller};
use super::super::problem::{ApiError, ApiResult, Problem};
use super::{path_ids, visible_message};
use crate::dto::body_of;
use crate::AppState;

// ---------------------------------------------------------------------------------------------
// PUT /messages/{messageId}
// ---------------------------------------------------------------------------------------------

/// A new text for a message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EditRequest {
    /// The new text, at most 10,000 characters.
    content: Option<String>,
}

/// A message after a change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedMessage {
    pub message: MessageView,
}

/// The author edits a message's text; earlier versions stay in its history.
#[utoipa::path(
    put,
    path = "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}",
    tag = "messages",
    params(
        ("conversationId" = String, Path, description = "The conversation"),
        ("messageId" = String, Path, description = "The message"),
    ),
    request_body = EditRequest,
    responses(
        (status = 200, description = "The edited message", body = UpdatedMessage),
        (status = 202, description = "Edited; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed JSON or an id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the author edits", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or message for the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The message was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`content` is missing, blank or too long", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path((conversation, message)): Path<(String, String)>,
    Body(request): Body<EditRequest>,
) -> ApiResult<Response> {
    let (conversation, message) = path_ids(&conversation, &message)?;
    let content = request
        .content
        .ok_or_else(|| ApiError::invalid("content", "content is required"))?;
    let position = state
        .app
        .edit_message(&caller, conversation, message, body_of(&content)?)
        .await?;
    if let Settled::Lagging(p) = state.app.settle(Projection::Messages, position).await {
        return Ok(consistency::accepted(p));
    }
    let message = visible_message(&state, &caller, conversation, message, false).await?;
    Ok(Json(UpdatedMessage { message }).into_response())
}
