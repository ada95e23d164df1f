-- A location that is not active is no source of new reservations: a parts request routes
-- among its station's active centre, central warehouse and lateral centres only. The
-- processes keep those locations with the station's terms (migration `000017`), so a change of
-- `active` revises the master data as a change of code, kind, parent or tier does, and no
-- process keeps routing to a centre closed a moment ago.
DROP TRIGGER locations_revise_routing ON locations;
CREATE TRIGGER locations_revise_routing AFTER UPDATE OF code, kind, parent_id, tier, active ON locations
    FOR EACH STATEMENT EXECUTE FUNCTION master_revised();
