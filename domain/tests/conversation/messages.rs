use pawpost_domain::conversation::{ForwardFact, MessageFacts};
use pawpost_domain::testing::{given, lookup_in};
use pawpost_domain::values::{AttachmentRef, Location, MessageBody, MessageKind, Role};
use pawpost_domain::{
    Aggregate, ConversationCommand as C, ConversationEvent as E, ConversationId, DomainError,
    PersonalText, ValidationError, ValidationRule,
};
use uuid::Uuid;

use crate::common::*;

#[test]
fn a_participant_sends_a_text_and_its_seq_is_the_stream_version() {
    let msg = Msg::text(1, carol());
    let state = given(group()).when(msg.cmd()).then([msg.event()]);
    assert_eq!(state.version(), 3);
    assert_eq!(state.last_seq(), 3);
    assert_eq!(state.last_message_change(), 3);
    let stored = lookup_in(&with(group(), [msg.event()]), mid(1), &carol())
        .found
        .unwrap();
    assert_eq!(stored.seq, 3);
    assert_eq!(stored.author, carol());
    assert_eq!(stored.kind, MessageKind::Text);
}

#[test]
fn a_message_with_attachments_location_reply_forward_mentions_and_temp_id() {
    let mut msg = Msg::text(2, dave());
    msg.kind = MessageKind::Image;
    msg.body = Some("Rex after grooming".into());
    msg.attachments = vec![image("a1"), image("a2")];
    msg.location = Some(Location::parse(48.85, 2.35, Some("Groomer")).unwrap());
    let g = given(group_with_message());
    msg.reply_to = Some(g.lookup(mid(1), &dave()));
    msg.forward = Some(ForwardFact {
        message_id: mid(99),
        conversation_id: ConversationId::from(Uuid::from_u128(0xF0)),
        readable_by_actor: true,
    });
    msg.mentions = vec![carol(), alice()];
    msg.temp_id = Some(temp("tmp-1"));
    // The event records the reply target's id and the temp id (retries with the same temp id
    // are recognised by the command handler, not here).
    let state = g.when(msg.cmd()).then([msg.event()]);
    assert_eq!(state.last_seq(), 4);
}

#[test]
fn a_media_message_without_a_body_has_empty_clear_content() {
    let mut msg = Msg::text(2, dave());
    msg.kind = MessageKind::File;
    msg.body = None;
    msg.attachments = vec![image("a1")];
    let state = given(group()).when(msg.cmd()).then([msg.event()]);
    assert_eq!(state.last_seq(), 3);
    assert!(
        matches!(msg.event(), E::MessageSent { content: PersonalText::Clear(c), .. } if c.is_empty())
    );
    let facts = lookup_in(&with(group(), [msg.event()]), mid(2), &dave())
        .found
        .unwrap();
    assert_eq!(
        facts.content_fingerprint,
        Some(MessageFacts::fingerprint(""))
    );
}

#[test]
fn a_non_participant_cannot_send() {
    given(group())
        .when(Msg::text(1, eve()).cmd())
        .then_error(DomainError::NotParticipant);
}

#[test]
fn text_needs_a_body() {
    let mut msg = Msg::text(1, carol());
    msg.body = None;
    given(group())
        .when(msg.cmd())
        .then_error(DomainError::invalid("body", ValidationRule::Required));
}

#[test]
fn an_empty_or_oversized_body_never_becomes_a_command() {
    assert_eq!(
        MessageBody::parse("   ").unwrap_err(),
        ValidationError::new("body", ValidationRule::Empty)
    );
    assert_eq!(
        MessageBody::parse(&"🐶".repeat(10_001)).unwrap_err(),
        ValidationError::new("body", ValidationRule::TooLong { max: 10_000 })
    );
    let err: DomainError = MessageBody::parse("").unwrap_err().into();
    assert_eq!(err.code(), "invalid");
    let mut msg = Msg::text(1, carol());
    msg.body = Some("🐶".repeat(10_000));
    given(group()).when(msg.cmd()).then([msg.event()]);
}

#[test]
fn a_location_message_needs_a_valid_location() {
    let mut msg = Msg::text(1, carol());
    msg.kind = MessageKind::Location;
    msg.body = None;
    given(group())
        .when(msg.cmd())
        .then_error(DomainError::invalid("location", ValidationRule::Required));

    msg.location = Some(Location {
        latitude: 91.0,
        longitude: 0.0,
        label: None,
    });
    given(group())
        .when(msg.cmd())
        .then_error(DomainError::invalid(
            "location.latitude",
            ValidationRule::OutOfRange { range: "-90..=90" },
        ));

    msg.location = Some(Location {
        latitude: 0.0,
        longitude: f64::NAN,
        label: None,
    });
    given(group())
        .when(msg.cmd())
        .then_error(DomainError::invalid(
            "location.longitude",
            ValidationRule::NotANumber,
        ));
    assert!(Location::parse(0.0, -180.5, None).is_err());

    msg.location = Some(Location::parse(-33.9, 151.2, None).unwrap());
    given(group()).when(msg.cmd()).then([msg.event()]);
}

#[test]
fn media_messages_need_an_attachment() {
    for kind in [MessageKind::Image, MessageKind::File, MessageKind::Audio] {
        let mut msg = Msg::text(1, carol());
        msg.kind = kind;
        given(group())
            .when(msg.cmd())
            .then_error(DomainError::invalid(
                "attachments",
                ValidationRule::Required,
            ));
    }
}

#[test]
fn at_most_ten_attachments() {
    let mut msg = Msg::text(1, carol());
    msg.attachments = (0..11).map(|i| image(&format!("a{i}"))).collect();
    given(group())
        .when(msg.cmd())
        .then_error(DomainError::invalid(
            "attachments",
            ValidationRule::TooMany { max: 10 },
        ));
}

#[test]
fn personal_text_in_a_command_must_be_clear() {
    let mut msg = Msg::text(1, carol());
    msg.attachments = vec![AttachmentRef {
        name: PersonalText::Sealed("x".into()),
        ..image("a1")
    }];
    given(group())
        .when(msg.cmd())
        .then_error(DomainError::invalid(
            "attachments.name",
            ValidationRule::NotClear,
        ));

    let mut msg = Msg::text(1, carol());
    msg.location = Some(Location {
        latitude: 1.0,
        longitude: 1.0,
        label: Some(PersonalText::Erased),
    });
    given(group())
        .when(msg.cmd())
        .then_error(DomainError::invalid(
            "location.label",
            ValidationRule::NotClear,
        ));
}

#[test]
fn participants_cannot_send_system_messages() {
    let mut msg = Msg::text(1, alice());
    msg.kind = MessageKind::System;
    given(group())
        .when(msg.cmd())
        .then_err(|e| matches!(e, DomainError::Forbidden(_)));
}

#[test]
fn the_platform_posts_system_messages_without_being_a_participant() {
    let posted = E::MessageSent {
        message_id: mid(7),
        sender_id: service(),
        kind: MessageKind::System,
        content: PersonalText::clear("Booking confirmed for Saturday"),
        attachments: vec![],
        location: None,
        reply_to: None,
        forwarded_from: None,
        mentions: vec![],
        temp_id: None,
        system_type: Some("booking.confirmed".into()),
        at: t(3),
    };
    let state = given(group())
        .when(C::PostSystemMessage {
            message_id: mid(7),
            actor: service(),
            body: body("Booking confirmed for Saturday"),
            system_type: "booking.confirmed".into(),
            at: t(3),
        })
        .then([posted.clone()]);
    // It is a message of the conversation like any other: it takes the next seq.
    assert_eq!(state.last_seq(), 3);
    let facts = lookup_in(&with(group(), [posted]), mid(7), &alice())
        .found
        .unwrap();
    assert_eq!((facts.seq, facts.kind), (3, MessageKind::System));
    assert_eq!(facts.author, service());
    given(group())
        .when(C::PostSystemMessage {
            message_id: mid(7),
            actor: service(),
            body: body("x"),
            system_type: " ".into(),
            at: t(3),
        })
        .then_error(DomainError::invalid("systemType", ValidationRule::Empty));
}

#[test]
fn replying_to_a_message_of_another_conversation_is_not_found() {
    let mut msg = Msg::text(2, dave());
    let g = given(group_with_message());
    msg.reply_to = Some(g.lookup(mid(77), &dave())); // exists elsewhere, not here
    g.when(msg.cmd())
        .then_error(DomainError::NotFound("reply target"));
}

#[test]
fn replying_to_a_deleted_message_is_refused() {
    let mut events = group_with_message();
    events.push(deleted(1, carol()));
    let mut msg = Msg::text(2, dave());
    let g = given(events);
    msg.reply_to = Some(g.lookup(mid(1), &dave()));
    g.when(msg.cmd()).then_error(DomainError::AlreadyDeleted);
}

#[test]
fn replying_to_a_message_sent_before_one_joined_is_not_found() {
    let mut events = group_with_message(); // mid(1) at v3
    events.push(added(vec![eve()], alice())); // v4
    let mut msg = Msg::text(2, eve());
    let g = given(events);
    msg.reply_to = Some(g.lookup(mid(1), &eve()));
    g.when(msg.cmd())
        .then_error(DomainError::NotFound("reply target"));
}

#[test]
fn forwarding_what_one_cannot_read_is_not_found() {
    let mut msg = Msg::text(2, dave());
    msg.forward = Some(ForwardFact {
        message_id: mid(50),
        conversation_id: ConversationId::from(Uuid::from_u128(0xF0)),
        readable_by_actor: false,
    });
    given(group())
        .when(msg.cmd())
        .then_error(DomainError::NotFound("forwarded message"));
}

#[test]
fn mentioning_a_non_participant_is_invalid() {
    let mut msg = Msg::text(2, dave());
    msg.mentions = vec![carol(), eve()];
    given(group())
        .when(msg.cmd())
        .then_error(DomainError::invalid(
            "mentions",
            ValidationRule::NotAParticipant,
        ));
}

#[test]
fn mentions_are_deduplicated() {
    let mut msg = Msg::text(2, dave());
    msg.mentions = vec![carol(), carol()];
    let mut expected = msg.clone();
    expected.mentions = vec![carol()];
    given(group()).when(msg.cmd()).then([expected.event()]);
}

#[test]
fn the_same_temp_id_from_another_sender_is_a_different_message() {
    let mut first = Msg::text(1, carol());
    first.temp_id = Some(temp("t-1"));
    let mut other = Msg::text(2, dave());
    other.temp_id = Some(temp("t-1"));
    given(group().into_iter().chain([first.event()]))
        .when(other.cmd())
        .then([other.event()]);
}

#[test]
fn a_blocked_sender_cannot_message_in_a_direct_conversation() {
    let mut msg = Msg::text(1, alice());
    msg.blocked_by_other = true;
    given([direct_created(alice(), bob())])
        .when(msg.cmd())
        .then_error(DomainError::Blocked);
}

#[test]
fn the_block_fact_only_applies_to_direct_conversations() {
    let mut msg = Msg::text(1, carol());
    msg.blocked_by_other = true;
    given(group()).when(msg.cmd()).then([msg.event()]);
}

#[test]
fn one_can_still_write_in_a_direct_conversation_the_other_left() {
    let msg = Msg::text(1, alice());
    let state = given([direct_created(alice(), bob()), left(bob())])
        .when(msg.cmd())
        .then([msg.event()]);
    assert!(!state.can_see(&bob(), 3));
}

#[test]
fn a_user_who_left_cannot_send() {
    let mut events = group();
    events.push(left(dave()));
    given(events)
        .when(Msg::text(1, dave()).cmd())
        .then_error(DomainError::NotParticipant);
}

#[test]
fn admins_role_does_not_matter_for_sending() {
    let mut events = group();
    events.push(role_changed(bob(), Role::Member, alice()));
    let msg = Msg::text(1, bob());
    given(events).when(msg.cmd()).then([msg.event()]);
}
