//! `/api/v1/messaging/conversations/{id}/messages` and `/api/v1/messaging/search`: messages,
//! their edits, deletions, reactions, receipts and history; full-text search.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
