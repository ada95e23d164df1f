-- Two more KPI rollups (issue 13, item 3), kept like those of 2026-12-01-000013
-- (src/reports/rollup/tables.rs defines each as the SELECT recomputing it; `echelon audit`
-- compares them).

-- The net value moved into a stocking location per day (in minus out), at the parts' current
-- cost, and the same per month (day: the month's first): the stock value at the start of a
-- day is the sum of the days before it.
CREATE TABLE kpi_stock_days (
    day         DATE   NOT NULL,
    location_id BIGINT NOT NULL,
    value_minor BIGINT NOT NULL,
    PRIMARY KEY (day, location_id)
);

CREATE TABLE kpi_stock_months (
    day         DATE   NOT NULL,
    location_id BIGINT NOT NULL,
    value_minor BIGINT NOT NULL,
    PRIMARY KEY (day, location_id)
);

INSERT INTO kpi_stock_days (day, location_id, value_minor)
SELECT date(m.at), l.id, CAST(SUM(d.dir * m.qty * p.unit_cost_minor) AS BIGINT)
FROM stock_movements m CROSS JOIN (SELECT 1 AS dir UNION ALL SELECT -1 AS dir) d
  JOIN parts p ON p.id = m.part_id
  JOIN locations l ON l.id = CASE WHEN d.dir = 1 THEN m.to_location_id ELSE m.from_location_id END
WHERE l.kind IN ('central_warehouse', 'regional_centre', 'station')
GROUP BY date(m.at), l.id;

INSERT INTO kpi_stock_months (day, location_id, value_minor)
SELECT date(day, 'start of month'), location_id, CAST(SUM(value_minor) AS BIGINT)
FROM kpi_stock_days GROUP BY date(day, 'start of month'), location_id;

-- The resolved tickets per (month of resolution, group, series, bucket of seconds), counted
-- from kpi_ticket_cycles: series 0 the cycle of a ticket that did not wait for parts, 1 of
-- one that did, 2 the parts wait; the bucket is rules::cycle_bucket of the seconds. The
-- report sums the buckets of a period to find the one holding a percentile's rank, then
-- reads only that bucket's tickets (the indexes on the seconds below).
CREATE TABLE kpi_cycles_network (
    day     DATE    NOT NULL,
    series  INTEGER NOT NULL,
    bucket  BIGINT  NOT NULL,
    tickets BIGINT  NOT NULL,
    PRIMARY KEY (day, series, bucket)
);

CREATE TABLE kpi_cycles_centre (
    day       DATE    NOT NULL,
    centre_id BIGINT  NOT NULL,
    series    INTEGER NOT NULL,
    bucket    BIGINT  NOT NULL,
    tickets   BIGINT  NOT NULL,
    PRIMARY KEY (day, centre_id, series, bucket)
);

CREATE TABLE kpi_cycles_tier (
    day     DATE    NOT NULL,
    tier    TEXT    NOT NULL,
    series  INTEGER NOT NULL,
    bucket  BIGINT  NOT NULL,
    tickets BIGINT  NOT NULL,
    PRIMARY KEY (day, tier, series, bucket)
);

-- a ticket whose cycle changes leaves its old bucket: emptied buckets are deleted at once
CREATE INDEX kpi_cycles_network_empty_idx ON kpi_cycles_network (tickets) WHERE tickets = 0;
CREATE INDEX kpi_cycles_centre_empty_idx ON kpi_cycles_centre (tickets) WHERE tickets = 0;
CREATE INDEX kpi_cycles_tier_empty_idx ON kpi_cycles_tier (tickets) WHERE tickets = 0;

INSERT INTO kpi_cycles_network (day, series, bucket, tickets)
SELECT date(c.resolved_at, 'start of month'), CASE WHEN x.k = 1 THEN 2 WHEN c.wait_secs IS NULL THEN 0 ELSE 1 END,
       CASE WHEN (CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) < 0 THEN -1 WHEN (CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) < 86400 THEN 0 + ((CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) - 0) / 900 WHEN (CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) < 604800 THEN 96 + ((CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) - 86400) / 3600 WHEN (CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) < 2592000 THEN 240 + ((CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) - 604800) / 14400 ELSE 378 + ((CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) - 2592000) / 43200 END, COUNT(*)
FROM kpi_ticket_cycles c CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 AS k) x
WHERE x.k = 0 OR c.wait_secs IS NOT NULL GROUP BY 1, 2, 3;

INSERT INTO kpi_cycles_centre (day, centre_id, series, bucket, tickets)
SELECT date(c.resolved_at, 'start of month'), COALESCE(CASE WHEN l.kind = 'station' THEN l.parent_id ELSE l.id END, 0),
       CASE WHEN x.k = 1 THEN 2 WHEN c.wait_secs IS NULL THEN 0 ELSE 1 END,
       CASE WHEN (CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) < 0 THEN -1 WHEN (CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) < 86400 THEN 0 + ((CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) - 0) / 900 WHEN (CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) < 604800 THEN 96 + ((CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) - 86400) / 3600 WHEN (CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) < 2592000 THEN 240 + ((CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) - 604800) / 14400 ELSE 378 + ((CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) - 2592000) / 43200 END, COUNT(*)
FROM kpi_ticket_cycles c CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 AS k) x
  JOIN locations l ON l.id = c.station_id
WHERE x.k = 0 OR c.wait_secs IS NOT NULL GROUP BY 1, 2, 3, 4;

INSERT INTO kpi_cycles_tier (day, tier, series, bucket, tickets)
SELECT date(c.resolved_at, 'start of month'), COALESCE(l.tier, '-'),
       CASE WHEN x.k = 1 THEN 2 WHEN c.wait_secs IS NULL THEN 0 ELSE 1 END,
       CASE WHEN (CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) < 0 THEN -1 WHEN (CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) < 86400 THEN 0 + ((CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) - 0) / 900 WHEN (CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) < 604800 THEN 96 + ((CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) - 86400) / 3600 WHEN (CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) < 2592000 THEN 240 + ((CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) - 604800) / 14400 ELSE 378 + ((CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END) - 2592000) / 43200 END, COUNT(*)
FROM kpi_ticket_cycles c CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 AS k) x
  JOIN locations l ON l.id = c.station_id
WHERE x.k = 0 OR c.wait_secs IS NOT NULL GROUP BY 1, 2, 3, 4;

-- a percentile's bucket: each station's tickets with seconds in a range; and the station
-- level's percentiles read each station's tickets in the order of their cycle
CREATE INDEX kpi_ticket_cycles_station_idx ON kpi_ticket_cycles (station_id, cycle_secs, resolved_at, wait_secs);
CREATE INDEX kpi_ticket_cycles_station_wait_idx ON kpi_ticket_cycles (station_id, wait_secs, resolved_at);
