-- Issue 26: a station's value split into slots (escrow), so that one station's requests do not
-- queue on one row. Every new request of a station books its share on the station's value
-- with the allowance as ceiling (`echelon_station_value_add` with a cap); on one row, all of a
-- busy station's requests waited for each other, each holding the row until its commit had
-- been flushed.
--
-- The value is now `station_values.outstanding_minor` (the base, where every increment without
-- a ceiling goes: stock, cost changes, a request's flows) plus the `used_minor` of the
-- station's slots. A booking with a ceiling goes to the slot of its connection's server
-- process, which holds a budget: a share of the room that was left under the ceiling when the
-- slots were last dealt out. The booking takes the slot's row alone, and only if
--   * the slot's used value plus the booking stays within the slot's budget,
--   * the ceiling the budgets were dealt under is not above this booking's ceiling, and
--   * the base has not grown since (an increment without a ceiling came in between).
-- Then base + every slot's used <= base as dealt + every budget <= the ceiling dealt under <=
-- this booking's ceiling. Otherwise the booking deals again: it locks the base row and every
-- slot row (in slot order), sums them, refuses as before when the sum is above its ceiling
-- (SQLSTATE 40001: the request runs again and sees why), folds the slots' used values into the
-- base with its own increment, and deals the room left out again in equal budgets.
--
-- A reader of a station's value sums the base and its slots (`outstanding::TOTAL`).
CREATE TABLE station_value_slots (
    station_id    BIGINT   NOT NULL REFERENCES station_values (id) ON DELETE CASCADE,
    slot          SMALLINT NOT NULL,
    -- what bookings on this slot added since the slots were last dealt out
    used_minor    BIGINT   NOT NULL DEFAULT 0,
    -- the most used_minor may come to
    budget_minor  BIGINT   NOT NULL,
    -- the ceiling the budgets were dealt under, and the base they were dealt on
    ceiling_minor BIGINT   NOT NULL,
    base_minor    BIGINT   NOT NULL,
    PRIMARY KEY (station_id, slot)
);

-- p_cap: the most the station's value may be as the booking finds it (NULL: no ceiling; the
-- increment goes to the base). Above it: SQLSTATE 40001. No such station: P0002.
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
