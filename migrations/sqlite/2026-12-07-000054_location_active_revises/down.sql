DROP TRIGGER locations_revise_update;
CREATE TRIGGER locations_revise_update AFTER UPDATE OF code, kind, parent_id, tier ON locations BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
