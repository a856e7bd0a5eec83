//! Small look-ups the message endpoints need beside [`super::messages`].

use crate::db::{DbError, Tx};

/// The seq of `message` in `conversation`, whether or not a given user may see it (paging
/// cursors: a message hidden for the caller after they fetched it still marks a place).
/// `None` if the message is not one of that conversation's.
pub async fn seq_in(
    tx: &mut Tx,
    conversation: &str,
    message: &str,
) -> Result<Option<u64>, DbError> {
    tx.query_opt(
        "SELECT seq FROM rm_messages WHERE conversation_id = $1 AND id = $2",
        &[conversation.into(), message.into()],
    )
    .await?
    .map(|r| r.int(0).map(|s| s as u64))
    .transpose()
}
