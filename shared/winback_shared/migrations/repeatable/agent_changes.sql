-- The functions behind the agent-change outbox's triggers (the triggers themselves are table
-- wiring, in migration 0006, which says why the outbox exists). Repeatable: re-applied whenever
-- this file changes.

-- Trigger agents_announce_changes: a change to what a console shows of an agent.
CREATE OR REPLACE FUNCTION agent_changes_from_agents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agent_changes (agent_id) VALUES (NEW.id);
    RETURN NULL;
END;
$$;

-- Trigger agent_queues_announce_changes. A new agent's first memberships are no change anybody
-- is watching: the transaction creating it names it in `winback.new_agent_id`
-- (transaction-local, see agents.issue_token).
CREATE OR REPLACE FUNCTION agent_changes_from_memberships() RETURNS trigger LANGUAGE plpgsql AS $$
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
