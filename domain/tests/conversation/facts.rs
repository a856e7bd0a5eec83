//! Decisions about one message get its facts looked up outside the aggregate
//! (`MessageLookup`): how current the look-up must be, and what its facts decide.
//!
//! A look-up current to version `v` is stale once a message changed after `v`
//! (`last_message_change > v`). Edit, delete and reactions depend on facts that change and
//! refuse a stale look-up; marking read/delivered and replying only need facts that never
//! change, so a stale look-up that found the message will do, but one that found nothing may
//! have missed a message sent since.

use pawpost_domain::conversation::{MessageFacts, MessageLookup};
use pawpost_domain::testing::{given, lookup_in, Given};
use pawpost_domain::values::{MessageKind, Reaction};
use pawpost_domain::{
    ConversationCommand as C, ConversationEvent as E, ConversationState, DomainError, PersonalText,
    UserId,
};

use crate::common::*;

fn reaction(r: &str) -> Reaction {
    Reaction::parse(r).unwrap()
}

fn reacted(n: u128, user_id: UserId, r: &str) -> E {
    E::ReactionAdded {
        message_id: mid(n),
        user_id,
        reaction: reaction(r),
        at: t(4),
    }
}

fn edit(actor: UserId, message: MessageLookup, text: &str) -> C {
    C::EditMessage {
        actor,
        message,
        body: body(text),
        at: t(6),
    }
}

fn delete(actor: UserId, message: MessageLookup) -> C {
    C::DeleteForEveryone {
        actor,
        message,
        at: t(6),
    }
}

fn react(actor: UserId, message: MessageLookup, r: &str) -> C {
    C::AddReaction {
        actor,
        message,
        reaction: reaction(r),
        at: t(6),
    }
}

fn unreact(actor: UserId, message: MessageLookup, r: &str) -> C {
    C::RemoveReaction {
        actor,
        message,
        reaction: reaction(r),
        at: t(6),
    }
}

fn mark_read(actor: UserId, message: MessageLookup) -> C {
    C::MarkRead {
        actor,
        message,
        at: t(6),
    }
}

fn mark_delivered(actor: UserId, message: MessageLookup) -> C {
    C::MarkDelivered {
        actor,
        message,
        at: t(6),
    }
}

fn reply(n: u128, actor: UserId, target: MessageLookup) -> Msg {
    let mut msg = Msg::text(n, actor);
    msg.reply_to = Some(target);
    msg
}

/// carol's `mid(1)` at v3, then dave reacts to it at v4: a look-up of `mid(1)` current to v3
/// is stale.
fn reacted_since() -> Vec<E> {
    with(group_with_message(), [reacted(1, dave(), "🐾")])
}

/// `mid(n)` looked up for `actor` in the first `upto` events only: a read model that lags.
fn lagging(events: &[E], upto: usize, n: u128, actor: &UserId) -> MessageLookup {
    lookup_in(&events[..upto], mid(n), actor)
}

/// The scenario and a look-up of `mid(n)` for `actor` current to version `upto`, checked stale.
fn given_stale(
    events: Vec<E>,
    upto: usize,
    n: u128,
    actor: &UserId,
) -> (Given<ConversationState>, MessageLookup) {
    let lookup = lagging(&events, upto, n, actor);
    let g = given(events);
    assert!(
        lookup.as_of < g.state().last_message_change(),
        "the look-up is stale"
    );
    (g, lookup)
}

#[test]
fn edit_delete_and_reactions_refuse_a_stale_look_up() {
    let (g, m) = given_stale(reacted_since(), 3, 1, &carol());
    g.when(edit(carol(), m, "fixed"))
        .then_error(DomainError::StaleFacts);
    let (g, m) = given_stale(reacted_since(), 3, 1, &carol());
    g.when(delete(carol(), m))
        .then_error(DomainError::StaleFacts);
    let (g, m) = given_stale(reacted_since(), 3, 1, &dave());
    g.when(react(dave(), m, "🐾"))
        .then_error(DomainError::StaleFacts);
    let (g, m) = given_stale(reacted_since(), 3, 1, &dave());
    g.when(unreact(dave(), m, "🐾"))
        .then_error(DomainError::StaleFacts);
}

#[test]
fn a_change_to_another_message_also_makes_a_look_up_stale() {
    let events = with(group_with_message(), [sent(2, dave())]);
    let (g, m) = given_stale(events, 3, 1, &carol());
    g.when(edit(carol(), m, "fixed"))
        .then_error(DomainError::StaleFacts);
}

#[test]
fn events_that_change_no_message_leave_a_look_up_current() {
    let events = with(group_with_message(), [added(vec![eve()], alice())]);
    let m = lagging(&events, 3, 1, &carol());
    let g = given(events);
    assert_eq!(g.state().last_message_change(), 3);
    g.when(edit(carol(), m, "fixed")).then([E::MessageEdited {
        message_id: mid(1),
        content: PersonalText::clear("fixed"),
        by: carol(),
        at: t(6),
    }]);
}

#[test]
fn marking_read_accepts_a_stale_look_up_that_found_the_message() {
    let (g, m) = given_stale(reacted_since(), 3, 1, &alice());
    g.when(mark_read(alice(), m)).then([E::MessagesRead {
        user_id: alice(),
        up_to_seq: 3,
        message_id: mid(1),
        at: t(6),
    }]);
    let (g, m) = given_stale(reacted_since(), 3, 1, &bob());
    g.when(mark_delivered(bob(), m))
        .then([E::MessagesDelivered {
            user_id: bob(),
            up_to_seq: 3,
            message_id: mid(1),
            at: t(6),
        }]);
}

#[test]
fn marking_read_refuses_a_stale_look_up_that_found_nothing() {
    // mid(2) is sent at v4; a look-up current to v3 cannot know it.
    let events = with(group_with_message(), [sent(2, dave())]);
    let (g, m) = given_stale(events.clone(), 3, 2, &alice());
    assert_eq!(m.found, None);
    g.when(mark_read(alice(), m))
        .then_error(DomainError::StaleFacts);
    let (g, m) = given_stale(events, 3, 2, &alice());
    g.when(mark_delivered(alice(), m))
        .then_error(DomainError::StaleFacts);
}

#[test]
fn a_current_look_up_that_found_nothing_is_not_found() {
    for cmd in [
        mark_read as fn(UserId, MessageLookup) -> C,
        mark_delivered,
        delete,
        |actor, m| edit(actor, m, "x"),
        |actor, m| react(actor, m, "🐾"),
        |actor, m| unreact(actor, m, "🐾"),
    ] {
        let g = given(reacted_since());
        let m = g.lookup(mid(9), &carol());
        assert_eq!(m.as_of, 4);
        g.when(cmd(carol(), m))
            .then_error(DomainError::NotFound("message"));
    }
}

#[test]
fn a_look_up_whose_facts_say_deleted_is_already_deleted() {
    let events = with(reacted_since(), [deleted(1, carol())]);
    let g = given(events.clone());
    let m = g.lookup(mid(1), &carol());
    assert!(m.found.as_ref().unwrap().deleted);
    g.when(edit(carol(), m, "x"))
        .then_error(DomainError::AlreadyDeleted);
    for cmd in [
        delete as fn(UserId, MessageLookup) -> C,
        |actor, m| react(actor, m, "❤️"),
        |actor, m| unreact(actor, m, "🐾"),
    ] {
        // bob is admin, so the delete is not refused as forbidden first.
        let g = given(events.clone());
        let m = g.lookup(mid(1), &bob());
        g.when(cmd(bob(), m))
            .then_error(DomainError::AlreadyDeleted);
    }
}

#[test]
fn replying_to_a_message_found_by_a_stale_look_up_is_accepted() {
    let (g, target) = given_stale(reacted_since(), 3, 1, &dave());
    let msg = reply(2, dave(), target);
    g.when(msg.cmd()).then([msg.event()]);
}

#[test]
fn replying_with_a_stale_look_up_that_found_nothing_is_stale() {
    let events = with(group_with_message(), [sent(2, carol())]);
    let (g, target) = given_stale(events, 3, 2, &dave());
    g.when(reply(3, dave(), target).cmd())
        .then_error(DomainError::StaleFacts);
}

#[test]
fn a_reply_target_not_found_by_a_current_look_up_is_not_found() {
    let g = given(reacted_since());
    let target = g.lookup(mid(9), &dave());
    g.when(reply(2, dave(), target).cmd())
        .then_error(DomainError::NotFound("reply target"));
}

#[test]
fn reacting_again_with_a_current_look_up_that_shows_the_reaction_changes_nothing() {
    let g = given(reacted_since());
    let m = g.lookup(mid(1), &dave());
    assert!(m.found.as_ref().unwrap().has_reaction(&reaction("🐾")));
    g.when(react(dave(), m, "🐾")).then_nothing();
}

#[test]
fn editing_to_the_same_text_changes_nothing() {
    let g = given(group_with_message());
    let m = g.lookup(mid(1), &carol());
    g.when(edit(carol(), m, "message 1")).then_nothing();

    // Only the fingerprint is compared: the facts passed in decide.
    let facts = MessageFacts {
        seq: 3,
        author: carol(),
        kind: MessageKind::Text,
        deleted: false,
        content_fingerprint: Some(MessageFacts::fingerprint("walk at 5?")),
        actor_reactions: vec![],
    };
    given(group_with_message())
        .when(edit(
            carol(),
            MessageLookup::found(mid(1), facts, 3),
            "walk at 5?",
        ))
        .then_nothing();
}

#[test]
fn a_message_sent_before_one_joined_is_not_found_even_by_a_stale_look_up() {
    // mid(1) at v3, eve joins at v4, mid(2) at v5: a look-up current to v4 is stale.
    let events = with(
        group_with_message(),
        [added(vec![eve()], alice()), sent(2, carol())],
    );
    for cmd in [
        mark_read as fn(UserId, MessageLookup) -> C,
        mark_delivered,
        delete,
        |actor, m| edit(actor, m, "x"),
        |actor, m| react(actor, m, "🐾"),
    ] {
        let (g, m) = given_stale(events.clone(), 4, 1, &eve());
        g.when(cmd(eve(), m))
            .then_error(DomainError::NotFound("message"));
    }
    let (g, target) = given_stale(events, 4, 1, &eve());
    g.when(reply(3, eve(), target).cmd())
        .then_error(DomainError::NotFound("reply target"));
}
