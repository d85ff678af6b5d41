-- Contact deadlines are computed in Python from now on (winback_shared.deadlines.contact_deadline),
-- by the router as it opens a case or a revision raises its priority, from its own
-- WINBACK_CONTACT_TARGET_MINUTES and WINBACK_BUSINESS_HOURS. The copy of that rule in plpgsql
-- (migration 0007) goes, and with it the tables the notifiers rewrote at start-up to feed it.
--
-- What the trigger did and where it went:
--   * a new case got opened_at + its priority's target: router store.open_case;
--   * a revision raising the priority tightened the deadline: router store.revise_response;
--   * correcting opened_at by hand moved the deadline along: nothing in the services moves
--     opened_at; a data fix now moves contact_due_at in the same UPDATE (docs/operations.md).
-- Stored deadlines stay as they are. Open cases without one are given one by the notifier at
-- start-up (winback_notifier.sla.startup), as before.

DROP TRIGGER IF EXISTS recovery_cases_stamp_deadline ON recovery_cases;
DROP FUNCTION IF EXISTS recovery_cases_contact_deadline();
DROP FUNCTION IF EXISTS sla_deadline(timestamptz, double precision);
DROP TABLE IF EXISTS sla_business_hours;
DROP TABLE IF EXISTS sla_targets;
