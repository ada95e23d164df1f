-- A loan line carries its loan's station (see the PostgreSQL migration of the same name). SQLite
-- adds no composite foreign key to an existing table, so triggers keep the copy exact: a line's
-- station is its loan's, and a loan's station cannot change while it has lines.
ALTER TABLE loan_lines ADD COLUMN station_id INTEGER NOT NULL DEFAULT 0;
UPDATE loan_lines SET station_id = (SELECT lo.station_id FROM loans lo WHERE lo.id = loan_lines.loan_id);
CREATE TRIGGER loan_lines_station_insert BEFORE INSERT ON loan_lines
    WHEN NEW.station_id IS NOT (SELECT lo.station_id FROM loans lo WHERE lo.id = NEW.loan_id)
    BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: a loan line''s station is its loan''s'); END;
CREATE TRIGGER loan_lines_station_update BEFORE UPDATE OF station_id, loan_id ON loan_lines
    WHEN NEW.station_id IS NOT (SELECT lo.station_id FROM loans lo WHERE lo.id = NEW.loan_id)
    BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: a loan line''s station is its loan''s'); END;
CREATE TRIGGER loans_station_kept BEFORE UPDATE OF station_id ON loans
    WHEN NEW.station_id IS NOT OLD.station_id AND EXISTS (SELECT 1 FROM loan_lines l WHERE l.loan_id = OLD.id)
    BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: a loan line''s station is its loan''s'); END;
CREATE INDEX loan_lines_open_by_station ON loan_lines (station_id, id) WHERE status = 'open';
