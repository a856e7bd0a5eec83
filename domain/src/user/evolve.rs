//! How each user event folds into the user's state.

use crate::personal::fingerprint;

use super::event::UserEvent as E;
use super::state::{DraftState, MuteSetting, Profile, UserState};

pub(super) fn evolve(state: &mut UserState, version: u64, event: &E) {
    state.version = version;
    match event {
        E::ConversationMuted {
            conversation_id,
            until,
            level,
            at,
        } => {
            state.mutes.insert(
                *conversation_id,
                MuteSetting {
                    until: *until,
                    level: *level,
                    since: *at,
                },
            );
        }
        E::ConversationUnmuted {
            conversation_id, ..
        } => {
            state.mutes.remove(conversation_id);
        }
        E::ConversationArchived {
            conversation_id,
            at,
        } => {
            state.archived.insert(*conversation_id, *at);
        }
        E::ConversationUnarchived {
            conversation_id, ..
        } => {
            state.archived.remove(conversation_id);
        }
        E::ConversationPinned {
            conversation_id,
            at,
        } => {
            state.pinned.insert(*conversation_id, *at);
        }
        E::ConversationUnpinned {
            conversation_id, ..
        } => {
            state.pinned.remove(conversation_id);
        }
        E::MessagesHiddenForMe {
            conversation_id,
            message_ids,
            ..
        } => {
            state
                .hidden
                .entry(*conversation_id)
                .or_default()
                .extend(message_ids.iter().copied());
        }
        E::UserBlocked { user_id, at, .. } => {
            state.blocked.insert(user_id.clone(), *at);
        }
        E::UserUnblocked { user_id, .. } => {
            state.blocked.remove(user_id);
        }
        E::DraftSaved {
            conversation_id,
            content,
            reply_to,
            at,
            ..
        } => {
            state.drafts.insert(
                *conversation_id,
                DraftState {
                    reply_to: *reply_to,
                    saved_at: *at,
                    content_fingerprint: fingerprint(content),
                },
            );
        }
        E::DraftCleared {
            conversation_id, ..
        } => {
            state.drafts.remove(conversation_id);
        }
        E::ProfileUpdated {
            display_name,
            avatar_url,
            role,
            locale,
            at,
            ..
        } => {
            state.profile = Some(Profile {
                display_name: display_name.clone(),
                avatar_url: avatar_url.clone(),
                role: role.clone(),
                locale: locale.clone(),
                updated_at: *at,
            });
        }
    }
}
