-- The swaps of a unit's serialized components (issue 21, spec section 8): a core return in
-- warranty fits a new part in the unit, so the unit's record (unit_components) takes the fitted
-- part's serial and this table keeps what it replaced, for which ticket, by whom and when. The
-- next core return on the unit is checked against the part now in it.
CREATE TABLE unit_swaps (
    id            BIGSERIAL PRIMARY KEY,
    unit_id       BIGINT NOT NULL REFERENCES product_units (id),
    ticket_id     BIGINT NOT NULL REFERENCES tickets (id),
    family        TEXT   NOT NULL,
    -- the part fitted
    part_id       BIGINT NOT NULL REFERENCES parts (id),
    old_serial    TEXT,
    old_production_date DATE,
    new_serial    TEXT,
    swapped_by    TEXT   NOT NULL,
    swapped_at    TIMESTAMP NOT NULL
);
CREATE INDEX unit_swaps_unit_idx ON unit_swaps (unit_id, id);
