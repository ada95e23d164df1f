DROP TABLE inspections;
DROP TABLE loan_lines;
DROP TABLE loans;
