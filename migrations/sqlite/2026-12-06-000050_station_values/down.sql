DROP TRIGGER locations_station_value;
ALTER TABLE locations ADD COLUMN outstanding_minor BIGINT NOT NULL DEFAULT 0;
UPDATE locations SET outstanding_minor = (SELECT v.outstanding_minor FROM station_values v WHERE v.id = locations.id);
DROP TABLE station_values;
