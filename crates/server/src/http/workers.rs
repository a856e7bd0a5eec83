//! `/api/v1/admin/workers`: the log workers (the projectors, and the side-effect workers to
//! come) as admins see them: where each stands, its lag and failures, the events it parked, and
//! a retry of a parked event on demand. For the `admin` and `service` roles.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use pawpost_workers::parked;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Caller;
use super::problem::{ApiError, ApiResult, Problem};
use crate::auth::Role;
use crate::{cursor, AppState};

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_workers))
        .routes(routes!(list_parked))
        .routes(routes!(retry_parked))
}

fn require_admin(caller: &Caller) -> ApiResult<()> {
    if matches!(caller.role, Role::Admin | Role::Service) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "forbidden",
            "only the admin and service roles may see the workers",
        ))
    }
}

/// A log worker as this server sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkerView {
    pub name: String,
    /// This server runs it now (it holds its lease); otherwise another process does.
    pub running_here: bool,
    /// Its checkpoint, as a sync cursor.
    pub checkpoint: String,
    /// Events of the log after its checkpoint (about).
    pub lag_events: u64,
    /// How far behind it is in log time (seconds).
    pub lag_seconds: f64,
    /// Failed tries since this server started.
    pub failures: u64,
    /// Failures in a row now (0: the last batch went through).
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// When it tries again, while backing off.
    pub retrying_at: Option<DateTime<Utc>>,
    /// Events it has parked now (all processes).
    pub parked: u64,
}

/// Every worker.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkersView {
    pub workers: Vec<WorkerView>,
}

/// A parked event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParkedView {
    pub event_id: String,
    /// The event's place in the log (a sync cursor).
    pub cursor: String,
    pub stream: String,
    pub version: u64,
    pub event_type: String,
    /// The last error.
    pub error: String,
    pub attempts: u64,
    pub parked_at: Option<DateTime<Utc>>,
    pub last_failed_at: Option<DateTime<Utc>>,
    /// A retry was asked for and has not run yet.
    pub retry_requested: bool,
}

/// The parked events of a worker.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParkedList {
    pub parked: Vec<ParkedView>,
}

/// A retry asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetryRequested {
    /// Always `retry_requested`: the worker running it retries within seconds.
    pub status: &'static str,
}

fn known(state: &AppState, name: &str) -> ApiResult<()> {
    if state.workers.iter().any(|w| w.name() == name) {
        Ok(())
    } else {
        Err(ApiError::not_found("worker"))
    }
}

/// The workers: progress, lag, failures, parked events.
#[utoipa::path(
    get,
    path = "/api/v1/admin/workers",
    tag = "admin",
    responses(
        (status = 200, description = "Every log worker", body = WorkersView),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_workers(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<WorkersView>> {
    require_admin(&caller)?;
    let counts = parked::counts(&state.store.db()).await?;
    let (head, head_at) = state.feed.head();
    let workers = state
        .workers
        .iter()
        .map(|w| {
            let r = w.report(head, head_at);
            let parked = counts
                .iter()
                .find(|(name, _)| *name == r.name)
                .map_or(0, |(_, n)| *n);
            WorkerView {
                running_here: r.running,
                checkpoint: cursor::encode(r.checkpoint),
                lag_events: r.lag_events,
                lag_seconds: r.lag_seconds,
                failures: r.failures,
                consecutive_failures: r.consecutive_failures,
                last_error: r.last_error,
                retrying_at: r.retrying_at,
                parked,
                name: r.name,
            }
        })
        .collect();
    Ok(Json(WorkersView { workers }))
}

/// The events a worker parked (oldest first).
#[utoipa::path(
    get,
    path = "/api/v1/admin/workers/{name}/parked",
    tag = "admin",
    params(("name" = String, Path, description = "The worker")),
    responses(
        (status = 200, description = "Its parked events", body = ParkedList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such worker", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_parked(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<ParkedList>> {
    require_admin(&caller)?;
    known(&state, &name)?;
    let parked = parked::list(&state.store.db(), Some(&name))
        .await?
        .into_iter()
        .map(|p| ParkedView {
            cursor: cursor::encode(p.position),
            event_id: p.event_id,
            stream: p.stream,
            version: p.version,
            event_type: p.event_type,
            error: p.error,
            attempts: p.attempts,
            parked_at: DateTime::from_timestamp_micros(p.parked_at),
            last_failed_at: DateTime::from_timestamp_micros(p.last_failed_at),
            retry_requested: p.retry_requested,
        })
        .collect();
    Ok(Json(ParkedList { parked }))
}

/// Asks the worker to try a parked event again (after the cause was fixed). The worker, in
/// whichever process runs it, retries within seconds: on success the event leaves the list,
/// on failure its error and attempts are updated.
#[utoipa::path(
    post,
    path = "/api/v1/admin/workers/{name}/parked/{eventId}/retry",
    tag = "admin",
    params(
        ("name" = String, Path, description = "The worker"),
        ("eventId" = String, Path, description = "The parked event"),
    ),
    responses(
        (status = 202, description = "The retry is asked for", body = RetryRequested),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such worker or parked event", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn retry_parked(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, event_id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<RetryRequested>)> {
    require_admin(&caller)?;
    known(&state, &name)?;
    if !parked::request_retry(&state.store.db(), &name, &event_id).await? {
        return Err(ApiError::not_found("parked event"));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(RetryRequested {
            status: "retry_requested",
        }),
    ))
}
