DROP INDEX loan_lines_open_by_station;
DROP TRIGGER loans_station_kept;
DROP TRIGGER loan_lines_station_update;
DROP TRIGGER loan_lines_station_insert;
ALTER TABLE loan_lines DROP COLUMN station_id;
