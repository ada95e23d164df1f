DROP VIEW stock_movements_history;
DROP VIEW stock_movements_archived;
DROP TABLE stock_opening_balances;
DROP TABLE movement_archives;
-- the partition function as 000048 made it (it read no archives)
CREATE OR REPLACE FUNCTION echelon_movement_partition(month DATE) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
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
