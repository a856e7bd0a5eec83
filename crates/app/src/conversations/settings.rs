//! The actor's own settings of a conversation they take part in: mute (with an optional end
//! and what still notifies), archive, pin. They are facts of the actor's own stream.

use chrono::{DateTime, Utc};
use pawpost_domain::values::NotificationLevel;
use pawpost_domain::{ConversationId, UserCommand};
use pawpost_store::Position;

use crate::{Actor, App, AppResult};

/// A mute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mute {
    /// Until when (the domain refuses a time in the past); until unmuted when absent.
    pub until: Option<DateTime<Utc>>,
    /// What still notifies while muted.
    pub level: NotificationLevel,
}

impl App {
    /// Mutes `conversation` for `actor` (`Some`) or unmutes it (`None`).
    pub async fn set_mute(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        mute: Option<Mute>,
    ) -> AppResult<Option<Position>> {
        self.require_participant(actor, conversation).await?;
        let (actor_id, at) = (actor.id.clone(), Utc::now());
        let command = match mute {
            Some(Mute { until, level }) => UserCommand::Mute {
                actor: actor_id,
                conversation_id: conversation,
                until,
                level,
                is_participant: true,
                at,
            },
            None => UserCommand::Unmute {
                actor: actor_id,
                conversation_id: conversation,
                at,
            },
        };
        self.on_own_stream(actor, &command).await
    }

    /// Archives `conversation` for `actor` (out of their main list) or brings it back.
    pub async fn set_archived(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        archived: bool,
    ) -> AppResult<Option<Position>> {
        self.require_participant(actor, conversation).await?;
        let (actor_id, at) = (actor.id.clone(), Utc::now());
        let command = if archived {
            UserCommand::Archive {
                actor: actor_id,
                conversation_id: conversation,
                is_participant: true,
                at,
            }
        } else {
            UserCommand::Unarchive {
                actor: actor_id,
                conversation_id: conversation,
                at,
            }
        };
        self.on_own_stream(actor, &command).await
    }

    /// Pins `conversation` at the top of `actor`'s list, or unpins it.
    pub async fn set_pinned(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        pinned: bool,
    ) -> AppResult<Option<Position>> {
        self.require_participant(actor, conversation).await?;
        let (actor_id, at) = (actor.id.clone(), Utc::now());
        let command = if pinned {
            UserCommand::Pin {
                actor: actor_id,
                conversation_id: conversation,
                is_participant: true,
                at,
            }
        } else {
            UserCommand::Unpin {
                actor: actor_id,
                conversation_id: conversation,
                at,
            }
        };
        self.on_own_stream(actor, &command).await
    }
}
