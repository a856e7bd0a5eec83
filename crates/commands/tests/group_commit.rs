//! Group commit against both backends: commands queued on one stream while an append is in
//! flight are decided together and appended at once, each answered with its own events; a
//! refusal or a replay in the group touches nobody else; a group that loses a race to another
//! node is carried out command by command, nothing lost or doubled.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use pawpost_codec::EventCodec;
use pawpost_commands::{CommandError, CommandHandler, CommandMeta, Outcome};
use pawpost_domain::values::ConversationTitle;
use pawpost_domain::{ConversationCommand, ConversationId, ConversationState, DomainError};
use pawpost_store::{EventStore, KeyRing, MasterKey};
use tokio::sync::oneshot;
use uuid::Uuid;

#[macro_use]
mod common;
use common::Interleaved;
use common::{send, user};

type Handler = CommandHandler<ConversationState>;
type Answer = Result<Outcome<ConversationState>, CommandError>;

const DEADLINE: Duration = Duration::from_secs(30);

fn meta(actor: &str) -> CommandMeta {
    CommandMeta {
        actor_id: Some(actor.into()),
        ..Default::default()
    }
}

/// A handler over `store` seen through an [`Interleaved`] store, and a group conversation of
/// alice, bob and carol.
async fn world(store: Arc<dyn EventStore>) -> (Arc<Interleaved>, Arc<Handler>, String) {
    let gated = Arc::new(Interleaved::new(store.clone()));
    let handler = Arc::new(Handler::new(gated.clone(), codec(&store)));
    let conv = ConversationId::from_uuid(Uuid::now_v7());
    let create = ConversationCommand::CreateGroup {
        id: conv,
        actor: user("alice"),
        title: ConversationTitle::parse("Rex's walks").unwrap(),
        description: None,
        image_url: None,
        members: vec![user("bob"), user("carol")],
        at: Utc::now(),
    };
    handler
        .execute(&conv.stream(), Uuid::now_v7(), &create, &meta("alice"))
        .await
        .unwrap();
    gated.appends.store(0, Ordering::SeqCst);
    (gated, handler, conv.stream())
}

/// The codec of every node in these tests (one master key).
fn codec(store: &Arc<dyn EventStore>) -> EventCodec {
    static MASTER: std::sync::OnceLock<MasterKey> = std::sync::OnceLock::new();
    EventCodec::new(KeyRing::new(
        MASTER.get_or_init(MasterKey::generate),
        store.clone(),
    ))
}

/// Holds the next append until the returned sender fires; the receiver fires once it is held.
async fn hold_next_append(gated: &Interleaved) -> (oneshot::Sender<()>, oneshot::Receiver<()>) {
    let (release, released) = oneshot::channel::<()>();
    let (entered_tx, entered) = oneshot::channel::<()>();
    *gated.hook.lock().await = Some(Box::pin(async move {
        let _ = entered_tx.send(());
        let _ = released.await;
    }));
    (release, entered)
}

/// Waits (with a deadline) until `n` commands wait for `stream`.
async fn until_queued(h: &Handler, stream: &str, n: usize) {
    tokio::time::timeout(DEADLINE, async {
        while h.queued(stream) < n {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("the commands were queued in time");
}

fn spawn_execute(
    h: &Arc<Handler>,
    stream: &str,
    id: Uuid,
    command: ConversationCommand,
    actor: &str,
) -> tokio::task::JoinHandle<Answer> {
    let (h, stream, meta) = (h.clone(), stream.to_string(), meta(actor));
    tokio::spawn(async move { h.execute(&stream, id, &command, &meta).await })
}

async fn versions(store: &Arc<dyn EventStore>, stream: &str) -> Vec<u64> {
    let events = store.read_stream(stream, 0, 10_000).await.unwrap();
    events.iter().map(|e| e.version).collect()
}

async fn commands_queued_behind_an_append_go_in_one_append(store: Arc<dyn EventStore>) {
    let (gated, h, stream) = world(store.clone()).await;
    // A command carried out before: its retry rides in the group and gets the original.
    let retried_id = Uuid::now_v7();
    let original = h
        .execute(&stream, retried_id, &send("carol", "first"), &meta("carol"))
        .await
        .unwrap();
    gated.appends.store(0, Ordering::SeqCst);

    let (release, entered) = hold_next_append(&gated).await;
    let lone = spawn_execute(&h, &stream, Uuid::now_v7(), send("bob", "lone"), "bob");
    tokio::time::timeout(DEADLINE, entered)
        .await
        .unwrap()
        .unwrap();
    let mut sends = Vec::new();
    for i in 0..30 {
        let actor = if i % 2 == 0 { "bob" } else { "carol" };
        let id = Uuid::now_v7();
        sends.push(spawn_execute(
            &h,
            &stream,
            id,
            send(actor, &format!("m{i}")),
            actor,
        ));
    }
    let outsider = spawn_execute(
        &h,
        &stream,
        Uuid::now_v7(),
        send("mallory", "hi"),
        "mallory",
    );
    let retry = spawn_execute(&h, &stream, retried_id, send("carol", "first"), "carol");
    until_queued(&h, &stream, 32).await;
    release.send(()).unwrap();

    let lone = lone.await.unwrap().unwrap();
    assert_eq!(lone.events.len(), 1);
    let mut seen = vec![lone.events[0].version];
    for s in sends {
        let out = s.await.unwrap().unwrap();
        assert_eq!(out.events.len(), 1, "each command gets its own events");
        assert!(!out.replayed);
        assert_eq!(out.version, out.events[0].version);
        assert!(out.position.is_some());
        seen.push(out.events[0].version);
    }
    let refused = outsider.await.unwrap().unwrap_err();
    assert!(
        matches!(refused, CommandError::Domain(DomainError::NotParticipant)),
        "{refused:?}"
    );
    let retried = retry.await.unwrap().unwrap();
    assert!(retried.replayed, "the retry gets the original outcome");
    assert_eq!(retried.events[0].version, original.events[0].version);

    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 31, "31 distinct versions");
    assert_eq!(
        gated.appends.load(Ordering::SeqCst),
        2,
        "the lone command, then the 30 sends in one append"
    );
    assert_eq!(
        versions(&store, &stream).await,
        (1..=33).collect::<Vec<_>>(),
        "creation, the first message, 31 sends: gapless"
    );
}

async fn a_group_that_loses_a_race_goes_command_by_command(store: Arc<dyn EventStore>) {
    let (gated, h, stream) = world(store.clone()).await;
    let other_node = Arc::new(Handler::new(store.clone(), codec(&store)));
    other_node.load(&stream).await.unwrap();

    let (release, entered) = hold_next_append(&gated).await;
    let lone = spawn_execute(&h, &stream, Uuid::now_v7(), send("bob", "lone"), "bob");
    tokio::time::timeout(DEADLINE, entered)
        .await
        .unwrap()
        .unwrap();
    let sends: Vec<_> = (0..8)
        .map(|i| {
            let text = format!("g{i}");
            spawn_execute(&h, &stream, Uuid::now_v7(), send("carol", &text), "carol")
        })
        .collect();
    until_queued(&h, &stream, 8).await;
    // The group's append comes next: the other node writes just before it.
    let (other, s) = (other_node.clone(), stream.clone());
    *gated.hook.lock().await = Some(Box::pin(async move {
        let command = send("alice", "from the other node");
        other
            .execute(&s, Uuid::now_v7(), &command, &meta("alice"))
            .await
            .unwrap();
    }));
    release.send(()).unwrap();

    lone.await.unwrap().unwrap();
    let mut seen = Vec::new();
    for s in sends {
        let out = s.await.unwrap().unwrap();
        assert!(!out.replayed);
        seen.push(out.events[0].version);
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 8, "every command of the group stored once");
    assert!(h.conflicts() >= 1, "the group's append lost the race");
    assert_eq!(
        versions(&store, &stream).await,
        (1..=11).collect::<Vec<_>>(),
        "creation, the lone send, the other node's, the group's 8: gapless, none doubled"
    );
}

both!(
    commands_queued_behind_an_append_go_in_one_append,
    a_group_that_loses_a_race_goes_command_by_command,
);
