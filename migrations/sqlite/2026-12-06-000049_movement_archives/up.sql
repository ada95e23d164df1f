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

-- SQLite archives nothing: the history is the table itself (the same names as on PostgreSQL,
-- so the audit and the KPI rollups read one SQL text on both).
CREATE VIEW stock_movements_archived AS
    SELECT id, part_id, qty, from_location_id, to_location_id, reason, reference, actor, at, serials, ticket_id FROM stock_movements WHERE 0;
CREATE VIEW stock_movements_history AS
    SELECT id, part_id, qty, from_location_id, to_location_id, reason, reference, actor, at, serials, ticket_id FROM stock_movements;
