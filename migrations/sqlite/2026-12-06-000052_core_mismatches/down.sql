ALTER TABLE loan_lines DROP COLUMN core_mismatches;
