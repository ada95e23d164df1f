-- On PostgreSQL this version partitions the movements by month (SPEC section 14). SQLite keeps
-- one table: an embedded single-file database is not where a network's years of ledger live.
-- The version is here so that both dialects keep one list of migrations.
SELECT 1;
