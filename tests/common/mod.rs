//! The API test harness: a real server (port 0, fresh database: SQLite in a temporary
//! directory, or a fresh PostgreSQL database) and a reqwest client speaking to it as a given
//! user. `both!` runs a test on both backends.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use pawpost_server::auth::Role;
use pawpost_server::{RunningServer, Settings};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

/// A server under test.
pub struct Api {
    pub server: RunningServer,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Api {
    /// A server on a fresh SQLite database.
    pub async fn sqlite() -> Api {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("pawpost.db").display());
        Self::start(dir, url, |_| {}).await
    }

    /// A server on a fresh PostgreSQL database (the test fails if PostgreSQL is not running).
    pub async fn postgres() -> Api {
        let url = pawpost_store::testing::pg_database_url().await;
        Self::start(tempfile::tempdir().unwrap(), url, |_| {}).await
    }

    /// A server on `url` with settings adjusted by `adjust`.
    pub async fn start(
        dir: tempfile::TempDir,
        url: String,
        adjust: impl FnOnce(&mut Settings),
    ) -> Api {
        let mut settings = Settings::for_tests(dir.path(), url);
        adjust(&mut settings);
        let server = pawpost_server::spawn(settings).await.unwrap();
        Api {
            server,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    /// A token for `user` with `role`, signed with the server's secret; the display name is the
    /// user id capitalised (`alice` → `Alice`).
    pub fn token(&self, user: &str, role: Role) -> String {
        self.server
            .state
            .jwt
            .issue(user, &display_name(user), role, Duration::from_secs(3600))
            .unwrap()
    }

    /// A client acting as `user`, a pet owner.
    pub fn user(&self, user: &str) -> Client {
        self.with_role(user, Role::Owner)
    }

    /// A client acting as `user` with `role`.
    pub fn with_role(&self, user: &str, role: Role) -> Client {
        self.with_token(Some(self.token(user, role)))
    }

    /// A client sending `token` (or none).
    pub fn with_token(&self, token: Option<String>) -> Client {
        Client {
            base: self.server.url(),
            http: self.http.clone(),
            token,
        }
    }

    /// A client without a token.
    pub fn anonymous(&self) -> Client {
        self.with_token(None)
    }
}

/// `alice` → `Alice`.
pub fn display_name(user: &str) -> String {
    let mut c = user.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Requests as one user.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    http: reqwest::Client,
    pub token: Option<String>,
}

impl Client {
    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    pub async fn delete_with(&self, path: &str, body: Value) -> Resp {
        self.send(Method::DELETE, path, Some(body)).await
    }

    /// `method path` with an optional JSON body.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
        self.raw(method, path, bytes, Some("application/json"))
            .await
    }

    /// `method path` with raw body bytes and content type (malformed input tests).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            req = req.body(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }
}

/// An answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// Asserts the status; returns the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "expected {status}, got {}: {}",
            self.status, self.text
        );
        self.body
    }

    /// Asserts a problem+json answer with `status` and `code`; returns the problem.
    #[track_caller]
    pub fn problem(self, status: u16, code: &str) -> Value {
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert_eq!(
            ct, "application/problem+json",
            "problem content type ({}): {}",
            self.status, self.text
        );
        let body = self.expect(status);
        assert_eq!(body["code"], code, "problem code: {body}");
        assert_eq!(body["status"], status, "problem status: {body}");
        for member in ["type", "title", "detail"] {
            assert!(body[member].is_string(), "problem has {member}: {body}");
        }
        body
    }
}

/// Runs each `async fn name(api: Api)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::common::Api::sqlite().await).await;
            }
        )* }
        mod postgres { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::common::Api::postgres().await).await;
            }
        )* }
    };
}

// Set-up through the server's own command handlers (for tests of one resource that need
// conversations or messages made by another): each waits until the read models show it.

use chrono::Utc;
use pawpost_commands::CommandMeta;
use pawpost_domain::values::{ConversationTitle, MessageBody, MessageKind};
use pawpost_domain::{ConversationCommand, ConversationId, MessageId, UserCommand, UserId};
use uuid::Uuid;

/// A user id.
pub fn uid(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

/// Makes users known (one request each), as their first request in the app would.
pub async fn register(api: &Api, users: &[&str]) {
    for u in users {
        api.user(u)
            .get("/api/v1/messaging/conversations")
            .await
            .expect(200);
    }
}

/// `a` and `b` registered, and a direct conversation `a` opened with `b` over REST: its id.
pub async fn direct_between(api: &Api, a: &str, b: &str) -> String {
    register(api, &[a, b]).await;
    let created = api
        .user(a)
        .post(
            "/api/v1/messaging/conversations",
            serde_json::json!({"type": "direct", "participants": [b]}),
        )
        .await
        .expect(201);
    created["conversationId"].as_str().unwrap().to_string()
}

/// Waits until the read models include `position`.
pub async fn settle(api: &Api, position: Option<pawpost_store::Position>) {
    if let Some(p) = position {
        assert!(
            api.server
                .state
                .projections
                .wait_for(p, Duration::from_secs(10))
                .await,
            "the read models reach {p:?}"
        );
    }
}

/// Runs a conversation command directly and waits for the projections.
pub async fn conversation_command(api: &Api, conv: ConversationId, cmd: ConversationCommand) {
    let outcome = api
        .server
        .state
        .conversations
        .execute(
            &conv.stream(),
            Uuid::now_v7(),
            &cmd,
            &CommandMeta::default(),
        )
        .await
        .unwrap();
    settle(api, outcome.position).await;
}

/// Runs a user command directly on `user`'s stream and waits for the projections.
pub async fn user_command(api: &Api, user: &str, cmd: UserCommand) {
    let outcome = api
        .server
        .state
        .users
        .execute(
            &uid(user).stream(),
            Uuid::now_v7(),
            &cmd,
            &CommandMeta::default(),
        )
        .await
        .unwrap();
    settle(api, outcome.position).await;
}

/// A group titled `title`, owned by `owner`, with `members`; everyone registered first.
pub async fn group_titled(api: &Api, title: &str, owner: &str, members: &[&str]) -> ConversationId {
    register(api, &[owner]).await;
    register(api, members).await;
    let id = ConversationId::from_uuid(Uuid::now_v7());
    let cmd = ConversationCommand::CreateGroup {
        id,
        actor: uid(owner),
        title: ConversationTitle::parse(title).unwrap(),
        description: None,
        image_url: None,
        members: members.iter().map(|m| uid(m)).collect(),
        at: Utc::now(),
    };
    conversation_command(api, id, cmd).await;
    id
}

/// `who` sends `text` in `conv` (through the command handler); returns the message id.
pub async fn send_text(api: &Api, conv: ConversationId, who: &str, text: &str) -> MessageId {
    let message_id = MessageId::from_uuid(Uuid::now_v7());
    let cmd = ConversationCommand::SendMessage {
        message_id,
        actor: uid(who),
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
    };
    conversation_command(api, conv, cmd).await;
    message_id
}
