-- How each call went, and the call-back a customer asks for (issue 17, "Reach them now").
--
-- contact_attempts gains the attempt's outcome (no answer, voicemail left, wrong number,
-- reached, call later: winback_shared.case_vocabulary.AttemptOutcome) and, for "call later",
-- the moment the customer asked for. Rows logged before keep outcome NULL: readers take it from
-- `reached` (case_vocabulary.outcome_of), so nothing is rewritten and old histories read as
-- they did.
ALTER TABLE contact_attempts
    ADD COLUMN outcome      text,
    ADD COLUMN call_back_at timestamptz,
    ADD CONSTRAINT contact_attempts_call_back_check
        CHECK ((outcome = 'call_later') = (call_back_at IS NOT NULL));

-- The case's next deadline once a customer asked to be called later: set by that attempt,
-- cleared by the next one; the SLA timers flag it when it passes (call_back_missed_at), as
-- they flag a contact deadline. wrong_number_at: the first attempt that found the number is
-- not the customer's; from then on the case may be marked unreachable without more calls.
ALTER TABLE recovery_cases
    ADD COLUMN call_back_due_at    timestamptz,
    ADD COLUMN call_back_missed_at timestamptz,
    ADD COLUMN wrong_number_at     timestamptz;

-- What the scheduler looks for: call-backs not yet flagged, on cases still being worked.
CREATE INDEX recovery_cases_call_back_due_idx ON recovery_cases (call_back_due_at)
    WHERE call_back_missed_at IS NULL AND status NOT IN ('resolved', 'closed');

-- The notifier writes the new columns (column grants, as in 0016: it may set no others).
GRANT UPDATE (call_back_due_at, call_back_missed_at, wrong_number_at)
    ON recovery_cases TO winback_notifier;
