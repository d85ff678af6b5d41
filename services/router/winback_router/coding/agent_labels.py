"""Labelled data from agents: what the people who talked to the customers say the reasons were.

A case's history (``case_history``, append-only) holds two kinds of label:

- a **review** (``reasons_reviewed``, the case panel's "reasons right / wrong"): a *full* label,
  every taxonomy code that applies and whether the customer asked to be contacted. The latest
  review of a case wins; a root cause confirmed at a later resolution that the review lacks is
  added to it (the agent learned more on the call).
- the **root cause** confirmed at resolution (``resolved``), with no review: a *partial* label.
  One code is known to apply; whether others do, and whether the customer asked to be
  contacted, is unknown.

Scoring (``python -m winback_router.coding.evaluate --split agent``): each labelled response is
coded as the router codes it (its chosen answers and its comment, rules and model). Full labels
count as any labelled comment does: every code's precision and recall, the no-code row, and
"asks to be contacted" (the survey's own field or ``asks_contact`` coded, against the agent's
answer). A partial label counts only toward its code's recall (found or missed); it never
counts against precision, since nobody said the other codes were wrong.

Training (``python -m winback_router.coding.train --with-agent-labels``) uses full labels only
(a classifier must also learn where a code is absent), as one text: the chosen answers, then the
comment. Codes the current taxonomy no longer has are dropped from a label. Once the model is
trained on them, the agent figures are training figures, no longer evidence.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from winback_router.coding import code_response
from winback_router.coding.evaluate import (
    CodeScore,
    Example,
    Report,
    follow_up_score,
    format_errors,
    format_report,
    score,
)
from winback_shared.case_vocabulary import HistoryKind
from winback_shared.db import create_pool
from winback_shared.settings import CommonSettings
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import ASKS_CONTACT, RESERVED_CODES, Taxonomy

AGENT = "agent"
"""The split's name for ``evaluate --split``."""


@dataclass(frozen=True)
class AgentLabel:
    """One response as an agent labelled it."""

    case_id: int
    comment: str | None
    answers: tuple[str, ...]
    """The answers the customer chose (the survey's reason list)."""
    asked_in_survey: bool
    """The survey's own "contact me" field."""
    codes: frozenset[str]
    follow_up: bool | None
    """Whether the customer asked to be contacted; ``None`` when the agent did not say."""
    partial: bool
    """Only ``codes`` are known to apply (a root cause at resolution, no review)."""

    @property
    def text(self) -> str:
        """The chosen answers and the comment as one text, for training and listing."""
        parts = [f"{answer.rstrip('.')}." for answer in self.answers]
        return " ".join([*parts, self.comment] if self.comment else parts)


def label_of(
    review: Mapping[str, Any] | None,
    review_seq: int | None,
    root_cause: str | None,
    resolved_seq: int | None,
) -> tuple[frozenset[str], bool | None, bool] | None:
    """The label (codes, follow-up, partial) a case's latest review and latest resolution give;
    ``None`` when there is neither."""
    if review is not None and review_seq is not None:
        codes = set(review.get("codes", []))
        if root_cause and resolved_seq is not None and resolved_seq > review_seq:
            codes.add(root_cause)
        return frozenset(codes), bool(review.get("follow_up_requested")), False
    if root_cause:
        return frozenset({root_cause}), None, True
    return None


_LABELLED = """
WITH latest AS (
    SELECT DISTINCT ON (case_id, kind) case_id, kind, seq, data
    FROM case_history WHERE kind = ANY($1::text[])
    ORDER BY case_id, kind, seq DESC
)
SELECT c.id AS case_id, r.comment, r.chosen_reasons, r.follow_up_requested,
       rv.seq AS review_seq, rv.data AS review, rs.seq AS resolved_seq, rs.data AS resolution
FROM (SELECT DISTINCT case_id FROM latest) labelled
JOIN recovery_cases c ON c.id = labelled.case_id
JOIN survey_responses r ON r.id = c.survey_response_id
LEFT JOIN latest rv ON rv.case_id = c.id AND rv.kind = $2
LEFT JOIN latest rs ON rs.case_id = c.id AND rs.kind = $3
ORDER BY c.id
"""


async def load(conn: asyncpg.Pool) -> list[AgentLabel]:
    """Every case an agent labelled, oldest case first."""
    review, resolved = HistoryKind.REASONS_REVIEWED, HistoryKind.RESOLVED
    rows = await conn.fetch(_LABELLED, [review, resolved], review, resolved)
    labels = []
    for row in rows:
        resolution = row["resolution"] or {}
        found = label_of(
            row["review"], row["review_seq"], resolution.get("root_cause"), row["resolved_seq"]
        )
        if found is None:
            continue
        codes, follow_up, partial = found
        labels.append(
            AgentLabel(
                case_id=row["case_id"],
                comment=row["comment"],
                answers=tuple(row["chosen_reasons"]),
                asked_in_survey=row["follow_up_requested"],
                codes=codes,
                follow_up=follow_up,
                partial=partial,
            )
        )
    return labels


def read_configured() -> list[AgentLabel]:
    """:func:`read` from the database ``DATABASE_URL`` names (as every service reads it)."""
    return read(CommonSettings().database_url)


def read(database_url: str) -> list[AgentLabel]:
    """:func:`load` from the database at ``database_url``, for the command-line tools."""

    async def reading() -> list[AgentLabel]:
        pool = await create_pool(database_url, min_size=1, max_size=1)
        try:
            return await load(pool)
        finally:
            await pool.close()

    return asyncio.run(reading())


def training_examples(labels: Sequence[AgentLabel], codes: Sequence[str]) -> list[Example]:
    """The full labels with any text, as examples in the comments' format."""
    known = set(codes)
    return [
        Example(f"case-{label.case_id}", label.text, label.codes & known, label.follow_up)
        for label in labels
        if not label.partial and label.text.strip()
    ]


def coded(taxonomy: Taxonomy, label: AgentLabel) -> set[str]:
    """Every code the router gives the labelled response (its answers and comment)."""
    response = SurveyResponse(
        response_id=f"case-{label.case_id}", reasons=list(label.answers), comment=label.comment,
        source="agent-labels", vendor="generic", receipt_id=f"case-{label.case_id}",
        received_at=datetime.now(UTC),
    )  # fmt: skip
    return {reason.code for reason in code_response(response, taxonomy)}


@dataclass(frozen=True)
class AgentReport:
    """The per-code table over full and partial labels, and follow-up on the full ones."""

    report: Report
    full: int
    partial: int
    follow_up: CodeScore | None
    errors: str


def evaluate(taxonomy: Taxonomy, labels: Sequence[AgentLabel]) -> AgentReport:
    """Score the router's coding against the agents' labels (see the module docstring)."""
    codes = [code.id for code in taxonomy.codes]
    known = set(codes)
    found = [coded(taxonomy, label) for label in labels]
    full = [(label, got) for label, got in zip(labels, found, strict=True) if not label.partial]
    examples = [
        Example(f"case-{label.case_id}", label.text, label.codes & known, label.follow_up)
        for label, _ in full
    ]
    predictions = [got - RESERVED_CODES for _, got in full]
    base = score(examples, predictions, codes)
    hits: Counter[str] = Counter()
    misses: Counter[str] = Counter()
    for label, got in zip(labels, found, strict=True):
        if label.partial:
            for code in label.codes & known:
                (hits if code in got else misses)[code] += 1
    rows = [
        CodeScore(
            row.code,
            row.true_positives + hits[row.code],
            row.false_positives,
            row.false_negatives + misses[row.code],
        )
        for row in base.codes
    ]
    asked = [label.asked_in_survey or ASKS_CONTACT in got for label, got in full]
    return AgentReport(
        report=Report(rows, base.no_code, len(labels)),
        full=len(full),
        partial=len(labels) - len(full),
        follow_up=follow_up_score(examples, asked),
        errors=format_errors(examples, predictions),
    )


def format_agent_report(title: str, result: AgentReport, *, errors: bool = False) -> str:
    """The per-code table, what the labels were, and follow-up detection."""
    follow = result.follow_up
    asked = (
        f"{follow.precision:.2f} / {follow.recall:.2f} / {follow.f1:.2f} ({follow.support})"
        if follow
        else "not labelled"
    )
    lines = [
        format_report(title, result.report),
        f"labels: {result.full} reviewed by an agent (full), {result.partial} root cause at"
        " resolution only (partial: count toward that code's recall only)",
        f"asks to be contacted P / R / F1 (full labels): {asked}",
    ]
    if errors:
        lines.append(result.errors)
    return "\n".join(lines)


def main(taxonomy: Taxonomy, method: str, *, errors: bool = False) -> str:
    """``evaluate --split agent``: the report for every label in the database ``DATABASE_URL``
    names."""
    labels = read_configured()
    return format_agent_report(f"{method}, {AGENT}", evaluate(taxonomy, labels), errors=errors)
