-- A case's month from its id: the lookups that name a case by id alone (the notifier's case
-- API and workflow, the SLA timers, the router's mark_alerted) read case_keys first and then
-- the one month partition of recovery_cases that holds the case, instead of probing every
-- month's primary key (docs/operations.md, "Lookups of a case by id alone").
--
-- case_keys (0035) already names every case with its opening, written by the statement that
-- opens it, moved along by a data fix of opened_at, deleted with its month by retention. It
-- lacked an index on case_id; this one is unique (a case id is taken from the sequence once)
-- and carries opened_at, so finding a case's month is one index-only probe. It costs one
-- index entry per case, beside the primary key's.
--
-- Building it locks writes to case_keys (opening cases) for the time it takes: about a second
-- per million cases kept; run it outside busy hours on a large database.

CREATE UNIQUE INDEX case_keys_case_id ON case_keys (case_id) INCLUDE (opened_at);

-- An insert into a table that refers to a case by id alone (contact_attempts, case_offers,
-- recode_changes, helpdesk_links, case_history without case_opened_at) gets the case's opening
-- from its key now: one probe instead of one per month partition (was 0035's lookup by id).
CREATE OR REPLACE FUNCTION fill_case_opened_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.case_opened_at IS NULL AND NEW.case_id IS NOT NULL THEN
        SELECT opened_at INTO NEW.case_opened_at FROM case_keys WHERE case_id = NEW.case_id;
    END IF;
    RETURN NEW;
END;
$$;
