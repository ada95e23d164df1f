DROP INDEX tickets_completed;
DROP TABLE settled_items;
DROP TABLE settlement_lines;
DROP TABLE settlement_periods;
DROP TABLE settlement_adjustments;
