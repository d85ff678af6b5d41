-- board_changes: which transactions changed what a console's board shows, so the notifier can
-- tell whether a board it read a moment ago still holds (live.board: a board read for one
-- console is handed to the consoles signing in just after, only if no such transaction
-- committed since that read's snapshot of the database).
--
-- One row per transaction that changed a case, a card's survey side (of a response that has a
-- case) or an owner's name: its transaction id. The notifier keeps the snapshot its board read
-- ran in (pg_current_snapshot(), in the read's own transaction) and asks whether a row exists
-- whose transaction that snapshot does not see: one probe of the key from the snapshot's xmin.
--
-- Why not a counter row bumped by every writer: the row lock would serialise every
-- case-writing transaction (the router's batches are held across their Kafka publish) and
-- could deadlock with their case-row locks. Why not max(case_history.id) or a sequence: ids
-- are taken in one order and committed in another, so a transaction that took an id before the
-- read and commits after it is invisible to a comparison of maxima. An insert per transaction
-- takes no lock anybody else waits for, and a transaction id says exactly whether a snapshot
-- saw it.
--
-- The triggers are BEFORE ROW with a WHEN on a transaction-local setting: the first row of a
-- transaction records it and sets the setting, every later row of that transaction is skipped
-- without a function call (a batch of 500 cases costs one insert). A savepoint rolled back
-- takes both the row and the setting with it. A change of a closed case is recorded too
-- (harmless: it only costs a reuse). Not recorded: a partition dropped by retention (closed
-- cases only) and hand edits with the triggers disabled.
--
-- The rows are needed for a few seconds (the reuse window, WINBACK_BOARD_REUSE_SECONDS, at
-- most 10 s, plus the longest case-writing transaction, see live.cursor.OVERLAP): now and then
-- a writer deletes those older than ten minutes, one writer at a time (a try-lock, so nobody
-- ever waits for another's prune).

CREATE TABLE board_changes (
    xid xid8 PRIMARY KEY,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION board_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_ARGV[0] = 'response' AND NOT EXISTS (
        SELECT 1 FROM case_keys WHERE survey_response_id = NEW.id
    ) THEN
        RETURN NEW;  -- a response without a case is on no board
    END IF;
    INSERT INTO board_changes (xid) VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
    PERFORM set_config('winback.board_changed', 'on', true);
    IF random() < 0.01 AND pg_try_advisory_xact_lock(8387235662177281845) THEN
        DELETE FROM board_changes WHERE changed_at < now() - interval '10 minutes';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER recovery_cases_board_changed
    BEFORE INSERT OR UPDATE OR DELETE ON recovery_cases
    FOR EACH ROW
    WHEN (current_setting('winback.board_changed', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION board_changed('case');

-- What a card shows of its response (the case_cards view): a revision, a re-coding, the
-- refiner's codes. Other columns (refine_pending, ...) are on no card.
CREATE TRIGGER survey_responses_board_changed
    BEFORE UPDATE ON survey_responses
    FOR EACH ROW
    WHEN (current_setting('winback.board_changed', true) IS DISTINCT FROM 'on'
          AND (OLD.source, OLD.response_id, OLD.customer, OLD.interaction, OLD.scores,
               OLD.codes, OLD.comment, OLD.follow_up_requested, OLD.submitted_at,
               OLD.received_at)
              IS DISTINCT FROM
              (NEW.source, NEW.response_id, NEW.customer, NEW.interaction, NEW.scores,
               NEW.codes, NEW.comment, NEW.follow_up_requested, NEW.submitted_at,
               NEW.received_at))
    EXECUTE FUNCTION board_changed('response');

-- A card names its owner.
CREATE TRIGGER agents_board_changed
    BEFORE UPDATE OF name ON agents
    FOR EACH ROW
    WHEN (current_setting('winback.board_changed', true) IS DISTINCT FROM 'on'
          AND OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION board_changed('agent');

-- Every writer of cases, responses or agents' names records; only the notifier reads.
GRANT SELECT, INSERT, DELETE ON board_changes TO winback_router, winback_notifier;
