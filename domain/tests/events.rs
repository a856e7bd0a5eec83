//! The wire shape of events: type tags, camelCase fields, round trips, and the personal fields
//! the store seals (forgettable payloads).
#![allow(clippy::unwrap_used)]

mod common;

use pawpost_domain::conversation::{message_key_id, MessageLookup};
use pawpost_domain::testing::lookup_in;
use pawpost_domain::values::{
    DisplayName, ImageUrl, Locale, Location, NotificationLevel, Reaction, Role,
};
use pawpost_domain::{
    Aggregate, ConversationEvent as E, ConversationState, EventType, PersonalData, PersonalText,
    UserEvent as U,
};
use serde_json::{json, Value};

use common::*;

fn all_conversation_events() -> Vec<E> {
    let mut rich = Msg::text(2, dave());
    rich.attachments = vec![image("a1")];
    rich.location = Some(Location::parse(1.5, 2.5, Some("Park")).unwrap());
    rich.reply_to = Some(MessageLookup::missing(mid(1), 0)); // only its id reaches the event
    rich.mentions = vec![carol()];
    rich.temp_id = Some(temp("t-9"));
    vec![
        group_created(alice(), &[bob()]),
        E::ConversationDetailsUpdated {
            title: Some(title("New")),
            description: None,
            image_url: None,
            by: alice(),
            at: t(1),
        },
        added(vec![carol()], alice()),
        E::ParticipantRemoved {
            user_id: carol(),
            by: alice(),
            at: t(1),
        },
        left(bob()),
        role_changed(bob(), Role::Admin, alice()),
        sent(1, alice()),
        rich.event(),
        E::MessageEdited {
            message_id: mid(1),
            content: PersonalText::clear("v2"),
            by: alice(),
            at: t(2),
        },
        deleted(1, alice()),
        E::ReactionAdded {
            message_id: mid(1),
            user_id: bob(),
            reaction: Reaction::parse("🐾").unwrap(),
            at: t(2),
        },
        E::ReactionRemoved {
            message_id: mid(1),
            user_id: bob(),
            reaction: Reaction::parse("🐾").unwrap(),
            at: t(2),
        },
        E::MessagesRead {
            user_id: bob(),
            up_to_seq: 7,
            message_id: mid(1),
            at: t(2),
        },
        E::MessagesDelivered {
            user_id: bob(),
            up_to_seq: 7,
            message_id: mid(1),
            at: t(2),
        },
    ]
}

fn all_user_events() -> Vec<U> {
    let c = gid();
    vec![
        U::ConversationMuted {
            conversation_id: c,
            until: Some(t(9)),
            level: NotificationLevel::Mentions,
            at: t(1),
        },
        U::ConversationUnmuted {
            conversation_id: c,
            at: t(1),
        },
        U::ConversationArchived {
            conversation_id: c,
            at: t(1),
        },
        U::ConversationUnarchived {
            conversation_id: c,
            at: t(1),
        },
        U::ConversationPinned {
            conversation_id: c,
            at: t(1),
        },
        U::ConversationUnpinned {
            conversation_id: c,
            at: t(1),
        },
        U::MessagesHiddenForMe {
            conversation_id: c,
            message_ids: vec![mid(1)],
            at: t(1),
        },
        U::UserBlocked {
            user_id: bob(),
            by: alice(),
            reason: Some(PersonalText::clear("spam")),
            at: t(1),
        },
        U::UserUnblocked {
            user_id: bob(),
            at: t(1),
        },
        U::DraftSaved {
            conversation_id: c,
            user_id: alice(),
            content: PersonalText::clear("hi"),
            reply_to: None,
            at: t(1),
        },
        U::DraftCleared {
            conversation_id: c,
            at: t(1),
        },
        U::ProfileUpdated {
            user_id: alice(),
            display_name: DisplayName::parse("Alice").unwrap(),
            avatar_url: Some(ImageUrl::parse("https://cdn.example/alice.png").unwrap()),
            role: Some("owner".into()),
            locale: Some(Locale::parse("pt-BR").unwrap()),
            at: t(1),
        },
    ]
}

#[test]
fn message_sent_has_the_documented_shape() {
    let json = serde_json::to_value(sent(1, carol())).unwrap();
    assert_eq!(
        json,
        json!({
            "type": "MessageSent",
            "messageId": mid(1).to_string(),
            "senderId": "carol",
            "kind": "text",
            "content": {"clear": "message 1"},
            "attachments": [],
            "mentions": [],
            "at": "2023-11-14T22:13:23Z"
        })
    );
}

#[test]
fn every_event_round_trips_and_its_type_tag_is_its_event_type() {
    let conversation = all_conversation_events();
    assert_eq!(
        conversation.len(),
        14,
        "one of each variant (plus a rich MessageSent)"
    );
    for event in conversation {
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], Value::from(event.event_type()));
        assert_eq!(event.schema_version(), 1);
        assert_eq!(serde_json::from_value::<E>(json).unwrap(), event);
    }
    let user = all_user_events();
    assert_eq!(user.len(), 12);
    for event in user {
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], Value::from(event.event_type()));
        assert_eq!(serde_json::from_value::<U>(json).unwrap(), event);
    }
}

#[test]
fn fields_are_camel_case() {
    let json = serde_json::to_value(group_created(alice(), &[bob()])).unwrap();
    assert_eq!(json["conversationId"], Value::from(gid().to_string()));
    assert_eq!(json["createdBy"], "alice");
    assert_eq!(
        json["participants"][0],
        json!({"userId": "alice", "role": "owner"})
    );
    assert_eq!(json["kind"], "group");
    assert!(
        json.get("bookingId").is_none(),
        "absent options are omitted"
    );
}

#[test]
fn profile_updated_has_the_documented_shape() {
    let event = U::ProfileUpdated {
        user_id: alice(),
        display_name: DisplayName::parse("Alice").unwrap(),
        avatar_url: None,
        role: Some("provider".into()),
        locale: Some(Locale::parse("en").unwrap()),
        at: t(1),
    };
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(
        json,
        json!({
            "type": "ProfileUpdated",
            "userId": "alice",
            "displayName": "Alice",
            "role": "provider",
            "locale": "en",
            "at": serde_json::to_value(t(1)).unwrap()
        }),
        "absent options are omitted"
    );
    let mut bad = json;
    bad["locale"] = Value::from("e");
    assert!(serde_json::from_value::<U>(bad).is_err());
}

#[test]
fn invalid_values_are_refused_when_reading_events() {
    let mut json = serde_json::to_value(E::ReactionAdded {
        message_id: mid(1),
        user_id: bob(),
        reaction: Reaction::parse("ok").unwrap(),
        at: t(0),
    })
    .unwrap();
    json["reaction"] = Value::from("");
    assert!(serde_json::from_value::<E>(json).is_err());
}

#[test]
fn message_content_attachment_names_and_location_labels_share_the_message_key() {
    let mut msg = Msg::text(2, dave());
    msg.attachments = vec![image("a1"), image("a2")];
    msg.location = Some(Location::parse(1.0, 2.0, Some("Vet")).unwrap());
    let mut event = msg.event();
    let (key, fields) = event.personal_fields().unwrap();
    assert_eq!(key, format!("msg-{}", mid(2)));
    assert_eq!(key, message_key_id(&mid(2)));
    assert_eq!(fields.len(), 4);
    for field in fields {
        *field = PersonalText::Sealed("c2VhbGVk".into());
    }
    let json = serde_json::to_value(&event).unwrap();
    let sealed = json!({"sealed": "c2VhbGVk"});
    assert_eq!(json["content"], sealed);
    assert_eq!(json["attachments"][0]["name"], sealed);
    assert_eq!(json["attachments"][1]["name"], sealed);
    assert_eq!(json["location"]["label"], sealed);

    let mut edit = E::MessageEdited {
        message_id: mid(2),
        content: PersonalText::clear("v2"),
        by: dave(),
        at: t(1),
    };
    let (edit_key, edit_fields) = edit.personal_fields().unwrap();
    assert_eq!(edit_key, key);
    assert_eq!(edit_fields.len(), 1);
}

#[test]
fn events_without_personal_content_have_no_key() {
    for mut event in all_conversation_events() {
        let personal = matches!(event, E::MessageSent { .. } | E::MessageEdited { .. });
        assert_eq!(event.personal_fields().is_some(), personal, "{event:?}");
    }
    for mut event in all_user_events() {
        let personal = matches!(event, U::UserBlocked { .. } | U::DraftSaved { .. });
        assert_eq!(event.personal_fields().is_some(), personal, "{event:?}");
    }
}

#[test]
fn an_erased_message_still_replays_into_the_same_state() {
    let mut erased = sent(1, carol());
    for field in erased.personal_fields().unwrap().1 {
        *field = PersonalText::Erased;
    }
    let clear_log = [group_created(alice(), &[carol()]), sent(1, carol())];
    let erased_log = [group_created(alice(), &[carol()]), erased];
    let mut a = ConversationState::default();
    let mut b = ConversationState::default();
    a.apply_new(&clear_log);
    b.apply_new(&erased_log);
    assert_eq!(a, b, "the aggregate holds no message content");
    assert_eq!(b.last_seq(), 2);
    // The message's facts survive erasure, except the fingerprint of text nobody can read any
    // more (so no edit is ever mistaken for a no-op).
    let clear = lookup_in(&clear_log, mid(1), &alice()).found.unwrap();
    let gone = lookup_in(&erased_log, mid(1), &alice()).found.unwrap();
    assert_eq!(
        (gone.seq, &gone.author, gone.kind),
        (clear.seq, &clear.author, clear.kind)
    );
    assert!(clear.content_fingerprint.is_some());
    assert_eq!(gone.content_fingerprint, None);
    assert_eq!(ConversationState::stream_name(gid()), gid().stream());
}
