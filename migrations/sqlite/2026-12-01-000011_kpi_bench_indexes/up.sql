-- Found by the KPI benchmark on a generated year (issue 13): the repair-cycle query finds a
-- ticket's parts requests and their allocations, the audit a line's allocations; the period
-- scans of the fill and stock-out figures read the lines without visiting the table.
CREATE INDEX parts_requests_ticket_idx ON parts_requests (ticket_id);
CREATE INDEX request_allocations_line_idx ON request_allocations (line_id);
CREATE INDEX tickets_resolved_idx ON tickets (resolved_at);
CREATE INDEX parts_request_lines_routed_cover_idx ON parts_request_lines
    (routed_at, request_id, part_id, first_source_id, qty, first_filled, first_stockout);
DROP INDEX parts_request_lines_routed_idx;
