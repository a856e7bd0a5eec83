use pawpost_domain::testing::given;
use pawpost_domain::{
    ConversationCommand as C, ConversationEvent as E, DomainError, PersonalText, UserId,
};

use crate::common::*;

fn edit(actor: UserId, n: u128, text: &str) -> C {
    C::EditMessage {
        actor,
        message_id: mid(n),
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
fn the_author_edits_and_the_state_counts_edits() {
    let state = given(group_with_message())
        .when(edit(carol(), 1, "fixed typo"))
        .then([edited(1, carol(), "fixed typo")]);
    assert_eq!(state.message(&mid(1)).unwrap().edit_count, 1);

    let mut events = group_with_message();
    events.push(edited(1, carol(), "fixed typo"));
    let state = given(events)
        .when(edit(carol(), 1, "fixed again"))
        .then([edited(1, carol(), "fixed again")]);
    assert_eq!(state.message(&mid(1)).unwrap().edit_count, 2);
}

#[test]
fn an_edit_to_the_same_text_emits_nothing() {
    given(group_with_message())
        .when(edit(carol(), 1, "message 1"))
        .then_nothing();
    let mut events = group_with_message();
    events.push(edited(1, carol(), "v2"));
    given(events).when(edit(carol(), 1, "v2")).then_nothing();
}

#[test]
fn only_the_author_edits() {
    given(group_with_message())
        .when(edit(alice(), 1, "owner rewrites"))
        .then_error(DomainError::Forbidden("only the author can edit a message"));
}

#[test]
fn a_deleted_message_cannot_be_edited() {
    let mut events = group_with_message();
    events.push(deleted(1, carol()));
    given(events)
        .when(edit(carol(), 1, "too late"))
        .then_error(DomainError::AlreadyDeleted);
}

#[test]
fn system_messages_cannot_be_edited() {
    let mut events = group();
    events.push(system_message(5));
    given(events)
        .when(edit(service(), 5, "x"))
        .then_error(DomainError::NotParticipant);
    let mut events = group();
    events.push(system_message(5));
    given(events)
        .when(edit(alice(), 5, "x"))
        .then_error(DomainError::Forbidden("system messages cannot be edited"));
}

#[test]
fn editing_an_unknown_message_is_not_found() {
    given(group())
        .when(edit(carol(), 9, "x"))
        .then_error(DomainError::NotFound("message"));
}

fn delete(actor: UserId, n: u128) -> C {
    C::DeleteForEveryone {
        actor,
        message_id: mid(n),
        at: t(5),
    }
}

#[test]
fn the_author_deletes_for_everyone_leaving_a_tombstone() {
    let state = given(group_with_message())
        .when(delete(carol(), 1))
        .then([deleted(1, carol())]);
    let message = state.message(&mid(1)).unwrap();
    assert!(message.is_deleted());
    assert_eq!(message.deleted.as_ref().unwrap().by, carol());
    assert_eq!(state.message_by_seq(3).unwrap().id, mid(1));
}

#[test]
fn a_member_cannot_delete_someone_elses_message_in_a_group() {
    given(group_with_message())
        .when(delete(dave(), 1))
        .then_err(|e| matches!(e, DomainError::Forbidden(_)));
}

#[test]
fn an_admin_deletes_someone_elses_message_in_a_group() {
    given(group_with_message())
        .when(delete(bob(), 1))
        .then([deleted(1, bob())]);
    given(group_with_message())
        .when(delete(alice(), 1))
        .then([deleted(1, alice())]);
}

#[test]
fn in_a_direct_conversation_only_the_author_deletes() {
    let events = vec![direct_created(alice(), bob()), sent(1, alice())];
    given(events.clone())
        .when(delete(bob(), 1))
        .then_err(|e| matches!(e, DomainError::Forbidden(_)));
    given(events)
        .when(delete(alice(), 1))
        .then([deleted(1, alice())]);
}

#[test]
fn deleting_twice_is_already_deleted() {
    let mut events = group_with_message();
    events.push(deleted(1, carol()));
    given(events)
        .when(delete(carol(), 1))
        .then_error(DomainError::AlreadyDeleted);
}

#[test]
fn deleting_as_a_non_participant_is_refused() {
    given(group_with_message())
        .when(delete(eve(), 1))
        .then_error(DomainError::NotParticipant);
}
