//! `GET /api/v1/messaging/sync?since=<cursor>`: the caller's change feed.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
