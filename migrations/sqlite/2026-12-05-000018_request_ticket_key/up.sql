-- A parts request's ticket is a foreign key (issue 21): the id was stored unchecked, so a request
-- could name a ticket that does not exist. A dangling id names nothing and is cleared. SQLite
-- cannot add a constraint to a table, so the table is rebuilt (as in migration 000014; `db::migrate`
-- runs it with foreign keys off and checks them before it commits).
UPDATE parts_requests SET ticket_id = NULL
    WHERE ticket_id IS NOT NULL AND ticket_id NOT IN (SELECT id FROM tickets);
CREATE TABLE parts_requests_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id        BIGINT  NOT NULL REFERENCES locations (id),
    ticket_id         BIGINT  REFERENCES tickets (id),
    urgency           TEXT    NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    status            TEXT    NOT NULL,
    -- a requested source location, or NULL to let echelon route
    source_id         BIGINT  REFERENCES locations (id),
    value_minor       BIGINT  NOT NULL,
    exceeds_by_minor  BIGINT,
    requested_by      TEXT    NOT NULL,
    decided_by        TEXT,
    decision_note     TEXT,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    outstanding_minor BIGINT NOT NULL DEFAULT 0
);
INSERT INTO parts_requests_new (id, station_id, ticket_id, urgency, status, source_id, value_minor,
        exceeds_by_minor, requested_by, decided_by, decision_note, created_at, updated_at, outstanding_minor)
    SELECT id, station_id, ticket_id, urgency, status, source_id, value_minor,
        exceeds_by_minor, requested_by, decided_by, decision_note, created_at, updated_at, outstanding_minor
    FROM parts_requests;
-- keep the id sequence where it was (ids are never reused)
DELETE FROM sqlite_sequence WHERE name = 'parts_requests_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'parts_requests_new', seq FROM sqlite_sequence WHERE name = 'parts_requests';
DROP TABLE parts_requests;
ALTER TABLE parts_requests_new RENAME TO parts_requests;
CREATE INDEX parts_requests_station_idx ON parts_requests (station_id, id);
CREATE INDEX parts_requests_status_idx ON parts_requests (status, id);
CREATE INDEX parts_requests_ticket_idx ON parts_requests (ticket_id);
