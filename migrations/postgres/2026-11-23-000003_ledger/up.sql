-- The stock ledger (movements and their projection), lateral supply lanes, parts requests
-- with their per-source allocations, and idempotency keys.

-- configured lateral supply: `centre_id` may be served by `neighbour_id`, in `priority` order
CREATE TABLE lateral_lanes (
    centre_id      BIGINT  NOT NULL REFERENCES locations (id),
    neighbour_id   BIGINT  NOT NULL REFERENCES locations (id),
    priority       INTEGER NOT NULL DEFAULT 1,
    lead_time_days INTEGER NOT NULL DEFAULT 2 CHECK (lead_time_days >= 0),
    PRIMARY KEY (centre_id, neighbour_id),
    CHECK (centre_id <> neighbour_id)
);

CREATE TABLE stock_movements (
    id               BIGSERIAL PRIMARY KEY,
    part_id          BIGINT NOT NULL REFERENCES parts (id),
    qty              BIGINT NOT NULL CHECK (qty > 0),
    from_location_id BIGINT NOT NULL REFERENCES locations (id),
    to_location_id   BIGINT NOT NULL REFERENCES locations (id),
    reason           TEXT   NOT NULL,
    reference        TEXT,
    actor            TEXT,
    at               TIMESTAMP NOT NULL,
    -- JSON array of the serials moved, for serialized parts
    serials          TEXT,
    CHECK (from_location_id <> to_location_id)
);
CREATE INDEX stock_movements_part_idx ON stock_movements (part_id, id);
CREATE INDEX stock_movements_from_idx ON stock_movements (from_location_id, id);
CREATE INDEX stock_movements_to_idx ON stock_movements (to_location_id, id);
CREATE INDEX stock_movements_reference_idx ON stock_movements (reference);

-- The projection of the movements, updated in the same transaction. `physical` copies the
-- location's nature so that the CHECKs below can forbid negative physical stock.
CREATE TABLE stock_balances (
    part_id     BIGINT  NOT NULL REFERENCES parts (id),
    location_id BIGINT  NOT NULL REFERENCES locations (id),
    on_hand     BIGINT  NOT NULL DEFAULT 0,
    reserved    BIGINT  NOT NULL DEFAULT 0,
    physical    BOOLEAN NOT NULL,
    PRIMARY KEY (part_id, location_id),
    CHECK (reserved >= 0),
    CHECK (NOT physical OR on_hand >= 0),
    CHECK (NOT physical OR reserved <= on_hand)
);
CREATE INDEX stock_balances_location_idx ON stock_balances (location_id, part_id);

-- where each serial of a serialized part is now
CREATE TABLE part_serials (
    part_id     BIGINT NOT NULL REFERENCES parts (id),
    serial      TEXT   NOT NULL,
    location_id BIGINT NOT NULL REFERENCES locations (id),
    PRIMARY KEY (part_id, serial)
);
CREATE INDEX part_serials_location_idx ON part_serials (location_id, part_id);

CREATE TABLE parts_requests (
    id               BIGSERIAL PRIMARY KEY,
    station_id       BIGINT  NOT NULL REFERENCES locations (id),
    ticket_id        BIGINT,
    urgency          TEXT    NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    status           TEXT    NOT NULL,
    -- a requested source location, or NULL to let echelon route
    source_id        BIGINT  REFERENCES locations (id),
    value_minor      BIGINT  NOT NULL,
    exceeds_by_minor BIGINT,
    requested_by     TEXT    NOT NULL,
    decided_by       TEXT,
    decision_note    TEXT,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX parts_requests_station_idx ON parts_requests (station_id, id);
CREATE INDEX parts_requests_status_idx ON parts_requests (status, id);

CREATE TABLE parts_request_lines (
    id              BIGSERIAL PRIMARY KEY,
    request_id      BIGINT NOT NULL REFERENCES parts_requests (id),
    line_no         INTEGER NOT NULL,
    requested_code  TEXT   NOT NULL,
    -- the part that serves the line: the requested one or its final successor
    part_id         BIGINT NOT NULL REFERENCES parts (id),
    qty             BIGINT NOT NULL CHECK (qty > 0),
    unit_cost_minor BIGINT NOT NULL,
    -- units still waiting for stock
    backordered     BIGINT NOT NULL DEFAULT 0 CHECK (backordered >= 0 AND backordered <= qty),
    UNIQUE (request_id, line_no)
);
CREATE INDEX parts_request_lines_backorder_idx ON parts_request_lines (part_id, backordered);

-- a line's units promised from one source; status reserved -> picked -> shipped -> received
-- (or damaged), or cancelled
CREATE TABLE request_allocations (
    id          BIGSERIAL PRIMARY KEY,
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
CREATE INDEX request_allocations_request_idx ON request_allocations (request_id);
CREATE INDEX request_allocations_open_idx ON request_allocations (part_id, source_id, status);

-- a retried POST with the same key returns the first answer
CREATE TABLE idempotency_keys (
    user_id      BIGINT NOT NULL,
    key          TEXT   NOT NULL,
    request_hash TEXT   NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT   NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, key)
);
