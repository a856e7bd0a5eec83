//! `POST …/conversations/{id}/messages`: send a message.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::super::consistency::{self, Accepted};
use super::super::extract::{conversation_id, Body, Caller};
use super::super::problem::{ApiResult, Problem};
use crate::dto::send::{self as dto, SendRequest, SentMessage};
use crate::AppState;
use pawpost_app::messages::{Answer, SendOutcome};

/// Sends a message. With a `tempId`, the send is idempotent: a retry with the same tempId and
/// content answers 200 with the original message (nothing is sent twice); the same tempId
/// with other content is 409 `duplicate_temp_id`. In a direct conversation, a user the other
/// participant blocks cannot send (403 `blocked`).
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations/{conversationId}/messages",
    tag = "messages",
    params(("conversationId" = String, Path, description = "The conversation")),
    request_body = SendRequest,
    responses(
        (status = 201, description = "Sent", body = SentMessage),
        (status = 200, description = "A retry with a known tempId: the original message", body = SentMessage),
        (status = 202, description = "Sent; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed JSON or an invalid id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Blocked by the other participant, or not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation for the caller, or the reply target or forwarded message is not visible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "tempId reused with other content, or the reply target was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (named in `field`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn send(
    State(state): State<AppState>,
    caller: Caller,
    Path(conversation): Path<String>,
    Body(request): Body<SendRequest>,
) -> ApiResult<Response> {
    let conversation = conversation_id(&conversation)?;
    let message = dto::parse(&request)?;
    Ok(
        match state
            .app
            .send_message(&caller, conversation, message, Answer::Visible)
            .await?
        {
            SendOutcome::Sent(sent) => {
                let status = if sent.retried {
                    StatusCode::OK
                } else {
                    StatusCode::CREATED
                };
                (status, Json(SentMessage::from(*sent))).into_response()
            }
            SendOutcome::Lagging(p) => consistency::accepted(p),
        },
    )
}
