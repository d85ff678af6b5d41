-- Why a case opened at its priority, kept with the case and in its opening's history entry.
--
-- The router's decision names each step of the priority ladder as a trigger ("nps=2",
-- "reason=billing_error", "heavy_reason=billing_error:2", "customer_segment=gold",
-- "follow_up_requested", "past_recovery_window"), and until now threw them away: an agent or a
-- supervisor asking "why is this P1?" had to work the ladder out from the scores, the reasons'
-- weights of that day and the customer's segment. The router now writes them with the case
-- (a JSON array; NULL for cases opened before this migration, or by an older router during a
-- rolling upgrade), and the opening's history entry carries them as `triggers`.
ALTER TABLE recovery_cases ADD COLUMN triggers jsonb;

-- 0035's statement trigger, the same but for `triggers` in the opening's data when known.
CREATE OR REPLACE FUNCTION recovery_cases_opened() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_keys (survey_response_id, case_id, opened_at)
    SELECT survey_response_id, id, opened_at FROM opened_cases;
    INSERT INTO case_history (case_id, case_opened_at, seq, kind, actor, occurred_at, data,
                              published_at)
    SELECT id, opened_at, seq, 'opened', 'router', opened_at,
           jsonb_build_object('queue', queue, 'priority', priority)
           || CASE WHEN triggers IS NULL THEN '{}'::jsonb
                   ELSE jsonb_build_object('triggers', triggers) END,
           opened_at
    FROM opened_cases ORDER BY id;
    RETURN NULL;
END;
$$;
