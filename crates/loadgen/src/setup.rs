//! The run's users (tokens signed with the server's secret) and conversations (created over
//! the REST API by their first member).

use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use secrecy::SecretString;
use serde_json::{json, Value};

/// A user of the run.
pub struct User {
    pub id: String,
    pub token: String,
}

/// A conversation of the run.
pub struct Conversation {
    pub id: String,
    /// Its participants (indices into the users), the creator first.
    pub members: Vec<usize>,
}

/// `count` users `lg-<run>-<i>`, half pet owners, half providers.
pub fn users(secret: &SecretString, run: &str, count: usize) -> anyhow::Result<Vec<User>> {
    (0..count)
        .map(|i| {
            let id = format!("lg-{run}-{i}");
            let role = if i % 2 == 0 { "owner" } else { "provider" };
            let token = pawpost_loadgen::token::sign(
                secret,
                &id,
                &format!("Load user {i}"),
                role,
                Duration::from_secs(24 * 3600),
            )
            .context("signing a token")?;
            Ok(User { id, token })
        })
        .collect()
}

/// Creates conversations of `members` participants over `connected` users (indices, in
/// order; a remainder too small for a conversation takes part in none); direct ones when
/// `direct`.
pub async fn conversations(
    http: &reqwest::Client,
    base: &str,
    users: &[User],
    connected: &[usize],
    members: usize,
    direct: bool,
    concurrency: usize,
) -> anyhow::Result<Vec<Conversation>> {
    let groups: Vec<Vec<usize>> = connected
        .chunks_exact(members)
        .map(<[usize]>::to_vec)
        .collect();
    anyhow::ensure!(
        !groups.is_empty(),
        "too few connections for one conversation"
    );
    let created: Vec<anyhow::Result<Conversation>> = futures::stream::iter(groups)
        .enumerate()
        .map(|(k, group)| async move {
            let creator = &users[group[0]];
            let others: Vec<&str> = group[1..].iter().map(|&i| users[i].id.as_str()).collect();
            let body = if direct {
                json!({"type": "direct", "participants": others})
            } else {
                json!({"type": "group", "title": format!("Load group {k}"), "participants": others})
            };
            let id = create(http, base, &creator.token, &body).await?;
            Ok(Conversation { id, members: group })
        })
        .buffered(concurrency)
        .collect()
        .await;
    created.into_iter().collect()
}

/// POSTs one conversation; its id. Retries a few times on server errors.
async fn create(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    body: &Value,
) -> anyhow::Result<String> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let answer = http
            .post(format!("{base}/api/v1/messaging/conversations"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .context("creating a conversation")?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        if status.is_success() {
            let value: Value = serde_json::from_str(&text).context("reading the answer")?;
            if let Some(id) = value["conversationId"].as_str() {
                return Ok(id.to_string());
            }
            anyhow::bail!("creating a conversation answered {status} without an id: {text}");
        }
        // A user registered by their first connection may not be visible yet (the server
        // answers before its users' read model shows them under load): try again.
        let unknown_user = status.as_u16() == 422 && text.contains("unknown user");
        if (status.is_server_error() || unknown_user) && attempt < 10 {
            tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            continue;
        }
        anyhow::bail!("creating a conversation answered {status}: {text}");
    }
}
