-- The case history is the audit trail: who owned a case, every attempt, the root cause, what was
-- offered. Migration 0003 refused UPDATE and DELETE row by row; this closes what that left open.
--
-- 1. TRUNCATE never fires row triggers: a statement-level trigger refuses it (and TRUNCATE of
--    recovery_cases ... CASCADE with it).
-- 2. The one update allowed is the outbox's mark: published_at from NULL to a time, once.
--    Setting it back to NULL (which made the outbox re-send the row) or moving it is refused.
-- 3. Tamper evidence: each row carries row_hash = sha256(prev_hash || the row's content), with
--    prev_hash the row_hash of the same case's previous row (by seq). An edit, a removal or a
--    reordering made behind the application's back (a superuser can disable triggers) breaks
--    the chain; `python -m winback_notifier.cases.audit verify` finds the first broken link.
--
-- The tightened guard (2.) is case_history_is_append_only in repeatable/case_history.sql. The
-- functions defined here stay here, not in a repeatable file: the triggers below need them to
-- exist, and case_history_row_hash must never change in place (every stored chain would break);
-- changing what is hashed is a new migration that re-chains the rows.

CREATE FUNCTION case_history_row_hash(
    prev bytea, case_id bigint, seq integer, kind text, actor_id bigint, actor text,
    occurred_at timestamptz, data jsonb
) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256(
        coalesce(prev, '\x'::bytea)
        || convert_to(
            jsonb_build_array(
                case_id, seq, kind, actor_id, actor,
                to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                data
            )::text,
            'UTF8'
        )
    )
$$;

ALTER TABLE case_history ADD COLUMN prev_hash bytea, ADD COLUMN row_hash bytea;

-- Chain the rows already there, case by case in seq order (the guard is lifted for this only).
ALTER TABLE case_history DISABLE TRIGGER case_history_append_only;
DO $$
DECLARE
    entry record;
    previous_case bigint := NULL;
    previous_hash bytea := NULL;
BEGIN
    FOR entry IN SELECT * FROM case_history ORDER BY case_id, seq LOOP
        IF previous_case IS DISTINCT FROM entry.case_id THEN
            previous_hash := NULL;
            previous_case := entry.case_id;
        END IF;
        UPDATE case_history
        SET prev_hash = previous_hash,
            row_hash = case_history_row_hash(previous_hash, entry.case_id, entry.seq, entry.kind,
                                             entry.actor_id, entry.actor, entry.occurred_at,
                                             entry.data)
        WHERE id = entry.id
        RETURNING row_hash INTO previous_hash;
    END LOOP;
END;
$$;
ALTER TABLE case_history ENABLE TRIGGER case_history_append_only;
ALTER TABLE case_history ALTER COLUMN row_hash SET NOT NULL;

CREATE FUNCTION case_history_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT row_hash INTO NEW.prev_hash
    FROM case_history
    WHERE case_id = NEW.case_id AND seq < NEW.seq
    ORDER BY seq DESC
    LIMIT 1;
    NEW.row_hash := case_history_row_hash(NEW.prev_hash, NEW.case_id, NEW.seq, NEW.kind,
                                          NEW.actor_id, NEW.actor, NEW.occurred_at, NEW.data);
    RETURN NEW;
END;
$$;

CREATE TRIGGER case_history_chain
    BEFORE INSERT ON case_history
    FOR EACH ROW EXECUTE FUNCTION case_history_chain();

CREATE FUNCTION refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (TRUNCATE refused)', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER case_history_no_truncate
    BEFORE TRUNCATE ON case_history
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
