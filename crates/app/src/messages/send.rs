//! Sending a message: participation, blocks, the forwarded message's origin, the reply
//! target's facts, tempId idempotency, and the answer the adapter asks for (rendered from the
//! event as soon as it is durable, or as the read models show it). The message pipeline (before
//! append) and the attachment check plug in here.

use chrono::Utc;
use pawpost_commands::{CommandError, Outcome};
use pawpost_domain::conversation::{ForwardFact, MessageLookup};
use pawpost_domain::values::{AttachmentRef, ConversationKind, Location, MessageBody, MessageKind};
use pawpost_domain::{
    ConversationCommand, ConversationEvent, ConversationId, ConversationState, DomainError,
    MessageId, TempId, UserId,
};
use pawpost_projections::queries::messages::{self, MessageView};
use pawpost_projections::queries::sent;
use pawpost_store::Position;

use super::facts::FACT_ATTEMPTS;
use crate::{command_id, Actor, App, AppError, AppResult, ErrorKind, Projection, Settled};

/// A message to send, parsed and validated by the adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// What it carries.
    pub kind: MessageKind,
    /// Text (required for text; an optional caption otherwise).
    pub body: Option<MessageBody>,
    /// Uploaded files.
    pub attachments: Vec<AttachmentRef>,
    /// Required for location messages.
    pub location: Option<Location>,
    /// A message of the conversation this one answers.
    pub reply_to: Option<MessageId>,
    /// The message a forwarded one comes from.
    pub forward: Option<MessageId>,
    /// Participants mentioned.
    pub mentions: Vec<UserId>,
    /// The client's correlation id (idempotent retries).
    pub temp_id: Option<TempId>,
}

/// When a send answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Once the read models show the message (REST: the actor's next query sees it); the
    /// message as they show it. A new message is the `messages` projector's alone (its list,
    /// counters and last message included): only that one is waited for.
    Visible,
    /// As soon as the event is durable (the hub): the message rendered from the event itself.
    Durable,
}

/// A sent message.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The message.
    pub message: MessageView,
    /// The client's correlation id.
    pub temp_id: Option<String>,
    /// True when this was a retry with a known tempId: the original message.
    pub retried: bool,
}

/// What a send did: the message, or (REST) the position the read models have not reached.
#[derive(Debug, Clone)]
pub enum SendOutcome {
    /// Sent (or found sent already).
    Sent(Box<Sent>),
    /// Stored, not yet visible to queries.
    Lagging(Position),
}

/// The stored `MessageSent` (or, for a retry, the one stored first) and where it is.
struct Stored {
    event: ConversationEvent,
    seq: u64,
    position: Option<Position>,
    retried: bool,
}

/// What a send looked up before deciding.
struct Prepared {
    blocked: bool,
    forward: Option<ForwardFact>,
}

/// 409 `duplicate_temp_id`: the tempId was used for another message.
fn temp_id_reused(message: MessageId) -> AppError {
    AppError::new(
        ErrorKind::Conflict,
        "duplicate_temp_id",
        format!("this tempId was already used for message {message} with other content"),
    )
    .with_field("tempId")
}

/// The other participant of a direct conversation (`None` for other kinds).
fn direct_other(conversation: &ConversationState, actor: &Actor) -> Option<UserId> {
    if conversation.kind() != Some(ConversationKind::Direct) {
        return None;
    }
    conversation
        .participants()
        .find(|p| p.user_id != actor.id)
        .map(|p| p.user_id.clone())
}

/// Recognises a retry in a replayed outcome: the original message if its kind and content are
/// the request's, else 409 `duplicate_temp_id`.
fn replayed(outcome: &Outcome<ConversationState>, m: &NewMessage) -> AppResult<Stored> {
    let sent = outcome.events.iter().find_map(|e| match &e.event {
        ConversationEvent::MessageSent {
            message_id,
            kind,
            content,
            ..
        } => Some((
            e,
            *message_id,
            *kind,
            content.as_clear().map(str::to_string),
        )),
        _ => None,
    });
    let Some((recorded, id, kind, content)) = sent else {
        return Err(AppError::internal("a replayed send holds no MessageSent"));
    };
    let asked = m.body.as_ref().map_or("", MessageBody::as_str);
    if kind == m.kind && content.as_deref() == Some(asked) {
        Ok(Stored {
            event: recorded.event.clone(),
            seq: recorded.version,
            position: outcome.position,
            retried: true,
        })
    } else {
        Err(temp_id_reused(id))
    }
}

impl App {
    /// Sends `m` to `conversation` as `actor`, answering as `answer` asks.
    pub async fn send_message(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        m: NewMessage,
        answer: Answer,
    ) -> AppResult<SendOutcome> {
        // From the conversation itself (cached, caught up with the log), not the read models:
        // never behind the log. The aggregate is loaded here once; the decision uses the cache.
        let (participant, other) = self
            .conversations
            .peek(&conversation.stream(), |s| {
                (s.is_participant(&actor.id), direct_other(s, actor))
            })
            .await?;
        if !participant {
            return Err(AppError::not_found("conversation"));
        }
        let prepared = Prepared {
            blocked: self.blocks(other, actor).await?,
            forward: match m.forward {
                Some(original) => Some(self.forward_fact(actor, original).await?),
                None => None,
            },
        };
        let stored = self.store_send(actor, conversation, &m, &prepared).await?;
        let message = match answer {
            Answer::Durable => {
                let reply = match m.reply_to {
                    Some(target) => {
                        let conv = conversation.to_string();
                        self.query(move |tx| {
                            Box::pin(async move { sent::reply_preview(tx, &conv, target).await })
                        })
                        .await?
                    }
                    None => None,
                };
                sent::view(conversation, stored.seq, &stored.event, reply)
                    .ok_or_else(|| AppError::internal("a send stored no MessageSent"))?
            }
            Answer::Visible => {
                if let Settled::Lagging(p) =
                    self.settle(Projection::Messages, stored.position).await
                {
                    return Ok(SendOutcome::Lagging(p));
                }
                let ConversationEvent::MessageSent { message_id, .. } = &stored.event else {
                    return Err(AppError::internal("a send stored no MessageSent"));
                };
                self.message(actor, conversation, *message_id, false)
                    .await?
            }
        };
        Ok(SendOutcome::Sent(Box::new(Sent {
            message,
            temp_id: m.temp_id.map(String::from),
            retried: stored.retried,
        })))
    }

    /// Whether `other` blocks `actor`: from the other user's own stream (cached, caught up with
    /// the log), so a block takes effect on the next send whatever the read models' lag.
    async fn blocks(&self, other: Option<UserId>, actor: &Actor) -> AppResult<bool> {
        let Some(other) = other else {
            return Ok(false);
        };
        Ok(self
            .users
            .peek(&other.stream(), |u| u.is_blocked(&actor.id))
            .await?)
    }

    /// The origin of a forwarded message: 404 when the actor cannot read it (one cannot forward
    /// what one cannot read, nor learn that it exists).
    async fn forward_fact(&self, actor: &Actor, original: MessageId) -> AppResult<ForwardFact> {
        let (user, id) = (actor.id.to_string(), original.to_string());
        let found = self
            .query(move |tx| Box::pin(async move { messages::get(tx, &user, &id, false).await }))
            .await?;
        let not_found = || AppError::not_found("forwarded message").with_field("forwardedFrom");
        let m = found.filter(|m| !m.is_deleted).ok_or_else(not_found)?;
        let conversation = m
            .conversation_id
            .parse::<uuid::Uuid>()
            .map(ConversationId::from_uuid)
            .map_err(|_| not_found())?;
        Ok(ForwardFact {
            message_id: original,
            conversation_id: conversation,
            readable_by_actor: true,
        })
    }

    /// Decides and appends the send, looking the reply target up again (bounded) when its
    /// facts were older than the conversation's last message change.
    async fn store_send(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        m: &NewMessage,
        prepared: &Prepared,
    ) -> AppResult<Stored> {
        for _ in 0..FACT_ATTEMPTS {
            let reply_to = match m.reply_to {
                Some(target) => Some(self.look_up(actor, conversation, target).await?),
                None => None,
            };
            match self
                .send_once(actor, conversation, m, prepared, reply_to)
                .await
            {
                Ok(outcome) if outcome.replayed => return replayed(&outcome, m),
                Ok(outcome) => {
                    let Some(recorded) = outcome.events.into_iter().next() else {
                        return Err(AppError::internal("a send stored no event"));
                    };
                    return Ok(Stored {
                        event: recorded.event,
                        seq: recorded.version,
                        position: outcome.position,
                        retried: false,
                    });
                }
                Err(CommandError::Domain(DomainError::StaleFacts)) => self.wait_for_facts().await,
                Err(CommandError::Domain(
                    DomainError::NotParticipant | DomainError::NotFound("conversation"),
                )) => return Err(AppError::not_found("conversation")),
                Err(e) => return Err(e.into()),
            }
        }
        Err(DomainError::StaleFacts.into())
    }

    /// One decision: a send with a tempId runs under a command id derived from it, so a retry
    /// returns the original; one without, under a fresh id (no idempotency look-up).
    async fn send_once(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        m: &NewMessage,
        prepared: &Prepared,
        reply_to: Option<MessageLookup>,
    ) -> Result<Outcome<ConversationState>, CommandError> {
        let command = ConversationCommand::SendMessage {
            message_id: MessageId::from_uuid(uuid::Uuid::now_v7()),
            actor: actor.id.clone(),
            kind: m.kind,
            body: m.body.clone(),
            attachments: m.attachments.clone(),
            location: m.location.clone(),
            reply_to,
            forward: prepared.forward.clone(),
            mentions: m.mentions.clone(),
            temp_id: m.temp_id.clone(),
            blocked_by_other: prepared.blocked,
            at: Utc::now(),
        };
        let stream = conversation.stream();
        let meta = actor.meta();
        match &m.temp_id {
            Some(t) => {
                let id = command_id::derived(&[
                    "send",
                    actor.id.as_str(),
                    &conversation.to_string(),
                    t.as_str(),
                ]);
                self.conversations
                    .execute(&stream, id, &command, &meta)
                    .await
            }
            None => {
                self.conversations
                    .execute_new(&stream, &command, &meta)
                    .await
            }
        }
    }
}
