DROP TABLE users;
DROP TABLE station_tier_history;
DROP TABLE locations;
DROP TABLE tier_labour_rates;
DROP TABLE tiers;
