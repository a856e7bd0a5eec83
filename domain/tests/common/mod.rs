//! Fixtures shared by the decision tests: users, times, ids and ready-made events.
#![allow(dead_code, clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};
use pawpost_domain::conversation::{ForwardFact, ForwardedFrom, MessageLookup, NewParticipant};
use pawpost_domain::values::{
    AttachmentKind, AttachmentRef, ConversationKind, ConversationTitle, Location, MessageBody,
    MessageKind, Role,
};
use pawpost_domain::{
    ConversationCommand, ConversationEvent, ConversationId, MessageId, PersonalText, TempId, UserId,
};
use uuid::Uuid;

pub fn user(name: &str) -> UserId {
    UserId::parse(name).unwrap()
}
pub fn alice() -> UserId {
    user("alice")
}
pub fn bob() -> UserId {
    user("bob")
}
pub fn carol() -> UserId {
    user("carol")
}
pub fn dave() -> UserId {
    user("dave")
}
pub fn eve() -> UserId {
    user("eve")
}
pub fn service() -> UserId {
    user("booking-service")
}

/// A fixed instant plus `n` seconds.
pub fn t(n: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + n, 0).unwrap()
}

pub fn mid(n: u128) -> MessageId {
    MessageId::from(Uuid::from_u128(0x1000 + n))
}

pub fn gid() -> ConversationId {
    ConversationId::from(Uuid::from_u128(0xC0))
}

pub fn body(text: &str) -> MessageBody {
    MessageBody::parse(text).unwrap()
}

pub fn title(text: &str) -> ConversationTitle {
    ConversationTitle::parse(text).unwrap()
}

pub fn temp(id: &str) -> TempId {
    TempId::parse(id).unwrap()
}

pub fn member(user_id: UserId, role: Role) -> NewParticipant {
    NewParticipant { user_id, role }
}

/// A group `gid()` titled "Dog walkers", owned by `owner`, with `members` as members.
pub fn group_created(owner: UserId, members: &[UserId]) -> ConversationEvent {
    let mut participants = vec![member(owner.clone(), Role::Owner)];
    participants.extend(members.iter().map(|m| member(m.clone(), Role::Member)));
    ConversationEvent::ConversationCreated {
        conversation_id: gid(),
        kind: ConversationKind::Group,
        booking_id: None,
        title: Some(title("Dog walkers")),
        description: None,
        image_url: None,
        created_by: owner,
        participants,
        at: t(0),
    }
}

/// The direct conversation of `a` (creator) and `b`.
pub fn direct_created(a: UserId, b: UserId) -> ConversationEvent {
    ConversationEvent::ConversationCreated {
        conversation_id: ConversationId::direct(&a, &b),
        kind: ConversationKind::Direct,
        booking_id: None,
        title: None,
        description: None,
        image_url: None,
        created_by: a.clone(),
        participants: vec![member(a, Role::Member), member(b, Role::Member)],
        at: t(0),
    }
}

pub fn role_changed(user_id: UserId, role: Role, by: UserId) -> ConversationEvent {
    ConversationEvent::ParticipantRoleChanged {
        user_id,
        role,
        by,
        at: t(1),
    }
}

/// alice owns; bob is admin; carol and dave are members. Versions 1–2.
pub fn group() -> Vec<ConversationEvent> {
    vec![
        group_created(alice(), &[bob(), carol(), dave()]),
        role_changed(bob(), Role::Admin, alice()),
    ]
}

/// `group()` plus carol's message `mid(1)` at seq 3.
pub fn group_with_message() -> Vec<ConversationEvent> {
    let mut events = group();
    events.push(sent(1, carol()));
    events
}

/// `events` followed by `more`: a log as it stands after a decision.
pub fn with(
    mut events: Vec<ConversationEvent>,
    more: impl IntoIterator<Item = ConversationEvent>,
) -> Vec<ConversationEvent> {
    events.extend(more);
    events
}

pub fn left(user_id: UserId) -> ConversationEvent {
    ConversationEvent::ParticipantLeft { user_id, at: t(2) }
}

pub fn added(user_ids: Vec<UserId>, by: UserId) -> ConversationEvent {
    ConversationEvent::ParticipantsAdded {
        user_ids,
        by,
        at: t(2),
    }
}

pub fn deleted(n: u128, by: UserId) -> ConversationEvent {
    ConversationEvent::MessageDeleted {
        message_id: mid(n),
        by,
        at: t(5),
    }
}

/// A text message `mid(n)` by `author` saying "message {n}".
pub fn sent(n: u128, author: UserId) -> ConversationEvent {
    Msg::text(n, author).event()
}

pub fn image(id: &str) -> AttachmentRef {
    AttachmentRef::parse(
        id,
        AttachmentKind::Image,
        "rex.jpg",
        "/media/rex.jpg",
        2048,
        "image/jpeg",
    )
    .unwrap()
}

/// A `SendMessage` under construction; `cmd()` and `event()` give the command and the event it
/// should produce.
#[derive(Clone)]
pub struct Msg {
    pub id: MessageId,
    pub actor: UserId,
    pub kind: MessageKind,
    pub body: Option<String>,
    pub attachments: Vec<AttachmentRef>,
    pub location: Option<Location>,
    /// The reply target as looked up (only its id reaches the event).
    pub reply_to: Option<MessageLookup>,
    pub forward: Option<ForwardFact>,
    pub mentions: Vec<UserId>,
    pub temp_id: Option<TempId>,
    pub blocked_by_other: bool,
}

impl Msg {
    pub fn text(n: u128, actor: UserId) -> Msg {
        Msg {
            id: mid(n),
            actor,
            kind: MessageKind::Text,
            body: Some(format!("message {n}")),
            attachments: vec![],
            location: None,
            reply_to: None,
            forward: None,
            mentions: vec![],
            temp_id: None,
            blocked_by_other: false,
        }
    }

    pub fn cmd(&self) -> ConversationCommand {
        ConversationCommand::SendMessage {
            message_id: self.id,
            actor: self.actor.clone(),
            kind: self.kind,
            body: self.body.as_deref().map(body),
            attachments: self.attachments.clone(),
            location: self.location.clone(),
            reply_to: self.reply_to.clone(),
            forward: self.forward.clone(),
            mentions: self.mentions.clone(),
            temp_id: self.temp_id.clone(),
            blocked_by_other: self.blocked_by_other,
            at: t(3),
        }
    }

    pub fn event(&self) -> ConversationEvent {
        ConversationEvent::MessageSent {
            message_id: self.id,
            sender_id: self.actor.clone(),
            kind: self.kind,
            content: PersonalText::clear(self.body.clone().unwrap_or_default()),
            attachments: self.attachments.clone(),
            location: self.location.clone(),
            reply_to: self.reply_to.as_ref().map(|l| l.id),
            forwarded_from: self.forward.as_ref().map(|f| ForwardedFrom {
                message_id: f.message_id,
                conversation_id: f.conversation_id,
            }),
            mentions: self.mentions.clone(),
            temp_id: self.temp_id.clone(),
            system_type: None,
            at: t(3),
        }
    }
}
