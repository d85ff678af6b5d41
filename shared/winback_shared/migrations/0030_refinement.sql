-- Refinement off the hot path: the router codes with the fast (TF-IDF-only) model and the
-- refiner (`python -m winback_router.refine`) codes again with the sentence-vector model.
--
-- `refine_pending` is the refiner's queue: true while the response's current revision has not
-- been refined. Existing rows were coded with the full model, so they get false; the default
-- then turns true for every row inserted from now on (PostgreSQL keeps the first default for
-- existing rows without rewriting the table). The router sets it true again on a revision; the
-- refiner sets it false in the same transaction as its re-code, so a restart neither loses nor
-- repeats one.
ALTER TABLE survey_responses ADD COLUMN refine_pending boolean NOT NULL DEFAULT false;
ALTER TABLE survey_responses ALTER COLUMN refine_pending SET DEFAULT true;
CREATE INDEX survey_responses_refine_pending ON survey_responses (id) WHERE refine_pending;

-- The refiner records its re-codes as a re-coding run of its own kind.
ALTER TABLE recode_runs DROP CONSTRAINT recode_runs_replay_source_check;
ALTER TABLE recode_runs ADD CONSTRAINT recode_runs_replay_source_check
    CHECK (replay_source IN ('kafka', 'database', 'refine'));
