DROP TABLE idempotency_keys;
DROP TABLE request_allocations;
DROP TABLE parts_request_lines;
DROP TABLE parts_requests;
DROP TABLE part_serials;
DROP TABLE stock_balances;
DROP TABLE stock_movements;
DROP TABLE lateral_lanes;
