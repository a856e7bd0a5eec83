//! Users are known from their tokens (DESIGN.md §6): the HTTP adapter registers the caller of
//! every API request in this one layer, before its handlers; the extractor only decodes.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::extract::{bearer, caller_from_token};
use super::problem::ApiError;
use crate::AppState;

/// Registers the caller of every API request from their token (users are known from their
/// tokens, DESIGN.md §6): the one place where the HTTP adapter does it, before the handlers.
/// A request without a valid token passes through untouched; its handler's [`Caller`]
/// extractor answers 401.
pub async fn register_caller(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let caller = bearer(&parts)
        .ok()
        .and_then(|token| caller_from_token(&state, token).ok());
    if let Some(caller) = caller {
        if let Err(e) = state.app.register(&caller).await {
            return ApiError::from(e).into_response();
        }
    }
    next.run(Request::from_parts(parts, body)).await
}
