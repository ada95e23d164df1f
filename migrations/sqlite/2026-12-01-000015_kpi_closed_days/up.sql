-- The routing-keyed KPI rollups (fill sums, stock-out triples) hold closed days only: the days
-- before `closed_before`, which no parts request can be routed on any more. A parts request no
-- longer writes them (the request path's hot statements); the report reads the open days from
-- the request lines themselves, and `echelon serve` closes each day once it is over.
CREATE TABLE kpi_closed (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    closed_before DATE NOT NULL
);
INSERT INTO kpi_closed (id, closed_before) VALUES (1, '1970-01-01');

-- nothing is closed yet: the closer materialises the past days again from the request lines
DELETE FROM kpi_stockout_marks;
DELETE FROM kpi_triples_centre;
DELETE FROM kpi_triples_tier;
DELETE FROM kpi_triples_network;
UPDATE kpi_station_days SET units = 0, first_units = 0, lines = 0, first_lines = 0;
DELETE FROM kpi_station_days WHERE units_in_time = 0;
UPDATE kpi_station_months SET units = 0, first_units = 0, lines = 0, first_lines = 0;
DELETE FROM kpi_station_months WHERE units_in_time = 0;
