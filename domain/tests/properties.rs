//! Property tests: random command sequences over four users in one group conversation (send,
//! reply, edit, delete, react, mark read/delivered, leave, add back, promote), checked after
//! every step against invariants and against a naive model rebuilt from the log alone
//! (`properties/naive.rs`).
//!
//! Commands about a message carry a look-up folded from the log (`lookup_in`), sometimes from a
//! log that lags a few events behind, as a read model may: the naive model says what each
//! decision must come to, stale look-ups included, and a stale look-up must never change a
//! decision, only be refused as stale.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "properties/naive.rs"]
mod naive;

use pawpost_domain::conversation::MessageLookup;
use pawpost_domain::testing::lookup_in;
use pawpost_domain::values::{MessageBody, Reaction, Role};
use pawpost_domain::{
    Aggregate, ConversationCommand as C, ConversationEvent as E, ConversationState, DomainError,
    MessageId, UserId,
};
use proptest::prelude::*;
use proptest::sample::Index;

use common::{gid, mid, t, title, user, Msg};
use naive::Model;

const USERS: usize = 4;

fn users() -> Vec<UserId> {
    (0..USERS).map(|i| user(&format!("u{i}"))).collect()
}

#[derive(Clone, Debug)]
enum Op {
    Send(usize, Option<Index>),
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

impl Op {
    /// Whether the command carries a message look-up.
    fn looks_up(&self) -> bool {
        !matches!(
            self,
            Op::Send(_, None) | Op::Leave(_) | Op::AddBack(..) | Op::Promote(..)
        )
    }
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..USERS;
    let reply = proptest::option::weighted(0.3, any::<Index>());
    prop_oneof![
        6 => (who.clone(), reply).prop_map(|(w, r)| Op::Send(w, r)),
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

/// How many events the look-up's source lags behind the log: mostly none.
fn lag() -> impl Strategy<Value = usize> {
    prop_oneof![2 => Just(0usize), 1 => 1usize..4]
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

/// The command for `op` at `step`; message look-ups are folded from `seen`, the log as the
/// look-up's source had it.
fn command(op: &Op, step: i64, sent: &[MessageId], users: &[UserId], seen: &[E]) -> C {
    let at = t(step);
    let lookup =
        |w: usize, i: &Index| -> MessageLookup { lookup_in(seen, pick(sent, i), &users[w]) };
    match op {
        Op::Send(w, reply) => {
            let mut msg = Msg::text(1_000 + u128::try_from(step).unwrap(), users[*w].clone());
            msg.body = Some(format!("step {step}"));
            msg.reply_to = reply.as_ref().map(|i| lookup(*w, i));
            msg.cmd()
        }
        Op::Edit(w, i, v) => C::EditMessage {
            actor: users[*w].clone(),
            message: lookup(*w, i),
            body: MessageBody::parse(&format!("edit {v}")).unwrap(),
            at,
        },
        Op::Delete(w, i) => C::DeleteForEveryone {
            actor: users[*w].clone(),
            message: lookup(*w, i),
            at,
        },
        Op::React(w, i, r) => C::AddReaction {
            actor: users[*w].clone(),
            message: lookup(*w, i),
            reaction: reaction(*r),
            at,
        },
        Op::Unreact(w, i, r) => C::RemoveReaction {
            actor: users[*w].clone(),
            message: lookup(*w, i),
            reaction: reaction(*r),
            at,
        },
        Op::MarkRead(w, i) => C::MarkRead {
            actor: users[*w].clone(),
            message: lookup(*w, i),
            at,
        },
        Op::MarkDelivered(w, i) => C::MarkDelivered {
            actor: users[*w].clone(),
            message: lookup(*w, i),
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
    fn random_histories_keep_the_invariants(
        steps in prop::collection::vec((op(), lag()), 1..80),
    ) {
        let users = users();
        let mut state = ConversationState::default();
        let mut log: Vec<E> = Vec::new();
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

        for step in 0..=steps.len() {
            // Step 0 creates the group; later commands target the messages sent so far, looked
            // up in the log as it stood `lag` events ago.
            let at = i64::try_from(step).unwrap();
            let (cmd, fresh) = match step {
                0 => (create.clone(), None),
                _ => {
                    let (op, lag) = &steps[step - 1];
                    let seen = &log[..log.len().saturating_sub(*lag)];
                    let cmd = command(op, at, &sent, &users, seen);
                    let stale = op.looks_up() && seen.len() < log.len();
                    (cmd, stale.then(|| command(op, at, &sent, &users, &log)))
                }
            };
            let before = markers(&state, &users);
            let model = Model::from_log(&log);
            let result = state.decide(&cmd);

            // (1) decisions about messages agree with the naive model, stale look-ups included.
            if let Some(expected) = model.expected(&cmd) {
                prop_assert_eq!(result.clone().map_err(|e| e.code()), expected, "{:?}", cmd);
            }
            // (2) a stale look-up never changes a decision: it is refused as stale, or decided
            // as with a current look-up (except that a reply may go to a message deleted after
            // the look-up: the deletion is ordered after the reply).
            if let Some(fresh) = fresh {
                let current = state.decide(&fresh);
                let reply_to_deleted = matches!(cmd, C::SendMessage { .. })
                    && result.is_ok()
                    && current == Err(DomainError::AlreadyDeleted);
                prop_assert!(
                    result == Err(DomainError::StaleFacts) || result == current || reply_to_deleted,
                    "stale {:?} vs current {:?} for {:?}", result, current, cmd
                );
            }
            // (3) only current participants act (creation aside).
            let actor_was_current = model.is_current(cmd.actor());
            match result {
                Ok(events) => {
                    prop_assert!(cmd.is_creation() || actor_was_current, "{cmd:?}");
                    for event in events {
                        let version = state.version() + 1;
                        state.evolve(version, &event);
                        if let E::MessageSent { message_id, .. } = &event {
                            sent.push(*message_id);
                        }
                        log.push(event);
                    }
                }
                Err(DomainError::NotParticipant) => prop_assert!(!actor_was_current),
                Err(_) => {}
            }

            // (4) gapless versions: each event took the next version, so the log holds 1..=n.
            prop_assert_eq!(state.version(), u64::try_from(log.len()).unwrap());
            // (5) markers never decrease, and delivered is at least read.
            for (b, a) in before.iter().zip(markers(&state, &users)) {
                prop_assert!(a.0 >= b.0 && a.1 >= b.1, "marker went back: {b:?} -> {a:?}");
                prop_assert!(a.1 >= a.0, "delivered is at least read");
            }
            // (6) last_seq is the version of the last MessageSent, last_message_change that of
            // the last event that changed a message, as the naive model has them.
            let after = Model::from_log(&log);
            prop_assert_eq!(state.last_seq(), after.last_sent);
            prop_assert_eq!(state.last_message_change(), after.last_change);
            // (7) markers match the naive model, for every user, after every step.
            for (u, (read, delivered)) in users.iter().zip(markers(&state, &users)) {
                let naive = after.members.get(u).map_or((0, 0), |m| (m.read, m.read.max(m.delivered)));
                prop_assert_eq!((read, delivered), naive, "user {}", u);
            }
            // (8) at most one owner.
            prop_assert!(state.current_participants().filter(|p| p.role == Role::Owner).count() <= 1);
        }

        // (9) replaying the log from scratch gives the same state.
        let mut replayed = ConversationState::default();
        for (i, e) in log.iter().enumerate() {
            replayed.evolve(u64::try_from(i).unwrap() + 1, e);
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
