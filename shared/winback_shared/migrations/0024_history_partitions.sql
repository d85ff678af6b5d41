-- case_history, partitioned by month of occurred_at (UTC), so that retention removes a whole
-- month by dropping its partition (fast, no dead rows, no vacuum) instead of deleting rows one
-- by one, and so that reads for recent cases touch recent partitions only (issue 16).
--
-- Why case_history and not (yet) survey_responses and recovery_cases: a unique or primary key
-- of a partitioned table must contain the partition key. case_history's keys become
-- (id, occurred_at) and (case_id, seq, occurred_at), and nothing refers to them. Partitioning
-- survey_responses by time would make its idempotency key (source, response_id), on which the
-- router's ON CONFLICT relies, unique per month only (a redelivery in a later month would open a
-- second case), and recovery_cases and recode_changes refer to survey_responses(id); likewise
-- contact_attempts, case_history and recode_changes refer to recovery_cases(id). The plan for
-- them is in docs/operations.md ("Table growth and partitioning").
--
-- The table is rebuilt: rows are copied as they are (before the triggers exist, so no hash is
-- recomputed), then the keys, foreign keys, triggers (append-only guard, hash chain, TRUNCATE
-- guard, on the parent and on every partition) and grants of migrations 0003, 0015 and 0016
-- are put back. The id sequence is kept, with its grants.
--
-- ensure_month_partitions (below) creates the partitions: the current month and the next
-- months_ahead ones, plus any month whose rows sit in the DEFAULT partition, which catches an
-- insert no month partition takes (so an insert never fails) until the next call moves them
-- out. It runs as the owner (SECURITY DEFINER) so that the services, which have no DDL, may
-- call it at start-up; the retention job and `python -m winback_shared.migrations` call it too.

ALTER SEQUENCE case_history_id_seq OWNED BY NONE;
ALTER TABLE case_history RENAME TO case_history_unpartitioned;
ALTER INDEX case_history_pkey RENAME TO case_history_unpartitioned_pkey;
ALTER INDEX case_history_seq_uniq RENAME TO case_history_unpartitioned_seq_uniq;
ALTER INDEX case_history_unpublished_idx RENAME TO case_history_unpartitioned_unpublished_idx;

-- Same columns, same order (SELECT * and the hash functions see what they saw before).
CREATE TABLE case_history (
    id           bigint      NOT NULL DEFAULT nextval('case_history_id_seq'),
    case_id      bigint      NOT NULL REFERENCES recovery_cases (id),
    seq          integer     NOT NULL,
    kind         text        NOT NULL,
    actor_id     bigint      REFERENCES agents (id),
    actor        text        NOT NULL,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    data         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    published_at timestamptz,
    prev_hash    bytea,
    row_hash     bytea       NOT NULL,
    CONSTRAINT case_history_pkey PRIMARY KEY (id, occurred_at),
    -- (case_id, seq) alone cannot be unique across partitions; a repeated seq in another month
    -- still breaks the hash chain, which `audit verify` reports. Its index also serves what the
    -- hash chain's trigger and the case panel read: a case's rows by seq.
    CONSTRAINT case_history_seq_uniq UNIQUE (case_id, seq, occurred_at)
) PARTITION BY RANGE (occurred_at);

ALTER SEQUENCE case_history_id_seq OWNED BY case_history.id;

CREATE INDEX case_history_unpublished_idx ON case_history (id) WHERE published_at IS NULL;

CREATE TABLE case_history_default PARTITION OF case_history DEFAULT;

-- Creates the month partitions wanted now; returns the names created. A month's rows found in
-- the DEFAULT partition are moved into the new month partition: copied into a plain table
-- (no trigger fires, so every hash stays as it was), removed from the default partition with
-- its append-only guard lifted for that statement only, and the table attached.
CREATE FUNCTION ensure_month_partitions(parent regclass, months_ahead integer DEFAULT 3)
RETURNS SETOF text LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    schema_name text;
    parent_name text;
    key_column  text;
    default_part regclass;
    month       timestamptz;
    upper_bound timestamptz;
    part_name   text;
    guard       record;
    moved       bigint;
BEGIN
    -- Services starting together all call this: one at a time, the others find it done.
    PERFORM pg_advisory_xact_lock(hashtext('ensure_month_partitions'));
    IF months_ahead NOT BETWEEN 0 AND 24 THEN  -- callers without DDL: no thousand tables
        RAISE EXCEPTION 'months_ahead must be between 0 and 24, not %', months_ahead;
    END IF;
    SELECT n.nspname, c.relname INTO schema_name, parent_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = parent AND c.relkind = 'p';
    IF parent_name IS NULL THEN
        RAISE EXCEPTION '% is not a partitioned table', parent;
    END IF;
    SELECT a.attname INTO key_column
    FROM pg_partitioned_table p JOIN pg_attribute a
      ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
    WHERE p.partrelid = parent;
    SELECT i.inhrelid::regclass INTO default_part
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';

    FOR month IN
        SELECT generate_series(
            date_trunc('month', now() AT TIME ZONE 'UTC'),
            date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => months_ahead),
            interval '1 month'
        ) AT TIME ZONE 'UTC'
        UNION
        SELECT DISTINCT date_trunc('month', stray.at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        FROM month_partition_keys(default_part, key_column) AS stray (at)
        ORDER BY 1
    LOOP
        part_name := format('%s_p%s', parent_name, to_char(month AT TIME ZONE 'UTC', 'YYYYMM'));
        CONTINUE WHEN to_regclass(format('%I.%I', schema_name, part_name)) IS NOT NULL;
        upper_bound := ((month AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
        EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS)',
                       schema_name, part_name, parent);
        moved := 0;
        IF default_part IS NOT NULL THEN
            EXECUTE format('INSERT INTO %I.%I SELECT * FROM %s WHERE %I >= $1 AND %I < $2',
                           schema_name, part_name, default_part, key_column, key_column)
                USING month, upper_bound;
            GET DIAGNOSTICS moved = ROW_COUNT;
        END IF;
        IF moved > 0 THEN
            EXECUTE format('ALTER TABLE %s DISABLE TRIGGER USER', default_part);
            EXECUTE format('DELETE FROM %s WHERE %I >= $1 AND %I < $2',
                           default_part, key_column, key_column)
                USING month, upper_bound;
            EXECUTE format('ALTER TABLE %s ENABLE TRIGGER USER', default_part);
        END IF;
        EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                       parent, schema_name, part_name, month, upper_bound);
        -- Row triggers are cloned onto a partition; statement triggers (the TRUNCATE guard)
        -- are not, and TRUNCATE of a partition fires only its own.
        FOR guard IN
            SELECT t.tgname, t.tgfoid::regproc AS function_name FROM pg_trigger t
            WHERE t.tgrelid = parent AND NOT t.tgisinternal
              AND (t.tgtype & 32) <> 0 AND (t.tgtype & 1) = 0  -- TRUNCATE, statement level
        LOOP
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I.%I'
                           ' FOR EACH STATEMENT EXECUTE FUNCTION %s()',
                           guard.tgname, schema_name, part_name, guard.function_name);
        END LOOP;
        RETURN NEXT part_name;
    END LOOP;
END;
$$;

-- The partition keys held by a table (none when there is no such table): which months the
-- DEFAULT partition holds rows of.
CREATE FUNCTION month_partition_keys(part regclass, key_column text)
RETURNS SETOF timestamptz LANGUAGE plpgsql STABLE SET search_path FROM CURRENT AS $$
BEGIN
    IF part IS NOT NULL THEN
        RETURN QUERY EXECUTE format('SELECT DISTINCT %I FROM %s', key_column, part);
    END IF;
END;
$$;

-- Only the owner, the services' start-up and the retention job create partitions.
REVOKE EXECUTE ON FUNCTION ensure_month_partitions(regclass, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_month_partitions(regclass, integer)
    TO winback_router, winback_notifier;

-- The months the rows already there belong to; the current one and three ahead.
DO $$
DECLARE
    month timestamptz;
BEGIN
    FOR month IN
        SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        FROM case_history_unpartitioned
    LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF case_history FOR VALUES FROM (%L) TO (%L)',
            'case_history_p' || to_char(month AT TIME ZONE 'UTC', 'YYYYMM'),
            month, ((month AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'
        );
    END LOOP;
END;
$$;

INSERT INTO case_history (id, case_id, seq, kind, actor_id, actor, occurred_at, data,
                          published_at, prev_hash, row_hash)
SELECT id, case_id, seq, kind, actor_id, actor, occurred_at, data, published_at, prev_hash,
       row_hash
FROM case_history_unpartitioned;

DROP TABLE case_history_unpartitioned;

-- The hash chain's trigger looks up the case's previous row. By (case_id, seq) alone that is
-- one index probe in every month's partition (two years kept: 27 probes per insert); a case's
-- rows are never older than its opening, so the search starts a month before the month the
-- case opened in (the margin allows for clocks), which leaves one or two partitions to probe.
-- What is hashed is unchanged (case_history_row_hash, migration 0015).
CREATE OR REPLACE FUNCTION case_history_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    since timestamptz;
BEGIN
    SELECT date_trunc('month', c.opened_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           - interval '1 month'
    INTO since
    FROM recovery_cases c WHERE c.id = NEW.case_id;
    SELECT row_hash INTO NEW.prev_hash
    FROM case_history
    WHERE case_id = NEW.case_id AND seq < NEW.seq AND occurred_at >= coalesce(since, '-infinity')
    ORDER BY seq DESC
    LIMIT 1;
    NEW.row_hash := case_history_row_hash(NEW.prev_hash, NEW.case_id, NEW.seq, NEW.kind,
                                          NEW.actor_id, NEW.actor, NEW.occurred_at, NEW.data);
    RETURN NEW;
END;
$$;

-- The triggers of migrations 0003 and 0015. Row triggers on the parent are cloned onto every
-- partition, present and future.
CREATE TRIGGER case_history_append_only
    BEFORE UPDATE OR DELETE ON case_history
    FOR EACH ROW EXECUTE FUNCTION case_history_is_append_only();

CREATE TRIGGER case_history_chain
    BEFORE INSERT ON case_history
    FOR EACH ROW EXECUTE FUNCTION case_history_chain();

CREATE TRIGGER case_history_no_truncate
    BEFORE TRUNCATE ON case_history
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();

DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits
                WHERE inhparent = 'case_history'::regclass
    LOOP
        EXECUTE format('CREATE TRIGGER case_history_no_truncate BEFORE TRUNCATE ON %s'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate()', part);
    END LOOP;
END;
$$;

SELECT ensure_month_partitions('case_history'::regclass);

-- The grants of migration 0016, on the parent only: the services read and write through it,
-- and have no business with a partition by name.
GRANT SELECT, INSERT ON case_history TO winback_router;
GRANT SELECT, INSERT ON case_history TO winback_notifier;
GRANT UPDATE (published_at) ON case_history TO winback_notifier;
GRANT SELECT ON case_history TO winback_reporting;
