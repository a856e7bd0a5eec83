//! The two HTTP endpoints of a hub: `POST {hub}/negotiate` (v0 and v1: a connection id and,
//! from v1, a secret token, kept a while in the negotiated-connection table) and `GET {hub}`,
//! the WebSocket upgrade (with a negotiated `id`, or without one for skipNegotiation), which
//! hands the socket to [`connection::run`]. Both authenticate the bearer token first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{connection, HubServer, Pending};
use crate::connections::ConnectionId;
use crate::hub::{Connection, Hub};

/// Initial read buffer of a connection's socket (grows for larger frames).
const READ_BUFFER: usize = 8 * 1024;

/// The bearer token of a request: `access_token` query (browsers) or `Authorization` header.
fn token<'a>(query: &'a HashMap<String, String>, headers: &'a HeaderMap) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("access_token"))
        .map(|(_, v)| v.as_str())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        })
        .filter(|t| !t.is_empty())
}

fn query_value<'a>(query: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

fn unauthorized(detail: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        detail.to_string(),
    )
        .into_response()
}

/// `POST {hub}/negotiate[?negotiateVersion=1]`.
pub(super) async fn negotiate<H: Hub>(
    State(server): State<HubServer<H>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = server.inner.hub.authenticate(token(&query, &headers)) {
        return unauthorized(&e.0);
    }
    let version = query_value(&query, "negotiateVersion")
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0)
        .min(1);
    let connection_id: ConnectionId = uuid::Uuid::new_v4().to_string().into();
    let connection_token = if version >= 1 {
        uuid::Uuid::new_v4().to_string()
    } else {
        connection_id.to_string()
    };
    {
        let mut pending = server
            .inner
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let ttl = server.inner.options.negotiate_ttl;
        pending.retain(|_, p| p.connected || p.created.elapsed() < ttl);
        pending.insert(
            connection_token.clone(),
            Pending {
                connection_id: connection_id.clone(),
                created: Instant::now(),
                connected: false,
            },
        );
    }
    let transports = json!([{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}]);
    let body = if version >= 1 {
        json!({"connectionId": &*connection_id, "connectionToken": connection_token,
               "negotiateVersion": 1, "availableTransports": transports})
    } else {
        json!({"connectionId": &*connection_id, "negotiateVersion": 0,
               "availableTransports": transports})
    };
    Json(body).into_response()
}

/// `GET {hub}?id=<token>` (after negotiate) or `GET {hub}` (skipNegotiation): the WebSocket.
pub(super) async fn connect<H: Hub>(
    State(server): State<HubServer<H>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let user = match server.inner.hub.authenticate(token(&query, &headers)) {
        Ok(u) => Arc::new(u),
        Err(e) => return unauthorized(&e.0),
    };
    let Ok(upgrade) = upgrade else {
        return (StatusCode::BAD_REQUEST, "only WebSockets are served").into_response();
    };
    if *server.inner.stopping.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    let connection_id = match query_value(&query, "id") {
        None => uuid::Uuid::new_v4().to_string().into(),
        Some(token) => {
            let mut pending = server
                .inner
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match pending.get_mut(token) {
                None => {
                    return (StatusCode::NOT_FOUND, "No Connection with that ID").into_response()
                }
                Some(p) if p.connected => {
                    return (StatusCode::CONFLICT, "the connection is already open").into_response()
                }
                Some(p) => {
                    p.connected = true;
                    p.connection_id.clone()
                }
            }
        }
    };
    let token = query_value(&query, "id").map(str::to_string);
    upgrade
        // Small buffers (they grow for larger frames): an idle connection should cost little,
        // and every write goes out at once (no batching behind a latency).
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        // Frames may hold several messages; the decoder enforces the per-message limit and
        // answers with a Close naming it. Frames beyond this are dropped by the socket.
        .max_message_size(
            server
                .inner
                .options
                .max_message_size
                .saturating_mul(4)
                .max(64 * 1024),
        )
        .on_upgrade(move |socket| async move {
            let connection = Connection {
                id: connection_id,
                user,
            };
            connection::run(server.clone(), socket, connection).await;
            if let Some(token) = token {
                server
                    .inner
                    .pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&token);
            }
        })
}
