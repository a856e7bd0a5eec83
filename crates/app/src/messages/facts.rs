//! Commands about one message decide on its facts, looked up in the messages read model
//! (DESIGN.md §3: the conversation aggregate keeps nothing per message). A look-up older than
//! the conversation's last message change is refused as stale by the domain; then the use case
//! waits (bounded) for the messages projection to reach the log's head and looks again.

use pawpost_commands::{CommandError, Outcome};
use pawpost_domain::conversation::MessageLookup;
use pawpost_domain::{
    ConversationCommand, ConversationId, ConversationState, DomainError, MessageId,
};
use pawpost_projections::queries;

use crate::{Actor, App, AppResult};

/// Times a command looks its message up again after the facts were stale.
pub(crate) const FACT_ATTEMPTS: usize = 4;

impl App {
    /// The facts of `message` in `conversation` for a command of `actor`.
    pub async fn look_up(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        message: MessageId,
    ) -> AppResult<MessageLookup> {
        let (conv, user) = (conversation.to_string(), actor.id.clone());
        self.query(move |tx| {
            Box::pin(async move { queries::message_facts::lookup(tx, &conv, message, &user).await })
        })
        .await
    }

    /// Waits (bounded) for the messages projection to reach the log's head: after a decision
    /// refused stale facts.
    pub(crate) async fn wait_for_facts(&self) {
        let head = *self.store.appended().borrow();
        self.projections
            .wait_for_one("messages", head, self.read_your_writes)
            .await;
    }

    /// Runs a command about one message (`build` makes it from the message's facts) on the
    /// conversation's stream as `actor`, under a fresh command id; looks the facts up again
    /// when they were stale, a bounded number of times.
    pub async fn message_command(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        message: MessageId,
        build: impl Fn(MessageLookup) -> ConversationCommand,
    ) -> AppResult<Outcome<ConversationState>> {
        let stream = conversation.stream();
        for _ in 0..FACT_ATTEMPTS {
            let lookup = self.look_up(actor, conversation, message).await?;
            let command = build(lookup);
            match self
                .conversations
                .execute_new(&stream, &command, &actor.meta())
                .await
            {
                Err(CommandError::Domain(DomainError::StaleFacts)) => self.wait_for_facts().await,
                other => return Ok(other?),
            }
        }
        Err(DomainError::StaleFacts.into())
    }
}
