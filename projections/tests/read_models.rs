//! Read models end to end on both backends: commands → log → projectors → queries.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::{group, uid, World};
use pawpost_domain::values::{MessageBody, NotificationLevel, Reaction};
use pawpost_domain::{ConversationCommand as C, ConversationId, MessageId, UserCommand as U};
use pawpost_projections::queries::conversations::{self, ListFilter};
use pawpost_projections::queries::messages::{self, MessageQuery};
use pawpost_projections::queries::search::{self, SearchQuery};
use pawpost_projections::queries::users;
use uuid::Uuid;

fn page() -> ListFilter {
    ListFilter {
        page: 1,
        page_size: 50,
        ..Default::default()
    }
}

async fn conversation_list_with_exact_unread_counts(w: World) {
    w.profile("alice", "Alice A.").await;
    w.profile("bob", "Bob B.").await;
    let g = group(&w, "alice", &["bob", "carol"], "Walkers").await;
    let direct = ConversationId::direct(&uid("alice"), &uid("bob"));
    w.conv(
        direct,
        C::CreateDirect {
            id: direct,
            actor: uid("alice"),
            other: uid("bob"),
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    let m1 = w.send(g, "bob", "first walk at 9?").await;
    let _m2 = w.send(g, "carol", "I can do 10").await;
    let m3 = w.send(g, "bob", "ok 10 then").await;
    let _own = w.send(g, "alice", "great").await;
    w.send(direct, "bob", "hi alice").await;
    w.project().await;

    let list = w
        .q(move |tx| Box::pin(async move { conversations::list(tx, "alice", &page()).await }))
        .await;
    assert_eq!(list.conversations.len(), 2);
    assert_eq!(list.unread_total, 4);
    let gs = list
        .conversations
        .iter()
        .find(|c| c.id == g.to_string())
        .unwrap();
    assert_eq!(gs.unread_count, 3, "others' messages; her own never count");
    assert_eq!(gs.message_count, 4);
    assert_eq!(gs.title.as_deref(), Some("Walkers"));
    assert_eq!(gs.last_message_preview.as_deref(), Some("great"));
    let ds = list
        .conversations
        .iter()
        .find(|c| c.id == direct.to_string())
        .unwrap();
    assert_eq!(
        ds.title.as_deref(),
        Some("Bob B."),
        "a direct conversation shows the other person"
    );
    let for_bob = w
        .q(move |tx| {
            Box::pin(async move { conversations::summary(tx, "bob", &direct.to_string()).await })
        })
        .await
        .unwrap();
    assert_eq!(for_bob.title.as_deref(), Some("Alice A."));

    // Reading up to m3 clears everything before it, for every device.
    w.conv(
        g,
        C::MarkRead {
            actor: uid("alice"),
            message: w.look(g, "alice", m3).await,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    // Deleting an unread message for everyone removes it from the count.
    w.send(g, "carol", "oops").await;
    let m5 = w.send(g, "carol", "wrong chat").await;
    w.conv(
        g,
        C::DeleteForEveryone {
            actor: uid("carol"),
            message: w.look(g, "carol", m5).await,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.project().await;
    let s = w
        .q(move |tx| {
            Box::pin(async move { conversations::summary(tx, "alice", &g.to_string()).await })
        })
        .await
        .unwrap();
    assert_eq!(s.unread_count, 1);
    assert_eq!(
        s.last_message_preview.as_deref(),
        Some("This message was deleted")
    );
    // Hidden for me: no longer counted, no longer listed for that user only.
    let oops = w
        .q(move |tx| {
            Box::pin(async move {
                messages::list(
                    tx,
                    "alice",
                    &g.to_string(),
                    &MessageQuery {
                        limit: 50,
                        ..Default::default()
                    },
                )
                .await
            })
        })
        .await
        .unwrap();
    let oops_id = oops
        .messages
        .iter()
        .find(|m| m.content.as_deref() == Some("oops"))
        .unwrap()
        .id
        .clone();
    w.user(
        &uid("alice"),
        U::DeleteForMe {
            actor: uid("alice"),
            conversation_id: g,
            message_ids: vec![MessageId::from_uuid(oops_id.parse().unwrap())],
            visible_to_actor: true,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    // Muted still counts, but is flagged; pinned sorts first.
    w.user(
        &uid("alice"),
        U::Mute {
            actor: uid("alice"),
            conversation_id: direct,
            until: None,
            level: NotificationLevel::None,
            is_participant: true,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.user(
        &uid("alice"),
        U::Pin {
            actor: uid("alice"),
            conversation_id: direct,
            is_participant: true,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.project().await;
    let list = w
        .q(move |tx| Box::pin(async move { conversations::list(tx, "alice", &page()).await }))
        .await;
    assert_eq!(list.conversations[0].id, direct.to_string());
    assert!(list.conversations[0].is_muted && list.conversations[0].is_pinned);
    assert_eq!(list.conversations[0].unread_count, 1);
    assert_eq!(list.conversations[1].unread_count, 0);
    assert_eq!(list.unread_total, 1);
    let others = w
        .q(move |tx| {
            Box::pin(async move {
                messages::list(
                    tx,
                    "bob",
                    &g.to_string(),
                    &MessageQuery {
                        limit: 50,
                        ..Default::default()
                    },
                )
                .await
            })
        })
        .await
        .unwrap();
    assert!(others
        .messages
        .iter()
        .any(|m| m.content.as_deref() == Some("oops")));
    // Filters and paging.
    let groups = w
        .q(move |tx| {
            Box::pin(async move {
                conversations::list(
                    tx,
                    "alice",
                    &ListFilter {
                        kind: Some("group".into()),
                        page: 1,
                        page_size: 1,
                        archived: None,
                    },
                )
                .await
            })
        })
        .await;
    assert_eq!(groups.conversations.len(), 1);
    assert!(!groups.has_more);
    let first = w
        .q(move |tx| {
            Box::pin(async move {
                conversations::list(
                    tx,
                    "alice",
                    &ListFilter {
                        page: 1,
                        page_size: 1,
                        ..Default::default()
                    },
                )
                .await
            })
        })
        .await;
    assert!(first.has_more);
    let _ = m1;
}

async fn messages_reactions_edits_receipts_and_tombstones(w: World) {
    let g = group(&w, "alice", &["bob", "carol"], "Sitters").await;
    let m1 = w.send(g, "bob", "Rex ate his dinner").await;
    let m2 = MessageId::from_uuid(Uuid::now_v7());
    w.conv(
        g,
        C::SendMessage {
            message_id: m2,
            actor: uid("carol"),
            kind: pawpost_domain::values::MessageKind::Text,
            body: Some(MessageBody::parse("great, thanks @bob").unwrap()),
            attachments: vec![],
            location: None,
            reply_to: Some(w.look(g, "carol", m1).await),
            forward: None,
            mentions: vec![uid("bob")],
            temp_id: None,
            blocked_by_other: false,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    for (who, r) in [("alice", "👍"), ("carol", "👍"), ("alice", "❤️")] {
        w.conv(
            g,
            C::AddReaction {
                actor: uid(who),
                message: w.look(g, who, m1).await,
                reaction: Reaction::parse(r).unwrap(),
                at: Utc::now(),
            },
        )
        .await
        .unwrap();
    }
    w.conv(
        g,
        C::EditMessage {
            actor: uid("bob"),
            message: w.look(g, "bob", m1).await,
            body: MessageBody::parse("Rex ate all of his dinner").unwrap(),
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.conv(
        g,
        C::MarkRead {
            actor: uid("alice"),
            message: w.look(g, "alice", m2).await,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.conv(
        g,
        C::MarkDelivered {
            actor: uid("carol"),
            message: w.look(g, "carol", m1).await,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.project().await;

    let page = w
        .q(move |tx| {
            Box::pin(async move {
                messages::list(
                    tx,
                    "alice",
                    &g.to_string(),
                    &MessageQuery {
                        limit: 10,
                        ..Default::default()
                    },
                )
                .await
            })
        })
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 2);
    let first = &page.messages[0];
    assert_eq!(first.content.as_deref(), Some("Rex ate all of his dinner"));
    assert!(first.is_edited);
    assert_eq!(first.reactions.len(), 2);
    let thumbs = first.reactions.iter().find(|r| r.reaction == "👍").unwrap();
    assert_eq!(thumbs.count, 2);
    let second = &page.messages[1];
    assert_eq!(second.reply_to.as_ref().unwrap().id, m1.to_string());
    assert_eq!(second.mentions, vec!["bob".to_string()]);
    assert_eq!(
        page.oldest_message_id.as_deref(),
        Some(m1.to_string().as_str())
    );
    // Paging by seq, both ways.
    let second_seq = second.seq;
    let older = w
        .q(move |tx| {
            Box::pin(async move {
                messages::list(
                    tx,
                    "alice",
                    &g.to_string(),
                    &MessageQuery {
                        before: Some(second_seq),
                        limit: 10,
                        ..Default::default()
                    },
                )
                .await
            })
        })
        .await
        .unwrap();
    assert_eq!(older.messages.len(), 1);
    assert_eq!(older.messages[0].id, m1.to_string());
    assert!(!older.has_more);
    let first_seq = first.seq;
    let newer = w
        .q(move |tx| {
            Box::pin(async move {
                messages::list(
                    tx,
                    "alice",
                    &g.to_string(),
                    &MessageQuery {
                        after: Some(first_seq),
                        limit: 10,
                        ..Default::default()
                    },
                )
                .await
            })
        })
        .await
        .unwrap();
    assert_eq!(newer.messages.len(), 1);
    assert_eq!(newer.messages[0].id, m2.to_string());
    let newest_one = w
        .q(move |tx| {
            Box::pin(async move {
                messages::list(
                    tx,
                    "alice",
                    &g.to_string(),
                    &MessageQuery {
                        limit: 1,
                        ..Default::default()
                    },
                )
                .await
            })
        })
        .await
        .unwrap();
    assert_eq!(newest_one.messages[0].id, m2.to_string());
    assert!(newest_one.has_more);
    let history = w
        .q(move |tx| {
            Box::pin(async move { messages::history(tx, "carol", &m1.to_string(), false).await })
        })
        .await
        .unwrap();
    assert_eq!(
        history
            .iter()
            .map(|v| v.content.clone().unwrap())
            .collect::<Vec<_>>(),
        vec!["Rex ate his dinner", "Rex ate all of his dinner"]
    );
    let receipts = w
        .q(move |tx| Box::pin(async move { messages::receipts(tx, "bob", &m1.to_string()).await }))
        .await
        .unwrap();
    assert_eq!(
        receipts
            .read_by
            .iter()
            .map(|r| r.user_id.as_str())
            .collect::<Vec<_>>(),
        vec!["alice"]
    );
    assert_eq!(
        receipts
            .delivered_to
            .iter()
            .map(|r| r.user_id.as_str())
            .collect::<Vec<_>>(),
        vec!["alice", "carol"]
    );
    // Delete for everyone: a tombstone, content hidden unless asked for by a moderator.
    w.conv(
        g,
        C::DeleteForEveryone {
            actor: uid("alice"),
            message: w.look(g, "alice", m1).await,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.project().await;
    let m = w
        .q(move |tx| {
            Box::pin(async move { messages::get(tx, "carol", &m1.to_string(), false).await })
        })
        .await
        .unwrap();
    assert!(m.is_deleted && m.content.is_none());
    let m = w
        .q(move |tx| {
            Box::pin(async move { messages::get(tx, "carol", &m1.to_string(), true).await })
        })
        .await
        .unwrap();
    assert_eq!(m.content.as_deref(), Some("Rex ate all of his dinner"));
    // A non-participant sees nothing.
    assert!(w
        .q(move |tx| Box::pin(
            async move { messages::get(tx, "mallory", &m2.to_string(), false).await }
        ))
        .await
        .is_none());
    assert!(w
        .q(move |tx| Box::pin(async move {
            messages::list(
                tx,
                "mallory",
                &g.to_string(),
                &MessageQuery {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
        }))
        .await
        .is_none());
}

async fn search_sees_only_what_the_user_can_see(w: World) {
    let g = group(&w, "alice", &["bob"], "Groomers").await;
    let other = group(&w, "carol", &["dave"], "Private").await;
    w.send(g, "bob", "The poodle grooming is booked").await;
    w.send(g, "bob", "トリミングの予約は明日です").await;
    w.send(other, "dave", "poodle secrets").await;
    let gone = w.send(g, "alice", "poodle to delete").await;
    w.conv(
        g,
        C::DeleteForEveryone {
            actor: uid("alice"),
            message: w.look(g, "alice", gone).await,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.project().await;
    let q = |text: &str| SearchQuery {
        text: text.into(),
        limit: 20,
        ..Default::default()
    };
    let hits = w
        .q({
            let q = q("oodl");
            move |tx| Box::pin(async move { search::search(tx, "alice", &q).await })
        })
        .await;
    assert_eq!(
        hits.total_count, 1,
        "partial word, other conversations and deleted messages excluded"
    );
    assert_eq!(
        hits.results[0].content.as_deref(),
        Some("The poodle grooming is booked")
    );
    let hits = w
        .q({
            let q = q("POODLE");
            move |tx| Box::pin(async move { search::search(tx, "alice", &q).await })
        })
        .await;
    assert_eq!(hits.total_count, 1, "case-insensitive");
    let hits = w
        .q({
            let q = q("予約は");
            move |tx| Box::pin(async move { search::search(tx, "bob", &q).await })
        })
        .await;
    assert_eq!(hits.total_count, 1, "CJK");
    let hits = w
        .q({
            let q = q("poodle");
            move |tx| Box::pin(async move { search::search(tx, "carol", &q).await })
        })
        .await;
    assert_eq!(hits.total_count, 1);
    assert_eq!(hits.results[0].content.as_deref(), Some("poodle secrets"));
    // After leaving, nothing.
    w.conv(
        other,
        C::Leave {
            actor: uid("dave"),
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.project().await;
    let hits = w
        .q({
            let q = q("poodle");
            move |tx| Box::pin(async move { search::search(tx, "dave", &q).await })
        })
        .await;
    assert_eq!(hits.total_count, 0);
    let _ = users::blocks;
}

async fn directory_blocks_drafts_attachments_and_erasure(w: World) {
    use pawpost_domain::values::{AttachmentKind, AttachmentRef, Location, MessageKind};
    use pawpost_domain::PersonalText;
    w.profile("alice", "Alice A.").await;
    let g = group(&w, "alice", &["bob"], "Vets").await;
    let photo = MessageId::from_uuid(Uuid::now_v7());
    w.conv(
        g,
        C::SendMessage {
            message_id: photo,
            actor: uid("bob"),
            kind: MessageKind::Image,
            body: None,
            attachments: vec![AttachmentRef::parse(
                "att-1",
                AttachmentKind::Image,
                "rex-xray.jpg",
                "https://files.example/att-1",
                2048,
                "image/jpeg",
            )
            .unwrap()],
            location: None,
            reply_to: None,
            forward: None,
            mentions: vec![],
            temp_id: None,
            blocked_by_other: false,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.project().await;
    let s = w
        .q(move |tx| {
            Box::pin(async move { conversations::summary(tx, "alice", &g.to_string()).await })
        })
        .await
        .unwrap();
    assert_eq!(s.last_message_preview.as_deref(), Some("📷 Photo"));
    let place = MessageId::from_uuid(Uuid::now_v7());
    w.conv(
        g,
        C::SendMessage {
            message_id: place,
            actor: uid("bob"),
            kind: MessageKind::Location,
            body: None,
            attachments: vec![],
            location: Some(Location::parse(48.85, 2.35, Some("Clinic entrance")).unwrap()),
            reply_to: None,
            forward: None,
            mentions: vec![],
            temp_id: None,
            blocked_by_other: false,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    let secret = w.send(g, "bob", "my home address is 12 Bark St").await;
    // Drafts, blocks, the directory.
    w.user(
        &uid("alice"),
        U::SaveDraft {
            actor: uid("alice"),
            conversation_id: g,
            content: MessageBody::parse("see you at").unwrap(),
            reply_to: Some(secret),
            is_participant: true,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.user(
        &uid("alice"),
        U::Block {
            actor: uid("alice"),
            user: uid("mallory"),
            reason: Some(PersonalText::clear("spam")),
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.project().await;
    let drafts = w
        .q(move |tx| Box::pin(async move { users::drafts(tx, "alice", None).await }))
        .await;
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].content.as_deref(), Some("see you at"));
    assert_eq!(drafts[0].reply_to_message_id, Some(secret.to_string()));
    let blocks = w
        .q(move |tx| Box::pin(async move { users::blocks(tx, "alice").await }))
        .await;
    assert_eq!(
        (blocks[0].user_id.as_str(), blocks[0].reason.as_deref()),
        ("mallory", Some("spam"))
    );
    assert!(
        w.q(move |tx| Box::pin(async move { users::is_blocked(tx, "alice", "mallory").await }))
            .await
    );
    assert_eq!(
        w.q(move |tx| Box::pin(async move { users::get(tx, "alice").await }))
            .await
            .unwrap()
            .display_name,
        "Alice A."
    );
    let parts = w
        .q(move |tx| {
            Box::pin(async move { conversations::participants(tx, "bob", &g.to_string()).await })
        })
        .await
        .unwrap();
    assert_eq!(
        parts
            .iter()
            .map(|p| (p.user_id.as_str(), p.role.as_str()))
            .collect::<Vec<_>>(),
        vec![("alice", "owner"), ("bob", "member")]
    );
    let loc = w
        .q(move |tx| {
            Box::pin(async move { messages::get(tx, "alice", &place.to_string(), false).await })
        })
        .await
        .unwrap();
    assert_eq!(
        loc.location.unwrap().label.as_deref(),
        Some("Clinic entrance")
    );
    let pic = w
        .q(move |tx| {
            Box::pin(async move { messages::get(tx, "alice", &photo.to_string(), false).await })
        })
        .await
        .unwrap();
    assert_eq!(pic.attachments[0].name.as_deref(), Some("rex-xray.jpg"));
    w.user(
        &uid("alice"),
        U::ClearDraft {
            actor: uid("alice"),
            conversation_id: g,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    // Erasure: destroy the message's data key and rebuild: the content reads as erased, the
    // message, its seq and the counts stay.
    assert!(w
        .codec
        .keys()
        .destroy(&format!("msg-{secret}"))
        .await
        .unwrap());
    for name in w.projections.names() {
        w.projections.reset(name).await.unwrap();
    }
    w.project().await;
    let m = w
        .q(move |tx| {
            Box::pin(async move { messages::get(tx, "alice", &secret.to_string(), false).await })
        })
        .await
        .unwrap();
    assert!(m.is_erased);
    assert_eq!(m.content, None);
    let s = w
        .q(move |tx| {
            Box::pin(async move { conversations::summary(tx, "alice", &g.to_string()).await })
        })
        .await
        .unwrap();
    assert_eq!(s.message_count, 3);
    assert_eq!(s.unread_count, 3);
    assert_eq!(
        s.last_message_preview.as_deref(),
        Some("This message was erased")
    );
    assert!(w
        .q(move |tx| Box::pin(async move { users::drafts(tx, "alice", None).await }))
        .await
        .is_empty());
    let hits = w
        .q(move |tx| {
            Box::pin(async move {
                search::search(
                    tx,
                    "alice",
                    &SearchQuery {
                        text: "Bark".into(),
                        limit: 10,
                        ..Default::default()
                    },
                )
                .await
            })
        })
        .await;
    assert_eq!(hits.total_count, 0, "erased content is not searchable");
}

both!(
    directory_blocks_drafts_attachments_and_erasure,
    conversation_list_with_exact_unread_counts,
    messages_reactions_edits_receipts_and_tombstones,
    search_sees_only_what_the_user_can_see,
);
