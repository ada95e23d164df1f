-- The open days' movements go back into the daily rollups (as each movement wrote them before),
-- and the months from the first open day's month on are summed again from the days.
INSERT INTO kpi_stock_days (day, location_id, value_minor)
SELECT date(m.at), l.id, CAST(SUM(d.dir * m.qty * p.unit_cost_minor) AS BIGINT)
FROM stock_movements m CROSS JOIN (SELECT 1 AS dir UNION ALL SELECT -1 AS dir) d
  JOIN parts p ON p.id = m.part_id
  JOIN locations l ON l.id = CASE WHEN d.dir = 1 THEN m.to_location_id ELSE m.from_location_id END
WHERE l.kind IN ('central_warehouse', 'regional_centre', 'station')
  AND m.at >= (SELECT closed_before FROM kpi_closed WHERE id = 1)
GROUP BY date(m.at), l.id;
INSERT INTO kpi_outflow_days (day, location_id, outflow_minor)
SELECT date(m.at), m.from_location_id, CAST(SUM(m.qty * p.unit_cost_minor) AS BIGINT)
FROM stock_movements m JOIN parts p ON p.id = m.part_id
  JOIN locations l ON l.id = m.from_location_id
WHERE ((l.kind IN ('central_warehouse', 'regional_centre') AND m.reason = 'transfer_ship')
    OR (l.kind = 'station' AND m.reason IN ('loan_out', 'consume')))
  AND m.at >= (SELECT closed_before FROM kpi_closed WHERE id = 1)
GROUP BY date(m.at), m.from_location_id;

DELETE FROM kpi_stock_months WHERE day >= CAST(date_trunc('month', CAST((SELECT closed_before FROM kpi_closed WHERE id = 1) AS TIMESTAMP)) AS DATE);
DELETE FROM kpi_outflow_months WHERE day >= CAST(date_trunc('month', CAST((SELECT closed_before FROM kpi_closed WHERE id = 1) AS TIMESTAMP)) AS DATE);
INSERT INTO kpi_stock_months (day, location_id, value_minor)
SELECT CAST(date_trunc('month', CAST(day AS TIMESTAMP)) AS DATE), location_id, CAST(SUM(value_minor) AS BIGINT)
FROM kpi_stock_days WHERE day >= CAST(date_trunc('month', CAST((SELECT closed_before FROM kpi_closed WHERE id = 1) AS TIMESTAMP)) AS DATE)
GROUP BY CAST(date_trunc('month', CAST(day AS TIMESTAMP)) AS DATE), location_id;
INSERT INTO kpi_outflow_months (day, location_id, outflow_minor)
SELECT CAST(date_trunc('month', CAST(day AS TIMESTAMP)) AS DATE), location_id, CAST(SUM(outflow_minor) AS BIGINT)
FROM kpi_outflow_days WHERE day >= CAST(date_trunc('month', CAST((SELECT closed_before FROM kpi_closed WHERE id = 1) AS TIMESTAMP)) AS DATE)
GROUP BY CAST(date_trunc('month', CAST(day AS TIMESTAMP)) AS DATE), location_id;
