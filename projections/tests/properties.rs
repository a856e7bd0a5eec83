//! Property tests of the read models on both backends (DESIGN.md §5, STYLE.md §10).
//!
//! Random command sequences over four users and three conversations (a group created by user 0
//! with everyone, the direct conversation of users 0 and 1, and a group created by user 2 with
//! users 0 and 3) are executed through the command handlers; commands the domain refuses are
//! skipped. Projections run at random points of the sequence. Short sequences (10–80 commands)
//! try every kind of command; long ones (hundreds to a few thousand, mostly messages into the
//! first group, with reads of the latest message, deletions, hides, leaving and coming back,
//! mentions and system notices in between) check the maintained counters over long histories,
//! and are rebuilt once more in small batches. Then:
//!
//! * (a) the incrementally built read models equal a rebuild from the log (every projector
//!   reset and caught up again), table by table;
//! * (b) a naive in-memory model, fed only with the events of the commands that succeeded,
//!   predicts for every user the conversation list (which conversations, their order, unread,
//!   mention and message counts, last-message preview, muted/archived/pinned flags), the unread
//!   total,
//!   the search hits of a few query words and the user's blocks — checked after every
//!   projection point, at the end, and again after the rebuild.
//!
//! Plus a fixed case: search folds case beyond ASCII, on both backends.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeSet, HashSet};

use chrono::Utc;
use common::{assert_same, uid, World};
use pawpost_commands::{CommandError, RecordedDomainEvent};
use pawpost_domain::values::{
    ConversationTitle, MessageBody, MessageKind, NotificationLevel, Reaction, Role,
};
use pawpost_domain::{
    ConversationCommand as C, ConversationEvent as CE, ConversationId, MessageId, UserCommand as U,
    UserEvent as UE, UserId,
};
use pawpost_projections::db::micros;
use pawpost_projections::queries::conversations::{self, ListFilter};
use pawpost_projections::queries::search::{self, SearchQuery};
use pawpost_projections::queries::users;
use pawpost_projections::Projections;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use uuid::Uuid;

const USERS: [&str; 4] = ["alice", "bob", "carol", "dave"];
/// Conversations by index: 0 the group of user 0, 1 the direct one, 2 the group of user 2.
const DIRECT: usize = 1;
const CONVERSATIONS: usize = 3;

/// Message words: mixed case, a CJK word, words containing each other.
const WORDS: &[&str] = &[
    "walk",
    "Walkies",
    "poodle",
    "POODLE",
    "Poodle",
    "vet",
    "velvet",
    "treat",
    "park",
    "予約",
    "トリミング",
    "rex",
    "groom",
];
/// Search queries: case-insensitive, partial words, CJK (two and three characters).
const QUERIES: &[&str] = &[
    "poodle",
    "OODL",
    "walk",
    "vet",
    "予約",
    "トリミ",
    "rex",
    "k p",
];
const REACTIONS: &[&str] = &["👍", "❤️", "ok"];

const DELETED: &str = "This message was deleted";

// ---------------------------------------------------------------------------------------------
// Generated operations. Indices are resolved against the model when the operation runs
// (`pick` chooses among the messages sent so far, `user` among the right people).

#[derive(Debug, Clone)]
struct Text {
    words: Vec<usize>,
    /// A leading space (kept in the body; previews trim it).
    pad: bool,
}

impl Text {
    fn render(&self) -> String {
        let body = self
            .words
            .iter()
            .map(|w| WORDS[*w])
            .collect::<Vec<_>>()
            .join(" ");
        if self.pad {
            format!(" {body}")
        } else {
            body
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Send {
        conv: usize,
        user: usize,
        text: Text,
        mention: Option<usize>,
    },
    Edit {
        pick: usize,
        text: Text,
    },
    DeleteForEveryone {
        pick: usize,
        by_author: bool,
    },
    React {
        pick: usize,
        user: usize,
        reaction: usize,
        add: bool,
    },
    MarkRead {
        pick: usize,
        user: usize,
    },
    Mute {
        conv: usize,
        user: usize,
        on: bool,
    },
    Archive {
        conv: usize,
        user: usize,
        on: bool,
    },
    Pin {
        conv: usize,
        user: usize,
        on: bool,
    },
    DeleteForMe {
        pick: usize,
        user: usize,
    },
    Leave {
        conv: usize,
        user: usize,
    },
    /// Back in: added by the group's owner, or reopening the direct conversation.
    Rejoin {
        conv: usize,
        user: usize,
    },
    Block {
        user: usize,
        other: usize,
        on: bool,
    },
    /// The service posts a notice (its sender is nobody of `USERS`).
    System {
        conv: usize,
        text: Text,
    },
    /// A participant reads up to the conversation's latest message (opening it).
    ReadLatest {
        conv: usize,
        user: usize,
    },
    /// Bring the projections up to date and check the predictions.
    Project,
}

fn text() -> impl Strategy<Value = Text> {
    let words = prop_oneof![
        5 => prop::collection::vec(0..WORDS.len(), 1..5),
        // Long enough to be cut in the list preview.
        1 => prop::collection::vec(0..WORDS.len(), 18..30),
    ];
    (words, prop::bool::weighted(0.15)).prop_map(|(words, pad)| Text { words, pad })
}

fn op() -> impl Strategy<Value = Op> {
    let conv = || 0..CONVERSATIONS;
    let user = || 0..USERS.len();
    let pick = || any::<u16>().prop_map(usize::from);
    prop_oneof![
        10 => (conv(), user(), text(), prop::option::weighted(0.2, user()))
            .prop_map(|(conv, user, text, mention)| Op::Send { conv, user, text, mention }),
        2 => (pick(), text()).prop_map(|(pick, text)| Op::Edit { pick, text }),
        2 => (pick(), prop::bool::weighted(0.7))
            .prop_map(|(pick, by_author)| Op::DeleteForEveryone { pick, by_author }),
        2 => (pick(), user(), 0..REACTIONS.len(), any::<bool>())
            .prop_map(|(pick, user, reaction, add)| Op::React { pick, user, reaction, add }),
        4 => (pick(), user()).prop_map(|(pick, user)| Op::MarkRead { pick, user }),
        1 => (conv(), user(), any::<bool>()).prop_map(|(conv, user, on)| Op::Mute { conv, user, on }),
        1 => (conv(), user(), any::<bool>())
            .prop_map(|(conv, user, on)| Op::Archive { conv, user, on }),
        1 => (conv(), user(), any::<bool>()).prop_map(|(conv, user, on)| Op::Pin { conv, user, on }),
        2 => (pick(), user()).prop_map(|(pick, user)| Op::DeleteForMe { pick, user }),
        2 => (conv(), user()).prop_map(|(conv, user)| Op::Leave { conv, user }),
        2 => (conv(), user()).prop_map(|(conv, user)| Op::Rejoin { conv, user }),
        1 => (user(), user(), prop::bool::weighted(0.7))
            .prop_map(|(user, other, on)| Op::Block { user, other, on }),
        1 => (conv(), text()).prop_map(|(conv, text)| Op::System { conv, text }),
        2 => (conv(), user()).prop_map(|(conv, user)| Op::ReadLatest { conv, user }),
        2 => Just(Op::Project),
    ]
}

/// The operations of a long history: mostly short messages, three in four into the first
/// group; projections about once every hundred operations.
fn long_op() -> impl Strategy<Value = Op> {
    let conv = || prop_oneof![6 => Just(0usize), 1 => Just(1usize), 1 => Just(2usize)];
    let user = || 0..USERS.len();
    let pick = || any::<u16>().prop_map(usize::from);
    let short = || {
        (prop::collection::vec(0..WORDS.len(), 1..4), Just(false))
            .prop_map(|(words, pad)| Text { words, pad })
    };
    prop_oneof![
        60 => (conv(), user(), short(), prop::option::weighted(0.15, user()))
            .prop_map(|(conv, user, text, mention)| Op::Send { conv, user, text, mention }),
        10 => (conv(), user()).prop_map(|(conv, user)| Op::ReadLatest { conv, user }),
        5 => (pick(), user()).prop_map(|(pick, user)| Op::MarkRead { pick, user }),
        4 => (pick(), prop::bool::weighted(0.7))
            .prop_map(|(pick, by_author)| Op::DeleteForEveryone { pick, by_author }),
        5 => (pick(), user()).prop_map(|(pick, user)| Op::DeleteForMe { pick, user }),
        2 => (conv(), user()).prop_map(|(conv, user)| Op::Leave { conv, user }),
        2 => (conv(), user()).prop_map(|(conv, user)| Op::Rejoin { conv, user }),
        1 => (pick(), short()).prop_map(|(pick, text)| Op::Edit { pick, text }),
        1 => (conv(), short()).prop_map(|(conv, text)| Op::System { conv, text }),
        1 => Just(Op::Project),
    ]
}

// ---------------------------------------------------------------------------------------------
// The naive model: plain structs updated from the events of each command that succeeded.

fn who(id: &UserId) -> usize {
    USERS.iter().position(|u| *u == id.as_str()).unwrap()
}

/// The service that posts system notices, and its index as a sender (nobody of `USERS`).
const SERVICE: &str = "pawpost-bookings";
const NOBODY: usize = USERS.len();

/// A message's sender: one of `USERS`, or the service.
fn sender(id: &UserId) -> usize {
    USERS
        .iter()
        .position(|u| *u == id.as_str())
        .unwrap_or(NOBODY)
}

struct MConv {
    id: ConversationId,
    created_at: i64,
    /// Per user: membership stretches (joined at version, left at version).
    ranges: [Vec<(u64, Option<u64>)>; 4],
    roles: [Option<Role>; 4],
    read: [u64; 4],
}

impl MConv {
    fn current(&self, u: usize) -> bool {
        self.ranges[u].last().is_some_and(|r| r.1.is_none())
    }

    fn in_range(&self, u: usize, seq: u64) -> bool {
        self.ranges[u]
            .iter()
            .any(|(from, to)| seq > *from && to.is_none_or(|to| seq <= to))
    }

    fn owner(&self) -> Option<usize> {
        (0..USERS.len()).find(|u| self.current(*u) && self.roles[*u] == Some(Role::Owner))
    }

    fn participants(&self) -> Vec<usize> {
        (0..USERS.len()).filter(|u| self.current(*u)).collect()
    }
}

struct MMsg {
    id: MessageId,
    conv: usize,
    seq: u64,
    author: usize,
    text: String,
    mentions: Vec<usize>,
    deleted: bool,
    at: i64,
}

#[derive(Default)]
struct Model {
    convs: Vec<MConv>,
    msgs: Vec<MMsg>,
    /// (user, message) deleted for that user only.
    hidden: HashSet<(usize, MessageId)>,
    /// (blocker, blocked).
    blocks: BTreeSet<(usize, usize)>,
    /// (user, conversation) settings.
    muted: HashSet<(usize, usize)>,
    archived: HashSet<(usize, usize)>,
    pinned: HashSet<(usize, usize)>,
}

/// One row of the conversation list, as predicted and as read.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    id: String,
    unread: u64,
    mentions: u64,
    messages: u64,
    preview: Option<String>,
    muted: bool,
    archived: bool,
    pinned: bool,
}

/// The list preview of a text message (`render::preview`'s rule, written again).
fn preview(text: &str, deleted: bool) -> String {
    if deleted {
        return DELETED.into();
    }
    let t = text.trim();
    if t.chars().count() > 100 {
        format!("{}…", t.chars().take(99).collect::<String>())
    } else {
        t.to_string()
    }
}

impl Model {
    fn conv_of(&self, id: &ConversationId) -> usize {
        self.convs.iter().position(|c| c.id == *id).unwrap()
    }

    fn msg(&mut self, id: &MessageId) -> &mut MMsg {
        self.msgs.iter_mut().find(|m| m.id == *id).unwrap()
    }

    fn apply_conversation(&mut self, c: usize, events: &[RecordedDomainEvent<CE>]) {
        for e in events {
            let v = e.version;
            match &e.event {
                CE::ConversationCreated {
                    participants, at, ..
                } => {
                    let conv = &mut self.convs[c];
                    conv.created_at = micros(*at);
                    for p in participants {
                        conv.ranges[who(&p.user_id)].push((v, None));
                        conv.roles[who(&p.user_id)] = Some(p.role);
                    }
                }
                CE::ParticipantsAdded { user_ids, .. } => {
                    for u in user_ids {
                        self.convs[c].ranges[who(u)].push((v, None));
                        self.convs[c].roles[who(u)] = Some(Role::Member);
                    }
                }
                CE::ParticipantRemoved { user_id, .. } | CE::ParticipantLeft { user_id, .. } => {
                    let last = self.convs[c].ranges[who(user_id)].last_mut().unwrap();
                    assert!(last.1.is_none());
                    last.1 = Some(v);
                }
                CE::ParticipantRoleChanged { user_id, role, .. } => {
                    let roles = &mut self.convs[c].roles;
                    if *role == Role::Owner {
                        for r in roles.iter_mut().filter(|r| **r == Some(Role::Owner)) {
                            *r = Some(Role::Admin);
                        }
                    }
                    roles[who(user_id)] = Some(*role);
                }
                CE::MessageSent {
                    message_id,
                    sender_id,
                    content,
                    mentions,
                    at,
                    ..
                } => self.msgs.push(MMsg {
                    id: *message_id,
                    conv: c,
                    seq: v,
                    author: sender(sender_id),
                    text: content.as_clear().unwrap().to_string(),
                    mentions: mentions.iter().map(who).collect(),
                    deleted: false,
                    at: micros(*at),
                }),
                CE::MessageEdited {
                    message_id,
                    content,
                    ..
                } => self.msg(message_id).text = content.as_clear().unwrap().to_string(),
                CE::MessageDeleted { message_id, .. } => self.msg(message_id).deleted = true,
                CE::MessagesRead {
                    user_id, up_to_seq, ..
                } => {
                    let read = &mut self.convs[c].read[who(user_id)];
                    *read = (*read).max(*up_to_seq);
                }
                CE::ReactionAdded { .. }
                | CE::ReactionRemoved { .. }
                | CE::MessagesDelivered { .. }
                | CE::ConversationDetailsUpdated { .. } => {}
            }
        }
    }

    fn apply_user(&mut self, u: usize, events: &[RecordedDomainEvent<UE>]) {
        for e in events {
            match &e.event {
                UE::ConversationMuted {
                    conversation_id, ..
                } => {
                    self.muted.insert((u, self.conv_of(conversation_id)));
                }
                UE::ConversationUnmuted {
                    conversation_id, ..
                } => {
                    self.muted.remove(&(u, self.conv_of(conversation_id)));
                }
                UE::ConversationArchived {
                    conversation_id, ..
                } => {
                    self.archived.insert((u, self.conv_of(conversation_id)));
                }
                UE::ConversationUnarchived {
                    conversation_id, ..
                } => {
                    self.archived.remove(&(u, self.conv_of(conversation_id)));
                }
                UE::ConversationPinned {
                    conversation_id, ..
                } => {
                    self.pinned.insert((u, self.conv_of(conversation_id)));
                }
                UE::ConversationUnpinned {
                    conversation_id, ..
                } => {
                    self.pinned.remove(&(u, self.conv_of(conversation_id)));
                }
                UE::MessagesHiddenForMe { message_ids, .. } => {
                    self.hidden.extend(message_ids.iter().map(|m| (u, *m)));
                }
                UE::UserBlocked { user_id, .. } => {
                    self.blocks.insert((u, who(user_id)));
                }
                UE::UserUnblocked { user_id, .. } => {
                    self.blocks.remove(&(u, who(user_id)));
                }
                UE::DraftSaved { .. } | UE::DraftCleared { .. } | UE::ProfileUpdated { .. } => {}
            }
        }
    }

    /// Whether `u` sees message `m` at all: inside one of their membership ranges and not
    /// deleted for them (tombstones are seen).
    fn sees(&self, u: usize, m: &MMsg) -> bool {
        self.convs[m.conv].in_range(u, m.seq) && !self.hidden.contains(&(u, m.id))
    }

    fn unread(&self, u: usize, c: usize) -> impl Iterator<Item = &MMsg> + '_ {
        let read = self.convs[c].read[u];
        self.msgs.iter().filter(move |m| {
            m.conv == c && m.seq > read && m.author != u && !m.deleted && self.sees(u, m)
        })
    }

    fn last_visible(&self, u: usize, c: usize) -> Option<&MMsg> {
        self.msgs
            .iter()
            .filter(|m| m.conv == c && self.sees(u, m))
            .max_by_key(|m| m.seq)
    }

    /// The conversation list of `u`: current conversations only, pinned first, then by last
    /// visible activity (or creation), then by id.
    fn list(&self, u: usize) -> Vec<Row> {
        let mut rows: Vec<(bool, i64, Row)> = (0..self.convs.len())
            .filter(|c| self.convs[*c].current(u))
            .map(|c| {
                let last = self.last_visible(u, c);
                let row = Row {
                    id: self.convs[c].id.to_string(),
                    unread: self.unread(u, c).count() as u64,
                    mentions: self
                        .unread(u, c)
                        .filter(|m| m.mentions.contains(&u))
                        .count() as u64,
                    messages: self.msgs.iter().filter(|m| m.conv == c).count() as u64,
                    preview: last.map(|m| preview(&m.text, m.deleted)),
                    muted: self.muted.contains(&(u, c)),
                    archived: self.archived.contains(&(u, c)),
                    pinned: self.pinned.contains(&(u, c)),
                };
                let active = last.map_or(self.convs[c].created_at, |m| m.at);
                (row.pinned, active, row)
            })
            .collect();
        rows.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.id.cmp(&b.2.id)));
        rows.into_iter().map(|(_, _, r)| r).collect()
    }

    /// Messages `u` finds with `query`: current conversations, inside their ranges, not deleted,
    /// not hidden for them, text containing the query case-insensitively.
    /// In the search's order: newest first, then by id.
    fn search(&self, u: usize, query: &str) -> Vec<String> {
        let q = query.trim().to_lowercase();
        let mut hits: Vec<(i64, String)> = self
            .msgs
            .iter()
            .filter(|m| {
                self.convs[m.conv].current(u)
                    && self.sees(u, m)
                    && !m.deleted
                    && m.text.to_lowercase().contains(&q)
            })
            .map(|m| (m.at, m.id.to_string()))
            .collect();
        hits.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        hits.into_iter().map(|(_, id)| id).collect()
    }

    fn pick(&self, pick: usize) -> Option<&MMsg> {
        (!self.msgs.is_empty()).then(|| &self.msgs[pick % self.msgs.len()])
    }
}

// ---------------------------------------------------------------------------------------------
// Running a sequence.

struct Run<'a> {
    w: &'a World,
    m: Model,
    /// Commands that appended events (the others were refused or changed nothing).
    appended: usize,
}

impl Run<'_> {
    /// Message `m` of conversation `c` looked up for user `u` (from the log).
    async fn look(
        &self,
        c: usize,
        u: usize,
        m: MessageId,
    ) -> pawpost_domain::conversation::MessageLookup {
        self.w.look(self.m.convs[c].id, USERS[u], m).await
    }

    async fn conv(&mut self, c: usize, cmd: C) {
        match self.w.conv(self.m.convs[c].id, cmd).await {
            Ok(out) => {
                if !out.events.is_empty() {
                    self.appended += 1;
                }
                self.m.apply_conversation(c, &out.events);
            }
            Err(CommandError::Domain(_)) => {}
            Err(e) => panic!("command failed: {e}"),
        }
    }

    async fn user(&mut self, u: usize, cmd: U) {
        match self.w.user(&uid(USERS[u]), cmd).await {
            Ok(out) => {
                if !out.events.is_empty() {
                    self.appended += 1;
                }
                self.m.apply_user(u, &out.events);
            }
            Err(CommandError::Domain(_)) => {}
            Err(e) => panic!("command failed: {e}"),
        }
    }

    async fn setup(&mut self) {
        let now = Utc::now;
        let group = |owner: usize, members: &[usize], title: &str| {
            let id = ConversationId::from_uuid(Uuid::now_v7());
            let cmd = C::CreateGroup {
                id,
                actor: uid(USERS[owner]),
                title: ConversationTitle::parse(title).unwrap(),
                description: None,
                image_url: None,
                members: members.iter().map(|m| uid(USERS[*m])).collect(),
                at: now(),
            };
            (id, cmd)
        };
        let (g, create_g) = group(0, &[1, 2, 3], "Walkers");
        let d = ConversationId::direct(&uid(USERS[0]), &uid(USERS[1]));
        let create_d = C::CreateDirect {
            id: d,
            actor: uid(USERS[0]),
            other: uid(USERS[1]),
            at: now(),
        };
        let (g2, create_g2) = group(2, &[0, 3], "Sitters");
        for (id, cmd) in [(g, create_g), (d, create_d), (g2, create_g2)] {
            self.m.convs.push(MConv {
                id,
                created_at: 0,
                ranges: Default::default(),
                roles: [None; 4],
                read: [0; 4],
            });
            let c = self.m.convs.len() - 1;
            self.conv(c, cmd).await;
        }
        assert_eq!(self.appended, 3, "the conversations exist");
    }

    fn body(text: &Text) -> MessageBody {
        MessageBody::parse(&text.render()).unwrap()
    }

    async fn op(&mut self, op: &Op) {
        let at = Utc::now();
        match op {
            Op::Send {
                conv,
                user,
                text,
                mention,
            } => {
                let c = *conv;
                // In the direct conversation only its two users act.
                let u = if c == DIRECT { user % 2 } else { *user };
                let other = 1 - u % 2;
                let mentions = mention
                    .filter(|m| self.m.convs[c].current(*m))
                    .map(|m| uid(USERS[m]))
                    .into_iter()
                    .collect();
                let cmd = C::SendMessage {
                    message_id: MessageId::from_uuid(Uuid::now_v7()),
                    actor: uid(USERS[u]),
                    kind: MessageKind::Text,
                    body: Some(Self::body(text)),
                    attachments: vec![],
                    location: None,
                    reply_to: None,
                    forward: None,
                    mentions,
                    temp_id: None,
                    blocked_by_other: c == DIRECT && self.m.blocks.contains(&(other, u)),
                    at,
                };
                self.conv(c, cmd).await;
            }
            Op::Edit { pick, text } => {
                let Some(m) = self.m.pick(*pick) else { return };
                let (c, author, message_id) = (m.conv, m.author, m.id);
                if author == NOBODY {
                    return;
                }
                let message = self.look(c, author, message_id).await;
                let cmd = C::EditMessage {
                    actor: uid(USERS[author]),
                    message,
                    body: Self::body(text),
                    at,
                };
                self.conv(c, cmd).await;
            }
            Op::DeleteForEveryone { pick, by_author } => {
                let Some(m) = self.m.pick(*pick) else { return };
                let (c, message_id) = (m.conv, m.id);
                let actor = if *by_author && m.author != NOBODY {
                    Some(m.author)
                } else {
                    self.m.convs[c].owner()
                };
                let Some(actor) = actor else { return };
                let message = self.look(c, actor, message_id).await;
                let cmd = C::DeleteForEveryone {
                    actor: uid(USERS[actor]),
                    message,
                    at,
                };
                self.conv(c, cmd).await;
            }
            Op::React {
                pick,
                user,
                reaction,
                add,
            } => {
                let Some(m) = self.m.pick(*pick) else { return };
                let (c, message_id) = (m.conv, m.id);
                let people = self.m.convs[c].participants();
                let Some(u) = (!people.is_empty()).then(|| people[user % people.len()]) else {
                    return;
                };
                let reaction = Reaction::parse(REACTIONS[*reaction]).unwrap();
                let actor = uid(USERS[u]);
                let message = self.look(c, u, message_id).await;
                let cmd = if *add {
                    C::AddReaction {
                        actor,
                        message,
                        reaction,
                        at,
                    }
                } else {
                    C::RemoveReaction {
                        actor,
                        message,
                        reaction,
                        at,
                    }
                };
                self.conv(c, cmd).await;
            }
            Op::MarkRead { pick, user } => {
                let Some(m) = self.m.pick(*pick) else { return };
                let (c, message_id) = (m.conv, m.id);
                let people = self.m.convs[c].participants();
                let Some(u) = (!people.is_empty()).then(|| people[user % people.len()]) else {
                    return;
                };
                let message = self.look(c, u, message_id).await;
                let cmd = C::MarkRead {
                    actor: uid(USERS[u]),
                    message,
                    at,
                };
                self.conv(c, cmd).await;
            }
            Op::Mute { conv, user, on } => {
                let (c, u) = (*conv, *user);
                let conversation_id = self.m.convs[c].id;
                let actor = uid(USERS[u]);
                let cmd = if *on {
                    U::Mute {
                        actor,
                        conversation_id,
                        until: None,
                        level: if u % 2 == 0 {
                            NotificationLevel::None
                        } else {
                            NotificationLevel::Mentions
                        },
                        is_participant: self.m.convs[c].current(u),
                        at,
                    }
                } else {
                    U::Unmute {
                        actor,
                        conversation_id,
                        at,
                    }
                };
                self.user(u, cmd).await;
            }
            Op::Archive { conv, user, on } => {
                let (c, u) = (*conv, *user);
                let conversation_id = self.m.convs[c].id;
                let actor = uid(USERS[u]);
                let cmd = if *on {
                    U::Archive {
                        actor,
                        conversation_id,
                        is_participant: self.m.convs[c].current(u),
                        at,
                    }
                } else {
                    U::Unarchive {
                        actor,
                        conversation_id,
                        at,
                    }
                };
                self.user(u, cmd).await;
            }
            Op::Pin { conv, user, on } => {
                let (c, u) = (*conv, *user);
                let conversation_id = self.m.convs[c].id;
                let actor = uid(USERS[u]);
                let cmd = if *on {
                    U::Pin {
                        actor,
                        conversation_id,
                        is_participant: self.m.convs[c].current(u),
                        at,
                    }
                } else {
                    U::Unpin {
                        actor,
                        conversation_id,
                        at,
                    }
                };
                self.user(u, cmd).await;
            }
            Op::DeleteForMe { pick, user } => {
                let Some(m) = self.m.pick(*pick) else { return };
                let visible = self.m.convs[m.conv].in_range(*user, m.seq);
                let cmd = U::DeleteForMe {
                    actor: uid(USERS[*user]),
                    conversation_id: self.m.convs[m.conv].id,
                    message_ids: vec![m.id],
                    visible_to_actor: visible,
                    at,
                };
                self.user(*user, cmd).await;
            }
            Op::Leave { conv, user } => {
                let c = *conv;
                let people = self.m.convs[c].participants();
                let Some(u) = (!people.is_empty()).then(|| people[user % people.len()]) else {
                    return;
                };
                let cmd = C::Leave {
                    actor: uid(USERS[u]),
                    at,
                };
                self.conv(c, cmd).await;
            }
            Op::Rejoin { conv, user } => {
                let c = *conv;
                // Someone who is not (or no longer) in it.
                let outside: Vec<usize> = (0..USERS.len())
                    .filter(|u| !self.m.convs[c].current(*u) && (c != DIRECT || *u < 2))
                    .collect();
                let Some(u) = (!outside.is_empty()).then(|| outside[user % outside.len()]) else {
                    return;
                };
                let cmd = if c == DIRECT {
                    C::CreateDirect {
                        id: self.m.convs[c].id,
                        actor: uid(USERS[u]),
                        other: uid(USERS[1 - u]),
                        at,
                    }
                } else {
                    let Some(owner) = self.m.convs[c].owner() else {
                        return;
                    };
                    C::AddParticipants {
                        actor: uid(USERS[owner]),
                        users: vec![uid(USERS[u])],
                        at,
                    }
                };
                self.conv(c, cmd).await;
            }
            Op::Block { user, other, on } => {
                let (u, o) = (*user, *other);
                let cmd = if *on {
                    U::Block {
                        actor: uid(USERS[u]),
                        user: uid(USERS[o]),
                        reason: None,
                        at,
                    }
                } else {
                    U::Unblock {
                        actor: uid(USERS[u]),
                        user: uid(USERS[o]),
                        at,
                    }
                };
                self.user(u, cmd).await;
            }
            Op::System { conv, text } => {
                let cmd = C::PostSystemMessage {
                    message_id: MessageId::from_uuid(Uuid::now_v7()),
                    actor: uid(SERVICE),
                    body: Self::body(text),
                    system_type: "booking.confirmed".into(),
                    at,
                };
                self.conv(*conv, cmd).await;
            }
            Op::ReadLatest { conv, user } => {
                let c = *conv;
                let people = self.m.convs[c].participants();
                let Some(u) = (!people.is_empty()).then(|| people[user % people.len()]) else {
                    return;
                };
                let Some(latest) = self
                    .m
                    .msgs
                    .iter()
                    .filter(|m| m.conv == c)
                    .max_by_key(|m| m.seq)
                else {
                    return;
                };
                let latest = latest.id;
                let message = self.look(c, u, latest).await;
                let cmd = C::MarkRead {
                    actor: uid(USERS[u]),
                    message,
                    at,
                };
                self.conv(c, cmd).await;
            }
            Op::Project => {
                self.w.project().await;
                check(self.w, &self.m, "after an incremental projection").await;
            }
        }
    }
}

/// Compares every prediction of the model with the query functions.
async fn check(w: &World, m: &Model, when: &str) {
    let page = ListFilter {
        page: 1,
        page_size: 50,
        ..Default::default()
    };
    for (u, &name) in USERS.iter().enumerate() {
        let (list, total) = w
            .q({
                let page = page.clone();
                move |tx| {
                    Box::pin(async move {
                        Ok((
                            conversations::list(tx, name, &page).await?,
                            conversations::unread_total(tx, name).await?,
                        ))
                    })
                }
            })
            .await;
        let got: Vec<Row> = list
            .conversations
            .iter()
            .map(|s| Row {
                id: s.id.clone(),
                unread: s.unread_count,
                mentions: s.mention_count,
                messages: s.message_count,
                preview: s.last_message_preview.clone(),
                muted: s.is_muted,
                archived: s.is_archived,
                pinned: s.is_pinned,
            })
            .collect();
        let expected = m.list(u);
        assert_eq!(got, expected, "conversation list of {name} ({when})");
        let expected_total: u64 = expected.iter().map(|r| r.unread).sum();
        assert_eq!(
            list.unread_total, expected_total,
            "unread total of {name} in the list ({when})"
        );
        assert_eq!(total, expected_total, "unread_total of {name} ({when})");
        for query in QUERIES {
            let q = SearchQuery {
                text: (*query).to_string(),
                limit: 100,
                ..Default::default()
            };
            let hits = w
                .q(move |tx| Box::pin(async move { search::search(tx, name, &q).await }))
                .await;
            let got: BTreeSet<String> = hits.results.iter().map(|r| r.id.clone()).collect();
            let all = m.search(u, query);
            // A page holds the first 100 (long histories find more).
            let expected: BTreeSet<String> = all.iter().take(100).cloned().collect();
            assert_eq!(
                got,
                expected,
                "search {query:?} by {name} ({when}); texts that differ: {:?}",
                m.msgs
                    .iter()
                    .filter(
                        |m| got.contains(&m.id.to_string()) != expected.contains(&m.id.to_string())
                    )
                    .map(|m| (m.id.to_string(), &m.text))
                    .collect::<Vec<_>>()
            );
            assert_eq!(
                hits.total_count,
                all.len() as u64,
                "search {query:?} count ({when})"
            );
        }
        let blocks = w
            .q(move |tx| Box::pin(async move { users::blocks(tx, name).await }))
            .await;
        let got: BTreeSet<String> = blocks.into_iter().map(|b| b.user_id).collect();
        let expected: BTreeSet<String> = m
            .blocks
            .iter()
            .filter(|(b, _)| *b == u)
            .map(|(_, o)| USERS[*o].to_string())
            .collect();
        assert_eq!(got, expected, "blocks of {name} ({when})");
    }
}

/// Runs `ops`, checks the read models against the model and a rebuild; with `small_batches`,
/// also against a rebuild in transactions of about that many log events.
async fn read_models_match_a_naive_model_and_a_rebuild(
    w: World,
    ops: Vec<Op>,
    small_batches: Option<usize>,
) {
    let mut run = Run {
        w: &w,
        m: Model::default(),
        appended: 0,
    };
    run.setup().await;
    for op in &ops {
        run.op(op).await;
    }
    w.project().await;
    check(&w, &run.m, "at the end").await;

    // (a) Rebuilt from the log, the read models are exactly the incrementally built ones.
    let incremental = w.dump().await;
    assert!(
        !incremental["rm_messages"].is_empty() || run.m.msgs.is_empty(),
        "the dump sees the messages"
    );
    w.rebuild().await;
    let rebuilt = w.dump().await;
    assert_same(
        &incremental,
        &rebuilt,
        "incremental (left) vs rebuilt (right)",
    );
    check(&w, &run.m, "after the rebuild").await;

    if let Some(mut n) = small_batches {
        // A catch-up whose log ends at a full batch does not build the deferred SQLite search
        // index (its empty last batch is rolled back): leave a partial last batch.
        let total = w.events().await.len();
        while total % n == 0 {
            n += 1;
        }
        let small = Projections::new(w.store.clone(), w.codec.clone())
            .unwrap()
            .with_catch_up_batch(n);
        for name in small.names() {
            small.reset(name).await.unwrap();
        }
        w.project_with(&small).await;
        assert_same(
            &incremental,
            &w.dump().await,
            &format!("incremental (left) vs rebuilt in batches of {n} (right)"),
        );
        check(&w, &run.m, &format!("after a rebuild in batches of {n}")).await;
    }
}

/// Search is case-insensitive beyond ASCII too (accented pet names, Greek, Cyrillic), as the
/// naive model's `to_lowercase` is (SQLite's LIKE folds ASCII only, so the index holds
/// lower-cased text).
async fn search_folds_case_beyond_ascii(w: World) {
    let id = ConversationId::from_uuid(Uuid::now_v7());
    w.conv(
        id,
        C::CreateGroup {
            id,
            actor: uid("alice"),
            title: ConversationTitle::parse("Cafés").unwrap(),
            description: None,
            image_url: None,
            members: vec![uid("bob")],
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    let texts = [
        "Café au lait",
        "CAFÉ NOIR",
        "ÜBER Rex",
        "über Bella",
        "Ωmega",
        "Собака",
    ];
    for t in texts {
        w.send(id, "bob", t).await;
    }
    w.project().await;
    for query in ["café", "CAFÉ", "über", "ÜBER", "ωmega", "СОБАКА"] {
        let q = SearchQuery {
            text: query.into(),
            limit: 50,
            ..Default::default()
        };
        let hits = w
            .q(move |tx| Box::pin(async move { search::search(tx, "alice", &q).await }))
            .await;
        let got: BTreeSet<String> = hits.results.into_iter().filter_map(|m| m.content).collect();
        let expected: BTreeSet<String> = texts
            .iter()
            .filter(|t| t.to_lowercase().contains(&query.to_lowercase()))
            .map(|t| t.to_string())
            .collect();
        assert_eq!(got, expected, "search {query:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_search_folds_case_beyond_ascii() {
    search_folds_case_beyond_ascii(World::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_search_folds_case_beyond_ascii() {
    search_folds_case_beyond_ascii(World::postgres().await).await;
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 10..80)
}

fn long_ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(long_op(), 300..2500)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        max_shrink_iters: 200,
        // Keep the worktree clean: a failure prints its minimal case instead of saving it.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(24))]
    #[test]
    fn sqlite_read_models(ops in ops()) {
        runtime().block_on(async {
            read_models_match_a_naive_model_and_a_rebuild(World::sqlite().await, ops, None).await;
        });
    }
}

proptest! {
    #![proptest_config(config(8))]
    #[test]
    fn postgres_read_models(ops in ops()) {
        runtime().block_on(async {
            read_models_match_a_naive_model_and_a_rebuild(World::postgres().await, ops, None).await;
        });
    }
}

proptest! {
    #![proptest_config(config(3))]
    #[test]
    fn sqlite_long_histories(ops in long_ops(), batch in 1usize..64) {
        runtime().block_on(async {
            read_models_match_a_naive_model_and_a_rebuild(World::sqlite().await, ops, Some(batch))
                .await;
        });
    }
}

proptest! {
    #![proptest_config(config(1))]
    #[test]
    fn postgres_long_histories(ops in long_ops(), batch in 1usize..64) {
        runtime().block_on(async {
            read_models_match_a_naive_model_and_a_rebuild(World::postgres().await, ops, Some(batch))
                .await;
        });
    }
}
