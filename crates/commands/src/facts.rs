//! Message facts folded from the log itself, for tools, examples and tests that run commands
//! without read models. O(the conversation's history): the server looks facts up in the
//! messages read model instead (`projections::queries::message_facts`).

use pawpost_codec::Reveal;
use pawpost_domain::conversation::{look_up_in, MessageLookup};
use pawpost_domain::{ConversationEvent, ConversationState, MessageId, UserId};

use super::handler::{CommandError, CommandHandler};

/// Events read per page.
const PAGE: usize = 1000;

impl CommandHandler<ConversationState> {
    /// Message `id` of `stream` as `actor` would have it looked up, current to the stream's
    /// last event, folded from the whole stream.
    pub async fn look_up_in_log(
        &self,
        stream: &str,
        id: MessageId,
        actor: &UserId,
    ) -> Result<MessageLookup, CommandError> {
        let mut events: Vec<ConversationEvent> = Vec::new();
        loop {
            let page = self
                .store
                .read_stream(stream, events.len() as u64, PAGE)
                .await?;
            for ev in &page {
                events.push(self.codec.decode(ev, Reveal::Content).await?);
            }
            if page.len() < PAGE {
                return Ok(look_up_in(&events, id, actor));
            }
        }
    }
}
