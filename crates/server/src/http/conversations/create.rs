//! `POST /conversations`: creates a direct or group conversation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pawpost_app::conversations::{ConversationSpec, GroupDetails, NewConversation};
use pawpost_app::Projection;
use pawpost_domain::values::{ConversationTitle, Description, ImageUrl, MessageBody};
use pawpost_domain::DomainError;
use pawpost_projections::queries::conversations::ConversationDetail;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::consistency::Accepted;
use super::super::extract::{Body, Caller};
use super::super::problem::{ApiError, ApiResult, Problem};
use super::{lagging, optional, user_ids};
use crate::AppState;

/// Which kind of conversation a user may create (booking and system ones come from services).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CreateKind {
    Direct,
    Group,
}

/// `POST /api/v1/messaging/conversations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateConversation {
    /// `direct` or `group` (required).
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    kind: Option<CreateKind>,
    /// The other users (the caller may be listed too; they are always a member). Direct:
    /// exactly one other user.
    #[serde(default)]
    participants: Vec<String>,
    /// Group title, 1–200 characters (required for groups; ignored for direct ones).
    title: Option<String>,
    /// Group description, 1–500 characters.
    description: Option<String>,
    /// Group image, an `http(s)://` URL.
    image_url: Option<String>,
    /// A first text message from the caller.
    initial_message: Option<String>,
}

/// The answer to a creation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedConversation {
    /// The conversation's id (for a direct one, derived from the pair of users).
    pub conversation_id: String,
    /// The conversation as the caller sees it.
    pub conversation: ConversationDetail,
}

/// The application's creation request (422 naming the field at fault). Whether the listed
/// users are known, and how many others a direct conversation has, the use case checks.
fn parse(req: &CreateConversation) -> ApiResult<NewConversation> {
    let kind = req
        .kind
        .ok_or_else(|| ApiError::invalid("type", "type is required: `direct` or `group`"))?;
    let initial_message = optional(req.initial_message.as_deref(), MessageBody::parse)
        .map_err(|e| e.with_field("initialMessage"))?;
    let participants = user_ids(&req.participants, "participants")?;
    let spec = match kind {
        CreateKind::Direct => ConversationSpec::Direct,
        CreateKind::Group => ConversationSpec::Group(GroupDetails {
            title: ConversationTitle::parse(req.title.as_deref().unwrap_or(""))
                .map_err(DomainError::Invalid)?,
            description: optional(req.description.as_deref(), Description::parse)?,
            image_url: optional(req.image_url.as_deref(), ImageUrl::parse)?,
        }),
    };
    Ok(NewConversation {
        spec,
        participants,
        initial_message,
    })
}

/// Creates a direct or group conversation, optionally with a first message.
///
/// A direct conversation's id is derived from the pair, so opening it again returns the same
/// conversation with 200 (201 only when it was created now; a caller who had left comes back).
/// The request is checked in full before anything is stored: with an `initialMessage` to a user
/// who blocks the caller, nothing is created (403 `blocked`).
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations",
    tag = "conversations",
    request_body = CreateConversation,
    responses(
        (status = 201, description = "Created", body = CreatedConversation),
        (status = 200, description = "The existing direct conversation of this pair", body = CreatedConversation),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The other user blocks the caller (with an initial message)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (named in `field`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<CreateConversation>,
) -> ApiResult<Response> {
    let request = parse(&req)?;
    let created = state.app.create_conversation(&caller, request).await?;
    // Every read model: the conversation shows up in the participants' lists and its detail
    // (conversations), and an initial message in its history (messages).
    if let Some(accepted) = lagging(&state, Projection::All, created.position).await {
        return Ok(accepted);
    }
    let conversation = state.app.conversation(&caller, created.id).await?;
    let status = if created.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = CreatedConversation {
        conversation_id: created.id.to_string(),
        conversation,
    };
    Ok((status, Json(body)).into_response())
}
