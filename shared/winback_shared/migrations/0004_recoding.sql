-- Re-coding history: every run of `python -m winback_router.recode` and what it changed, so the
-- codes a response carries today can be traced back through each taxonomy change.

CREATE TABLE recode_runs (
    id              bigserial   PRIMARY KEY,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    status          text        NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'finished', 'failed')),
    taxonomy_sha256 text        NOT NULL,
    replay_source   text        NOT NULL CHECK (replay_source IN ('kafka', 'database')),
    window_since    timestamptz,
    window_until    timestamptz,
    source_filter   text,
    responses_seen    integer   NOT NULL DEFAULT 0,
    responses_changed integer   NOT NULL DEFAULT 0,
    cases_recoded     integer   NOT NULL DEFAULT 0,
    -- the run's whole summary (codes added and removed per code, replay counts, error if any)
    summary         jsonb       NOT NULL DEFAULT '{}'::jsonb
);

-- One row per response a run changed: what it carried before and after, and what that meant
-- for its case. Nothing here is ever updated; a later run adds its own rows.
CREATE TABLE recode_changes (
    id                 bigserial   PRIMARY KEY,
    run_id             bigint      NOT NULL REFERENCES recode_runs (id),
    survey_response_id bigint      NOT NULL REFERENCES survey_responses (id),
    changed_at         timestamptz NOT NULL DEFAULT now(),
    codes_added        text[]      NOT NULL,
    codes_removed      text[]      NOT NULL,
    codes_before       jsonb       NOT NULL,
    codes_after        jsonb       NOT NULL,
    case_id            bigint      REFERENCES recovery_cases (id),
    -- the case's seq at its 'recoded' history entry; null when the case was resolved or closed
    case_seq           integer,
    case_priority      smallint,
    -- the priority the new codes would give; the case keeps case_priority (see the recode docs)
    recoded_priority   smallint,
    CONSTRAINT recode_changes_once_per_run UNIQUE (run_id, survey_response_id)
);

CREATE INDEX recode_changes_response_idx ON recode_changes (survey_response_id, changed_at);

-- The taxonomy's blind spots: every chosen answer or comment that matched no code, one row per
-- response. `python -m winback_router.recode blind-spots` reads it (without customer data).
-- A promoter's "thanks, all good" lands here too; needs_recovery tells the complaints apart.
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
