use pawpost_domain::testing::given;
use pawpost_domain::{ConversationCommand as C, ConversationEvent as E, DomainError};

use crate::common::*;

/// mid(1) at v3 (before dave leaves at v4), mid(2) at v5 while he is out, dave back at v6,
/// mid(3) at v7.
fn leave_and_return() -> Vec<E> {
    let mut events = group();
    events.push(sent(1, carol())); // v3
    events.push(left(dave())); // v4
    events.push(sent(2, carol())); // v5
    events.push(added(vec![dave()], alice())); // v6
    events.push(sent(3, carol())); // v7
    events
}

#[test]
fn a_user_who_left_sees_nothing_sent_after_leaving() {
    let mut events = group();
    events.push(sent(1, carol())); // v3
    events.push(left(dave())); // v4
    events.push(sent(2, carol())); // v5
    let given = given(events);
    let state = given.state();
    assert!(state.can_see(&dave(), 3));
    assert!(!state.can_see(&dave(), 5));
    let message = given.lookup(mid(2), &dave());
    given
        .when(C::MarkRead {
            actor: dave(),
            message,
            at: t(9),
        })
        .then_error(DomainError::NotParticipant);
}

#[test]
fn rejoining_opens_a_new_range_and_the_gap_stays_hidden() {
    let given = given(leave_and_return());
    let state = given.state();
    assert!(state.can_see(&dave(), 3));
    assert!(!state.can_see(&dave(), 5));
    assert!(state.can_see(&dave(), 7));
    let message = given.lookup(mid(2), &dave());
    given
        .when(C::AddReaction {
            actor: dave(),
            message,
            reaction: pawpost_domain::values::Reaction::parse("👀").unwrap(),
            at: t(9),
        })
        .then_error(DomainError::NotFound("message"));
}

#[test]
fn a_user_who_rejoins_can_still_act_on_messages_from_an_earlier_stay() {
    let g = given(leave_and_return());
    let message = g.lookup(mid(1), &dave());
    g.when(C::MarkRead {
        actor: dave(),
        message,
        at: t(9),
    })
    .then([E::MessagesRead {
        user_id: dave(),
        up_to_seq: 3,
        message_id: mid(1),
        at: t(9),
    }]);
}

#[test]
fn a_newcomer_does_not_see_history() {
    let mut events = group_with_message(); // mid(1) v3
    events.push(added(vec![eve()], bob())); // v4
    let given = given(events);
    assert!(!given.state().can_see(&eve(), 3));
    let message = given.lookup(mid(1), &eve());
    given
        .when(C::MarkRead {
            actor: eve(),
            message,
            at: t(9),
        })
        .then_error(DomainError::NotFound("message"));
}

#[test]
fn participants_and_current_participants_differ_after_leaving() {
    let mut events = group();
    events.push(left(dave()));
    let given = given(events);
    let state = given.state();
    assert_eq!(state.participants().count(), 4);
    assert_eq!(state.current_participants().count(), 3);
    assert!(!state.is_participant(&dave()));
    assert!(state.participant(&dave()).is_some());
}
