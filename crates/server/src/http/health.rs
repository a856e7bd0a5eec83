//! Liveness and readiness probes for orchestrators and scripts.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use pawpost_store::Backend;
use serde_json::json;

use crate::AppState;

/// How long the readiness probe waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`, `GET /readyz`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up and serving HTTP.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// The server only serves once migrations are applied; ready also means the database answers
/// now.
#[tracing::instrument(skip_all)]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let backend = match state.store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let probe = tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await;
    match probe {
        Ok(Ok(_)) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "backend": backend })),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness probe failed");
            unavailable(backend)
        }
        Err(_) => {
            tracing::warn!("readiness probe timed out");
            unavailable(backend)
        }
    }
}

fn unavailable(backend: &str) -> (StatusCode, Json<serde_json::Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "backend": backend })),
    )
}
