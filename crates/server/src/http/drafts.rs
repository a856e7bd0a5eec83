//! The caller's drafts: `/api/v1/messaging/drafts` and
//! `/api/v1/messaging/conversations/{id}/draft`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use pawpost_domain::values::MessageBody;
use pawpost_domain::UserCommand;
use pawpost_projections::queries::users::{self, DraftView};
use pawpost_projections::queries::{conversations, messages};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::consistency::{self, settle, Accepted, Settled};
use super::extract::{self, Body, Caller};
use super::problem::{ApiError, ApiResult, Problem};
use super::support::{fresh_command_id, query, require_participant, user_command};
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
    let user = caller.id.to_string();
    let drafts = query(&state, move |tx| {
        Box::pin(async move { users::drafts(tx, &user, None).await })
    })
    .await?;
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
    require_participant(&state, &caller, conversation).await?;
    let content = MessageBody::parse(&required(body.content, "content")?)
        .map_err(|e| invalid_as("content", e))?;
    let reply_to = match body.reply_to_message_id.as_deref() {
        Some(raw) => {
            let id = extract::message_id(raw, "replyToMessageId")?;
            let (user, message, conv) = (
                caller.id.to_string(),
                id.to_string(),
                conversation.to_string(),
            );
            let found = query(&state, move |tx| {
                Box::pin(async move { messages::get(tx, &user, &message, false).await })
            })
            .await?
            .is_some_and(|m| m.conversation_id == conv);
            if !found {
                return Err(ApiError::invalid(
                    "replyToMessageId",
                    "replyToMessageId is not a message of this conversation",
                ));
            }
            Some(id)
        }
        None => None,
    };
    let command = UserCommand::SaveDraft {
        actor: caller.id.clone(),
        conversation_id: conversation,
        content,
        reply_to,
        is_participant: true,
        at: Utc::now(),
    };
    let outcome = user_command(&state, &caller, &caller.id, fresh_command_id(), command).await?;
    if let Settled::Lagging(p) = settle(&state, outcome.position).await {
        return Ok(consistency::accepted(p));
    }
    let (user, conv) = (caller.id.to_string(), conversation.to_string());
    let draft = query(&state, move |tx| {
        Box::pin(async move { users::drafts(tx, &user, Some(&conv)).await })
    })
    .await?
    .pop()
    .ok_or_else(|| ApiError::internal("a saved draft is missing from the read model"))?;
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
    let (user, conv) = (caller.id.to_string(), conversation.to_string());
    let allowed = query(&state, move |tx| {
        Box::pin(async move {
            Ok(conversations::is_participant(tx, &user, &conv).await?
                || !users::drafts(tx, &user, Some(&conv)).await?.is_empty())
        })
    })
    .await?;
    if !allowed {
        return Err(ApiError::not_found("conversation"));
    }
    let command = UserCommand::ClearDraft {
        actor: caller.id.clone(),
        conversation_id: conversation,
        at: Utc::now(),
    };
    let outcome = user_command(&state, &caller, &caller.id, fresh_command_id(), command).await?;
    Ok(match settle(&state, outcome.position).await {
        Settled::Visible => StatusCode::NO_CONTENT.into_response(),
        Settled::Lagging(p) => consistency::accepted(p),
    })
}
