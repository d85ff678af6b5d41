"""Formbricks response webhooks as answers keyed by question id.

Format: https://formbricks.com/docs/xm-and-surveys/core-features/integrations/webhooks and
formbricks/formbricks ``apps/web/app/api/(internal)/pipeline/route.ts``. The body is
``{webhookId, event, data}``; ``data`` is the response, and ``data.data`` its answers keyed by
question id, with hidden fields merged in under their own ids. An answer is a number (NPS,
rating), a string (open text, single choice label, date, "accepted"/"clicked"), a list of strings
(multiple choice labels, ranking, contact info) or an object (matrix rows to their column label).

Answers keep their question id as locator (a matrix row becomes ``<id>.<row>``). Everything else
about the response is flattened under ``response.``: ``response.id``, ``response.surveyId``,
``response.createdAt``, ``response.contact.userId``, ``response.contactAttributes.email``,
``response.meta.source``, ``response.variables.<name>``, ``response.survey.title``, and
``response.tags`` (the tag names). Formbricks ids hold only letters, digits, ``-`` and ``_``, so
the dotted locators never collide with a question or hidden field.

``responseCreated``, ``responseUpdated`` and ``responseFinished`` of one response each normalise
on their own to the same ``response_id``; the router merges them into one response and case.
"""

from __future__ import annotations

from typing import Any

from winback_router.adapters.base import (
    AdapterContext,
    Answer,
    InvalidPayload,
    NotASurveyResponse,
    build_response,
    flatten,
    json_object,
)
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import FieldMap, SourceConfig
from winback_shared.survey import GenericSurveyResponse

RESPONSE_EVENTS = frozenset({"responseCreated", "responseUpdated", "responseFinished"})
TEST_EVENT = "testEndpoint"
"""What Formbricks posts (signed) when someone presses "test endpoint" on the webhook."""

DEFAULT_MAP = FieldMap.model_validate(
    {
        "response_id": "response.id",
        "survey_id": "response.surveyId",
        "submitted_at": "response.createdAt",
        "updated_at": "response.updatedAt",
        "nps": "nps",
        "csat": "csat",
        "ces": "ces",
        "stars": "stars",
        "reasons": ["reason"],
        "comment": ["comment"],
        "follow_up": "follow_up",
        "customer_id": "customer_id",
        "customer_name": "name",
        "customer_email": "email",
        "customer_phone": "phone",
        "customer_segment": "segment",
        "customer_value": "customer_value",
        "interaction_id": "interaction_id",
        "interaction_channel": "channel",
        "interaction_agent": "agent",
        "interaction_team": "team",
        "interaction_at": "interaction_at",
    }
)
"""Questions whose id names the canonical field, and hidden fields named the obvious way.

``submitted_at`` is when the response started (``createdAt``), which every delivery of it
repeats unchanged, so a later ``responseUpdated`` revises the case only when an answer changed.
"""

_NOT_METADATA = frozenset({"data", "ttc", "tags"})


def formbricks_answers(response: dict[str, Any]) -> dict[str, Answer]:
    """Answers under their question (or hidden field) id, the rest under ``response.``."""
    answers: dict[str, Answer] = {}
    metadata = {key: value for key, value in response.items() if key not in _NOT_METADATA}
    answers.update(flatten(metadata, "response"))
    tags = response.get("tags")
    if isinstance(tags, list):
        names = (tag.get("name") for tag in tags if isinstance(tag, dict))
        answers["response.tags"] = [name for name in names if isinstance(name, str)]
    given = response.get("data")
    if given is not None and not isinstance(given, dict):
        raise InvalidPayload("formbricks: 'data.data' (the answers) is not an object")
    answers.update(flatten(given or {}))
    return answers


class FormbricksAdapter:
    """Each delivery (created, updated, finished) normalised on its own, same response id."""

    async def normalise(
        self, envelope: SurveyReceived, source: SourceConfig, context: AdapterContext
    ) -> GenericSurveyResponse:
        """The canonical response for one Formbricks delivery."""
        payload = json_object(envelope.body, "formbricks: body")
        event = payload.get("event")
        if not isinstance(event, str):
            raise InvalidPayload("formbricks: the body names no 'event'")
        if event == TEST_EVENT:
            raise NotASurveyResponse("formbricks: a 'test endpoint' request carries no response")
        if event not in RESPONSE_EVENTS:
            raise NotASurveyResponse(f"formbricks: event {event[:60]!r} carries no response")
        response = payload.get("data")
        if not isinstance(response, dict):
            raise InvalidPayload("formbricks: the body has no 'data' object (the response)")
        return build_response(formbricks_answers(response), source.field_map.over(DEFAULT_MAP))
