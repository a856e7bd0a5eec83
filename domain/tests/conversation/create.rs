use pawpost_domain::testing::{given, given_nothing, lookup_in};
use pawpost_domain::values::{ConversationKind, Description, Role};
use pawpost_domain::{
    Aggregate, BookingId, ConversationCommand as C, ConversationEvent as E, ConversationId,
    ConversationState, DomainError, ValidationError, ValidationRule,
};

use crate::common::*;

fn create_direct(actor: pawpost_domain::UserId, other: pawpost_domain::UserId) -> C {
    C::CreateDirect {
        id: ConversationId::direct(&actor, &other),
        actor,
        other,
        at: t(0),
    }
}

#[test]
fn create_direct_opens_a_conversation_of_two_members() {
    let state = given_nothing::<ConversationState>()
        .when(create_direct(alice(), bob()))
        .then([direct_created(alice(), bob())]);
    assert_eq!(state.kind(), Some(ConversationKind::Direct));
    assert_eq!(state.current_participants().count(), 2);
    assert_eq!(state.owner(), None);
    assert_eq!(state.version(), 1);
}

#[test]
fn create_direct_with_self_is_invalid() {
    given_nothing::<ConversationState>()
        .when(create_direct(alice(), alice()))
        .then_error(DomainError::invalid("other", ValidationRule::SameAsActor));
}

#[test]
fn create_direct_with_an_id_not_derived_from_the_pair_is_invalid() {
    given_nothing::<ConversationState>()
        .when(C::CreateDirect {
            id: ConversationId::direct(&alice(), &carol()),
            actor: alice(),
            other: bob(),
            at: t(0),
        })
        .then_error(DomainError::invalid("id", ValidationRule::Mismatch));
}

#[test]
fn create_direct_twice_emits_nothing_in_either_order() {
    given([direct_created(alice(), bob())])
        .when(create_direct(alice(), bob()))
        .then_nothing();
    given([direct_created(alice(), bob())])
        .when(create_direct(bob(), alice()))
        .then_nothing();
}

#[test]
fn create_direct_again_after_leaving_brings_the_actor_back() {
    given([direct_created(alice(), bob()), left(bob())])
        .when(create_direct(bob(), alice()))
        .then([E::ParticipantsAdded {
            user_ids: vec![bob()],
            by: bob(),
            at: t(0),
        }]);
}

#[test]
fn create_group_makes_the_creator_owner_and_drops_duplicates() {
    let state = given_nothing::<ConversationState>()
        .when(C::CreateGroup {
            id: gid(),
            actor: alice(),
            title: title("Dog walkers"),
            description: None,
            image_url: None,
            members: vec![bob(), carol(), bob(), alice(), dave()],
            at: t(0),
        })
        .then([group_created(alice(), &[bob(), carol(), dave()])]);
    assert_eq!(state.owner(), Some(&alice()));
    assert_eq!(state.participant(&bob()).unwrap().role, Role::Member);
}

#[test]
fn create_group_keeps_description() {
    let description = Description::parse("Walks around the park").unwrap();
    let result = given_nothing::<ConversationState>()
        .when(C::CreateGroup {
            id: gid(),
            actor: alice(),
            title: title("Dog walkers"),
            description: Some(description.clone()),
            image_url: None,
            members: vec![],
            at: t(0),
        })
        .result()
        .clone()
        .unwrap();
    assert!(matches!(
        &result[..],
        [E::ConversationCreated { description: Some(d), .. }] if *d == description
    ));
}

#[test]
fn create_group_on_an_existing_stream_conflicts() {
    given(group())
        .when(C::CreateGroup {
            id: gid(),
            actor: alice(),
            title: title("Again"),
            description: None,
            image_url: None,
            members: vec![bob()],
            at: t(9),
        })
        .then_err(|e| matches!(e, DomainError::Conflict(_)));
}

fn booking_cmd(actor: pawpost_domain::UserId, members: Vec<pawpost_domain::UserId>) -> C {
    let booking_id = BookingId::parse("B-42").unwrap();
    C::CreateBooking {
        id: ConversationId::booking(&booking_id),
        booking_id,
        actor,
        title: Some(title("Grooming for Rex")),
        members,
        at: t(0),
    }
}

fn booking_created(
    actor: pawpost_domain::UserId,
    participants: Vec<pawpost_domain::conversation::NewParticipant>,
) -> E {
    let booking_id = BookingId::parse("B-42").unwrap();
    E::ConversationCreated {
        conversation_id: ConversationId::booking(&booking_id),
        kind: ConversationKind::Booking,
        booking_id: Some(booking_id),
        title: Some(title("Grooming for Rex")),
        description: None,
        image_url: None,
        created_by: actor,
        participants,
        at: t(0),
    }
}

#[test]
fn create_booking_by_a_service_that_is_not_a_member() {
    given_nothing::<ConversationState>()
        .when(booking_cmd(service(), vec![alice(), bob()]))
        .then([booking_created(
            service(),
            vec![member(alice(), Role::Member), member(bob(), Role::Member)],
        )]);
}

#[test]
fn create_booking_by_a_member_makes_them_owner() {
    given_nothing::<ConversationState>()
        .when(booking_cmd(bob(), vec![alice(), bob()]))
        .then([booking_created(
            bob(),
            vec![member(alice(), Role::Member), member(bob(), Role::Owner)],
        )]);
}

#[test]
fn create_booking_twice_emits_nothing() {
    given([booking_created(
        service(),
        vec![member(alice(), Role::Member)],
    )])
    .when(booking_cmd(service(), vec![alice(), bob()]))
    .then_nothing();
}

#[test]
fn create_booking_with_an_id_not_derived_from_the_booking_is_invalid() {
    given_nothing::<ConversationState>()
        .when(C::CreateBooking {
            id: gid(),
            booking_id: BookingId::parse("B-42").unwrap(),
            actor: service(),
            title: None,
            members: vec![alice()],
            at: t(0),
        })
        .then_error(DomainError::invalid("id", ValidationRule::Mismatch));
}

#[test]
fn create_booking_without_members_is_invalid() {
    given_nothing::<ConversationState>()
        .when(booking_cmd(service(), vec![]))
        .then_error(DomainError::Invalid(ValidationError::new(
            "members",
            ValidationRule::Empty,
        )));
}

#[test]
fn create_system_conversation_and_refuse_recreating_it() {
    let cmd = C::CreateSystem {
        id: gid(),
        actor: service(),
        title: title("pawpost news"),
        members: vec![alice()],
        at: t(0),
    };
    let created = E::ConversationCreated {
        conversation_id: gid(),
        kind: ConversationKind::System,
        booking_id: None,
        title: Some(title("pawpost news")),
        description: None,
        image_url: None,
        created_by: service(),
        participants: vec![member(alice(), Role::Member)],
        at: t(0),
    };
    given_nothing::<ConversationState>()
        .when(cmd.clone())
        .then([created.clone()]);
    given([created])
        .when(cmd)
        .then_err(|e| matches!(e, DomainError::Conflict(_)));
}

#[test]
fn every_other_command_on_a_missing_conversation_is_not_found() {
    for cmd in [
        C::Leave {
            actor: alice(),
            at: t(1),
        },
        Msg::text(1, alice()).cmd(),
        C::MarkRead {
            actor: alice(),
            message: lookup_in(&[], mid(1), &alice()),
            at: t(1),
        },
        C::PostSystemMessage {
            message_id: mid(1),
            actor: service(),
            body: body("Booking confirmed"),
            system_type: "booking.confirmed".into(),
            at: t(1),
        },
    ] {
        given_nothing::<ConversationState>()
            .when(cmd)
            .then_error(DomainError::NotFound("conversation"));
    }
}
