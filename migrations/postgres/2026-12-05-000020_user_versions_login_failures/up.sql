-- A user's `version` goes up with every change of what a token stands for (role, location,
-- active, password). A token names the version it was issued at, and every request compares it
-- with this column (one primary-key read), so a disabled or changed user's tokens are refused
-- on every process from the next request on.
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- Failed logins per username and per client address (`scope` 'username' or 'address'), in a
-- fixed window that starts at the first failure; kept in the database so that every process
-- counts the same attempts.
CREATE TABLE login_failures (
    scope        TEXT      NOT NULL CHECK (scope IN ('username', 'address')),
    subject      TEXT      NOT NULL,
    window_start TIMESTAMP NOT NULL,
    failures     INTEGER   NOT NULL CHECK (failures > 0),
    PRIMARY KEY (scope, subject)
);
CREATE INDEX login_failures_window_idx ON login_failures (window_start);
