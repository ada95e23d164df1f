DROP INDEX kpi_ticket_cycles_station_wait_idx;
DROP INDEX kpi_ticket_cycles_station_idx;
DROP TABLE kpi_cycles_tier;
DROP TABLE kpi_cycles_centre;
DROP TABLE kpi_cycles_network;
DROP TABLE kpi_stock_months;
DROP TABLE kpi_stock_days;
