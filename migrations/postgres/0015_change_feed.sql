-- The change feed: every committed change of what nodes hold in memory (pools, clients,
-- domains, identity providers, signing keys) notifies channel `userpool_config`, so every
-- node reloads at once instead of at its next interval. Row triggers, so a statement that
-- changes nothing (the purge's) sends nothing; notifications are sent on commit and only then,
-- and identical ones within a transaction are folded into one.
CREATE FUNCTION userpool_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('userpool_config', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER pools_changed AFTER INSERT OR UPDATE OR DELETE ON pools
    FOR EACH ROW EXECUTE FUNCTION userpool_config_changed();
CREATE TRIGGER clients_changed AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION userpool_config_changed();
CREATE TRIGGER domains_changed AFTER INSERT OR UPDATE OR DELETE ON domains
    FOR EACH ROW EXECUTE FUNCTION userpool_config_changed();
CREATE TRIGGER identity_providers_changed AFTER INSERT OR UPDATE OR DELETE ON identity_providers
    FOR EACH ROW EXECUTE FUNCTION userpool_config_changed();
CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION userpool_config_changed();
