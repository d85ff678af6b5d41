"""Typeform ``form_response`` payloads as answers keyed by question ref.

Format: https://www.typeform.com/developers/webhooks/example-payload/. Each answer names its
question in ``field`` (``ref`` and ``id``; both become locators, so a field map may use either)
and carries its value under the key its ``type`` names: ``number`` (opinion scale, NPS, rating),
``choice``/``choices`` (labels; an "Other" answer's text), ``text``, ``email``,
``phone_number``, ``boolean``, ``date``, ``url``... Hidden fields become ``hidden.<name>``,
variables ``variables.<key>``, and the response itself ``form_response.<key>``.

``respondent.email`` and ``respondent.phone`` are where a customer is reachable: the first email
(phone) answer, else the ``email`` (``phone``) hidden field, because what the customer typed is
where they expect to be called back.
"""

from __future__ import annotations

from typing import Any

from winback_router.adapters.base import (
    AdapterContext,
    Answer,
    InvalidPayload,
    build_response,
    json_object,
)
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import FieldMap, SourceConfig
from winback_shared.survey import GenericSurveyResponse

DEFAULT_MAP = FieldMap.model_validate(
    {
        "response_id": "form_response.token",
        "survey_id": "form_response.form_id",
        "submitted_at": "form_response.submitted_at",
        "nps": "nps",
        "csat": "csat",
        "ces": "ces",
        "stars": "stars",
        "reasons": ["reason"],
        "comment": ["comment"],
        "follow_up": "follow_up",
        "customer_id": "hidden.customer_id",
        "customer_name": "hidden.name",
        "customer_email": "respondent.email",
        "customer_phone": "respondent.phone",
        "customer_segment": "hidden.segment",
        "customer_value": "hidden.customer_value",
        "interaction_id": "hidden.interaction_id",
        "interaction_channel": "hidden.channel",
        "interaction_agent": "hidden.agent",
        "interaction_team": "hidden.team",
        "interaction_at": "hidden.interaction_at",
    }
)
"""Questions whose ref names the canonical field, and hidden fields named the obvious way."""

_RESPONSE_KEYS = ("token", "form_id", "submitted_at", "landed_at")


def _scalar(value: Any) -> Answer:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return None


def answer_value(answer: dict[str, Any]) -> Answer:
    """One typed answer's value; ``None`` for types that hold nothing we use (payments...)."""
    kind = answer.get("type")
    raw = answer.get(kind) if isinstance(kind, str) else None
    if kind == "choice" and isinstance(raw, dict):
        label = raw.get("label") or raw.get("other")
        return label if isinstance(label, str) else None
    if kind == "choices" and isinstance(raw, dict):
        labels = raw.get("labels")
        chosen = [item for item in labels or [] if isinstance(item, str)]
        other = raw.get("other")
        return [*chosen, other] if isinstance(other, str) and other else chosen
    return _scalar(raw)


def typeform_answers(payload: dict[str, Any]) -> dict[str, Answer]:
    """Every answer under its ref and id, plus hidden fields, variables and response keys."""
    form = payload.get("form_response")
    if not isinstance(form, dict):
        raise InvalidPayload("typeform: the body has no 'form_response' object")
    answers: dict[str, Answer] = {
        f"form_response.{key}": _scalar(form.get(key)) for key in _RESPONSE_KEYS
    }
    calculated = form.get("calculated")
    if isinstance(calculated, dict):
        answers["calculated.score"] = _scalar(calculated.get("score"))
    hidden = form.get("hidden")
    if isinstance(hidden, dict):
        answers.update({f"hidden.{name}": _scalar(value) for name, value in hidden.items()})
    for variable in form.get("variables") or []:
        if isinstance(variable, dict) and isinstance(variable.get("key"), str):
            answers[f"variables.{variable['key']}"] = answer_value(variable)
    given = form.get("answers")
    if given is not None and not isinstance(given, list):
        raise InvalidPayload("typeform: 'form_response.answers' is not a list")
    for answer in given or []:
        if not isinstance(answer, dict):
            continue
        value = answer_value(answer)
        field = answer.get("field")
        for locator in (field.get("ref"), field.get("id")) if isinstance(field, dict) else ():
            if isinstance(locator, str) and locator:
                answers.setdefault(locator, value)
        for kind, contact in (("email", "respondent.email"), ("phone_number", "respondent.phone")):
            if answer.get("type") == kind and value and contact not in answers:
                answers[contact] = value
    answers.setdefault("respondent.email", answers.get("hidden.email"))
    answers.setdefault("respondent.phone", answers.get("hidden.phone"))
    return answers


class TypeformAdapter:
    """Typeform answers through the source's field map over ``DEFAULT_MAP``."""

    async def normalise(
        self, envelope: SurveyReceived, source: SourceConfig, context: AdapterContext
    ) -> GenericSurveyResponse:
        """The canonical response for one ``form_response`` delivery."""
        payload = json_object(envelope.body, "typeform: body")
        return build_response(typeform_answers(payload), source.field_map.over(DEFAULT_MAP))
