use pawpost_domain::conversation::{MessageFacts, MessageLookup};
use pawpost_domain::testing::{given, lookup_in, Then};
use pawpost_domain::{
    ConversationCommand as C, ConversationEvent as E, ConversationState, DomainError, PersonalText,
    UserId,
};

use crate::common::*;

fn edit(actor: UserId, message: MessageLookup, text: &str) -> C {
    C::EditMessage {
        actor,
        message,
        body: body(text),
        at: t(4),
    }
}

fn edited(n: u128, by: UserId, text: &str) -> E {
    E::MessageEdited {
        message_id: mid(n),
        content: PersonalText::clear(text),
        by,
        at: t(4),
    }
}

fn system_message(n: u128) -> E {
    E::MessageSent {
        message_id: mid(n),
        sender_id: service(),
        kind: pawpost_domain::values::MessageKind::System,
        content: PersonalText::clear("Booking confirmed"),
        attachments: vec![],
        location: None,
        reply_to: None,
        forwarded_from: None,
        mentions: vec![],
        temp_id: None,
        system_type: Some("booking.confirmed".into()),
        at: t(3),
    }
}

#[test]
fn the_author_edits_and_every_edit_stays_in_the_log() {
    let g = given(group_with_message());
    let m = g.lookup(mid(1), &carol());
    let state = g
        .when(edit(carol(), m, "fixed typo"))
        .then([edited(1, carol(), "fixed typo")]);
    assert_eq!(
        state.last_message_change(),
        4,
        "an edit is a message change"
    );
    assert_eq!(state.last_seq(), 3, "an edit is not a new message");

    let events = with(group_with_message(), [edited(1, carol(), "fixed typo")]);
    let g = given(events.clone());
    let m = g.lookup(mid(1), &carol());
    let state = g
        .when(edit(carol(), m, "fixed again"))
        .then([edited(1, carol(), "fixed again")]);
    assert_eq!(state.last_message_change(), 5);
    let log = with(events, [edited(1, carol(), "fixed again")]);
    let edits = log.iter().filter(|e| matches!(e, E::MessageEdited { .. }));
    assert_eq!(edits.count(), 2, "the earlier version stays in the log");
    let facts = lookup_in(&log, mid(1), &carol()).found.unwrap();
    assert_eq!(
        facts.content_fingerprint,
        Some(MessageFacts::fingerprint("fixed again"))
    );
}

#[test]
fn an_edit_to_the_same_text_emits_nothing() {
    let g = given(group_with_message());
    let m = g.lookup(mid(1), &carol());
    g.when(edit(carol(), m, "message 1")).then_nothing();
    let g = given(with(group_with_message(), [edited(1, carol(), "v2")]));
    let m = g.lookup(mid(1), &carol());
    g.when(edit(carol(), m, "v2")).then_nothing();
}

#[test]
fn only_the_author_edits() {
    let g = given(group_with_message());
    let m = g.lookup(mid(1), &alice());
    g.when(edit(alice(), m, "owner rewrites"))
        .then_error(DomainError::Forbidden("only the author can edit a message"));
}

#[test]
fn a_deleted_message_cannot_be_edited() {
    let g = given(with(group_with_message(), [deleted(1, carol())]));
    let m = g.lookup(mid(1), &carol());
    g.when(edit(carol(), m, "too late"))
        .then_error(DomainError::AlreadyDeleted);
}

#[test]
fn system_messages_cannot_be_edited() {
    let g = given(with(group(), [system_message(5)]));
    let m = g.lookup(mid(5), &service());
    g.when(edit(service(), m, "x"))
        .then_error(DomainError::NotParticipant);
    let g = given(with(group(), [system_message(5)]));
    let m = g.lookup(mid(5), &alice());
    g.when(edit(alice(), m, "x"))
        .then_error(DomainError::Forbidden("system messages cannot be edited"));
}

#[test]
fn editing_an_unknown_message_is_not_found() {
    let g = given(group());
    let m = g.lookup(mid(9), &carol());
    g.when(edit(carol(), m, "x"))
        .then_error(DomainError::NotFound("message"));
}

fn delete(actor: UserId, message: MessageLookup) -> C {
    C::DeleteForEveryone {
        actor,
        message,
        at: t(5),
    }
}

/// Decides `actor`'s delete of `mid(n)`, looked up current to the end of `events`.
fn when_deleting(events: Vec<E>, actor: UserId, n: u128) -> Then<ConversationState> {
    let g = given(events);
    let m = g.lookup(mid(n), &actor);
    g.when(delete(actor, m))
}

#[test]
fn the_author_deletes_for_everyone_leaving_a_tombstone() {
    let state = when_deleting(group_with_message(), carol(), 1).then([deleted(1, carol())]);
    assert_eq!(state.last_message_change(), 4);
    assert_eq!(state.last_seq(), 3);
    // The tombstone keeps its place; its facts now say deleted.
    let log = with(group_with_message(), [deleted(1, carol())]);
    let facts = lookup_in(&log, mid(1), &carol()).found.unwrap();
    assert!(facts.deleted);
    assert_eq!((facts.seq, facts.author), (3, carol()));
}

#[test]
fn a_member_cannot_delete_someone_elses_message_in_a_group() {
    when_deleting(group_with_message(), dave(), 1)
        .then_err(|e| matches!(e, DomainError::Forbidden(_)));
}

#[test]
fn an_admin_deletes_someone_elses_message_in_a_group() {
    when_deleting(group_with_message(), bob(), 1).then([deleted(1, bob())]);
    when_deleting(group_with_message(), alice(), 1).then([deleted(1, alice())]);
}

#[test]
fn in_a_direct_conversation_only_the_author_deletes() {
    let events = vec![direct_created(alice(), bob()), sent(1, alice())];
    when_deleting(events.clone(), bob(), 1).then_err(|e| matches!(e, DomainError::Forbidden(_)));
    when_deleting(events, alice(), 1).then([deleted(1, alice())]);
}

#[test]
fn deleting_twice_is_already_deleted() {
    when_deleting(
        with(group_with_message(), [deleted(1, carol())]),
        carol(),
        1,
    )
    .then_error(DomainError::AlreadyDeleted);
}

#[test]
fn deleting_as_a_non_participant_is_refused() {
    when_deleting(group_with_message(), eve(), 1).then_error(DomainError::NotParticipant);
}
