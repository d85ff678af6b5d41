-- The phone's match key computed in one cheap call: same keys, a fifth to a tenth of the cost.
--
-- survey_responses_customer_phone_tail_idx (0018) is partial, so every response the router
-- stores calls customer_phone_tail twice (the predicate and the key), phone or not. 0018 wrote
-- it as SQL with `SET search_path FROM CURRENT` calling customer_phone_digits, itself SQL with a
-- sub-select: neither can be inlined, so each call set the search path, ran a SQL function that
-- ran another. pg_stat_statements under the router (docs/performance.md, section 41) counted
-- 33 us a call on responses without a phone, 0.067 ms a stored response, about a seventh of
-- PostgreSQL's time in the router's batch.
--
-- Both functions now read the phone once in PL/pgSQL, return at once when there is none, and
-- call nothing of this schema (so no search path is needed: PostgreSQL rebuilds an index with
-- pg_catalog alone on its path). The rule is 0018's, statement for statement, so every key an
-- index stores stays right and no index is rebuilt; tests/integration/test_customer_match.py
-- holds both functions to winback_shared.customer_match over its corpus, and rebuilds the index.
-- CREATE OR REPLACE also drops 0018's `SET search_path` from the tail. customer_phone_e164 is
-- not indexed and keeps 0018's definition (it calls the new digits).

CREATE OR REPLACE FUNCTION customer_phone_digits(customer jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    written text;
    digits text;
BEGIN
    IF jsonb_typeof(customer -> 'phone') IS DISTINCT FROM 'string' THEN
        RETURN NULL;
    END IF;
    -- Before any extension (a letter, '#', ';' or ','); a leading '00' is read as '+'.
    written := substring(customer ->> 'phone' FROM '^[^A-Za-z#;,]*');
    digits := regexp_replace(written, '[^0-9]', '', 'g');
    IF btrim(written) LIKE '00%' THEN
        digits := substr(digits, 3);
    END IF;
    -- 7 to 15 digits that are not one digit repeated.
    IF digits IS NULL OR length(digits) NOT BETWEEN 7 AND 15 OR digits ~ '^(\d)\1*$' THEN
        RETURN NULL;
    END IF;
    RETURN digits;
END;
$$;

-- customer_phone_digits' lines again rather than a call to it: a call would need this schema
-- on the search path, which index maintenance does not have.
CREATE OR REPLACE FUNCTION customer_phone_tail(customer jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    written text;
    digits text;
BEGIN
    IF jsonb_typeof(customer -> 'phone') IS DISTINCT FROM 'string' THEN
        RETURN NULL;
    END IF;
    written := substring(customer ->> 'phone' FROM '^[^A-Za-z#;,]*');
    digits := regexp_replace(written, '[^0-9]', '', 'g');
    IF btrim(written) LIKE '00%' THEN
        digits := substr(digits, 3);
    END IF;
    IF digits IS NULL OR length(digits) NOT BETWEEN 7 AND 15 OR digits ~ '^(\d)\1*$' THEN
        RETURN NULL;
    END IF;
    -- The last 9 digits (all of them when shorter), which a number written nationally and
    -- internationally share.
    RETURN right(digits, 9);
END;
$$;

