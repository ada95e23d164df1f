-- An allocation names its line, the line's request and the line's part in one foreign key:
-- stronger than the three separate keys it replaces (an allocation can no longer carry another
-- request or part than its line's), and one check per insert instead of three. The request and
-- the part stay enforced through the line's own keys.
ALTER TABLE parts_request_lines
    ADD CONSTRAINT parts_request_lines_id_request_part_key UNIQUE (id, request_id, part_id);
ALTER TABLE request_allocations
    ADD CONSTRAINT request_allocations_line_fkey FOREIGN KEY (line_id, request_id, part_id)
        REFERENCES parts_request_lines (id, request_id, part_id);
ALTER TABLE request_allocations
    DROP CONSTRAINT request_allocations_request_id_fkey,
    DROP CONSTRAINT request_allocations_line_id_fkey,
    DROP CONSTRAINT request_allocations_part_id_fkey;
