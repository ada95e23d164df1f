-- the fill and stock-out rollups then lack the open days: rebuild them (`echelon seed` rebuilds)
DROP TABLE kpi_closed;
