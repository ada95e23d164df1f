ALTER TABLE loan_lines DROP COLUMN requested_part_id;
