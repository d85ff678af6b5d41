"""SurveyMonkey: the callback names a response; the API gives its answers, the survey their text.

Format: https://api.surveymonkey.com/v3/docs (SurveyMonkey/public_api_docs ``_webhooks.md``,
``_responses.md``, ``_questions.md``). The callback carries ``object_id`` (the response id) and
``resources.survey_id``. ``GET /v3/surveys/{survey}/responses/{response}/details`` returns the
answers as ids: ``pages[].questions[].answers[]`` with ``choice_id``, ``row_id``, ``col_id``,
``other_id`` and ``text``. ``GET /v3/surveys/{survey}/details`` (the survey definition) maps those
ids to what the customer saw: ``answers.choices[]`` (``id``, ``text``, ``weight``), ``rows[]``,
``cols[].choices[]``, ``other``. Both calls send ``Authorization: Bearer <token>``.

Locators: a question's id holds its answer (a choice's text; a list of texts for multiple choice;
typed text; for a one-row matrix such as NPS or a star rating, the chosen column). Matrix and
multi-box answers are also under ``<question>.<row>`` (``<question>.<row>.<col>`` for a menu
matrix), where a contact-information question's rows are named by type: ``<question>.email``,
``<question>.phone``, ``<question>.name``. An "Other" answer's text is also under
``<question>.other``. The response itself gives ``response_id``, ``survey_id``,
``collector_id``, ``recipient_id``, ``response_status``, ``date_created``, ``date_modified``,
``custom_value``; ``custom_variables.<name>`` are the values passed in the survey link (the
hidden fields of SurveyMonkey) and ``metadata.*`` what SurveyMonkey knows of the respondent
(``metadata.contact.email.value`` for email collectors).

A choice without text (star and emoji ratings) reads as its weight, so a star rating's answer is
``"1"`` .. ``"5"``.

Survey definitions change rarely and every response needs one, so they are cached per survey for
a few minutes; a choice id the cached definition does not know (the survey was just edited)
fetches the definition again before giving up.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from winback_router.adapters.base import (
    AdapterContext,
    Answer,
    InvalidPayload,
    NotASurveyResponse,
    api_credentials,
    build_response,
    flatten,
    json_object,
)
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import FieldMap, SourceConfig, VendorApi
from winback_shared.survey import GenericSurveyResponse

FETCHED_EVENTS = frozenset({"response_completed", "response_updated"})
"""Events whose response we fetch; ``response_updated`` revises one already stored."""
SURVEY_TTL_SECONDS = 300.0
MAX_CACHED_SURVEYS = 256
_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")

DEFAULT_MAP = FieldMap.model_validate(
    {
        "response_id": "response_id",
        "survey_id": "survey_id",
        "submitted_at": "date_modified",
        "updated_at": "date_modified",
        "customer_id": "custom_variables.customer_id",
        "customer_name": "custom_variables.name",
        "customer_email": "metadata.contact.email.value",
        "customer_phone": "custom_variables.phone",
        "customer_segment": "custom_variables.segment",
        "customer_value": "custom_variables.customer_value",
        "interaction_id": "custom_variables.interaction_id",
        "interaction_channel": "custom_variables.channel",
        "interaction_agent": "custom_variables.agent",
        "interaction_team": "custom_variables.team",
        "interaction_at": "custom_variables.interaction_at",
    }
)
"""Response ids and custom variables named the obvious way.

Questions have numeric ids that differ in every survey, so scores, reasons and comments have no
default: a SurveyMonkey source names its question ids in its field map.
"""

_RESPONSE_KEYS = {
    "id": "response_id",
    "survey_id": "survey_id",
    "collector_id": "collector_id",
    "recipient_id": "recipient_id",
    "response_status": "response_status",
    "date_created": "date_created",
    "date_modified": "date_modified",
    "custom_value": "custom_value",
    "collection_mode": "collection_mode",
}


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _id_text(value: Any) -> str | None:
    """SurveyMonkey ids are strings in the v3 API, integers in some older examples."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) and value else None


def _scalar(value: Any) -> Answer:
    return value if isinstance(value, str | int | float | bool) or value is None else None


@dataclass(frozen=True)
class Question:
    """What a question's answer ids mean."""

    family: str
    choices: Mapping[str, str]
    rows: Mapping[str, str]
    """Row id to its name in locators: the row id, or a contact-information row's type."""


@dataclass(frozen=True)
class SurveyDefinition:
    """A survey's questions by id, from ``GET /v3/surveys/{id}/details``."""

    questions: Mapping[str, Question]

    @classmethod
    def parse(cls, raw: Any) -> SurveyDefinition:
        """Index the definition; unknown shapes are skipped rather than trusted."""
        if not isinstance(raw, dict):
            raise InvalidPayload("surveymonkey: the survey definition is not a JSON object")
        questions: dict[str, Question] = {}
        for page in _dicts(raw.get("pages")):
            for question in _dicts(page.get("questions")):
                question_id = _id_text(question.get("id"))
                if question_id:
                    questions[question_id] = _question(question)
        return cls(questions)


def _choice_label(choice: dict[str, Any]) -> str:
    """The choice's text; a text-less choice (stars, emoji) reads as its weight or position."""
    text = choice.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    for fallback in (choice.get("weight"), choice.get("position")):
        if isinstance(fallback, int | float) and not isinstance(fallback, bool):
            return f"{fallback:g}"
    return ""


def _question(raw: dict[str, Any]) -> Question:
    family = raw.get("family")
    family = family if isinstance(family, str) else ""
    answers = raw.get("answers")
    answers = answers if isinstance(answers, dict) else {}
    choices: dict[str, str] = {}
    options = list(_dicts(answers.get("choices")))
    for column in _dicts(answers.get("cols")):
        options += _dicts(column.get("choices"))
    other = answers.get("other")
    options += [other] if isinstance(other, dict) else list(_dicts(other))
    for option in options:
        choice_id = _id_text(option.get("id"))
        if choice_id:
            choices[choice_id] = _choice_label(option)
    rows: dict[str, str] = {}
    for row in _dicts(answers.get("rows")):
        row_id = _id_text(row.get("id"))
        if row_id:
            kind = row.get("type")
            named = family == "demographic" and isinstance(kind, str) and bool(kind)
            rows[row_id] = str(kind) if named else row_id
    return Question(family=family, choices=choices, rows=rows)


def surveymonkey_answers(
    details: dict[str, Any], definition: SurveyDefinition
) -> tuple[dict[str, Answer], list[str]]:
    """The response's answers as text, and the ``question/choice`` ids the definition lacks."""
    answers: dict[str, Answer] = {
        locator: _scalar(details.get(key)) for key, locator in _RESPONSE_KEYS.items()
    }
    for name in ("custom_variables", "metadata"):
        block = details.get(name)
        if isinstance(block, dict):
            answers.update(flatten(block, name))
    missing: list[str] = []
    for page in _dicts(details.get("pages")):
        for given in _dicts(page.get("questions")):
            question_id = _id_text(given.get("id"))
            if question_id:
                _answer_question(
                    question_id, given, definition.questions.get(question_id), answers, missing
                )
    return answers, missing


def _answer_question(
    question_id: str,
    given: dict[str, Any],
    question: Question | None,
    answers: dict[str, Answer],
    missing: list[str],
) -> None:
    chosen: list[str] = []
    for answer in _dicts(given.get("answers")):
        typed = answer.get("text") if isinstance(answer.get("text"), str) else None
        choice_id = _id_text(answer.get("choice_id"))
        value = typed
        if choice_id:
            label = question.choices.get(choice_id) if question else None
            if label is None:
                missing.append(f"{question_id}/{choice_id}")
                continue
            value = label
        if _id_text(answer.get("other_id")) and typed:
            answers[f"{question_id}.other"] = typed
            value = typed
        if value is None:
            continue
        row_id = _id_text(answer.get("row_id"))
        if row_id:
            row = question.rows.get(row_id, row_id) if question else row_id
            col_id = _id_text(answer.get("col_id"))
            answers[f"{question_id}.{row}" + (f".{col_id}" if col_id else "")] = value
            if question is None or len(question.rows) != 1:
                continue
        chosen.append(value)
    if chosen:
        several = len(chosen) > 1 or (question is not None and question.family == "multiple_choice")
        answers[question_id] = chosen if several else chosen[0]


def _checked_id(value: Any, what: str) -> str:
    """An id safe to put in a URL path; anything else is not a SurveyMonkey id."""
    text = _id_text(value)
    if text is None or not _ID.match(text):
        raise InvalidPayload(f"surveymonkey: the callback's {what} is missing or not an id")
    return text


class SurveyMonkeyAdapter:
    """Fetches each response and the survey definitions its choice ids need (cached)."""

    def __init__(
        self,
        *,
        ttl_seconds: float = SURVEY_TTL_SECONDS,
        max_surveys: int = MAX_CACHED_SURVEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_surveys = max_surveys
        self._clock = clock
        self._definitions: OrderedDict[tuple[str, str], tuple[float, SurveyDefinition]] = (
            OrderedDict()
        )
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def normalise(
        self, envelope: SurveyReceived, source: SourceConfig, context: AdapterContext
    ) -> GenericSurveyResponse:
        """Fetch the response the callback names and map it through the source's field map."""
        event = json_object(envelope.body, "surveymonkey: body")
        event_type = event.get("event_type")
        if not isinstance(event_type, str):
            raise InvalidPayload("surveymonkey: the callback names no 'event_type'")
        if event_type not in FETCHED_EVENTS:
            raise NotASurveyResponse(
                f"surveymonkey: {event_type[:60]!r} carries no response to record; "
                "subscribe the webhook to response_completed"
            )
        response_id = _checked_id(event.get("object_id"), "object_id (response id)")
        resources = event.get("resources")
        survey_id = _checked_id(
            resources.get("survey_id") if isinstance(resources, dict) else None,
            "resources.survey_id",
        )
        api, token = api_credentials(source, "surveymonkey")
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        details = await context.api.get_json(
            api, f"/v3/surveys/{survey_id}/responses/{response_id}/details", headers
        )
        if not isinstance(details, dict):
            raise InvalidPayload("surveymonkey: the response details are not a JSON object")
        definition = await self._definition(context, api, survey_id, headers, fresh=False)
        answers, missing = surveymonkey_answers(details, definition)
        if missing:
            definition = await self._definition(context, api, survey_id, headers, fresh=True)
            answers, missing = surveymonkey_answers(details, definition)
        if missing:
            raise InvalidPayload(
                f"surveymonkey: survey {survey_id} has no choice "
                f"{', '.join(missing[:5])} (question/choice)"
            )
        answers["response_id"] = answers.get("response_id") or response_id
        answers["survey_id"] = answers.get("survey_id") or survey_id
        return build_response(answers, source.field_map.over(DEFAULT_MAP))

    async def _definition(
        self,
        context: AdapterContext,
        api: VendorApi,
        survey_id: str,
        headers: dict[str, str],
        *,
        fresh: bool,
    ) -> SurveyDefinition:
        """The survey's definition, from the cache unless stale or ``fresh`` is asked for.

        One fetch per survey at a time: concurrent responses to one survey wait for it rather
        than each asking SurveyMonkey (whose API allowance is per day).
        """
        key = (api.base_url, survey_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._definitions.get(key)
            if cached is not None and not fresh and cached[0] > self._clock():
                self._definitions.move_to_end(key)
                return cached[1]
            raw = await context.api.get_json(api, f"/v3/surveys/{survey_id}/details", headers)
            definition = SurveyDefinition.parse(raw)
            self._definitions[key] = (self._clock() + self._ttl, definition)
            self._definitions.move_to_end(key)
            while len(self._definitions) > self._max_surveys:
                evicted, _ = self._definitions.popitem(last=False)
                if evicted in self._locks and not self._locks[evicted].locked():
                    del self._locks[evicted]
            return definition
