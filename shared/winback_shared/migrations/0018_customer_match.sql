-- Customer matching (issue 17): the keys that tell the same customer across responses and
-- sources, as IMMUTABLE functions of survey_responses.customer with expression indexes on them.
--
-- Why expression indexes rather than a keys table filled by a trigger: nothing new is written
-- on the router's path (the index is maintained by the INSERT/UPDATE the router already makes),
-- a revision that changes the customer re-keys itself, and no role needs a new grant.
--
-- The functions stay here, not in a repeatable file: an index stores their results, so their
-- body must never change in place (a changed rule is a new migration that replaces function and
-- index together). winback_shared.customer_match mirrors them in Python, and a test on
-- PostgreSQL checks that both give the same key for every value of a corpus.
--
-- The two that call another carry their schema's search_path: PostgreSQL runs index
-- maintenance with a search_path of pg_catalog only.

-- The customer id, trimmed; placeholders that name nobody are no key.
CREATE FUNCTION customer_id_key(customer jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(customer -> 'id') IS DISTINCT FROM 'string' THEN NULL
        WHEN lower(btrim(customer ->> 'id'))
             IN ('', '0', '-', 'null', 'none', 'unknown', 'anonymous', 'n/a', 'na') THEN NULL
        ELSE btrim(customer ->> 'id')
    END
$$;

-- The e-mail address, trimmed and lower-cased, when it looks like one and is not a no-reply.
CREATE FUNCTION customer_email_key(customer jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(customer -> 'email') IS DISTINCT FROM 'string' THEN NULL
        WHEN lower(btrim(customer ->> 'email')) !~ '^[^@ \t\r\n]+@[^@ \t\r\n]+\.[^@ \t\r\n.]+$'
            THEN NULL
        WHEN split_part(lower(btrim(customer ->> 'email')), '@', 1)
             IN ('noreply', 'no-reply', 'no_reply', 'donotreply', 'do-not-reply') THEN NULL
        ELSE lower(btrim(customer ->> 'email'))
    END
$$;

-- The phone number's digits, before any extension (a letter, '#', ';' or ','), with a leading
-- '00' read as '+'. NULL unless 7 to 15 digits that are not one digit repeated.
CREATE FUNCTION customer_phone_digits(customer jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN d IS NULL OR length(d) NOT BETWEEN 7 AND 15 OR d ~ '^(\d)\1*$' THEN NULL
        ELSE d
    END
    FROM (
        SELECT CASE
            WHEN jsonb_typeof(customer -> 'phone') IS DISTINCT FROM 'string' THEN NULL
            WHEN btrim(substring(customer ->> 'phone' FROM '^[^A-Za-z#;,]*')) LIKE '00%'
                THEN substr(regexp_replace(substring(customer ->> 'phone' FROM '^[^A-Za-z#;,]*'),
                                           '[^0-9]', '', 'g'), 3)
            ELSE regexp_replace(substring(customer ->> 'phone' FROM '^[^A-Za-z#;,]*'),
                                '[^0-9]', '', 'g')
        END AS d
    ) AS phone
$$;

-- The phone's match key: its last 9 digits (all of them when shorter), which a number written
-- nationally ('07700 900123') and internationally ('+44 7700 900123') share.
CREATE FUNCTION customer_phone_tail(customer jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path FROM CURRENT AS $$
    SELECT right(customer_phone_digits(customer), 9)
$$;

-- The number in E.164 when it was written with its country code ('+' or '00'), else NULL:
-- two numbers that share a tail but whose E.164 forms differ are different numbers.
CREATE FUNCTION customer_phone_e164(customer jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path FROM CURRENT AS $$
    SELECT CASE
        WHEN customer_phone_digits(customer) IS NULL THEN NULL
        WHEN btrim(substring(customer ->> 'phone' FROM '^[^A-Za-z#;,]*')) ~ '^(\+|00)'
            THEN '+' || customer_phone_digits(customer)
        ELSE NULL
    END
$$;

CREATE INDEX survey_responses_customer_id_key_idx
    ON survey_responses (customer_id_key(customer)) WHERE customer_id_key(customer) IS NOT NULL;
CREATE INDEX survey_responses_customer_email_key_idx
    ON survey_responses (customer_email_key(customer))
    WHERE customer_email_key(customer) IS NOT NULL;
CREATE INDEX survey_responses_customer_phone_tail_idx
    ON survey_responses (customer_phone_tail(customer))
    WHERE customer_phone_tail(customer) IS NOT NULL;
