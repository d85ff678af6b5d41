"""Vendor adapters: a ``SurveyReceived`` envelope in, a canonical ``SurveyResponse`` out.

Adapters are pure functions of the envelope. Anything they cannot make sense of raises
``InvalidPayload``, which the consumer dead-letters: it would fail the same way on every retry.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError

from winback_shared.events.survey_received import SurveyReceived
from winback_shared.survey import GenericSurveyResponse, SurveyResponse


class InvalidPayload(Exception):
    """The delivery is authentic but cannot be normalised; never retry it, dead-letter it."""


def normalise_generic(envelope: SurveyReceived) -> SurveyResponse:
    """The generic format is the canonical model itself, minus what ingest knows."""
    try:
        body = GenericSurveyResponse.model_validate_json(envelope.body)
    except ValidationError as exc:
        raise InvalidPayload(f"generic payload does not match the schema: {exc}") from exc
    return SurveyResponse(
        **body.model_dump(),
        source=envelope.source,
        vendor=envelope.vendor,
        receipt_id=envelope.receipt_id,
        received_at=envelope.occurred_at,
    )


ADAPTERS: dict[str, Callable[[SurveyReceived], SurveyResponse]] = {
    "generic": normalise_generic,
}


def normalise(envelope: SurveyReceived) -> SurveyResponse:
    """Dispatch to the envelope's vendor adapter."""
    adapter = ADAPTERS.get(envelope.vendor)
    if adapter is None:
        raise InvalidPayload(f"no adapter for vendor {envelope.vendor!r}")
    return adapter(envelope)
