-- The catalogue: parts with self-checking codes, product models with warranty terms, the bill
-- of service parts (compatibility), and the product units sold with their inspection records.
CREATE TABLE parts (
    id                 BIGSERIAL PRIMARY KEY,
    -- <LINE>-<FAMILY>-<SEQ><CHECK>; line, family and seq are kept apart for lookups
    code               TEXT    NOT NULL UNIQUE,
    line               TEXT    NOT NULL,
    family             TEXT    NOT NULL,
    seq                INTEGER NOT NULL CHECK (seq BETWEEN 1 AND 99999),
    name               TEXT    NOT NULL,
    unit_of_measure    TEXT    NOT NULL,
    unit_cost_minor    BIGINT  NOT NULL CHECK (unit_cost_minor >= 0),
    sale_price_minor   BIGINT  NOT NULL CHECK (sale_price_minor >= 0),
    serialized         BOOLEAN NOT NULL,
    core_returnable    BOOLEAN NOT NULL,
    weight_grams       INTEGER NOT NULL CHECK (weight_grams >= 0),
    lifecycle          TEXT    NOT NULL CHECK (lifecycle IN ('active', 'phase_out', 'obsolete')),
    superseded_by      BIGINT  REFERENCES parts (id),
    interchangeability TEXT    CHECK (interchangeability IN ('one_way', 'two_way')),
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (line, family, seq),
    CHECK ((superseded_by IS NULL) = (interchangeability IS NULL))
);
CREATE INDEX parts_family_code_idx ON parts (family, code);
CREATE INDEX parts_superseded_by_idx ON parts (superseded_by);

CREATE TABLE product_models (
    id                BIGSERIAL PRIMARY KEY,
    code              TEXT    NOT NULL UNIQUE,
    line              TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    launch_date       DATE    NOT NULL,
    end_of_production DATE,
    -- whole-unit warranty, months from the ship date
    warranty_months   INTEGER NOT NULL CHECK (warranty_months >= 0),
    created_at        TIMESTAMP NOT NULL,
    CHECK (end_of_production IS NULL OR end_of_production >= launch_date)
);
CREATE INDEX product_models_line_code_idx ON product_models (line, code);

-- longer terms for named components (family code -> months), e.g. CMP 120
CREATE TABLE model_component_warranties (
    model_id BIGINT  NOT NULL REFERENCES product_models (id),
    family   TEXT    NOT NULL,
    months   INTEGER NOT NULL CHECK (months > 0),
    PRIMARY KEY (model_id, family)
);

-- the bill of service parts: which parts fit which models, how many per unit
CREATE TABLE compatibility (
    model_id     BIGINT  NOT NULL REFERENCES product_models (id),
    part_id      BIGINT  NOT NULL REFERENCES parts (id),
    qty_per_unit INTEGER NOT NULL CHECK (qty_per_unit > 0),
    PRIMARY KEY (model_id, part_id)
);
CREATE INDEX compatibility_part_idx ON compatibility (part_id);

CREATE TABLE product_units (
    id         BIGSERIAL PRIMARY KEY,
    serial     TEXT   NOT NULL UNIQUE,
    model_id   BIGINT NOT NULL REFERENCES product_models (id),
    ship_date  DATE   NOT NULL,
    region     TEXT   NOT NULL,
    created_at TIMESTAMP NOT NULL
);
-- installed base per model per region
CREATE INDEX product_units_model_region_idx ON product_units (model_id, region);

-- the factory inspection record: each serialized component fitted
CREATE TABLE unit_components (
    id              BIGSERIAL PRIMARY KEY,
    unit_id         BIGINT NOT NULL REFERENCES product_units (id),
    family          TEXT   NOT NULL,
    part_id         BIGINT REFERENCES parts (id),
    serial          TEXT,
    production_date DATE,
    CHECK (serial IS NOT NULL OR production_date IS NOT NULL)
);
CREATE INDEX unit_components_unit_idx ON unit_components (unit_id);
CREATE INDEX unit_components_serial_idx ON unit_components (serial);
