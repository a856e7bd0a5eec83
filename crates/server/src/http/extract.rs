//! Request extractors whose failures are problem+json naming the field at fault: the caller
//! (Bearer token), JSON bodies, query strings, and ids in paths.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::StatusCode;
use pawpost_domain::{ConversationId, MessageId, UserId};
use serde::de::DeserializeOwned;

use super::problem::ApiError;
use crate::auth::{AuthError, Role};
use crate::AppState;

/// The authenticated user making the request (from `Authorization: Bearer <JWT>`).
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: UserId,
    pub name: String,
    pub role: Role,
}

impl Caller {
    /// 403 unless the caller has the `service` role.
    pub fn require_service(&self) -> Result<(), ApiError> {
        if self.role == Role::Service {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "forbidden",
                "only the service role may do this",
            ))
        }
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized(
            "missing_token",
            "an Authorization: Bearer token is required",
        )
    })?;
    header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(
                "invalid_token",
                "the Authorization header must be `Bearer <token>`",
            )
        })
}

/// Verifies a token and turns its claims into a caller.
pub fn caller_from_token(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let claims = state.jwt.verify(token).map_err(|e| match e {
        AuthError::Expired => ApiError::unauthorized("token_expired", e.to_string()),
        other => ApiError::unauthorized("invalid_token", other.to_string()),
    })?;
    let id = UserId::parse(&claims.sub).map_err(|e| {
        ApiError::unauthorized(
            "invalid_token",
            format!("the token's sub is not a user id: {e}"),
        )
    })?;
    Ok(Caller {
        id,
        name: claims.name,
        role: claims.role,
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        let caller = caller_from_token(state, token)?;
        super::support::ensure_profile(state, &caller).await?;
        Ok(caller)
    }
}

/// A JSON body. Not JSON → 415; malformed JSON → 400 `malformed_json`; a missing field, a
/// wrong type or an unknown enum value → 422 `invalid` naming the field (`participants[1]`);
/// too large → 413 (the body limit layer).
#[derive(Debug, Clone)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let essence = v.split(';').next().unwrap_or("").trim();
                essence.eq_ignore_ascii_case("application/json")
                    || essence.to_ascii_lowercase().ends_with("+json")
            })
            .unwrap_or(false);
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON (Content-Type: application/json)",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "the body is larger than the server accepts",
                    )
                } else {
                    ApiError::bad_request("unreadable_body", "the body could not be read")
                }
            })?;
        parse_json(&bytes).map(Body)
    }
}

/// Deserializes JSON, naming the path of the field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
                "malformed_json",
                format!("the body is not valid JSON: {inner}"),
            ),
            Category::Data => {
                let field = if field == "." {
                    "body".to_string()
                } else {
                    field
                };
                ApiError::invalid(field.clone(), format!("{field}: {inner}"))
            }
        }
    })?;
    de.end().map_err(|e| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
    })?;
    Ok(value)
}

/// Query-string parameters. A wrong type or unknown value → 400 `invalid_query` naming the
/// parameter.
#[derive(Debug, Clone)]
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or("")).map(Params)
    }
}

/// Deserializes a query string, naming the parameter at fault.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let detail = format!("{field}: {}", e.into_inner());
        ApiError::bad_request("invalid_query", detail).with_field(field)
    })
}

/// A conversation id from the path (`conversationId`): 400 `invalid_id` if it is no UUID.
pub fn conversation_id(raw: &str) -> Result<ConversationId, ApiError> {
    raw.parse::<uuid::Uuid>()
        .map(ConversationId::from_uuid)
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_id",
                format!("conversationId `{raw}` is not a UUID"),
            )
            .with_field("conversationId")
        })
}

/// A message id from the path or a body (`field`): 400 `invalid_id` if it is no UUID.
pub fn message_id(raw: &str, field: &str) -> Result<MessageId, ApiError> {
    raw.parse::<uuid::Uuid>()
        .map(MessageId::from_uuid)
        .map_err(|_| {
            ApiError::bad_request("invalid_id", format!("{field} `{raw}` is not a UUID"))
                .with_field(field)
        })
}

/// A user id from the path or a body (`field`): 422 `invalid` if it breaks the id rules.
pub fn user_id(raw: &str, field: &str) -> Result<UserId, ApiError> {
    UserId::parse(raw).map_err(|e| ApiError::invalid(field, format!("{field}: {e}")))
}
