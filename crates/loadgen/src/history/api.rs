//! The REST calls the history benchmark makes, as a client: register a user, open a direct
//! conversation, send a message, list conversations. Each answers with its own latency.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};

/// Attempts per send: a transport error or a 5xx is retried with the same `tempId` (the server
/// answers a retry with the original message, so the conversation never gets it twice).
const SEND_ATTEMPTS: u32 = 5;

/// A pawpost server's REST API.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

/// How one send ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// 201: stored, and the read models show it.
    Created,
    /// 200: a retry of a stored send (same `tempId`).
    Retried,
    /// 202: stored, but the read models had not caught up within the server's bound.
    Lagging,
}

/// A send's outcome: how it ended, after how long (the last attempt), and how many attempts
/// failed before it.
pub struct SendOutcome {
    pub sent: Sent,
    pub latency: Duration,
    pub failed_attempts: u32,
    /// The first failed attempt's status or error, if any.
    pub failure: Option<String>,
}

impl Api {
    pub fn new(base: &str, pool: usize) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(pool)
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/messaging{path}", self.base)
    }

    /// Makes a user known to the server (their first request does, as in the app).
    pub async fn register(&self, token: &str) -> anyhow::Result<()> {
        self.list(token, None).await.map(|_| ())
    }

    /// Opens (or finds) the direct conversation between the token's user and `other`; its id.
    pub async fn direct(&self, token: &str, other: &str) -> anyhow::Result<String> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.direct_once(token, other).await {
                // The other user's registration may not be visible yet: try again.
                Err(e) if attempt < 10 && e.to_string().contains("unknown user") => {
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    async fn direct_once(&self, token: &str, other: &str) -> anyhow::Result<String> {
        let answer = self
            .http
            .post(self.url("/conversations"))
            .bearer_auth(token)
            .json(&json!({"type": "direct", "participants": [other]}))
            .send()
            .await
            .context("creating the conversation")?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        anyhow::ensure!(
            status.is_success(),
            "creating the conversation answered {status}: {text}"
        );
        let value: Value = serde_json::from_str(&text).context("reading the new conversation")?;
        value["conversationId"]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("the new conversation has no id: {text}"))
    }

    /// Sends a text message with `temp_id`, retrying transport errors and 5xx; an error when
    /// the server refuses it (4xx) or every attempt failed.
    pub async fn send(
        &self,
        token: &str,
        conversation: &str,
        content: &str,
        temp_id: &str,
    ) -> anyhow::Result<SendOutcome> {
        let url = self.url(&format!("/conversations/{conversation}/messages"));
        let body = json!({"content": content, "tempId": temp_id});
        let mut failure = None;
        for attempt in 0..SEND_ATTEMPTS {
            let started = Instant::now();
            let answer = self
                .http
                .post(&url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await;
            let error = match answer {
                Ok(a) => {
                    let status = a.status().as_u16();
                    // The body is part of the answer the client waits for.
                    let text = a.text().await.unwrap_or_default();
                    let latency = started.elapsed();
                    let sent = match status {
                        201 => Some(Sent::Created),
                        200 => Some(Sent::Retried),
                        202 => Some(Sent::Lagging),
                        _ => None,
                    };
                    if let Some(sent) = sent {
                        return Ok(SendOutcome {
                            sent,
                            latency,
                            failed_attempts: attempt,
                            failure,
                        });
                    }
                    if status < 500 {
                        anyhow::bail!("a send answered {status}: {text}");
                    }
                    format!("{status}: {}", text.chars().take(200).collect::<String>())
                }
                Err(e) => e.to_string(),
            };
            failure.get_or_insert(error);
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        anyhow::bail!(
            "a send failed {SEND_ATTEMPTS} times; first: {}",
            failure.unwrap_or_default()
        )
    }

    /// `GET /conversations` (first page) as the token's user: the latency, and the unread
    /// count of `conversation` in it (when given and listed).
    pub async fn list(
        &self,
        token: &str,
        conversation: Option<&str>,
    ) -> anyhow::Result<(Duration, Option<u64>)> {
        let started = Instant::now();
        let answer = self
            .http
            .get(self.url("/conversations"))
            .bearer_auth(token)
            .send()
            .await
            .context("listing conversations")?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        let latency = started.elapsed();
        anyhow::ensure!(
            status.is_success(),
            "listing conversations answered {status}: {text}"
        );
        let unread = match conversation {
            Some(id) => {
                let page: Value = serde_json::from_str(&text).context("reading the list")?;
                page["conversations"].as_array().and_then(|rows| {
                    rows.iter()
                        .find(|row| row["id"].as_str() == Some(id))
                        .and_then(|row| row["unreadCount"].as_u64())
                })
            }
            None => None,
        };
        Ok((latency, unread))
    }

    /// The server's resident memory from `GET /stats` (bytes), when it says.
    pub async fn stats_rss(&self) -> Option<u64> {
        let answer = self
            .http
            .get(format!("{}/stats", self.base))
            .send()
            .await
            .ok()?;
        let stats: Value = answer.json().await.ok()?;
        stats["rssBytes"].as_u64()
    }
}
