-- The event log. `position` is the rowid, assigned by the single writer in commit order, so
-- readers may tail it by position alone. A stream's version is MAX(version) over the
-- (stream, version) index: with one writer no separate streams table is needed.
CREATE TABLE events (
    position       INTEGER PRIMARY KEY,
    event_id       BLOB    NOT NULL UNIQUE,
    stream         TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    event_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    data           TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,
    UNIQUE (stream, version)
);

-- Wrapped data keys of forgettable payloads. Deleting a row erases the content it protected.
CREATE TABLE data_keys (
    key_id     TEXT PRIMARY KEY,
    wrapped    BLOB NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
