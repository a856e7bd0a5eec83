//! How each conversation event folds into the state. Tolerant: an event that refers to
//! something unknown changes nothing (it can only come from a damaged or foreign log).

use chrono::{DateTime, Utc};

use crate::ids::MessageId;
use crate::values::{ReadMarker, Role};

use super::event::ConversationEvent;
use super::participant::Participant;
use super::state::{ConversationDetails, ConversationState};

impl ConversationState {
    pub(crate) fn apply(&mut self, version: u64, event: &ConversationEvent) {
        self.version = version;
        match event {
            ConversationEvent::ConversationCreated {
                conversation_id,
                kind,
                booking_id,
                title,
                description,
                image_url,
                created_by,
                participants,
                at,
            } => {
                self.details = Some(ConversationDetails {
                    id: *conversation_id,
                    kind: *kind,
                    booking_id: booking_id.clone(),
                    title: title.clone(),
                    description: description.clone(),
                    image_url: image_url.clone(),
                    created_by: created_by.clone(),
                    created_at: *at,
                });
                for p in participants {
                    self.participants.insert(
                        p.user_id.clone(),
                        Participant::new(p.user_id.clone(), p.role, version, *at),
                    );
                }
            }
            ConversationEvent::ConversationDetailsUpdated {
                title,
                description,
                image_url,
                ..
            } => {
                if let Some(details) = &mut self.details {
                    details.title = title.clone();
                    details.description = description.clone();
                    details.image_url = image_url.clone();
                }
            }
            ConversationEvent::ParticipantsAdded { user_ids, at, .. } => {
                for user in user_ids {
                    match self.participants.get_mut(user) {
                        Some(p) => p.rejoin(version, *at),
                        None => {
                            let p = Participant::new(user.clone(), Role::Member, version, *at);
                            self.participants.insert(user.clone(), p);
                        }
                    }
                }
            }
            ConversationEvent::ParticipantRemoved { user_id, at, .. }
            | ConversationEvent::ParticipantLeft { user_id, at } => {
                if let Some(p) = self.participants.get_mut(user_id) {
                    p.leave(version, *at);
                }
            }
            ConversationEvent::ParticipantRoleChanged { user_id, role, .. } => {
                if *role == Role::Owner {
                    // One owner at a time: a previous owner steps down to admin.
                    for p in self.participants.values_mut() {
                        if p.role == Role::Owner && &p.user_id != user_id {
                            p.role = Role::Admin;
                        }
                    }
                }
                if let Some(p) = self.participants.get_mut(user_id) {
                    p.role = *role;
                }
            }
            ConversationEvent::MessageSent { .. } => {
                self.last_seq = self.last_seq.max(version);
                self.last_message_change = version;
            }
            ConversationEvent::MessageEdited { .. }
            | ConversationEvent::MessageDeleted { .. }
            | ConversationEvent::ReactionAdded { .. }
            | ConversationEvent::ReactionRemoved { .. } => {
                self.last_message_change = version;
            }
            ConversationEvent::MessagesRead {
                user_id,
                up_to_seq,
                message_id,
                at,
            } => {
                if let Some(p) = self.participants.get_mut(user_id) {
                    advance(&mut p.read, *up_to_seq, message_id, at);
                }
            }
            ConversationEvent::MessagesDelivered {
                user_id,
                up_to_seq,
                message_id,
                at,
            } => {
                if let Some(p) = self.participants.get_mut(user_id) {
                    advance(&mut p.delivered, *up_to_seq, message_id, at);
                }
            }
        }
    }
}

/// Moves a marker forward only: markers never decrease, whatever the log says.
fn advance(marker: &mut Option<ReadMarker>, seq: u64, message_id: &MessageId, at: &DateTime<Utc>) {
    if marker.as_ref().is_none_or(|m| seq > m.seq) {
        *marker = Some(ReadMarker {
            seq,
            message_id: *message_id,
            at: *at,
        });
    }
}
