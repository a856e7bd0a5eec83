-- A whole group of appends in one statement: one round trip and one transaction for every append
-- the writer took from its queue. Every stream of the group is locked first, in key order (so
-- concurrent groups cannot deadlock); advisory locks take no transaction id, so the group's xid8
-- is assigned only once it holds all its streams, and a later append to the same stream always
-- gets a larger one (readers ordering by (xid8, position) see each stream in version order).
-- Then each append runs through pawpost_append; row `idx` answers the idx-th append (1-based).
-- p_counts[i] events of the flattened arrays belong to append i.
CREATE FUNCTION pawpost_append_group(
    p_streams text[], p_expected bigint[], p_counts int[], p_ids uuid[], p_types text[],
    p_schemas int[], p_data text[], p_meta text[])
RETURNS TABLE (idx int, status int, out_version bigint, out_position bigint, out_tx text)
LANGUAGE plpgsql AS $$
DECLARE
    v_at int := 1;
    v_last int;
    r record;
BEGIN
    PERFORM count(pg_advisory_xact_lock(k)) FROM
        (SELECT DISTINCT hashtextextended(s, 0) AS k FROM unnest(p_streams) AS s ORDER BY k) AS locks;
    FOR i IN 1 .. cardinality(p_streams) LOOP
        v_last := v_at + p_counts[i] - 1;
        SELECT * INTO r FROM pawpost_append(p_streams[i], p_expected[i], p_ids[v_at:v_last],
            p_types[v_at:v_last], p_schemas[v_at:v_last], p_data[v_at:v_last]::json[],
            p_meta[v_at:v_last]::json[]);
        idx := i;
        status := r.status;
        out_version := r.out_version;
        out_position := r.out_position;
        out_tx := r.out_tx;
        RETURN NEXT;
        v_at := v_last + 1;
    END LOOP;
END;
$$;
