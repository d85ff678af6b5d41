"""Qualtrics: event subscriptions (fetch the response) and workflow tasks (map the body).

**Event subscriptions** post a form whose ``MSG`` names the survey and response. The response
comes from ``GET /API/v3/surveys/{SurveyID}/responses/{ResponseID}`` with ``X-API-TOKEN``
(https://api.qualtrics.com, "Retrieve a Survey Response"): ``result.responseId``,
``result.values`` (question ids such as ``QID1``, ``QID2_TEXT``, ``QID3_1`` to recoded values;
embedded data by name; ``startDate``, ``endDate``, ``recordedDate``, ``finished``,
``recipientEmail``, ``recipientFirstName``, ``recipientLastName``, ``externalDataReference`` ...)
and ``result.labels`` (the text the respondent saw for choice answers).

Locators: each key of ``values`` holds its label when there is one, else its value (so a reason
question reads "Long wait time", not 4); ``values.<key>`` is always the raw recoded value and
``labels.<key>`` the label. An NPS question also records ``<QID>_NPS_GROUP``; when exactly one
question does, ``nps`` is that question's score, so NPS needs no field map. ``responseId``,
``surveyId``, ``recipientName`` (first and last name) and ``event.<field>`` (the ``MSG`` fields:
``event.CompletedDate``, ``event.BrandID`` ...) complete the set.

**Workflow web-service tasks** post a JSON object the survey owner writes with piped text; its
dotted paths are the locators (``customer.phone``), over ``WORKFLOW_MAP``, whose paths are those
of the body suggested in ``docs/vendors/qualtrics.md``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from winback_router.adapters.base import (
    AdapterContext,
    Answer,
    InvalidPayload,
    api_credentials,
    build_response,
    flatten,
    json_object,
)
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import FieldMap, SourceConfig
from winback_shared.survey import GenericSurveyResponse

_NPS_GROUP = "_NPS_GROUP"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

EVENT_MAP = FieldMap.model_validate(
    {
        "response_id": "responseId",
        "survey_id": "surveyId",
        "submitted_at": "endDate",
        "nps": "nps",
        "customer_id": "externalDataReference",
        "customer_name": "recipientName",
        "customer_email": "recipientEmail",
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
"""Defaults for event subscriptions: Qualtrics' own contact fields, embedded data named the
obvious way, and the NPS question found by its ``_NPS_GROUP``. Other questions are ``QID``s that
differ per survey, so CSAT, reasons and comments are named in the source's field map."""

WORKFLOW_MAP = FieldMap.model_validate(
    {
        "response_id": "responseId",
        "survey_id": "surveyId",
        "submitted_at": "submittedAt",
        "nps": "nps",
        "csat": "csat",
        "ces": "ces",
        "stars": "stars",
        "reasons": ["reasons"],
        "comment": ["comment"],
        "follow_up": "followUp",
        "customer_id": "customer.id",
        "customer_name": "customer.name",
        "customer_email": "customer.email",
        "customer_phone": "customer.phone",
        "customer_segment": "customer.segment",
        "customer_value": "customer.value",
        "interaction_id": "interaction.id",
        "interaction_channel": "interaction.channel",
        "interaction_agent": "interaction.agent",
        "interaction_team": "interaction.team",
        "interaction_at": "interaction.at",
    }
)
"""Defaults for a workflow task's JSON body; ``responseId`` is also what ingest keys it by."""


def _answer(value: Any) -> Answer:
    """A value or label as an answer; lists keep their scalars, anything else is dropped."""
    if isinstance(value, list):
        return [str(item) for item in value if isinstance(item, str | int | float)]
    return value if isinstance(value, str | int | float | bool) or value is None else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def qualtrics_answers(result: dict[str, Any], event: dict[str, Any]) -> dict[str, Answer]:
    """A fetched response's values and labels, and the event's fields, as answers."""
    values = _object(result.get("values"))
    labels = _object(result.get("labels"))
    answers: dict[str, Answer] = {
        f"event.{key}": _answer(value) for key, value in event.items() if _answer(value) is not None
    }
    for key, value in values.items():
        answers[f"values.{key}"] = answers[key] = _answer(value)
    for key, label in labels.items():
        answers[f"labels.{key}"] = answers[key] = _answer(label)
    nps_questions = [key.removesuffix(_NPS_GROUP) for key in values if key.endswith(_NPS_GROUP)]
    if len(nps_questions) == 1 and nps_questions[0] in values:
        answers["nps"] = _answer(values[nps_questions[0]])
    names = [values.get(part) for part in ("recipientFirstName", "recipientLastName")]
    full_name = " ".join(name.strip() for name in names if isinstance(name, str) and name.strip())
    answers["recipientName"] = full_name or None
    answers["responseId"] = _answer(result.get("responseId")) or answers.get("event.ResponseID")
    answers["surveyId"] = answers.get("event.SurveyID")
    return answers


def _checked_id(value: Any, what: str) -> str:
    """An id safe to put in a URL path (``SV_...``, ``R_...``)."""
    if not isinstance(value, str) or not _ID.match(value):
        raise InvalidPayload(f"qualtrics: the event's {what} is missing or not an id")
    return value


def _event_fields(body: str) -> dict[str, Any]:
    """The JSON object inside an event subscription's ``MSG`` form field."""
    fields = dict(parse_qsl(body, keep_blank_values=True))
    event = json_object(fields.get("MSG") or "", "qualtrics: the event's MSG")
    return event


class QualtricsAdapter:
    """Event subscriptions fetch the response; workflow task bodies are mapped as they are."""

    async def normalise(
        self, envelope: SurveyReceived, source: SourceConfig, context: AdapterContext
    ) -> GenericSurveyResponse:
        """The canonical response, by the kind of body ingest accepted."""
        if envelope.body.lstrip().startswith("{"):
            return self._workflow(envelope.body, source)
        return await self._event(envelope.body, source, context)

    @staticmethod
    def _workflow(body: str, source: SourceConfig) -> GenericSurveyResponse:
        payload = json_object(body, "qualtrics: workflow body")
        return build_response(flatten(payload), source.field_map.over(WORKFLOW_MAP))

    @staticmethod
    async def _event(
        body: str, source: SourceConfig, context: AdapterContext
    ) -> GenericSurveyResponse:
        event = _event_fields(body)
        survey_id = _checked_id(event.get("SurveyID"), "SurveyID")
        response_id = _checked_id(event.get("ResponseID"), "ResponseID")
        api, token = api_credentials(source, "qualtrics")
        reply = await context.api.get_json(
            api,
            f"/API/v3/surveys/{survey_id}/responses/{response_id}",
            {"X-API-TOKEN": token, "Accept": "application/json"},
        )
        result = reply.get("result") if isinstance(reply, dict) else None
        if not isinstance(result, dict):
            raise InvalidPayload("qualtrics: the API's answer has no 'result' object")
        return build_response(qualtrics_answers(result, event), source.field_map.over(EVENT_MAP))
