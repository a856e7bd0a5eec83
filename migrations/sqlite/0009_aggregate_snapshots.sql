-- Aggregate snapshots (crates/commands/src/snapshots.rs): the latest folded state of a long
-- stream, so a cold aggregate loads from it plus the events after it. A cache derived from the
-- log: safe to empty at any time.
CREATE TABLE aggregate_snapshots (
    stream         TEXT    PRIMARY KEY,
    version        BIGINT  NOT NULL,
    schema_version INTEGER NOT NULL,
    data           TEXT    NOT NULL
);
