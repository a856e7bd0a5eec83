//! `/api/v1/messaging/typing/*` and `/api/v1/messaging/presence/*`: typing and presence
//! signals (in-process; the SignalR hub relays the same signals).

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
