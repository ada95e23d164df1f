CREATE INDEX parts_request_lines_routed_idx ON parts_request_lines (routed_at);
DROP INDEX parts_request_lines_routed_cover_idx;
DROP INDEX tickets_resolved_idx;
DROP INDEX request_allocations_line_idx;
DROP INDEX parts_requests_ticket_idx;
