-- What each line found at its first-choice source when it was routed: the basis of the
-- fill-rate and stock-out KPIs ("allocated from the first-choice source at request time").
ALTER TABLE parts_request_lines ADD COLUMN first_source_id BIGINT REFERENCES locations (id);
ALTER TABLE parts_request_lines ADD COLUMN first_filled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE parts_request_lines ADD COLUMN first_stockout BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE parts_request_lines ADD COLUMN routed_at TIMESTAMP;
