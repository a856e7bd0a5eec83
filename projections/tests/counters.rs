//! The maintained unread counters, transition by transition, on both backends (issue 13): each
//! event that changes what counts for a user (a message sent, deleted for everyone or hidden
//! for them, a read marker, leaving and coming back, a system notice) moves the counts, the
//! message count and the last visible message of the conversation list exactly; a read marker
//! never moves back; however the log is cut into batches, the tables come out the same.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::{assert_same, group, send, uid, World};
use pawpost_domain::{
    ConversationCommand as C, ConversationEvent as CE, ConversationId, EventType, MessageId,
    PersonalData, UserCommand as U, UserEvent as UE,
};
use pawpost_projections::queries::conversations::{self, ConversationSummary};
use pawpost_projections::Projections;
use pawpost_store::{ExpectedVersion, Metadata};
use serde::Serialize;
use uuid::Uuid;

/// What the list shows `user` of `conv`: (unread, mentions, last message preview), `None` when
/// it is not in their list.
async fn counts(w: &World, user: &'static str, conv: ConversationId) -> Option<Counts> {
    w.project().await;
    let s = w
        .q(move |tx| {
            Box::pin(async move { conversations::summary(tx, user, &conv.to_string()).await })
        })
        .await;
    s.map(|s| Counts::of(&s))
}

#[derive(Debug, PartialEq)]
struct Counts {
    unread: u64,
    mentions: u64,
    last: Option<String>,
    messages: u64,
}

impl Counts {
    fn of(s: &ConversationSummary) -> Self {
        Counts {
            unread: s.unread_count,
            mentions: s.mention_count,
            last: s.last_message_preview.clone(),
            messages: s.message_count,
        }
    }
}

fn c(unread: u64, mentions: u64, last: Option<&str>, messages: u64) -> Option<Counts> {
    Some(Counts {
        unread,
        mentions,
        last: last.map(str::to_string),
        messages,
    })
}

async fn total(w: &World, user: &'static str) -> u64 {
    w.q(move |tx| Box::pin(async move { conversations::unread_total(tx, user).await }))
        .await
}

async fn send_mentioning(
    w: &World,
    conv: ConversationId,
    from: &str,
    text: &str,
    to: &str,
) -> MessageId {
    let id = MessageId::from_uuid(Uuid::now_v7());
    let mut cmd = send(id, from, text);
    if let C::SendMessage { mentions, .. } = &mut cmd {
        mentions.push(uid(to));
    }
    w.conv(conv, cmd).await.unwrap();
    id
}

async fn delete(w: &World, conv: ConversationId, actor: &str, message_id: MessageId) {
    let cmd = C::DeleteForEveryone {
        actor: uid(actor),
        message: w.look(conv, actor, message_id).await,
        at: Utc::now(),
    };
    w.conv(conv, cmd).await.unwrap();
}

async fn mark_read(w: &World, conv: ConversationId, actor: &str, message_id: MessageId) {
    let cmd = C::MarkRead {
        actor: uid(actor),
        message: w.look(conv, actor, message_id).await,
        at: Utc::now(),
    };
    w.conv(conv, cmd).await.unwrap();
}

async fn hide(w: &World, conv: ConversationId, actor: &str, message_id: MessageId) {
    let cmd = U::DeleteForMe {
        actor: uid(actor),
        conversation_id: conv,
        message_ids: vec![message_id],
        visible_to_actor: true,
        at: Utc::now(),
    };
    w.user(&uid(actor), cmd).await.unwrap();
}

/// Appends `event` to `stream` as it is, past the domain's rules (events the commands never
/// produce, to see the projector hold its own ground).
async fn append_raw<E>(w: &World, stream: String, event: E)
where
    E: Serialize + PersonalData + EventType,
{
    let new = w
        .codec
        .encode(Uuid::now_v7(), event, Metadata::now(None))
        .await
        .unwrap();
    let out = w
        .store
        .append(&stream, ExpectedVersion::Any, vec![new])
        .await
        .unwrap();
    let mut last = w.last.lock().unwrap();
    *last = (*last).max(out.position);
}

/// Deleting for everyone takes an unread message out of the counts of those who had it (its
/// mention too), not out of anyone else's, never below what is there; the tombstone stays the
/// last message and in the message count.
async fn deleting_an_unread_message(w: World) {
    let g = group(&w, "alice", &["bob", "carol"], "Walkers").await;
    w.project().await;
    let m1 = send_mentioning(&w, g, "bob", "alice, walk at 9?", "alice").await;
    let m2 = w.send(g, "bob", "or at 10").await;
    assert_eq!(counts(&w, "alice", g).await, c(2, 1, Some("or at 10"), 2));
    assert_eq!(counts(&w, "carol", g).await, c(2, 0, Some("or at 10"), 2));
    assert_eq!(counts(&w, "bob", g).await, c(0, 0, Some("or at 10"), 2));

    delete(&w, g, "bob", m1).await;
    assert_eq!(counts(&w, "alice", g).await, c(1, 0, Some("or at 10"), 2));
    assert_eq!(counts(&w, "carol", g).await, c(1, 0, Some("or at 10"), 2));

    // Carol has read it: deleting it takes nothing from her (her count stays 0, not -1).
    mark_read(&w, g, "carol", m2).await;
    delete(&w, g, "bob", m2).await;
    let tomb = Some("This message was deleted");
    assert_eq!(counts(&w, "alice", g).await, c(0, 0, tomb, 2));
    assert_eq!(counts(&w, "carol", g).await, c(0, 0, tomb, 2));
    assert_eq!(total(&w, "alice").await, 0);
}

/// A read marker only moves forward: a `MessagesRead` behind the marker (the domain never emits
/// one, the log may still hold one) changes nothing, and what comes after the marker counts.
async fn a_read_marker_moving_back_is_ignored(w: World) {
    let g = group(&w, "alice", &["bob"], "Walkers").await;
    w.project().await;
    let m1 = w.send(g, "bob", "one").await;
    w.send(g, "bob", "two").await;
    let m3 = send_mentioning(&w, g, "bob", "three", "alice").await;
    assert_eq!(counts(&w, "alice", g).await, c(3, 1, Some("three"), 3));
    mark_read(&w, g, "alice", m3).await;
    assert_eq!(counts(&w, "alice", g).await, c(0, 0, Some("three"), 3));

    append_raw(
        &w,
        g.stream(),
        CE::MessagesRead {
            user_id: uid("alice"),
            up_to_seq: 2,
            message_id: m1,
            at: Utc::now(),
        },
    )
    .await;
    assert_eq!(counts(&w, "alice", g).await, c(0, 0, Some("three"), 3));
    w.send(g, "bob", "four").await;
    assert_eq!(counts(&w, "alice", g).await, c(1, 0, Some("four"), 4));
    // Reading part of the unread messages takes exactly those.
    let m5 = send_mentioning(&w, g, "bob", "five", "alice").await;
    w.send(g, "bob", "six").await;
    assert_eq!(counts(&w, "alice", g).await, c(3, 1, Some("six"), 6));
    mark_read(&w, g, "alice", m5).await;
    assert_eq!(counts(&w, "alice", g).await, c(1, 0, Some("six"), 6));
    // A marker ahead of the messages (versions 12 and 13 are still to come): they arrive read.
    append_raw(
        &w,
        g.stream(),
        CE::MessagesRead {
            user_id: uid("alice"),
            up_to_seq: 13,
            message_id: m5,
            at: Utc::now(),
        },
    )
    .await;
    assert_eq!(counts(&w, "alice", g).await, c(0, 0, Some("six"), 6));
    w.send(g, "bob", "seven").await;
    w.send(g, "bob", "eight").await;
    assert_eq!(counts(&w, "alice", g).await, c(0, 0, Some("eight"), 8));
    w.send(g, "bob", "nine").await;
    assert_eq!(counts(&w, "alice", g).await, c(1, 0, Some("nine"), 9));
}

/// Away from a conversation (left, or removed by an admin), a user is not counted what is said
/// meanwhile, then or after coming back; what was unread before they left still is; their last
/// message is the last one they could see.
async fn leaving_and_coming_back(w: World) {
    let g = group(&w, "alice", &["bob", "carol"], "Walkers").await;
    w.project().await;
    w.send(g, "bob", "before").await;
    assert_eq!(counts(&w, "carol", g).await, c(1, 0, Some("before"), 1));

    w.conv(
        g,
        C::Leave {
            actor: uid("carol"),
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    send_mentioning(&w, g, "bob", "while carol is away", "alice").await;
    assert_eq!(counts(&w, "carol", g).await, None, "not in her list");
    assert_eq!(
        total(&w, "carol").await,
        0,
        "a former conversation counts for nothing"
    );

    let add = |who: &str| C::AddParticipants {
        actor: uid("alice"),
        users: vec![uid(who)],
        at: Utc::now(),
    };
    w.conv(g, add("carol")).await.unwrap();
    assert_eq!(
        counts(&w, "carol", g).await,
        c(1, 0, Some("before"), 2),
        "back: only what she could see"
    );
    send_mentioning(&w, g, "bob", "welcome back", "carol").await;
    assert_eq!(
        counts(&w, "carol", g).await,
        c(2, 1, Some("welcome back"), 3)
    );
    assert_eq!(total(&w, "carol").await, 2);

    // Removed by an admin: the same.
    w.conv(
        g,
        C::RemoveParticipant {
            actor: uid("alice"),
            user: uid("carol"),
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.send(g, "bob", "carol is gone").await;
    w.conv(g, add("carol")).await.unwrap();
    assert_eq!(
        counts(&w, "carol", g).await,
        c(2, 1, Some("welcome back"), 4)
    );
}

/// Deleting for me takes the message out of my counts (and its mention), only mine, and out of
/// my list's last message, which goes back to the last one I can still see.
async fn hiding_a_message(w: World) {
    let g = group(&w, "alice", &["bob", "carol"], "Walkers").await;
    w.project().await;
    let m1 = w.send(g, "bob", "first").await;
    let m2 = send_mentioning(&w, g, "bob", "second, alice", "alice").await;
    hide(&w, g, "alice", m2).await;
    assert_eq!(counts(&w, "alice", g).await, c(1, 0, Some("first"), 2));
    assert_eq!(
        counts(&w, "carol", g).await,
        c(2, 0, Some("second, alice"), 2)
    );

    // Already read: hiding it changes no count.
    mark_read(&w, g, "carol", m2).await;
    hide(&w, g, "carol", m1).await;
    assert_eq!(
        counts(&w, "carol", g).await,
        c(0, 0, Some("second, alice"), 2)
    );
    hide(&w, g, "carol", m2).await;
    assert_eq!(
        counts(&w, "carol", g).await,
        c(0, 0, None, 2),
        "nothing left to show"
    );

    hide(&w, g, "alice", m1).await;
    assert_eq!(counts(&w, "alice", g).await, c(0, 0, None, 2));
    w.send(g, "bob", "third").await;
    assert_eq!(counts(&w, "alice", g).await, c(1, 0, Some("third"), 3));
}

/// A hide the log holds before the message itself (the commands never write one) keeps the
/// message out of that user's counts from the start.
async fn a_hide_before_its_message(w: World) {
    let g = group(&w, "alice", &["bob"], "Walkers").await;
    w.project().await;
    let early = MessageId::from_uuid(Uuid::now_v7());
    append_raw(
        &w,
        uid("alice").stream(),
        UE::MessagesHiddenForMe {
            conversation_id: g,
            message_ids: vec![early],
            at: Utc::now(),
        },
    )
    .await;
    // Applied before the message exists.
    w.project().await;
    w.send(g, "bob", "seen").await;
    w.conv(g, send(early, "bob", "hidden ahead")).await.unwrap();
    assert_eq!(counts(&w, "alice", g).await, c(1, 0, Some("seen"), 2));
}

/// System notices count for every participant (their sender is not one of them).
async fn system_messages_count(w: World) {
    let g = group(&w, "alice", &["bob"], "Walkers").await;
    w.project().await;
    w.conv(
        g,
        C::PostSystemMessage {
            message_id: MessageId::from_uuid(Uuid::now_v7()),
            actor: uid("pawpost-bookings"),
            body: pawpost_domain::values::MessageBody::parse("Booking confirmed").unwrap(),
            system_type: "booking.confirmed".into(),
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        counts(&w, "alice", g).await,
        c(1, 0, Some("Booking confirmed"), 1)
    );
    assert_eq!(
        counts(&w, "bob", g).await,
        c(1, 0, Some("Booking confirmed"), 1)
    );
}

/// The tables come out the same however the log is cut into batches: one event at a time, a
/// few, or all at once (a batch writes its new messages before its other events).
async fn the_same_counts_in_any_batches(w: World) {
    let g = group(&w, "alice", &["bob", "carol"], "Walkers").await;
    w.project().await;
    let m1 = send_mentioning(&w, g, "bob", "one", "carol").await;
    w.conv(
        g,
        C::Leave {
            actor: uid("carol"),
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    let m2 = send_mentioning(&w, g, "bob", "two", "alice").await;
    hide(&w, g, "alice", m1).await;
    w.conv(
        g,
        C::AddParticipants {
            actor: uid("alice"),
            users: vec![uid("carol")],
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    let m3 = w.send(g, "carol", "three").await;
    mark_read(&w, g, "alice", m2).await;
    delete(&w, g, "bob", m2).await;
    w.send(g, "bob", "four").await;
    hide(&w, g, "alice", m3).await;
    mark_read(&w, g, "bob", m3).await;
    w.project().await;
    // The SQLite search index of a rebuild waits for a batch that reaches the end of the log,
    // which batches of one never are: it is not what this test is about.
    let without_search = |mut d: common::Dump| {
        d.remove("rm_search");
        d.remove("rm_search_deferred");
        d
    };
    let built = without_search(w.dump().await);
    assert_eq!(counts(&w, "alice", g).await, c(1, 0, Some("four"), 4));
    // Carol: "one" (before she left, mentioning her) and "four"; not "two" (away), not her own.
    assert_eq!(counts(&w, "carol", g).await, c(2, 1, Some("four"), 4));
    assert_eq!(counts(&w, "bob", g).await, c(0, 0, Some("four"), 4));

    for size in [1, 2, 3, 5, 10_000] {
        let p = Projections::new(w.store.clone(), w.codec.clone())
            .unwrap()
            .with_catch_up_batch(size);
        for name in p.names() {
            p.reset(name).await.unwrap();
        }
        w.project_with(&p).await;
        let rebuilt = without_search(w.dump().await);
        assert_same(&built, &rebuilt, &format!("batches of {size}"));
    }
}

both!(
    deleting_an_unread_message,
    a_read_marker_moving_back_is_ignored,
    leaving_and_coming_back,
    hiding_a_message,
    a_hide_before_its_message,
    system_messages_count,
    the_same_counts_in_any_batches,
);
