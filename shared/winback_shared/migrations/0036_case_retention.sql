-- Retention of cases (issue 16): `python -m winback_shared.retention` retires a month of
-- recovery_cases (partitioned by 0035) the way 0025 and 0034 retire a month of history and of
-- responses: archive first, then the owner's functions below remove what was archived, in one
-- transaction, and only if it is still exactly what was archived.
--
-- A month of cases leaves only once it is past the retention and every case in it is closed
-- (a month with a case still open, resolved or reopened is kept, and the job says so). What
-- refers to its cases goes first, child first, each archived to its own file:
--   case_history      by its own months (0025), before; a case month whose cases still have
--                     history in a kept month waits (the detach below refuses, the job says so)
--   contact_attempts, case_offers, recode_changes, helpdesk_links
--                     not partitioned: their rows of the month's cases (found by
--                     case_opened_at) are archived and deleted by retention_drop_case_rows
--   recovery_cases    the partition, by retention_drop_case_partition, which also deletes the
--                     cases' case_keys (so a later case for the same response id is possible)
-- then the responses' month (0034), once no kept case refers to it.
--
-- Every digest is 0034's: sha256 of each row's text, folded in a fixed order, computed by the
-- job and here under the same settings (time zone and date style fix a row's text).

-- A month partition of recovery_cases past the current month, its range; raises otherwise.
CREATE FUNCTION retention_case_partition_range(part regclass, OUT range_from timestamptz,
                                               OUT range_to timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
    SELECT m.starts, m.ends INTO range_from, range_to
    FROM month_partition_bounds('recovery_cases'::regclass) m WHERE m.partition_oid = part;
    IF range_from IS NULL THEN
        RAISE EXCEPTION '% is not a month partition of recovery_cases', part;
    END IF;
    IF range_to > date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' THEN
        RAISE EXCEPTION '% holds the current month or a later one: never removed', part;
    END IF;
END;
$fn$;

-- How many of this partition's cases are not closed (the job keeps such a month).
CREATE FUNCTION retention_case_partition_unclosed(part regclass) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
    unclosed bigint;
BEGIN
    PERFORM retention_case_partition_range(part);
    EXECUTE format('SELECT count(*) FROM %s WHERE status <> ''closed''', part) INTO unclosed;
    RETURN unclosed;
END;
$fn$;

-- Locks the partition (no new row may refer to its cases until the transaction ends), checks
-- it is retirable (past, every case closed) and returns its range.
CREATE FUNCTION retention_case_partition_locked(part regclass, OUT range_from timestamptz,
                                                OUT range_to timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
    SELECT r.range_from, r.range_to INTO range_from, range_to
    FROM retention_case_partition_range(part) r;
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', part);
    IF retention_case_partition_unclosed(part) > 0 THEN
        RAISE EXCEPTION '% has cases not closed: kept', part;
    END IF;
END;
$fn$;

-- Which rows of a referring table belong to a month of cases, in archive order.
CREATE FUNCTION retention_case_rows_order(child regclass) RETURNS text
LANGUAGE sql STABLE AS $fn$
    SELECT CASE child::text
        WHEN 'contact_attempts' THEN 'id'
        WHEN 'case_offers' THEN 'id'
        WHEN 'recode_changes' THEN 'id'
        WHEN 'helpdesk_links' THEN 'subscription_id, case_id'
    END
$fn$;

-- The one check both functions below make before removing anything: the rows (``source``,
-- each as t) are still exactly the archived ones, count and digest in ``row_order`` (under
-- the caller's time zone and date style); then the archive's record. Raises otherwise.
CREATE FUNCTION retention_record_case_archive(
    table_name text, part regclass, source text, row_order text, expected_rows bigint,
    expected_digest text, archive text, archive_sha256 text
) RETURNS bigint LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
DECLARE
    bounds     record;
    found_rows bigint;
    digest     text;
    archive_id bigint;
BEGIN
    SELECT * INTO bounds FROM retention_case_partition_range(part);
    EXECUTE format('SELECT count(*), encode(hash_chain_digest(sha256(convert_to(t::text,'
                   ' ''UTF8'')) ORDER BY %s), ''hex'') FROM %s', row_order, source)
    INTO found_rows, digest;
    IF found_rows <> expected_rows OR digest IS DISTINCT FROM expected_digest THEN
        RAISE EXCEPTION '%''s rows of % changed since they were archived (% rows now, %'
            ' archived): kept', table_name, part, found_rows, expected_rows;
    END IF;
    INSERT INTO retention_archives (table_name, partition_name, range_from, range_to, row_count,
                                    rows_digest, archive, archive_sha256)
    VALUES (table_name, part::text, bounds.range_from, bounds.range_to, found_rows, digest,
            archive, archive_sha256)
    RETURNING id INTO archive_id;
    RETURN archive_id;
END;
$fn$;

-- Deletes a month of cases' rows from a referring table that is not partitioned, if they are
-- still exactly the archived ones; records the archive. Call in the transaction that then
-- drops the case partition (retention_drop_case_partition).
CREATE FUNCTION retention_drop_case_rows(
    part regclass, child regclass, expected_rows bigint, expected_digest text, archive text,
    archive_sha256 text
) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path FROM CURRENT SET TimeZone = 'UTC' SET DateStyle = 'ISO, YMD' AS $fn$
DECLARE
    bounds     record;
    row_order  text := retention_case_rows_order(child);
    month_rows text;
    archive_id bigint;
BEGIN
    IF row_order IS NULL THEN
        RAISE EXCEPTION '% is not a table referring to cases that retention deletes from', child;
    END IF;
    SELECT * INTO bounds FROM retention_case_partition_locked(part);
    month_rows := format('%s t WHERE t.case_opened_at >= %L AND t.case_opened_at < %L', child,
                         bounds.range_from, bounds.range_to);
    archive_id := retention_record_case_archive(child::text, part, month_rows, row_order,
                                                expected_rows, expected_digest, archive,
                                                archive_sha256);
    EXECUTE format('DELETE FROM %s', month_rows);
    RETURN archive_id;
END;
$fn$;

-- Drops a month of closed cases whose referring rows are gone, if it still holds exactly the
-- archived cases; deletes their keys and records the archive.
CREATE FUNCTION retention_drop_case_partition(
    part regclass, expected_rows bigint, expected_digest text, archive text,
    archive_sha256 text
) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path FROM CURRENT SET TimeZone = 'UTC' SET DateStyle = 'ISO, YMD' AS $fn$
DECLARE
    archive_id bigint;
BEGIN
    PERFORM retention_case_partition_locked(part);
    archive_id := retention_record_case_archive('recovery_cases', part, format('%s t', part),
                                                't.id', expected_rows, expected_digest,
                                                archive, archive_sha256);
    EXECUTE format('DELETE FROM case_keys k USING %s c'
                   ' WHERE k.survey_response_id = c.survey_response_id AND k.case_id = c.id',
                   part);
    -- Detached first: PostgreSQL checks there that no row refers to its cases any more (the
    -- history of a case still active in a kept month does, until that month leaves too).
    BEGIN
        EXECUTE format('ALTER TABLE recovery_cases DETACH PARTITION %s', part);
    EXCEPTION
        WHEN foreign_key_violation THEN
            RAISE EXCEPTION '% is still referred to by history kept: kept', part
                USING DETAIL = SQLERRM;
    END;
    EXECUTE format('DROP TABLE %s', part);
    RETURN archive_id;
END;
$fn$;

REVOKE EXECUTE ON FUNCTION retention_case_partition_range(regclass) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION retention_case_partition_unclosed(regclass) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION retention_case_partition_locked(regclass) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION retention_record_case_archive(text, regclass, text, text, bigint, text,
                                                         text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION retention_drop_case_rows(regclass, regclass, bigint, text, text, text)
    FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION retention_drop_case_partition(regclass, bigint, text, text, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION retention_case_partition_unclosed(regclass) TO winback_retention;
GRANT EXECUTE ON FUNCTION retention_drop_case_rows(regclass, regclass, bigint, text, text, text)
    TO winback_retention;
GRANT EXECUTE ON FUNCTION retention_drop_case_partition(regclass, bigint, text, text, text)
    TO winback_retention;

-- The job archives what refers to a month of cases before the functions above delete it.
GRANT SELECT ON contact_attempts, case_offers, recode_changes, helpdesk_links
    TO winback_retention;
