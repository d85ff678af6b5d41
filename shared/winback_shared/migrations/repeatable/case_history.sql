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

-- The opening's entry (every case's history starts at its first seq whoever inserted it) is
-- written by recovery_cases_record_opening, created with the partitioned recovery_cases in
-- migration 0035 (it names the case's opening, a column this file's older readers lack).
