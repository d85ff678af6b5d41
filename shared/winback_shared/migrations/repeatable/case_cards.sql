-- What a console shows for a case, defined once: the survey side and the workflow side of the
-- case (case_cards, read by the notifier), and its survey side alone (case_summaries, the
-- router's alert: a projection of the card, so the two can never disagree on what they share).
-- Column names and order are what the Python callers read (CaseCard, CaseSummary).
--
-- A repeatable file (see winback_shared.migrations): re-applied whole after the numbered
-- migrations whenever it changes, so edit the definition here and the change shows as a diff.
-- Drop and create, not CREATE OR REPLACE, so a column may go or move; both views are in this
-- one file because case_summaries depends on case_cards.
--
-- The response is joined on its whole key, (id, received_at), held equal to the case's
-- (survey_response_id, response_received_at) by their composite foreign key (migration 0032):
-- a read of one case, by id and month (winback_shared.case_months), then reads its response
-- in that response's month partition alone, where by id alone it would probe every month's.

DROP VIEW IF EXISTS case_summaries;
DROP VIEW IF EXISTS case_cards;

CREATE VIEW case_cards AS
SELECT c.id                  AS case_id,
       c.seq,
       c.status,
       c.priority,
       c.queue,
       c.alerted_at,
       r.source,
       r.response_id,
       r.customer,
       r.interaction,
       r.scores,
       r.codes               AS reasons,
       r.comment,
       r.follow_up_requested,
       r.submitted_at,
       r.received_at,
       c.opened_at,
       c.owner_id,
       a.name                AS owner,
       c.claimed_at,
       c.first_attempt_at,
       c.first_contact_at,
       c.resolved_at,
       c.closed_at,
       c.failed_attempts,
       c.root_cause,
       c.resolution,
       c.customer_reaction,
       c.follow_up_outcome,
       c.updated_at,
       c.contact_due_at,
       c.sla_warned_at,
       c.sla_breached_at,
       c.owned_at,
       c.call_back_due_at,
       c.call_back_missed_at,
       c.wrong_number_at
FROM recovery_cases c
JOIN survey_responses r ON r.id = c.survey_response_id AND r.received_at = c.response_received_at
LEFT JOIN agents a ON a.id = c.owner_id;

-- PostgreSQL drops the unused join to agents (a LEFT JOIN on its primary key) from plans that
-- read only these columns.
CREATE VIEW case_summaries AS
SELECT case_id, seq, status, priority, queue, alerted_at, source, response_id, customer,
       interaction, scores, reasons, comment, follow_up_requested, submitted_at, received_at,
       opened_at, contact_due_at
FROM case_cards;

-- Dropping a view drops its grants: they are given again here (roles: migration 0016).
GRANT SELECT ON case_cards TO winback_notifier, winback_reporting;
GRANT SELECT ON case_summaries TO winback_router, winback_notifier, winback_reporting;
