"""The taxonomy's blind spots: answers and comments that matched no code, counted for ops.

A chosen answer that matched nothing usually wants a synonym; a comment that matched nothing
may want a keyword or a new code. A comment with content but no complaint ("thanks, all good")
is unclassified too, so the report can keep to responses that needed recovery. The report
never shows who answered: no customer fields, and e-mail addresses and phone numbers a customer
typed into a comment are masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from winback_shared.db import Connection
from winback_shared.taxonomy import UNCLASSIFIED

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d(?:[\s().-]*\d){6,}")


def mask_contact_data(text: str) -> str:
    """``text`` with e-mail addresses and phone-like digit runs (7 digits or more) masked."""
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


@dataclass(frozen=True)
class SourceCount:
    """One source's responses in the window, how many carry ``unclassified``, how many of
    those through a chosen answer, and how many of those needed recovery."""

    source: str
    responses: int
    unclassified: int
    unmatched_answers: int
    in_cases: int

    @property
    def share(self) -> float:
        """Fraction of the source's responses that are unclassified."""
        return self.unclassified / self.responses if self.responses else 0.0


@dataclass(frozen=True)
class BlindSpots:
    """Counts per source, the answers most often left unmatched, and recent texts."""

    by_source: list[SourceCount]
    top_answers: list[tuple[str, int]] = field(default_factory=list)
    recent: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """For ``--json``."""
        return {
            "by_source": [
                {**vars(count), "share": round(count.share, 4)} for count in self.by_source
            ],
            "top_unmatched_answers": [
                {"answer": answer, "count": count} for answer, count in self.top_answers
            ],
            "recent": self.recent,
        }

    def render(self) -> str:
        """For a terminal."""
        lines = [
            f"{'source':24} {'responses':>9} {'unclassified':>12} {'share':>6} {'answers':>8}"
            f" {'in cases':>8}"
        ]
        lines += [
            f"{c.source:24.24} {c.responses:>9} {c.unclassified:>12} {c.share:>6.1%}"
            f" {c.unmatched_answers:>8} {c.in_cases:>8}"
            for c in self.by_source
        ]
        if not self.by_source:
            lines.append("no responses in this window")
        if self.top_answers:
            lines.append("\nchosen answers matching no code (candidates for synonyms):")
            lines += [f"  {count:>5}  {answer}" for answer, count in self.top_answers]
        if self.recent:
            lines.append("\nrecent unclassified texts:")
            lines += [
                f"  {item['received_at'][:19]}  {item['source']:16.16}  {item['where']:7}"
                f"  {item['text']}"
                for item in self.recent
            ]
        return "\n".join(lines)


async def blind_spots(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    cases_only: bool = False,
    recent: int = 20,
    top: int = 10,
) -> BlindSpots:
    """How often the taxonomy found nothing, per source, over responses received in the window
    (with ``cases_only``, over responses that needed recovery)."""
    window = f"""
        ($1::timestamptz IS NULL OR received_at >= $1)
        AND ($2::timestamptz IS NULL OR received_at < $2)
        AND ($3::text IS NULL OR source = $3)
        {"AND needs_recovery" if cases_only else ""}
    """
    counts = await conn.fetch(
        f"""
        SELECT source, count(*) AS responses,
               count(*) FILTER (WHERE codes @> $4::jsonb) AS unclassified,
               count(*) FILTER (WHERE codes @> $5::jsonb) AS unmatched_answers,
               count(*) FILTER (WHERE codes @> $4::jsonb AND needs_recovery) AS in_cases
        FROM survey_responses WHERE {window}
        GROUP BY source ORDER BY unclassified DESC, source
        """,
        since,
        until,
        source,
        [{"code": UNCLASSIFIED}],
        [{"code": UNCLASSIFIED, "evidence_source": "answer"}],
    )
    answers = await conn.fetch(
        f"""
        SELECT evidence, count(*) AS n FROM unclassified_reasons
        WHERE {window} AND evidence_source = 'answer'
        GROUP BY evidence ORDER BY n DESC, evidence LIMIT $4
        """,
        since,
        until,
        source,
        top,
    )
    texts = await conn.fetch(
        f"""
        SELECT source, received_at, evidence_source, evidence FROM unclassified_reasons
        WHERE {window} ORDER BY received_at DESC, survey_response_id DESC LIMIT $4
        """,
        since,
        until,
        source,
        recent,
    )
    return BlindSpots(
        by_source=[
            SourceCount(
                source=row["source"],
                responses=row["responses"],
                unclassified=row["unclassified"],
                unmatched_answers=row["unmatched_answers"],
                in_cases=row["in_cases"],
            )
            for row in counts
        ],
        top_answers=[(mask_contact_data(row["evidence"]), row["n"]) for row in answers],
        recent=[
            {
                "source": row["source"],
                "received_at": row["received_at"].isoformat(),
                "where": row["evidence_source"] or "comment",
                "text": mask_contact_data(row["evidence"]),
            }
            for row in texts
        ],
    )
