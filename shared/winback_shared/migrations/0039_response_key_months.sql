-- A response's month from its id, as a case's comes from case_keys (0035).
--
-- survey_responses is partitioned by month of received_at (0032): a read that knows only a
-- response's id (the customer-matching read's starting response, which the case story and the
-- outcomes read start from) probes every month partition's key index. response_keys names each
-- stored response's id and received_at, but had no index on the id, and its received_at was
-- "the first one, which nothing looks rows up by": a data fix of a response's received_at left
-- it behind. Now something does look rows up by it, so
--
-- * an index on survey_response_id: from a response's id to its month, one probe;
-- * a data fix of a response's received_at carries its key along (before the row moves, if it
--   does), as recovery_cases_move_key does for a case's opening;
-- * the notifier reads the keys (its story, repeat marks and outcomes match customers).
--
-- The router inserts keys in every batch and pays for this index there (one more B-tree
-- insert a response); it never updates received_at, so the trigger costs it nothing.
CREATE INDEX response_keys_response_idx ON response_keys (survey_response_id);

CREATE FUNCTION survey_responses_move_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE response_keys SET received_at = NEW.received_at
    WHERE source = OLD.source AND response_id = OLD.response_id
      AND survey_response_id = OLD.id;
    RETURN NEW;
END;
$$;

CREATE TRIGGER survey_responses_move_key
    BEFORE UPDATE OF received_at ON survey_responses
    FOR EACH ROW WHEN (OLD.received_at IS DISTINCT FROM NEW.received_at)
    EXECUTE FUNCTION survey_responses_move_key();

GRANT SELECT ON response_keys TO winback_notifier;
