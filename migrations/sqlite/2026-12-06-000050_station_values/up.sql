-- Issue 26: a station's running outstanding value moves off its `locations` row into a narrow
-- row of its own (on PostgreSQL the updates of a busy station's value and the foreign-key share
-- locks on its location row made each other expensive; the schema is the same on both
-- backends). One row per location, made with it; 0 for every location but a station.
CREATE TABLE station_values (
    id                BIGINT PRIMARY KEY REFERENCES locations (id) ON DELETE CASCADE,
    outstanding_minor BIGINT NOT NULL DEFAULT 0
);
INSERT INTO station_values (id, outstanding_minor) SELECT id, outstanding_minor FROM locations;
ALTER TABLE locations DROP COLUMN outstanding_minor;

CREATE TRIGGER locations_station_value AFTER INSERT ON locations
BEGIN
    INSERT INTO station_values (id) VALUES (NEW.id);
END;
