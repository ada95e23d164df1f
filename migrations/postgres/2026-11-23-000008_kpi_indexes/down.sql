DROP INDEX stock_movements_at_idx;
DROP INDEX shipments_delivered_idx;
DROP INDEX parts_request_lines_routed_idx;
