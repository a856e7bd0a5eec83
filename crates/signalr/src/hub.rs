//! What an application provides: a [`Hub`] that authenticates connections and answers their
//! invocations. The generic server calls it; it never sees frames.

use std::sync::Arc;

use serde_json::Value;

use crate::connections::ConnectionId;

/// A connection as the hub sees it.
#[derive(Debug, Clone)]
pub struct Connection<U> {
    /// Public id (others address this connection by it).
    pub id: ConnectionId,
    /// Who authenticated it.
    pub user: Arc<U>,
}

/// Why an invocation failed: the text goes back in the Completion's `error`; the connection
/// stays up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HubError(pub String);

impl HubError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        HubError(message.into())
    }

    /// The answer to a method the hub does not have.
    pub fn unknown_method(target: &str) -> Self {
        HubError(format!("Unknown hub method '{target}'"))
    }

    /// The answer to arguments that do not bind.
    pub fn bad_arguments(target: &str, detail: impl std::fmt::Display) -> Self {
        HubError(format!("Invalid arguments for '{target}': {detail}"))
    }
}

/// Why a connection attempt is refused (answered 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unauthorized(pub String);

/// An application's hub.
#[async_trait::async_trait]
pub trait Hub: Send + Sync + 'static {
    /// Who may connect: the principal a valid token names.
    type User: Send + Sync + 'static;

    /// Checks the token (from `access_token` or `Authorization: Bearer`); `None` if none was
    /// sent.
    fn authenticate(&self, token: Option<&str>) -> Result<Self::User, Unauthorized>;

    /// The user key under which connections are grouped (pushes to a user reach all of them).
    fn user_key(&self, user: &Self::User) -> String;

    /// A connection finished its handshake.
    async fn on_connected(&self, _connection: &Connection<Self::User>) {}

    /// A connection closed (any reason).
    async fn on_disconnected(&self, _connection: &Connection<Self::User>) {}

    /// Answers an invocation: `Ok(None)` for a void method, `Ok(Some(value))` for a result.
    async fn invoke(
        &self,
        connection: &Connection<Self::User>,
        target: &str,
        arguments: Vec<Value>,
    ) -> Result<Option<Value>, HubError>;
}

/// Binds invocation arguments to a typed tuple or struct: `bind::<(String, u32)>(target,
/// args)`; a mismatch is a [`HubError`] naming the method.
pub fn bind<T: serde::de::DeserializeOwned>(
    target: &str,
    arguments: Vec<Value>,
) -> Result<T, HubError> {
    serde_json::from_value(Value::Array(arguments)).map_err(|e| HubError::bad_arguments(target, e))
}
