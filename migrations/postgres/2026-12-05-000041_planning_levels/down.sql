ALTER TABLE planning_runs DROP COLUMN figures;
DROP TABLE planning_levels;
