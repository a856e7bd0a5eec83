//! Command handling against both backends: decide, seal, append with the expected version,
//! retry on conflict, replay idempotently; erasure of sealed content.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::Utc;
use pawpost_codec::{CodecError, EventCodec, Reveal};
use pawpost_commands::{CommandError, CommandHandler, CommandMeta};
use pawpost_domain::values::{ConversationTitle, MessageBody, MessageKind};
use pawpost_domain::{
    Aggregate, ConversationCommand, ConversationEvent, ConversationId, ConversationState,
    DomainError, MessageId, PersonalText, UserId,
};
use pawpost_store::{CryptoError, EventStore, KeyRing, MasterKey};
use uuid::Uuid;

#[macro_use]
mod common;
use common::Interleaved;

type Handler = CommandHandler<ConversationState>;

struct World {
    store: Arc<dyn EventStore>,
    codec: EventCodec,
    conv: ConversationId,
    stream: String,
}

fn user(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

fn body(s: &str) -> MessageBody {
    MessageBody::parse(s).unwrap()
}

fn meta(actor: &str) -> CommandMeta {
    CommandMeta {
        actor_id: Some(actor.into()),
        ..Default::default()
    }
}

fn send(msg: MessageId, actor: &str, text: &str) -> ConversationCommand {
    ConversationCommand::SendMessage {
        message_id: msg,
        actor: user(actor),
        kind: MessageKind::Text,
        body: Some(body(text)),
        attachments: vec![],
        location: None,
        reply_to: None,
        forward: None,
        mentions: vec![],
        temp_id: None,
        blocked_by_other: false,
        at: Utc::now(),
    }
}

/// Edits `m` as the server does: looks it up (here from the log), decides, and looks again
/// when the facts turned out stale (another writer changed the conversation meanwhile).
async fn edit(
    h: &Handler,
    stream: &str,
    m: MessageId,
    actor: &str,
    text: &str,
) -> Result<pawpost_commands::Outcome<ConversationState>, CommandError> {
    let mut result = Err(CommandError::Domain(DomainError::StaleFacts));
    for _ in 0..5 {
        let cmd = ConversationCommand::EditMessage {
            actor: user(actor),
            message: h.look_up_in_log(stream, m, &user(actor)).await?,
            body: body(text),
            at: Utc::now(),
        };
        result = h.execute(stream, Uuid::now_v7(), &cmd, &meta(actor)).await;
        if !matches!(result, Err(CommandError::Domain(DomainError::StaleFacts))) {
            break;
        }
    }
    result
}

/// How many times `m` was edited, from the log.
async fn edits(w: &World, m: MessageId) -> usize {
    let mut n = 0;
    for ev in w.store.read_stream(&w.stream, 0, 10_000).await.unwrap() {
        let e: ConversationEvent = w.codec.decode(&ev, Reveal::Nothing).await.unwrap();
        if matches!(e, ConversationEvent::MessageEdited { message_id, .. } if message_id == m) {
            n += 1;
        }
    }
    n
}

async fn world(store: Arc<dyn EventStore>) -> (World, Handler) {
    let codec = EventCodec::new(KeyRing::new(&MasterKey::generate(), store.clone()));
    let handler = Handler::new(store.clone(), codec.clone());
    let conv = ConversationId::from_uuid(Uuid::now_v7());
    let stream = conv.stream();
    handler
        .execute(
            &stream,
            Uuid::now_v7(),
            &ConversationCommand::CreateGroup {
                id: conv,
                actor: user("alice"),
                title: ConversationTitle::parse("Rex's grooming").unwrap(),
                description: None,
                image_url: None,
                members: vec![user("bob"), user("carol")],
                at: Utc::now(),
            },
            &meta("alice"),
        )
        .await
        .unwrap();
    (
        World {
            store,
            codec,
            conv,
            stream,
        },
        handler,
    )
}

async fn decides_appends_and_versions_are_gapless(store: Arc<dyn EventStore>) {
    let (w, h) = world(store).await;
    let mut seqs = Vec::new();
    for i in 0..5 {
        let m = MessageId::from_uuid(Uuid::now_v7());
        let out = h
            .execute(
                &w.stream,
                Uuid::now_v7(),
                &send(m, "bob", &format!("hi {i}")),
                &meta("bob"),
            )
            .await
            .unwrap();
        assert!(!out.replayed);
        assert_eq!(out.events.len(), 1);
        assert!(out.position.is_some());
        seqs.push(out.events[0].version);
    }
    assert_eq!(seqs, vec![2, 3, 4, 5, 6]);
    // A refusal appends nothing.
    let err = h
        .execute(
            &w.stream,
            Uuid::now_v7(),
            &send(MessageId::from_uuid(Uuid::now_v7()), "mallory", "hey"),
            &meta("mallory"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommandError::Domain(DomainError::NotParticipant)),
        "{err:?}"
    );
    assert_eq!(w.store.stream_version(&w.stream).await.unwrap(), 6);
    // Stored content is sealed: the text is not in the log.
    let stored = w.store.read_stream(&w.stream, 0, 100).await.unwrap();
    assert!(stored.iter().all(|e| !e.data.get().contains("hi ")));
    // A fresh handler (another node, a restart) rebuilds the same state from the log.
    let other = Handler::new(w.store.clone(), w.codec.clone());
    let loaded = other.load(&w.stream).await.unwrap();
    assert_eq!(loaded.version(), 6);
    assert_eq!(loaded.last_seq(), 6);
}

async fn replaying_a_command_returns_the_original_result(store: Arc<dyn EventStore>) {
    let (w, h) = world(store).await;
    let m = MessageId::from_uuid(Uuid::now_v7());
    let command_id = Uuid::now_v7();
    let cmd = send(m, "bob", "walk at 5?");
    let first = h
        .execute(&w.stream, command_id, &cmd, &meta("bob"))
        .await
        .unwrap();
    h.execute(
        &w.stream,
        Uuid::now_v7(),
        &send(MessageId::from_uuid(Uuid::now_v7()), "carol", "ok"),
        &meta("carol"),
    )
    .await
    .unwrap();
    // The same command again, through this handler and through a fresh one.
    let fresh = Handler::new(w.store.clone(), w.codec.clone());
    for handler in [&h, &fresh] {
        let again = handler
            .execute(&w.stream, command_id, &cmd, &meta("bob"))
            .await
            .unwrap();
        assert!(again.replayed);
        assert_eq!(again.events.len(), 1);
        assert_eq!(again.events[0].event_id, first.events[0].event_id);
        assert_eq!(again.events[0].version, first.events[0].version);
        assert_eq!(again.position, first.position);
        match &again.events[0].event {
            ConversationEvent::MessageSent {
                message_id,
                content,
                ..
            } => {
                assert_eq!(*message_id, m);
                assert_eq!(content.as_clear(), Some("walk at 5?"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(w.store.stream_version(&w.stream).await.unwrap(), 3);
    // Two racing replays of one new command: one append, both see the same result.
    let command_id = Uuid::now_v7();
    let cmd = send(MessageId::from_uuid(Uuid::now_v7()), "carol", "race");
    let carol = meta("carol");
    let (a, b) = tokio::join!(
        h.execute(&w.stream, command_id, &cmd, &carol),
        fresh.execute(&w.stream, command_id, &cmd, &carol)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.events[0].version, b.events[0].version);
    assert!(a.replayed ^ b.replayed);
    assert_eq!(w.store.stream_version(&w.stream).await.unwrap(), 4);
}

async fn racing_edits_on_two_nodes_both_land_in_order(store: Arc<dyn EventStore>) {
    let (w, node_a) = world(store).await;
    let node_b = Handler::new(w.store.clone(), w.codec.clone());
    let m = MessageId::from_uuid(Uuid::now_v7());
    node_a
        .execute(
            &w.stream,
            Uuid::now_v7(),
            &send(m, "bob", "v1"),
            &meta("bob"),
        )
        .await
        .unwrap();
    // Both nodes have the message cached at the same version…
    node_b.load(&w.stream).await.unwrap();
    // …and edit it at once: one wins the append, the other conflicts, catches up, decides again.
    for round in 0..5 {
        let (ta, tb) = (format!("a{round}"), format!("b{round}"));
        let (x, y) = tokio::join!(
            edit(&node_a, &w.stream, m, "bob", &ta),
            edit(&node_b, &w.stream, m, "bob", &tb)
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_ne!(x.events[0].version, y.events[0].version);
    }
    assert_eq!(edits(&w, m).await, 10);
    let versions: Vec<u64> = w
        .store
        .read_stream(&w.stream, 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(versions, (1..=12).collect::<Vec<_>>());
    // Two tasks on the same node serialise on the stream's lock: no lost update either.
    let h = Arc::new(node_a);
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let h = h.clone();
            let stream = w.stream.clone();
            tokio::spawn(async move { edit(&h, &stream, m, "bob", &format!("t{i}")).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(edits(&w, m).await, 14);
}

async fn a_lost_race_is_decided_again_and_retried(store: Arc<dyn EventStore>) {
    let (w, node_a) = world(store).await;
    let m = MessageId::from_uuid(Uuid::now_v7());
    node_a
        .execute(
            &w.stream,
            Uuid::now_v7(),
            &send(m, "bob", "v1"),
            &meta("bob"),
        )
        .await
        .unwrap();
    let node_a = Arc::new(node_a);
    let racing = Arc::new(Interleaved::new(w.store.clone()));
    let node_b = Handler::new(racing.clone(), w.codec.clone());
    // Node A edits between node B's decision and node B's append.
    let (a, stream) = (node_a.clone(), w.stream.clone());
    *racing.hook.lock().await = Some(Box::pin(async move {
        edit(&a, &stream, m, "bob", "from a").await.unwrap();
    }));
    let out = edit(&node_b, &w.stream, m, "bob", "from b").await.unwrap();
    assert_eq!(node_b.conflicts(), 1, "node B lost the race once");
    assert_eq!(
        out.events[0].version, 4,
        "appended after node A's edit, not over it"
    );
    assert_eq!(edits(&w, m).await, 2);
    // A race that makes the command invalid: node A deletes meanwhile; node B's retry refuses.
    let (a, stream) = (node_a.clone(), w.stream.clone());
    *racing.hook.lock().await = Some(Box::pin(async move {
        let message = a.look_up_in_log(&stream, m, &user("bob")).await.unwrap();
        a.execute(
            &stream,
            Uuid::now_v7(),
            &ConversationCommand::DeleteForEveryone {
                actor: user("bob"),
                message,
                at: Utc::now(),
            },
            &meta("bob"),
        )
        .await
        .unwrap();
    }));
    let err = edit(&node_b, &w.stream, m, "bob", "too late")
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommandError::Domain(DomainError::AlreadyDeleted)),
        "{err:?}"
    );
    assert_eq!(node_b.conflicts(), 2);
    assert_eq!(w.store.stream_version(&w.stream).await.unwrap(), 5);
}

async fn a_stale_node_decides_again_on_fresh_state(store: Arc<dyn EventStore>) {
    let (w, node_a) = world(store).await;
    let node_b = Handler::new(w.store.clone(), w.codec.clone());
    let m = MessageId::from_uuid(Uuid::now_v7());
    node_a
        .execute(
            &w.stream,
            Uuid::now_v7(),
            &send(m, "bob", "v1"),
            &meta("bob"),
        )
        .await
        .unwrap();
    node_b.load(&w.stream).await.unwrap();
    // Node B looks the message up while it is alive…
    let alive = node_b
        .look_up_in_log(&w.stream, m, &user("bob"))
        .await
        .unwrap();
    let message = node_a
        .look_up_in_log(&w.stream, m, &user("bob"))
        .await
        .unwrap();
    node_a
        .execute(
            &w.stream,
            Uuid::now_v7(),
            &ConversationCommand::DeleteForEveryone {
                actor: user("bob"),
                message,
                at: Utc::now(),
            },
            &meta("bob"),
        )
        .await
        .unwrap();
    // …then node A deletes it. Node B's cache and facts both still have it alive: its edit
    // must be refused (the append conflicts, the caught-up state finds the facts stale), not
    // blindly appended; looked up again, the message is deleted.
    let stale = ConversationCommand::EditMessage {
        actor: user("bob"),
        message: alive,
        body: body("too late"),
        at: Utc::now(),
    };
    let err = node_b
        .execute(&w.stream, Uuid::now_v7(), &stale, &meta("bob"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommandError::Domain(DomainError::StaleFacts)),
        "{err:?}"
    );
    let err = edit(&node_b, &w.stream, m, "bob", "too late")
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommandError::Domain(DomainError::AlreadyDeleted)),
        "{err:?}"
    );
    assert_eq!(w.store.stream_version(&w.stream).await.unwrap(), 3);
}

async fn destroyed_key_reads_as_erased_on_replay(store: Arc<dyn EventStore>) {
    let (w, h) = world(store).await;
    let ids: Vec<MessageId> = (0..3)
        .map(|_| MessageId::from_uuid(Uuid::now_v7()))
        .collect();
    for (i, m) in ids.iter().enumerate() {
        h.execute(
            &w.stream,
            Uuid::now_v7(),
            &send(*m, "bob", &format!("text {i}")),
            &meta("bob"),
        )
        .await
        .unwrap();
    }
    edit(&h, &w.stream, ids[1], "bob", "text 1, edited")
        .await
        .unwrap();
    let replay = |codec: EventCodec, store: Arc<dyn EventStore>, stream: String| async move {
        let mut out = Vec::new();
        for ev in store.read_stream(&stream, 0, 100).await.unwrap() {
            let e: ConversationEvent = codec.decode(&ev, Reveal::Content).await.unwrap();
            out.push((ev.version, e));
        }
        out
    };
    let before = replay(w.codec.clone(), w.store.clone(), w.stream.clone()).await;
    // Erase message 1 (its text and every edited version).
    assert!(w
        .codec
        .keys()
        .destroy(&format!("msg-{}", ids[1]))
        .await
        .unwrap());
    let after = replay(w.codec.clone(), w.store.clone(), w.stream.clone()).await;
    assert_eq!(before.len(), after.len());
    let mut erased = 0;
    for ((v1, e1), (v2, e2)) in before.iter().zip(&after) {
        assert_eq!(v1, v2);
        match (e1, e2) {
            (
                ConversationEvent::MessageSent {
                    message_id,
                    content: c1,
                    ..
                },
                ConversationEvent::MessageSent { content: c2, .. },
            )
            | (
                ConversationEvent::MessageEdited {
                    message_id,
                    content: c1,
                    ..
                },
                ConversationEvent::MessageEdited { content: c2, .. },
            ) => {
                if *message_id == ids[1] {
                    assert!(c1.is_clear());
                    assert_eq!(*c2, PersonalText::Erased);
                    erased += 1;
                } else {
                    assert_eq!(c1, c2);
                }
            }
            _ => assert_eq!(e1, e2),
        }
    }
    assert_eq!(erased, 2);
    // The aggregate replays to the same shape: count, order and audit facts intact.
    let state = Handler::new(w.store.clone(), w.codec.clone())
        .load(&w.stream)
        .await
        .unwrap();
    assert_eq!(state.last_seq(), 4);
    assert_eq!(edits(&w, ids[1]).await, 1);
    let _ = w.conv;
}

async fn tampered_content_is_refused_not_panicking(store: Arc<dyn EventStore>) {
    let (w, h) = world(store).await;
    let m = MessageId::from_uuid(Uuid::now_v7());
    let out = h
        .execute(
            &w.stream,
            Uuid::now_v7(),
            &send(m, "bob", "pay me at 5"),
            &meta("bob"),
        )
        .await
        .unwrap();
    let mut stored = w
        .store
        .find_event(out.events[0].event_id)
        .await
        .unwrap()
        .unwrap();
    let mut v: serde_json::Value = stored.decode().unwrap();
    let sealed = v["content"]["sealed"].as_str().unwrap().to_string();
    let flipped: String = sealed
        .char_indices()
        .map(|(i, c)| {
            if i == sealed.len() - 3 {
                if c == 'A' {
                    'B'
                } else {
                    'A'
                }
            } else {
                c
            }
        })
        .collect();
    v["content"]["sealed"] = serde_json::Value::String(flipped);
    stored.data = serde_json::value::to_raw_value(&v).unwrap();
    let err = w
        .codec
        .decode::<ConversationEvent>(&stored, Reveal::Content)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CodecError::Crypto(CryptoError::Tampered)),
        "{err:?}"
    );
}

both!(
    decides_appends_and_versions_are_gapless,
    replaying_a_command_returns_the_original_result,
    racing_edits_on_two_nodes_both_land_in_order,
    a_stale_node_decides_again_on_fresh_state,
    a_lost_race_is_decided_again_and_retried,
    destroyed_key_reads_as_erased_on_replay,
    tampered_content_is_refused_not_panicking,
);
