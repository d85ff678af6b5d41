"""Delighted ``survey_response.*`` payloads as answers keyed by their place in ``event_data``.

Format: https://app.delighted.com/docs/api/webhooks (its example survey response shows
``additional_answers`` items as ``{id, value: {free_response, scale, select_one, select_many},
question: {id, type, text}}``). Locators are paths inside ``event_data``: ``id``, ``score``,
``comment``, ``created_at``, ``person.email``, ``person_properties.<property name>``; each
additional answer sits under its question id (``enum_z9EvYV``, ``text_BJPEm0``...) as its
text, number or list of chosen texts.

The score also sits under the canonical kind its ``survey_type`` names (``nps``, ``csat``,
``ces``, ``stars``), so one default map serves every Delighted survey type; types without a
canonical kind (thumbs, PMF...) stay under ``score`` for a field map to place.

Each delivery is normalised on its own. ``created`` and ``updated`` carry the same ``id``, and
the router merges them into one response and one case.
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

SURVEY_EVENTS = frozenset({"survey_response.created", "survey_response.updated"})
OTHER_EVENTS = frozenset({"unsubscribe.created"})
"""Authentic Delighted events that are not responses: skipped, not dead-lettered."""

SURVEY_KINDS = {
    "nps": "nps",
    "enps": "nps",
    "csat": "csat",
    "smileys": "csat",
    "ces": "ces",
    "stars": "stars",
    "five_star": "stars",
}
"""Delighted survey types whose 0-10 / 1-5 / 1-7 scale is the canonical kind's default."""

DEFAULT_MAP = FieldMap.model_validate(
    {
        "response_id": "id",
        "submitted_at": "created_at",
        "updated_at": "updated_at",
        "nps": "nps",
        "csat": "csat",
        "ces": "ces",
        "stars": "stars",
        "comment": ["comment"],
        "customer_id": "person.id",
        "customer_name": "person.name",
        "customer_email": "person.email",
        "customer_phone": "person.phone_number",
    }
)
"""What Delighted itself defines; person properties and extra questions are the source's call."""

_RESPONSE_KEYS = ("id", "survey_type", "score", "comment", "permalink", "created_at", "updated_at")


def _scalar(value: Any) -> Answer:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return None


def additional_value(value: Any) -> Answer:
    """An additional answer's value: free text, scale number, chosen text or texts."""
    if not isinstance(value, dict):
        return _scalar(value)
    for kind in ("free_response", "scale"):
        if value.get(kind) is not None:
            return _scalar(value[kind])
    chosen = value.get("select_one")
    if isinstance(chosen, dict):
        return _scalar(chosen.get("text"))
    many = value.get("select_many")
    if isinstance(many, list):
        texts = [item.get("text") for item in many if isinstance(item, dict)]
        return [text for text in texts if isinstance(text, str)]
    return None


def delighted_answers(payload: dict[str, Any]) -> dict[str, Answer]:
    """The response's fields, person, person properties and additional answers as locators."""
    event_type = payload.get("event_type")
    if not isinstance(event_type, str):
        raise InvalidPayload("delighted: 'event_type' is missing or not text")
    if event_type in OTHER_EVENTS:
        raise NotASurveyResponse(f"delighted: {event_type} carries no survey response")
    if event_type not in SURVEY_EVENTS:
        raise InvalidPayload(
            f"delighted: {str(event_type)[:60]!r} carries no survey response; point only the "
            "survey response webhook at this source"
        )
    data = payload.get("event_data")
    if not isinstance(data, dict):
        raise InvalidPayload("delighted: the body has no 'event_data' object")
    answers: dict[str, Answer] = {key: _scalar(data.get(key)) for key in _RESPONSE_KEYS}
    person = data.get("person")
    if isinstance(person, dict):
        answers.update(flatten(person, "person"))
    else:
        answers["person.id"] = _scalar(person)
    properties = data.get("person_properties")
    if isinstance(properties, dict):
        answers.update(flatten(properties, "person_properties"))
    tags = data.get("tags")
    if isinstance(tags, list):
        answers["tags"] = [tag for tag in tags if isinstance(tag, str)]
    kind = SURVEY_KINDS.get(str(data.get("survey_type")))
    if kind is not None:
        answers[kind] = answers["score"]
    extras = data.get("additional_answers")
    for extra in extras if isinstance(extras, list) else []:
        question = extra.get("question") if isinstance(extra, dict) else None
        if isinstance(question, dict) and isinstance(question.get("id"), str):
            answers.setdefault(question["id"], additional_value(extra.get("value")))
    return answers


class DelightedAdapter:
    """Delighted answers through the source's field map over ``DEFAULT_MAP``."""

    async def normalise(
        self, envelope: SurveyReceived, source: SourceConfig, context: AdapterContext
    ) -> GenericSurveyResponse:
        """The canonical response as this one delivery (created or updated) tells it."""
        payload = json_object(envelope.body, "delighted: body")
        return build_response(delighted_answers(payload), source.field_map.over(DEFAULT_MAP))
