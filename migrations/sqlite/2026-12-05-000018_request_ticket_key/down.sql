CREATE TABLE parts_requests_old (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id        BIGINT  NOT NULL REFERENCES locations (id),
    ticket_id         BIGINT,
    urgency           TEXT    NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    status            TEXT    NOT NULL,
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
INSERT INTO parts_requests_old SELECT id, station_id, ticket_id, urgency, status, source_id, value_minor,
    exceeds_by_minor, requested_by, decided_by, decision_note, created_at, updated_at, outstanding_minor
    FROM parts_requests;
DELETE FROM sqlite_sequence WHERE name = 'parts_requests_old';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'parts_requests_old', seq FROM sqlite_sequence WHERE name = 'parts_requests';
DROP TABLE parts_requests;
ALTER TABLE parts_requests_old RENAME TO parts_requests;
CREATE INDEX parts_requests_station_idx ON parts_requests (station_id, id);
CREATE INDEX parts_requests_status_idx ON parts_requests (status, id);
CREATE INDEX parts_requests_ticket_idx ON parts_requests (ticket_id);
