-- Service tickets (spec section 7): intake with the warranty decided from the unit's ship date,
-- quotes for out-of-warranty work, the work order's expected parts and the parts used, every
-- transition with its actor and time, SLA deadlines, and follow-up calls with their results.

CREATE TABLE tickets (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    channel             TEXT   NOT NULL CHECK (channel IN ('phone', 'document', 'item', 'walk_in')),
    category            TEXT   NOT NULL CHECK (category IN
                            ('consultation', 'safety_incident', 'technical_support', 'repair', 'complaint')),
    urgency             TEXT   NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    status              TEXT   NOT NULL,
    customer_name       TEXT   NOT NULL,
    customer_phone      TEXT   NOT NULL,
    customer_address    TEXT   NOT NULL,
    customer_region     TEXT   NOT NULL,
    unit_id             BIGINT NOT NULL REFERENCES product_units (id),
    fault               TEXT   NOT NULL,
    -- the part family the fault lies in, when known (it may carry a longer warranty term)
    component_family    TEXT,
    -- decided at intake and kept: in_warranty (free) or out_of_warranty (paid, quote first)
    warranty            TEXT   NOT NULL CHECK (warranty IN ('in_warranty', 'out_of_warranty')),
    -- the term that decided: 'unit' or a part family
    warranty_covers     TEXT   NOT NULL,
    warranty_until      DATE,
    warranty_reason     TEXT   NOT NULL,
    -- NULL until dispatch when an agent takes the ticket without naming a station
    station_id          BIGINT REFERENCES locations (id),
    technician_id       BIGINT REFERENCES users (id),
    -- the labour done, for settlement (repair, install, maintenance, inspection)
    job_type            TEXT,
    cause               TEXT,
    -- SLA deadlines from the service standard and the times they were met
    respond_by          TIMESTAMP,
    resolve_by          TIMESTAMP,
    decide_by           TIMESTAMP,
    responded_at        TIMESTAMP,
    resolved_at         TIMESTAMP,
    confirmed_at        TIMESTAMP,
    closed_at           TIMESTAMP,
    -- confirmed by the customer, or closed: the follow-up window runs from here
    completed_at        TIMESTAMP,
    -- when a follow-up sampling run considered this ticket (picked or not)
    followup_sampled_at TIMESTAMP,
    created_by          TEXT   NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX tickets_station_idx ON tickets (station_id, id);
CREATE INDEX tickets_technician_idx ON tickets (technician_id, id);
CREATE INDEX tickets_status_idx ON tickets (status, id);
CREATE INDEX tickets_unit_idx ON tickets (unit_id);
CREATE INDEX tickets_completed_idx ON tickets (completed_at);

-- a price offered for out-of-warranty work; a new quote supersedes the one offered before
CREATE TABLE ticket_quotes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id    BIGINT NOT NULL REFERENCES tickets (id),
    job_type     TEXT   NOT NULL,
    labour_minor BIGINT NOT NULL CHECK (labour_minor >= 0),
    parts_minor  BIGINT NOT NULL CHECK (parts_minor >= 0),
    total_minor  BIGINT NOT NULL CHECK (total_minor >= 0),
    status       TEXT   NOT NULL CHECK (status IN ('offered', 'accepted', 'superseded')),
    note         TEXT,
    quoted_by    TEXT   NOT NULL,
    quoted_at    TIMESTAMP NOT NULL,
    accepted_by  TEXT,
    accepted_at  TIMESTAMP
);
CREATE INDEX ticket_quotes_ticket_idx ON ticket_quotes (ticket_id, id);

-- parts named on a ticket: quoted (a quote's lines), expected (the work order of a visit) or
-- used (fitted on a visit), with the part's cost and sale price at the time
CREATE TABLE ticket_parts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id        BIGINT  NOT NULL REFERENCES tickets (id),
    kind             TEXT    NOT NULL CHECK (kind IN ('quoted', 'expected', 'used')),
    quote_id         BIGINT  REFERENCES ticket_quotes (id),
    visit            INTEGER NOT NULL,
    part_id          BIGINT  NOT NULL REFERENCES parts (id),
    requested_code   TEXT    NOT NULL,
    qty              BIGINT  NOT NULL CHECK (qty > 0),
    unit_cost_minor  BIGINT  NOT NULL,
    sale_price_minor BIGINT  NOT NULL,
    recorded_by      TEXT    NOT NULL,
    at               TIMESTAMP NOT NULL
);
CREATE INDEX ticket_parts_ticket_idx ON ticket_parts (ticket_id, kind);

-- every transition of a ticket, with who and when (intake is the first, from NULL to open)
CREATE TABLE ticket_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id     BIGINT NOT NULL REFERENCES tickets (id),
    action        TEXT   NOT NULL,
    from_status   TEXT,
    to_status     TEXT   NOT NULL,
    actor         TEXT   NOT NULL,
    at            TIMESTAMP NOT NULL,
    station_id    BIGINT REFERENCES locations (id),
    technician_id BIGINT REFERENCES users (id),
    note          TEXT
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (ticket_id, id);

-- a follow-up call drawn for a completed ticket, and its result
CREATE TABLE follow_ups (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id          BIGINT  NOT NULL UNIQUE REFERENCES tickets (id),
    station_id         BIGINT  REFERENCES locations (id),
    technician_id      BIGINT  REFERENCES users (id),
    completed_at       TIMESTAMP NOT NULL,
    due_by             TIMESTAMP NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'done')),
    satisfaction       INTEGER CHECK (satisfaction BETWEEN 1 AND 5),
    technician_conduct TEXT    CHECK (technician_conduct IN ('good', 'acceptable', 'poor')),
    fee_reasonable     BOOLEAN,
    note               TEXT,
    sampled_by         TEXT    NOT NULL,
    sampled_at         TIMESTAMP NOT NULL,
    recorded_by        TEXT,
    recorded_at        TIMESTAMP
);
CREATE INDEX follow_ups_station_idx ON follow_ups (station_id, id);
CREATE INDEX follow_ups_status_idx ON follow_ups (status, id);
