//! A small world for read-model tests: a fresh store (SQLite or PostgreSQL), command handlers
//! and the projections over the same database.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use futures::future::BoxFuture;
use pawpost_codec::EventCodec;
use pawpost_commands::{CommandError, CommandHandler, CommandMeta, Outcome};
use pawpost_domain::values::{DisplayName, MessageBody, MessageKind};
use pawpost_domain::{
    ConversationCommand, ConversationId, ConversationState, MessageId, UserCommand, UserId,
    UserState,
};
use pawpost_projections::db::{DbError, Tx};
use pawpost_projections::{projectors, Projections};
use pawpost_store::{EventStore, KeyRing, MasterKey, Position, RecordedEvent};
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

    pub async fn postgres() -> World {
        Self::over(pawpost_store::testing::postgres().await, None)
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
        self.project_with(&self.projections).await;
    }

    /// Like [`World::project`], with other projections over this world's store (a restarted
    /// process, wrapped projectors).
    pub async fn project_with(&self, projections: &Projections) {
        let target = *self.last.lock().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        for name in projections.names() {
            loop {
                projections.catch_up(name, |_| {}).await.unwrap();
                if projections.checkpoint(name).await.unwrap() >= target {
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

    /// Every stored event up to the last append made here, in global order.
    pub async fn events(&self) -> Vec<RecordedEvent> {
        let target = *self.last.lock().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut out: Vec<RecordedEvent> = Vec::new();
        loop {
            let after = out.last().map_or(Position::START, |e| e.position);
            if after >= target {
                return out;
            }
            let page = self.store.read_all(after, 1000).await.unwrap();
            if page.is_empty() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the log never showed {target:?}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            out.extend(page);
        }
    }

    /// Every read-model table and the checkpoints (see [`dump`]).
    pub async fn dump(&self) -> Dump {
        self.q(|tx| Box::pin(dump(tx))).await
    }

    /// Empties every projector's tables and checkpoint, then rebuilds them from the log.
    pub async fn rebuild(&self) {
        for name in self.projections.names() {
            self.projections.reset(name).await.unwrap();
        }
        self.project().await;
    }

    /// Runs `f` in a transaction on the read models and commits.
    pub async fn q<T, F>(&self, f: F) -> T
    where
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, DbError>>,
    {
        let mut tx = self.projections.db().begin().await.unwrap();
        let value = f(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        value
    }

    /// Message `m` of `conv` looked up for `who`, current to the stream (from the log).
    pub async fn look(
        &self,
        conv: ConversationId,
        who: &str,
        m: MessageId,
    ) -> pawpost_domain::conversation::MessageLookup {
        self.conversations
            .look_up_in_log(&conv.stream(), m, &uid(who))
            .await
            .unwrap()
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

/// The rows of every read-model table, each rendered as text and sorted (so row order, and
/// SQLite's rowids, which a rebuild re-assigns, do not matter), plus each checkpoint's position.
pub type Dump = BTreeMap<String, Vec<String>>;

/// Reads a [`Dump`] inside a transaction.
pub async fn dump(tx: &mut Tx) -> Result<Dump, DbError> {
    let mut out = Dump::new();
    let tables = projectors::all()
        .iter()
        .flat_map(|p| p.tables().iter().copied())
        .collect::<Vec<_>>();
    let sqlite = tx.dialect() == pawpost_projections::db::Dialect::Sqlite;
    let queries = tables
        .iter()
        .map(|t| {
            let sql = match *t {
                // SQLite's FTS5 row holds the text only; its rowid is the message row's.
                "rm_search" if sqlite => "SELECT m.id, s.content FROM rm_search s
                     JOIN rm_messages m ON m.rowid = s.rowid"
                    .to_string(),
                _ => format!("SELECT * FROM {t}"),
            };
            (t.to_string(), sql)
        })
        .chain(std::iter::once((
            "worker_checkpoints".to_string(),
            "SELECT name, commit_pos, seq_pos FROM worker_checkpoints".to_string(),
        )))
        .chain(sqlite.then(|| {
            (
                "rm_search_deferred".to_string(),
                "SELECT 'deferred' FROM rm_search_deferred".to_string(),
            )
        }));
    for (name, sql) in queries {
        let mut rows: Vec<String> = tx
            .query(&sql, &[])
            .await?
            .iter()
            .map(|r| format!("{:?}", r.values()))
            .collect();
        rows.sort();
        out.insert(name, rows);
    }
    Ok(out)
}

/// Asserts two dumps are equal, printing only the rows that differ (table by table).
#[track_caller]
pub fn assert_same(left: &Dump, right: &Dump, what: &str) {
    let mut report = String::new();
    for table in left
        .keys()
        .chain(right.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (l, r) = (
            left.get(table).cloned().unwrap_or_default(),
            right.get(table).cloned().unwrap_or_default(),
        );
        if l == r {
            continue;
        }
        report.push_str(&format!("\n{table}:"));
        for row in l.iter().filter(|x| !r.contains(x)) {
            report.push_str(&format!("\n  only left:  {row}"));
        }
        for row in r.iter().filter(|x| !l.contains(x)) {
            report.push_str(&format!("\n  only right: {row}"));
        }
        if l.len() != r.len() {
            report.push_str(&format!(
                "\n  {} rows left, {} rows right",
                l.len(),
                r.len()
            ));
        }
    }
    assert!(report.is_empty(), "{what}: the read models differ:{report}");
}

/// Creates a group owned by `owner` with `members`.
pub async fn group(w: &World, owner: &str, members: &[&str], title: &str) -> ConversationId {
    let id = ConversationId::from_uuid(Uuid::now_v7());
    w.conv(
        id,
        ConversationCommand::CreateGroup {
            id,
            actor: uid(owner),
            title: pawpost_domain::values::ConversationTitle::parse(title).unwrap(),
            description: None,
            image_url: None,
            members: members.iter().map(|m| uid(m)).collect(),
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    id
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
                let w = $crate::common::World::postgres().await;
                super::$name(w).await;
            }
        )* }
    };
}
