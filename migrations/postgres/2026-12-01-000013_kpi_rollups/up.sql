-- Daily rollups of the KPI report's numerators and denominators (issue 13), so that a year
-- of 1,500 stations sums days instead of scanning a year of raw rows. Each is written in the
-- transaction of the event that changes it (src/reports/rollup.rs), rebuilt from the raw rows
-- by bulk loaders, and compared with its recomputation by `echelon audit`. Days are the UTC
-- dates of the timestamps the report filters on.

-- Requested and first-choice units and lines per (routing day, requesting station), and the
-- units received on a shipment delivered by its deliver_by (keyed by their line's routing day).
CREATE TABLE kpi_station_days (
    day           DATE   NOT NULL,
    station_id    BIGINT NOT NULL,
    units         BIGINT NOT NULL,
    first_units   BIGINT NOT NULL,
    lines         BIGINT NOT NULL,
    first_lines   BIGINT NOT NULL,
    units_in_time BIGINT NOT NULL,
    PRIMARY KEY (day, station_id)
);

-- The (part, first-choice source, day) triples with demand per requesting station, and
-- whether the source had nothing available for one of them (1) or not (0).
CREATE TABLE kpi_stockout_marks (
    day        DATE    NOT NULL,
    station_id BIGINT  NOT NULL,
    part_id    BIGINT  NOT NULL,
    source_id  BIGINT  NOT NULL,
    stockout   INTEGER NOT NULL,
    PRIMARY KEY (day, station_id, part_id, source_id)
);

-- Shipments delivered, and delivered by their deliver_by, per (delivery day, destination,
-- origin, courier; 0 when none).
CREATE TABLE kpi_delivery_days (
    day            DATE   NOT NULL,
    destination_id BIGINT NOT NULL,
    origin_id      BIGINT NOT NULL,
    courier_id     BIGINT NOT NULL,
    delivered      BIGINT NOT NULL,
    on_time        BIGINT NOT NULL,
    PRIMARY KEY (day, destination_id, origin_id, courier_id)
);

-- What left a location towards customers per day, at the parts' cost: shipments out of the
-- warehouse and centres, loans and consumption out of stations.
CREATE TABLE kpi_outflow_days (
    day           DATE   NOT NULL,
    location_id   BIGINT NOT NULL,
    outflow_minor BIGINT NOT NULL,
    PRIMARY KEY (day, location_id)
);

-- the existing rows
INSERT INTO kpi_station_days (day, station_id, units, first_units, lines, first_lines, units_in_time)
SELECT day, station_id, CAST(SUM(units) AS BIGINT), CAST(SUM(first_units) AS BIGINT),
       CAST(SUM(lines) AS BIGINT), CAST(SUM(first_lines) AS BIGINT), CAST(SUM(units_in_time) AS BIGINT)
FROM (
    SELECT date(ln.routed_at) AS day, r.station_id AS station_id, ln.qty AS units,
           ln.first_filled AS first_units, 1 AS lines,
           CASE WHEN ln.first_filled >= ln.qty THEN 1 ELSE 0 END AS first_lines, 0 AS units_in_time
    FROM parts_request_lines ln JOIN parts_requests r ON r.id = ln.request_id
    WHERE ln.routed_at IS NOT NULL
    UNION ALL
    SELECT date(ln.routed_at), r.station_id, 0, 0, 0, 0, a.qty
    FROM request_allocations a JOIN parts_request_lines ln ON ln.id = a.line_id
      JOIN parts_requests r ON r.id = a.request_id
      JOIN shipment_lines sl ON sl.allocation_id = a.id JOIN shipments s ON s.id = sl.shipment_id
    WHERE a.status = 'received' AND ln.routed_at IS NOT NULL
      AND s.delivered_at IS NOT NULL AND s.delivered_at <= s.deliver_by
) t GROUP BY day, station_id;

INSERT INTO kpi_stockout_marks (day, station_id, part_id, source_id, stockout)
SELECT date(ln.routed_at), r.station_id, ln.part_id, COALESCE(ln.first_source_id, 0),
       MAX(CASE WHEN ln.first_stockout THEN 1 ELSE 0 END)
FROM parts_request_lines ln JOIN parts_requests r ON r.id = ln.request_id
WHERE ln.routed_at IS NOT NULL
GROUP BY date(ln.routed_at), r.station_id, ln.part_id, COALESCE(ln.first_source_id, 0);

INSERT INTO kpi_delivery_days (day, destination_id, origin_id, courier_id, delivered, on_time)
SELECT date(s.delivered_at), s.destination_id, s.origin_id, COALESCE(s.courier_id, 0),
       COUNT(*), SUM(CASE WHEN s.delivered_at <= s.deliver_by THEN 1 ELSE 0 END)
FROM shipments s
WHERE s.delivered_at IS NOT NULL
GROUP BY date(s.delivered_at), s.destination_id, s.origin_id, COALESCE(s.courier_id, 0);

INSERT INTO kpi_outflow_days (day, location_id, outflow_minor)
SELECT date(m.at), m.from_location_id, SUM(m.qty * p.unit_cost_minor)
FROM stock_movements m JOIN parts p ON p.id = m.part_id JOIN locations l ON l.id = m.from_location_id
WHERE (l.kind IN ('central_warehouse', 'regional_centre') AND m.reason = 'transfer_ship')
   OR (l.kind = 'station' AND m.reason IN ('loan_out', 'consume'))
GROUP BY date(m.at), m.from_location_id;

-- The same sums per month (day: the month's first), so that the whole months of a long period
-- are read as months and only its ragged ends as days.
CREATE TABLE kpi_station_months (
    day           DATE   NOT NULL,
    station_id    BIGINT NOT NULL,
    units         BIGINT NOT NULL,
    first_units   BIGINT NOT NULL,
    lines         BIGINT NOT NULL,
    first_lines   BIGINT NOT NULL,
    units_in_time BIGINT NOT NULL,
    PRIMARY KEY (day, station_id)
);

CREATE TABLE kpi_delivery_months (
    day            DATE   NOT NULL,
    destination_id BIGINT NOT NULL,
    origin_id      BIGINT NOT NULL,
    courier_id     BIGINT NOT NULL,
    delivered      BIGINT NOT NULL,
    on_time        BIGINT NOT NULL,
    PRIMARY KEY (day, destination_id, origin_id, courier_id)
);

CREATE TABLE kpi_outflow_months (
    day           DATE   NOT NULL,
    location_id   BIGINT NOT NULL,
    outflow_minor BIGINT NOT NULL,
    PRIMARY KEY (day, location_id)
);

INSERT INTO kpi_station_months (day, station_id, units, first_units, lines, first_lines, units_in_time)
SELECT CAST(date_trunc('month', day) AS DATE), station_id, SUM(units), SUM(first_units), SUM(lines), SUM(first_lines), SUM(units_in_time)
FROM kpi_station_days GROUP BY CAST(date_trunc('month', day) AS DATE), station_id;

INSERT INTO kpi_delivery_months (day, destination_id, origin_id, courier_id, delivered, on_time)
SELECT CAST(date_trunc('month', day) AS DATE), destination_id, origin_id, courier_id, SUM(delivered), SUM(on_time)
FROM kpi_delivery_days GROUP BY CAST(date_trunc('month', day) AS DATE), destination_id, origin_id, courier_id;

INSERT INTO kpi_outflow_months (day, location_id, outflow_minor)
SELECT CAST(date_trunc('month', day) AS DATE), location_id, SUM(outflow_minor)
FROM kpi_outflow_days GROUP BY CAST(date_trunc('month', day) AS DATE), location_id;

-- The same triples deduplicated per centre, per tier and for the whole network (the report's
-- groups above a station count a triple once however many of their stations asked). A
-- regrading rebuilds the tier table.
CREATE TABLE kpi_triples_centre (
    day       DATE    NOT NULL,
    centre_id BIGINT  NOT NULL,
    part_id   BIGINT  NOT NULL,
    source_id BIGINT  NOT NULL,
    stockout  INTEGER NOT NULL,
    PRIMARY KEY (day, centre_id, part_id, source_id)
);

CREATE TABLE kpi_triples_tier (
    day       DATE    NOT NULL,
    tier      TEXT    NOT NULL,
    part_id   BIGINT  NOT NULL,
    source_id BIGINT  NOT NULL,
    stockout  INTEGER NOT NULL,
    PRIMARY KEY (day, tier, part_id, source_id)
);

CREATE TABLE kpi_triples_network (
    day       DATE    NOT NULL,
    part_id   BIGINT  NOT NULL,
    source_id BIGINT  NOT NULL,
    stockout  INTEGER NOT NULL,
    PRIMARY KEY (day, part_id, source_id)
);

-- Per resolved ticket, what its repair cycle is made of: intake, resolution, the first parts
-- request for it and the last unit received for it (percentiles need every ticket's hours).
CREATE TABLE kpi_ticket_cycles (
    ticket_id    BIGINT    NOT NULL PRIMARY KEY,
    station_id   BIGINT    NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    resolved_at  TIMESTAMP NOT NULL,
    requested_at TIMESTAMP,
    received_at  TIMESTAMP,
    -- whole seconds, truncated: intake to resolution; the first request to the last receipt
    -- (or to the resolution), never negative, NULL without a parts request
    cycle_secs   BIGINT    NOT NULL,
    wait_secs    BIGINT
);
CREATE INDEX kpi_ticket_cycles_resolved_idx ON kpi_ticket_cycles
    (resolved_at, station_id, cycle_secs, wait_secs);

INSERT INTO kpi_triples_centre (day, centre_id, part_id, source_id, stockout)
SELECT date(ln.routed_at), COALESCE(CASE WHEN l.kind = 'station' THEN l.parent_id ELSE l.id END, 0),
       ln.part_id, COALESCE(ln.first_source_id, 0), MAX(CASE WHEN ln.first_stockout THEN 1 ELSE 0 END)
FROM parts_request_lines ln JOIN parts_requests r ON r.id = ln.request_id
  JOIN locations l ON l.id = r.station_id
WHERE ln.routed_at IS NOT NULL
GROUP BY date(ln.routed_at), COALESCE(CASE WHEN l.kind = 'station' THEN l.parent_id ELSE l.id END, 0),
         ln.part_id, COALESCE(ln.first_source_id, 0);

INSERT INTO kpi_triples_tier (day, tier, part_id, source_id, stockout)
SELECT date(ln.routed_at), COALESCE(l.tier, '-'), ln.part_id, COALESCE(ln.first_source_id, 0),
       MAX(CASE WHEN ln.first_stockout THEN 1 ELSE 0 END)
FROM parts_request_lines ln JOIN parts_requests r ON r.id = ln.request_id
  JOIN locations l ON l.id = r.station_id
WHERE ln.routed_at IS NOT NULL
GROUP BY date(ln.routed_at), COALESCE(l.tier, '-'), ln.part_id, COALESCE(ln.first_source_id, 0);

INSERT INTO kpi_triples_network (day, part_id, source_id, stockout)
SELECT date(ln.routed_at), ln.part_id, COALESCE(ln.first_source_id, 0),
       MAX(CASE WHEN ln.first_stockout THEN 1 ELSE 0 END)
FROM parts_request_lines ln
WHERE ln.routed_at IS NOT NULL
GROUP BY date(ln.routed_at), ln.part_id, COALESCE(ln.first_source_id, 0);

INSERT INTO kpi_ticket_cycles (ticket_id, station_id, created_at, resolved_at, requested_at, received_at,
                               cycle_secs, wait_secs)
SELECT t.id, t.station_id, t.created_at, t.resolved_at, MIN(r.created_at),
       MAX(CASE WHEN a.status = 'received' THEN a.updated_at END),
       CAST(TRUNC(EXTRACT(EPOCH FROM (t.resolved_at) - (t.created_at))) AS BIGINT),
       CASE WHEN MIN(r.created_at) IS NULL THEN NULL WHEN CAST(TRUNC(EXTRACT(EPOCH FROM (COALESCE(MAX(CASE WHEN a.status = 'received' THEN a.updated_at END), t.resolved_at)) - (MIN(r.created_at)))) AS BIGINT) < 0 THEN 0 ELSE CAST(TRUNC(EXTRACT(EPOCH FROM (COALESCE(MAX(CASE WHEN a.status = 'received' THEN a.updated_at END), t.resolved_at)) - (MIN(r.created_at)))) AS BIGINT) END
FROM tickets t LEFT JOIN parts_requests r ON r.ticket_id = t.id
  LEFT JOIN request_allocations a ON a.request_id = r.id
WHERE t.resolved_at IS NOT NULL AND t.station_id IS NOT NULL
GROUP BY t.id, t.station_id, t.created_at, t.resolved_at;
