-- Responses, recovery cases, agents and dead letters: the walking skeleton's schema.

CREATE TABLE survey_responses (
    id                  bigserial PRIMARY KEY,
    source              text        NOT NULL,
    response_id         text        NOT NULL,
    receipt_id          text        NOT NULL,
    vendor              text        NOT NULL,
    survey_id           text,
    submitted_at        timestamptz,
    received_at         timestamptz NOT NULL,
    customer            jsonb       NOT NULL,
    interaction         jsonb       NOT NULL,
    scores              jsonb       NOT NULL,
    chosen_reasons      jsonb       NOT NULL,
    comment             text,
    follow_up_requested boolean     NOT NULL,
    codes               jsonb       NOT NULL,
    needs_recovery      boolean     NOT NULL,
    stored_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT survey_responses_source_response_uniq UNIQUE (source, response_id)
);

CREATE TABLE recovery_cases (
    id           bigserial PRIMARY KEY,
    survey_response_id bigint NOT NULL UNIQUE REFERENCES survey_responses (id),
    status       text        NOT NULL DEFAULT 'open'
                 CHECK (status IN ('open', 'claimed', 'contacted', 'unreachable',
                                   'resolved', 'closed', 'reopened')),
    priority     smallint    NOT NULL CHECK (priority BETWEEN 1 AND 4),
    queue        text        NOT NULL,
    owner_id     bigint,
    seq          integer     NOT NULL DEFAULT 1,
    opened_at    timestamptz NOT NULL DEFAULT now(),
    alerted_at   timestamptz
);

CREATE INDEX recovery_cases_open_idx ON recovery_cases (priority, opened_at)
    WHERE status NOT IN ('resolved', 'closed');

CREATE TABLE agents (
    id           bigserial PRIMARY KEY,
    name         text        NOT NULL UNIQUE,
    role         text        NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    token_sha256 bytea       NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dead_letters (
    id          bigserial PRIMARY KEY,
    receipt_id  text,
    source      text,
    topic       text        NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset bigint     NOT NULL,
    error       text        NOT NULL,
    record      bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    replayed_at timestamptz,
    CONSTRAINT dead_letters_position_uniq UNIQUE (topic, kafka_partition, kafka_offset)
);

-- What a console shows for a case; the router's alert and the notifier's snapshot both read it,
-- so the two can never disagree on shape.
CREATE VIEW case_summaries AS
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
       c.opened_at
FROM recovery_cases c
JOIN survey_responses r ON r.id = c.survey_response_id;
