"""Cases for BI: one flat row per case (timings, reasons, root cause, resolution), in batches.

The rows come from a server-side cursor inside one read-only transaction, a batch at a time,
so a year of cases is never held in memory (by PostgreSQL's client or ours), and the export
is one consistent snapshot even while agents keep working. Ordered by opening time, then id,
so two exports of the same window line up row for row.

The columns are defined once, in :data:`COLUMNS`; the CSV and Parquet writers
(:mod:`winback_notifier.reports.export_formats`) and the tests read them from here. A case's
coded reasons are one text column of codes joined by ``;`` in coding order, in both formats,
because most BI tools read a flat text column and few read a list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import asyncpg
from pydantic import BaseModel, Field, ValidationError, model_validator

from winback_shared.case_months import responses_of_cases_opened
from winback_shared.db import Connection
from winback_shared.taxonomy import RESERVED_CODES, Taxonomy

MAX_EXPORT_WINDOW = timedelta(days=3 * 366)
"""As for the reports: long enough for year-on-year analysis, short enough to bound one scan."""

DEFAULT_EXPORT_WINDOW = timedelta(days=30)
DEFAULT_BATCH_ROWS = 1000


class ColumnKind(StrEnum):
    """How a column is typed in Parquet and written in CSV."""

    INT = "int"
    TEXT = "text"
    TIME = "time"
    """A UTC instant: ISO 8601 in CSV, a microsecond UTC timestamp in Parquet."""
    BOOL = "bool"
    FLOAT = "float"


@dataclass(frozen=True)
class Column:
    """One exported column: its name (also the SQL alias) and the expression that yields it."""

    name: str
    kind: ColumnKind
    sql: str


_REASONS = """(
    SELECT string_agg(e.code ->> 'code', ';' ORDER BY e.ord)
    FROM jsonb_array_elements(r.codes) WITH ORDINALITY AS e (code, ord)
)"""

COLUMNS: tuple[Column, ...] = (
    Column("case_id", ColumnKind.INT, "c.id"),
    Column("status", ColumnKind.TEXT, "c.status"),
    Column("priority", ColumnKind.INT, "c.priority"),
    Column("queue", ColumnKind.TEXT, "c.queue"),
    Column("owner", ColumnKind.TEXT, "a.name"),
    Column("received_at", ColumnKind.TIME, "r.received_at"),
    Column("opened_at", ColumnKind.TIME, "c.opened_at"),
    Column("alerted_at", ColumnKind.TIME, "c.alerted_at"),
    Column("claimed_at", ColumnKind.TIME, "c.claimed_at"),
    Column("first_attempt_at", ColumnKind.TIME, "c.first_attempt_at"),
    Column("first_contact_at", ColumnKind.TIME, "c.first_contact_at"),
    Column("contact_due_at", ColumnKind.TIME, "c.contact_due_at"),
    Column("sla_warned_at", ColumnKind.TIME, "c.sla_warned_at"),
    Column("sla_breached_at", ColumnKind.TIME, "c.sla_breached_at"),
    Column("resolved_at", ColumnKind.TIME, "c.resolved_at"),
    Column("closed_at", ColumnKind.TIME, "c.closed_at"),
    Column("failed_attempts", ColumnKind.INT, "c.failed_attempts"),
    Column("reasons", ColumnKind.TEXT, _REASONS),
    Column("root_cause", ColumnKind.TEXT, "c.root_cause"),
    Column("apology", ColumnKind.BOOL, "(c.resolution ->> 'apology')::boolean"),
    Column("explanation", ColumnKind.TEXT, "c.resolution ->> 'explanation'"),
    Column("compensation_kind", ColumnKind.TEXT, "c.resolution #>> '{compensation,kind}'"),
    Column(
        "compensation_value", ColumnKind.FLOAT, "(c.resolution #>> '{compensation,value}')::float8"
    ),
    Column("compensation_currency", ColumnKind.TEXT, "c.resolution #>> '{compensation,currency}'"),
    Column("process_change", ColumnKind.TEXT, "c.resolution ->> 'process_change'"),
    Column("customer_reaction", ColumnKind.TEXT, "c.customer_reaction"),
    Column("follow_up_outcome", ColumnKind.TEXT, "c.follow_up_outcome"),
)


class Row(Protocol):
    """One case's values, in :data:`COLUMNS` order (an ``asyncpg.Record``, or a tuple)."""

    def __getitem__(self, index: int, /) -> Any: ...


Batches = AsyncIterator[Sequence[Row]]
"""What the writers read: :func:`case_batches`, or any rows in :data:`COLUMNS` order."""


class ExportFilter(BaseModel):
    """Which cases: opened in ``[since, until)``, in any of ``queues``, with any of ``reasons``.

    An empty list means no restriction on that dimension.
    """

    since: datetime
    until: datetime
    queues: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    """Coded reasons (taxonomy codes); a case matches if any of its codes is listed."""

    @model_validator(mode="after")
    def _window_makes_sense(self) -> ExportFilter:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("'since' and 'until' need a UTC offset")
        if self.since >= self.until:
            raise ValueError("'since' must be before 'until'")
        if self.until - self.since > MAX_EXPORT_WINDOW:
            raise ValueError("the window may span at most three years")
        return self


def build_filter(
    since: datetime | None, until: datetime | None, queues: list[str], reasons: list[str]
) -> ExportFilter:
    """The filter a request or the CLI asks for: UTC where no offset is given, the last 30 days
    by default; raises ``ValueError`` with a readable message if it makes no sense."""
    end = _aware(until) if until is not None else datetime.now(UTC)
    start = _aware(since) if since is not None else end - DEFAULT_EXPORT_WINDOW
    try:
        return ExportFilter(since=start, until=end, queues=queues, reasons=reasons)
    except ValidationError as error:
        messages = (str(e["msg"]).removeprefix("Value error, ") for e in error.errors())
        raise ValueError("; ".join(messages)) from None


def _aware(moment: datetime) -> datetime:
    """A time without an offset is read as UTC, as everywhere else in winback."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_FROM_WHERE = f"""
    FROM recovery_cases c
    JOIN survey_responses r
      ON r.id = c.survey_response_id AND r.received_at = c.response_received_at
    LEFT JOIN agents a ON a.id = c.owner_id
    WHERE c.opened_at >= $1 AND c.opened_at < $2 AND {responses_of_cases_opened("$1", "$2")}
      AND (cardinality($3::text[]) = 0 OR c.queue = ANY($3::text[]))
      AND (cardinality($4::text[]) = 0 OR EXISTS (
              SELECT 1 FROM jsonb_array_elements(r.codes) AS code
              WHERE code ->> 'code' = ANY($4::text[])))
"""

_SELECT = (
    "SELECT "
    + ",\n       ".join(f"{column.sql} AS {column.name}" for column in COLUMNS)
    + _FROM_WHERE
    + "ORDER BY c.opened_at, c.id"
)


def _args(where: ExportFilter) -> tuple[object, ...]:
    return (where.since, where.until, where.queues, where.reasons)


async def filter_problems(
    conn: Connection | asyncpg.Pool, where: ExportFilter, taxonomy: Taxonomy
) -> list[str]:
    """What is wrong with a filter (unknown queues or reason codes); empty if nothing is.

    A typo in a filter would otherwise export zero rows and look like a quiet month.
    """
    problems = []
    known_codes = {code.id for code in taxonomy.codes} | RESERVED_CODES
    unknown_reasons = sorted(set(where.reasons) - known_codes)
    if unknown_reasons:
        problems.append(f"unknown reason codes: {', '.join(unknown_reasons)}")
    if where.queues:
        # A queue is known if it was created or if cases were routed to it (a routing rule
        # may name a queue nobody created).
        found = await conn.fetch(
            """
            SELECT wanted.queue FROM unnest($1::text[]) AS wanted (queue)
            WHERE EXISTS (SELECT 1 FROM queues q WHERE q.name = wanted.queue)
               OR EXISTS (SELECT 1 FROM recovery_cases c WHERE c.queue = wanted.queue)
            """,
            where.queues,
        )
        unknown_queues = sorted(set(where.queues) - {row["queue"] for row in found})
        if unknown_queues:
            problems.append(f"unknown queues: {', '.join(unknown_queues)}")
    return problems


async def count_cases(conn: Connection | asyncpg.Pool, where: ExportFilter) -> int:
    """How many cases the filter selects (for a progress bar; the export itself may differ by
    cases opened in between, which is why it is not used to stop the stream)."""
    count = await conn.fetchval("SELECT count(*)" + _FROM_WHERE, *_args(where))
    return int(count)


async def case_batches(
    pool: asyncpg.Pool, where: ExportFilter, *, batch_rows: int = DEFAULT_BATCH_ROWS
) -> AsyncIterator[list[asyncpg.Record]]:
    """The selected cases, ``batch_rows`` at a time, from one snapshot.

    Holds one pooled connection until the generator is exhausted or closed: callers close it
    (``aclose``) when they stop early, so the connection goes back to the pool.
    """
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = await conn.cursor(_SELECT, *_args(where))
        while rows := await cursor.fetch(batch_rows):
            yield rows
