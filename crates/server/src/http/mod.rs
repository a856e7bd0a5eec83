//! HTTP routes: one file per resource, each with `pub fn router() -> Router<AppState>`,
//! merged here and nowhere else (STYLE.md §5).

mod health;

use axum::extract::Request;
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::AppState;

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .layer(
            // Method and path only: query strings may carry `access_token` (SignalR).
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                tracing::info_span!(
                    "http",
                    method = %request.method(),
                    path = %request.uri().path(),
                )
            }),
        )
        .with_state(state)
}
