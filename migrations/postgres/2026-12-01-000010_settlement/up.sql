-- Finance settlement (spec section 10): adjustments posted by finance, closed periods with
-- the snapshot of their lines (a closed period's export is read from here, so it never
-- changes), and the items each close settled (anything dated in a closed period and not
-- settled lands in the next open period).

CREATE TABLE settlement_adjustments (
    id               BIGSERIAL PRIMARY KEY,
    station_id       BIGINT NOT NULL REFERENCES locations (id),
    -- the period asked for, and the period it landed in (the next open one when that was closed)
    requested_period TEXT   NOT NULL,
    period           TEXT   NOT NULL,
    amount_minor     BIGINT NOT NULL,
    reason           TEXT   NOT NULL,
    posted_by        TEXT   NOT NULL,
    posted_at        TIMESTAMP NOT NULL
);
CREATE INDEX settlement_adjustments_station ON settlement_adjustments (station_id, requested_period);

CREATE TABLE settlement_periods (
    period         TEXT PRIMARY KEY,
    closed_at      TIMESTAMP NOT NULL,
    closed_by      TEXT   NOT NULL,
    lines          BIGINT NOT NULL,
    net_minor      BIGINT NOT NULL,
    -- the reconciliation figures at close (JSON), reported with the closed export
    reconciliation TEXT   NOT NULL
);

CREATE TABLE settlement_lines (
    id                   BIGSERIAL PRIMARY KEY,
    period               TEXT   NOT NULL REFERENCES settlement_periods (period),
    station_id           BIGINT NOT NULL REFERENCES locations (id),
    station_code         TEXT   NOT NULL,
    kind                 TEXT   NOT NULL,
    item_date            DATE   NOT NULL,
    reference            TEXT   NOT NULL,
    tier                 TEXT,
    job_type             TEXT,
    warranty             TEXT,
    parts_qty            BIGINT NOT NULL,
    labour_minor         BIGINT NOT NULL,
    parts_sold_minor     BIGINT NOT NULL,
    warranty_parts_minor BIGINT NOT NULL,
    parts_cost_minor     BIGINT NOT NULL,
    overdue_cores_minor  BIGINT NOT NULL,
    adjustments_minor    BIGINT NOT NULL,
    note                 TEXT
);
CREATE INDEX settlement_lines_period ON settlement_lines (period, station_code, id);

CREATE TABLE settled_items (
    kind    TEXT   NOT NULL,
    item_id BIGINT NOT NULL,
    period  TEXT   NOT NULL REFERENCES settlement_periods (period),
    PRIMARY KEY (kind, item_id)
);

CREATE INDEX tickets_completed ON tickets (station_id, completed_at);
