-- recovery_cases, partitioned by month of opened_at (UTC), like case_history (0024) and
-- survey_responses (0032), so that retention retires a month of closed cases by dropping its
-- partition (migration 0036) and a year of cases at 1k responses/s is not one table (issue 16).
--
-- A partitioned table's unique keys must hold the partition key: the case's key becomes
-- (id, opened_at), and UNIQUE (survey_response_id), which made "one case per response" a
-- constraint, can no longer hold across months. It moves to case_keys, a narrow unpartitioned
-- table whose primary key is survey_response_id and which names the case (case_id,
-- opened_at). A trigger on recovery_cases writes the keys in the statement that opens the
-- cases, whoever inserts them (router, tools, tests): a second case for a response, in any
-- month and from any transaction, fails on that primary key (waiting for the first
-- transaction, as the unique index did). Why not on response_keys: a case can be opened by a
-- revision long after the response's key was written, and tools insert responses without a
-- key; a separate key written by the database itself guards every path, for one index entry
-- per case (the unique index it replaces cost the same; the per-partition index on
-- survey_response_id kept below serves the joins from a response to its case).
--
-- The tables that refer to a case (case_history, contact_attempts, case_offers,
-- recode_changes, helpdesk_links) get case_opened_at and composite foreign keys to
-- (id, opened_at); a BEFORE INSERT trigger fills it from the case when an insert leaves it
-- out (one lookup by id: a probe of each month partition's key index), the writers that know
-- the opening pass it. No service changes opened_at (their grants do not allow it), so their
-- updates never move a case between partitions; a data fix by the owner (tests backdate cases
-- so) carries the referring rows and the case's key along (ON UPDATE CASCADE, a trigger), and
-- a case moved to another month's partition is not a new opening.
--
-- The table is rebuilt as 0032 rebuilt survey_responses: same columns in the same order
-- (copied with LIKE), rows copied before the triggers exist (no opening is recorded twice),
-- the non-unique indexes re-created from their definitions, the id sequence and every grant
-- (table and column) kept. The views reading it are dropped and put back by their repeatable
-- files, which run after any numbered migration.

DROP VIEW IF EXISTS case_summaries;
DROP VIEW IF EXISTS case_cards;

CREATE TEMPORARY TABLE recovery_cases_indexes ON COMMIT DROP AS
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
WHERE i.indrelid = 'recovery_cases'::regclass AND NOT i.indisunique;

-- The grants, table-wide and per column, to give the new table the same.
CREATE TEMPORARY TABLE recovery_cases_grants ON COMMIT DROP AS
SELECT format('GRANT %s ON recovery_cases TO %s', a.privilege_type,
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END)
       AS statement
FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
WHERE c.oid = 'recovery_cases'::regclass AND a.grantee <> c.relowner
UNION ALL
SELECT format('GRANT %s (%I) ON recovery_cases TO %s', a.privilege_type, att.attname,
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END)
FROM pg_attribute att CROSS JOIN LATERAL aclexplode(att.attacl) a
WHERE att.attrelid = 'recovery_cases'::regclass AND att.attnum > 0 AND NOT att.attisdropped
  AND a.grantee <> (SELECT relowner FROM pg_class WHERE oid = 'recovery_cases'::regclass);

DO $$
DECLARE
    old_index   text;
    foreign_key record;
BEGIN
    FOR old_index IN SELECT name FROM recovery_cases_indexes LOOP
        EXECUTE format('DROP INDEX %s', old_index);
    END LOOP;
    -- The foreign keys to cases by id alone (put back below as composite keys).
    FOR foreign_key IN
        SELECT c.conrelid::regclass AS child, c.conname FROM pg_constraint c
        WHERE c.confrelid = 'recovery_cases'::regclass AND c.contype = 'f'
          AND c.conparentid = 0
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', foreign_key.child,
                       foreign_key.conname);
    END LOOP;
END;
$$;

ALTER SEQUENCE recovery_cases_id_seq OWNED BY NONE;
ALTER TABLE recovery_cases RENAME TO recovery_cases_unpartitioned;
ALTER INDEX recovery_cases_pkey RENAME TO recovery_cases_unpartitioned_pkey;
ALTER INDEX recovery_cases_survey_response_id_key RENAME TO recovery_cases_unpartitioned_uniq;

CREATE TABLE recovery_cases (
    LIKE recovery_cases_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    CONSTRAINT recovery_cases_pkey PRIMARY KEY (id, opened_at)
) PARTITION BY RANGE (opened_at);

ALTER SEQUENCE recovery_cases_id_seq OWNED BY recovery_cases.id;

CREATE TABLE recovery_cases_default PARTITION OF recovery_cases DEFAULT;

-- One case per response, across months: written by the trigger below (its opened_at follows
-- a data fix of the case's); the retention job's drop of a month of cases deletes their keys
-- (0036). No foreign key either way: a key names a case in its month, the composite keys of
-- the referring tables do that already, and the drop removes both together.
CREATE TABLE case_keys (
    survey_response_id bigint      NOT NULL,
    case_id            bigint      NOT NULL,
    opened_at          timestamptz NOT NULL,
    CONSTRAINT case_keys_pkey PRIMARY KEY (survey_response_id)
);

DO $$
BEGIN
    EXECUTE coalesce((
        SELECT string_agg(format(
                   'CREATE TABLE %I PARTITION OF recovery_cases FOR VALUES FROM (%L) TO (%L)',
                   'recovery_cases_p' || to_char(m.first_day, 'YYYYMM'),
                   m.first_day AT TIME ZONE 'UTC',
                   (m.first_day + interval '1 month') AT TIME ZONE 'UTC'), '; ')
        FROM (SELECT DISTINCT date_trunc('month', opened_at AT TIME ZONE 'UTC') AS first_day
              FROM recovery_cases_unpartitioned) m
    ), 'SELECT 1');
END;
$$;

INSERT INTO recovery_cases SELECT * FROM recovery_cases_unpartitioned;

INSERT INTO case_keys (survey_response_id, case_id, opened_at)
SELECT survey_response_id, id, opened_at FROM recovery_cases_unpartitioned;

DROP TABLE recovery_cases_unpartitioned;

DO $$
DECLARE
    definition text;
BEGIN
    FOR definition IN SELECT s.definition FROM recovery_cases_indexes s LOOP
        EXECUTE definition;  -- "ON <schema>.recovery_cases": now the partitioned table
    END LOOP;
    FOR definition IN SELECT g.statement FROM recovery_cases_grants g LOOP
        EXECUTE definition;
    END LOOP;
END;
$$;

-- From a response to its case (refiner, re-coding, retention's check): one probe per month
-- partition; the router goes through case_keys instead (one probe, then one partition).
CREATE INDEX recovery_cases_response_idx ON recovery_cases (survey_response_id);

ALTER TABLE recovery_cases ADD CONSTRAINT recovery_cases_owner_fk
    FOREIGN KEY (owner_id) REFERENCES agents (id);
ALTER TABLE recovery_cases ADD CONSTRAINT recovery_cases_response_fkey
    FOREIGN KEY (survey_response_id, response_received_at)
    REFERENCES survey_responses (id, received_at) ON UPDATE CASCADE;

-- A statement's new cases: their keys and their openings' history entries (what 0003's
-- row trigger case_history_record_opening recorded, with the case's opening beside its id).
-- Statement-level, from the transition table: one insert per table for a batch of cases, and
-- not fired by an UPDATE that moves a case to another partition (PostgreSQL runs that as a
-- delete and an insert, whose rows are the UPDATE's), which is no new opening.
CREATE FUNCTION recovery_cases_opened() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_keys (survey_response_id, case_id, opened_at)
    SELECT survey_response_id, id, opened_at FROM opened_cases;
    INSERT INTO case_history (case_id, case_opened_at, seq, kind, actor, occurred_at, data,
                              published_at)
    SELECT id, opened_at, seq, 'opened', 'router', opened_at,
           jsonb_build_object('queue', queue, 'priority', priority), opened_at
    FROM opened_cases ORDER BY id;
    RETURN NULL;
END;
$$;

-- A data fix of a case's opening: its key follows (before the row moves, if it does).
CREATE FUNCTION recovery_cases_move_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE case_keys SET opened_at = NEW.opened_at
    WHERE survey_response_id = OLD.survey_response_id AND case_id = OLD.id;
    RETURN NEW;
END;
$$;

CREATE TRIGGER recovery_cases_fill_response_received_at
    BEFORE INSERT ON recovery_cases
    FOR EACH ROW EXECUTE FUNCTION fill_response_received_at();

CREATE TRIGGER recovery_cases_move_key
    BEFORE UPDATE OF opened_at ON recovery_cases
    FOR EACH ROW WHEN (OLD.opened_at IS DISTINCT FROM NEW.opened_at)
    EXECUTE FUNCTION recovery_cases_move_key();

-- The referring tables: the case's opening beside its id, and composite keys.
ALTER TABLE case_history ADD COLUMN case_opened_at timestamptz;
ALTER TABLE contact_attempts ADD COLUMN case_opened_at timestamptz;
ALTER TABLE case_offers ADD COLUMN case_opened_at timestamptz;
ALTER TABLE recode_changes ADD COLUMN case_opened_at timestamptz;
ALTER TABLE helpdesk_links ADD COLUMN case_opened_at timestamptz;

-- case_history's append-only guard compares the columns that are history; this one is not
-- (and the foreign key below admits the case's own opening only).
UPDATE case_history h SET case_opened_at = c.opened_at
FROM recovery_cases c WHERE c.id = h.case_id;
UPDATE contact_attempts a SET case_opened_at = c.opened_at
FROM recovery_cases c WHERE c.id = a.case_id;
UPDATE case_offers o SET case_opened_at = c.opened_at
FROM recovery_cases c WHERE c.id = o.case_id;
UPDATE recode_changes ch SET case_opened_at = c.opened_at
FROM recovery_cases c WHERE c.id = ch.case_id;
UPDATE helpdesk_links l SET case_opened_at = c.opened_at
FROM recovery_cases c WHERE c.id = l.case_id;

ALTER TABLE case_history ALTER COLUMN case_opened_at SET NOT NULL;
ALTER TABLE contact_attempts ALTER COLUMN case_opened_at SET NOT NULL;
ALTER TABLE case_offers ALTER COLUMN case_opened_at SET NOT NULL;
ALTER TABLE helpdesk_links ALTER COLUMN case_opened_at SET NOT NULL;
-- A re-coding record names a case only when the response had one.
ALTER TABLE recode_changes ADD CONSTRAINT recode_changes_case_opened_at_check
    CHECK ((case_id IS NULL) = (case_opened_at IS NULL));

ALTER TABLE case_history ADD CONSTRAINT case_history_case_fkey
    FOREIGN KEY (case_id, case_opened_at) REFERENCES recovery_cases (id, opened_at)
    ON UPDATE CASCADE;
ALTER TABLE contact_attempts ADD CONSTRAINT contact_attempts_case_fkey
    FOREIGN KEY (case_id, case_opened_at) REFERENCES recovery_cases (id, opened_at)
    ON UPDATE CASCADE;
ALTER TABLE case_offers ADD CONSTRAINT case_offers_case_fkey
    FOREIGN KEY (case_id, case_opened_at) REFERENCES recovery_cases (id, opened_at)
    ON UPDATE CASCADE;
ALTER TABLE recode_changes ADD CONSTRAINT recode_changes_case_fkey
    FOREIGN KEY (case_id, case_opened_at) REFERENCES recovery_cases (id, opened_at)
    ON UPDATE CASCADE;
ALTER TABLE helpdesk_links ADD CONSTRAINT helpdesk_links_case_fkey
    FOREIGN KEY (case_id, case_opened_at) REFERENCES recovery_cases (id, opened_at)
    ON UPDATE CASCADE ON DELETE CASCADE;

-- An insert that names the case by id alone gets its opening here (one lookup by id, which
-- probes each month partition's key index); the writers that know it pass it and skip this.
CREATE FUNCTION fill_case_opened_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.case_opened_at IS NULL AND NEW.case_id IS NOT NULL THEN
        SELECT opened_at INTO NEW.case_opened_at FROM recovery_cases WHERE id = NEW.case_id;
    END IF;
    RETURN NEW;
END;
$$;

-- On case_history it must run before the hash chain's trigger, which reads it (row triggers
-- of one event fire in name order: "case_history_case_..." before "case_history_chain").
CREATE TRIGGER case_history_case_opened_at
    BEFORE INSERT ON case_history
    FOR EACH ROW EXECUTE FUNCTION fill_case_opened_at();
CREATE TRIGGER contact_attempts_case_opened_at
    BEFORE INSERT ON contact_attempts
    FOR EACH ROW EXECUTE FUNCTION fill_case_opened_at();
CREATE TRIGGER case_offers_case_opened_at
    BEFORE INSERT ON case_offers
    FOR EACH ROW EXECUTE FUNCTION fill_case_opened_at();
CREATE TRIGGER recode_changes_case_opened_at
    BEFORE INSERT ON recode_changes
    FOR EACH ROW EXECUTE FUNCTION fill_case_opened_at();
CREATE TRIGGER helpdesk_links_case_opened_at
    BEFORE INSERT ON helpdesk_links
    FOR EACH ROW EXECUTE FUNCTION fill_case_opened_at();

-- After case_history has the column: the opening's entry names it.
CREATE TRIGGER recovery_cases_opened
    AFTER INSERT ON recovery_cases REFERENCING NEW TABLE AS opened_cases
    FOR EACH STATEMENT EXECUTE FUNCTION recovery_cases_opened();
DROP FUNCTION case_history_record_opening();

-- The hash chain's lookup of the case's previous row starts a month before the case's opening
-- (0024); the opening now travels with the row, so no lookup of the case (which would probe
-- every month partition of recovery_cases) is needed. What is hashed is unchanged.
CREATE OR REPLACE FUNCTION case_history_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT row_hash INTO NEW.prev_hash
    FROM case_history
    WHERE case_id = NEW.case_id AND seq < NEW.seq
      AND occurred_at >= date_trunc('month', NEW.case_opened_at AT TIME ZONE 'UTC')
                         AT TIME ZONE 'UTC' - interval '1 month'
    ORDER BY seq DESC
    LIMIT 1;
    NEW.row_hash := case_history_row_hash(NEW.prev_hash, NEW.case_id, NEW.seq, NEW.kind,
                                          NEW.actor_id, NEW.actor, NEW.occurred_at, NEW.data);
    RETURN NEW;
END;
$$;

-- A month partition is made as a plain table and attached (0024), and PostgreSQL attaches a
-- table only if it has the parent's CHECK constraints (recovery_cases has two, the others
-- none): the function's one CREATE TABLE now copies them too. Patched in its definition
-- rather than written out again, so the rest stays 0024's word for word.
DO $$
DECLARE
    definition text := pg_get_functiondef('make_month_partitions(regclass, integer)'::regprocedure);
    patched    text;
BEGIN
    patched := replace(definition, '(LIKE %s INCLUDING DEFAULTS)',
                       '(LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)');
    IF patched = definition THEN
        RAISE EXCEPTION 'make_month_partitions is not the function 0035 expects';
    END IF;
    EXECUTE patched;
END;
$$;

SELECT ensure_month_partitions('recovery_cases'::regclass);

-- Grants: the router opens cases (its trigger writes their keys) and finds a response's case
-- through its key; the others read. Nobody updates or deletes a key but the owner's drop.
GRANT SELECT, INSERT ON case_keys TO winback_router;
GRANT SELECT ON case_keys TO winback_notifier, winback_reporting, winback_retention;
-- Retention archives a month of cases and reports rows waiting in the DEFAULT partition.
GRANT SELECT ON recovery_cases, recovery_cases_default TO winback_retention;
