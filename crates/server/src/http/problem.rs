//! Errors as `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`, a
//! stable `code`, and the offending `field` when one is to blame. Nothing internal (SQL, stack
//! traces, store messages) reaches a client: server-side failures are logged and answered with
//! a generic 500.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pawpost_app::{AppError, ErrorKind};
use pawpost_commands::CommandError;
use pawpost_domain::DomainError;
use serde::Serialize;
use utoipa::ToSchema;

/// Where the problem types are described (the `type` member is this plus the code).
const TYPE_BASE: &str = "https://pawpost.dev/problems/";
/// `Retry-After` of a 503: an outage of the database (a restart, a failover) lasts seconds.
const RETRY_AFTER_SECONDS: &str = "1";

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable snake_case code clients can branch on.
    pub code: &'static str,
    /// What went wrong, for a developer.
    pub detail: String,
    /// The request field at fault (`body`, `participants[1]`, `conversationId`), if one is.
    pub field: Option<String>,
}

/// The body of every 4xx/5xx answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`https://pawpost.dev/problems/<code>`).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the type (the HTTP reason phrase).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this case.
    pub detail: String,
    /// Stable snake_case code.
    pub code: String,
    /// The request field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// An error with `status`, `code` and `detail`.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            field: None,
        }
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 422 `invalid`: `field` broke a rule.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail).with_field(field)
    }

    /// 404 `not_found`. Also what a caller gets for a conversation it cannot see: whether it
    /// exists is not disclosed.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 403 with `code`.
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    /// 409 with `code`.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 401 with `code`.
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    /// 503 `unavailable`: the database (or a service) is out of reach for now; nothing was lost
    /// and the same request (with the same `tempId`) is safe to retry after `Retry-After`.
    pub fn unavailable(error: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %error, "unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database is unavailable for a moment; retry the same request shortly",
        )
    }

    /// 500: logs `error` (never shown to the client).
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete the request; it has been logged",
        )
    }

    /// The problem body.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("{TYPE_BASE}{}", self.code),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_string(),
            field: self.field.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let status = match e.kind {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            code: e.code,
            detail: e.detail,
            field: e.field,
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        AppError::from(e).into()
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        AppError::from(e).into()
    }
}

impl From<pawpost_projections::db::DbError> for ApiError {
    fn from(e: pawpost_projections::db::DbError) -> Self {
        AppError::from(e).into()
    }
}

impl From<pawpost_projections::ProjectionError> for ApiError {
    fn from(e: pawpost_projections::ProjectionError) -> Self {
        use pawpost_projections::ProjectionError as P;
        match e {
            P::Db(e) => e.into(),
            P::Worker(w) if w.transient => ApiError::unavailable(w),
            other => ApiError::internal(other),
        }
    }
}

impl From<pawpost_store::StoreError> for ApiError {
    fn from(e: pawpost_store::StoreError) -> Self {
        AppError::from(e).into()
    }
}

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;
