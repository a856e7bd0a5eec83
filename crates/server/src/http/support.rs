//! What the message and real-time handlers share: reading the read models through the
//! application layer, and the participation check.

use futures::future::BoxFuture;
use pawpost_domain::ConversationId;
use pawpost_projections::db::{DbError, Tx};

use super::extract::Caller;
use super::problem::ApiResult;
use crate::AppState;

/// Runs read-model queries `f` in one reading transaction (one consistent snapshot).
pub async fn query<T, F>(state: &AppState, f: F) -> ApiResult<T>
where
    F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, DbError>>,
{
    Ok(state.app.query(f).await?)
}

/// 404 unless `caller` is a current participant of `conversation` (a conversation the caller
/// cannot see is not disclosed to exist).
pub async fn require_participant(
    state: &AppState,
    caller: &Caller,
    conversation: ConversationId,
) -> ApiResult<()> {
    Ok(state.app.require_participant(caller, conversation).await?)
}
