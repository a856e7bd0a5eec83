//! What a user may see of a conversation's messages and what counts as unread for them, as SQL
//! conditions on a message row `m`: the one definition shared by the queries and by the
//! counters the `messages` projector maintains (so a list's counts and the messages it lists
//! never disagree on what "visible" means). `user` and `read_seq` are SQL expressions: a
//! parameter (`$1`) or a column (`rm_unread.user_id`).

/// Message `m` lies inside one of `user`'s membership ranges of its conversation.
pub(crate) fn in_range(user: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM rm_membership_ranges r
            WHERE r.conversation_id = m.conversation_id AND r.user_id = {user}
              AND m.seq > r.from_seq AND (r.to_seq IS NULL OR m.seq <= r.to_seq))"
    )
}

/// Message `m` was deleted for `user` alone (delete for me).
pub(crate) fn hidden_for(user: &str) -> String {
    format!("EXISTS (SELECT 1 FROM rm_hidden_messages h WHERE h.user_id = {user} AND h.message_id = m.id)")
}

/// Message `m` is visible to `user`: inside one of their membership ranges and not hidden for
/// them (tombstones of messages deleted for everyone are visible).
pub(crate) fn visible_to(user: &str) -> String {
    format!("{} AND NOT {}", in_range(user), hidden_for(user))
}

/// Message `m` counts as unread for `user`, whose read marker is `read_seq`: sent by someone
/// else after the marker, not deleted for everyone, visible to them.
pub(crate) fn unread_for(user: &str, read_seq: &str) -> String {
    format!(
        "m.seq > {read_seq} AND m.sender_id <> {user} AND m.deleted_at IS NULL AND {}",
        visible_to(user)
    )
}

/// Message `m` mentions `user`.
pub(crate) fn mentions(user: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM rm_mentions mn WHERE mn.message_id = m.id AND mn.user_id = {user})"
    )
}
