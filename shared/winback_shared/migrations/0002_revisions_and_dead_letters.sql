-- Later deliveries of one response (Delighted's comment, Formbricks' finished) revise it;
-- dead letters keep what replaying them needs.

ALTER TABLE survey_responses
    ADD COLUMN content_sha256 bytea,
    ADD COLUMN revision       integer NOT NULL DEFAULT 1,
    ADD COLUMN revised_at     timestamptz;

ALTER TABLE dead_letters
    ADD COLUMN vendor       text,
    ADD COLUMN record_key   bytea,
    ADD COLUMN replay_count integer NOT NULL DEFAULT 0,
    ADD COLUMN replay_of    bigint REFERENCES dead_letters (id);

CREATE INDEX dead_letters_pending_idx ON dead_letters (created_at) WHERE replayed_at IS NULL;
