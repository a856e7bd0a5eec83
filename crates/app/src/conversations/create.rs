//! Creating a conversation: a direct one between the actor and one other user (its id derived
//! from the pair, so opening it again finds the same one), or a group the actor owns;
//! optionally with a first text message. Booking and system conversations come from other
//! back-end systems, not from this use case.

use chrono::Utc;
use pawpost_domain::values::{ConversationTitle, Description, ImageUrl, MessageBody, MessageKind};
use pawpost_domain::{
    ConversationCommand, ConversationEvent, ConversationId, DomainError, MessageId, UserId,
};
use pawpost_projections::queries::users;
use pawpost_store::Position;
use uuid::Uuid;

use crate::{Actor, App, AppError, AppResult};

/// A group's details.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDetails {
    /// Its title.
    pub title: ConversationTitle,
    /// Its description.
    pub description: Option<Description>,
    /// Its image.
    pub image_url: Option<ImageUrl>,
}

/// Which kind of conversation to create.
#[derive(Debug, Clone, PartialEq)]
pub enum ConversationSpec {
    /// Between the actor and exactly one other participant.
    Direct,
    /// A group the actor owns.
    Group(GroupDetails),
}

/// A conversation to create, parsed and validated by the adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConversation {
    /// Direct or group.
    pub spec: ConversationSpec,
    /// The other users as the request lists them (the actor may be among them, and a user
    /// twice; each must be known to pawpost).
    pub participants: Vec<UserId>,
    /// A first text message from the actor.
    pub initial_message: Option<MessageBody>,
}

/// What a creation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Created {
    /// The conversation (for a direct one, derived from the pair of users).
    pub id: ConversationId,
    /// False when the direct conversation of this pair existed already.
    pub created: bool,
    /// Where the last change is in the log.
    pub position: Option<Position>,
}

/// What a checked request will do.
struct Plan {
    id: ConversationId,
    command: ConversationCommand,
    /// In a direct conversation, the other user.
    other: Option<UserId>,
}

impl App {
    /// Creates a conversation as `actor`. The request is checked in full before anything is
    /// stored: with an initial message to a user who blocks the actor, nothing is created
    /// (`blocked`).
    pub async fn create_conversation(
        &self,
        actor: &Actor,
        request: NewConversation,
    ) -> AppResult<Created> {
        let NewConversation {
            spec,
            participants,
            initial_message,
        } = request;
        let plan = self.plan(actor, spec, participants).await?;
        let blocked_by_other = match (&plan.other, &initial_message) {
            (Some(other), Some(_)) => self.read_model_blocks(other, &actor.id).await?,
            _ => false,
        };
        if blocked_by_other {
            return Err(DomainError::Blocked.into());
        }
        let outcome = self
            .conversations
            .execute_new(&plan.id.stream(), &plan.command, &actor.meta())
            .await?;
        let created = outcome
            .events
            .iter()
            .any(|e| matches!(e.event, ConversationEvent::ConversationCreated { .. }));
        let mut position = outcome.position;
        if let Some(body) = initial_message {
            let send = ConversationCommand::SendMessage {
                message_id: MessageId::from_uuid(Uuid::now_v7()),
                actor: actor.id.clone(),
                kind: MessageKind::Text,
                body: Some(body),
                attachments: Vec::new(),
                location: None,
                reply_to: None,
                forward: None,
                mentions: Vec::new(),
                temp_id: None,
                blocked_by_other,
                at: Utc::now(),
            };
            position = self
                .on_conversation(actor, plan.id, &send)
                .await?
                .or(position);
        }
        Ok(Created {
            id: plan.id,
            created,
            position,
        })
    }

    /// Checks the participants (known, the actor and repeats dropped; exactly one other for a
    /// direct conversation) and builds the creation command.
    async fn plan(
        &self,
        actor: &Actor,
        spec: ConversationSpec,
        participants: Vec<UserId>,
    ) -> AppResult<Plan> {
        let listed = self.known_users(participants, "participants").await?;
        let mut others: Vec<UserId> = Vec::new();
        for user in listed {
            if user != actor.id && !others.contains(&user) {
                others.push(user);
            }
        }
        let at = Utc::now();
        match spec {
            ConversationSpec::Direct => {
                let [other] = <[UserId; 1]>::try_from(others).map_err(|_| {
                    AppError::invalid(
                        "participants",
                        "a direct conversation needs exactly one other participant",
                    )
                })?;
                let id = ConversationId::direct(&actor.id, &other);
                Ok(Plan {
                    id,
                    command: ConversationCommand::CreateDirect {
                        id,
                        actor: actor.id.clone(),
                        other: other.clone(),
                        at,
                    },
                    other: Some(other),
                })
            }
            ConversationSpec::Group(group) => {
                let id = ConversationId::from_uuid(Uuid::now_v7());
                Ok(Plan {
                    id,
                    command: ConversationCommand::CreateGroup {
                        id,
                        actor: actor.id.clone(),
                        title: group.title,
                        description: group.description,
                        image_url: group.image_url,
                        members: others,
                        at,
                    },
                    other: None,
                })
            }
        }
    }

    /// Whether `blocker` blocks `blocked`, as the users read model shows it.
    async fn read_model_blocks(&self, blocker: &UserId, blocked: &UserId) -> AppResult<bool> {
        let (a, b) = (blocker.to_string(), blocked.to_string());
        self.query(move |tx| Box::pin(async move { users::is_blocked(tx, &a, &b).await }))
            .await
    }
}
