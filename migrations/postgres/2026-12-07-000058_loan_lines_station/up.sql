-- A loan line carries its loan's station, so that a station's open lines are read through an
-- index of open lines alone (`loan_lines_open_by_station`): every parts request of a station
-- with open loans weighs them (the overdue ones count against its allowance), and until now
-- that read went through every loan the station ever had, or every open line of the network.
-- The composite key keeps the copy exact: a line's station is its loan's, and a loan's station
-- cannot change while it has lines.
ALTER TABLE loan_lines ADD COLUMN station_id BIGINT;
UPDATE loan_lines l SET station_id = lo.station_id FROM loans lo WHERE lo.id = l.loan_id;
ALTER TABLE loan_lines ALTER COLUMN station_id SET NOT NULL;
ALTER TABLE loans ADD CONSTRAINT loans_id_station UNIQUE (id, station_id);
ALTER TABLE loan_lines ADD CONSTRAINT loan_lines_loan_station
    FOREIGN KEY (loan_id, station_id) REFERENCES loans (id, station_id);
CREATE INDEX loan_lines_open_by_station ON loan_lines (station_id, id) WHERE status = 'open';
