-- The functions behind case_history's triggers (the triggers themselves are table wiring, in
-- migrations 0003 and 0015; the hash chain's and the TRUNCATE guard's functions live in 0015,
-- which says why). Repeatable: re-applied whenever this file changes.

-- Rows are never updated or deleted: the history is evidence, not a log
-- (trigger case_history_append_only; TRUNCATE is refused by case_history_no_truncate).
CREATE OR REPLACE FUNCTION case_history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Marking an event as published is bookkeeping, not history: the one change allowed, from
    -- NULL to a time, once.
    IF TG_OP = 'UPDATE'
       AND (NEW.id, NEW.case_id, NEW.seq, NEW.kind, NEW.actor_id, NEW.actor, NEW.occurred_at,
            NEW.data, NEW.prev_hash, NEW.row_hash)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.case_id, OLD.seq, OLD.kind, OLD.actor_id, OLD.actor, OLD.occurred_at,
            OLD.data, OLD.prev_hash, OLD.row_hash)
       AND (NEW.published_at IS NOT DISTINCT FROM OLD.published_at
            OR (OLD.published_at IS NULL AND NEW.published_at IS NOT NULL))
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'case_history is append-only (% refused)', TG_OP;
END;
$$;

-- The router opens cases without knowing about history; the opening is recorded here so every
-- case's history starts at its first seq whoever inserted it. It was published as the alert
-- (trigger recovery_cases_record_opening).
CREATE OR REPLACE FUNCTION case_history_record_opening() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_history (case_id, seq, kind, actor, occurred_at, data, published_at)
    VALUES (NEW.id, NEW.seq, 'opened', 'router', NEW.opened_at,
            jsonb_build_object('queue', NEW.queue, 'priority', NEW.priority), NEW.opened_at);
    RETURN NEW;
END;
$$;

