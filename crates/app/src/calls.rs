//! Calls leave a trace in the conversation only when missed: a system message.

use chrono::Utc;
use pawpost_domain::values::MessageBody;
use pawpost_domain::{ConversationCommand, ConversationId, MessageId};

use crate::{command_id, Actor, App, AppError, AppResult};

impl App {
    /// Posts "Missed {call_type} call" as a system message under the caller's name; its command
    /// id derives from the call, so it is posted once even if this runs twice.
    pub async fn record_missed_call(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        call_id: &str,
        call_type: &str,
    ) -> AppResult<()> {
        let body = MessageBody::parse(&format!("Missed {call_type} call"))
            .map_err(|e| AppError::invalid("callType", e.to_string()))?;
        let command = ConversationCommand::PostSystemMessage {
            message_id: MessageId::from_uuid(uuid::Uuid::now_v7()),
            actor: actor.id.clone(),
            body,
            system_type: "call.missed".into(),
            at: Utc::now(),
        };
        let id = command_id::derived(&["call.missed", call_id]);
        self.conversations
            .execute(&conversation.stream(), id, &command, &actor.meta())
            .await?;
        Ok(())
    }
}
