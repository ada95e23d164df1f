-- Issue 26: a station's running outstanding value moves off its `locations` row into a narrow
-- row of its own. Every request, ship, receipt and loan of a station adds to that value, a
-- thousand times a second for a busy station's client, while every row naming the station (a
-- request, an event) takes a foreign-key share lock on the `locations` row. On one row the two
-- made PostgreSQL pair each update with the readers' locks (multixacts) and copy the wide
-- location row at every update; here the updates touch a row that no foreign key locks, and the
-- location row no longer changes on the hot path (BENCHMARKS.md "A station's value in a row of
-- its own"). One row per location, made with it; 0 for every location but a station.
CREATE TABLE station_values (
    id                BIGINT PRIMARY KEY REFERENCES locations (id) ON DELETE CASCADE,
    outstanding_minor BIGINT NOT NULL DEFAULT 0
);
INSERT INTO station_values (id, outstanding_minor) SELECT id, outstanding_minor FROM locations;
ALTER TABLE locations DROP COLUMN outstanding_minor;

CREATE FUNCTION echelon_station_value_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO station_values (id) VALUES (NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER locations_station_value AFTER INSERT ON locations
    FOR EACH ROW EXECUTE FUNCTION echelon_station_value_row();
