-- Issue 26: a station's value split into slots (escrow) on PostgreSQL, where one station's
-- requests book their shares concurrently (see the PostgreSQL migration of the same name).
-- SQLite runs one writer at a time and books on the base row alone: the table is here so that
-- both backends have one schema and one reader of a station's value (base + slots).
CREATE TABLE station_value_slots (
    station_id    BIGINT   NOT NULL REFERENCES station_values (id) ON DELETE CASCADE,
    slot          SMALLINT NOT NULL,
    used_minor    BIGINT   NOT NULL DEFAULT 0,
    budget_minor  BIGINT   NOT NULL,
    ceiling_minor BIGINT   NOT NULL,
    base_minor    BIGINT   NOT NULL,
    PRIMARY KEY (station_id, slot)
);
