//! Request extractors whose failures are problem+json naming the field at fault: the caller
//! (Bearer token), JSON bodies, query strings, and ids in paths.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::StatusCode;
use pawpost_domain::{ConversationId, MessageId, UserId};
use serde::de::DeserializeOwned;

use super::problem::ApiError;

use crate::dto::ids;
use crate::AppState;

pub use crate::auth::{caller_from_token, Caller};

/// The token of `Authorization: Bearer <token>`.
pub(super) fn bearer(parts: &Parts) -> Result<&str, ApiError> {
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

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        Ok(caller_from_token(state, token)?)
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

/// Deserializes JSON, naming the path of the field at fault: text that is not JSON is 400
/// `malformed_json`; JSON of the wrong shape (a missing field, a wrong type, an unknown enum
/// value) is 422 `invalid` with the field's path (`participants[1]`, `location.latitude`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
    })?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        // serde reports a missing field at the object that lacks it: name the field itself.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => name.to_string(),
            (".", None) => "body".to_string(),
            (_, Some(name)) => format!("{path}.{name}"),
            (_, None) => path,
        };
        ApiError::invalid(field.clone(), format!("{field}: {message}"))
    })
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

/// A conversation id from the path or a body: 400 `invalid_id` if it is no UUID.
pub fn conversation_id(raw: &str) -> Result<ConversationId, ApiError> {
    Ok(ids::conversation_id(raw)?)
}

/// A message id from the path or a body (`field`): 400 `invalid_id` if it is no UUID.
pub fn message_id(raw: &str, field: &str) -> Result<MessageId, ApiError> {
    Ok(ids::message_id(raw, field)?)
}

/// A user id from the path or a body (`field`): 422 `invalid` if it breaks the id rules.
pub fn user_id(raw: &str, field: &str) -> Result<UserId, ApiError> {
    Ok(ids::user_id(raw, field)?)
}

#[cfg(test)]
mod tests {
    //! Property tests of the request parsers: any input gives a value or a 4xx naming the
    //! field; never a panic.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::Value;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Sample {
        #[serde(rename = "type")]
        kind: Kind,
        participants: Vec<String>,
        title: Option<String>,
        until: Option<chrono::DateTime<chrono::Utc>>,
        nested: Option<Nested>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Nested {
        count: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Direct,
        Group,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Query {
        page: Option<u32>,
        archived: Option<bool>,
        kind: Option<Kind>,
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-z]{0,8}".prop_map(Value::from),
            prop_oneof![Just("direct"), Just("group"), Just("2026-11-24T10:00:00Z")]
                .prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("type".to_string()),
                        Just("participants".to_string()),
                        Just("title".to_string()),
                        Just("until".to_string()),
                        Just("nested".to_string()),
                        Just("count".to_string()),
                        "[a-z]{1,6}".prop_map(String::from),
                    ],
                    inner,
                    0..6,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_are_a_value_or_a_400(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            if let Err(e) = parse_json::<Sample>(&bytes) {
                prop_assert!(
                    e.status == StatusCode::BAD_REQUEST || e.status == StatusCode::UNPROCESSABLE_ENTITY,
                    "{e}"
                );
            }
        }

        #[test]
        fn well_formed_json_of_the_wrong_shape_names_the_field(value in json_value()) {
            let bytes = serde_json::to_vec(&value).unwrap();
            match parse_json::<Sample>(&bytes) {
                Ok(_) => {}
                Err(e) => {
                    prop_assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", e);
                    prop_assert_eq!(e.code, "invalid");
                    let field = e.field.clone().unwrap_or_default();
                    prop_assert!(!field.is_empty(), "{}", e);
                    prop_assert!(e.detail.starts_with(&field), "{}", e);
                }
            }
        }

        #[test]
        fn arbitrary_query_strings_are_a_value_or_a_400(query in "[a-zA-Z0-9=&%+_.\\-\\[\\]]{0,60}") {
            if let Err(e) = parse_query::<Query>(&query) {
                prop_assert_eq!(e.status, StatusCode::BAD_REQUEST);
                prop_assert_eq!(e.code, "invalid_query");
            }
        }

        #[test]
        fn ids_parse_or_are_refused(raw in ".{0,50}") {
            let _ = conversation_id(&raw);
            let _ = message_id(&raw, "messageId");
            let _ = user_id(&raw, "userId");
        }
    }

    #[test]
    fn the_field_at_fault_is_named() {
        let e =
            parse_json::<Sample>(br#"{"type": "group", "participants": ["a", 3]}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("participants[1]"));
        let e = parse_json::<Sample>(br#"{"type": "secret", "participants": []}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("type"));
        let e = parse_json::<Sample>(br#"{"type": "group"}"#).unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.field.as_deref(), Some("participants"));
        let e = parse_json::<Sample>(br#"{"type": "group", "participants": [], "nested": {}}"#)
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("nested.count"));
        let e = parse_json::<Sample>(
            br#"{"type": "group", "participants": [], "nested": {"count": -1}}"#,
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("nested.count"));
        let e = parse_json::<Sample>(br#"{"type": "group", "participants": []} x"#).unwrap_err();
        assert_eq!(e.code, "malformed_json");
        let e = parse_query::<Query>("page=-1").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("page"));
        let e = parse_query::<Query>("archived=maybe").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("archived"));
        assert!(parse_query::<Query>("page=2&archived=true&kind=direct&other=1").is_ok());
    }
}
