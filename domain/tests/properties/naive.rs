//! A naive model of one conversation for the property tests: rebuilt from the log alone, with
//! no help from the aggregate or the look-ups, and the message rules written out plainly over
//! it. Only the command's message id and the version its look-up is current to are used, never
//! the facts it carries: those are what the model checks.

use std::collections::{BTreeMap, HashSet};

use pawpost_domain::conversation::{ForwardedFrom, MessageLookup};
use pawpost_domain::values::{MessageBody, Reaction, Role};
use pawpost_domain::{
    ConversationCommand as C, ConversationEvent as E, MessageId, PersonalText, UserId,
};

/// One user's stays, role and markers.
pub struct Member {
    /// (joined at, left at) versions.
    pub ranges: Vec<(u64, Option<u64>)>,
    pub role: Role,
    pub read: u64,
    pub delivered: u64,
}

impl Member {
    pub fn current(&self) -> bool {
        self.ranges.last().is_some_and(|r| r.1.is_none())
    }

    pub fn sees(&self, seq: u64) -> bool {
        self.ranges
            .iter()
            .any(|&(joined, left)| seq > joined && left.is_none_or(|l| seq <= l))
    }
}

/// One message as the log tells it.
pub struct Message {
    pub seq: u64,
    pub author: UserId,
    pub text: Option<String>,
    pub deleted_at: Option<u64>,
    pub reactions: HashSet<(UserId, Reaction)>,
}

#[derive(Default)]
pub struct Model {
    pub members: BTreeMap<UserId, Member>,
    pub messages: BTreeMap<MessageId, Message>,
    /// The version of the last `MessageSent`.
    pub last_sent: u64,
    /// The version of the last event that changed a message.
    pub last_change: u64,
}

/// What a decision should come to: its events, or the code of its error.
pub type Outcome = Result<Vec<E>, &'static str>;

impl Model {
    pub fn from_log(log: &[E]) -> Model {
        let mut model = Model::default();
        for (i, event) in log.iter().enumerate() {
            model.apply(u64::try_from(i).unwrap() + 1, event);
        }
        model
    }

    pub fn is_current(&self, user: &UserId) -> bool {
        self.members.get(user).is_some_and(Member::current)
    }

    fn apply(&mut self, v: u64, event: &E) {
        let message_change = matches!(
            event,
            E::MessageSent { .. }
                | E::MessageEdited { .. }
                | E::MessageDeleted { .. }
                | E::ReactionAdded { .. }
                | E::ReactionRemoved { .. }
        );
        if message_change {
            self.last_change = v;
        }
        match event {
            E::ConversationCreated { participants, .. } => {
                for p in participants {
                    let member = Member {
                        ranges: vec![(v, None)],
                        role: p.role,
                        read: 0,
                        delivered: 0,
                    };
                    self.members.insert(p.user_id.clone(), member);
                }
            }
            E::ParticipantsAdded { user_ids, .. } => {
                for user in user_ids {
                    let member = self.members.entry(user.clone()).or_insert(Member {
                        ranges: vec![],
                        role: Role::Member,
                        read: 0,
                        delivered: 0,
                    });
                    if !member.current() {
                        member.ranges.push((v, None));
                        member.role = Role::Member;
                    }
                }
            }
            E::ParticipantLeft { user_id, .. } | E::ParticipantRemoved { user_id, .. } => {
                if let Some(last) = self
                    .members
                    .get_mut(user_id)
                    .and_then(|m| m.ranges.last_mut())
                {
                    last.1.get_or_insert(v);
                }
            }
            E::ParticipantRoleChanged { user_id, role, .. } => {
                for (user, member) in &mut self.members {
                    if *role == Role::Owner && member.role == Role::Owner && user != user_id {
                        member.role = Role::Admin;
                    }
                }
                if let Some(member) = self.members.get_mut(user_id) {
                    member.role = *role;
                }
            }
            E::MessageSent {
                message_id,
                sender_id,
                content,
                ..
            } => {
                self.last_sent = v;
                let message = Message {
                    seq: v,
                    author: sender_id.clone(),
                    text: content.as_clear().map(str::to_owned),
                    deleted_at: None,
                    reactions: HashSet::new(),
                };
                self.messages.insert(*message_id, message);
            }
            E::MessageEdited {
                message_id,
                content,
                ..
            } => {
                if let Some(m) = self.messages.get_mut(message_id) {
                    m.text = content.as_clear().map(str::to_owned);
                }
            }
            E::MessageDeleted { message_id, .. } => {
                if let Some(m) = self.messages.get_mut(message_id) {
                    m.deleted_at.get_or_insert(v);
                }
            }
            E::ReactionAdded {
                message_id,
                user_id,
                reaction,
                ..
            } => {
                if let Some(m) = self.messages.get_mut(message_id) {
                    m.reactions.insert((user_id.clone(), reaction.clone()));
                }
            }
            E::ReactionRemoved {
                message_id,
                user_id,
                reaction,
                ..
            } => {
                if let Some(m) = self.messages.get_mut(message_id) {
                    m.reactions.remove(&(user_id.clone(), reaction.clone()));
                }
            }
            E::MessagesRead {
                user_id, up_to_seq, ..
            } => {
                if let Some(m) = self.members.get_mut(user_id) {
                    m.read = m.read.max(*up_to_seq);
                }
            }
            E::MessagesDelivered {
                user_id, up_to_seq, ..
            } => {
                if let Some(m) = self.members.get_mut(user_id) {
                    m.delivered = m.delivered.max(*up_to_seq);
                }
            }
            E::ConversationDetailsUpdated { .. } => {}
        }
    }

    /// The message a look-up is about, if `actor` (a current participant) may decide on it:
    /// the source must have had it, it must be in the actor's stays, and if the decision
    /// depends on what changes (`changing`), no message may have changed since the look-up.
    fn message(
        &self,
        actor: &UserId,
        lookup: &MessageLookup,
        changing: bool,
    ) -> Result<&Message, &'static str> {
        let me = self
            .members
            .get(actor)
            .filter(|m| m.current())
            .ok_or("not_participant")?;
        let stale = lookup.as_of < self.last_change;
        let known = self
            .messages
            .get(&lookup.id)
            .filter(|m| m.seq <= lookup.as_of);
        match known {
            Some(m) if !me.sees(m.seq) => Err("not_found"),
            Some(m) if !stale || !changing => Ok(m),
            None if !stale => Err("not_found"),
            _ => Err("stale_facts"),
        }
    }

    /// What the rules say about a command about messages; `None` for the others.
    pub fn expected(&self, cmd: &C) -> Option<Outcome> {
        Some(match cmd {
            C::SendMessage {
                actor, reply_to, ..
            } => self.send(cmd, actor, reply_to.as_ref()),
            C::EditMessage {
                actor,
                message,
                body,
                at,
            } => self.message(actor, message, true).and_then(|m| {
                if &m.author != actor {
                    Err("forbidden")
                } else if m.deleted_at.is_some() {
                    Err("already_deleted")
                } else if m.text.as_deref() == Some(body.as_str()) {
                    Ok(vec![])
                } else {
                    Ok(vec![E::MessageEdited {
                        message_id: message.id,
                        content: PersonalText::clear(body.as_str()),
                        by: actor.clone(),
                        at: *at,
                    }])
                }
            }),
            C::DeleteForEveryone { actor, message, at } => {
                self.message(actor, message, true).and_then(|m| {
                    let admin = self.members[actor].role != Role::Member;
                    if &m.author != actor && !admin {
                        Err("forbidden")
                    } else if m.deleted_at.is_some() {
                        Err("already_deleted")
                    } else {
                        Ok(vec![E::MessageDeleted {
                            message_id: message.id,
                            by: actor.clone(),
                            at: *at,
                        }])
                    }
                })
            }
            C::AddReaction {
                actor,
                message,
                reaction,
                at,
            } => self.message(actor, message, true).and_then(|m| {
                let key = (actor.clone(), reaction.clone());
                match (m.deleted_at, m.reactions.contains(&key)) {
                    (Some(_), _) => Err("already_deleted"),
                    (None, true) => Ok(vec![]),
                    (None, false) => Ok(vec![E::ReactionAdded {
                        message_id: message.id,
                        user_id: key.0,
                        reaction: key.1,
                        at: *at,
                    }]),
                }
            }),
            C::RemoveReaction {
                actor,
                message,
                reaction,
                at,
            } => self.message(actor, message, true).and_then(|m| {
                let key = (actor.clone(), reaction.clone());
                match (m.deleted_at, m.reactions.contains(&key)) {
                    (Some(_), _) => Err("already_deleted"),
                    (None, false) => Ok(vec![]),
                    (None, true) => Ok(vec![E::ReactionRemoved {
                        message_id: message.id,
                        user_id: key.0,
                        reaction: key.1,
                        at: *at,
                    }]),
                }
            }),
            C::MarkRead { actor, message, at } => self.message(actor, message, false).map(|m| {
                if m.seq <= self.members[actor].read {
                    return vec![];
                }
                vec![E::MessagesRead {
                    user_id: actor.clone(),
                    up_to_seq: m.seq,
                    message_id: message.id,
                    at: *at,
                }]
            }),
            C::MarkDelivered { actor, message, at } => {
                self.message(actor, message, false).map(|m| {
                    let me = &self.members[actor];
                    if m.seq <= me.read.max(me.delivered) {
                        return vec![];
                    }
                    vec![E::MessagesDelivered {
                        user_id: actor.clone(),
                        up_to_seq: m.seq,
                        message_id: message.id,
                        at: *at,
                    }]
                })
            }
            _ => return None,
        })
    }

    /// A plain text message (all the property test sends), maybe a reply: the target must be
    /// known and visible, and not deleted as far as the look-up knew.
    fn send(&self, cmd: &C, actor: &UserId, reply_to: Option<&MessageLookup>) -> Outcome {
        if !self.is_current(actor) {
            return Err("not_participant");
        }
        if let Some(target) = reply_to {
            let m = self.message(actor, target, false)?;
            if m.deleted_at.is_some_and(|d| d <= target.as_of) {
                return Err("already_deleted");
            }
        }
        let C::SendMessage {
            message_id,
            kind,
            body,
            attachments,
            location,
            forward,
            mentions,
            temp_id,
            at,
            ..
        } = cmd
        else {
            unreachable!("send is only asked about SendMessage")
        };
        Ok(vec![E::MessageSent {
            message_id: *message_id,
            sender_id: actor.clone(),
            kind: *kind,
            content: PersonalText::clear(body.as_ref().map_or("", MessageBody::as_str)),
            attachments: attachments.clone(),
            location: location.clone(),
            reply_to: reply_to.map(|l| l.id),
            forwarded_from: forward.as_ref().map(|f| ForwardedFrom {
                message_id: f.message_id,
                conversation_id: f.conversation_id,
            }),
            mentions: mentions.clone(),
            temp_id: temp_id.clone(),
            system_type: None,
            at: *at,
        }])
    }
}
