-- The transactional outbox (events) and the webhooks that deliver it. An event is written in the
-- transaction of the change it reports; in the same transaction one delivery row is made for
-- every active subscription whose types and scope take it, so no change is without its
-- deliveries and a rolled-back change leaves none. The delivery worker claims due rows (a
-- lease in `locked_until`), posts them signed, and records every attempt.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type   TEXT      NOT NULL,
    -- what the event is about: 'parts_request', 'shipment', 'ticket', 'claim'; with the id,
    -- the ordering key a receiver uses to drop stale updates (`sequence` grows per object)
    object_kind  TEXT      NOT NULL,
    object_id    BIGINT    NOT NULL,
    sequence     BIGINT    NOT NULL,
    -- the station the object belongs to, and that station's path in the tree (the scope)
    station_id   BIGINT    REFERENCES locations (id),
    scope_path   TEXT      NOT NULL,
    payload      TEXT      NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX events_object_idx ON events (object_kind, object_id, sequence);
CREATE INDEX events_created_idx ON events (created_at);

CREATE TABLE webhook_subscriptions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id         BIGINT    NOT NULL REFERENCES users (id),
    -- the subtree whose events it may receive (the owner's location path); NULL: the network
    scope_path       TEXT,
    url              TEXT      NOT NULL,
    -- the event types, comma separated
    event_types      TEXT      NOT NULL,
    secret           TEXT      NOT NULL,
    previous_secret  TEXT,
    previous_until   TIMESTAMP,
    active           BOOLEAN   NOT NULL,
    paused_reason    TEXT,
    failing_since    TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id  BIGINT    NOT NULL REFERENCES webhook_subscriptions (id),
    event_id         BIGINT    NOT NULL REFERENCES events (id),
    -- pending, delivered, failed (given up after a day of retries)
    status           TEXT      NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER   NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP NOT NULL,
    locked_until     TIMESTAMP,
    last_status_code INTEGER,
    last_error       TEXT,
    last_latency_ms  BIGINT,
    created_at       TIMESTAMP NOT NULL,
    delivered_at     TIMESTAMP,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);

CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id  BIGINT    NOT NULL REFERENCES webhook_deliveries (id),
    at           TIMESTAMP NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    latency_ms   BIGINT    NOT NULL
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);
