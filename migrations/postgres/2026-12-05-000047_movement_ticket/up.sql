-- The ticket a loan's movements serve (lent, consumed, returned), so that settlement takes the
-- ledger's consumption of exactly the tickets it settles, whatever month the part was consumed
-- in (a part fitted on the 30th for a ticket completed on the 2nd belongs to the later month).
ALTER TABLE stock_movements ADD COLUMN ticket_id BIGINT REFERENCES tickets (id);
UPDATE stock_movements SET ticket_id = (
    SELECT l.ticket_id FROM loans l
    WHERE stock_movements.reference = 'loan:' || l.id
       OR stock_movements.reference LIKE 'loan:' || l.id || '/%'
)
WHERE reference LIKE 'loan:%';
CREATE INDEX stock_movements_ticket_idx ON stock_movements (ticket_id) WHERE ticket_id IS NOT NULL;
