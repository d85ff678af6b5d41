-- survey_responses, partitioned by month of received_at (UTC), like case_history (0024), so
-- that retention removes a month of responses by dropping its partition (issue 16).
--
-- A partitioned table's unique keys must hold the partition key, so (source, response_id)
-- can no longer be unique on survey_responses itself: a redelivery or revision arriving in a
-- later month than the original would be a second response and open a second case. The
-- router's idempotency moves to response_keys, a narrow unpartitioned table whose primary key
-- is (source, response_id) and which names the stored row (survey_response_id, received_at).
-- The router inserts a batch's keys and responses in one statement (the keys with ON CONFLICT
-- DO NOTHING, the responses for the keys it inserted), and looks a stored response up through
-- its key: one probe of the key's index, then one partition.
--
-- survey_responses' key becomes (id, received_at). The tables that refer to it,
-- recovery_cases and recode_changes, get response_received_at and composite foreign keys;
-- a BEFORE INSERT trigger fills the column from the response when an insert leaves it out
-- (tools and tests that name survey_response_id only), the router passes it itself.
-- ensure_month_partitions moves rows out of the DEFAULT partition by deleting them there
-- before the new month partition is attached: it lifts the foreign keys referring to the
-- table for that move and puts them back (checked again) after.
--
-- The table is rebuilt as 0024 rebuilt case_history: same columns in the same order (copied
-- with LIKE, so a column another migration added comes along), rows copied, the non-unique
-- indexes re-created from their definitions, the id sequence and grants kept. The views that
-- read it are dropped here and put back by their repeatable files, which run after any
-- numbered migration.

DROP VIEW IF EXISTS case_summaries;
DROP VIEW IF EXISTS case_cards;
DROP VIEW IF EXISTS unclassified_reasons;

CREATE TEMPORARY TABLE survey_responses_indexes ON COMMIT DROP AS
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
WHERE i.indrelid = 'survey_responses'::regclass AND NOT i.indisunique;

DO $$
DECLARE
    old_index text;
BEGIN
    FOR old_index IN SELECT name FROM survey_responses_indexes LOOP
        EXECUTE format('DROP INDEX %s', old_index);
    END LOOP;
END;
$$;

ALTER TABLE recovery_cases DROP CONSTRAINT recovery_cases_survey_response_id_fkey;
ALTER TABLE recode_changes DROP CONSTRAINT recode_changes_survey_response_id_fkey;

ALTER SEQUENCE survey_responses_id_seq OWNED BY NONE;
ALTER TABLE survey_responses RENAME TO survey_responses_unpartitioned;
ALTER INDEX survey_responses_pkey RENAME TO survey_responses_unpartitioned_pkey;
ALTER TABLE survey_responses_unpartitioned
    RENAME CONSTRAINT survey_responses_source_response_uniq TO survey_responses_unpartitioned_uniq;

CREATE TABLE survey_responses (
    LIKE survey_responses_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    CONSTRAINT survey_responses_pkey PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);

ALTER SEQUENCE survey_responses_id_seq OWNED BY survey_responses.id;

CREATE TABLE survey_responses_default PARTITION OF survey_responses DEFAULT;

-- The router's idempotency: one row per (source, response id) ever stored, kept until the
-- retention job retires the response it names. No foreign key to survey_responses: the job
-- drops a month of responses first, then deletes their keys, in one transaction.
CREATE TABLE response_keys (
    source             text        NOT NULL,
    response_id        text        NOT NULL,
    survey_response_id bigint      NOT NULL,
    received_at        timestamptz NOT NULL,
    CONSTRAINT response_keys_pkey PRIMARY KEY (source, response_id)
);

-- No other index: every insert of a response pays for each. The retention job finds a retired
-- month's keys through their primary key, from the rows it retires.

-- The months the rows already there belong to, one statement each; ensure_month_partitions
-- below adds the current one and three ahead.
DO $$
BEGIN
    EXECUTE coalesce((
        SELECT string_agg(format(
                   'CREATE TABLE %I PARTITION OF survey_responses FOR VALUES FROM (%L) TO (%L)',
                   'survey_responses_p' || to_char(m.first_day, 'YYYYMM'),
                   m.first_day AT TIME ZONE 'UTC',
                   (m.first_day + interval '1 month') AT TIME ZONE 'UTC'), '; ')
        FROM (SELECT DISTINCT date_trunc('month', received_at AT TIME ZONE 'UTC') AS first_day
              FROM survey_responses_unpartitioned) m
    ), 'SELECT 1');
END;
$$;

INSERT INTO survey_responses SELECT * FROM survey_responses_unpartitioned;

INSERT INTO response_keys (source, response_id, survey_response_id, received_at)
SELECT source, response_id, id, received_at FROM survey_responses_unpartitioned;

DROP TABLE survey_responses_unpartitioned;

DO $$
DECLARE
    definition text;
BEGIN
    FOR definition IN SELECT s.definition FROM survey_responses_indexes s LOOP
        EXECUTE definition;  -- "ON <schema>.survey_responses": now the partitioned table
    END LOOP;
END;
$$;

-- The referring tables: the response's received_at beside its id, and composite keys. A data
-- fix that moves a response's received_at (into another month's partition, perhaps) carries
-- them along (ON UPDATE CASCADE); response_keys keeps the first received_at, which nothing
-- reads to find the row (the router looks it up by id).
ALTER TABLE recovery_cases ADD COLUMN response_received_at timestamptz;
UPDATE recovery_cases c SET response_received_at = r.received_at
FROM survey_responses r WHERE r.id = c.survey_response_id;
ALTER TABLE recovery_cases ALTER COLUMN response_received_at SET NOT NULL;
ALTER TABLE recovery_cases ADD CONSTRAINT recovery_cases_response_fkey
    FOREIGN KEY (survey_response_id, response_received_at)
    REFERENCES survey_responses (id, received_at) ON UPDATE CASCADE;

ALTER TABLE recode_changes ADD COLUMN response_received_at timestamptz;
UPDATE recode_changes ch SET response_received_at = r.received_at
FROM survey_responses r WHERE r.id = ch.survey_response_id;
ALTER TABLE recode_changes ALTER COLUMN response_received_at SET NOT NULL;
ALTER TABLE recode_changes ADD CONSTRAINT recode_changes_response_fkey
    FOREIGN KEY (survey_response_id, response_received_at)
    REFERENCES survey_responses (id, received_at) ON UPDATE CASCADE;

-- An insert that names the response by id alone gets its received_at here (one lookup, which
-- probes each partition's key index); the router names both and skips it.
CREATE FUNCTION fill_response_received_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.response_received_at IS NULL THEN
        SELECT received_at INTO NEW.response_received_at
        FROM survey_responses WHERE id = NEW.survey_response_id;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER recovery_cases_fill_response_received_at
    BEFORE INSERT ON recovery_cases
    FOR EACH ROW EXECUTE FUNCTION fill_response_received_at();

CREATE TRIGGER recode_changes_fill_response_received_at
    BEFORE INSERT ON recode_changes
    FOR EACH ROW EXECUTE FUNCTION fill_response_received_at();

-- ensure_month_partitions (0024) moves a month's rows out of the DEFAULT partition by deleting
-- them there before their new partition is attached; a foreign key referring to the table
-- would refuse that delete (PostgreSQL checks the DEFAULT partition alone, where the rows no
-- longer are). 0024's function keeps its work under another name; the function of that name
-- now lifts the foreign keys referring to the table while rows wait in its DEFAULT partition,
-- calls it, and puts them back, NOT VALID first so that checking the rows already there (a
-- scan of the referring table) blocks no writer. Rows wait there rarely: every service start
-- and every retention run makes the months ahead.
ALTER FUNCTION ensure_month_partitions(regclass, integer) RENAME TO make_month_partitions;
REVOKE EXECUTE ON FUNCTION make_month_partitions(regclass, integer)
    FROM winback_router, winback_notifier, winback_retention;

CREATE FUNCTION ensure_month_partitions(parent regclass, months_ahead integer DEFAULT 3)
RETURNS SETOF text LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    default_part regclass;
    waiting      boolean := false;
    foreign_key  record;
    lifted       text[] := '{}';
    statement    text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ensure_month_partitions'));
    SELECT i.inhrelid::regclass INTO default_part
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
    IF default_part IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT FROM %s)', default_part) INTO waiting;
    END IF;
    IF waiting THEN
        FOR foreign_key IN
            SELECT c.conrelid::regclass AS child, c.conname, pg_get_constraintdef(c.oid) AS def
            FROM pg_constraint c
            WHERE c.confrelid = parent AND c.contype = 'f' AND c.conparentid = 0
        LOOP
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I',
                           foreign_key.child, foreign_key.conname);
            lifted := lifted
                || format('ALTER TABLE %s ADD CONSTRAINT %I %s NOT VALID', foreign_key.child,
                          foreign_key.conname, foreign_key.def)
                || format('ALTER TABLE %s VALIDATE CONSTRAINT %I',
                          foreign_key.child, foreign_key.conname);
        END LOOP;
    END IF;
    RETURN QUERY SELECT * FROM make_month_partitions(parent, months_ahead);
    FOREACH statement IN ARRAY lifted LOOP
        EXECUTE statement;
    END LOOP;
END;
$$;

REVOKE EXECUTE ON FUNCTION ensure_month_partitions(regclass, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_month_partitions(regclass, integer)
    TO winback_router, winback_notifier, winback_retention;

SELECT ensure_month_partitions('survey_responses'::regclass);

-- The grants of migration 0016, on the parent only (no service touches a partition by name).
GRANT SELECT, INSERT, UPDATE ON survey_responses TO winback_router;
GRANT SELECT ON survey_responses TO winback_notifier;
GRANT SELECT ON survey_responses TO winback_reporting;
-- The router inserts keys and reads them; nobody updates one. Reporting may count them.
GRANT SELECT, INSERT ON response_keys TO winback_router;
GRANT SELECT ON response_keys TO winback_reporting;
-- Retention archives a month of responses before the owner's function drops it, and reports
-- rows waiting in the DEFAULT partition (migration 0034 gives it the drop).
GRANT SELECT ON survey_responses, survey_responses_default, response_keys TO winback_retention;
