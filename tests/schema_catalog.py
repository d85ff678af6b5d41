"""Everything PostgreSQL's catalog says about one schema, as comparable values.

Two schemas are the same to the services when these snapshots are equal: their tables,
columns, constraints, indexes, triggers, functions, views, sequences, types, grants, owners,
comments, policies, rules, partitions and rows. The schema's own name is replaced by ``S`` so
snapshots of two schemas compare; object ids and physical column numbers are left out (they
differ between any two schemas), column order is kept.

Three things PostgreSQL decides by the order objects came to be, not by what they are, are
compared without it: a constraint it clones onto each partition a foreign key refers to is
named ``..._fkey_1``, ``_2`` in the order the partitions were made (compared by its table,
the constraint it was cloned from and its definition); the internal triggers of a foreign key
carry an object id in their names (compared by table, constraint and definition); and
``connoinherit`` of a partition's primary key or unique constraint is false when the partition
was made ``PARTITION OF`` its table and true when it was made alone and attached (what
``pg_dump`` writes) — a flag with no meaning for such constraints, which are never inherited.
And a trigger's definition is compared without its parentheses: PostgreSQL keeps a row
comparison ``(OLD.a, OLD.b) IS DISTINCT FROM (NEW.a, NEW.b)`` as nested ORs, which ``pg_dump``
prints and PostgreSQL reads back as one flat OR of the same terms in the same order: the same
condition, evaluated alike, printed with fewer parentheses.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

Snapshot = dict[str, Any]

MOMENTS = ("now()", "CURRENT_TIMESTAMP")
"""Defaults that stamp a row with the moment it was written: in the rows the migrations insert
(the default queue, the bookkeeping) they hold the moment of migrating, which differs between
any two schemas migrated apart, so these columns are left out of the rows compared."""

_QUERIES: dict[str, str] = {
    "schema": """
        SELECT pg_get_userbyid(nspowner) AS owner, nspacl::text[] AS acl,
               obj_description(oid, 'pg_namespace') AS comment
        FROM pg_namespace WHERE oid = $1::regnamespace
    """,
    "relations": """
        SELECT c.relname, c.relkind, c.relpersistence, c.relispartition, c.relrowsecurity,
               c.relforcerowsecurity, c.relreplident, c.reloptions, c.relacl::text[] AS acl,
               pg_get_userbyid(c.relowner) AS owner, obj_description(c.oid, 'pg_class') AS comment,
               pg_get_expr(c.relpartbound, c.oid) AS bound,
               CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
               (SELECT array_agg(p.relname ORDER BY p.relname) FROM pg_inherits i
                JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid) AS parents,
               CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view
        FROM pg_class c WHERE c.relnamespace = $1::regnamespace
        ORDER BY c.relname
    """,
    "columns": """
        SELECT c.relname, a.attname,
               rank() OVER (PARTITION BY c.oid ORDER BY a.attnum) AS position,
               format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, a.attidentity,
               a.attgenerated, a.attislocal, a.attinhcount, a.attstattarget, a.attstorage,
               a.attcompression, a.attacl::text[] AS acl, a.attoptions,
               (SELECT collname FROM pg_collation WHERE oid = a.attcollation) AS collation,
               pg_get_expr(d.adbin, d.adrelid) AS default,
               col_description(c.oid, a.attnum) AS comment
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = $1::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY c.relname, a.attnum
    """,
    "constraints": """
        SELECT t.relname,
               CASE WHEN o.conparentid = 0 THEN o.conname END AS conname,
               (SELECT p.conname FROM pg_constraint p WHERE p.oid = o.conparentid) AS parent,
               o.contype, pg_get_constraintdef(o.oid) AS definition,
               o.condeferrable, o.condeferred, o.convalidated, o.conislocal, o.coninhcount,
               CASE WHEN o.contype NOT IN ('p', 'u', 'x') THEN o.connoinherit END
               AS connoinherit, obj_description(o.oid, 'pg_constraint') AS comment
        FROM pg_constraint o LEFT JOIN pg_class t ON t.oid = o.conrelid
        WHERE o.connamespace = $1::regnamespace
    """,
    "indexes": """
        SELECT c.relname, i.relname AS index, pg_get_indexdef(x.indexrelid) AS definition,
               x.indisunique, x.indisprimary, x.indisexclusion, x.indimmediate,
               x.indisclustered, x.indisvalid, x.indisready, x.indisreplident,
               x.indnullsnotdistinct
        FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        WHERE c.relnamespace = $1::regnamespace
        ORDER BY c.relname, i.relname
    """,
    "triggers": """
        SELECT c.relname,
               regexp_replace(t.tgname, '^(RI_ConstraintTrigger_[ac])_[0-9]+$', '\\1') AS tgname,
               regexp_replace(regexp_replace(pg_get_triggerdef(t.oid),
                              '"RI_ConstraintTrigger_([ac])_[0-9]+"', 'RI_ConstraintTrigger_\\1'),
                              '[()]', '', 'g') AS definition,
               (SELECT r.relname FROM pg_class r WHERE r.oid = t.tgconstrrelid) AS other_table,
               (SELECT CASE WHEN o.conparentid = 0 THEN o.conname
                            ELSE pg_get_constraintdef(o.oid) END
                FROM pg_constraint o WHERE o.oid = t.tgconstraint) AS constraint,
               t.tgenabled,
               t.tgisinternal,
               (SELECT regexp_replace(p.tgname, '^(RI_ConstraintTrigger_[ac])_[0-9]+$', '\\1')
                FROM pg_trigger p WHERE p.oid = t.tgparentid) AS parent,
               obj_description(t.oid, 'pg_trigger') AS comment
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = $1::regnamespace
        ORDER BY c.relname, t.tgname
    """,
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS arguments,
               CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition,
               (SELECT concat_ws(' ', g.aggkind, g.aggtransfn::text, g.aggfinalfn::text,
                                 g.aggcombinefn::text, format_type(g.aggtranstype, NULL),
                                 g.agginitval, g.aggfinalextra, g.aggfinalmodify)
                FROM pg_aggregate g WHERE g.aggfnoid = p.oid) AS aggregate,
               p.prosrc, pg_get_function_result(p.oid) AS result, p.prokind,
               pg_get_userbyid(p.proowner) AS owner, p.proacl::text[] AS acl,
               obj_description(p.oid, 'pg_proc') AS comment
        FROM pg_proc p WHERE p.pronamespace = $1::regnamespace
        ORDER BY p.proname, arguments
    """,
    "sequences": """
        SELECT sequencename, data_type::text, start_value, min_value, max_value, increment_by,
               cycle, cache_size, last_value, sequenceowner
        FROM pg_sequences WHERE schemaname = $1::text
        ORDER BY sequencename
    """,
    "sequence_owners": """
        SELECT s.relname AS sequence, t.relname AS owned_by, a.attname AS column, d.deptype
        FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
        JOIN pg_class t ON t.oid = d.refobjid
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE s.relnamespace = $1::regnamespace AND d.classid = 'pg_class'::regclass
        ORDER BY s.relname
    """,
    "types": """
        SELECT t.typname, t.typtype, pg_get_userbyid(t.typowner) AS owner,
               t.typacl::text[] AS acl, format_type(t.typbasetype, t.typtypmod) AS base,
               t.typnotnull, t.typdefault,
               (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e
                WHERE e.enumtypid = t.oid) AS labels,
               (SELECT array_agg(pg_get_constraintdef(o.oid) ORDER BY o.conname)
                FROM pg_constraint o WHERE o.contypid = t.oid) AS checks
        FROM pg_type t WHERE t.typnamespace = $1::regnamespace
        ORDER BY t.typname
    """,
    "policies": """
        SELECT tablename, policyname, permissive, roles::text[], cmd, qual, with_check
        FROM pg_policies WHERE schemaname = $1::text
        ORDER BY tablename, policyname
    """,
    "rules": """
        SELECT tablename, rulename, definition FROM pg_rules WHERE schemaname = $1::text
        ORDER BY tablename, rulename
    """,
    "statistics": """
        SELECT stxname, pg_get_statisticsobjdef(oid) AS definition FROM pg_statistic_ext
        WHERE stxnamespace = $1::regnamespace ORDER BY stxname
    """,
}


async def snapshot(conn: asyncpg.Connection, schema: str) -> Snapshot:
    """The catalog and the rows of ``schema``, its name replaced by ``S``."""
    taken: Snapshot = {}
    for part, query in _QUERIES.items():
        rows = await conn.fetch(query, schema)
        named = [_named(dict(row), schema) for row in rows]
        taken[part] = sorted(named, key=lambda row: json.dumps(row, sort_keys=True))
    taken["rows"] = await _rows(conn, schema)
    taken["sequence_states"] = await _sequence_states(conn, schema)
    return taken


async def _sequence_states(conn: asyncpg.Connection, schema: str) -> dict[str, list[Any]]:
    """Where each sequence stands: its next value depends on ``is_called`` too."""
    names = await conn.fetch(
        "SELECT relname FROM pg_class WHERE relnamespace = $1::regnamespace AND relkind = 'S'",
        schema,
    )
    states: dict[str, list[Any]] = {}
    for name in names:
        state = await conn.fetchrow(
            f'SELECT last_value, is_called FROM "{schema}"."{name["relname"]}"'
        )
        assert state is not None
        states[name["relname"]] = [state["last_value"], state["is_called"]]
    return states


async def _rows(conn: asyncpg.Connection, schema: str) -> dict[str, list[str]]:
    """Every table's rows as sorted JSON, the :data:`MOMENTS` left out."""
    tables = await conn.fetch(
        """
        SELECT c.relname, coalesce(array_agg(a.attname) FILTER (
                   WHERE pg_get_expr(d.adbin, d.adrelid) = ANY($2::text[])), '{}') AS moments
        FROM pg_class c
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r'
        GROUP BY c.relname ORDER BY c.relname
        """,
        schema,
        list(MOMENTS),
    )
    found: dict[str, list[str]] = {}
    for table in tables:
        name = table["relname"]
        row = "to_jsonb(t)" + "".join(f" - '{column}'" for column in table["moments"])
        values = await conn.fetch(f'SELECT ({row})::text AS row FROM "{schema}"."{name}" t')
        found[name] = sorted(_named(value["row"], schema) for value in values)
    return found


def _named(value: Any, schema: str) -> Any:
    """``value`` with the schema's name replaced by ``S`` wherever it appears."""
    return json.loads(json.dumps(value, default=str).replace(schema, "S"))
