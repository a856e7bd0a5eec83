//! `PUT /conversations/{conversationId}`: a group's title, description or image.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pawpost_app::conversations::DetailsChange;
use pawpost_app::Projection;
use pawpost_domain::values::{ConversationTitle, Description, ImageUrl};
use pawpost_domain::DomainError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::super::consistency::Accepted;
use super::super::extract::{Body, Caller};
use super::super::problem::{ApiResult, Problem};
use super::{lagging, nullable, optional, path_id, ConversationEnvelope};
use crate::AppState;

/// `PUT /{conversationId}`: absent fields stay as they are; `description` or `imageUrl` `null`
/// (or blank) clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateConversation {
    /// New title, 1–200 characters.
    title: Option<String>,
    /// New description, 1–500 characters; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable)]
    description: Option<Option<String>>,
    /// New image URL; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable)]
    image_url: Option<Option<String>>,
}

/// A field of an update: absent keeps, `null` or blank clears, otherwise parsed.
fn change<T>(
    raw: &Option<Option<String>>,
    parse: fn(&str) -> Result<T, pawpost_domain::ValidationError>,
) -> ApiResult<Option<Option<T>>> {
    match raw {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(s)) if s.trim().is_empty() => Ok(Some(None)),
        Some(Some(s)) => parse(s)
            .map(|v| Some(Some(v)))
            .map_err(|e| DomainError::Invalid(e).into()),
    }
}

/// Changes a group's title, description or image (admins and the owner; never a direct
/// conversation: 403). Answers with the updated conversation.
#[utoipa::path(
    put,
    path = "/api/v1/messaging/conversations/{conversationId}",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    request_body = UpdateConversation,
    responses(
        (status = 200, description = "The updated conversation", body = ConversationEnvelope),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "conversationId is not a UUID, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller may not change the details", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (named in `field`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<UpdateConversation>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    let change = DetailsChange {
        title: optional(req.title.as_deref(), ConversationTitle::parse)?,
        description: change(&req.description, Description::parse)?,
        image_url: change(&req.image_url, ImageUrl::parse)?,
    };
    let position = state.app.update_details(&caller, id, change).await?;
    if let Some(accepted) = lagging(&state, Projection::Conversations, position).await {
        return Ok(accepted);
    }
    let conversation = state.app.conversation(&caller, id).await?;
    Ok(Json(ConversationEnvelope { conversation }).into_response())
}
