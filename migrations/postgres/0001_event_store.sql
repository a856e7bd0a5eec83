-- The event log. Transactions commit out of global_position order, so tailing readers order and
-- checkpoint by (transaction_id, global_position) and read only below the oldest running
-- transaction (the xid8 snapshot gate; see shared/reference/postgres-event-store.md).
CREATE TABLE events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  xid8   NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid   NOT NULL UNIQUE,
    stream_id       text   NOT NULL,
    stream_version  bigint NOT NULL,
    event_type      text   NOT NULL,
    schema_version  int    NOT NULL,
    data            json   NOT NULL,
    metadata        json   NOT NULL,
    UNIQUE (stream_id, stream_version)
);
CREATE INDEX events_tx_pos ON events (transaction_id, global_position);

CREATE TABLE streams (
    stream_id text   PRIMARY KEY,
    version   bigint NOT NULL
);

CREATE TABLE data_keys (
    key_id     text        PRIMARY KEY,
    wrapped    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One append, one round trip. p_expected: -1 any, -2 no stream, n >= 0 exactly n.
-- status: 0 appended, 1 version conflict (out_version = current), 2 some event id already stored.
CREATE FUNCTION pawpost_append(
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
