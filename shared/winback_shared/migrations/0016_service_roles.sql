-- Least privilege (issue 18): one owner role with the DDL, one role per service with the grants
-- its SQL needs, and a read-only role for exports and BI. All NOLOGIN groups: login users are
-- made members of them (docs/operations.md, "Database roles"); ingest never touches PostgreSQL
-- and has no role.
--
--   winback_owner      owns every table, view, sequence and function; migrations run as it
--                      (the runner does SET LOCAL ROLE winback_owner once this migration ran)
--   winback_router     responses, case openings and revisions, dead letters, recoding runs,
--                      reading agents to sign supervisors in to its ops endpoints
--   winback_notifier   the case workflow, agents and queues, its outboxes (history marks,
--                      agent changes); history is INSERT plus UPDATE (published_at) only
--   winback_reporting  SELECT on what reports and the audit check read; never tokens
--
-- Nobody but the owner may DELETE or TRUNCATE case_history: no such grant exists, on top of
-- the triggers of migrations 0003 and 0015.
--
-- Roles belong to the cluster, schemas to a database: several schemas (tests, or two
-- environments on one server) share the roles, so creating them is idempotent and tolerates a
-- concurrent creator; the grants are per schema (current_schema()). Every later migration that
-- adds a table or view grants on it in the same file (no ALTER DEFAULT PRIVILEGES: each table
-- is a decision per role; tests/integration/test_service_roles.py fails on a table nobody
-- decided about).
--
-- Run this migration as a superuser, or as a user with CREATEROLE, or create the four roles
-- beforehand (it then only checks they exist) and run it as a member of winback_owner.

DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY
        ARRAY['winback_owner', 'winback_router', 'winback_notifier', 'winback_reporting']
    LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another schema's migration created it at the same moment
            END;
        END IF;
    END LOOP;
END;
$$;

-- The owner gets the schema's DDL and every object in it; nobody else may create there.
DO $$
DECLARE
    schema_name text := current_schema();
    item record;
BEGIN
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', schema_name);
    EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO winback_owner', schema_name);
    EXECUTE format(
        'GRANT USAGE ON SCHEMA %I TO winback_router, winback_notifier, winback_reporting',
        schema_name
    );
    -- Tables take their sequences and indexes along.
    FOR item IN
        SELECT c.relname, c.relkind FROM pg_class c
        WHERE c.relnamespace = schema_name::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
    LOOP
        EXECUTE format(
            'ALTER %s %I.%I OWNER TO winback_owner',
            CASE item.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                              ELSE 'TABLE' END,
            schema_name, item.relname
        );
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure AS signature FROM pg_proc p
        WHERE p.pronamespace = schema_name::regnamespace
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO winback_owner', item.signature);
    END LOOP;
END;
$$;

-- Every service reads the migration bookkeeping: a service starting with nothing pending
-- checks it and goes on without needing any DDL.
GRANT SELECT ON schema_migrations, schema_repeatables
    TO winback_router, winback_notifier, winback_reporting;

-- Router: winback_router.store, dead_letters, recoding; winback_shared.case_changes,
-- contact_policy_log. Opening a case fires the trigger writing its first history row (and
-- the hash chain reads the case's previous row), both as the router.
GRANT SELECT, INSERT, UPDATE ON survey_responses TO winback_router;
GRANT SELECT, INSERT ON recovery_cases TO winback_router;
GRANT UPDATE (priority, contact_due_at, alerted_at, seq, updated_at) ON recovery_cases
    TO winback_router;
GRANT SELECT, INSERT ON case_history TO winback_router;
GRANT SELECT, INSERT ON dead_letters TO winback_router;
GRANT UPDATE (replayed_at, replay_count) ON dead_letters TO winback_router;
GRANT SELECT, INSERT, UPDATE ON recode_runs TO winback_router;
GRANT SELECT, INSERT ON recode_changes, contact_policies TO winback_router;
-- Its ops endpoints (dead letters) sign supervisors in by token (winback_shared.auth).
GRANT SELECT (id, name, role, token_sha256, disabled_at) ON agents TO winback_router;
GRANT SELECT ON agent_queues TO winback_router;
GRANT USAGE ON SEQUENCE survey_responses_id_seq, recovery_cases_id_seq, case_history_id_seq,
    dead_letters_id_seq, recode_runs_id_seq, recode_changes_id_seq, contact_policies_id_seq
    TO winback_router;

-- Notifier: winback_notifier.cases, sla, reports, agents (and the agents CLI);
-- winback_shared.agents, case_changes. It never sets a case's priority, opening or alert.
GRANT SELECT ON survey_responses, contact_policies TO winback_notifier;
GRANT SELECT ON recovery_cases TO winback_notifier;
GRANT UPDATE (status, queue, owner_id, seq, updated_at, claimed_at, owned_at,
              first_attempt_at, last_attempt_at, first_contact_at, failed_attempts,
              root_cause, resolution, customer_reaction, resolved_at, root_cause_at,
              follow_up_outcome, closed_at, contact_due_at, sla_warned_at, sla_breached_at)
    ON recovery_cases TO winback_notifier;
GRANT SELECT, INSERT ON case_history, contact_attempts TO winback_notifier;
GRANT UPDATE (published_at) ON case_history TO winback_notifier;
GRANT SELECT, INSERT ON agents, queues TO winback_notifier;
GRANT UPDATE (name, role, token_sha256, disabled_at) ON agents TO winback_notifier;
GRANT SELECT, INSERT, DELETE ON agent_queues TO winback_notifier;
-- The outbox of agent changes: rows come from triggers, the announcer locks and deletes them.
GRANT SELECT, INSERT, DELETE ON agent_changes TO winback_notifier;
GRANT UPDATE (changed_at) ON agent_changes TO winback_notifier;
GRANT USAGE ON SEQUENCE case_history_id_seq, contact_attempts_id_seq, agents_id_seq,
    agent_changes_id_seq TO winback_notifier;

-- Reporting: the ops reports (winback_notifier.reports), `cases.audit verify`, exports and BI.
-- Agents without their token hashes; no dead letters (raw payloads), no outboxes.
GRANT SELECT ON survey_responses, recovery_cases, case_history, contact_attempts, queues,
    agent_queues, contact_policies, recode_runs, recode_changes TO winback_reporting;
GRANT SELECT (id, name, role, created_at, disabled_at) ON agents TO winback_reporting;
