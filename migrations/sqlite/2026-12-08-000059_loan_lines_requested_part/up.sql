-- A loan of a superseded part lends its final successor, as a parts request is served, and says
-- so: the part asked for is kept beside the part lent. NULL when the part lent is the one asked
-- for (every line before this migration).
ALTER TABLE loan_lines ADD COLUMN requested_part_id INTEGER REFERENCES parts (id);
