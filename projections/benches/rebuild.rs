//! Projection rebuild throughput (DESIGN.md §9: ≥ 100,000 events/s): writes a realistic log,
//! then times `reset` + `catch_up` of each projector alone and of all of them together, plus
//! the phases of a rebuild (reading the log, decoding with and without opening personal
//! content) to show where the time goes.
//!
//! Run with `cargo bench -p pawpost-projections --bench rebuild` (PostgreSQL from
//! `PAWPOST_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`; a fresh
//! database is created). `PAWPOST_BENCH_SCALE` (default 1.0: 1,000,000 events) scales the log;
//! `PAWPOST_BENCH_BACKEND=sqlite` or `postgres` runs one backend only.
//!
//! The log: 1,000 group conversations of 5 participants (out of 2,000 users), each user's
//! profile, then chunks of 25 events per conversation appended by 32 concurrent writers: about
//! 80 % `MessageSent` (every message sealed under its own data key, 5 % with a mention, 5 %
//! replies), 6 % reactions, 8 % read markers, 3 % delivered markers, 2 % edits, 1 % deletions;
//! plus one user-stream event (mute, pin, archive, draft, hide) for every ~100 events.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use futures::future::try_join_all;
use pawpost_codec::{EventCodec, Reveal};
use pawpost_domain::values::{
    ConversationKind, ConversationTitle, DisplayName, MessageKind, NotificationLevel, Reaction,
    Role,
};
use pawpost_domain::{
    ConversationEvent as CE, ConversationId, MessageId, PersonalText, UserEvent as UE, UserId,
};
use pawpost_projections::envelope::decode_batch;
use pawpost_projections::Projections;
use pawpost_store::{EventStore, ExpectedVersion, KeyRing, MasterKey, Metadata, Position};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

const CONVERSATIONS: usize = 1_000;
const USERS: usize = 2_000;
const MEMBERS: usize = 5;
const WRITERS: usize = 32;
const CHUNK: usize = 25;
const EVENTS: f64 = 1_000_000.0;

const WORDS: [&str; 24] = [
    "walk", "park", "tomorrow", "at", "nine", "the", "dog", "was", "great", "thanks", "can", "we",
    "move", "grooming", "to", "friday", "vet", "said", "fine", "treats", "leash", "🐕", "公园",
    "okay",
];
const REACTIONS: [&str; 4] = ["👍", "❤️", "😂", "🐾"];

fn user(i: usize) -> UserId {
    UserId::parse(&format!("user-{i}")).unwrap()
}

fn sentence(rng: &mut StdRng) -> String {
    let n = rng.gen_range(4..20);
    (0..n)
        .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

/// One conversation as its writer tracks it.
struct Conv {
    id: ConversationId,
    members: Vec<UserId>,
    version: u64,
    /// `(seq, id, sender)` of every message.
    messages: Vec<(u64, MessageId, usize)>,
}

impl Conv {
    /// The next event of the mix; `version` is the one it will be stored at.
    fn next_event(&mut self, rng: &mut StdRng) -> (CE, UserId) {
        let version = self.version + 1;
        let at = Utc::now();
        let sender = rng.gen_range(0..MEMBERS);
        let actor = self.members[sender].clone();
        let roll = if self.messages.is_empty() {
            0
        } else {
            rng.gen_range(0..100)
        };
        let recent = |rng: &mut StdRng, ms: &[(u64, MessageId, usize)]| {
            let from = ms.len().saturating_sub(50);
            ms[rng.gen_range(from..ms.len())]
        };
        let event = match roll {
            0..80 => {
                let id = MessageId::from_uuid(Uuid::now_v7());
                let mentions = if rng.gen_bool(0.05) {
                    vec![self.members[(sender + 1) % MEMBERS].clone()]
                } else {
                    vec![]
                };
                let reply_to = (!self.messages.is_empty() && rng.gen_bool(0.05))
                    .then(|| recent(rng, &self.messages).1);
                self.messages.push((version, id, sender));
                CE::MessageSent {
                    message_id: id,
                    sender_id: actor.clone(),
                    kind: MessageKind::Text,
                    content: PersonalText::Clear(sentence(rng)),
                    attachments: vec![],
                    location: None,
                    reply_to,
                    forwarded_from: None,
                    mentions,
                    temp_id: None,
                    system_type: None,
                    at,
                }
            }
            80..86 => CE::ReactionAdded {
                message_id: recent(rng, &self.messages).1,
                user_id: actor.clone(),
                reaction: Reaction::parse(REACTIONS[rng.gen_range(0..REACTIONS.len())]).unwrap(),
                at,
            },
            86..97 => {
                let (seq, message_id, _) = *self.messages.last().unwrap();
                if roll < 94 {
                    CE::MessagesRead {
                        user_id: actor.clone(),
                        up_to_seq: seq,
                        message_id,
                        at,
                    }
                } else {
                    CE::MessagesDelivered {
                        user_id: actor.clone(),
                        up_to_seq: seq,
                        message_id,
                        at,
                    }
                }
            }
            97..99 => {
                let (_, message_id, by) = recent(rng, &self.messages);
                return (
                    CE::MessageEdited {
                        message_id,
                        content: PersonalText::Clear(sentence(rng)),
                        by: self.members[by].clone(),
                        at,
                    },
                    self.members[by].clone(),
                );
            }
            _ => {
                let (_, message_id, by) = recent(rng, &self.messages);
                return (
                    CE::MessageDeleted {
                        message_id,
                        by: self.members[by].clone(),
                        at,
                    },
                    self.members[by].clone(),
                );
            }
        };
        (event, actor)
    }
}

fn user_event(rng: &mut StdRng, convs: &[Conv]) -> (UserId, UE) {
    let conv = &convs[rng.gen_range(0..convs.len())];
    let who = conv.members[rng.gen_range(0..MEMBERS)].clone();
    let at = Utc::now();
    let event = match rng.gen_range(0..5) {
        0 => UE::ConversationMuted {
            conversation_id: conv.id,
            until: None,
            level: NotificationLevel::Mentions,
            at,
        },
        1 => UE::ConversationPinned {
            conversation_id: conv.id,
            at,
        },
        2 => UE::ConversationArchived {
            conversation_id: conv.id,
            at,
        },
        3 => UE::DraftSaved {
            conversation_id: conv.id,
            user_id: who.clone(),
            content: PersonalText::Clear(sentence(rng)),
            reply_to: None,
            at,
        },
        _ => UE::MessagesHiddenForMe {
            conversation_id: conv.id,
            message_ids: conv.messages.last().map(|m| m.1).into_iter().collect(),
            at,
        },
    };
    (who, event)
}

/// Writes about `total` events; returns how many and how long it took.
async fn write_log(store: &Arc<dyn EventStore>, codec: &EventCodec, total: u64) -> (u64, f64) {
    let start = Instant::now();
    let written = Arc::new(AtomicU64::new(0));
    // Profiles and conversations first.
    for i in 0..USERS {
        let u = user(i);
        let event = UE::ProfileUpdated {
            user_id: u.clone(),
            display_name: DisplayName::parse(&format!("User {i}")).unwrap(),
            avatar_url: None,
            role: None,
            locale: None,
            at: Utc::now(),
        };
        let new = codec
            .encode(Uuid::now_v7(), event, Metadata::now(Some(u.to_string())))
            .await
            .unwrap();
        store
            .append(&u.stream(), ExpectedVersion::Any, vec![new])
            .await
            .unwrap();
    }
    let mut handles = Vec::new();
    for w in 0..WRITERS {
        let (store, codec, written) = (store.clone(), codec.clone(), written.clone());
        handles.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(w as u64);
            let mut convs: Vec<Conv> = Vec::new();
            for c in (w..CONVERSATIONS).step_by(WRITERS) {
                let id = ConversationId::from_uuid(Uuid::now_v7());
                let members: Vec<UserId> = (0..MEMBERS)
                    .map(|k| user((c * 7 + k * 401) % USERS))
                    .collect();
                let event = CE::ConversationCreated {
                    conversation_id: id,
                    kind: ConversationKind::Group,
                    booking_id: None,
                    title: Some(ConversationTitle::parse(&format!("Group {c}")).unwrap()),
                    description: None,
                    image_url: None,
                    created_by: members[0].clone(),
                    participants: members
                        .iter()
                        .enumerate()
                        .map(|(k, u)| pawpost_domain::conversation::NewParticipant {
                            user_id: u.clone(),
                            role: if k == 0 { Role::Owner } else { Role::Member },
                        })
                        .collect(),
                    at: Utc::now(),
                };
                let new = codec
                    .encode(Uuid::now_v7(), event, Metadata::now(None))
                    .await
                    .unwrap();
                store
                    .append(&id.stream(), ExpectedVersion::NoStream, vec![new])
                    .await
                    .unwrap();
                written.fetch_add(1, Ordering::Relaxed);
                convs.push(Conv {
                    id,
                    members,
                    version: 1,
                    messages: Vec::new(),
                });
            }
            let mut i = 0;
            while written.load(Ordering::Relaxed) < total {
                let k = i % convs.len();
                let conv = &mut convs[k];
                i += 1;
                let expected = conv.version;
                let mut events = Vec::with_capacity(CHUNK);
                for _ in 0..CHUNK {
                    events.push(conv.next_event(&mut rng));
                    conv.version += 1;
                }
                // Sealed concurrently: each new message key is one store write, and concurrent
                // writes share the writer's group commits.
                let batch = try_join_all(events.into_iter().map(|(event, actor)| {
                    codec.encode(
                        Uuid::now_v7(),
                        event,
                        Metadata::now(Some(actor.to_string())),
                    )
                }))
                .await
                .unwrap();
                store
                    .append(&conv.id.stream(), ExpectedVersion::Exact(expected), batch)
                    .await
                    .unwrap();
                written.fetch_add(CHUNK as u64, Ordering::Relaxed);
                if i % 4 == 0 {
                    let (who, event) = user_event(&mut rng, &convs);
                    let new = codec
                        .encode(Uuid::now_v7(), event, Metadata::now(Some(who.to_string())))
                        .await
                        .unwrap();
                    store
                        .append(&who.stream(), ExpectedVersion::Any, vec![new])
                        .await
                        .unwrap();
                    written.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let n = written.load(Ordering::Relaxed) + USERS as u64;
    (n, start.elapsed().as_secs_f64())
}

/// Reads the whole log in the runner's pages; with `reveal`, also decodes every event.
async fn read_phase(
    store: &Arc<dyn EventStore>,
    codec: &EventCodec,
    reveal: Option<Reveal>,
) -> (u64, f64) {
    let start = Instant::now();
    let mut at = Position::START;
    let mut n = 0u64;
    loop {
        let page = store.read_all(at, 500).await.unwrap();
        let Some(last) = page.last() else { break };
        at = last.position;
        n += page.len() as u64;
        if let Some(reveal) = reveal {
            let refs: Vec<_> = page.iter().collect();
            decode_batch(codec, &refs, reveal).await.unwrap();
        }
    }
    (n, start.elapsed().as_secs_f64())
}

/// A codec with a cold key cache, as a fresh `pawpost replay` process has.
fn cold_codec(store: &Arc<dyn EventStore>, key: &MasterKey) -> EventCodec {
    EventCodec::new(KeyRing::new(key, store.clone()))
}

fn row(backend: &str, what: &str, events: u64, secs: f64) {
    println!(
        "| {backend} | {what} | {events} | {secs:.2} | {:.0} |",
        events as f64 / secs
    );
}

async fn run(backend: &str, store: Arc<dyn EventStore>, scale: f64) {
    let key = MasterKey::generate();
    let total = ((EVENTS * scale) as u64).max(1_000);
    let (written, secs) = write_log(&store, &cold_codec(&store, &key), total).await;
    eprintln!(
        "{backend}: wrote {written} events in {secs:.1} s ({:.0} events/s, sealed, 32 writers)",
        written as f64 / secs
    );
    // Let PostgreSQL's snapshot gate pass the last commits.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let (n, secs) = read_phase(&store, &cold_codec(&store, &key), None).await;
    row(backend, "phase: read the log (pages of 500)", n, secs);
    let (n, secs) = read_phase(&store, &cold_codec(&store, &key), Some(Reveal::Nothing)).await;
    row(
        backend,
        "phase: read + decode_batch, content sealed",
        n,
        secs,
    );
    let (n, secs) = read_phase(&store, &cold_codec(&store, &key), Some(Reveal::Content)).await;
    row(
        backend,
        "phase: read + decode_batch, content opened",
        n,
        secs,
    );

    let projections = Arc::new(Projections::new(store.clone(), cold_codec(&store, &key)).unwrap());
    for name in projections.names() {
        let start = Instant::now();
        projections.reset(name).await.unwrap();
        let n = projections.catch_up(name, |_| {}).await.unwrap();
        row(backend, name, n, start.elapsed().as_secs_f64());
    }

    // Emptying runs first, one projection after the other: each is a single transaction that
    // holds SQLite's write lock for seconds (longer than the busy timeout others wait).
    let projections = Arc::new(Projections::new(store.clone(), cold_codec(&store, &key)).unwrap());
    let start = Instant::now();
    let mut resets = Vec::new();
    for name in projections.names() {
        let reset = Instant::now();
        projections.reset(name).await.unwrap();
        resets.push((name, reset.elapsed().as_secs_f64()));
    }
    let mut handles = Vec::new();
    for name in projections.names() {
        let p = projections.clone();
        handles.push(tokio::spawn(async move {
            p.catch_up(name, |_| {}).await.unwrap()
        }));
    }
    let mut n = 0;
    for h in handles {
        n = n.max(h.await.unwrap());
    }
    row(
        backend,
        "all three together (catching up concurrently; events of the log)",
        n,
        start.elapsed().as_secs_f64(),
    );

    for (name, secs) in resets {
        println!("| {backend} | diagnostic: emptying the full {name} tables | | {secs:.2} | |");
    }
    // Where the messages projector's time goes.
    let steps: &[(&str, &[&str])] = match backend {
        "SQLite" => &[(
            "diagnostic: messages without the search index",
            &[
                "DROP TABLE rm_search",
                "CREATE TABLE rm_search (content TEXT)",
            ],
        )],
        _ => &[(
            "diagnostic: messages without the search index",
            &["DROP INDEX rm_search_trgm"],
        )],
    };
    for (label, sql) in steps {
        let projections = Projections::new(store.clone(), cold_codec(&store, &key)).unwrap();
        let mut tx = projections.db().begin().await.unwrap();
        tx.batch(sql).await.unwrap();
        tx.commit().await.unwrap();
        let start = Instant::now();
        projections.reset("messages").await.unwrap();
        let n = projections.catch_up("messages", |_| {}).await.unwrap();
        row(backend, label, n, start.elapsed().as_secs_f64());
    }
}

fn main() {
    let scale = pawpost_store::testing::bench_scale();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("| backend | projection | events | seconds | events/s |");
        println!("| --- | --- | ---: | ---: | ---: |");
        for (name, store, _guard) in pawpost_store::testing::bench_backends().await {
            run(name, store, scale).await;
        }
    });
}
