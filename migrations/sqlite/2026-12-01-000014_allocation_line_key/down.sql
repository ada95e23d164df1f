CREATE TABLE request_allocations_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  BIGINT NOT NULL REFERENCES parts_requests (id),
    line_id     BIGINT NOT NULL REFERENCES parts_request_lines (id),
    part_id     BIGINT NOT NULL REFERENCES parts (id),
    source_id   BIGINT NOT NULL REFERENCES locations (id),
    qty         BIGINT NOT NULL CHECK (qty > 0),
    status      TEXT   NOT NULL,
    -- JSON array of the serials shipped, for serialized parts
    serials     TEXT,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
INSERT INTO request_allocations_new (id, request_id, line_id, part_id, source_id, qty, status, serials, created_at, updated_at)
    SELECT id, request_id, line_id, part_id, source_id, qty, status, serials, created_at, updated_at
    FROM request_allocations;
-- keep the id sequence where it was (ids are never reused)
DELETE FROM sqlite_sequence WHERE name = 'request_allocations_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'request_allocations_new', seq FROM sqlite_sequence WHERE name = 'request_allocations';
DROP TABLE request_allocations;
ALTER TABLE request_allocations_new RENAME TO request_allocations;
CREATE INDEX request_allocations_request_idx ON request_allocations (request_id);
CREATE INDEX request_allocations_open_idx ON request_allocations (part_id, source_id, status);
CREATE INDEX request_allocations_line_idx ON request_allocations (line_id);
DROP INDEX parts_request_lines_id_request_part_key;
