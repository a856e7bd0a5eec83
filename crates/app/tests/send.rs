//! The send use case answers the hub as soon as the event is durable, rendered from the event
//! itself: no projection needs to run. REST's answer waits for the read models instead.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use pawpost_app::messages::{Answer, NewMessage, SendOutcome};
use pawpost_app::{Actor, App, Role};
use pawpost_codec::EventCodec;
use pawpost_commands::{CommandHandler, CommandMeta};
use pawpost_domain::values::{ConversationTitle, MessageBody, MessageKind};
use pawpost_domain::{ConversationCommand, ConversationId, TempId, UserId};
use pawpost_projections::Projections;
use pawpost_store::{EventStore, KeyRing, MasterKey};
use uuid::Uuid;

fn actor(id: &str) -> Actor {
    Actor {
        id: UserId::parse(id).unwrap(),
        name: id.into(),
        role: Role::Owner,
    }
}

fn text(body: &str, temp: &str) -> NewMessage {
    NewMessage {
        kind: MessageKind::Text,
        body: Some(MessageBody::parse(body).unwrap()),
        attachments: vec![],
        location: None,
        reply_to: None,
        forward: None,
        mentions: vec![],
        temp_id: Some(TempId::parse(temp).unwrap()),
    }
}

/// An application whose projections never run, and a group of alice and bob.
async fn app_without_projections(store: Arc<dyn EventStore>) -> (App, ConversationId) {
    let codec = EventCodec::new(KeyRing::new(&MasterKey::generate(), store.clone()));
    let conversations = Arc::new(CommandHandler::new(store.clone(), codec.clone()));
    let users = Arc::new(CommandHandler::new(store.clone(), codec.clone()));
    let projections = Arc::new(Projections::new(store.clone(), codec.clone()).unwrap());
    let app = App::new(
        store,
        conversations.clone(),
        users,
        projections,
        codec,
        Duration::from_millis(200),
    );
    let conv = ConversationId::from_uuid(Uuid::now_v7());
    let create = ConversationCommand::CreateGroup {
        id: conv,
        actor: actor("alice").id,
        title: ConversationTitle::parse("Walkers").unwrap(),
        description: None,
        image_url: None,
        members: vec![actor("bob").id],
        at: Utc::now(),
    };
    conversations
        .execute_new(&conv.stream(), &create, &CommandMeta::default())
        .await
        .unwrap();
    (app, conv)
}

async fn the_hub_answer_needs_no_projection(store: Arc<dyn EventStore>) {
    let (app, conv) = app_without_projections(store).await;
    let alice = actor("alice");
    let SendOutcome::Sent(sent) = app
        .send_message(&alice, conv, text("walk at 5?", "t-1"), Answer::Durable)
        .await
        .unwrap()
    else {
        panic!("the hub's answer does not wait for the read models");
    };
    assert_eq!(sent.message.content.as_deref(), Some("walk at 5?"));
    assert_eq!(sent.message.seq, 2);
    assert_eq!(sent.message.sender_id, "alice");
    assert_eq!(sent.message.conversation_id, conv.to_string());
    assert_eq!(sent.message.status, "sent");
    assert_eq!(sent.temp_id.as_deref(), Some("t-1"));
    assert!(!sent.retried);
    // A retry with the same tempId is the same message, also rendered from the log.
    let SendOutcome::Sent(again) = app
        .send_message(&alice, conv, text("walk at 5?", "t-1"), Answer::Durable)
        .await
        .unwrap()
    else {
        panic!("a retry does not wait either");
    };
    assert!(again.retried);
    assert_eq!(again.message.id, sent.message.id);
    assert_eq!(again.message.seq, 2);
    // REST's answer reads the read models: with none running it is "accepted" at the bound.
    let rest = app
        .send_message(&alice, conv, text("and at 6?", "t-2"), Answer::Visible)
        .await
        .unwrap();
    assert!(matches!(rest, SendOutcome::Lagging(_)), "{rest:?}");
    // Not a participant: not found, whatever the answer mode.
    let err = app
        .send_message(&actor("mallory"), conv, text("hi", "t-3"), Answer::Durable)
        .await
        .unwrap_err();
    assert_eq!(err.code, "not_found");
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (_dir, store) = pawpost_store::testing::sqlite().await;
                super::$name(store).await;
            }
        )* }
        mod postgres { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store = pawpost_store::testing::postgres().await;
                super::$name(store).await;
            }
        )* }
    };
}

both!(the_hub_answer_needs_no_projection);
