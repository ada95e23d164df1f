-- A location that is not active is no source of new reservations (see the PostgreSQL migration
-- of the same name): a change of `active` revises the master data the processes keep.
DROP TRIGGER locations_revise_update;
CREATE TRIGGER locations_revise_update AFTER UPDATE OF code, kind, parent_id, tier, active ON locations BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
