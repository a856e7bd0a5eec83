//! Property tests: random command sequences over four users in one group conversation (send,
//! edit, delete, react, mark read/delivered, leave, add back, promote), checked after every step
//! against invariants and against a naive model rebuilt from the log alone.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use pawpost_domain::values::{MessageBody, Reaction, Role};
use pawpost_domain::{
    Aggregate, ConversationCommand as C, ConversationEvent as E, ConversationState, DomainError,
    MessageId, UserId,
};
use proptest::prelude::*;
use proptest::sample::Index;

use common::{gid, mid, t, title, user, Msg};

const USERS: usize = 4;

fn users() -> Vec<UserId> {
    (0..USERS).map(|i| user(&format!("u{i}"))).collect()
}

#[derive(Clone, Debug)]
enum Op {
    Send(usize),
    Edit(usize, Index, u8),
    Delete(usize, Index),
    React(usize, Index, bool),
    Unreact(usize, Index, bool),
    MarkRead(usize, Index),
    MarkDelivered(usize, Index),
    Leave(usize),
    AddBack(usize, usize),
    Promote(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..USERS;
    prop_oneof![
        6 => who.clone().prop_map(Op::Send),
        2 => (who.clone(), any::<Index>(), 0u8..3).prop_map(|(w, i, v)| Op::Edit(w, i, v)),
        2 => (who.clone(), any::<Index>()).prop_map(|(w, i)| Op::Delete(w, i)),
        2 => (who.clone(), any::<Index>(), any::<bool>()).prop_map(|(w, i, r)| Op::React(w, i, r)),
        1 => (who.clone(), any::<Index>(), any::<bool>()).prop_map(|(w, i, r)| Op::Unreact(w, i, r)),
        4 => (who.clone(), any::<Index>()).prop_map(|(w, i)| Op::MarkRead(w, i)),
        3 => (who.clone(), any::<Index>()).prop_map(|(w, i)| Op::MarkDelivered(w, i)),
        1 => who.clone().prop_map(Op::Leave),
        2 => (who.clone(), who.clone()).prop_map(|(w, x)| Op::AddBack(w, x)),
        1 => (who.clone(), who).prop_map(|(w, x)| Op::Promote(w, x)),
    ]
}

/// Picks one of the messages sent so far, or an id that exists nowhere.
fn pick(sent: &[MessageId], index: &Index) -> MessageId {
    if sent.is_empty() {
        mid(9_999)
    } else {
        sent[index.index(sent.len())]
    }
}

fn reaction(heart: bool) -> Reaction {
    Reaction::parse(if heart { "❤️" } else { "🐾" }).unwrap()
}

fn command(op: &Op, step: i64, sent: &[MessageId], users: &[UserId]) -> C {
    let at = t(step);
    match op {
        Op::Send(w) => {
            let mut msg = Msg::text(1_000 + u128::try_from(step).unwrap(), users[*w].clone());
            msg.body = Some(format!("step {step}"));
            msg.cmd()
        }
        Op::Edit(w, i, v) => C::EditMessage {
            actor: users[*w].clone(),
            message_id: pick(sent, i),
            body: MessageBody::parse(&format!("edit {v}")).unwrap(),
            at,
        },
        Op::Delete(w, i) => C::DeleteForEveryone {
            actor: users[*w].clone(),
            message_id: pick(sent, i),
            at,
        },
        Op::React(w, i, r) => C::AddReaction {
            actor: users[*w].clone(),
            message_id: pick(sent, i),
            reaction: reaction(*r),
            at,
        },
        Op::Unreact(w, i, r) => C::RemoveReaction {
            actor: users[*w].clone(),
            message_id: pick(sent, i),
            reaction: reaction(*r),
            at,
        },
        Op::MarkRead(w, i) => C::MarkRead {
            actor: users[*w].clone(),
            message_id: pick(sent, i),
            at,
        },
        Op::MarkDelivered(w, i) => C::MarkDelivered {
            actor: users[*w].clone(),
            message_id: pick(sent, i),
            at,
        },
        Op::Leave(w) => C::Leave {
            actor: users[*w].clone(),
            at,
        },
        Op::AddBack(w, x) => C::AddParticipants {
            actor: users[*w].clone(),
            users: vec![users[*x].clone()],
            at,
        },
        Op::Promote(w, x) => C::ChangeRole {
            actor: users[*w].clone(),
            user: users[*x].clone(),
            role: Role::Admin,
            at,
        },
    }
}

/// What the naive model knows about one user, rebuilt from the log with no help from the state.
#[derive(Default)]
struct NaiveUser {
    ranges: Vec<(u64, Option<u64>)>,
    read: u64,
}

impl NaiveUser {
    fn current(&self) -> bool {
        self.ranges.last().is_some_and(|r| r.1.is_none())
    }
    fn sees(&self, seq: u64) -> bool {
        self.ranges
            .iter()
            .any(|&(joined, left)| seq > joined && left.is_none_or(|l| seq <= l))
    }
}

/// Replays the log into plain facts: (seq, author, deleted) per message, and per-user ranges.
fn naive(
    log: &[(u64, E)],
    who: &UserId,
) -> (NaiveUser, Vec<(u64, UserId, MessageId)>, HashSet<MessageId>) {
    let mut me = NaiveUser::default();
    let mut messages = Vec::new();
    let mut deleted = HashSet::new();
    for (v, event) in log {
        match event {
            E::ConversationCreated { participants, .. }
                if participants.iter().any(|p| &p.user_id == who) =>
            {
                me.ranges.push((*v, None));
            }
            E::ParticipantsAdded { user_ids, .. } if user_ids.contains(who) && !me.current() => {
                me.ranges.push((*v, None));
            }
            E::ParticipantLeft { user_id, .. } | E::ParticipantRemoved { user_id, .. }
                if user_id == who =>
            {
                if let Some(last) = me.ranges.last_mut() {
                    last.1 = Some(*v);
                }
            }
            E::MessageSent {
                message_id,
                sender_id,
                ..
            } => messages.push((*v, sender_id.clone(), *message_id)),
            E::MessageDeleted { message_id, .. } => {
                deleted.insert(*message_id);
            }
            E::MessagesRead {
                user_id, up_to_seq, ..
            } if user_id == who => me.read = me.read.max(*up_to_seq),
            _ => {}
        }
    }
    (me, messages, deleted)
}

fn naive_unread(log: &[(u64, E)], who: &UserId) -> u64 {
    let (me, messages, deleted) = naive(log, who);
    let n = messages
        .iter()
        .filter(|(seq, author, id)| {
            author != who && !deleted.contains(id) && *seq > me.read && me.sees(*seq)
        })
        .count();
    u64::try_from(n).unwrap()
}

fn markers(state: &ConversationState, users: &[UserId]) -> Vec<(u64, u64)> {
    users
        .iter()
        .map(|u| {
            state
                .participant(u)
                .map_or((0, 0), |p| (p.read_seq(), p.delivered_seq()))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_histories_keep_the_invariants(ops in prop::collection::vec(op(), 1..80)) {
        let users = users();
        let mut state = ConversationState::default();
        let mut log: Vec<(u64, E)> = Vec::new();
        let mut sent: Vec<MessageId> = Vec::new();

        let create = C::CreateGroup {
            id: gid(),
            actor: users[0].clone(),
            title: title("props"),
            description: None,
            image_url: None,
            members: users[1..3].to_vec(),
            at: t(0),
        };

        for step in 0..=ops.len() {
            // Step 0 creates the group; later commands target the messages sent so far.
            let cmd = match step {
                0 => create.clone(),
                _ => command(&ops[step - 1], i64::try_from(step).unwrap(), &sent, &users),
            };
            let before = markers(&state, &users);
            let actor_was_current = {
                let (me, _, _) = naive(&log, cmd.actor());
                me.current()
            };

            match state.decide(&cmd) {
                Ok(events) => {
                    // (4) only current participants act (creation aside).
                    prop_assert!(cmd.is_creation() || actor_was_current, "{cmd:?}");
                    for event in events {
                        let version = state.version() + 1;
                        state.evolve(version, &event);
                        if let E::MessageSent { message_id, .. } = &event {
                            sent.push(*message_id);
                        }
                        log.push((version, event));
                    }
                }
                Err(DomainError::NotParticipant) => prop_assert!(!actor_was_current),
                Err(_) => {}
            }

            // (1) gapless versions: the log holds exactly versions 1..=n.
            prop_assert_eq!(state.version(), u64::try_from(log.len()).unwrap());
            for (i, (v, _)) in log.iter().enumerate() {
                prop_assert_eq!(*v, u64::try_from(i).unwrap() + 1);
            }
            // (2) markers never decrease.
            for (b, a) in before.iter().zip(markers(&state, &users)) {
                prop_assert!(a.0 >= b.0 && a.1 >= b.1, "marker went back: {b:?} -> {a:?}");
                prop_assert!(a.1 >= a.0, "delivered is at least read");
            }
            // (3) unread counts match the naive model, for every user, after every step.
            for u in &users {
                prop_assert_eq!(state.unread_count(u), naive_unread(&log, u), "user {}", u);
            }
            // (5) at most one owner.
            prop_assert!(state.current_participants().filter(|p| p.role == Role::Owner).count() <= 1);
        }

        // (6) replaying the log from scratch gives the same state.
        let mut replayed = ConversationState::default();
        for (v, e) in &log {
            replayed.evolve(*v, e);
        }
        prop_assert_eq!(replayed, state);
    }

    #[test]
    fn direct_ids_do_not_depend_on_order(a in "[a-z0-9]{1,12}", b in "[a-z0-9]{1,12}") {
        let (a, b) = (user(&a), user(&b));
        prop_assert_eq!(
            pawpost_domain::ConversationId::direct(&a, &b),
            pawpost_domain::ConversationId::direct(&b, &a)
        );
    }
}
