//! `GET /conversations/{conversationId}`: one conversation.

use axum::extract::{Path, State};
use axum::Json;
use pawpost_projections::queries::conversations::{ConversationDetail, ParticipantView};
use serde::Serialize;
use utoipa::ToSchema;

use super::super::extract::Caller;
use super::super::problem::{ApiResult, Problem};
use super::{path_id, ConversationSettings};
use crate::AppState;

/// `GET /{conversationId}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationView {
    /// Details and the caller's view of the list row (participants included).
    pub conversation: ConversationDetail,
    /// The members, current first, then former ones.
    pub participants: Vec<ParticipantView>,
    /// The caller's mute, archive and pin state.
    pub settings: ConversationSettings,
}

/// One conversation: details, participants and the caller's settings.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/conversations/{conversationId}",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    responses(
        (status = 200, description = "The conversation", body = ConversationView),
        (status = 400, description = "conversationId is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<ConversationView>> {
    let id = path_id(&raw)?;
    let conversation = state.app.conversation(&caller, id).await?;
    Ok(Json(ConversationView {
        participants: conversation.participants.clone(),
        settings: ConversationSettings::from(&conversation.summary),
        conversation,
    }))
}
