-- Every transaction that appends change records tells the database's listeners when it
-- commits (PostgreSQL delivers a notification at commit, once per channel and payload), so
-- that the sync workers of every node wake at once instead of at their next poll. The payload
-- is the schema, since several deployments (and tests) may share one database.
CREATE FUNCTION entrasync_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('entrasync_changes', current_schema());
    RETURN NULL;
END;
$$;
CREATE TRIGGER changes_notify AFTER INSERT ON changes
    FOR EACH STATEMENT EXECUTE FUNCTION entrasync_notify_changes();
