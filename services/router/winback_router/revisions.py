"""Later deliveries of the same response: merging them without losing anything.

Vendors send one response more than once on purpose: Delighted posts the score, then an update
carrying the comment; Formbricks posts ``responseCreated``, ``responseUpdated`` and
``responseFinished``. Retries add plain duplicates. Merging is additive so that the order of
arrival does not matter for what the customer said: a later value replaces an earlier one, but
an empty value never erases a filled one, so a late retry of the first delivery cannot wipe the
comment the second one brought.
"""

from __future__ import annotations

import hashlib
import json

from winback_shared.survey import Score, SurveyResponse

_IDENTITY_FIELDS = {"receipt_id", "received_at"}


def content_digest(response: SurveyResponse) -> bytes:
    """SHA-256 of what the customer said, ignoring which delivery carried it."""
    content = response.model_dump(mode="json", exclude=_IDENTITY_FIELDS)
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).digest()


def _merge_scores(previous: list[Score], incoming: list[Score]) -> list[Score]:
    by_kind = {score.kind: score for score in previous}
    by_kind.update({score.kind: score for score in incoming})
    return list(by_kind.values())


def merge_revision(previous: SurveyResponse, incoming: SurveyResponse) -> SurveyResponse:
    """``previous`` updated by ``incoming``: filled fields win, empty fields keep the old value.

    Identity (receipt, received time) stays the first delivery's, since that is when the
    customer's voice first reached us and what SLA clocks measure from.
    """
    customer = previous.customer.model_copy(update=incoming.customer.model_dump(exclude_none=True))
    interaction = previous.interaction.model_copy(
        update=incoming.interaction.model_dump(exclude_none=True)
    )
    return previous.model_copy(
        update={
            "survey_id": incoming.survey_id or previous.survey_id,
            "submitted_at": incoming.submitted_at or previous.submitted_at,
            "customer": customer,
            "interaction": interaction,
            "scores": _merge_scores(previous.scores, incoming.scores),
            "reasons": incoming.reasons or previous.reasons,
            "comment": incoming.comment or previous.comment,
            "follow_up_requested": previous.follow_up_requested or incoming.follow_up_requested,
        }
    )
