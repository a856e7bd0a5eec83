//! The invocation runner of one connection (its own task): takes the invocations the reader
//! queued and carries them out **one at a time, in arrival order** (as .NET's default of one
//! parallel invocation per client), with or without an invocation id, and hands each
//! completion to the writer. So a client's `SendMessage` A then B are carried out in that
//! order, and one connection's completions come back in the order of its invocations; pushes
//! and pings interleave freely with them.
//!
//! It ends when the reader is gone and the queue is drained: what the client sent before it
//! left is still carried out, and completions with no writer to take them are dropped.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::hub::{Connection, Hub};
use crate::protocol::{HubMessage, Outcome};

/// One unit of work for the runner, in the order the client sent it.
pub(super) enum Job {
    /// A hub method to call; `invocation_id: None` wants no answer.
    Invoke {
        invocation_id: Option<String>,
        target: String,
        arguments: Vec<Value>,
    },
    /// A request answered with an error without calling the hub (streams, which this server
    /// does not serve); queued like the rest so its completion keeps its place in the order.
    Refuse {
        invocation_id: String,
        error: String,
    },
}

/// Runs `connection`'s jobs until the queue closes and is empty.
pub(super) async fn run<H: Hub>(
    hub: Arc<H>,
    connection: Connection<H::User>,
    mut jobs: mpsc::Receiver<Job>,
    completions: mpsc::Sender<HubMessage>,
) {
    while let Some(job) = jobs.recv().await {
        let (invocation_id, outcome) = match job {
            Job::Invoke {
                invocation_id,
                target,
                arguments,
            } => {
                let result = hub.invoke(&connection, &target, arguments).await;
                let Some(id) = invocation_id else {
                    continue;
                };
                let outcome = match result {
                    Ok(None) => Outcome::Void,
                    Ok(Some(v)) => Outcome::Result(v),
                    Err(e) => Outcome::Error(e.0),
                };
                (id, outcome)
            }
            Job::Refuse {
                invocation_id,
                error,
            } => (invocation_id, Outcome::Error(error)),
        };
        // Waits while the writer is behind (bounded); an error means the connection ended,
        // and the answer has no one to go to.
        let _ = completions
            .send(HubMessage::Completion {
                invocation_id,
                outcome,
            })
            .await;
    }
}
