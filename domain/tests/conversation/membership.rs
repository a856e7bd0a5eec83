use pawpost_domain::testing::given;
use pawpost_domain::values::{Description, ImageUrl, Role};
use pawpost_domain::{
    ConversationCommand as C, ConversationEvent as E, DomainError, ValidationRule,
};

use crate::common::*;

fn details_cmd(actor: pawpost_domain::UserId) -> C {
    C::UpdateDetails {
        actor,
        title: Some(title("Park walkers")),
        description: Some(Some(Description::parse("Mornings").unwrap())),
        image_url: None,
        at: t(4),
    }
}

#[test]
fn admin_updates_details_and_the_event_carries_the_full_result() {
    let state = given(group())
        .when(details_cmd(bob()))
        .then([E::ConversationDetailsUpdated {
            title: Some(title("Park walkers")),
            description: Some(Description::parse("Mornings").unwrap()),
            image_url: None,
            by: bob(),
            at: t(4),
        }]);
    let details = state.details().unwrap();
    assert_eq!(details.title, Some(title("Park walkers")));
}

#[test]
fn updating_details_can_clear_a_field_and_a_no_change_update_emits_nothing() {
    let image = ImageUrl::parse("https://cdn.example/dogs.png").unwrap();
    let with_image = given(group())
        .when(C::UpdateDetails {
            actor: alice(),
            title: None,
            description: None,
            image_url: Some(Some(image.clone())),
            at: t(4),
        })
        .then([E::ConversationDetailsUpdated {
            title: Some(title("Dog walkers")),
            description: None,
            image_url: Some(image),
            by: alice(),
            at: t(4),
        }]);
    assert!(with_image.details().unwrap().image_url.is_some());
    given(group())
        .when(C::UpdateDetails {
            actor: alice(),
            title: Some(title("Dog walkers")),
            description: Some(None),
            image_url: None,
            at: t(4),
        })
        .then_nothing();
}

#[test]
fn a_member_cannot_update_details() {
    given(group())
        .when(details_cmd(carol()))
        .then_err(|e| matches!(e, DomainError::Forbidden(_)));
}

#[test]
fn a_non_participant_cannot_update_details() {
    given(group())
        .when(details_cmd(eve()))
        .then_error(DomainError::NotParticipant);
}

#[test]
fn a_direct_conversation_has_no_details_to_update() {
    given([direct_created(alice(), bob())])
        .when(details_cmd(alice()))
        .then_err(|e| matches!(e, DomainError::Forbidden(_)));
}

#[test]
fn owner_adds_participants_skipping_current_members() {
    let state = given(group())
        .when(C::AddParticipants {
            actor: alice(),
            users: vec![carol(), eve(), eve()],
            at: t(2),
        })
        .then([added(vec![eve()], alice())]);
    assert!(state.is_participant(&eve()));
    assert_eq!(state.participant(&eve()).unwrap().role, Role::Member);
}

#[test]
fn adding_only_current_members_emits_nothing() {
    given(group())
        .when(C::AddParticipants {
            actor: bob(),
            users: vec![carol(), dave()],
            at: t(2),
        })
        .then_nothing();
}

#[test]
fn adding_nobody_is_invalid() {
    given(group())
        .when(C::AddParticipants {
            actor: bob(),
            users: vec![],
            at: t(2),
        })
        .then_error(DomainError::invalid("userIds", ValidationRule::Empty));
}

#[test]
fn a_member_cannot_add_participants() {
    given(group())
        .when(C::AddParticipants {
            actor: carol(),
            users: vec![eve()],
            at: t(2),
        })
        .then_err(|e| matches!(e, DomainError::Forbidden(_)));
}

#[test]
fn nobody_adds_a_third_user_to_a_direct_conversation() {
    given([direct_created(alice(), bob())])
        .when(C::AddParticipants {
            actor: alice(),
            users: vec![carol()],
            at: t(2),
        })
        .then_err(|e| matches!(e, DomainError::Forbidden(_)));
}

#[test]
fn someone_who_left_can_be_added_back_with_a_new_membership_range() {
    let mut events = group();
    events.push(left(carol())); // v3
    let state = given(events)
        .when(C::AddParticipants {
            actor: alice(),
            users: vec![carol()],
            at: t(2),
        })
        .then([added(vec![carol()], alice())]);
    let carol_record = state.participant(&carol()).unwrap();
    assert!(carol_record.is_current());
    assert_eq!(carol_record.ranges.len(), 2);
    assert_eq!(carol_record.ranges[0].left_at_seq, Some(3));
    assert_eq!(carol_record.ranges[1].joined_at_seq, 4);
}

fn remove(actor: pawpost_domain::UserId, user: pawpost_domain::UserId) -> C {
    C::RemoveParticipant {
        actor,
        user,
        at: t(2),
    }
}

#[test]
fn an_admin_removes_a_member() {
    let state = given(group())
        .when(remove(bob(), carol()))
        .then([E::ParticipantRemoved {
            user_id: carol(),
            by: bob(),
            at: t(2),
        }]);
    assert!(!state.is_participant(&carol()));
}

#[test]
fn a_member_cannot_remove_anyone() {
    given(group())
        .when(remove(carol(), dave()))
        .then_err(|e| matches!(e, DomainError::Forbidden(_)));
}

#[test]
fn the_owner_cannot_be_removed() {
    given(group())
        .when(remove(bob(), alice()))
        .then_error(DomainError::Forbidden("the owner cannot be removed"));
}

#[test]
fn an_admin_cannot_remove_another_admin_but_the_owner_can() {
    let mut events = group();
    events.push(role_changed(carol(), Role::Admin, alice()));
    given(events.clone())
        .when(remove(bob(), carol()))
        .then_error(DomainError::Forbidden("only the owner can remove an admin"));
    given(events)
        .when(remove(alice(), carol()))
        .then([E::ParticipantRemoved {
            user_id: carol(),
            by: alice(),
            at: t(2),
        }]);
}

#[test]
fn removing_a_non_member_is_not_found() {
    given(group())
        .when(remove(bob(), eve()))
        .then_error(DomainError::NotFound("participant"));
}

#[test]
fn removing_oneself_is_leaving() {
    given(group())
        .when(remove(carol(), carol()))
        .then([left(carol())]);
}

fn leave(actor: pawpost_domain::UserId) -> C {
    C::Leave { actor, at: t(2) }
}

#[test]
fn a_member_leaves() {
    let state = given(group()).when(leave(dave())).then([left(dave())]);
    assert!(!state.is_participant(&dave()));
}

#[test]
fn a_non_participant_cannot_leave() {
    given(group())
        .when(leave(eve()))
        .then_error(DomainError::NotParticipant);
}

#[test]
fn an_owner_who_leaves_hands_ownership_to_the_oldest_admin() {
    let mut events = group(); // bob admin since v2
    events.push(role_changed(carol(), Role::Admin, alice())); // v3
    let state = given(events).when(leave(alice())).then([
        E::ParticipantRoleChanged {
            user_id: bob(),
            role: Role::Owner,
            by: alice(),
            at: t(2),
        },
        left(alice()),
    ]);
    assert_eq!(state.owner(), Some(&bob()));
    assert_eq!(
        state
            .current_participants()
            .filter(|p| p.role == Role::Owner)
            .count(),
        1
    );
}

#[test]
fn an_owner_without_admins_hands_ownership_to_the_oldest_member() {
    let mut events = vec![group_created(alice(), &[dave(), carol()])];
    events.push(added(vec![bob()], alice()));
    given(events).when(leave(alice())).then([
        E::ParticipantRoleChanged {
            user_id: carol(),
            role: Role::Owner,
            by: alice(),
            at: t(2),
        },
        left(alice()),
    ]);
}

#[test]
fn an_owner_alone_simply_leaves() {
    given([group_created(alice(), &[])])
        .when(leave(alice()))
        .then([left(alice())]);
}

#[test]
fn leaving_a_direct_conversation_is_allowed() {
    given([direct_created(alice(), bob())])
        .when(leave(bob()))
        .then([left(bob())]);
}

fn change_role(actor: pawpost_domain::UserId, user: pawpost_domain::UserId, role: Role) -> C {
    C::ChangeRole {
        actor,
        user,
        role,
        at: t(1),
    }
}

#[test]
fn the_owner_promotes_and_demotes() {
    given(group())
        .when(change_role(alice(), carol(), Role::Admin))
        .then([role_changed(carol(), Role::Admin, alice())]);
    let state = given(group())
        .when(change_role(alice(), bob(), Role::Member))
        .then([role_changed(bob(), Role::Member, alice())]);
    assert_eq!(state.participant(&bob()).unwrap().role, Role::Member);
}

#[test]
fn setting_the_same_role_emits_nothing() {
    given(group())
        .when(change_role(alice(), bob(), Role::Admin))
        .then_nothing();
}

#[test]
fn only_the_owner_changes_roles() {
    given(group())
        .when(change_role(bob(), carol(), Role::Admin))
        .then_error(DomainError::Forbidden("only the owner can change roles"));
}

#[test]
fn ownership_cannot_be_granted_through_a_role_change() {
    given(group())
        .when(change_role(alice(), bob(), Role::Owner))
        .then_err(|e| matches!(e, DomainError::Forbidden(_)));
}

#[test]
fn the_owner_cannot_change_their_own_role() {
    given(group())
        .when(change_role(alice(), alice(), Role::Member))
        .then_error(DomainError::Forbidden("the owner's own role cannot change"));
}

#[test]
fn changing_the_role_of_a_non_member_is_not_found() {
    given(group())
        .when(change_role(alice(), eve(), Role::Admin))
        .then_error(DomainError::NotFound("participant"));
}
