-- The router's write of a batch's first deliveries in one round trip (docs/performance.md,
-- "Router: fewer round trips a batch"). A batch used to be BEGIN, the responses' insert,
-- `SELECT now()`, the cases' insert, the cases' summaries read back, COMMIT: six round trips,
-- each of which, on the router's event loop, also waits for the GIL behind its coding thread.
-- Called alone this is one statement, so one transaction: atomic, and its now() is the
-- transaction's start as before. Repeatable: re-applied whenever this file changes.
--
-- Arguments: the responses as arrays in batch order (the columns bulk_store passes, jsonb as
-- text), then per response the case to open if its row is inserted here: a priority (NULL: no
-- case here), a queue, the contact target in microseconds (NULL: no deadline) and the
-- decision's triggers (a JSON array as text: why that priority, migration 0041). The
-- deadline is now() plus that target, i.e. the Python contact_deadline without business hours
-- (with business hours the router passes no cases and opens them itself). `whole`: raise
-- SQLSTATE WBR01 (and so roll everything back) if any key was already stored, for a caller
-- that must then merge those deliveries in one transaction with the rest.
--
-- Returns one row per response inserted: its key, row id, partition key, now(), and its case's
-- summary as row_to_json text (NULL if no case was opened here).
--
-- The triggers argument was added on December 3: a database migrated before keeps the
-- 21-argument definition beside this one, so a router of the previous version still stores
-- its batches (its cases without triggers) until every router runs this one.
CREATE OR REPLACE FUNCTION router_store_first_deliveries(
    p_source text[], p_response_id text[], p_receipt_id text[], p_vendor text[],
    p_received_at timestamptz[], p_survey_id text[], p_submitted_at timestamptz[],
    p_customer text[], p_interaction text[], p_scores text[], p_chosen_reasons text[],
    p_comment text[], p_follow_up_requested boolean[], p_codes text[],
    p_needs_recovery boolean[], p_content_sha256 bytea[], p_vendor_updated_at timestamptz[],
    p_case_priority smallint[], p_case_queue text[], p_case_target_us bigint[],
    p_case_triggers text[], whole boolean)
RETURNS TABLE (source text, response_id text, id bigint, received_at timestamptz,
               opened_at timestamptz, summary text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r_source text[];
    r_response_id text[];
    r_id bigint[];
    r_received_at timestamptz[];
    r_case_id bigint[];
    r_first_received timestamptz;
    r_last_received timestamptz;
BEGIN
    -- Keys first (ON CONFLICT DO NOTHING waits for another router inserting the same key),
    -- each taking its response's id in batch order; then the responses of the keys inserted;
    -- then their cases, in batch order (the trigger on recovery_cases writes each opening).
    WITH d AS (
        SELECT *
        FROM unnest(p_source, p_response_id, p_receipt_id, p_vendor, p_received_at,
                    p_survey_id, p_submitted_at, p_customer, p_interaction, p_scores,
                    p_chosen_reasons, p_comment, p_follow_up_requested, p_codes,
                    p_needs_recovery, p_content_sha256, p_vendor_updated_at,
                    p_case_priority, p_case_queue, p_case_target_us, p_case_triggers)
             WITH ORDINALITY AS d(source, response_id, receipt_id, vendor, received_at,
                                  survey_id, submitted_at, customer, interaction, scores,
                                  chosen_reasons, comment, follow_up_requested, codes,
                                  needs_recovery, content_sha256, vendor_updated_at,
                                  case_priority, case_queue, case_target_us, case_triggers,
                                  position)
    ), keys AS (
        INSERT INTO response_keys (source, response_id, survey_response_id, received_at)
        SELECT source, response_id, nextval('survey_responses_id_seq'), received_at
        FROM d ORDER BY position
        ON CONFLICT (source, response_id) DO NOTHING
        RETURNING source, response_id, survey_response_id
    ), responses AS (
        INSERT INTO survey_responses (
            id, source, response_id, receipt_id, vendor, received_at,
            survey_id, submitted_at, customer, interaction, scores, chosen_reasons, comment,
            follow_up_requested, codes, needs_recovery, content_sha256, vendor_updated_at)
        SELECT k.survey_response_id, d.source, d.response_id, d.receipt_id, d.vendor,
               d.received_at, d.survey_id, d.submitted_at, d.customer::jsonb,
               d.interaction::jsonb, d.scores::jsonb, d.chosen_reasons::jsonb, d.comment,
               d.follow_up_requested, d.codes::jsonb, d.needs_recovery, d.content_sha256,
               d.vendor_updated_at
        FROM d JOIN keys k ON k.source = d.source AND k.response_id = d.response_id
        ORDER BY d.position
        RETURNING id, source, response_id, received_at
    ), cases AS (
        INSERT INTO recovery_cases (survey_response_id, response_received_at, priority, queue,
                                    opened_at, contact_due_at, triggers)
        SELECT r.id, r.received_at, d.case_priority, d.case_queue, now(),
               now() + d.case_target_us * interval '1 microsecond', d.case_triggers::jsonb
        FROM responses r JOIN d ON d.source = r.source AND d.response_id = r.response_id
        WHERE d.case_priority IS NOT NULL
        ORDER BY d.position
        RETURNING id, survey_response_id
    ), opened AS MATERIALIZED (
        -- Each response's case through one map rather than a join: the planner cannot count
        -- the rows an INSERT's RETURNING gives, guessed one, and joined the cases row by row
        -- to the responses (a batch of n compared n * n pairs: 40,000 for 200). Materialised,
        -- so that the map is built once whichever side of a join the planner puts it on.
        SELECT jsonb_object_agg(survey_response_id::text, id) AS case_ids FROM cases
    )
    SELECT array_agg(r.source ORDER BY d.position), array_agg(r.response_id ORDER BY d.position),
           array_agg(r.id ORDER BY d.position), array_agg(r.received_at ORDER BY d.position),
           array_agg((opened.case_ids ->> r.id::text)::bigint ORDER BY d.position)
    INTO r_source, r_response_id, r_id, r_received_at, r_case_id
    FROM responses r
    JOIN d ON d.source = r.source AND d.response_id = r.response_id
    CROSS JOIN opened;

    IF whole AND coalesce(cardinality(r_id), 0) < cardinality(p_source) THEN
        RAISE EXCEPTION 'some responses of the batch were stored before'
            USING ERRCODE = 'WBR01';
    END IF;

    -- A later statement of the function sees the cases inserted above (the view does not,
    -- within the statement that inserts them). Their summaries are read in this month's
    -- partition of cases (each was opened at now()) and in the partitions of the responses'
    -- months (first to last received here), the others pruned when the statement starts,
    -- not probed by case id (docs/operations.md, "Lookups of a case by id alone").
    SELECT min(x), max(x) INTO r_first_received, r_last_received FROM unnest(r_received_at) x;
    RETURN QUERY
    SELECT u.source, u.response_id, u.id, u.received_at, now(), row_to_json(s)::text
    FROM unnest(r_source, r_response_id, r_id, r_received_at, r_case_id)
         WITH ORDINALITY AS u(source, response_id, id, received_at, case_id, position)
    LEFT JOIN case_summaries s
           ON s.case_id = u.case_id AND s.opened_at = now()
          AND s.received_at >= r_first_received AND s.received_at <= r_last_received
    ORDER BY u.position;
END;
$$;

REVOKE EXECUTE ON FUNCTION router_store_first_deliveries(
    text[], text[], text[], text[], timestamptz[], text[], timestamptz[], text[], text[], text[],
    text[], text[], boolean[], text[], boolean[], bytea[], timestamptz[], smallint[], text[],
    bigint[], text[], boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION router_store_first_deliveries(
    text[], text[], text[], text[], timestamptz[], text[], timestamptz[], text[], text[], text[],
    text[], text[], boolean[], text[], boolean[], bytea[], timestamptz[], smallint[], text[],
    bigint[], text[], boolean) TO winback_router;
