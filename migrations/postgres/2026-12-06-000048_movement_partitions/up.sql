-- SPEC section 14: the movements are partitioned by month on PostgreSQL, so that the ledger
-- grows for years without slowing the hot path, and old months can be archived (detached).
-- The partition key is `at`; the primary key must hold it, so it is (id, at): `id` stays unique
-- because only the sequence gives it. A DEFAULT partition takes any row whose month has no
-- partition yet, so an insert never fails for want of one; `echelon_movement_partition` makes
-- a month's partition (moving that month's rows out of the default one) and is called by
-- `echelon serve` at start and from its periodic loop for the current month and a few ahead.

CREATE FUNCTION echelon_movement_partition(month DATE) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
DECLARE
    first DATE := CAST(date_trunc('month', month) AS DATE);
    next  DATE := CAST(date_trunc('month', month) + INTERVAL '1 month' AS DATE);
    name  TEXT := 'stock_movements_' || to_char(month, 'YYYY_MM');
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- two servers making the same month at once: the second finds it made
    PERFORM pg_advisory_xact_lock(hashtext('echelon_movement_partition'));
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM stock_movements_default WHERE at >= first AND at < next) THEN
        -- the month's rows came before its partition: they move into it
        EXECUTE format('CREATE TABLE %I (LIKE stock_movements INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
        EXECUTE format('WITH moved AS (DELETE FROM stock_movements_default WHERE at >= %L AND at < %L RETURNING *) '
                       'INSERT INTO %I SELECT * FROM moved', first, next, name);
        EXECUTE format('ALTER TABLE stock_movements ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       name, first, next);
    ELSE
        EXECUTE format('CREATE TABLE %I PARTITION OF stock_movements FOR VALUES FROM (%L) TO (%L)',
                       name, first, next);
    END IF;
    RETURN true;
END
$$;

ALTER TABLE stock_movements RENAME TO stock_movements_heap;
ALTER SEQUENCE stock_movements_id_seq OWNED BY NONE;

CREATE TABLE stock_movements (
    id               BIGINT NOT NULL DEFAULT nextval('stock_movements_id_seq'),
    part_id          BIGINT NOT NULL REFERENCES parts (id),
    qty              BIGINT NOT NULL CHECK (qty > 0),
    from_location_id BIGINT NOT NULL REFERENCES locations (id),
    to_location_id   BIGINT NOT NULL REFERENCES locations (id),
    reason           TEXT   NOT NULL,
    reference        TEXT,
    actor            TEXT,
    at               TIMESTAMP NOT NULL,
    serials          TEXT,
    ticket_id        BIGINT REFERENCES tickets (id),
    CHECK (from_location_id <> to_location_id)
) PARTITION BY RANGE (at);
ALTER SEQUENCE stock_movements_id_seq OWNED BY stock_movements.id;
CREATE TABLE stock_movements_default PARTITION OF stock_movements DEFAULT;

-- a partition for every month holding movements, and for this month and the next three
SELECT echelon_movement_partition(CAST(m AS DATE))
FROM generate_series(
    date_trunc('month', LEAST(COALESCE((SELECT MIN(at) FROM stock_movements_heap), now()), now())),
    date_trunc('month', GREATEST(COALESCE((SELECT MAX(at) FROM stock_movements_heap), now()), now()))
        + INTERVAL '3 months',
    INTERVAL '1 month') AS m;

INSERT INTO stock_movements
    (id, part_id, qty, from_location_id, to_location_id, reason, reference, actor, at, serials, ticket_id)
SELECT id, part_id, qty, from_location_id, to_location_id, reason, reference, actor, at, serials, ticket_id
FROM stock_movements_heap;
DROP TABLE stock_movements_heap;

-- the indexes of the heap, on every partition
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_pkey PRIMARY KEY (id, at);
CREATE INDEX stock_movements_part_idx ON stock_movements (part_id, id);
CREATE INDEX stock_movements_from_idx ON stock_movements (from_location_id, id);
CREATE INDEX stock_movements_to_idx ON stock_movements (to_location_id, id);
CREATE INDEX stock_movements_reference_idx ON stock_movements (reference);
CREATE INDEX stock_movements_at_idx ON stock_movements (at);
CREATE INDEX stock_movements_ticket_idx ON stock_movements (ticket_id) WHERE ticket_id IS NOT NULL;
ANALYZE stock_movements;
