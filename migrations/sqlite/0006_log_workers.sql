-- Log workers (crates/workers): every consumer of the log (projectors, side-effect workers) has
-- a checkpoint and a lease; the projectors' tables are theirs now. A lease records where its
-- holder runs (host, process id and the process's start time, which tells a reused pid apart),
-- so a holder on the same host whose process is gone is taken over at once. Events a worker
-- could not handle are parked here, with the error, until an admin asks for a retry.
ALTER TABLE projection_checkpoints RENAME TO worker_checkpoints;
ALTER TABLE projection_leases RENAME TO worker_leases;
ALTER TABLE worker_leases ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE worker_leases ADD COLUMN pid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE worker_leases ADD COLUMN started BIGINT NOT NULL DEFAULT 0;

CREATE TABLE worker_parked (
    worker          TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    commit_pos      BIGINT  NOT NULL,
    seq_pos         BIGINT  NOT NULL,
    stream          TEXT    NOT NULL,
    version         BIGINT  NOT NULL,
    event_type      TEXT    NOT NULL,
    error           TEXT    NOT NULL,
    attempts        BIGINT  NOT NULL,
    parked_at       BIGINT  NOT NULL,
    last_failed_at  BIGINT  NOT NULL,
    retry_requested INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (worker, event_id)
);
