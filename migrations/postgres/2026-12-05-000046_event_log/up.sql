-- Since when the outbox holds every event: the audit checks that each change of an evented
-- kind made since then has its event. A database that already held work when the outbox came
-- starts now; the retention sweep moves it forward as it removes old events, and `seed
-- history` moves it past the year it imports (imported history has no events).
CREATE TABLE event_log (
    id          INTEGER   PRIMARY KEY CHECK (id = 1),
    kept_since  TIMESTAMP NOT NULL
);
INSERT INTO event_log (id, kept_since)
SELECT 1, CASE
    WHEN EXISTS (SELECT 1 FROM tickets) OR EXISTS (SELECT 1 FROM parts_requests)
         OR EXISTS (SELECT 1 FROM shipments) OR EXISTS (SELECT 1 FROM settlement_periods)
    THEN (now() AT TIME ZONE 'UTC')
    ELSE TIMESTAMP '1970-01-01 00:00:00'
END;

-- an allocation made when stock arriving served a waiting line (its `backorder.filled` event
-- is checked against it)
ALTER TABLE request_allocations ADD COLUMN from_backorder BOOLEAN NOT NULL DEFAULT FALSE;
