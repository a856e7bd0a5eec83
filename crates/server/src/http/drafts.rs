//! The caller's drafts: `/api/v1/messaging/drafts` and
//! `/api/v1/messaging/conversations/{id}/draft`. The logic is `pawpost_app`'s (`users::drafts`);
//! answers wait for the users model, which holds drafts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pawpost_app::Projection;
use pawpost_domain::values::MessageBody;
use pawpost_projections::queries::users::DraftView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::consistency::{self, Accepted, Settled};
use super::extract::{self, Body, Caller};
use super::problem::{ApiResult, Problem};
use super::users::{invalid_as, required};
use crate::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_drafts))
        .routes(routes!(save_draft, clear_draft))
}

/// The caller's drafts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftList {
    /// Most recently saved first.
    drafts: Vec<DraftView>,
}

/// A saved draft.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftAnswer {
    draft: DraftView,
}

/// The unsent text of a conversation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DraftRequest {
    /// The text (same rules as a message body: not blank, at most 10,000 characters).
    #[schema(value_type = String, required = true)]
    content: Option<String>,
    /// A message of the conversation the draft would answer.
    reply_to_message_id: Option<String>,
}

/// The caller's unsent drafts, one per conversation.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/drafts",
    tag = "drafts",
    responses(
        (status = 200, description = "The caller's drafts", body = DraftList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_drafts(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<DraftList>> {
    let drafts = state.app.drafts(&caller).await?;
    Ok(Json(DraftList { drafts }))
}

/// Saves (replaces) the caller's draft of a conversation they take part in. The reply target,
/// if any, must be a message of that conversation the caller can see (422 otherwise).
#[utoipa::path(
    put,
    path = "/api/v1/messaging/conversations/{conversationId}/draft",
    tag = "drafts",
    params(("conversationId" = String, Path, description = "The conversation")),
    request_body = DraftRequest,
    responses(
        (status = 200, description = "The draft as saved", body = DraftAnswer),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation for the caller", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn save_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(body): Body<DraftRequest>,
) -> ApiResult<Response> {
    let conversation = extract::conversation_id(&raw)?;
    let content = MessageBody::parse(&required(body.content, "content")?)
        .map_err(|e| invalid_as("content", e))?;
    let reply_to = body
        .reply_to_message_id
        .as_deref()
        .map(|raw| extract::message_id(raw, "replyToMessageId"))
        .transpose()?;
    let position = state
        .app
        .save_draft(&caller, conversation, content, reply_to)
        .await?;
    if let Settled::Lagging(p) = state.app.settle(Projection::Users, position).await {
        return Ok(consistency::accepted(p));
    }
    let draft = state.app.draft(&caller, conversation).await?;
    Ok(Json(DraftAnswer { draft }).into_response())
}

/// Discards the caller's draft of a conversation. Idempotent (204 without a draft). Allowed to
/// current participants, and to former ones who still hold a draft there (so a user who left
/// can clean up; holding a draft proves they took part, so nothing is disclosed); 404 to
/// anyone else.
#[utoipa::path(
    delete,
    path = "/api/v1/messaging/conversations/{conversationId}/draft",
    tag = "drafts",
    params(("conversationId" = String, Path, description = "The conversation")),
    responses(
        (status = 204, description = "No draft (any more)"),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation for the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn clear_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let conversation = extract::conversation_id(&raw)?;
    let position = state.app.clear_draft(&caller, conversation).await?;
    Ok(match state.app.settle(Projection::Users, position).await {
        Settled::Visible => StatusCode::NO_CONTENT.into_response(),
        Settled::Lagging(p) => consistency::accepted(p),
    })
}
