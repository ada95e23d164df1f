ALTER TABLE stock_movements RENAME TO stock_movements_parted;
ALTER SEQUENCE stock_movements_id_seq OWNED BY NONE;
ALTER TABLE stock_movements_parted DROP CONSTRAINT stock_movements_pkey;
DROP INDEX stock_movements_part_idx, stock_movements_from_idx, stock_movements_to_idx,
    stock_movements_reference_idx, stock_movements_at_idx, stock_movements_ticket_idx;
CREATE TABLE stock_movements (
    id               BIGINT PRIMARY KEY DEFAULT nextval('stock_movements_id_seq'),
    part_id          BIGINT NOT NULL REFERENCES parts (id),
    qty              BIGINT NOT NULL CHECK (qty > 0),
    from_location_id BIGINT NOT NULL REFERENCES locations (id),
    to_location_id   BIGINT NOT NULL REFERENCES locations (id),
    reason           TEXT   NOT NULL,
    reference        TEXT,
    actor            TEXT,
    at               TIMESTAMP NOT NULL,
    serials          TEXT,
    ticket_id        BIGINT REFERENCES tickets (id),
    CHECK (from_location_id <> to_location_id)
);
ALTER SEQUENCE stock_movements_id_seq OWNED BY stock_movements.id;
INSERT INTO stock_movements SELECT * FROM stock_movements_parted;
DROP TABLE stock_movements_parted;
DROP FUNCTION echelon_movement_partition(DATE);
CREATE INDEX stock_movements_part_idx ON stock_movements (part_id, id);
CREATE INDEX stock_movements_from_idx ON stock_movements (from_location_id, id);
CREATE INDEX stock_movements_to_idx ON stock_movements (to_location_id, id);
CREATE INDEX stock_movements_reference_idx ON stock_movements (reference);
CREATE INDEX stock_movements_at_idx ON stock_movements (at);
CREATE INDEX stock_movements_ticket_idx ON stock_movements (ticket_id) WHERE ticket_id IS NOT NULL;
