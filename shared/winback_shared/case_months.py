"""Reading a case named by its id alone in the month partitions that hold it.

``recovery_cases`` is partitioned by month of ``opened_at`` and ``survey_responses`` by month of
``received_at`` (migrations 0035 and 0032). A query that names a case by id alone probes every
month partition's primary key, and the planner, counting a row per partition, then joins every
response partition too: the cost grows with each month kept. ``case_keys`` names every case
with its opening, and migration 0038 indexes it by case id, so the month is one index-only
probe away.

The two subqueries below are how a statement names those months. Each is an ``InitPlan``, run
once before the scans that compare against it, so PostgreSQL prunes the other partitions at
run time (``EXPLAIN ANALYZE`` shows them "never executed"), whichever join the planner picks,
in a plan prepared once and reused (no re-planning per case). Both read the case id from
``$1``: a statement using them numbers the case's id first.

Equal by construction: ``case_keys.opened_at`` is written with the case and follows a data fix
of its opening (0035's trigger); ``response_received_at`` is held equal to the response's
``received_at`` by the composite foreign key (``ON UPDATE CASCADE``). So a case read this way
is the case read by id alone, and a case id that has no case reads nothing either way.
"""

from __future__ import annotations

from enum import StrEnum

import asyncpg

from winback_shared.db import Connection

CASE_OPENED_AT = "(SELECT k.opened_at FROM case_keys k WHERE k.case_id = $1)"
"""The opening of case ``$1``, from its key: one probe of ``case_keys_case_id``."""

RESPONSE_RECEIVED_AT = (
    "(SELECT rc.response_received_at FROM recovery_cases rc"
    f" WHERE rc.id = $1 AND rc.opened_at = {CASE_OPENED_AT})"
)
"""When case ``$1``'s response was received (its response's month), from the case in its own
month: the key's probe, then one partition's."""


def cases_opened_between(column: str = "opened_at") -> str:
    """A condition on ``column`` (a case's ``opened_at``) that holds for every case named in
    ``$1::bigint[]``: from the first opening of their keys to the last, two subqueries run
    before the scans, so only the months in between are scanned (one for a batch opened
    moments ago). No key, no month: a list of ids naming no case reads nothing, as by id.

    For cases opened together (a batch) only: over cases spread across weeks the scan of the
    openings' index reads every case opened in between, slower than probing by id."""
    keys = "FROM case_keys k WHERE k.case_id = ANY($1::bigint[])"
    return (
        f"{column} >= (SELECT min(k.opened_at) {keys})"
        f" AND {column} <= (SELECT max(k.opened_at) {keys})"
    )


def responses_received_between(column: str = "received_at") -> str:
    """A condition on ``column`` (a response's ``received_at``) that holds for the responses
    of every case named in ``$1::bigint[]``: from the first to the last of those cases'
    ``response_received_at``, read from the cases in their months
    (:func:`cases_opened_between`)."""
    cases = (
        "FROM recovery_cases rc WHERE rc.id = ANY($1::bigint[])"
        f" AND {cases_opened_between('rc.opened_at')}"
    )
    return (
        f"{column} >= (SELECT min(rc.response_received_at) {cases})"
        f" AND {column} <= (SELECT max(rc.response_received_at) {cases})"
    )


def responses_of_cases_opened(since: str, until: str, column: str = "r.received_at") -> str:
    """A condition on ``column`` (a response's ``received_at``) that holds for the response of
    every case opened in ``[since, until)`` (two parameters, e.g. ``"$1"``, ``"$2"``): from the
    first to the last ``response_received_at`` of those cases, two subqueries run before the
    scans. A report over a window of openings then reads the responses of the months its cases'
    responses came in, not every month's, whichever join the planner picks (a hash join of the
    cases against all responses otherwise scans every month partition of responses).

    Costs a read of the window's cases for the bounds (their own month partitions)."""
    cases = f"FROM recovery_cases rc WHERE rc.opened_at >= {since} AND rc.opened_at < {until}"
    return (
        f"{column} >= (SELECT min(rc.response_received_at) {cases})"
        f" AND {column} <= (SELECT max(rc.response_received_at) {cases})"
    )


class CaseView(StrEnum):
    """The views of one case a service reads (``migrations/repeatable/case_cards.sql``)."""

    CARDS = "case_cards"
    """The notifier's card: the survey side and the workflow side."""
    SUMMARIES = "case_summaries"
    """The router's alert: the survey side."""


async def read_case(
    conn: Connection | asyncpg.Pool, view: CaseView, case_id: int
) -> asyncpg.Record | None:
    """One case's row of ``view``, read in its month's partition of cases and its response's
    month's partition of responses; ``None`` if there is no such case."""
    if not isinstance(view, CaseView):  # a str would reach the SQL text: refuse it
        raise TypeError(f"views are named by CaseView, not {view!r}")
    return await conn.fetchrow(
        f"SELECT * FROM {view} WHERE case_id = $1"
        f" AND opened_at = {CASE_OPENED_AT} AND received_at = {RESPONSE_RECEIVED_AT}",
        case_id,
    )
