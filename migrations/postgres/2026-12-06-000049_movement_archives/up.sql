-- Archived months of the ledger (`echelon archive movements --before YYYY-MM`, PostgreSQL
-- only): a closed, settled month's partition is detached and kept as a plain table
-- (`table_name`); what its movements added to each (part, location) is carried in
-- `stock_opening_balances`, the opening figures the ledger's sums start from.
CREATE TABLE movement_archives (
    month       TEXT      PRIMARY KEY,
    table_name  TEXT      NOT NULL,
    movements   BIGINT    NOT NULL,
    archived_at TIMESTAMP NOT NULL,
    archived_by TEXT      NOT NULL
);

-- the sum of the archived movements per (part, location): in at the destination, out at the origin
CREATE TABLE stock_opening_balances (
    part_id     BIGINT NOT NULL REFERENCES parts (id),
    location_id BIGINT NOT NULL REFERENCES locations (id),
    qty         BIGINT NOT NULL,
    PRIMARY KEY (part_id, location_id)
);

-- The archived movements, as one relation (redefined by the archive and the restore to read
-- every archive table), and the whole history: what the audit and the KPI rollups'
-- recomputation read, so that archiving changes none of their figures.
CREATE VIEW stock_movements_archived AS
    SELECT id, part_id, qty, from_location_id, to_location_id, reason, reference, actor, at, serials, ticket_id FROM stock_movements WHERE false;
CREATE VIEW stock_movements_history AS
    SELECT id, part_id, qty, from_location_id, to_location_id, reason, reference, actor, at, serials, ticket_id FROM stock_movements
    UNION ALL SELECT id, part_id, qty, from_location_id, to_location_id, reason, reference, actor, at, serials, ticket_id FROM stock_movements_archived;

-- the month partitions are not made for archived months
CREATE OR REPLACE FUNCTION echelon_movement_partition(month DATE) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
DECLARE
    first DATE := CAST(date_trunc('month', month) AS DATE);
    next  DATE := CAST(date_trunc('month', month) + INTERVAL '1 month' AS DATE);
    name  TEXT := 'stock_movements_' || to_char(month, 'YYYY_MM');
BEGIN
    -- a month archived is not made again: a movement dated in it waits in the default
    -- partition (the archive names it), and `echelon archive restore` brings the month back
    IF to_regclass(name) IS NOT NULL OR EXISTS (SELECT 1 FROM movement_archives WHERE movement_archives.month = to_char(first, 'YYYY-MM')) THEN
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
