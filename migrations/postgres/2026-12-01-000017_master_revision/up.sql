-- What a parts request reads of the master data (its station's tier terms, its centre, the
-- central warehouse, the lateral lanes, the codes of those locations, and the parts) is kept by
-- each `echelon serve` process between requests. `revision` changes with every statement that
-- may change any of it, so a process knows when its copy is stale: a request reads the revision
-- in the statement that locks its station. Drawn from a sequence, not counted: a change rolled
-- back never leaves behind a revision that a later change would reuse.
CREATE SEQUENCE master_revision_seq;
CREATE TABLE master_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT  NOT NULL
);
INSERT INTO master_revision (id, revision) VALUES (1, nextval('master_revision_seq'));

CREATE FUNCTION master_revised() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE master_revision SET revision = nextval('master_revision_seq') WHERE id = 1;
    RETURN NULL;
END $$;

CREATE TRIGGER tiers_revise AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tiers
    FOR EACH STATEMENT EXECUTE FUNCTION master_revised();
CREATE TRIGGER lateral_lanes_revise AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON lateral_lanes
    FOR EACH STATEMENT EXECUTE FUNCTION master_revised();
CREATE TRIGGER parts_revise AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON parts
    FOR EACH STATEMENT EXECUTE FUNCTION master_revised();
CREATE TRIGGER locations_revise AFTER INSERT OR DELETE OR TRUNCATE ON locations
    FOR EACH STATEMENT EXECUTE FUNCTION master_revised();
-- not the running outstanding value, which every parts request updates
CREATE TRIGGER locations_revise_routing AFTER UPDATE OF code, kind, parent_id, tier ON locations
    FOR EACH STATEMENT EXECUTE FUNCTION master_revised();
