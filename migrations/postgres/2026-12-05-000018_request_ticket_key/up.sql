-- A parts request's ticket is a foreign key (issue 21): the id was stored unchecked, so a request
-- could name a ticket that does not exist. A dangling id names nothing and is cleared.
UPDATE parts_requests SET ticket_id = NULL
    WHERE ticket_id IS NOT NULL AND ticket_id NOT IN (SELECT id FROM tickets);
ALTER TABLE parts_requests
    ADD CONSTRAINT parts_requests_ticket_fkey FOREIGN KEY (ticket_id) REFERENCES tickets (id);
