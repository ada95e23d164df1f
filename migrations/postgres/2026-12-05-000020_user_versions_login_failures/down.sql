DROP TABLE login_failures;
ALTER TABLE users DROP COLUMN version;
