"""The generic format is the canonical model itself; no field map applies."""

from __future__ import annotations

from pydantic import ValidationError

from winback_router.adapters.base import AdapterContext, InvalidPayload, brief_errors
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.lone_surrogates import json_without_lone_surrogates
from winback_shared.sources import SourceConfig
from winback_shared.survey import GenericSurveyResponse


class GenericAdapter:
    """Validates the body against the published JSON Schema's model."""

    async def normalise(
        self, envelope: SurveyReceived, source: SourceConfig, context: AdapterContext
    ) -> GenericSurveyResponse:
        """The body, validated; an unpaired surrogate escape reads as U+FFFD (pydantic's parser
        refuses it, and a database could not store it)."""
        try:
            return GenericSurveyResponse.model_validate_json(
                json_without_lone_surrogates(envelope.body)
            )
        except ValidationError as exc:
            raise InvalidPayload(
                f"generic payload does not match the schema: {brief_errors(exc)}"
            ) from None
