DROP TABLE unit_swaps;
