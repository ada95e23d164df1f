-- Issue 26: a parts request planned from the station a process kept (`RoutingCache::
-- kept_station`) writes its event's webhook deliveries in its one statement only when some
-- subscription was active as the station was read; the statement holds only at the master
-- data's revision of that read. So a subscription made, removed, paused or resumed revises the
-- master data, as a change of tiers, parts or locations does, and no process goes on assuming
-- that nobody subscribes.
CREATE TRIGGER webhook_subscriptions_revise AFTER INSERT OR UPDATE OF active OR DELETE ON webhook_subscriptions
    FOR EACH STATEMENT EXECUTE FUNCTION master_revised();
