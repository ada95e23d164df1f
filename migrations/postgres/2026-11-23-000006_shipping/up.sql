-- Shipments, couriers with service areas and standing rate cards, tenders with bids,
-- tracking events and carrier claims.

CREATE TABLE courier_areas (
    courier_id BIGINT NOT NULL REFERENCES users (id),
    region     TEXT   NOT NULL,
    PRIMARY KEY (courier_id, region)
);

-- a courier's standing rate for a lane (region to region), used for urgent shipments
CREATE TABLE rate_cards (
    courier_id       BIGINT  NOT NULL REFERENCES users (id),
    origin_region    TEXT    NOT NULL,
    dest_region      TEXT    NOT NULL,
    base_minor       BIGINT  NOT NULL CHECK (base_minor >= 0),
    per_kg_minor     BIGINT  NOT NULL CHECK (per_kg_minor >= 0),
    transit_hours    INTEGER NOT NULL CHECK (transit_hours > 0),
    PRIMARY KEY (courier_id, origin_region, dest_region)
);

-- how a bid's score weighs price against the courier's record; one row, id = 1
CREATE TABLE tender_weights (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    price_weight  INTEGER NOT NULL,
    late_weight   INTEGER NOT NULL,
    damage_weight INTEGER NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
INSERT INTO tender_weights (id, price_weight, late_weight, damage_weight, updated_at)
VALUES (1, 100, 100, 300, CURRENT_TIMESTAMP);

CREATE TABLE tenders (
    id               BIGSERIAL PRIMARY KEY,
    origin_id        BIGINT NOT NULL REFERENCES locations (id),
    destination_id   BIGINT NOT NULL REFERENCES locations (id),
    weight_grams     BIGINT NOT NULL,
    deliver_by       TIMESTAMP NOT NULL,
    bid_deadline     TIMESTAMP NOT NULL,
    status           TEXT   NOT NULL,
    awarded_bid_id   BIGINT,
    override_reason  TEXT,
    explanation      TEXT,
    created_by       TEXT   NOT NULL,
    created_at       TIMESTAMP NOT NULL
);

CREATE TABLE shipments (
    id             BIGSERIAL PRIMARY KEY,
    request_id     BIGINT REFERENCES parts_requests (id),
    origin_id      BIGINT NOT NULL REFERENCES locations (id),
    destination_id BIGINT NOT NULL REFERENCES locations (id),
    urgency        TEXT   NOT NULL,
    weight_grams   BIGINT NOT NULL,
    deliver_by     TIMESTAMP NOT NULL,
    status         TEXT   NOT NULL,
    courier_id     BIGINT REFERENCES users (id),
    tender_id      BIGINT REFERENCES tenders (id),
    price_minor    BIGINT,
    picked_up_at   TIMESTAMP,
    delivered_at   TIMESTAMP,
    received_at    TIMESTAMP,
    damaged_units  BIGINT NOT NULL DEFAULT 0,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX shipments_request_idx ON shipments (request_id);
CREATE INDEX shipments_courier_idx ON shipments (courier_id, id);
CREATE INDEX shipments_tender_idx ON shipments (tender_id);

CREATE TABLE shipment_lines (
    shipment_id   BIGINT NOT NULL REFERENCES shipments (id),
    allocation_id BIGINT NOT NULL REFERENCES request_allocations (id),
    part_id       BIGINT NOT NULL REFERENCES parts (id),
    qty           BIGINT NOT NULL CHECK (qty > 0),
    PRIMARY KEY (shipment_id, allocation_id)
);
CREATE INDEX shipment_lines_allocation_idx ON shipment_lines (allocation_id);

CREATE TABLE bids (
    id            BIGSERIAL PRIMARY KEY,
    tender_id     BIGINT  NOT NULL REFERENCES tenders (id),
    courier_id    BIGINT  NOT NULL REFERENCES users (id),
    price_minor   BIGINT  NOT NULL CHECK (price_minor > 0),
    transit_hours INTEGER NOT NULL CHECK (transit_hours > 0),
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (tender_id, courier_id)
);

CREATE TABLE tracking_events (
    id          BIGSERIAL PRIMARY KEY,
    shipment_id BIGINT NOT NULL REFERENCES shipments (id),
    kind        TEXT   NOT NULL,
    at          TIMESTAMP NOT NULL,
    note        TEXT,
    actor       TEXT   NOT NULL
);
CREATE INDEX tracking_events_shipment_idx ON tracking_events (shipment_id, id);

CREATE TABLE claims (
    id           BIGSERIAL PRIMARY KEY,
    shipment_id  BIGINT NOT NULL REFERENCES shipments (id),
    request_id   BIGINT REFERENCES parts_requests (id),
    courier_id   BIGINT REFERENCES users (id),
    part_id      BIGINT NOT NULL REFERENCES parts (id),
    qty          BIGINT NOT NULL CHECK (qty > 0),
    amount_minor BIGINT NOT NULL,
    status       TEXT   NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX claims_courier_idx ON claims (courier_id, id);
