//! `POST`/`DELETE …/messages/{messageId}/react`: reactions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pawpost_app::{Projection, Settled};
use pawpost_domain::values::Reaction;
use pawpost_projections::queries::messages::ReactionGroup;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::consistency::{self, Accepted};
use super::super::extract::{Body, Caller};
use super::super::problem::{ApiError, ApiResult, Problem};
use super::{path_ids, visible_message};
use crate::dto::invalid_as;
use crate::AppState;

// ---------------------------------------------------------------------------------------------
// POST / DELETE /messages/{messageId}/react
// ---------------------------------------------------------------------------------------------

/// A reaction.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReactionRequest {
    /// An emoji or a short word, 1–50 characters.
    reaction: Option<String>,
}

/// A message's reactions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reactions {
    /// Grouped by reaction, with the users who reacted.
    pub reactions: Vec<ReactionGroup>,
}

/// The validated reaction of a request (422 naming `reaction`).
fn reaction_of(r: ReactionRequest) -> ApiResult<Reaction> {
    let raw = r
        .reaction
        .ok_or_else(|| ApiError::invalid("reaction", "reaction is required"))?;
    Ok(Reaction::parse(&raw).map_err(|e| invalid_as(e, "reaction"))?)
}

/// Adds the caller's reaction (adding it again changes nothing).
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}/react",
    tag = "messages",
    params(
        ("conversationId" = String, Path, description = "The conversation"),
        ("messageId" = String, Path, description = "The message"),
    ),
    request_body = ReactionRequest,
    responses(
        (status = 200, description = "The message's reactions now", body = Reactions),
        (status = 202, description = "Added; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed JSON or an id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or message for the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The message was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reaction` is missing or invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn react(
    State(state): State<AppState>,
    caller: Caller,
    Path((conversation, message)): Path<(String, String)>,
    Body(request): Body<ReactionRequest>,
) -> ApiResult<Response> {
    let (conversation, message) = path_ids(&conversation, &message)?;
    let reaction = reaction_of(request)?;
    let position = state
        .app
        .react(&caller, conversation, message, reaction, true)
        .await?;
    if let Settled::Lagging(p) = state.app.settle(Projection::Messages, position).await {
        return Ok(consistency::accepted(p));
    }
    let m = visible_message(&state, &caller, conversation, message, false).await?;
    Ok(Json(Reactions {
        reactions: m.reactions,
    })
    .into_response())
}

/// Removes the caller's reaction (removing one the caller did not add changes nothing).
#[utoipa::path(
    delete,
    path = "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}/react",
    tag = "messages",
    params(
        ("conversationId" = String, Path, description = "The conversation"),
        ("messageId" = String, Path, description = "The message"),
    ),
    request_body = ReactionRequest,
    responses(
        (status = 204, description = "Removed"),
        (status = 202, description = "Removed; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed JSON or an id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or message for the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The message was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reaction` is missing or invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn unreact(
    State(state): State<AppState>,
    caller: Caller,
    Path((conversation, message)): Path<(String, String)>,
    Body(request): Body<ReactionRequest>,
) -> ApiResult<Response> {
    let (conversation, message) = path_ids(&conversation, &message)?;
    let reaction = reaction_of(request)?;
    let position = state
        .app
        .react(&caller, conversation, message, reaction, false)
        .await?;
    if let Settled::Lagging(p) = state.app.settle(Projection::Messages, position).await {
        return Ok(consistency::accepted(p));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
