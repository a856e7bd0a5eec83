-- projector "messages": per conversation, the stream version of the last message event it
-- applied. A look-up of a message's facts for a command (edit, delete, react, read) reads it in
-- the same snapshot, so the aggregate can tell whether the facts are current
-- (domain/src/conversation/message.rs).
CREATE TABLE rm_message_streams (
    conversation_id TEXT   PRIMARY KEY,
    version         BIGINT NOT NULL
);
