-- A subscription made, removed, paused or resumed revises the master data (see the PostgreSQL migration
-- of the same name).
CREATE TRIGGER webhook_subscriptions_revise_insert AFTER INSERT ON webhook_subscriptions BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
CREATE TRIGGER webhook_subscriptions_revise_update AFTER UPDATE OF active ON webhook_subscriptions BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
CREATE TRIGGER webhook_subscriptions_revise_delete AFTER DELETE ON webhook_subscriptions BEGIN UPDATE master_revision SET revision = random() WHERE id = 1; END;
