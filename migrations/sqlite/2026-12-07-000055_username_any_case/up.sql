-- A user name is one account whatever its case: `ST-TZ-001` is `st-tz-001`. Names that differed
-- only in case could be made before this migration; the later of such accounts keeps working
-- under its name with `-<id>` added (its tokens, which name the old one, end: its version is
-- raised), so that the index can be made on any database. The demo's names are all distinct.
UPDATE users SET username = username || '-' || id, version = version + 1
WHERE EXISTS (SELECT 1 FROM users u WHERE lower(u.username) = lower(users.username) AND u.id < users.id);
CREATE UNIQUE INDEX users_username_any_case ON users (lower(username));
