-- Ops reports read what was in force, not what the reading shell happens to have configured.
--
-- contact_policies: every contact policy (targets per priority, business hours) the router has
-- stamped deadlines with, from the moment it started using it. The router appends a row at
-- start-up when its policy differs from the latest one; reports show the targets in force over
-- their window from here, so `ops_cli sla` in a shell without the services' settings prints the
-- real targets. Nothing computes deadlines from this table (the router does, from its settings).
CREATE TABLE contact_policies (
    id             bigserial   PRIMARY KEY,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    targets        jsonb       NOT NULL,
    business_hours jsonb,
    recorded_by    text        NOT NULL
);

CREATE INDEX contact_policies_recorded_at_idx ON contact_policies (recorded_at);

-- root_cause_at: when an agent last confirmed the case's root cause. Reopening a case clears
-- resolved_at but not this, so a confirmed cause stays in the root-cause trends. Backfilled
-- from each case's latest resolution in its history.
ALTER TABLE recovery_cases ADD COLUMN root_cause_at timestamptz;

UPDATE recovery_cases c
SET root_cause_at = last.occurred_at
FROM (
    SELECT case_id, max(occurred_at) AS occurred_at
    FROM case_history WHERE kind = 'resolved' GROUP BY case_id
) AS last
WHERE last.case_id = c.id AND c.root_cause IS NOT NULL;

CREATE INDEX recovery_cases_root_cause_at_idx ON recovery_cases (root_cause_at)
    WHERE root_cause IS NOT NULL;
