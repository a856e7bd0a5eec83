#![allow(clippy::unwrap_used)]

use super::*;

#[tokio::test]
async fn serves_probes_on_port_zero_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("pawpost.db").display());
    let server = spawn(Settings::for_tests(dir.path(), database))
        .await
        .unwrap();
    assert_ne!(server.addr.port(), 0);
    let client = reqwest::Client::new();

    let health = client
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "status": "ok" }));

    let ready = client
        .get(format!("{}/readyz", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "status": "ready", "backend": "sqlite" })
    );

    let missing = client
        .get(format!("{}/nope", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let addr = server.addr;
    server.shutdown().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting"
    );
}

#[tokio::test]
async fn serve_returns_when_the_shutdown_future_completes() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("pawpost.db").display());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(serve(Settings::for_tests(dir.path(), database), async {
        let _ = rx.await;
    }));
    tx.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), serving)
        .await
        .expect("serve did not stop")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn unusable_database_url_is_an_error_naming_it_without_password() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::for_tests(dir.path(), "mysql://root:hunter2@localhost/db");
    let err = spawn(settings).await.unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains("mysql://root:***@localhost/db"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn unusable_master_key_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("pawpost.db").display());
    let mut settings = Settings::for_tests(dir.path(), database);
    settings.master_key = Some(secrecy::SecretString::from("short".to_owned()));
    assert!(spawn(settings).await.is_err());
}

/// On a fresh PostgreSQL database of its own.
#[tokio::test]
async fn readyz_names_postgres_when_serving_on_it() {
    let url = pawpost_store::testing::pg_database_url().await;
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(Settings::for_tests(dir.path(), url)).await.unwrap();
    let ready = reqwest::get(format!("{}/readyz", server.url()))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "status": "ready", "backend": "postgres" })
    );
    server.shutdown().await.unwrap();
}

mod projections {
    use std::time::Duration;

    use chrono::Utc;
    use pawpost_domain::values::{ConversationTitle, MessageBody, MessageKind};
    use pawpost_domain::{ConversationCommand, ConversationId, MessageId, UserId};
    use pawpost_projections::queries::conversations::{self, ListFilter};
    use pawpost_workers::lease;
    use uuid::Uuid;

    use super::*;
    use crate::commands::CommandMeta;

    const DEADLINE: Duration = Duration::from_secs(10);

    fn uid(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    /// Creates a group of alice and bob with one message from bob; returns the group and the
    /// position of the message.
    async fn group_with_a_message(state: &AppState) -> (ConversationId, pawpost_store::Position) {
        let id = ConversationId::from_uuid(Uuid::now_v7());
        let create = ConversationCommand::CreateGroup {
            id,
            actor: uid("alice"),
            title: ConversationTitle::parse("Walkers").unwrap(),
            description: None,
            image_url: None,
            members: vec![uid("bob")],
            at: Utc::now(),
        };
        let send = ConversationCommand::SendMessage {
            message_id: MessageId::from_uuid(Uuid::now_v7()),
            actor: uid("bob"),
            kind: MessageKind::Text,
            body: Some(MessageBody::parse("walk at nine?").unwrap()),
            attachments: vec![],
            location: None,
            reply_to: None,
            forward: None,
            mentions: vec![],
            temp_id: None,
            blocked_by_other: false,
            at: Utc::now(),
        };
        let meta = CommandMeta::default();
        let mut position = None;
        for cmd in [create, send] {
            let out = state
                .conversations
                .execute(&id.stream(), Uuid::now_v7(), &cmd, &meta)
                .await
                .unwrap();
            position = out.position;
        }
        (id, position.unwrap())
    }

    async fn alices_list(state: &AppState) -> conversations::ConversationPage {
        let filter = ListFilter {
            page: 1,
            page_size: 50,
            ..Default::default()
        };
        let mut tx = state.projections.db().read().await.unwrap();
        conversations::list(&mut tx, "alice", &filter)
            .await
            .unwrap()
    }

    async fn wait_until(mut running: tokio::sync::watch::Receiver<bool>, want: bool) -> bool {
        tokio::time::timeout(DEADLINE, running.wait_for(|r| *r == want))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    #[tokio::test]
    async fn appended_events_reach_the_read_models_and_shutdown_releases_the_leases() {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite:{}", dir.path().join("pawpost.db").display());
        let server = spawn(Settings::for_tests(dir.path(), database))
            .await
            .unwrap();
        assert!(*server.workers.running().borrow());
        let owner = server.workers.owner().to_owned();
        assert!(owner.starts_with("serve@"), "{owner}");
        let state = server.state.clone();
        let holders = lease::holders(state.projections.db()).await.unwrap();
        assert_eq!(holders.len(), state.projections.names().len());
        assert!(holders.iter().all(|h| h.owner == owner && h.is_live()));

        let (id, position) = group_with_a_message(&state).await;
        assert!(state.projections.wait_for(position, DEADLINE).await);
        let list = alices_list(&state).await;
        assert_eq!(list.conversations.len(), 1);
        let group = &list.conversations[0];
        assert_eq!(group.id, id.to_string());
        assert_eq!(group.title.as_deref(), Some("Walkers"));
        assert_eq!(group.last_message_preview.as_deref(), Some("walk at nine?"));
        assert_eq!(group.unread_count, 1);

        server.shutdown().await.unwrap();
        assert!(lease::holders(state.projections.db())
            .await
            .unwrap()
            .is_empty());
        for name in state.projections.names() {
            assert!(state.projections.checkpoint(name).await.unwrap() >= position);
        }
    }

    #[tokio::test]
    async fn a_second_server_stands_by_until_the_first_releases_the_leases() {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite:{}", dir.path().join("pawpost.db").display());
        let settings = Settings::for_tests(dir.path(), database);
        let first = spawn(settings.clone()).await.unwrap();
        let second = spawn(settings).await.unwrap();
        assert!(*first.workers.running().borrow());
        assert!(
            !*second.workers.running().borrow(),
            "two projecting servers"
        );
        let holders = lease::holders(second.state.projections.db()).await.unwrap();
        assert!(holders.iter().all(|h| h.owner == first.workers.owner()));

        first.shutdown().await.unwrap();
        assert!(
            wait_until(second.workers.running(), true).await,
            "the second server never took over"
        );
        let (_, position) = group_with_a_message(&second.state).await;
        assert!(second.state.projections.wait_for(position, DEADLINE).await);
        assert_eq!(alices_list(&second.state).await.conversations.len(), 1);
        second.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn a_server_that_loses_its_leases_pauses_its_projectors_until_they_are_free() {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite:{}", dir.path().join("pawpost.db").display());
        let server = spawn(Settings::for_tests(dir.path(), database))
            .await
            .unwrap();
        let db = server.state.projections.db().clone();
        let names = server.state.projections.names();
        // A forced replay elsewhere takes the leases over.
        let replay = lease::Owner::new("replay");
        lease::take_over(&db, &names, &replay).await.unwrap();
        assert!(
            wait_until(server.workers.running(), false).await,
            "kept projecting without the leases"
        );
        lease::release(&db, &names, &replay).await.unwrap();
        assert!(
            wait_until(server.workers.running(), true).await,
            "never resumed"
        );
        server.shutdown().await.unwrap();
    }
}
