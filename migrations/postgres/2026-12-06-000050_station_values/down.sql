DROP TRIGGER locations_station_value ON locations;
DROP FUNCTION echelon_station_value_row();
ALTER TABLE locations ADD COLUMN outstanding_minor BIGINT NOT NULL DEFAULT 0;
UPDATE locations AS l SET outstanding_minor = v.outstanding_minor FROM station_values v WHERE v.id = l.id;
DROP TABLE station_values;
