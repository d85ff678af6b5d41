-- The recovery case workflow: queues and who belongs to them, the case's lifecycle timestamps
-- and outcome, every contact attempt, and an append-only history of every change.

CREATE TABLE queues (
    name        text        PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Cases are routed to 'default' when no rule matches, so it always exists.
INSERT INTO queues (name, description) VALUES ('default', 'Cases no routing rule matched');

CREATE TABLE agent_queues (
    agent_id   bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    queue      text   NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, queue)
);

ALTER TABLE agents ADD COLUMN disabled_at timestamptz;

ALTER TABLE recovery_cases
    ADD COLUMN claimed_at        timestamptz,
    ADD COLUMN first_attempt_at  timestamptz,
    ADD COLUMN first_contact_at  timestamptz,
    ADD COLUMN resolved_at       timestamptz,
    ADD COLUMN closed_at         timestamptz,
    ADD COLUMN failed_attempts   integer NOT NULL DEFAULT 0,
    ADD COLUMN root_cause        text,
    ADD COLUMN resolution        jsonb,
    ADD COLUMN customer_reaction text,
    ADD COLUMN follow_up_outcome text,
    ADD COLUMN updated_at        timestamptz NOT NULL DEFAULT now();

ALTER TABLE recovery_cases
    ADD CONSTRAINT recovery_cases_owner_fk FOREIGN KEY (owner_id) REFERENCES agents (id);

CREATE INDEX recovery_cases_queue_idx ON recovery_cases (queue) WHERE status <> 'closed';

CREATE TABLE contact_attempts (
    id           bigserial   PRIMARY KEY,
    case_id      bigint      NOT NULL REFERENCES recovery_cases (id),
    agent_id     bigint      NOT NULL REFERENCES agents (id),
    attempted_at timestamptz NOT NULL DEFAULT now(),
    channel      text        NOT NULL,
    reached      boolean     NOT NULL,
    note         text        NOT NULL DEFAULT ''
);

CREATE INDEX contact_attempts_case_idx ON contact_attempts (case_id, attempted_at);

-- One row per change of a case, numbered with the case's seq at that change. Rows are never
-- updated or deleted: the trigger below refuses it, so the history is evidence, not a log.
CREATE TABLE case_history (
    id          bigserial   PRIMARY KEY,
    case_id     bigint      NOT NULL REFERENCES recovery_cases (id),
    seq         integer     NOT NULL,
    kind        text        NOT NULL,
    actor_id    bigint      REFERENCES agents (id),
    actor       text        NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    data        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    published_at timestamptz,
    CONSTRAINT case_history_seq_uniq UNIQUE (case_id, seq)
);

CREATE INDEX case_history_unpublished_idx ON case_history (id) WHERE published_at IS NULL;

CREATE FUNCTION case_history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Marking an event as published is bookkeeping, not history: it is the one change allowed.
    IF TG_OP = 'UPDATE'
       AND (NEW.id, NEW.case_id, NEW.seq, NEW.kind, NEW.actor_id, NEW.actor, NEW.occurred_at,
            NEW.data)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.case_id, OLD.seq, OLD.kind, OLD.actor_id, OLD.actor, OLD.occurred_at,
            OLD.data)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'case_history is append-only (% refused)', TG_OP;
END;
$$;

CREATE TRIGGER case_history_append_only
    BEFORE UPDATE OR DELETE ON case_history
    FOR EACH ROW EXECUTE FUNCTION case_history_is_append_only();

-- The router opens cases without knowing about history; the opening is recorded here so every
-- case's history starts at its first seq whoever inserted it. It was published as the alert.
CREATE FUNCTION case_history_record_opening() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_history (case_id, seq, kind, actor, occurred_at, data, published_at)
    VALUES (NEW.id, NEW.seq, 'opened', 'router', NEW.opened_at,
            jsonb_build_object('queue', NEW.queue, 'priority', NEW.priority), NEW.opened_at);
    RETURN NEW;
END;
$$;

CREATE TRIGGER recovery_cases_record_opening
    AFTER INSERT ON recovery_cases
    FOR EACH ROW EXECUTE FUNCTION case_history_record_opening();

-- Cases opened before this migration get their opening too, so no history starts empty.
INSERT INTO case_history (case_id, seq, kind, actor, occurred_at, data, published_at)
SELECT id, 1, 'opened', 'router', opened_at,
       jsonb_build_object('queue', queue, 'priority', priority), opened_at
FROM recovery_cases;

-- What a console shows for a case: the survey side (as in case_summaries) and the workflow side.
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
       c.updated_at
FROM recovery_cases c
JOIN survey_responses r ON r.id = c.survey_response_id
LEFT JOIN agents a ON a.id = c.owner_id;
