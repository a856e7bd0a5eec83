-- Read models (projections/). Derived and disposable: `pawpost replay` empties and rebuilds them.
-- Times are epoch microseconds (BIGINT), ids TEXT, JSON as TEXT: the same types as PostgreSQL's.

CREATE TABLE projection_checkpoints (
    name       TEXT   PRIMARY KEY,
    commit_pos BIGINT NOT NULL,
    seq_pos    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Who runs the projectors (a serving process heartbeats here; replay refuses while it is fresh).
CREATE TABLE projection_leases (
    name         TEXT   PRIMARY KEY,
    owner        TEXT   NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

-- projector "conversations"
CREATE TABLE rm_conversations (
    id          TEXT   PRIMARY KEY,
    kind        TEXT   NOT NULL,
    booking_id  TEXT,
    title       TEXT,
    description TEXT,
    image_url   TEXT,
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL -- stream version of the creation or last details change
);
CREATE INDEX rm_conversations_booking ON rm_conversations (booking_id);

CREATE TABLE rm_participants (
    conversation_id      TEXT    NOT NULL,
    user_id              TEXT    NOT NULL,
    role                 TEXT    NOT NULL,
    active               BOOLEAN NOT NULL,
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
CREATE INDEX rm_participants_user ON rm_participants (user_id, active);

-- Membership stretches: a user sees messages with from_seq < seq <= to_seq (to_seq NULL: open).
CREATE TABLE rm_membership_ranges (
    conversation_id TEXT   NOT NULL,
    user_id         TEXT   NOT NULL,
    from_seq        BIGINT NOT NULL,
    to_seq          BIGINT,
    PRIMARY KEY (conversation_id, user_id, from_seq)
);

-- projector "messages"
CREATE TABLE rm_messages (
    id              TEXT    PRIMARY KEY,
    conversation_id TEXT    NOT NULL,
    seq             BIGINT  NOT NULL,
    sender_id       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    content         TEXT,
    content_erased  BOOLEAN NOT NULL,
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
CREATE INDEX rm_messages_sender ON rm_messages (sender_id);

-- Every version of a message's text, keyed by the stream version that produced it (the
-- message's seq for the original, then each edit's).
CREATE TABLE rm_message_versions (
    message_id     TEXT    NOT NULL,
    version_no     BIGINT  NOT NULL,
    content        TEXT,
    content_erased BOOLEAN NOT NULL,
    at             BIGINT  NOT NULL,
    PRIMARY KEY (message_id, version_no)
);

CREATE TABLE rm_reactions (
    message_id TEXT   NOT NULL,
    user_id    TEXT   NOT NULL,
    reaction   TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (message_id, user_id, reaction)
);

CREATE TABLE rm_mentions (
    message_id      TEXT   NOT NULL,
    user_id         TEXT   NOT NULL,
    conversation_id TEXT   NOT NULL,
    seq             BIGINT NOT NULL,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX rm_mentions_user ON rm_mentions (user_id, conversation_id, seq);

-- Full-text search: trigram tokens match partial words and CJK text. `content` holds the text
-- lower-cased (Unicode) by the projector; queries are lower-cased the same way.
CREATE VIRTUAL TABLE rm_search USING fts5 (
    content, message_id UNINDEXED, conversation_id UNINDEXED, tokenize = 'trigram'
);

-- projector "users"
CREATE TABLE rm_user_conversations (
    user_id         TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL,
    muted           BOOLEAN NOT NULL DEFAULT FALSE,
    muted_until     BIGINT,
    mute_level      TEXT,
    archived        BOOLEAN NOT NULL DEFAULT FALSE,
    pinned          BOOLEAN NOT NULL DEFAULT FALSE,
    pinned_at       BIGINT,
    PRIMARY KEY (user_id, conversation_id)
);

CREATE TABLE rm_hidden_messages (
    user_id         TEXT   NOT NULL,
    message_id      TEXT   NOT NULL,
    conversation_id TEXT   NOT NULL,
    at              BIGINT NOT NULL,
    PRIMARY KEY (user_id, message_id)
);

CREATE TABLE rm_blocks (
    user_id        TEXT    NOT NULL,
    blocked_id     TEXT    NOT NULL,
    reason         TEXT,
    at             BIGINT  NOT NULL,
    PRIMARY KEY (user_id, blocked_id)
);
CREATE INDEX rm_blocks_blocked ON rm_blocks (blocked_id);

CREATE TABLE rm_drafts (
    user_id         TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL,
    content         TEXT,
    content_erased  BOOLEAN NOT NULL,
    reply_to        TEXT,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
);

CREATE TABLE rm_users (
    id           TEXT   PRIMARY KEY,
    display_name TEXT   NOT NULL,
    avatar_url   TEXT,
    role         TEXT,
    locale       TEXT,
    updated_at   BIGINT NOT NULL
);
