ALTER TABLE parts_request_lines DROP COLUMN routed_at;
ALTER TABLE parts_request_lines DROP COLUMN first_stockout;
ALTER TABLE parts_request_lines DROP COLUMN first_filled;
ALTER TABLE parts_request_lines DROP COLUMN first_source_id;
