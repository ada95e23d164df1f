-- What a parts request reads of the master data (its station's tier terms, its centre, the
-- central warehouse, the lateral lanes, the codes of those locations, and the parts) is kept by
-- each `echelon serve` process between requests. `revision` changes with every row that may
-- change any of it, so a process knows when its copy is stale: a request reads the revision in
-- the statement that reads its station. A random 64-bit value, not a count: a change rolled back
-- never leaves behind a revision that a later change would reuse.
CREATE TABLE master_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT  NOT NULL
);
INSERT INTO master_revision (id, revision) VALUES (1, random());

CREATE TRIGGER tiers_revise_insert AFTER INSERT ON tiers BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
CREATE TRIGGER tiers_revise_delete AFTER DELETE ON tiers BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
CREATE TRIGGER tiers_revise_update AFTER UPDATE ON tiers BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
CREATE TRIGGER lateral_lanes_revise_insert AFTER INSERT ON lateral_lanes BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
CREATE TRIGGER lateral_lanes_revise_delete AFTER DELETE ON lateral_lanes BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
CREATE TRIGGER lateral_lanes_revise_update AFTER UPDATE ON lateral_lanes BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
CREATE TRIGGER parts_revise_insert AFTER INSERT ON parts BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
CREATE TRIGGER parts_revise_delete AFTER DELETE ON parts BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
CREATE TRIGGER parts_revise_update AFTER UPDATE ON parts BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
CREATE TRIGGER locations_revise_insert AFTER INSERT ON locations BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
CREATE TRIGGER locations_revise_delete AFTER DELETE ON locations BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
-- not the running outstanding value, which every parts request updates
CREATE TRIGGER locations_revise_update AFTER UPDATE OF code, kind, parent_id, tier ON locations BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
