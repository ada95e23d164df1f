-- Planning (issue 9): the demand history and failure rates planning reads, supply terms per
-- part, planning runs and the proposals they make for staff to review and release.

-- units consumed or requested per part, stocking location and week (the Monday that starts
-- it): the compact history `echelon seed generate` writes; a planning run also counts the
-- parts requests and `consume` movements of the same weeks
CREATE TABLE demand_history (
    part_id     BIGINT NOT NULL REFERENCES parts (id),
    location_id BIGINT NOT NULL REFERENCES locations (id),
    week        DATE   NOT NULL,
    qty         BIGINT NOT NULL CHECK (qty > 0),
    PRIMARY KEY (part_id, location_id, week)
);
CREATE INDEX demand_history_week_idx ON demand_history (week);

-- how often a part fails in a unit of a model: failures per million units in service a year
-- (failure rate x installed base = the causal demand estimate)
CREATE TABLE failure_rates (
    part_id           BIGINT NOT NULL REFERENCES parts (id),
    model_id          BIGINT NOT NULL REFERENCES product_models (id),
    per_million_years BIGINT NOT NULL CHECK (per_million_years >= 0),
    PRIMARY KEY (part_id, model_id)
);

-- the supplier's lead time to the central warehouse, per part (default: the warehouse's own
-- lead_time_days, else 30 days)
CREATE TABLE part_supply_terms (
    part_id            BIGINT  PRIMARY KEY REFERENCES parts (id),
    supplier_lead_days INTEGER NOT NULL CHECK (supplier_lead_days >= 0)
);

CREATE TABLE planning_runs (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    policy               TEXT    NOT NULL CHECK (policy IN ('baseline', 'multi_echelon')),
    -- the subtree the run proposes for
    scope_location_id    BIGINT  NOT NULL REFERENCES locations (id),
    -- fractions in basis points (9800 = 98.00%)
    target_fill_bp       INTEGER,
    service_level_bp     INTEGER,
    budget_minor         BIGINT,
    expected_fill_bp     INTEGER,
    parts                INTEGER NOT NULL,
    locations            INTEGER NOT NULL,
    target_value_minor   BIGINT  NOT NULL,
    transfers            INTEGER NOT NULL,
    purchases            INTEGER NOT NULL,
    -- lines over all its orders
    lines                INTEGER NOT NULL,
    proposed_value_minor BIGINT  NOT NULL,
    duration_ms          BIGINT  NOT NULL,
    created_by           TEXT    NOT NULL,
    created_at           TIMESTAMP NOT NULL
);

-- one proposed order: a transfer order down the tree (source -> destination) or a purchase
-- order from SUPPLIER into the central warehouse, with its lines as a compact JSON array of
-- [part_id, qty, reorder_point, order_up_to, position] (the destination's planned levels and
-- its stock position when planned): an initial stocking run on a large network proposes
-- millions of lines, which as rows would take minutes to write; released whole, through the
-- ledger
CREATE TABLE planning_proposals (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id          BIGINT  NOT NULL REFERENCES planning_runs (id),
    kind            TEXT    NOT NULL CHECK (kind IN ('transfer', 'purchase')),
    source_id       BIGINT  NOT NULL REFERENCES locations (id),
    destination_id  BIGINT  NOT NULL REFERENCES locations (id),
    lines           TEXT    NOT NULL,
    line_count      INTEGER NOT NULL CHECK (line_count > 0),
    units           BIGINT  NOT NULL CHECK (units > 0),
    value_minor     BIGINT  NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('proposed', 'released', 'superseded')),
    released_by     TEXT,
    released_at     TIMESTAMP,
    reference       TEXT,
    created_at      TIMESTAMP NOT NULL,
    CHECK (source_id <> destination_id)
);
CREATE INDEX planning_proposals_run_idx ON planning_proposals (run_id, id);
CREATE INDEX planning_proposals_status_idx ON planning_proposals (status, destination_id);
CREATE INDEX planning_proposals_source_idx ON planning_proposals (source_id, id);
CREATE INDEX planning_proposals_destination_idx ON planning_proposals (destination_id, id);
