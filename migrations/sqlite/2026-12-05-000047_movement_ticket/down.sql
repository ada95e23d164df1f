DROP INDEX stock_movements_ticket_idx;
ALTER TABLE stock_movements DROP COLUMN ticket_id;
