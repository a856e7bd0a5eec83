//! What handlers share: running commands as the caller, reading the read models, checking
//! that the caller takes part in a conversation, and registering callers' profiles.

use futures::future::BoxFuture;
use pawpost_commands::{CommandMeta, Outcome};
use pawpost_domain::{
    ConversationCommand, ConversationId, ConversationState, UserCommand, UserId, UserState,
};
use pawpost_projections::db::{DbError, Tx};
use pawpost_projections::queries;
use uuid::Uuid;

use super::extract::Caller;
use super::problem::{ApiError, ApiResult};
use crate::AppState;

/// Who issued a command.
pub fn meta(caller: &Caller) -> CommandMeta {
    caller.meta()
}

/// A fresh command id (not idempotent across retries).
pub fn fresh_command_id() -> Uuid {
    Uuid::now_v7()
}

/// A command id derived from `parts` (the same parts give the same id: a retry of the same
/// request is recognised and answered with the original outcome).
pub fn derived_command_id(parts: &[&str]) -> Uuid {
    pawpost_app::command_id::derived(parts)
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
    Ok(state.app.is_known_user(user).await?)
}
