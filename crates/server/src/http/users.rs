//! `/api/v1/messaging/users/{id}` (profiles, service role), `/api/v1/messaging/blocks` and
//! drafts.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
