ALTER TABLE locations DROP COLUMN outstanding_minor;
ALTER TABLE parts_requests DROP COLUMN outstanding_minor;
