"""Reason coding: which dissatisfaction reasons a response carries, each with its evidence."""

from __future__ import annotations

from winback_shared.events.recovery_alerts import CodedReason
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import UNCLASSIFIED, Taxonomy


def code_chosen_reasons(response: SurveyResponse, taxonomy: Taxonomy) -> list[CodedReason]:
    """Map each chosen answer to a taxonomy code through its label and synonyms.

    An answer that matches no code is kept as ``unclassified`` with the answer as evidence, so
    nothing the customer said disappears and ops can see the taxonomy's blind spots.
    """
    coded: dict[str, CodedReason] = {}
    for answer in response.reasons:
        code = taxonomy.match_label(answer)
        code_id = code.id if code else UNCLASSIFIED
        if code_id in coded:
            continue
        coded[code_id] = CodedReason(
            code=code_id,
            label=code.label if code else "Unclassified",
            evidence=answer,
            method="chosen_answer" if code else "no_match",
            confidence=1.0 if code else 0.0,
        )
    return list(coded.values())
