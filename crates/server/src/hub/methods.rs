//! Hub methods about messages and reads, with the seed's signatures, through the same command
//! handling and rules as REST: `MarkAsRead(conversationId, lastReadMessageId)`,
//! `MarkAsDelivered(conversationId, messageId)`, `EditMessage(messageId, content)`,
//! `DeleteMessage(messageId, forEveryone?)`, `AddReaction(messageId, reaction)`,
//! `RemoveReaction(messageId, reaction)`, `Sync(cursor?)`. They answer when the change is
//! stored; the pushes that follow (`MessagesRead`, `MessageEdited`, …) come from the log through
//! the dispatcher, like those of REST commands.

use pawpost_domain::values::{MessageBody, Reaction};
use pawpost_domain::{ConversationId, MessageId};
use pawpost_signalr::{bind, HubError};
use serde_json::Value;

use super::{hub_error, MessagingHub};
use pawpost_app::AppError;

use crate::auth::Caller;
use crate::dto::ids::{conversation_id, message_id};

/// Answers `target` (lower-cased in `lower`) if it is one of these methods; `None` otherwise.
pub(super) async fn invoke(
    hub: &MessagingHub,
    caller: &Caller,
    lower: &str,
    target: &str,
    arguments: &[Value],
) -> Option<Result<Option<Value>, HubError>> {
    let args = arguments.to_vec();
    let answer = match lower {
        "markasread" | "markasdelivered" => {
            marker(hub, caller, target, args, lower == "markasread").await
        }
        "editmessage" => edit(hub, caller, target, args).await,
        "deletemessage" => delete(hub, caller, target, args).await,
        "addreaction" | "removereaction" => {
            react(hub, caller, target, args, lower == "addreaction").await
        }
        "sync" => sync(hub, caller, target, args).await,
        _ => return None,
    };
    Some(answer)
}

/// The conversation of a message the caller can reach (404 `not_found` otherwise).
async fn conversation_of(
    hub: &MessagingHub,
    caller: &Caller,
    message: MessageId,
) -> Result<ConversationId, HubError> {
    hub.state
        .app
        .conversation_of(caller, message)
        .await
        .map_err(hub_error)
}

/// A command's answer on the hub: nothing (the pushes that follow carry the change).
fn done(result: Result<Option<pawpost_store::Position>, AppError>) -> Answer {
    result.map(|_| None).map_err(hub_error)
}

type Answer = Result<Option<Value>, HubError>;

/// `MarkAsRead(conversationId, lastReadMessageId)` / `MarkAsDelivered(conversationId,
/// messageId)`.
async fn marker(
    hub: &MessagingHub,
    caller: &Caller,
    target: &str,
    args: Vec<Value>,
    read: bool,
) -> Answer {
    let (conversation, message): (String, String) = bind(target, args)?;
    let conversation = conversation_id(&conversation).map_err(hub_error)?;
    let message = message_id(&message, "messageId").map_err(hub_error)?;
    done(
        hub.state
            .app
            .mark(caller, conversation, message, read)
            .await,
    )
}

/// `EditMessage(messageId, content)`: the author only.
async fn edit(hub: &MessagingHub, caller: &Caller, target: &str, args: Vec<Value>) -> Answer {
    let (message, content): (String, String) = bind(target, args)?;
    let message = message_id(&message, "messageId").map_err(hub_error)?;
    let body = MessageBody::parse(&content)
        .map_err(|e| hub_error(AppError::invalid("content", e.to_string())))?;
    let conversation = conversation_of(hub, caller, message).await?;
    done(
        hub.state
            .app
            .edit_message(caller, conversation, message, body)
            .await,
    )
}

/// `DeleteMessage(messageId, forEveryone?)`: for everyone (author, group admin) or, by
/// default, for the caller only.
async fn delete(hub: &MessagingHub, caller: &Caller, target: &str, mut args: Vec<Value>) -> Answer {
    if args.len() == 1 {
        args.push(Value::Bool(false));
    }
    let (message, for_everyone): (String, bool) = bind(target, args)?;
    let message = message_id(&message, "messageId").map_err(hub_error)?;
    let conversation = conversation_of(hub, caller, message).await?;
    let app = &hub.state.app;
    done(if for_everyone {
        app.delete_for_everyone(caller, conversation, message).await
    } else {
        app.delete_for_me(caller, conversation, message).await
    })
}

/// `AddReaction(messageId, reaction)` / `RemoveReaction(messageId, reaction)`.
async fn react(
    hub: &MessagingHub,
    caller: &Caller,
    target: &str,
    args: Vec<Value>,
    add: bool,
) -> Answer {
    let (message, reaction): (String, String) = bind(target, args)?;
    let message = message_id(&message, "messageId").map_err(hub_error)?;
    let reaction = Reaction::parse(&reaction)
        .map_err(|e| hub_error(AppError::invalid("reaction", e.to_string())))?;
    let conversation = conversation_of(hub, caller, message).await?;
    done(
        hub.state
            .app
            .react(caller, conversation, message, reaction, add)
            .await,
    )
}

/// `Sync(cursor?)`: the caller's changes after the cursor (a page of the REST sync feed:
/// `{events, nextCursor, hasMore}`); a client that reconnects calls it with the `cursor` of
/// the last push it handled.
async fn sync(
    hub: &MessagingHub,
    caller: &Caller,
    target: &str,
    mut args: Vec<Value>,
) -> Result<Option<Value>, HubError> {
    if args.is_empty() {
        args.push(Value::Null);
    }
    let (cursor,): (Option<String>,) = bind(target, args)?;
    let page = hub
        .state
        .app
        .sync(caller, cursor.as_deref(), None)
        .await
        .map_err(hub_error)?;
    serde_json::to_value(page)
        .map(Some)
        .map_err(|e| HubError::new(e.to_string()))
}
