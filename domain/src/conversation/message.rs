//! What a decision about one message needs to know about it, looked up outside the aggregate
//! and passed in with the command (DESIGN.md §3: aggregates stay small).
//!
//! The conversation aggregate keeps no per-message state, so neither a command's cost nor a
//! cached conversation's memory grows with its history. A command about a message (edit,
//! delete, react, mark read, reply) carries a [`MessageLookup`]: the message's facts as some
//! read model had them, and the stream version they are current to. The aggregate knows the
//! version of the last event that changed any message ([`super::ConversationState::last_message_change`]);
//! facts older than that may miss a change, and a decision that depends on what changes
//! (deleted? edited? reacted?) refuses them with [`crate::DomainError::StaleFacts`] so the
//! caller looks again. Facts that never change (sequence, author, kind) are usable at any age,
//! once found. The append still expects the exact version the decision saw, so a change that
//! lands between the look-up and the append is a conflict and the command is decided again.

use crate::ids::{MessageId, UserId};

use super::event::ConversationEvent;
use crate::personal::{fingerprint, fingerprint_str};
use crate::values::{MessageKind, Reaction};

/// A message's decision-relevant facts (never its text: only a fingerprint of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageFacts {
    /// Its place in the conversation (the version of its `MessageSent`).
    pub seq: u64,
    /// Its sender.
    pub author: UserId,
    /// What it carries.
    pub kind: MessageKind,
    /// Whether it was deleted for everyone.
    pub deleted: bool,
    /// A fingerprint of its current clear text ([`MessageFacts::fingerprint`]), if readable;
    /// lets an edit that changes nothing be recognised.
    pub content_fingerprint: Option<u64>,
    /// The reactions the command's actor has on it.
    pub actor_reactions: Vec<Reaction>,
}

impl MessageFacts {
    /// The fingerprint of a clear text, as `content_fingerprint` expects it.
    pub fn fingerprint(text: &str) -> u64 {
        fingerprint_str(text)
    }

    /// Whether the actor reacted with `reaction`.
    pub fn has_reaction(&self, reaction: &Reaction) -> bool {
        self.actor_reactions.contains(reaction)
    }
}

/// A message looked up for a command: its facts if the source had it, and how current the
/// source was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageLookup {
    /// The message asked about.
    pub id: MessageId,
    /// Its facts, if the source knew a message with that id in this conversation.
    pub found: Option<MessageFacts>,
    /// The source had applied every message event of the conversation up to this stream
    /// version (0: none).
    pub as_of: u64,
}

impl MessageLookup {
    /// A look-up that found `facts`, current to `as_of`.
    pub fn found(id: MessageId, facts: MessageFacts, as_of: u64) -> Self {
        MessageLookup {
            id,
            found: Some(facts),
            as_of,
        }
    }

    /// A look-up that found nothing, current to `as_of`.
    pub fn missing(id: MessageId, as_of: u64) -> Self {
        MessageLookup {
            id,
            found: None,
            as_of,
        }
    }
}

/// The facts of message `id` for `actor`, folded from a conversation's events (stored at
/// versions 1..=n): the reference for what a read model's look-up must answer. O(history):
/// for tests and tools; servers look facts up in a read model.
pub fn look_up_in(events: &[ConversationEvent], id: MessageId, actor: &UserId) -> MessageLookup {
    let mut found: Option<MessageFacts> = None;
    for (i, event) in events.iter().enumerate() {
        let version = i as u64 + 1;
        match event {
            ConversationEvent::MessageSent {
                message_id,
                sender_id,
                kind,
                content,
                ..
            } if *message_id == id => {
                found = Some(MessageFacts {
                    seq: version,
                    author: sender_id.clone(),
                    kind: *kind,
                    deleted: false,
                    content_fingerprint: fingerprint(content),
                    actor_reactions: Vec::new(),
                });
            }
            ConversationEvent::MessageEdited {
                message_id,
                content,
                ..
            } if *message_id == id => {
                if let Some(f) = &mut found {
                    f.content_fingerprint = fingerprint(content);
                }
            }
            ConversationEvent::MessageDeleted { message_id, .. } if *message_id == id => {
                if let Some(f) = &mut found {
                    f.deleted = true;
                }
            }
            ConversationEvent::ReactionAdded {
                message_id,
                user_id,
                reaction,
                ..
            } if *message_id == id && user_id == actor => {
                if let Some(f) = found.as_mut().filter(|f| !f.has_reaction(reaction)) {
                    f.actor_reactions.push(reaction.clone());
                }
            }
            ConversationEvent::ReactionRemoved {
                message_id,
                user_id,
                reaction,
                ..
            } if *message_id == id && user_id == actor => {
                if let Some(f) = &mut found {
                    f.actor_reactions.retain(|r| r != reaction);
                }
            }
            _ => {}
        }
    }
    MessageLookup {
        id,
        found,
        as_of: events.len() as u64,
    }
}
