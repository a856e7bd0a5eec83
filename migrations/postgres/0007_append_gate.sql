-- The log's read gate no longer waits for transactions that append nothing.
--
-- Readers tail the log below a gate: no transaction that can still commit events may have an
-- id below it. The gate used to be the oldest transaction still running (pg_snapshot_xmin), so
-- any open transaction holding an id (a projector's batch, a lease renewal, anyone's) held
-- back every reader of the log until it ended. Appenders now say who they are: each takes a
-- shared advisory lock (key 1885435760, 1) before it gets a transaction id, and keeps it until
-- it ends. The gate is the oldest transaction id among the lock's holders, or the next id to
-- be handed out when none holds it; a holder seen before its id is assigned (a few
-- microseconds) falls back to the old gate.
--
-- Why it is safe: the gate statement takes its snapshot first and reads pg_locks after. An
-- appender with an id below the gate held the lock from before its id was assigned, and does
-- not hold it when pg_locks is read: it has ended, and a transaction ends (visible to new
-- snapshots) before it releases its locks. An appender that has no id yet gets one above the
-- snapshot's xmax. So the events below the gate are all committed, and a later statement (a
-- new snapshot) sees every one of them: readers compute the gate, then read below it in a
-- statement of their own.

CREATE OR REPLACE FUNCTION pawpost_append(
    p_stream text, p_expected bigint, p_ids uuid[], p_types text[], p_schemas int[],
    p_data json[], p_meta json[])
RETURNS TABLE (status int, out_version bigint, out_position bigint, out_tx text)
LANGUAGE plpgsql AS $$
DECLARE
    v_n   int := cardinality(p_ids);
    v_cur bigint;
    v_pos bigint;
    v_id  uuid;
BEGIN
    -- One scalar look-up per id: a cached generic plan for "= ANY(array)" may scan the table.
    FOREACH v_id IN ARRAY p_ids LOOP
        IF EXISTS (SELECT 1 FROM events WHERE event_id = v_id) THEN
            RETURN QUERY SELECT 2, 0::bigint, 0::bigint, '0'::text;
            RETURN;
        END IF;
    END LOOP;
    -- Registered as an appender before this transaction gets an id (the first write below).
    IF current_setting('pawpost.appending', true) IS DISTINCT FROM 'on' THEN
        IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
            RAISE EXCEPTION 'pawpost_append must run before anything else writes in its transaction (the log''s read gate)';
        END IF;
        PERFORM pg_advisory_xact_lock_shared(1885435760, 1);
        PERFORM set_config('pawpost.appending', 'on', true);
    END IF;
    IF p_expected = -1 THEN
        INSERT INTO streams AS s (stream_id, version) VALUES (p_stream, v_n)
        ON CONFLICT (stream_id) DO UPDATE SET version = s.version + v_n
        RETURNING s.version - v_n INTO v_cur;
    ELSE
        SELECT version INTO v_cur FROM streams WHERE stream_id = p_stream FOR UPDATE;
        IF NOT FOUND THEN
            v_cur := 0;
        END IF;
        IF (p_expected = -2 AND v_cur <> 0) OR (p_expected >= 0 AND v_cur <> p_expected) THEN
            RETURN QUERY SELECT 1, v_cur, 0::bigint, '0'::text;
            RETURN;
        END IF;
        IF v_cur = 0 THEN
            INSERT INTO streams (stream_id, version) VALUES (p_stream, v_n);
        ELSE
            UPDATE streams SET version = v_cur + v_n WHERE stream_id = p_stream;
        END IF;
    END IF;
    WITH ins AS (
        INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, data, metadata)
        SELECT u.id, p_stream, v_cur + u.ord, u.t, u.s, u.d, u.m
        FROM unnest(p_ids, p_types, p_schemas, p_data, p_meta) WITH ORDINALITY AS u (id, t, s, d, m, ord)
        RETURNING global_position
    )
    SELECT max(global_position) INTO v_pos FROM ins;
    RETURN QUERY SELECT 0, v_cur + v_n, v_pos, pg_current_xact_id()::text;
END;
$$;

-- The gate: events of transactions below it are all committed (see above). One statement:
-- its snapshot is taken before pg_locks is read. A holder's 32-bit id is widened against the
-- snapshot's xmax (ids of running transactions are within 2^31 of it).
CREATE FUNCTION pawpost_log_gate() RETURNS xid8
LANGUAGE sql VOLATILE AS $$
    WITH snap AS (
        SELECT pg_snapshot_xmin(s) AS xmin, pg_snapshot_xmax(s)::text::bigint AS xmax
        FROM pg_current_snapshot() AS s
    ), locks AS MATERIALIZED (
        -- One look at the lock table for both sides of the join below.
        SELECT locktype, database, classid, objid, objsubid, virtualtransaction,
               transactionid, mode, granted
        FROM pg_locks
    ), holders AS (
        SELECT x.transactionid::text::bigint AS xid
        FROM locks a
        LEFT JOIN locks x ON x.virtualtransaction = a.virtualtransaction
            AND x.locktype = 'transactionid' AND x.mode = 'ExclusiveLock' AND x.granted
        WHERE a.locktype = 'advisory' AND a.classid = 1885435760 AND a.objid = 1
            AND a.objsubid = 2 AND a.granted
            AND a.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    )
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM holders WHERE xid IS NULL) THEN snap.xmin
        ELSE least(snap.xmax, (
            SELECT min(snap.xmax + (h.xid - snap.xmax % 4294967296 + 6442450944) % 4294967296
                       - 2147483648)
            FROM holders AS h))::text::xid8
    END
    FROM snap
$$;
