//! Test doubles shared by the command tests.
#![allow(dead_code, unused_macros, clippy::unwrap_used)]

/// Runs each named test function on SQLite and on PostgreSQL.
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

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::Utc;
use pawpost_domain::values::{MessageBody, MessageKind};
use pawpost_domain::{ConversationCommand, MessageId, UserId};
use pawpost_store::EventStore;
use uuid::Uuid;

/// A user id from a literal.
pub fn user(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

/// A fresh text message from `actor`.
pub fn send(actor: &str, text: &str) -> ConversationCommand {
    ConversationCommand::SendMessage {
        message_id: MessageId::from_uuid(Uuid::now_v7()),
        actor: user(actor),
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

/// A store that lets another writer append just before the next append of the code under test:
/// the deterministic version of "another node got there first".
pub struct Interleaved {
    inner: Arc<dyn EventStore>,
    /// Appends made through it.
    pub appends: AtomicUsize,
    pub hook: tokio::sync::Mutex<Option<futures::future::BoxFuture<'static, ()>>>,
}

#[async_trait::async_trait]
impl EventStore for Interleaved {
    fn backend(&self) -> pawpost_store::Backend {
        self.inner.backend()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    async fn migrate(&self) -> Result<(), pawpost_store::StoreError> {
        self.inner.migrate().await
    }
    async fn append(
        &self,
        stream: &str,
        expected: pawpost_store::ExpectedVersion,
        events: Vec<pawpost_store::NewEvent>,
    ) -> Result<pawpost_store::AppendResult, pawpost_store::StoreError> {
        self.appends.fetch_add(1, Ordering::SeqCst);
        let hook = self.hook.lock().await.take();
        if let Some(hook) = hook {
            hook.await;
        }
        self.inner.append(stream, expected, events).await
    }
    async fn read_stream(
        &self,
        stream: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<pawpost_store::RecordedEvent>, pawpost_store::StoreError> {
        self.inner.read_stream(stream, after, limit).await
    }
    async fn stream_version(&self, stream: &str) -> Result<u64, pawpost_store::StoreError> {
        self.inner.stream_version(stream).await
    }
    async fn read_all(
        &self,
        after: pawpost_store::Position,
        limit: usize,
    ) -> Result<Vec<pawpost_store::RecordedEvent>, pawpost_store::StoreError> {
        self.inner.read_all(after, limit).await
    }
    async fn find_event(
        &self,
        id: Uuid,
    ) -> Result<Option<pawpost_store::RecordedEvent>, pawpost_store::StoreError> {
        self.inner.find_event(id).await
    }
    fn appended(&self) -> tokio::sync::watch::Receiver<pawpost_store::Position> {
        self.inner.appended()
    }
    async fn put_key_if_absent(
        &self,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<Vec<u8>, pawpost_store::StoreError> {
        self.inner.put_key_if_absent(key_id, wrapped).await
    }
    async fn get_key(&self, key_id: &str) -> Result<Option<Vec<u8>>, pawpost_store::StoreError> {
        self.inner.get_key(key_id).await
    }
    async fn get_keys(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, Vec<u8>)>, pawpost_store::StoreError> {
        self.inner.get_keys(ids).await
    }
    async fn destroy_key(&self, key_id: &str) -> Result<bool, pawpost_store::StoreError> {
        self.inner.destroy_key(key_id).await
    }
    fn db(&self) -> pawpost_store::db::Db {
        self.inner.db()
    }
    async fn ping(&self) -> Result<(), pawpost_store::StoreError> {
        self.inner.ping().await
    }
    async fn close(&self) {
        self.inner.close().await
    }
}

impl Interleaved {
    /// A store over `inner` with no hook yet.
    pub fn new(inner: Arc<dyn EventStore>) -> Self {
        Interleaved {
            inner,
            appends: AtomicUsize::new(0),
            hook: tokio::sync::Mutex::new(None),
        }
    }
}
