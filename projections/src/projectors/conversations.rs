//! `conversations`: conversation details, participants with roles, membership state and
//! markers. (Which messages each participant may see, their membership ranges, is the
//! `messages` projector's: it counts unread messages with them.)

use pawpost_codec::Reveal;
use pawpost_domain::{ConversationEvent as E, ConversationId, UserId};

use super::{enum_str, is_message_event, Projector};
use crate::db::{micros, Arg, DbError, Tx};
use crate::envelope::{DomainEvent, Envelope};

/// Projects conversation lifecycle and membership.
pub struct ConversationsProjector;

async fn join(
    tx: &mut Tx,
    conv: &ConversationId,
    user: &UserId,
    role: String,
    version: u64,
    at: i64,
) -> Result<(), DbError> {
    // A join applied again after a later leave or re-join must not revive the participant:
    // `membership_version` is the version of the last join or departure applied.
    tx.execute(
        "INSERT INTO rm_participants (conversation_id, user_id, role, active, joined_at, left_at,
            membership_version)
         VALUES ($1, $2, $3, TRUE, $4, NULL, $5)
         ON CONFLICT (conversation_id, user_id)
         DO UPDATE SET role = excluded.role, active = TRUE, joined_at = excluded.joined_at,
            left_at = NULL, membership_version = excluded.membership_version
         WHERE rm_participants.membership_version < excluded.membership_version",
        &[
            conv.to_string().into(),
            user.to_string().into(),
            role.into(),
            at.into(),
            version.into(),
        ],
    )
    .await?;
    Ok(())
}

async fn depart(
    tx: &mut Tx,
    conv: &ConversationId,
    user: &UserId,
    version: u64,
    at: i64,
) -> Result<(), DbError> {
    // Applied again after a re-join, it changes nothing.
    tx.execute(
        "UPDATE rm_participants SET active = FALSE, left_at = $3, membership_version = $4
         WHERE conversation_id = $1 AND user_id = $2 AND membership_version < $4",
        &[
            conv.to_string().into(),
            user.to_string().into(),
            at.into(),
            version.into(),
        ],
    )
    .await?;
    Ok(())
}

async fn marker(
    tx: &mut Tx,
    column: &str,
    conv: &ConversationId,
    user: &UserId,
    seq: u64,
    message: String,
    at: i64,
) -> Result<(), DbError> {
    // Monotonic: an older marker changes nothing.
    let sql = format!(
        "UPDATE rm_participants SET {column}_seq = $3, {column}_message_id = $4, {column}_at = $5
         WHERE conversation_id = $1 AND user_id = $2 AND {column}_seq < $3"
    );
    tx.execute(
        &sql,
        &[
            conv.to_string().into(),
            user.to_string().into(),
            seq.into(),
            message.into(),
            at.into(),
        ],
    )
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl Projector for ConversationsProjector {
    fn name(&self) -> &'static str {
        "conversations"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_conversations", "rm_participants"]
    }

    fn reveal(&self) -> Reveal {
        Reveal::Nothing
    }

    fn wants(&self, stream: &str, event_type: &str) -> bool {
        stream.starts_with("conversation-") && !is_message_event(event_type)
    }

    async fn apply(&self, tx: &mut Tx, env: &Envelope) -> Result<(), DbError> {
        let DomainEvent::Conversation { id, event } = &env.event else {
            return Ok(());
        };
        let v = env.version;
        match event {
            E::ConversationCreated {
                kind,
                booking_id,
                title,
                description,
                image_url,
                created_by,
                participants,
                at,
                ..
            } => {
                tx.execute(
                    "INSERT INTO rm_conversations (id, kind, booking_id, title, description, image_url,
                        created_by, created_at, updated_at, version)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) ON CONFLICT (id) DO NOTHING",
                    &[
                        id.to_string().into(),
                        enum_str(kind).into(),
                        booking_id.as_ref().map(|b| b.to_string()).into(),
                        title.as_ref().map(|t| t.as_str().to_string()).into(),
                        description.as_ref().map(|t| t.as_str().to_string()).into(),
                        image_url.as_ref().map(|t| t.as_str().to_string()).into(),
                        created_by.to_string().into(),
                        micros(*at).into(),
                        v.into(),
                    ],
                ).await?;
                for p in participants {
                    join(tx, id, &p.user_id, enum_str(&p.role), v, micros(*at)).await?;
                }
            }
            E::ConversationDetailsUpdated {
                title,
                description,
                image_url,
                at,
                ..
            } => {
                tx.execute(
                    "UPDATE rm_conversations SET title = $2, description = $3, image_url = $4,
                        updated_at = $5, version = $6 WHERE id = $1 AND version < $6",
                    &[
                        id.to_string().into(),
                        title.as_ref().map(|t| t.as_str().to_string()).into(),
                        description.as_ref().map(|t| t.as_str().to_string()).into(),
                        image_url.as_ref().map(|t| t.as_str().to_string()).into(),
                        micros(*at).into(),
                        Arg::from(v),
                    ],
                )
                .await?;
            }
            E::ParticipantsAdded { user_ids, at, .. } => {
                for u in user_ids {
                    join(tx, id, u, "member".into(), v, micros(*at)).await?;
                }
            }
            E::ParticipantRemoved { user_id, at, .. } | E::ParticipantLeft { user_id, at } => {
                depart(tx, id, user_id, v, micros(*at)).await?;
            }
            E::ParticipantRoleChanged { user_id, role, .. } => {
                tx.execute(
                    "UPDATE rm_participants SET role = $3 WHERE conversation_id = $1 AND user_id = $2",
                    &[id.to_string().into(), user_id.to_string().into(), enum_str(role).into()],
                ).await?;
            }
            E::MessagesRead {
                user_id,
                up_to_seq,
                message_id,
                at,
            } => {
                marker(
                    tx,
                    "read",
                    id,
                    user_id,
                    *up_to_seq,
                    message_id.to_string(),
                    micros(*at),
                )
                .await?
            }
            E::MessagesDelivered {
                user_id,
                up_to_seq,
                message_id,
                at,
            } => {
                marker(
                    tx,
                    "delivered",
                    id,
                    user_id,
                    *up_to_seq,
                    message_id.to_string(),
                    micros(*at),
                )
                .await?
            }
            _ => {}
        }
        Ok(())
    }
}
