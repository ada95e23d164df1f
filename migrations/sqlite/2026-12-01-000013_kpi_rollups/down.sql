DROP TABLE kpi_ticket_cycles;
DROP TABLE kpi_triples_network;
DROP TABLE kpi_triples_tier;
DROP TABLE kpi_triples_centre;
DROP TABLE kpi_outflow_days;
DROP TABLE kpi_delivery_days;
DROP TABLE kpi_stockout_marks;
DROP TABLE kpi_station_days;
