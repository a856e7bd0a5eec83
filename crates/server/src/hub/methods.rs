//! Hub methods about messages and reads, with the seed's signatures, through the same command
//! handling and rules as REST: `MarkAsRead(conversationId, lastReadMessageId)`,
//! `MarkAsDelivered(conversationId, messageId)`, `EditMessage(messageId, content)`,
//! `DeleteMessage(messageId, forEveryone?)`, `AddReaction(messageId, reaction)`,
//! `RemoveReaction(messageId, reaction)`, `Sync(cursor?)`. They answer when the change is
//! stored; the pushes that follow (`MessagesRead`, `MessageEdited`, …) come from the log through
//! the dispatcher, like those of REST commands.

use chrono::Utc;
use pawpost_domain::conversation::MessageLookup;
use pawpost_domain::values::{MessageBody, Reaction};
use pawpost_domain::{ConversationCommand, ConversationId, MessageId, UserCommand};
use pawpost_signalr::{bind, HubError};
use serde_json::Value;

use super::{hub_error, MessagingHub};
use crate::http::extract::{conversation_id, message_id, Caller};
use crate::http::problem::ApiError;
use crate::http::support;

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

/// The conversation of a message the caller can reach (404 `not_found` otherwise, whether it
/// does not exist or the caller takes no part).
async fn conversation_of(
    hub: &MessagingHub,
    caller: &Caller,
    message: MessageId,
) -> Result<ConversationId, HubError> {
    let id = message.to_string();
    let found = support::query(&hub.state, move |tx| {
        Box::pin(async move {
            tx.query_opt(
                "SELECT conversation_id FROM rm_messages WHERE id = $1",
                &[id.into()],
            )
            .await?
            .map(|r| r.text(0))
            .transpose()
        })
    })
    .await
    .map_err(hub_error)?;
    let conversation = found
        .and_then(|c| c.parse::<uuid::Uuid>().ok())
        .map(ConversationId::from_uuid)
        .ok_or_else(|| hub_error(ApiError::not_found("message")))?;
    support::require_participant(&hub.state, caller, conversation)
        .await
        .map_err(|_| hub_error(ApiError::not_found("message")))?;
    Ok(conversation)
}

/// Runs a command about `message` (built from its looked-up facts) as the caller; a void
/// answer.
async fn run(
    hub: &MessagingHub,
    caller: &Caller,
    conversation: ConversationId,
    message: MessageId,
    build: impl Fn(MessageLookup) -> ConversationCommand,
) -> Result<Option<Value>, HubError> {
    support::message_command(&hub.state, caller, conversation, message, build)
        .await
        .map_err(hub_error)?;
    Ok(None)
}

/// `MarkAsRead(conversationId, lastReadMessageId)` / `MarkAsDelivered(conversationId,
/// messageId)`.
async fn marker(
    hub: &MessagingHub,
    caller: &Caller,
    target: &str,
    args: Vec<Value>,
    read: bool,
) -> Result<Option<Value>, HubError> {
    let (conversation, message): (String, String) = bind(target, args)?;
    let conversation = conversation_id(&conversation).map_err(hub_error)?;
    let message = message_id(&message, "messageId").map_err(hub_error)?;
    support::require_participant(&hub.state, caller, conversation)
        .await
        .map_err(hub_error)?;
    let (actor, at) = (caller.id.clone(), Utc::now());
    run(hub, caller, conversation, message, |message| {
        let actor = actor.clone();
        if read {
            ConversationCommand::MarkRead { actor, message, at }
        } else {
            ConversationCommand::MarkDelivered { actor, message, at }
        }
    })
    .await
}

/// `EditMessage(messageId, content)`: the author only.
async fn edit(
    hub: &MessagingHub,
    caller: &Caller,
    target: &str,
    args: Vec<Value>,
) -> Result<Option<Value>, HubError> {
    let (message, content): (String, String) = bind(target, args)?;
    let message = message_id(&message, "messageId").map_err(hub_error)?;
    let body = MessageBody::parse(&content)
        .map_err(|e| hub_error(ApiError::invalid("content", e.to_string())))?;
    let conversation = conversation_of(hub, caller, message).await?;
    let at = Utc::now();
    run(hub, caller, conversation, message, |message| {
        ConversationCommand::EditMessage {
            actor: caller.id.clone(),
            message,
            body: body.clone(),
            at,
        }
    })
    .await
}

/// `DeleteMessage(messageId, forEveryone?)`: for everyone (author, group admin) or, by
/// default, for the caller only.
async fn delete(
    hub: &MessagingHub,
    caller: &Caller,
    target: &str,
    mut args: Vec<Value>,
) -> Result<Option<Value>, HubError> {
    if args.len() == 1 {
        args.push(Value::Bool(false));
    }
    let (message, for_everyone): (String, bool) = bind(target, args)?;
    let message = message_id(&message, "messageId").map_err(hub_error)?;
    let conversation = conversation_of(hub, caller, message).await?;
    if for_everyone {
        let at = Utc::now();
        return run(hub, caller, conversation, message, |message| {
            ConversationCommand::DeleteForEveryone {
                actor: caller.id.clone(),
                message,
                at,
            }
        })
        .await;
    }
    let (user, id) = (caller.id.to_string(), message.to_string());
    let visible = support::query(&hub.state, move |tx| {
        Box::pin(
            async move { pawpost_projections::queries::messages::get(tx, &user, &id, false).await },
        )
    })
    .await
    .map_err(hub_error)?
    .is_some();
    if !visible {
        return Err(hub_error(ApiError::not_found("message")));
    }
    let command = UserCommand::DeleteForMe {
        actor: caller.id.clone(),
        conversation_id: conversation,
        message_ids: vec![message],
        visible_to_actor: true,
        at: Utc::now(),
    };
    support::user_command(
        &hub.state,
        caller,
        &caller.id,
        support::fresh_command_id(),
        command,
    )
    .await
    .map_err(hub_error)?;
    Ok(None)
}

/// `AddReaction(messageId, reaction)` / `RemoveReaction(messageId, reaction)`.
async fn react(
    hub: &MessagingHub,
    caller: &Caller,
    target: &str,
    args: Vec<Value>,
    add: bool,
) -> Result<Option<Value>, HubError> {
    let (message, reaction): (String, String) = bind(target, args)?;
    let message = message_id(&message, "messageId").map_err(hub_error)?;
    let reaction = Reaction::parse(&reaction)
        .map_err(|e| hub_error(ApiError::invalid("reaction", e.to_string())))?;
    let conversation = conversation_of(hub, caller, message).await?;
    let (actor, at) = (caller.id.clone(), Utc::now());
    run(hub, caller, conversation, message, |message| {
        let (actor, reaction) = (actor.clone(), reaction.clone());
        if add {
            ConversationCommand::AddReaction {
                actor,
                message,
                reaction,
                at,
            }
        } else {
            ConversationCommand::RemoveReaction {
                actor,
                message,
                reaction,
                at,
            }
        }
    })
    .await
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
    let page = crate::http::sync::sync_page(&hub.state, caller, cursor.as_deref(), None)
        .await
        .map_err(hub_error)?;
    serde_json::to_value(page)
        .map(Some)
        .map_err(|e| HubError::new(e.to_string()))
}
