-- Period queries of the KPIs.
CREATE INDEX parts_request_lines_routed_idx ON parts_request_lines (routed_at);
CREATE INDEX shipments_delivered_idx ON shipments (delivered_at);
CREATE INDEX stock_movements_at_idx ON stock_movements (at);
