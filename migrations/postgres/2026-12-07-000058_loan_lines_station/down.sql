DROP INDEX loan_lines_open_by_station;
ALTER TABLE loan_lines DROP CONSTRAINT loan_lines_loan_station;
ALTER TABLE loans DROP CONSTRAINT loans_id_station;
ALTER TABLE loan_lines DROP COLUMN station_id;
