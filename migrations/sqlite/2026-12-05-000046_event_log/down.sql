ALTER TABLE request_allocations DROP COLUMN from_backorder;
DROP TABLE event_log;
