//! `/conversations/{conversationId}/participants`: the members; adding and removing them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pawpost_app::Projection;
use serde::Deserialize;
use utoipa::ToSchema;

use super::super::consistency::Accepted;
use super::super::extract::{self, Body, Caller};
use super::super::problem::{ApiError, ApiResult, Problem};
use super::{lagging, path_id, user_ids, ParticipantList};
use crate::AppState;

/// The members of a conversation with roles and read/delivered markers.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/conversations/{conversationId}/participants",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    responses(
        (status = 200, description = "The participants", body = ParticipantList),
        (status = 400, description = "conversationId is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn participants(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<ParticipantList>> {
    let id = path_id(&raw)?;
    let participants = state.app.participants(&caller, id).await?;
    Ok(Json(ParticipantList { participants }))
}

/// `POST /{conversationId}/participants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddParticipants {
    /// Users to add (current members are skipped); at least one.
    #[serde(default)]
    user_ids: Vec<String>,
}

/// Adds members to a group (admins and the owner; never to a direct conversation: 403).
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations/{conversationId}/participants",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    request_body = AddParticipants,
    responses(
        (status = 200, description = "The participants after the change", body = ParticipantList),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "conversationId is not a UUID, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller may not add members", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An id is invalid or unknown (`userIds[i]`), or the list is empty", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn add_participants(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<AddParticipants>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    let users = user_ids(&req.user_ids, "userIds")?;
    let position = state.app.add_participants(&caller, id, users).await?;
    if let Some(accepted) = lagging(&state, Projection::All, position).await {
        return Ok(accepted);
    }
    let participants = state.app.participants(&caller, id).await?;
    Ok(Json(ParticipantList { participants }).into_response())
}

/// `DELETE /{conversationId}/participants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemoveParticipant {
    /// The member to remove (the caller themself: leaving).
    user_id: Option<String>,
}

/// Removes a member (admins remove members, only the owner removes admins, nobody removes the
/// owner: 403 otherwise; someone who is not a member: 404).
#[utoipa::path(
    delete,
    path = "/api/v1/messaging/conversations/{conversationId}/participants",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    request_body = RemoveParticipant,
    responses(
        (status = 204, description = "Removed"),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "conversationId is not a UUID, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller may not remove this member", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "userId is missing or invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn remove_participant(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<RemoveParticipant>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    let raw_user = req
        .user_id
        .ok_or_else(|| ApiError::invalid("userId", "userId is required"))?;
    let user = extract::user_id(&raw_user, "userId")?;
    let position = state.app.remove_participant(&caller, id, user).await?;
    if let Some(accepted) = lagging(&state, Projection::All, position).await {
        return Ok(accepted);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
