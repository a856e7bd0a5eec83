//! `POST …/read` and `…/delivered`: the caller's read and delivered markers.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pawpost_app::Projection;
use pawpost_domain::MessageId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::consistency::Accepted;
use super::super::extract::{self, Body, Caller};
use super::super::problem::{ApiError, ApiResult, Problem};
use super::{lagging, path_id};
use crate::AppState;

/// `POST /{conversationId}/read` and `/delivered`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarkerRequest {
    /// The newest message read (or delivered): everything up to it counts (required).
    message_id: Option<String>,
}

/// The caller's unread counts after moving the read marker.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadState {
    /// Unread messages left in this conversation.
    pub unread_count: u64,
    /// Unread messages over all the caller's conversations.
    pub unread_total: u64,
    /// The caller's read marker (a marker never moves back: reading an older message keeps it).
    pub last_read_seq: u64,
}

impl From<pawpost_app::conversations::ReadState> for ReadState {
    fn from(s: pawpost_app::conversations::ReadState) -> Self {
        ReadState {
            unread_count: s.unread_count,
            unread_total: s.unread_total,
            last_read_seq: s.last_read_seq,
        }
    }
}

/// The marker's message (422 when missing, 400 when not a UUID).
fn marker_message(req: &MarkerRequest) -> ApiResult<MessageId> {
    let raw = req
        .message_id
        .as_deref()
        .ok_or_else(|| ApiError::invalid("messageId", "messageId is required"))?;
    extract::message_id(raw, "messageId")
}

/// Moves the caller's read marker up to a message; answers with the unread counts.
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations/{conversationId}/read",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    request_body = MarkerRequest,
    responses(
        (status = 200, description = "The caller's unread counts", body = ReadState),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "An id is not a UUID, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or message, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "messageId is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<MarkerRequest>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    let message = marker_message(&req)?;
    let position = state
        .app
        .mark_conversation(&caller, id, message, true)
        .await?;
    if let Some(accepted) = lagging(&state, Projection::All, position).await {
        return Ok(accepted);
    }
    let counts = state.app.read_state(&caller, id).await?;
    Ok(Json(ReadState::from(counts)).into_response())
}

/// Moves the caller's delivered marker up to a message (their client received it). Answers 204:
/// delivery changes no count the caller sees.
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations/{conversationId}/delivered",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    request_body = MarkerRequest,
    responses(
        (status = 204, description = "Marked"),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "An id is not a UUID, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or message, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "messageId is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn delivered(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<MarkerRequest>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    let message = marker_message(&req)?;
    let position = state
        .app
        .mark_conversation(&caller, id, message, false)
        .await?;
    if let Some(accepted) = lagging(&state, Projection::All, position).await {
        return Ok(accepted);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
