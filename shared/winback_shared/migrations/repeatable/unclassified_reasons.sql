-- The taxonomy's blind spots: every chosen answer or comment that matched no code, one row per
-- response. `python -m winback_router.recoding blind-spots` reads it (without customer data).
-- A promoter's "thanks, all good" lands here too; needs_recovery tells the complaints apart.
-- (Repeatable: re-applied whenever this file changes; first defined in migration 0004.)

DROP VIEW IF EXISTS unclassified_reasons;

CREATE VIEW unclassified_reasons AS
SELECT r.id          AS survey_response_id,
       r.source,
       r.vendor,
       r.received_at,
       r.needs_recovery,
       c.evidence_source,
       c.evidence
FROM survey_responses r
CROSS JOIN LATERAL jsonb_to_recordset(r.codes) AS c (code text, evidence text, evidence_source text)
WHERE c.code = 'unclassified';

-- Recoding's blind-spots report (router) and BI read it.
GRANT SELECT ON unclassified_reasons TO winback_router, winback_reporting;
