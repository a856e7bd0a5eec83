//! HTTP routes: one file per resource, each with `pub fn router() -> OpenApiRouter<AppState>`
//! whose handlers carry their `#[utoipa::path]`, merged here and nowhere else (STYLE.md §5),
//! so the OpenAPI document at `/api/v1/openapi.json` lists exactly the routes served.
//!
//! * `problem.rs`: errors as problem+json with stable codes;
//! * `extract.rs`: the caller (Bearer JWT), JSON bodies, query strings and path ids, whose
//!   failures name the field at fault;
//! * `consistency.rs`: read-your-writes (a command answers once queries show its change);
//! * `support.rs`: running commands as the caller, queries, participation checks, profiles
//!   registered from tokens;
//! * resources: `conversations/`, `messages/` (and search), `users/` (profiles, blocks),
//!   `drafts.rs`, `sync.rs` (the change feed), `realtime.rs` (typing, presence), `workers.rs`
//!   (admins: the log workers, their lag, parked events and retries); `conversations/`,
//!   `messages/` and `users/` one file per route (or small group of routes), each calling one
//!   use case of `pawpost_app`.

pub mod consistency;
pub mod extract;
mod health;
mod openapi;
pub mod problem;
mod register;
pub mod support;

mod conversations;
mod drafts;
pub mod messages;
mod realtime;
pub mod sync;
mod users;
mod workers;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use problem::ApiError;

/// The API's routes and their OpenAPI document.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(conversations::router())
        .merge(messages::router())
        .merge(users::router())
        .merge(drafts::router())
        .merge(sync::router())
        .merge(realtime::router())
        .merge(workers::router())
        .split_for_parts()
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api();
    let doc = Arc::new(doc);
    let api = api.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        register::register_caller,
    ));
    Router::new()
        .merge(health::router())
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not accept that method",
            )
        })
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
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

/// CORS for browser clients of the API and the hub: the configured origins only, echoed (never
/// `*`), with credentials, and the headers the SignalR browser client sends.
pub fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use axum::http::{header, HeaderName, HeaderValue, Method};
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(allowed)
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-requested-with"),
            HeaderName::from_static("x-signalr-user-agent"),
        ])
}
