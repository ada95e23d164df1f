DROP TRIGGER locations_revise_routing ON locations;
CREATE TRIGGER locations_revise_routing AFTER UPDATE OF code, kind, parent_id, tier ON locations
    FOR EACH STATEMENT EXECUTE FUNCTION master_revised();
