-- Retention of responses (issue 16): `python -m winback_shared.retention` retires a month of
-- survey_responses (partitioned by 0032) the way 0025 retires a month of history: the job
-- writes the partition's rows to an archive file and checks it, then the owner's function
-- below drops the partition and the rows' response_keys in one transaction that records the
-- archive, and only if the partition still holds exactly the archived rows.
--
-- survey_responses has no hash chain; what proves "exactly the archived rows" is the digest
-- of sha256(row as text) over the rows in id order, which the job computes in the same SQL
-- under the same settings (time zone and date style fix a row's text).
--
-- A month is kept while anything still refers to its responses: a case (recovery_cases) or a
-- re-coding record (recode_changes), both through their composite foreign keys. Those are
-- removed first, or the month waits (the job says so and goes on; the next run tries again).
--
-- Its keys go with it: once retired, a response's (source, response_id) is free again, so a
-- redelivery of it (a vendor replaying years-old responses) is stored as a new response in the
-- current month and, if it needs recovery, opens a new case (docs/operations.md).

-- Whether a case or a re-coding record still refers to a response of this partition.
CREATE FUNCTION retention_response_partition_referred(part regclass) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
    referred boolean;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_inherits
                   WHERE inhrelid = part AND inhparent = 'survey_responses'::regclass) THEN
        RAISE EXCEPTION '% is not a partition of survey_responses', part;
    END IF;
    EXECUTE format(
        'SELECT EXISTS (SELECT FROM %1$s p JOIN recovery_cases c'
        '               ON c.survey_response_id = p.id AND c.response_received_at = p.received_at)'
        '    OR EXISTS (SELECT FROM %1$s p JOIN recode_changes ch'
        '               ON ch.survey_response_id = p.id'
        '              AND ch.response_received_at = p.received_at)',
        part
    ) INTO referred;
    RETURN referred;
END;
$fn$;

-- A partitioned table's month partitions and the range of each (its DEFAULT one has none).
CREATE FUNCTION month_partition_bounds(parent regclass)
RETURNS TABLE (partition_oid regclass, starts timestamptz, ends timestamptz)
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $fn$
    SELECT i.inhrelid::regclass, b.bounds[1]::timestamptz, b.bounds[2]::timestamptz
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                    $re$^FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)$$re$)
        AS b (bounds)
    WHERE i.inhparent = parent AND b.bounds IS NOT NULL
$fn$;

CREATE FUNCTION retention_drop_response_partition(
    part regclass, expected_rows bigint, expected_digest text, archive text,
    archive_sha256 text
) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path FROM CURRENT SET TimeZone = 'UTC' SET DateStyle = 'ISO, YMD' AS $fn$
DECLARE
    range_from timestamptz;
    range_to   timestamptz;
    found_rows bigint;
    digest     text;
    archive_id bigint;
BEGIN
    SELECT m.starts, m.ends INTO range_from, range_to
    FROM month_partition_bounds('survey_responses'::regclass) m WHERE m.partition_oid = part;
    CASE
        WHEN range_from IS NULL THEN
            RAISE EXCEPTION '% is not a month partition of survey_responses', part;
        WHEN range_to > date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' THEN
            RAISE EXCEPTION '% holds the current month or a later one: never removed', part;
        ELSE
            NULL;
    END CASE;

    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', part);
    EXECUTE format('SELECT count(*), encode(hash_chain_digest(sha256(convert_to(t::text,'
                   ' ''UTF8'')) ORDER BY t.id), ''hex'') FROM %s t', part)
    INTO found_rows, digest;
    IF found_rows <> expected_rows OR digest IS DISTINCT FROM expected_digest THEN
        RAISE EXCEPTION '% changed since it was archived (% rows now, % archived): kept',
            part, found_rows, expected_rows;
    END IF;
    IF retention_response_partition_referred(part) THEN
        RAISE EXCEPTION '% is still referred to by a case or a re-coding record: kept', part;
    END IF;

    INSERT INTO retention_archives (table_name, partition_name, range_from, range_to, row_count,
                                    rows_digest, archive, archive_sha256)
    VALUES ('survey_responses', part::text, range_from, range_to, found_rows, digest, archive,
            archive_sha256)
    RETURNING id INTO archive_id;

    -- The month's keys, found through their primary key from the rows retired (a key whose
    -- row is another, a later response stored under the same key, stays).
    EXECUTE format('DELETE FROM response_keys k USING %s t'
                   ' WHERE k.source = t.source AND k.response_id = t.response_id'
                   ' AND k.survey_response_id = t.id', part);
    -- Detached first: PostgreSQL checks there that no foreign key still refers to its rows.
    EXECUTE format('ALTER TABLE survey_responses DETACH PARTITION %s', part);
    EXECUTE format('DROP TABLE %s', part);
    RETURN archive_id;
END;
$fn$;

REVOKE EXECUTE ON FUNCTION retention_response_partition_referred(regclass) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION retention_drop_response_partition(regclass, bigint, text, text, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION retention_response_partition_referred(regclass) TO winback_retention;
GRANT EXECUTE ON FUNCTION retention_drop_response_partition(regclass, bigint, text, text, text)
    TO winback_retention;
