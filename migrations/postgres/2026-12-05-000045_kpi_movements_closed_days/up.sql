-- The movements' KPI rollups (net stock value and outflow per location and day, and per
-- month) hold closed days only, like the routing-keyed ones since 2026-12-01-000015: a stock
-- movement no longer writes them (every movement of a location updated the day's row of that
-- location inside the stock transaction, between the stock rows of one line and the next, so
-- the ships of a centre queued on one row and two multi-line shipments could deadlock). The
-- report adds the open days' movements; `echelon serve` rolls each day up once it is over.

-- the open days leave the daily rollups
DELETE FROM kpi_stock_days WHERE day >= (SELECT closed_before FROM kpi_closed WHERE id = 1);
DELETE FROM kpi_outflow_days WHERE day >= (SELECT closed_before FROM kpi_closed WHERE id = 1);

-- the months from the first open day's month on are summed again from the closed days
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
