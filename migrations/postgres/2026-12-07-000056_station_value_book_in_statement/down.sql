-- back to the function of 000053, with its own constant and slot
CREATE OR REPLACE FUNCTION echelon_station_value_add(p_id BIGINT, p_delta BIGINT, p_cap BIGINT)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    -- a booking's slot is its server process's: eight, as many as one process's pool holds
    -- (BENCHMARKS.md: sixteen, each booking passing over the slots others held with SKIP
    -- LOCKED, cost PostgreSQL more than the waits it saved)
    slots CONSTANT INTEGER := 8;
    v_ceiling NUMERIC;
    v_base BIGINT;
    v_total NUMERIC;
BEGIN
    IF p_cap IS NULL THEN
        UPDATE station_values SET outstanding_minor = outstanding_minor + p_delta WHERE id = p_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'station_values has no row %', p_id USING ERRCODE = 'P0002';
        END IF;
        RETURN;
    END IF;
    v_ceiling := p_cap::numeric + p_delta;
    UPDATE station_value_slots s SET used_minor = s.used_minor + p_delta
     WHERE s.station_id = p_id AND s.slot = pg_backend_pid() % slots
       AND s.used_minor::numeric + p_delta <= s.budget_minor
       AND s.ceiling_minor <= v_ceiling
       AND s.base_minor >= (SELECT v.outstanding_minor FROM station_values v WHERE v.id = p_id);
    IF FOUND THEN
        RETURN;
    END IF;
    -- deal again: the base, then the slots, locked in one order
    SELECT v.outstanding_minor INTO v_base FROM station_values v WHERE v.id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'station_values has no row %', p_id USING ERRCODE = 'P0002';
    END IF;
    PERFORM 1 FROM station_value_slots s WHERE s.station_id = p_id ORDER BY s.slot FOR UPDATE;
    SELECT v_base + COALESCE(SUM(s.used_minor), 0) INTO v_total
      FROM station_value_slots s WHERE s.station_id = p_id;
    IF v_total > p_cap THEN
        RAISE EXCEPTION 'the outstanding_minor of station_values % would pass its ceiling; run the transaction again', p_id
            USING ERRCODE = '40001';
    END IF;
    v_base := (v_total + p_delta)::bigint;
    UPDATE station_values SET outstanding_minor = v_base WHERE id = p_id;
    INSERT INTO station_value_slots AS s (station_id, slot, used_minor, budget_minor, ceiling_minor, base_minor)
    SELECT p_id, g, 0, LEAST(floor((v_ceiling - v_base) / slots), 9223372036854775807)::bigint,
           LEAST(v_ceiling, 9223372036854775807)::bigint, v_base
      FROM generate_series(0, slots - 1) g
    ON CONFLICT (station_id, slot) DO UPDATE SET used_minor = 0, budget_minor = EXCLUDED.budget_minor,
        ceiling_minor = EXCLUDED.ceiling_minor, base_minor = EXCLUDED.base_minor;
END $$;
DROP FUNCTION echelon_station_value_slot();
DROP FUNCTION echelon_station_value_slots();
