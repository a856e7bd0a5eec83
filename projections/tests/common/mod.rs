//! A small world for read-model tests: a fresh store (SQLite or PostgreSQL), command handlers
//! and the projections over the same database.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use chrono::Utc;
use pawpost_codec::EventCodec;
use pawpost_commands::{CommandError, CommandHandler, CommandMeta, Outcome};
use pawpost_domain::values::{DisplayName, MessageBody, MessageKind};
use pawpost_domain::{
    ConversationCommand, ConversationId, ConversationState, MessageId, UserCommand, UserId,
    UserState,
};
use pawpost_projections::db::{DbError, Tx};
use pawpost_projections::Projections;
use pawpost_store::{EventStore, KeyRing, MasterKey, Position};
use uuid::Uuid;

pub struct World {
    pub store: Arc<dyn EventStore>,
    pub codec: EventCodec,
    pub conversations: CommandHandler<ConversationState>,
    pub users: CommandHandler<UserState>,
    pub projections: Arc<Projections>,
    /// The position of the last append made through this world.
    pub last: std::sync::Mutex<Position>,
    _dir: Option<tempfile::TempDir>,
}

impl World {
    pub async fn sqlite() -> World {
        let (dir, store) = pawpost_store::testing::sqlite().await;
        Self::over(store, Some(dir))
    }

    pub async fn postgres() -> Option<World> {
        let store = pawpost_store::testing::postgres().await?;
        Some(Self::over(store, None))
    }

    pub fn over(store: Arc<dyn EventStore>, dir: Option<tempfile::TempDir>) -> World {
        let codec = EventCodec::new(KeyRing::new(&MasterKey::generate(), store.clone()));
        World {
            conversations: CommandHandler::new(store.clone(), codec.clone()),
            users: CommandHandler::new(store.clone(), codec.clone()),
            projections: Arc::new(Projections::new(store.clone(), codec.clone()).unwrap()),
            store,
            codec,
            last: std::sync::Mutex::new(Position::START),
            _dir: dir,
        }
    }

    pub async fn conv(
        &self,
        id: ConversationId,
        cmd: ConversationCommand,
    ) -> Result<Outcome<ConversationState>, CommandError> {
        let out = self
            .conversations
            .execute(&id.stream(), Uuid::now_v7(), &cmd, &CommandMeta::default())
            .await?;
        self.saw(out.position);
        Ok(out)
    }

    fn saw(&self, p: Option<Position>) {
        if let Some(p) = p {
            let mut last = self.last.lock().unwrap();
            *last = (*last).max(p);
        }
    }

    pub async fn user(
        &self,
        id: &UserId,
        cmd: UserCommand,
    ) -> Result<Outcome<UserState>, CommandError> {
        let out = self
            .users
            .execute(&id.stream(), Uuid::now_v7(), &cmd, &CommandMeta::default())
            .await?;
        self.saw(out.position);
        Ok(out)
    }

    /// Brings every projector up to the last append made here. (PostgreSQL shows a commit to
    /// readers once older transactions of the cluster end, so catch up until it is reached.)
    pub async fn project(&self) {
        let target = *self.last.lock().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        for name in self.projections.names() {
            loop {
                self.projections.catch_up(name, |_| {}).await.unwrap();
                if self.projections.checkpoint(name).await.unwrap() >= target {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "projection {name} never reached {target:?}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    }

    pub async fn q<T, F>(&self, f: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, DbError> + Send + 'static,
    {
        self.projections.db().transaction(f).await.unwrap()
    }

    pub async fn send(&self, conv: ConversationId, from: &str, text: &str) -> MessageId {
        let id = MessageId::from_uuid(Uuid::now_v7());
        self.conv(conv, send(id, from, text)).await.unwrap();
        id
    }

    pub async fn profile(&self, user: &str, name: &str) {
        self.user(
            &uid(user),
            UserCommand::UpdateProfile {
                actor: uid(user),
                display_name: DisplayName::parse(name).unwrap(),
                avatar_url: None,
                role: None,
                locale: None,
                at: Utc::now(),
            },
        )
        .await
        .unwrap();
    }
}

pub fn uid(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

pub fn send(id: MessageId, from: &str, text: &str) -> ConversationCommand {
    ConversationCommand::SendMessage {
        message_id: id,
        actor: uid(from),
        kind: MessageKind::Text,
        body: Some(MessageBody::parse(text).unwrap()),
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

/// Runs a test body against SQLite and (when reachable) PostgreSQL.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::common::World::sqlite().await).await;
            }
        )* }
        mod postgres { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(w) = $crate::common::World::postgres().await else { return };
                super::$name(w).await;
            }
        )* }
    };
}
