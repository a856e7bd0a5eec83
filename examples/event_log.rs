//! Run with `cargo run --example event_log`.
//!
//! A tour of the write side without a server: opens an embedded SQLite event store in a
//! temporary directory, creates a group conversation, sends and edits messages through the
//! command handler (content is sealed before it is appended), replays a command idempotently,
//! then reads the log back, once as stored and once decoded.

use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;
use pawpost_codec::{EventCodec, Reveal};
use pawpost_commands::{CommandHandler, CommandMeta};
use pawpost_domain::values::{ConversationTitle, MessageBody, MessageKind};
use pawpost_domain::{
    ConversationCommand, ConversationEvent, ConversationId, ConversationState, MessageId, UserId,
};
use pawpost_store::{KeyRing, MasterKey, Position};
use uuid::Uuid;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store =
        pawpost_store::connect(&format!("sqlite:{}", dir.path().join("demo.db").display())).await?;
    store.migrate().await?;
    let codec = EventCodec::new(KeyRing::new(&MasterKey::generate(), store.clone()));
    let conversations = Arc::new(CommandHandler::<ConversationState>::new(
        store.clone(),
        codec.clone(),
    ));

    let user = |s: &str| UserId::parse(s).context("user id");
    let (owner, groomer) = (user("olivia")?, user("gus-the-groomer")?);
    let conv = ConversationId::from_uuid(Uuid::now_v7());
    let stream = conv.stream();
    let meta = CommandMeta {
        actor_id: Some(owner.to_string()),
        ..Default::default()
    };

    conversations
        .execute(
            &stream,
            Uuid::now_v7(),
            &ConversationCommand::CreateGroup {
                id: conv,
                actor: owner.clone(),
                title: ConversationTitle::parse("Biscuit's haircut")?,
                description: None,
                image_url: None,
                members: vec![groomer.clone()],
                at: Utc::now(),
            },
            &meta,
        )
        .await?;

    let message = MessageId::from_uuid(Uuid::now_v7());
    let send = ConversationCommand::SendMessage {
        message_id: message,
        actor: owner.clone(),
        kind: MessageKind::Text,
        body: Some(MessageBody::parse("Can you trim around the ears?")?),
        attachments: vec![],
        location: None,
        reply_to: None,
        forward: None,
        mentions: vec![groomer.clone()],
        temp_id: None,
        blocked_by_other: false,
        at: Utc::now(),
    };
    let command_id = Uuid::now_v7();
    let sent = conversations
        .execute(&stream, command_id, &send, &meta)
        .await?;
    let again = conversations
        .execute(&stream, command_id, &send, &meta)
        .await?;
    println!(
        "sent at seq {}; the same command again is a replay: {} (same version {})",
        sent.events[0].version, again.replayed, again.events[0].version
    );
    conversations
        .execute(
            &stream,
            Uuid::now_v7(),
            &ConversationCommand::EditMessage {
                actor: owner.clone(),
                message: conversations
                    .look_up_in_log(&stream, message, &owner)
                    .await?,
                body: MessageBody::parse("Can you trim around the ears, please?")?,
                at: Utc::now(),
            },
            &meta,
        )
        .await?;

    println!("\nthe log as stored (content sealed):");
    for ev in store.read_all(Position::START, 100).await? {
        println!(
            "  {} v{} {} {:.90}",
            ev.stream,
            ev.version,
            ev.event_type,
            ev.data.get()
        );
    }
    println!("\nthe log decoded:");
    for ev in store.read_stream(&stream, 0, 100).await? {
        let decoded: ConversationEvent = codec.decode(&ev, Reveal::Content).await?;
        match decoded {
            ConversationEvent::MessageSent { content, .. }
            | ConversationEvent::MessageEdited { content, .. } => {
                println!(
                    "  v{} {}: {:?}",
                    ev.version,
                    ev.event_type,
                    content.as_clear().unwrap_or("<erased>")
                )
            }
            _ => println!("  v{} {}", ev.version, ev.event_type),
        }
    }
    Ok(())
}
