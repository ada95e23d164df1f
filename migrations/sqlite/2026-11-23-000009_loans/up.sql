-- Loans and core returns (spec section 8): parts a technician borrows from the station for a
-- ticket, each line reconciled exactly once (core return, fee, unused return), and the
-- inspection of unused returns. Stock moves only through the ledger; these tables say why.

CREATE TABLE loans (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id      BIGINT NOT NULL REFERENCES locations (id),
    technician_id   BIGINT NOT NULL REFERENCES users (id),
    -- the technician's custody location (kind technician, under the station)
    custody_id      BIGINT NOT NULL REFERENCES locations (id),
    ticket_id       BIGINT NOT NULL REFERENCES tickets (id),
    created_by      TEXT   NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX loans_station ON loans (station_id);
CREATE INDEX loans_technician ON loans (technician_id);

CREATE TABLE loan_lines (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    loan_id             BIGINT NOT NULL REFERENCES loans (id),
    line_no             INTEGER NOT NULL,
    part_id             BIGINT NOT NULL REFERENCES parts (id),
    qty                 BIGINT NOT NULL CHECK (qty > 0),
    unit_cost_minor     BIGINT NOT NULL,
    -- JSON array of the serials lent, for serialized parts
    serials             TEXT,
    status              TEXT   NOT NULL CHECK (status IN ('open', 'core_returned', 'fee_charged', 'returned_unused')),
    fee_minor           BIGINT,
    old_serial          TEXT,
    old_production_date DATE,
    reconciled_by       TEXT,
    reconciled_at       TIMESTAMP,
    UNIQUE (loan_id, line_no)
);
CREATE INDEX loan_lines_open ON loan_lines (status, loan_id);

CREATE TABLE inspections (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    loan_line_id    BIGINT NOT NULL UNIQUE REFERENCES loan_lines (id),
    station_id      BIGINT NOT NULL REFERENCES locations (id),
    part_id         BIGINT NOT NULL REFERENCES parts (id),
    qty             BIGINT NOT NULL CHECK (qty > 0),
    serials         TEXT,
    status          TEXT   NOT NULL CHECK (status IN ('pending', 'passed', 'scrapped')),
    created_at      TIMESTAMP NOT NULL,
    decided_by      TEXT,
    decided_at      TIMESTAMP
);
CREATE INDEX inspections_station ON inspections (station_id, status);
