-- An allocation names its line, the line's request and the line's part in one foreign key:
-- stronger than the three separate keys it replaces, one check instead of three (the request
-- and the part stay enforced through the line's own keys). SQLite cannot change a table's
-- constraints, so the table is rebuilt; `db::migrate` runs SQLite migrations with
-- foreign_keys off and refuses to commit unless `PRAGMA foreign_key_check` finds nothing.
CREATE UNIQUE INDEX parts_request_lines_id_request_part_key ON parts_request_lines (id, request_id, part_id);
CREATE TABLE request_allocations_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  BIGINT NOT NULL,
    line_id     BIGINT NOT NULL,
    part_id     BIGINT NOT NULL,
    source_id   BIGINT NOT NULL REFERENCES locations (id),
    qty         BIGINT NOT NULL CHECK (qty > 0),
    status      TEXT   NOT NULL,
    -- JSON array of the serials shipped, for serialized parts
    serials     TEXT,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    FOREIGN KEY (line_id, request_id, part_id) REFERENCES parts_request_lines (id, request_id, part_id)
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
