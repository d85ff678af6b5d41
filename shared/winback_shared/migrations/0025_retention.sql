-- Retention (issues 16 and 18): the one path by which audit-trail rows ever leave the database.
-- `python -m winback_shared.retention` writes a month partition of case_history to an archive
-- file, checks the file, then calls retention_drop_history_partition, which drops the
-- partition in the same transaction that records the archive and each case's anchor.
--
--   winback_retention  a new NOLOGIN role for that job alone: reads case_history and the
--                      retention tables, may call the two functions below, nothing else.
--                      It holds no DELETE or TRUNCATE grant: nobody does on case_history, and
--                      the append-only and TRUNCATE guards stay on every partition.
--
-- The drop runs as the owner (SECURITY DEFINER) and refuses unless the partition is a past
-- month's (never the current one or later, never the DEFAULT partition) and still holds
-- exactly the rows the job archived: same count, same digest of their row hashes (taken under
-- an exclusive lock). So a partition that gained or lost a row since it was archived is kept,
-- and the next run archives it again.
--
-- Anchors: for each case with rows in the dropped month, the last dropped row (seq, row_hash).
-- `audit verify` starts that case's kept chain from it: the first kept row must point at the
-- anchor's hash and follow its seq.
--
-- Creating the role needs CREATEROLE, which winback_owner lacks: this migration acts as the
-- login running it for that step (a superuser, or a login with CREATEROLE), or a DBA creates
-- winback_retention beforehand and this only checks it exists (as 0016 does for the others).

SET LOCAL ROLE NONE;
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'winback_retention') THEN
        BEGIN
            CREATE ROLE winback_retention NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another schema's migration created it at the same moment
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'migration 0025 needs the role winback_retention: run it as a'
                    ' superuser or a login with CREATEROLE, or create the role first'
                    ' (CREATE ROLE winback_retention NOLOGIN)';
        END;
    END IF;
END;
$$;
-- The schema's owner (who ran 0016) grants its use; the owner role has no grant option on it.
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO winback_retention', current_schema());
END;
$$;
SET LOCAL ROLE winback_owner;

-- One row per archive whose rows were removed: what the archive file must hold.
CREATE TABLE retention_archives (
    id             bigserial   PRIMARY KEY,
    table_name     text        NOT NULL,
    partition_name text        NOT NULL,
    range_from     timestamptz NOT NULL,
    range_to       timestamptz NOT NULL,
    row_count      bigint      NOT NULL,
    -- hash_chain_digest of the rows' row_hash in (case_id, seq) order
    rows_digest    text        NOT NULL,
    archive        text        NOT NULL,  -- the file's name, relative to the archive directory
    archive_sha256 text        NOT NULL,  -- sha256 of the file's bytes
    removed_at     timestamptz NOT NULL DEFAULT now(),
    removed_by     text        NOT NULL DEFAULT session_user
);

-- Where each case's kept history starts: its last removed row.
CREATE TABLE case_history_anchors (
    case_id    bigint  PRIMARY KEY,
    seq        integer NOT NULL,
    row_hash   bytea   NOT NULL,
    archive_id bigint  NOT NULL REFERENCES retention_archives (id)
);

-- sha256(state || next), folded over rows in order: one digest of many hashes in constant
-- memory (string_agg of a month of row hashes would not fit). The job computes the same in
-- Python over what it wrote.
CREATE FUNCTION hash_chain_step(state bytea, next bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT sha256(state || next) $$;

CREATE AGGREGATE hash_chain_digest(bytea) (
    SFUNC = hash_chain_step, STYPE = bytea, INITCOND = ''
);

CREATE FUNCTION retention_drop_history_partition(
    part regclass, expected_rows bigint, expected_digest text, archive text,
    archive_sha256 text
) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
    bounds     text[];
    range_from timestamptz;
    range_to   timestamptz;
    found_rows bigint;
    digest     text;
    archive_id bigint;
BEGIN
    SELECT regexp_match(pg_get_expr(c.relpartbound, c.oid),
                        $re$^FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)$$re$)
    INTO bounds
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhrelid = part AND i.inhparent = 'case_history'::regclass;
    IF bounds IS NULL THEN
        RAISE EXCEPTION '% is not a month partition of case_history', part;
    END IF;
    range_from := bounds[1]::timestamptz;
    range_to := bounds[2]::timestamptz;
    IF range_to > date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' THEN
        RAISE EXCEPTION '% holds the current month or a later one: never removed', part;
    END IF;

    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', part);
    EXECUTE format('SELECT count(*), encode(hash_chain_digest(row_hash ORDER BY case_id, seq),'
                   ' ''hex'') FROM %s', part)
    INTO found_rows, digest;
    IF found_rows <> expected_rows OR digest IS DISTINCT FROM expected_digest THEN
        RAISE EXCEPTION '% changed since it was archived (% rows now, % archived): kept',
            part, found_rows, expected_rows;
    END IF;

    INSERT INTO retention_archives (table_name, partition_name, range_from, range_to, row_count,
                                    rows_digest, archive, archive_sha256)
    VALUES ('case_history', part::text, range_from, range_to, found_rows, digest, archive,
            archive_sha256)
    RETURNING id INTO archive_id;

    EXECUTE format(
        'INSERT INTO case_history_anchors (case_id, seq, row_hash, archive_id)'
        ' SELECT DISTINCT ON (case_id) case_id, seq, row_hash, $1 FROM %s'
        ' ORDER BY case_id, seq DESC'
        ' ON CONFLICT (case_id) DO UPDATE SET seq = EXCLUDED.seq, row_hash = EXCLUDED.row_hash,'
        ' archive_id = EXCLUDED.archive_id WHERE EXCLUDED.seq > case_history_anchors.seq',
        part
    ) USING archive_id;

    EXECUTE format('DROP TABLE %s', part);
    RETURN archive_id;
END;
$fn$;

REVOKE EXECUTE ON FUNCTION retention_drop_history_partition(regclass, bigint, text, text, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION retention_drop_history_partition(regclass, bigint, text, text, text)
    TO winback_retention;
GRANT EXECUTE ON FUNCTION ensure_month_partitions(regclass, integer) TO winback_retention;

GRANT SELECT ON case_history, retention_archives, case_history_anchors TO winback_retention;
-- The one partition it reads by name: to report rows waiting in the DEFAULT partition.
GRANT SELECT ON case_history_default TO winback_retention;
-- `audit verify` (reporting) starts each chain from its anchor; reports may list archives.
GRANT SELECT ON retention_archives, case_history_anchors TO winback_reporting;
