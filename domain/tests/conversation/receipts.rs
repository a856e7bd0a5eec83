use pawpost_domain::conversation::MessageLookup;
use pawpost_domain::testing::Then;
use pawpost_domain::testing::{given, lookup_in};
use pawpost_domain::values::Reaction;
use pawpost_domain::{
    ConversationCommand as C, ConversationEvent as E, ConversationState, DomainError, UserId,
    ValidationRule,
};

use crate::common::*;

fn reaction(r: &str) -> Reaction {
    Reaction::parse(r).unwrap()
}

fn react(actor: UserId, message: MessageLookup, r: &str) -> C {
    C::AddReaction {
        actor,
        message,
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

/// Decides `actor`'s reaction `r` to `mid(1)`, looked up current to the end of `events`.
fn when_reacting(events: Vec<E>, actor: UserId, r: &str) -> Then<ConversationState> {
    let g = given(events);
    let m = g.lookup(mid(1), &actor);
    g.when(react(actor, m, r))
}

#[test]
fn participants_react_once_per_reaction() {
    let state = when_reacting(group_with_message(), dave(), "🐾").then([reacted(dave(), "🐾")]);
    assert_eq!(
        state.last_message_change(),
        4,
        "a reaction is a message change"
    );
    let events = with(group_with_message(), [reacted(dave(), "🐾")]);
    let facts = lookup_in(&events, mid(1), &dave()).found.unwrap();
    assert!(facts.has_reaction(&reaction("🐾")));

    when_reacting(events.clone(), dave(), "🐾").then_nothing();
    when_reacting(events.clone(), alice(), "🐾").then([reacted(alice(), "🐾")]);
    when_reacting(events, dave(), "❤️").then([reacted(dave(), "❤️")]);
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
    when_reacting(
        with(group_with_message(), [deleted(1, carol())]),
        dave(),
        "🐾",
    )
    .then_error(DomainError::AlreadyDeleted);
}

#[test]
fn reacting_as_a_non_participant_or_to_an_unknown_message_is_refused() {
    when_reacting(group_with_message(), eve(), "🐾").then_error(DomainError::NotParticipant);
    when_reacting(group(), dave(), "🐾").then_error(DomainError::NotFound("message"));
}

#[test]
fn removing_a_reaction_and_removing_an_absent_one() {
    let unreact = |message| C::RemoveReaction {
        actor: dave(),
        message,
        reaction: reaction("🐾"),
        at: t(7),
    };
    let removed = E::ReactionRemoved {
        message_id: mid(1),
        user_id: dave(),
        reaction: reaction("🐾"),
        at: t(7),
    };
    let events = with(group_with_message(), [reacted(dave(), "🐾")]);
    let g = given(events.clone());
    let m = g.lookup(mid(1), &dave());
    g.when(unreact(m)).then([removed.clone()]);
    let after = lookup_in(&with(events, [removed]), mid(1), &dave());
    assert!(after.found.unwrap().actor_reactions.is_empty());

    let g = given(group_with_message());
    let m = g.lookup(mid(1), &dave());
    g.when(unreact(m)).then_nothing();
}

fn mark_read(actor: UserId, message: MessageLookup) -> C {
    C::MarkRead {
        actor,
        message,
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

fn mark_delivered(actor: UserId, message: MessageLookup) -> C {
    C::MarkDelivered {
        actor,
        message,
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

/// Decides `mark` (`mark_read` or `mark_delivered`) by `actor` for `mid(n)`, looked up current
/// to the end of `events`.
fn when_marking(
    events: Vec<E>,
    mark: fn(UserId, MessageLookup) -> C,
    actor: UserId,
    n: u128,
) -> Then<ConversationState> {
    let g = given(events);
    let m = g.lookup(mid(n), &actor);
    g.when(mark(actor, m))
}

#[test]
fn marking_read_moves_the_marker() {
    let before = given(two_messages());
    assert_eq!(before.state().participant(&alice()).unwrap().read_seq(), 0);
    let m = before.lookup(mid(2), &alice());
    let state = before
        .when(mark_read(alice(), m))
        .then([read(alice(), 2, 4)]);
    assert_eq!(
        state.last_message_change(),
        4,
        "a marker is no message change"
    );
    let alice_record = state.participant(&alice()).unwrap();
    assert_eq!(alice_record.read_seq(), 4);
    assert_eq!(alice_record.delivered_seq(), 4, "reading implies delivery");
}

#[test]
fn the_read_marker_never_moves_back() {
    let events = with(two_messages(), [read(alice(), 2, 4)]);
    when_marking(events.clone(), mark_read, alice(), 1).then_nothing();
    when_marking(events, mark_read, alice(), 2).then_nothing();
}

#[test]
fn marking_delivered_moves_the_marker_monotonically() {
    let state =
        when_marking(two_messages(), mark_delivered, bob(), 1).then([delivered(bob(), 1, 3)]);
    assert_eq!(state.participant(&bob()).unwrap().delivered_seq(), 3);
    assert_eq!(state.participant(&bob()).unwrap().read_seq(), 0);

    let events = with(two_messages(), [delivered(bob(), 2, 4)]);
    when_marking(events, mark_delivered, bob(), 1).then_nothing();
}

#[test]
fn delivered_is_implied_by_read() {
    let events = with(two_messages(), [read(bob(), 2, 4)]);
    when_marking(events, mark_delivered, bob(), 1).then_nothing();
}

#[test]
fn markers_need_a_visible_message() {
    when_marking(two_messages(), mark_read, alice(), 9)
        .then_error(DomainError::NotFound("message"));
    when_marking(two_messages(), mark_delivered, eve(), 1).then_error(DomainError::NotParticipant);
}
