//! What handlers share: running commands as the caller, reading the read models, checking
//! that the caller takes part in a conversation, and registering callers' profiles.

use chrono::Utc;
use futures::future::BoxFuture;
use pawpost_commands::{CommandError, CommandMeta, Outcome};
use pawpost_domain::conversation::MessageLookup;
use pawpost_domain::values::DisplayName;
use pawpost_domain::{
    ConversationCommand, ConversationId, ConversationState, DomainError, MessageId, UserCommand,
    UserId, UserState,
};
use pawpost_projections::db::{DbError, Tx};
use pawpost_projections::queries;
use uuid::Uuid;

use super::extract::Caller;
use super::problem::{ApiError, ApiResult};
use crate::AppState;

/// Namespace of command ids derived from client-chosen keys (tempId, Idempotency-Key).
const COMMAND_NAMESPACE: Uuid = Uuid::from_u128(0x5a1d_7e0c_3b8e_4f7a_9d2c_1e6b_8f40_a7c3);

/// Who issued a command.
pub fn meta(caller: &Caller) -> CommandMeta {
    CommandMeta {
        actor_id: Some(caller.id.to_string()),
        ..CommandMeta::default()
    }
}

/// A fresh command id (not idempotent across retries).
pub fn fresh_command_id() -> Uuid {
    Uuid::now_v7()
}

/// A command id derived from `parts` (the same parts give the same id: a retry of the same
/// request is recognised and answered with the original outcome).
pub fn derived_command_id(parts: &[&str]) -> Uuid {
    Uuid::new_v5(&COMMAND_NAMESPACE, parts.join("\n").as_bytes())
}

/// Runs `command` on the conversation's stream as `caller`.
pub async fn conversation_command(
    state: &AppState,
    caller: &Caller,
    conversation: ConversationId,
    command_id: Uuid,
    command: ConversationCommand,
) -> ApiResult<Outcome<ConversationState>> {
    Ok(state
        .conversations
        .execute(&conversation.stream(), command_id, &command, &meta(caller))
        .await?)
}

/// Times a message command looks its message up again after the facts were stale.
const FACT_ATTEMPTS: usize = 4;

/// The facts of `message` in `conversation` for a command of `caller` (read model).
pub async fn look_up(
    state: &AppState,
    caller: &Caller,
    conversation: ConversationId,
    message: MessageId,
) -> ApiResult<MessageLookup> {
    let (conv, actor) = (conversation.to_string(), caller.id.clone());
    query(state, move |tx| {
        Box::pin(async move { queries::message_facts::lookup(tx, &conv, message, &actor).await })
    })
    .await
}

/// Runs a command about one message (`build` makes it from the message's looked-up facts)
/// on the conversation's stream as `caller`, under a fresh command id. When the facts were
/// older than the conversation's last message change (`StaleFacts`), waits for the messages
/// projection to reach the log's head and looks again, a bounded number of times.
pub async fn message_command(
    state: &AppState,
    caller: &Caller,
    conversation: ConversationId,
    message: MessageId,
    build: impl Fn(MessageLookup) -> ConversationCommand,
) -> ApiResult<Outcome<ConversationState>> {
    let stream = conversation.stream();
    let mut last = DomainError::StaleFacts;
    for _ in 0..FACT_ATTEMPTS {
        let lookup = look_up(state, caller, conversation, message).await?;
        let command = build(lookup);
        match state
            .conversations
            .execute_new(&stream, &command, &meta(caller))
            .await
        {
            Err(CommandError::Domain(DomainError::StaleFacts)) => {
                last = DomainError::StaleFacts;
                let head = *state.store.appended().borrow();
                state
                    .projections
                    .wait_for_one("messages", head, state.settings.read_your_writes)
                    .await;
            }
            other => return Ok(other?),
        }
    }
    Err(last.into())
}

/// Runs `command` on `user`'s own stream as `caller`.
pub async fn user_command(
    state: &AppState,
    caller: &Caller,
    user: &UserId,
    command_id: Uuid,
    command: UserCommand,
) -> ApiResult<Outcome<UserState>> {
    Ok(state
        .users
        .execute(&user.stream(), command_id, &command, &meta(caller))
        .await?)
}

/// Runs read-model queries `f` in one reading transaction (one consistent snapshot).
pub async fn query<T, F>(state: &AppState, f: F) -> ApiResult<T>
where
    F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, DbError>>,
{
    let mut tx = state.projections.db().read().await?;
    Ok(f(&mut tx).await?)
}

/// 404 unless `caller` is a current participant of `conversation` (a conversation the caller
/// cannot see is not disclosed to exist).
pub async fn require_participant(
    state: &AppState,
    caller: &Caller,
    conversation: ConversationId,
) -> ApiResult<()> {
    let (user, conv) = (caller.id.to_string(), conversation.to_string());
    if query(state, move |tx| {
        Box::pin(async move { queries::conversations::is_participant(tx, &user, &conv).await })
    })
    .await?
    {
        Ok(())
    } else {
        Err(ApiError::not_found("conversation"))
    }
}

/// Whether pawpost knows `user` (a profile from a token or from `PUT /users/{id}`).
pub async fn is_known_user(state: &AppState, user: &UserId) -> ApiResult<bool> {
    if state
        .known_users
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(user.as_str())
    {
        return Ok(true);
    }
    let id = user.to_string();
    Ok(query(state, move |tx| {
        Box::pin(async move { queries::users::get(tx, &id).await })
    })
    .await?
    .is_some())
}

/// Users are known from their tokens: the first request of a user without a profile records
/// one from the token's `name` and `role` (a profile set through `PUT /users/{id}` is never
/// overwritten). Remembered per process so later requests cost a set look-up.
pub async fn ensure_profile(state: &AppState, caller: &Caller) -> ApiResult<()> {
    if state
        .known_users
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(caller.id.as_str())
    {
        return Ok(());
    }
    let id = caller.id.to_string();
    let known = query(state, move |tx| {
        Box::pin(async move { queries::users::get(tx, &id).await })
    })
    .await?
    .is_some();
    if !known {
        let name = if caller.name.trim().is_empty() {
            caller.id.to_string()
        } else {
            caller.name.clone()
        };
        let display_name = DisplayName::parse(&name)
            .or_else(|_| DisplayName::parse(caller.id.as_str()))
            .map_err(|e| ApiError::unauthorized("invalid_token", format!("token name: {e}")))?;
        let command = UserCommand::UpdateProfile {
            actor: caller.id.clone(),
            display_name,
            avatar_url: None,
            role: Some(caller.role.as_str().to_string()),
            locale: None,
            at: Utc::now(),
        };
        let id = derived_command_id(&["profile-from-token", caller.id.as_str()]);
        let outcome = user_command(state, caller, &caller.id, id, command).await?;
        // Others may look this user up right away (adding them to a conversation).
        let _ = super::consistency::settle(state, outcome.position).await;
    }
    state
        .known_users
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(caller.id.to_string());
    Ok(())
}
