"""Later deliveries of the same response: merging them without losing anything.

Vendors send one response more than once on purpose: Delighted posts the score, then an update
carrying the comment; Formbricks posts ``responseCreated``, ``responseUpdated`` and
``responseFinished``. Retries add plain duplicates. Merging is additive so that the order of
arrival does not matter for what the customer said: a filled value replaces another, but an
empty value never erases a filled one, so a late retry of the first delivery cannot wipe the
comment the second one brought.

Which of two filled values wins depends on the vendor's own clock when the deliveries carry it
(``updated_at``: Delighted, Formbricks, SurveyMonkey, Zendesk): the newer one, whatever order
they arrived in, so a retried or replayed old delivery cannot put back a score the customer
has since changed. Without that clock, the delivery that arrived last wins.
"""

from __future__ import annotations

import hashlib
import json

from winback_shared.survey import Score, SurveyResponse

_IDENTITY_FIELDS = {"receipt_id", "received_at", "updated_at"}
"""Left out of the digest: a delivery that changes nothing but the vendor's clock is no news."""


def content_digest(response: SurveyResponse) -> bytes:
    """SHA-256 of what the customer said, ignoring which delivery carried it."""
    content = response.model_dump(mode="json", exclude=_IDENTITY_FIELDS)
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).digest()


def _merge_scores(previous: list[Score], incoming: list[Score]) -> list[Score]:
    by_kind = {score.kind: score for score in previous}
    by_kind.update({score.kind: score for score in incoming})
    return list(by_kind.values())


def is_older(incoming: SurveyResponse, previous: SurveyResponse) -> bool:
    """Whether the vendor says ``incoming`` predates what is stored (both must say when)."""
    return (
        incoming.updated_at is not None
        and previous.updated_at is not None
        and incoming.updated_at < previous.updated_at
    )


def merge_revision(previous: SurveyResponse, incoming: SurveyResponse) -> SurveyResponse:
    """``previous`` revised by ``incoming``: the newer delivery's filled fields win.

    Identity (receipt, received time) stays the first delivery's, since that is when the
    customer's voice first reached us and what SLA clocks measure from.
    """
    older, newer = (incoming, previous) if is_older(incoming, previous) else (previous, incoming)
    customer = older.customer.model_copy(update=newer.customer.model_dump(exclude_none=True))
    interaction = older.interaction.model_copy(
        update=newer.interaction.model_dump(exclude_none=True)
    )
    clocks = [when for when in (previous.updated_at, incoming.updated_at) if when is not None]
    return previous.model_copy(
        update={
            "survey_id": newer.survey_id or older.survey_id,
            "submitted_at": newer.submitted_at or older.submitted_at,
            "updated_at": max(clocks) if clocks else None,
            "customer": customer,
            "interaction": interaction,
            "scores": _merge_scores(older.scores, newer.scores),
            "reasons": newer.reasons or older.reasons,
            "comment": newer.comment or older.comment,
            "follow_up_requested": previous.follow_up_requested or incoming.follow_up_requested,
        }
    )
