-- Flags as INTEGER (0/1) instead of BOOLEAN: the read models are read through sqlx's `Any`
-- driver, which maps a column by its declared type and knows no SQLite BOOLEAN. SQLite cannot
-- change a column's type, so each table with a flag is copied into a new one (rows, rowids and
-- indexes kept: `rm_search` rows share their message row's rowid). SQLite read-model tables
-- declare only INTEGER/BIGINT, TEXT and REAL columns from here on.

CREATE TABLE rm_participants_new (
    conversation_id      TEXT    NOT NULL,
    user_id              TEXT    NOT NULL,
    role                 TEXT    NOT NULL,
    active               INTEGER NOT NULL,
    joined_at            BIGINT  NOT NULL,
    left_at              BIGINT,
    read_seq             BIGINT  NOT NULL DEFAULT 0,
    read_message_id      TEXT,
    read_at              BIGINT,
    delivered_seq        BIGINT  NOT NULL DEFAULT 0,
    delivered_message_id TEXT,
    delivered_at         BIGINT,
    PRIMARY KEY (conversation_id, user_id)
);
INSERT INTO rm_participants_new SELECT * FROM rm_participants;
DROP TABLE rm_participants;
ALTER TABLE rm_participants_new RENAME TO rm_participants;
CREATE INDEX rm_participants_user ON rm_participants (user_id, active);

CREATE TABLE rm_messages_new (
    id              TEXT    PRIMARY KEY,
    conversation_id TEXT    NOT NULL,
    seq             BIGINT  NOT NULL,
    sender_id       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    content         TEXT,
    content_erased  INTEGER NOT NULL,
    attachments     TEXT    NOT NULL,
    location        TEXT,
    reply_to        TEXT,
    forwarded_from  TEXT,
    mentions        TEXT    NOT NULL,
    temp_id         TEXT,
    system_type     TEXT,
    created_at      BIGINT  NOT NULL,
    edited_at       BIGINT,
    edit_count      BIGINT  NOT NULL DEFAULT 0,
    deleted_at      BIGINT,
    deleted_by      TEXT,
    UNIQUE (conversation_id, seq)
);
INSERT INTO rm_messages_new (rowid, id, conversation_id, seq, sender_id, kind, content,
    content_erased, attachments, location, reply_to, forwarded_from, mentions, temp_id,
    system_type, created_at, edited_at, edit_count, deleted_at, deleted_by)
SELECT rowid, id, conversation_id, seq, sender_id, kind, content, content_erased, attachments,
    location, reply_to, forwarded_from, mentions, temp_id, system_type, created_at, edited_at,
    edit_count, deleted_at, deleted_by
FROM rm_messages;
DROP TABLE rm_messages;
ALTER TABLE rm_messages_new RENAME TO rm_messages;

CREATE TABLE rm_message_versions_new (
    message_id     TEXT    NOT NULL,
    version_no     BIGINT  NOT NULL,
    content        TEXT,
    content_erased INTEGER NOT NULL,
    at             BIGINT  NOT NULL,
    PRIMARY KEY (message_id, version_no)
);
INSERT INTO rm_message_versions_new SELECT * FROM rm_message_versions;
DROP TABLE rm_message_versions;
ALTER TABLE rm_message_versions_new RENAME TO rm_message_versions;

CREATE TABLE rm_user_conversations_new (
    user_id         TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL,
    muted           INTEGER NOT NULL DEFAULT 0,
    muted_until     BIGINT,
    mute_level      TEXT,
    archived        INTEGER NOT NULL DEFAULT 0,
    pinned          INTEGER NOT NULL DEFAULT 0,
    pinned_at       BIGINT,
    PRIMARY KEY (user_id, conversation_id)
);
INSERT INTO rm_user_conversations_new SELECT * FROM rm_user_conversations;
DROP TABLE rm_user_conversations;
ALTER TABLE rm_user_conversations_new RENAME TO rm_user_conversations;

CREATE TABLE rm_drafts_new (
    user_id         TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL,
    content         TEXT,
    content_erased  INTEGER NOT NULL,
    reply_to        TEXT,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
);
INSERT INTO rm_drafts_new SELECT * FROM rm_drafts;
DROP TABLE rm_drafts;
ALTER TABLE rm_drafts_new RENAME TO rm_drafts;
