ALTER TABLE request_allocations
    ADD CONSTRAINT request_allocations_request_id_fkey FOREIGN KEY (request_id) REFERENCES parts_requests (id),
    ADD CONSTRAINT request_allocations_line_id_fkey FOREIGN KEY (line_id) REFERENCES parts_request_lines (id),
    ADD CONSTRAINT request_allocations_part_id_fkey FOREIGN KEY (part_id) REFERENCES parts (id);
ALTER TABLE request_allocations DROP CONSTRAINT request_allocations_line_fkey;
ALTER TABLE parts_request_lines DROP CONSTRAINT parts_request_lines_id_request_part_key;
