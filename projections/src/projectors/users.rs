//! `users`: each user's private settings per conversation (mute, archive, pin), blocks, drafts,
//! and the user directory. (The messages hidden for a user are the `messages` projector's: they
//! change unread counts.)

use pawpost_codec::Reveal;
use pawpost_domain::{ConversationId, UserEvent as E, UserId};

use super::{enum_str, text, Projector};
use crate::db::{micros, Arg, DbError, Tx};
use crate::envelope::{DomainEvent, Envelope};

/// Projects the user streams.
pub struct UsersProjector;

/// Sets one column of the user's settings row for a conversation, creating the row.
async fn setting(
    tx: &mut Tx,
    user: &UserId,
    conv: &ConversationId,
    assignments: &str,
    values: Vec<Arg>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO rm_user_conversations (user_id, conversation_id) VALUES ($1, $2)
         ON CONFLICT (user_id, conversation_id) DO NOTHING",
        &[user.to_string().into(), conv.to_string().into()],
    )
    .await?;
    let mut params: Vec<Arg> = vec![user.to_string().into(), conv.to_string().into()];
    params.extend(values);
    tx.execute(
        &format!("UPDATE rm_user_conversations SET {assignments} WHERE user_id = $1 AND conversation_id = $2"),
        &params,
    ).await?;
    Ok(())
}

#[async_trait::async_trait]
impl Projector for UsersProjector {
    fn name(&self) -> &'static str {
        "users"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "rm_user_conversations",
            "rm_blocks",
            "rm_drafts",
            "rm_users",
        ]
    }

    fn reveal(&self) -> Reveal {
        Reveal::Content
    }

    fn wants(&self, stream: &str, event_type: &str) -> bool {
        stream.starts_with("user-") && event_type != "MessagesHiddenForMe"
    }

    async fn apply(&self, tx: &mut Tx, env: &Envelope) -> Result<(), DbError> {
        let DomainEvent::User { id: user, event } = &env.event else {
            return Ok(());
        };
        match event {
            E::ConversationMuted {
                conversation_id,
                until,
                level,
                ..
            } => {
                setting(
                    tx,
                    user,
                    conversation_id,
                    "muted = TRUE, muted_until = $3, mute_level = $4",
                    vec![until.map(micros).into(), enum_str(level).into()],
                )
                .await?
            }
            E::ConversationUnmuted {
                conversation_id, ..
            } => {
                setting(
                    tx,
                    user,
                    conversation_id,
                    "muted = FALSE, muted_until = NULL, mute_level = NULL",
                    vec![],
                )
                .await?
            }
            E::ConversationArchived {
                conversation_id, ..
            } => setting(tx, user, conversation_id, "archived = TRUE", vec![]).await?,
            E::ConversationUnarchived {
                conversation_id, ..
            } => setting(tx, user, conversation_id, "archived = FALSE", vec![]).await?,
            E::ConversationPinned {
                conversation_id,
                at,
            } => {
                setting(
                    tx,
                    user,
                    conversation_id,
                    "pinned = TRUE, pinned_at = $3",
                    vec![micros(*at).into()],
                )
                .await?
            }
            E::ConversationUnpinned {
                conversation_id, ..
            } => {
                setting(
                    tx,
                    user,
                    conversation_id,
                    "pinned = FALSE, pinned_at = NULL",
                    vec![],
                )
                .await?
            }
            // Kept by the `messages` projector, with the unread counts it changes.
            E::MessagesHiddenForMe { .. } => {}
            E::UserBlocked {
                user_id,
                reason,
                at,
                ..
            } => {
                let reason = reason
                    .as_ref()
                    .map(text)
                    .map(|(v, _)| v)
                    .unwrap_or(Arg::NULL_TEXT);
                tx.execute(
                    "INSERT INTO rm_blocks (user_id, blocked_id, reason, at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (user_id, blocked_id) DO UPDATE SET reason = excluded.reason, at = excluded.at",
                    &[user.to_string().into(), user_id.to_string().into(), reason, micros(*at).into()],
                ).await?;
            }
            E::UserUnblocked { user_id, .. } => {
                tx.execute(
                    "DELETE FROM rm_blocks WHERE user_id = $1 AND blocked_id = $2",
                    &[user.to_string().into(), user_id.to_string().into()],
                )
                .await?;
            }
            E::DraftSaved {
                conversation_id,
                content,
                reply_to,
                at,
                ..
            } => {
                let (body, erased) = text(content);
                tx.execute(
                    "INSERT INTO rm_drafts (user_id, conversation_id, content, content_erased, reply_to, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (user_id, conversation_id) DO UPDATE SET content = excluded.content,
                        content_erased = excluded.content_erased, reply_to = excluded.reply_to,
                        updated_at = excluded.updated_at",
                    &[
                        user.to_string().into(),
                        conversation_id.to_string().into(),
                        body,
                        erased.into(),
                        reply_to.map(|r| r.to_string()).into(),
                        micros(*at).into(),
                    ],
                ).await?;
            }
            E::ProfileUpdated {
                display_name,
                avatar_url,
                role,
                locale,
                at,
                ..
            } => {
                tx.execute(
                    "INSERT INTO rm_users (id, display_name, avatar_url, role, locale, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name,
                        avatar_url = excluded.avatar_url, role = excluded.role,
                        locale = excluded.locale, updated_at = excluded.updated_at",
                    &[
                        user.to_string().into(),
                        display_name.as_str().into(),
                        avatar_url.as_ref().map(|a| a.as_str().to_string()).into(),
                        role.clone().into(),
                        locale.as_ref().map(|l| l.as_str().to_string()).into(),
                        micros(*at).into(),
                    ],
                )
                .await?;
            }
            E::DraftCleared {
                conversation_id, ..
            } => {
                tx.execute(
                    "DELETE FROM rm_drafts WHERE user_id = $1 AND conversation_id = $2",
                    &[user.to_string().into(), conversation_id.to_string().into()],
                )
                .await?;
            }
        }
        Ok(())
    }
}
