//! Given/when/then tests of the user aggregate: every command's success, idempotent repeats
//! and refusals.
#![allow(clippy::unwrap_used)]

mod common;

use pawpost_domain::testing::{given, given_nothing};
use pawpost_domain::user::{block_key_id, draft_key_id};
use pawpost_domain::values::{DisplayName, ImageUrl, Locale, MessageBody, NotificationLevel};
use pawpost_domain::{
    Aggregate, ConversationId, DomainError, PersonalData, PersonalText, UserCommand as C,
    UserEvent as E, UserId, UserState, ValidationRule,
};

use common::*;

fn conv() -> ConversationId {
    gid()
}

fn mute(level: NotificationLevel, until: Option<i64>, is_participant: bool) -> C {
    C::Mute {
        actor: alice(),
        conversation_id: conv(),
        until: until.map(t),
        level,
        is_participant,
        at: t(10),
    }
}

fn muted(level: NotificationLevel, until: Option<i64>) -> E {
    E::ConversationMuted {
        conversation_id: conv(),
        until: until.map(t),
        level,
        at: t(10),
    }
}

#[test]
fn muting_until_a_time_and_the_mute_lapses() {
    let state = given_nothing::<UserState>()
        .when(mute(NotificationLevel::Mentions, Some(100), true))
        .then([muted(NotificationLevel::Mentions, Some(100))]);
    let m = state.mute(&conv()).unwrap();
    assert_eq!(m.level, NotificationLevel::Mentions);
    assert!(m.is_active(t(99)));
    assert!(!m.is_active(t(100)));
}

#[test]
fn muting_again_the_same_way_emits_nothing_but_a_change_does() {
    let events = [muted(NotificationLevel::None, None)];
    given(events.clone())
        .when(mute(NotificationLevel::None, None, true))
        .then_nothing();
    given(events)
        .when(mute(NotificationLevel::None, Some(500), true))
        .then([muted(NotificationLevel::None, Some(500))]);
}

#[test]
fn muting_needs_participation_and_a_future_end() {
    given_nothing::<UserState>()
        .when(mute(NotificationLevel::None, None, false))
        .then_error(DomainError::NotParticipant);
    given_nothing::<UserState>()
        .when(mute(NotificationLevel::None, Some(10), true))
        .then_error(DomainError::invalid("until", ValidationRule::NotInFuture));
}

#[test]
fn unmuting_and_unmuting_an_unmuted_conversation() {
    let unmute = C::Unmute {
        actor: alice(),
        conversation_id: conv(),
        at: t(11),
    };
    let state = given([muted(NotificationLevel::None, None)])
        .when(unmute.clone())
        .then([E::ConversationUnmuted {
            conversation_id: conv(),
            at: t(11),
        }]);
    assert!(state.mute(&conv()).is_none());
    given_nothing::<UserState>().when(unmute).then_nothing();
}

fn archive(is_participant: bool) -> C {
    C::Archive {
        actor: alice(),
        conversation_id: conv(),
        is_participant,
        at: t(12),
    }
}

fn archived() -> E {
    E::ConversationArchived {
        conversation_id: conv(),
        at: t(12),
    }
}

#[test]
fn archiving_is_an_idempotent_toggle() {
    let state = given_nothing::<UserState>()
        .when(archive(true))
        .then([archived()]);
    assert!(state.is_archived(&conv()));
    given([archived()]).when(archive(true)).then_nothing();
    given_nothing::<UserState>()
        .when(archive(false))
        .then_error(DomainError::NotParticipant);
}

#[test]
fn unarchiving() {
    let unarchive = C::Unarchive {
        actor: alice(),
        conversation_id: conv(),
        at: t(13),
    };
    let state = given([archived()])
        .when(unarchive.clone())
        .then([E::ConversationUnarchived {
            conversation_id: conv(),
            at: t(13),
        }]);
    assert!(!state.is_archived(&conv()));
    given_nothing::<UserState>().when(unarchive).then_nothing();
}

#[test]
fn pinning_and_unpinning() {
    let pin = |is_participant| C::Pin {
        actor: alice(),
        conversation_id: conv(),
        is_participant,
        at: t(14),
    };
    let pinned = E::ConversationPinned {
        conversation_id: conv(),
        at: t(14),
    };
    let state = given_nothing::<UserState>()
        .when(pin(true))
        .then([pinned.clone()]);
    assert!(state.is_pinned(&conv()));
    given([pinned.clone()]).when(pin(true)).then_nothing();
    given_nothing::<UserState>()
        .when(pin(false))
        .then_error(DomainError::NotParticipant);

    let unpin = C::Unpin {
        actor: alice(),
        conversation_id: conv(),
        at: t(15),
    };
    let state = given([pinned])
        .when(unpin.clone())
        .then([E::ConversationUnpinned {
            conversation_id: conv(),
            at: t(15),
        }]);
    assert!(!state.is_pinned(&conv()));
    given_nothing::<UserState>().when(unpin).then_nothing();
}

fn delete_for_me(ids: Vec<u128>, visible_to_actor: bool) -> C {
    C::DeleteForMe {
        actor: alice(),
        conversation_id: conv(),
        message_ids: ids.into_iter().map(mid).collect(),
        visible_to_actor,
        at: t(16),
    }
}

fn hidden(ids: Vec<u128>) -> E {
    E::MessagesHiddenForMe {
        conversation_id: conv(),
        message_ids: ids.into_iter().map(mid).collect(),
        at: t(16),
    }
}

#[test]
fn deleting_for_me_hides_only_new_messages() {
    let state = given_nothing::<UserState>()
        .when(delete_for_me(vec![1, 2, 2], true))
        .then([hidden(vec![1, 2])]);
    assert!(state.hidden(&conv(), &mid(1)));
    assert!(!state.hidden(&conv(), &mid(3)));
    given([hidden(vec![1])])
        .when(delete_for_me(vec![1, 3], true))
        .then([hidden(vec![3])]);
    given([hidden(vec![1, 2])])
        .when(delete_for_me(vec![2, 1], true))
        .then_nothing();
}

#[test]
fn deleting_for_me_needs_visible_messages() {
    given_nothing::<UserState>()
        .when(delete_for_me(vec![1], false))
        .then_error(DomainError::NotFound("message"));
    given_nothing::<UserState>()
        .when(delete_for_me(vec![], true))
        .then_error(DomainError::invalid("messageIds", ValidationRule::Empty));
}

fn block(user: UserId, reason: Option<PersonalText>) -> C {
    C::Block {
        actor: alice(),
        user,
        reason,
        at: t(17),
    }
}

fn blocked(reason: Option<&str>) -> E {
    E::UserBlocked {
        user_id: bob(),
        by: alice(),
        reason: reason.map(PersonalText::clear),
        at: t(17),
    }
}

#[test]
fn blocking_with_a_reason_and_its_data_key() {
    let state = given_nothing::<UserState>()
        .when(block(bob(), Some(PersonalText::clear("spam"))))
        .then([blocked(Some("spam"))]);
    assert!(state.is_blocked(&bob()));
    assert!(!state.is_blocked(&carol()));
    assert_eq!(state.blocked_users().collect::<Vec<_>>(), [&bob()]);

    let mut event = blocked(Some("spam"));
    let (key, fields) = event.personal_fields().unwrap();
    assert_eq!(key, block_key_id(&alice(), &bob()));
    assert_eq!(key, "block-alice-bob");
    assert_eq!(fields.len(), 1);
    assert!(blocked(None).personal_fields().is_none());
}

#[test]
fn blocking_oneself_is_invalid_and_blocking_twice_emits_nothing() {
    given_nothing::<UserState>()
        .when(block(alice(), None))
        .then_error(DomainError::invalid("userId", ValidationRule::SameAsActor));
    given([blocked(None)])
        .when(block(bob(), Some(PersonalText::clear("again"))))
        .then_nothing();
}

#[test]
fn a_block_reason_must_be_clear_and_at_most_500_characters() {
    given_nothing::<UserState>()
        .when(block(bob(), Some(PersonalText::clear("x".repeat(501)))))
        .then_error(DomainError::invalid(
            "reason",
            ValidationRule::TooLong { max: 500 },
        ));
    given_nothing::<UserState>()
        .when(block(bob(), Some(PersonalText::clear("x".repeat(500)))))
        .then([E::UserBlocked {
            user_id: bob(),
            by: alice(),
            reason: Some(PersonalText::clear("x".repeat(500))),
            at: t(17),
        }]);
    given_nothing::<UserState>()
        .when(block(bob(), Some(PersonalText::Sealed("abc".into()))))
        .then_error(DomainError::invalid("reason", ValidationRule::NotClear));
    given_nothing::<UserState>()
        .when(block(bob(), Some(PersonalText::clear("  "))))
        .then_error(DomainError::invalid("reason", ValidationRule::Empty));
}

#[test]
fn unblocking_and_unblocking_someone_not_blocked() {
    let unblock = C::Unblock {
        actor: alice(),
        user: bob(),
        at: t(18),
    };
    let state = given([blocked(None)])
        .when(unblock.clone())
        .then([E::UserUnblocked {
            user_id: bob(),
            at: t(18),
        }]);
    assert!(!state.is_blocked(&bob()));
    given_nothing::<UserState>().when(unblock).then_nothing();
}

fn save_draft(text: &str, reply_to: Option<u128>, is_participant: bool) -> C {
    C::SaveDraft {
        actor: alice(),
        conversation_id: conv(),
        content: body(text),
        reply_to: reply_to.map(mid),
        is_participant,
        at: t(19),
    }
}

fn draft_saved(text: &str, reply_to: Option<u128>) -> E {
    E::DraftSaved {
        conversation_id: conv(),
        user_id: alice(),
        content: PersonalText::clear(text),
        reply_to: reply_to.map(mid),
        at: t(19),
    }
}

#[test]
fn saving_a_draft_and_its_data_key() {
    let state = given_nothing::<UserState>()
        .when(save_draft("see you at 5", Some(1), true))
        .then([draft_saved("see you at 5", Some(1))]);
    let draft = state.draft(&conv()).unwrap();
    assert_eq!(draft.reply_to, Some(mid(1)));
    assert_eq!(state.version(), 1);

    let mut event = draft_saved("see you at 5", None);
    let (key, fields) = event.personal_fields().unwrap();
    assert_eq!(key, draft_key_id(&alice(), &conv()));
    assert_eq!(key, format!("draft-alice-{}", conv()));
    assert_eq!(fields.len(), 1);
}

#[test]
fn saving_the_same_draft_emits_nothing_but_a_change_does() {
    let events = [draft_saved("hi", None)];
    given(events.clone())
        .when(save_draft("hi", None, true))
        .then_nothing();
    given(events.clone())
        .when(save_draft("hi", Some(2), true))
        .then([draft_saved("hi", Some(2))]);
    given(events)
        .when(save_draft("hi there", None, true))
        .then([draft_saved("hi there", None)]);
}

#[test]
fn drafts_need_participation_and_valid_text() {
    given_nothing::<UserState>()
        .when(save_draft("hi", None, false))
        .then_error(DomainError::NotParticipant);
    assert!(MessageBody::parse("").is_err());
    assert!(MessageBody::parse(&"d".repeat(10_001)).is_err());
}

#[test]
fn clearing_a_draft_and_clearing_none() {
    let clear = C::ClearDraft {
        actor: alice(),
        conversation_id: conv(),
        at: t(20),
    };
    let state = given([draft_saved("hi", None)])
        .when(clear.clone())
        .then([E::DraftCleared {
            conversation_id: conv(),
            at: t(20),
        }]);
    assert!(state.draft(&conv()).is_none());
    given_nothing::<UserState>().when(clear).then_nothing();
}

fn update_profile(name: &str, avatar: Option<&str>, role: Option<&str>, locale: Option<&str>) -> C {
    C::UpdateProfile {
        actor: alice(),
        display_name: DisplayName::parse(name).unwrap(),
        avatar_url: avatar.map(|a| ImageUrl::parse(a).unwrap()),
        role: role.map(str::to_owned),
        locale: locale.map(|l| Locale::parse(l).unwrap()),
        at: t(21),
    }
}

fn profile_updated(
    name: &str,
    avatar: Option<&str>,
    role: Option<&str>,
    locale: Option<&str>,
) -> E {
    E::ProfileUpdated {
        user_id: alice(),
        display_name: DisplayName::parse(name).unwrap(),
        avatar_url: avatar.map(|a| ImageUrl::parse(a).unwrap()),
        role: role.map(str::to_owned),
        locale: locale.map(|l| Locale::parse(l).unwrap()),
        at: t(21),
    }
}

const AVATAR: &str = "https://cdn.example/alice.png";

#[test]
fn updating_the_profile() {
    let state = given_nothing::<UserState>()
        .when(update_profile(
            "Alice",
            Some(AVATAR),
            Some("owner"),
            Some("pt-BR"),
        ))
        .then([profile_updated(
            "Alice",
            Some(AVATAR),
            Some("owner"),
            Some("pt-BR"),
        )]);
    let profile = state.profile().unwrap();
    assert_eq!(profile.display_name.as_str(), "Alice");
    assert_eq!(profile.avatar_url.as_ref().unwrap().as_str(), AVATAR);
    assert_eq!(profile.role.as_deref(), Some("owner"));
    assert_eq!(profile.locale.as_ref().unwrap().as_str(), "pt-BR");
    assert_eq!(profile.updated_at, t(21));
    assert!(given_nothing::<UserState>().state().profile().is_none());

    // The profile is replaced as a whole: clearing the avatar, role and locale is a change.
    let state = given([profile_updated(
        "Alice",
        Some(AVATAR),
        Some("owner"),
        Some("en"),
    )])
    .when(update_profile("Alice", None, None, None))
    .then([profile_updated("Alice", None, None, None)]);
    let profile = state.profile().unwrap();
    assert!(profile.avatar_url.is_none() && profile.role.is_none() && profile.locale.is_none());

    // The role is trimmed before it is stored.
    given_nothing::<UserState>()
        .when(update_profile("Alice", None, Some(" provider "), None))
        .then([profile_updated("Alice", None, Some("provider"), None)]);
}

#[test]
fn updating_the_profile_to_the_same_values_emits_nothing_but_a_change_does() {
    let events = [profile_updated(
        "Alice",
        Some(AVATAR),
        Some("admin"),
        Some("en"),
    )];
    given(events.clone())
        .when(update_profile(
            "  Alice ",
            Some(AVATAR),
            Some("admin"),
            Some("en"),
        ))
        .then_nothing();
    given(events.clone())
        .when(update_profile(
            "Alice",
            Some(AVATAR),
            Some(" admin"),
            Some("en"),
        ))
        .then_nothing();
    given(events.clone())
        .when(update_profile(
            "Alice B.",
            Some(AVATAR),
            Some("admin"),
            Some("en"),
        ))
        .then([profile_updated(
            "Alice B.",
            Some(AVATAR),
            Some("admin"),
            Some("en"),
        )]);
    given(events.clone())
        .when(update_profile("Alice", None, Some("admin"), Some("en")))
        .then([profile_updated("Alice", None, Some("admin"), Some("en"))]);
    given(events.clone())
        .when(update_profile(
            "Alice",
            Some(AVATAR),
            Some("service"),
            Some("en"),
        ))
        .then([profile_updated(
            "Alice",
            Some(AVATAR),
            Some("service"),
            Some("en"),
        )]);
    given(events)
        .when(update_profile(
            "Alice",
            Some(AVATAR),
            Some("admin"),
            Some("en-GB"),
        ))
        .then([profile_updated(
            "Alice",
            Some(AVATAR),
            Some("admin"),
            Some("en-GB"),
        )]);
}

#[test]
fn a_profile_role_must_be_1_to_20_characters_without_control_characters() {
    given_nothing::<UserState>()
        .when(update_profile("Alice", None, Some(&"r".repeat(21)), None))
        .then_error(DomainError::invalid(
            "role",
            ValidationRule::TooLong { max: 20 },
        ));
    given_nothing::<UserState>()
        .when(update_profile("Alice", None, Some("   "), None))
        .then_error(DomainError::invalid("role", ValidationRule::Empty));
    given_nothing::<UserState>()
        .when(update_profile("Alice", None, Some(""), None))
        .then_error(DomainError::invalid("role", ValidationRule::Empty));
    given_nothing::<UserState>()
        .when(update_profile("Alice", None, Some("ow\u{0}ner"), None))
        .then_error(DomainError::invalid(
            "role",
            ValidationRule::ControlCharacter,
        ));
    given_nothing::<UserState>()
        .when(update_profile("Alice", None, Some(&"r".repeat(20)), None))
        .then([profile_updated("Alice", None, Some(&"r".repeat(20)), None)]);
    // A refused role is refused even when the rest matches the stored profile.
    given([profile_updated("Alice", None, None, None)])
        .when(update_profile("Alice", None, Some(""), None))
        .then_error(DomainError::invalid("role", ValidationRule::Empty));
}

#[test]
fn display_names_are_trimmed_non_empty_one_line_and_at_most_100_characters() {
    assert_eq!(DisplayName::parse("  Rex ").unwrap().as_str(), "Rex");
    assert!(DisplayName::parse(&"ñ".repeat(100)).is_ok());
    let refused = |raw: &str| DisplayName::parse(raw).unwrap_err();
    assert_eq!(refused("").rule, ValidationRule::Empty);
    assert_eq!(refused(" \t ").rule, ValidationRule::Empty);
    assert_eq!(
        refused(&"n".repeat(101)).rule,
        ValidationRule::TooLong { max: 100 }
    );
    assert_eq!(refused("Al\nice").rule, ValidationRule::ControlCharacter);
    assert_eq!(
        refused("Al\u{1b}ice").rule,
        ValidationRule::ControlCharacter
    );
    assert_eq!(refused("").field, "displayName");
    assert!(serde_json::from_value::<DisplayName>(serde_json::json!("")).is_err());
}

#[test]
fn locales_are_2_to_35_ascii_letters_digits_and_dashes() {
    for ok in ["en", "pt-BR", "zh-Hant-TW", "es-419"] {
        assert_eq!(Locale::parse(ok).unwrap().as_str(), ok);
    }
    assert!(Locale::parse(&"a".repeat(35)).is_ok());
    let refused = |raw: &str| Locale::parse(raw).unwrap_err();
    assert_eq!(refused("").rule, ValidationRule::Empty);
    assert_eq!(refused("e").rule, ValidationRule::Format);
    assert_eq!(
        refused(&"a".repeat(36)).rule,
        ValidationRule::TooLong { max: 35 }
    );
    assert_eq!(refused("pt_BR").rule, ValidationRule::Format);
    assert_eq!(refused("fr.UTF8").rule, ValidationRule::Format);
    assert_eq!(refused("日本").rule, ValidationRule::Format);
    assert_eq!(refused("pt BR").rule, ValidationRule::Whitespace);
    assert_eq!(refused("en\u{0}").rule, ValidationRule::ControlCharacter);
    assert_eq!(refused("e").field, "locale");
    assert!(serde_json::from_value::<Locale>(serde_json::json!("x")).is_err());
}

#[test]
fn a_profile_update_is_not_personal_content() {
    let mut event = profile_updated("Alice", Some(AVATAR), Some("owner"), Some("en"));
    assert!(event.personal_fields().is_none());
}

#[test]
fn the_user_stream_is_named_after_its_owner() {
    assert_eq!(UserState::stream_name(alice()), "user-alice");
    assert_eq!(alice().stream(), "user-alice");
}
