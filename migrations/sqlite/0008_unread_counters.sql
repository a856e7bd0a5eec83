-- Maintained unread counters (issue 13): the conversation list reads counts kept up to date as
-- events are applied instead of counting messages at query time.
-- * `rm_unread`, per (conversation, user): unread and mention counts, the read marker they
--   count from, and the seq of the last message the user can see (the list joins it).
-- * `rm_message_counts`, per conversation: how many messages it holds.
-- * The membership ranges and the messages hidden for a user (delete for me) decide what counts,
--   so they become the `messages` projector's, written in the transactions that keep the
--   counters (an index on the hidden message lets a new message find hides made before it).
--   The `conversations` projector guards its participant rows with `membership_version`
--   instead (the version of the last join or departure it applied), filled here from the
--   ranges it wrote; the `users` projector no longer writes hidden messages.
-- The counters start as the list counted them until now, from the tables as they stand: no
-- rebuild, no window in which lists show nothing. The `messages` projector then resumes from
-- the earliest checkpoint of the three projectors (from the start if one never ran): the
-- ranges and hides the other two wrote may lag its own position, and it applies again, without
-- effect, whatever it already has (its events are idempotent, and a change that is already in
-- its tables changes no counter).
ALTER TABLE rm_participants ADD COLUMN membership_version BIGINT NOT NULL DEFAULT 0;
UPDATE rm_participants SET membership_version = COALESCE((
    SELECT max(CASE WHEN r.to_seq > r.from_seq THEN r.to_seq ELSE r.from_seq END)
    FROM rm_membership_ranges r
    WHERE r.conversation_id = rm_participants.conversation_id
      AND r.user_id = rm_participants.user_id), 0);

CREATE TABLE rm_unread (
    conversation_id TEXT   NOT NULL,
    user_id         TEXT   NOT NULL,
    read_seq        BIGINT NOT NULL DEFAULT 0,
    unread_count    BIGINT NOT NULL DEFAULT 0,
    mention_count   BIGINT NOT NULL DEFAULT 0,
    last_seq        BIGINT,
    PRIMARY KEY (conversation_id, user_id)
);

CREATE TABLE rm_message_counts (
    conversation_id TEXT   PRIMARY KEY,
    message_count   BIGINT NOT NULL
);

CREATE INDEX rm_hidden_messages_message ON rm_hidden_messages (message_id);

INSERT INTO rm_unread (conversation_id, user_id, read_seq, unread_count, mention_count, last_seq)
SELECT p.conversation_id, p.user_id, p.read_seq,
    (SELECT count(*) FROM rm_messages m
      WHERE m.conversation_id = p.conversation_id AND m.seq > p.read_seq
        AND m.sender_id <> p.user_id AND m.deleted_at IS NULL
        AND EXISTS (SELECT 1 FROM rm_membership_ranges r
              WHERE r.conversation_id = m.conversation_id AND r.user_id = p.user_id
                AND m.seq > r.from_seq AND (r.to_seq IS NULL OR m.seq <= r.to_seq))
        AND NOT EXISTS (SELECT 1 FROM rm_hidden_messages h
              WHERE h.user_id = p.user_id AND h.message_id = m.id)),
    (SELECT count(*) FROM rm_mentions mn JOIN rm_messages m ON m.id = mn.message_id
      WHERE mn.user_id = p.user_id AND mn.conversation_id = p.conversation_id
        AND m.seq > p.read_seq AND m.sender_id <> p.user_id AND m.deleted_at IS NULL
        AND EXISTS (SELECT 1 FROM rm_membership_ranges r
              WHERE r.conversation_id = m.conversation_id AND r.user_id = p.user_id
                AND m.seq > r.from_seq AND (r.to_seq IS NULL OR m.seq <= r.to_seq))
        AND NOT EXISTS (SELECT 1 FROM rm_hidden_messages h
              WHERE h.user_id = p.user_id AND h.message_id = m.id)),
    (SELECT max(m.seq) FROM rm_messages m
      WHERE m.conversation_id = p.conversation_id
        AND EXISTS (SELECT 1 FROM rm_membership_ranges r
              WHERE r.conversation_id = m.conversation_id AND r.user_id = p.user_id
                AND m.seq > r.from_seq AND (r.to_seq IS NULL OR m.seq <= r.to_seq))
        AND NOT EXISTS (SELECT 1 FROM rm_hidden_messages h
              WHERE h.user_id = p.user_id AND h.message_id = m.id))
FROM rm_participants p;

INSERT INTO rm_message_counts (conversation_id, message_count)
SELECT conversation_id, count(*) FROM rm_messages GROUP BY conversation_id;

UPDATE worker_checkpoints SET (commit_pos, seq_pos) = (
    SELECT c.commit_pos, c.seq_pos FROM worker_checkpoints c
     WHERE c.name IN ('conversations', 'messages', 'users')
     ORDER BY c.commit_pos, c.seq_pos LIMIT 1)
 WHERE name = 'messages';
DELETE FROM worker_checkpoints
 WHERE name = 'messages'
   AND (SELECT count(*) FROM worker_checkpoints WHERE name IN ('conversations', 'users')) < 2;
