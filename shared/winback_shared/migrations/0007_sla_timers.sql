-- SLA timers: every case's contact deadline, stored when the case opens, and when its timers
-- fired. The router opens cases without knowing the notifier's contact targets, so the targets
-- live here (the notifier writes its settings into sla_targets when it starts) and a trigger
-- stamps the deadline in the same statement that opens the case, whoever opens it.

CREATE TABLE sla_targets (
    priority       smallint         PRIMARY KEY CHECK (priority BETWEEN 1 AND 4),
    target_seconds double precision NOT NULL CHECK (target_seconds > 0),
    updated_at     timestamptz      NOT NULL DEFAULT now()
);

-- The shipped defaults (10, 15, 60, 240 minutes), until a notifier writes its own.
INSERT INTO sla_targets (priority, target_seconds) VALUES (1, 600), (2, 900), (3, 3600), (4, 14400);

-- Business hours (WINBACK_BUSINESS_HOURS), also written by the notifier at start-up: local
-- opening and closing minutes per ISO weekday. No rows: deadlines count wall-clock time.
CREATE TABLE sla_business_hours (
    timezone   text     NOT NULL,
    isodow     smallint NOT NULL CHECK (isodow BETWEEN 1 AND 7),
    opens_min  integer  NOT NULL CHECK (opens_min BETWEEN 0 AND 1439),
    closes_min integer  NOT NULL CHECK (closes_min BETWEEN 1 AND 1440),
    CHECK (opens_min < closes_min)
);

-- The moment target_seconds of business time have passed since start. The reference is
-- winback_notifier.business_hours.add_business_time; a test checks the two agree. Local times
-- skipped by a DST change count with the offset before it, as `timestamp AT TIME ZONE` does.
CREATE FUNCTION sla_deadline(start timestamptz, target_seconds double precision)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    zone      text;
    remaining double precision := target_seconds;
    day       date;
    span      record;
    opens     timestamptz;
    closes    timestamptz;
    begins    timestamptz;
    length    double precision;
BEGIN
    SELECT min(h.timezone) INTO zone FROM sla_business_hours h;
    IF zone IS NULL THEN
        RETURN start + make_interval(secs => target_seconds);
    END IF;
    day := (start AT TIME ZONE zone)::date;
    LOOP  -- ends: the notifier only writes hours that open on some day of the week
        FOR span IN
            SELECT h.opens_min, h.closes_min FROM sla_business_hours h
            WHERE h.isodow = extract(isodow FROM day) ORDER BY h.opens_min
        LOOP
            opens := (day + make_interval(mins => span.opens_min)) AT TIME ZONE zone;
            closes := (day + make_interval(mins => span.closes_min)) AT TIME ZONE zone;
            begins := greatest(opens, start);
            CONTINUE WHEN closes <= begins;
            length := extract(epoch FROM closes - begins);
            IF remaining <= length THEN
                RETURN begins + make_interval(secs => remaining);
            END IF;
            remaining := remaining - length;
        END LOOP;
        day := day + 1;
    END LOOP;
END;
$$;

ALTER TABLE recovery_cases
    ADD COLUMN contact_due_at  timestamptz,
    ADD COLUMN sla_warned_at   timestamptz,
    ADD COLUMN sla_breached_at timestamptz,
    -- When the current owner got the case (claim or reassignment); a claim lapses from here.
    ADD COLUMN owned_at        timestamptz,
    ADD COLUMN last_attempt_at timestamptz;

-- A new case gets opened_at + its priority's target (in business time, if hours are set). A revision that raises the priority
-- (a lower number) tightens the deadline to the new priority's target; nothing loosens it.
-- Correcting opened_at (a data fix; nothing in the services moves it) moves the deadline along.
CREATE FUNCTION recovery_cases_contact_deadline() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target_due timestamptz;
BEGIN
    SELECT sla_deadline(NEW.opened_at, t.target_seconds) INTO target_due
    FROM sla_targets t WHERE t.priority = NEW.priority;
    IF TG_OP = 'INSERT' THEN
        NEW.contact_due_at := COALESCE(NEW.contact_due_at, target_due);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.opened_at IS DISTINCT FROM OLD.opened_at THEN
        NEW.contact_due_at := NEW.contact_due_at + (NEW.opened_at - OLD.opened_at);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.priority < OLD.priority THEN
        NEW.contact_due_at := LEAST(NEW.contact_due_at, target_due);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER recovery_cases_stamp_deadline
    BEFORE INSERT OR UPDATE OF priority, opened_at ON recovery_cases
    FOR EACH ROW EXECUTE FUNCTION recovery_cases_contact_deadline();

-- What the timers look for: open cases whose contact clock runs, and claims that may lapse.
CREATE INDEX recovery_cases_contact_due_idx ON recovery_cases (contact_due_at)
    WHERE first_attempt_at IS NULL AND status NOT IN ('resolved', 'closed');
CREATE INDEX recovery_cases_owned_idx ON recovery_cases (owned_at) WHERE status = 'claimed';

-- Claims made before this migration lapse from when they were made.
UPDATE recovery_cases SET owned_at = claimed_at WHERE status = 'claimed';

-- New columns go last: CREATE OR REPLACE VIEW may only add columns at the end.
CREATE OR REPLACE VIEW case_summaries AS
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
       c.contact_due_at
FROM recovery_cases c
JOIN survey_responses r ON r.id = c.survey_response_id;

CREATE OR REPLACE VIEW case_cards AS
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
       c.owned_at
FROM recovery_cases c
JOIN survey_responses r ON r.id = c.survey_response_id
LEFT JOIN agents a ON a.id = c.owner_id;
