use pawpost_domain::testing::given;
use pawpost_domain::values::Reaction;
use pawpost_domain::{
    ConversationCommand as C, ConversationEvent as E, DomainError, UserId, ValidationRule,
};

use crate::common::*;

fn reaction(r: &str) -> Reaction {
    Reaction::parse(r).unwrap()
}

fn react(actor: UserId, r: &str) -> C {
    C::AddReaction {
        actor,
        message_id: mid(1),
        reaction: reaction(r),
        at: t(6),
    }
}

fn reacted(user_id: UserId, r: &str) -> E {
    E::ReactionAdded {
        message_id: mid(1),
        user_id,
        reaction: reaction(r),
        at: t(6),
    }
}

#[test]
fn participants_react_once_per_reaction() {
    let state = given(group_with_message())
        .when(react(dave(), "🐾"))
        .then([reacted(dave(), "🐾")]);
    assert!(state
        .message(&mid(1))
        .unwrap()
        .has_reaction(&dave(), &reaction("🐾")));

    let mut events = group_with_message();
    events.push(reacted(dave(), "🐾"));
    given(events.clone())
        .when(react(dave(), "🐾"))
        .then_nothing();
    given(events.clone())
        .when(react(alice(), "🐾"))
        .then([reacted(alice(), "🐾")]);
    given(events)
        .when(react(dave(), "❤️"))
        .then([reacted(dave(), "❤️")]);
}

#[test]
fn a_reaction_must_be_1_to_50_characters() {
    assert_eq!(Reaction::parse("").unwrap_err().rule, ValidationRule::Empty);
    assert_eq!(
        Reaction::parse("  ").unwrap_err().rule,
        ValidationRule::Empty
    );
    assert_eq!(
        Reaction::parse(&"x".repeat(51)).unwrap_err().rule,
        ValidationRule::TooLong { max: 50 }
    );
    assert!(Reaction::parse(&"x".repeat(50)).is_ok());
}

#[test]
fn no_reactions_on_deleted_messages() {
    let mut events = group_with_message();
    events.push(deleted(1, carol()));
    given(events)
        .when(react(dave(), "🐾"))
        .then_error(DomainError::AlreadyDeleted);
}

#[test]
fn reacting_as_a_non_participant_or_to_an_unknown_message_is_refused() {
    given(group_with_message())
        .when(react(eve(), "🐾"))
        .then_error(DomainError::NotParticipant);
    given(group())
        .when(react(dave(), "🐾"))
        .then_error(DomainError::NotFound("message"));
}

#[test]
fn removing_a_reaction_and_removing_an_absent_one() {
    let unreact = C::RemoveReaction {
        actor: dave(),
        message_id: mid(1),
        reaction: reaction("🐾"),
        at: t(7),
    };
    let mut events = group_with_message();
    events.push(reacted(dave(), "🐾"));
    let state = given(events)
        .when(unreact.clone())
        .then([E::ReactionRemoved {
            message_id: mid(1),
            user_id: dave(),
            reaction: reaction("🐾"),
            at: t(7),
        }]);
    assert!(state.message(&mid(1)).unwrap().reactions.is_empty());
    given(group_with_message()).when(unreact).then_nothing();
}

fn mark_read(actor: UserId, n: u128) -> C {
    C::MarkRead {
        actor,
        message_id: mid(n),
        at: t(8),
    }
}

fn read(user_id: UserId, n: u128, seq: u64) -> E {
    E::MessagesRead {
        user_id,
        up_to_seq: seq,
        message_id: mid(n),
        at: t(8),
    }
}

fn mark_delivered(actor: UserId, n: u128) -> C {
    C::MarkDelivered {
        actor,
        message_id: mid(n),
        at: t(8),
    }
}

fn delivered(user_id: UserId, n: u128, seq: u64) -> E {
    E::MessagesDelivered {
        user_id,
        up_to_seq: seq,
        message_id: mid(n),
        at: t(8),
    }
}

/// group + mid(1) by carol at v3 + mid(2) by dave at v4.
fn two_messages() -> Vec<E> {
    let mut events = group_with_message();
    events.push(sent(2, dave()));
    events
}

#[test]
fn marking_read_moves_the_marker_and_clears_unread() {
    let before = given(two_messages());
    assert_eq!(before.state().unread_count(&alice()), 2);
    let state = before
        .when(mark_read(alice(), 2))
        .then([read(alice(), 2, 4)]);
    assert_eq!(state.unread_count(&alice()), 0);
    let alice_record = state.participant(&alice()).unwrap();
    assert_eq!(alice_record.read_seq(), 4);
    assert_eq!(alice_record.delivered_seq(), 4, "reading implies delivery");
}

#[test]
fn the_read_marker_never_moves_back() {
    let mut events = two_messages();
    events.push(read(alice(), 2, 4));
    given(events.clone())
        .when(mark_read(alice(), 1))
        .then_nothing();
    given(events).when(mark_read(alice(), 2)).then_nothing();
}

#[test]
fn marking_delivered_moves_the_marker_monotonically() {
    let state = given(two_messages())
        .when(mark_delivered(bob(), 1))
        .then([delivered(bob(), 1, 3)]);
    assert_eq!(state.participant(&bob()).unwrap().delivered_seq(), 3);
    assert_eq!(state.participant(&bob()).unwrap().read_seq(), 0);

    let mut events = two_messages();
    events.push(delivered(bob(), 2, 4));
    given(events).when(mark_delivered(bob(), 1)).then_nothing();
}

#[test]
fn delivered_is_implied_by_read() {
    let mut events = two_messages();
    events.push(read(bob(), 2, 4));
    given(events).when(mark_delivered(bob(), 1)).then_nothing();
}

#[test]
fn markers_need_a_visible_message() {
    given(two_messages())
        .when(mark_read(alice(), 9))
        .then_error(DomainError::NotFound("message"));
    given(two_messages())
        .when(mark_delivered(eve(), 1))
        .then_error(DomainError::NotParticipant);
}

#[test]
fn unread_counts_exclude_own_and_deleted_messages() {
    let mut events = two_messages();
    events.push(sent(3, carol())); // v5
    events.push(deleted(2, dave())); // v6
    let state = given(events);
    let state = state.state();
    assert_eq!(
        state.unread_count(&carol()),
        0,
        "dave's message was deleted"
    );
    assert_eq!(state.unread_count(&dave()), 2);
    assert_eq!(state.unread_count(&alice()), 2);
    assert_eq!(state.unread_count(&eve()), 0);
}
