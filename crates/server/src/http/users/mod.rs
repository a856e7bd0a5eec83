//! `/api/v1/messaging/users/{id}` (profiles, service role: [`profiles`]) and
//! `/api/v1/messaging/blocks` ([`blocks`]). One file per group of routes; the logic is
//! `pawpost_app`'s (`users` use cases).

mod blocks;
mod profiles;

use pawpost_domain::ValidationError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::problem::{ApiError, ApiResult};
use crate::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(profiles::get_user, profiles::put_user))
        .routes(routes!(blocks::list_blocks, blocks::block))
        .routes(routes!(blocks::unblock))
}

/// A 422 for a value that broke a rule, naming the request's field (`field`) rather than the
/// domain's name for it (a draft's `content` is a message `body` to the domain).
pub(super) fn invalid_as(field: &str, e: ValidationError) -> ApiError {
    ApiError::invalid(field, format!("{field} {}", e.rule))
}

/// A field the body must carry: 422 naming it when absent (the JSON extractor can only name
/// the body for a missing top-level field).
pub(super) fn required<T>(value: Option<T>, field: &str) -> ApiResult<T> {
    value.ok_or_else(|| ApiError::invalid(field, format!("{field} is required")))
}
