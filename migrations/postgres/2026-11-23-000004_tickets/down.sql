DROP TABLE follow_ups;
DROP TABLE ticket_events;
DROP TABLE ticket_parts;
DROP TABLE ticket_quotes;
DROP TABLE tickets;
