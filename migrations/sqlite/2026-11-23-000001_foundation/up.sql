-- Foundation: station tiers, the location tree, users.
CREATE TABLE tiers (
    tier                   TEXT PRIMARY KEY CHECK (tier IN ('A', 'B', 'C', 'D')),
    credit_allowance_minor BIGINT  NOT NULL CHECK (credit_allowance_minor >= 0),
    may_order_from_hq      BOOLEAN NOT NULL,
    allocation_priority    INTEGER NOT NULL,
    core_return_days       INTEGER NOT NULL CHECK (core_return_days > 0),
    updated_at             TIMESTAMP NOT NULL
);

CREATE TABLE tier_labour_rates (
    tier       TEXT   NOT NULL REFERENCES tiers (tier),
    job_type   TEXT   NOT NULL,
    rate_minor BIGINT NOT NULL CHECK (rate_minor >= 0),
    PRIMARY KEY (tier, job_type)
);

CREATE TABLE locations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    code           TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    parent_id      BIGINT  REFERENCES locations (id),
    -- materialised path of ids, '/1/5/77/': subtree and ancestor tests without recursion
    path           TEXT    NOT NULL,
    region         TEXT,
    city           TEXT,
    address        TEXT,
    tier           TEXT    REFERENCES tiers (tier),
    lead_time_days INTEGER CHECK (lead_time_days >= 0),
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX locations_parent_idx ON locations (parent_id);
CREATE INDEX locations_kind_code_idx ON locations (kind, code);

CREATE TABLE station_tier_history (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    location_id    BIGINT NOT NULL REFERENCES locations (id),
    tier           TEXT   NOT NULL REFERENCES tiers (tier),
    effective_from DATE   NOT NULL,
    reason         TEXT,
    changed_by     TEXT,
    changed_at     TIMESTAMP NOT NULL
);
CREATE INDEX station_tier_history_loc_idx ON station_tier_history (location_id, effective_from);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    location_id   BIGINT  REFERENCES locations (id),
    display_name  TEXT    NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMP NOT NULL
);
