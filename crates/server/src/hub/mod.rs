//! The messaging hub at `/hubs/messaging` (DESIGN.md §7): the SignalR face of pawpost, on the
//! generic server of `pawpost-signalr`. Hub methods go through the same code as REST (same
//! rules, same command handling); pushes come from the event log through the live dispatcher
//! (`dispatch.rs`), never from request handlers.
//!
//! Groups: each conversation is a group `conversation:<id>` holding the connections of its
//! current participants: joined at connect from the read models, then kept up to date by the
//! dispatcher as membership events pass.

mod calls;
mod dispatch;
mod live;
mod methods;

use std::sync::Arc;

use async_trait::async_trait;
use pawpost_domain::ConversationId;
use pawpost_signalr::{bind, Connection, Connections, Hub, HubError, HubServer, Unauthorized};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{caller_from_token, Caller};
use crate::dto::ids::conversation_id;
use pawpost_app::messages::{Answer, SendOutcome};

use crate::dto::send::{self as dto, SendRequest, SentMessage};
use crate::AppState;
use pawpost_app::AppError;

pub use dispatch::spawn_dispatcher;

/// Where the hub is mounted.
pub const PATH: &str = "/hubs/messaging";

/// The group of a conversation's participants' connections.
pub fn group(conversation: &str) -> String {
    format!("conversation:{conversation}")
}

/// The hub.
pub struct MessagingHub {
    pub(crate) state: AppState,
    pub(crate) connections: Connections,
}

/// The hub server and its connections, built once per process.
pub fn build(state: AppState) -> (HubServer<MessagingHub>, Connections) {
    let connections = Connections::default();
    let hub = Arc::new(MessagingHub {
        state,
        connections: connections.clone(),
    });
    let server = HubServer::with_connections(hub, Default::default(), connections.clone());
    (server, connections)
}

/// An application error as a completion error (its detail; the code in brackets).
pub(crate) fn hub_error(e: AppError) -> HubError {
    HubError::new(format!("{} ({})", e.detail, e.code))
}

/// `SendMessage`'s argument: the REST body plus the conversation.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendArgs {
    conversation_id: String,
    #[serde(flatten)]
    request: SendRequest,
}

#[async_trait]
impl Hub for MessagingHub {
    type User = Caller;

    fn authenticate(&self, token: Option<&str>) -> Result<Caller, Unauthorized> {
        let token = token.ok_or_else(|| Unauthorized("a Bearer token is required".into()))?;
        caller_from_token(&self.state, token).map_err(|e| Unauthorized(e.detail))
    }

    fn user_key(&self, user: &Caller) -> String {
        user.id.to_string()
    }

    async fn on_connected(&self, connection: &Connection<Caller>) {
        // The hub's one place to register its users from their tokens.
        if let Err(e) = self.state.app.register(&connection.user).await {
            tracing::warn!(error = %e, "recording a profile from a hub token failed");
        }
        let conversations = self
            .state
            .app
            .active_conversations(&connection.user.id)
            .await;
        match conversations {
            Ok(ids) => {
                for id in ids {
                    self.connections.add_to_group(&connection.id, &group(&id));
                }
            }
            Err(e) => tracing::warn!(error = %e, "joining conversation groups failed"),
        }
        live::connected(self, connection).await;
    }

    async fn invoke(
        &self,
        connection: &Connection<Caller>,
        target: &str,
        arguments: Vec<Value>,
    ) -> Result<Option<Value>, HubError> {
        let caller = &connection.user;
        match target.to_ascii_lowercase().as_str() {
            "sendmessage" => {
                let (args,): (SendArgs,) = bind(target, arguments)?;
                let conversation: ConversationId =
                    conversation_id(&args.conversation_id).map_err(hub_error)?;
                let message = dto::parse(&args.request).map_err(hub_error)?;
                match self
                    .state
                    .app
                    .send_message(caller, conversation, message, Answer::Durable)
                    .await
                    .map_err(hub_error)?
                {
                    SendOutcome::Sent(sent) => Ok(Some(
                        serde_json::to_value(SentMessage::from(*sent))
                            .map_err(|e| HubError::new(e.to_string()))?,
                    )),
                    SendOutcome::Lagging(p) => Ok(Some(
                        json!({"status": "accepted", "position": crate::cursor::encode(p)}),
                    )),
                }
            }
            _ => {
                let lower = target.to_ascii_lowercase();
                if let Some(answer) =
                    methods::invoke(self, caller, &lower, target, &arguments).await
                {
                    return answer;
                }
                if let Some(answer) =
                    live::invoke(self, connection, &lower, target, &arguments).await
                {
                    return answer;
                }
                Err(HubError::unknown_method(target))
            }
        }
    }

    async fn on_disconnected(&self, connection: &Connection<Caller>) {
        live::disconnected(self, connection).await;
    }
}
