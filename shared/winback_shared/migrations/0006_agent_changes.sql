-- Who an agent is (name, role, token, enabled) and where it works (queues) must reach the open
-- consoles at once, across every notifier. Triggers put each such change in an outbox in the
-- same transaction as the change, whoever makes it: the admin API, the admin CLI (which only
-- talks to PostgreSQL), or someone in psql. Notifiers send the outbox to `case-events` as
-- `agent.changed` (one per agent, however many rows) and delete the rows Kafka acknowledged.
-- Rows carry no details: every notifier reloads the agent from here, so order and repeats
-- do not matter.

CREATE TABLE agent_changes (
    id         bigserial   PRIMARY KEY,
    agent_id   bigint      NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION agent_changes_from_agents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agent_changes (agent_id) VALUES (NEW.id);
    RETURN NULL;
END;
$$;

-- A new agent has no console yet; an update only matters when it changes what a console shows
-- or whether its token still works.
CREATE TRIGGER agents_announce_changes
    AFTER UPDATE OF name, role, token_sha256, disabled_at ON agents
    FOR EACH ROW
    WHEN ((OLD.name, OLD.role, OLD.token_sha256, OLD.disabled_at)
          IS DISTINCT FROM (NEW.name, NEW.role, NEW.token_sha256, NEW.disabled_at))
    EXECUTE FUNCTION agent_changes_from_agents();

-- A new agent's first memberships are no change anybody is watching: the transaction creating
-- it names it in `winback.new_agent_id` (transaction-local, see agents.issue_token).
CREATE FUNCTION agent_changes_from_memberships() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT'
       AND NEW.agent_id::text = current_setting('winback.new_agent_id', true) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO agent_changes (agent_id) VALUES (OLD.agent_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO agent_changes (agent_id) VALUES (NEW.agent_id);
    END IF;
    RETURN NULL;
END;
$$;

-- Row triggers fire for cascaded deletes too (a queue dropped by hand takes its memberships).
CREATE TRIGGER agent_queues_announce_changes
    AFTER INSERT OR UPDATE OR DELETE ON agent_queues
    FOR EACH ROW EXECUTE FUNCTION agent_changes_from_memberships();
