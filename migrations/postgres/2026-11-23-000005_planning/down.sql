DROP TABLE planning_proposals;
DROP TABLE planning_runs;
DROP TABLE part_supply_terms;
DROP TABLE failure_rates;
DROP TABLE demand_history;
