"""What every vendor adapter shares: the field map applied to a vendor's answers.

An adapter's only vendor-specific job is to turn a payload into ``Answers``: a flat mapping from
locator (question ref, ``hidden.<name>``, dotted JSON path) to the customer's answer. One
function then applies the source's field map over the vendor's defaults, so every vendor gets
the same conversions (scales, dates, yes/no, lengths) and the same error messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError

from winback_router.adapters.amounts import as_amount
from winback_router.adapters.vendor_api import VendorApiClient
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.lone_surrogates import json_without_lone_surrogates
from winback_shared.sources import FieldMap, ScoreField, SourceConfig, VendorApi
from winback_shared.survey import (
    COMMENT_CHARS,
    DEFAULT_SCALES,
    SHORT_TEXT_CHARS,
    GenericSurveyResponse,
    ScoreKind,
)

Answer = str | int | float | bool | list[str] | None
Answers = Mapping[str, Answer]

AFFIRMATIVE = frozenset({"yes", "y", "true", "1", "si", "sí", "oui", "ja", "please", "ok"})
MAX_REASON_ANSWERS = 50


class InvalidPayload(Exception):
    """The delivery is authentic but cannot be normalised; never retry it, dead-letter it."""


class NotASurveyResponse(Exception):
    """An authentic, well-formed event that carries no survey response (Delighted's
    ``unsubscribe.created``, a Formbricks test ping): logged and skipped, not dead-lettered,
    since nothing in it could ever become a case."""


@dataclass(frozen=True)
class AdapterContext:
    """What an adapter may use beyond the envelope: the vendor API client, for id-only vendors."""

    api: VendorApiClient


class Adapter(Protocol):
    """One vendor's payload format."""

    async def normalise(
        self, envelope: SurveyReceived, source: SourceConfig, context: AdapterContext
    ) -> GenericSurveyResponse:
        """The canonical response; ``InvalidPayload`` when the payload cannot make one."""


def json_object(text: str, what: str) -> dict[str, Any]:
    """``text`` as a JSON object, or ``InvalidPayload`` naming ``what`` it was meant to be; an
    unpaired surrogate escape reads as U+FFFD, which the database can store (lone_surrogates)."""
    try:
        parsed = json.loads(json_without_lone_surrogates(text))
    except (ValueError, RecursionError):
        raise InvalidPayload(f"{what} is not JSON") from None
    if not isinstance(parsed, dict):
        raise InvalidPayload(f"{what} is not a JSON object")
    return parsed


def api_credentials(source: SourceConfig, vendor: str) -> tuple[VendorApi, str]:
    """The source's vendor API settings and token, for vendors whose webhooks post only ids.

    Both are the source's configuration, which no retry fixes: a missing ``api`` block or token
    variable is ``InvalidPayload`` (dead-lettered, naming the variable), never an outage.
    """
    api = source.api
    if api is None:
        raise InvalidPayload(f"{vendor}: the source has no 'api' settings")
    try:
        return api, api.token()
    except LookupError as exc:
        raise InvalidPayload(f"{vendor}: {exc}") from None


def flatten(value: Any, prefix: str = "") -> dict[str, Answer]:
    """Every scalar in a JSON value under its dotted path; lists of scalars stay lists.

    This is how owner-designed bodies (Zendesk triggers, Qualtrics workflow tasks) become
    answers: the field map then names paths such as ``ticket.requester.email``.
    """
    flat: dict[str, Answer] = {}
    pending: list[tuple[str, Any]] = [(prefix, value)]
    while pending:
        path, current = pending.pop()
        if isinstance(current, dict):
            pending.extend(
                (f"{path}.{key}" if path else str(key), item) for key, item in current.items()
            )
        elif isinstance(current, list):
            if all(
                isinstance(item, str | int | float) and not isinstance(item, bool)
                for item in current
            ):
                flat[path] = [str(item) for item in current]
            else:
                pending.extend((f"{path}.{index}", item) for index, item in enumerate(current))
        elif current is None or isinstance(current, str | int | float | bool):
            flat[path] = current
    return flat


def as_text(value: Answer) -> str | None:
    """An answer as one line of text; lists are joined, blanks are ``None``."""
    if value is None or isinstance(value, bool):
        return None if value is None else ("yes" if value else "no")
    if isinstance(value, list):
        value = ", ".join(item for item in value if item)
    text = str(value).strip()
    return text or None


def as_texts(value: Answer) -> list[str]:
    """An answer as a list of non-blank texts (a multi-choice answer stays several)."""
    if isinstance(value, list):
        return [item.strip() for item in value if item and item.strip()]
    text = as_text(value)
    return [text] if text else []


def is_affirmative(value: Answer) -> bool:
    """Whether an answer says yes: ``True``, "Yes", "Yes, please call me", 1 ..."""
    if isinstance(value, bool):
        return value
    text = as_text(value)
    if text is None:
        return False
    words = text.lower().replace(",", " ").replace(".", " ").replace("!", " ").split()
    return bool(words) and words[0] in AFFIRMATIVE


def as_datetime(value: Answer, what: str) -> datetime | None:
    """ISO 8601 text or Unix seconds as an aware datetime (UTC when no offset is given)."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        text = as_text(value)
        if text is None:
            return None
        if text.isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        parsed.astimezone(UTC)  # the store needs its UTC time, which may fall in no year Python has
    except (ValueError, OverflowError, OSError) as exc:
        raise InvalidPayload(f"{what}: {value!r} is not a date and time ({exc})") from None
    return parsed


def as_score(value: Answer, field: ScoreField, kind: ScoreKind) -> dict[str, Any] | None:
    """A score on its scale, or ``None`` if unanswered; text answers go through ``values``."""
    if value is None or value == "" or value == []:
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        text = as_text(value) or ""
        mapped = field.values.get(text) if field.values else None
        if mapped is None and field.values:
            mapped = {k.casefold(): v for k, v in field.values.items()}.get(text.casefold())
        if mapped is not None:
            number = mapped
        else:
            try:
                number = float(text.split()[0]) if text else None
            except ValueError:
                raise InvalidPayload(
                    f"{kind.value} ({field.source}): {text[:80]!r} is not a number and is not in "
                    "the field map's 'values'"
                ) from None
    low, high = DEFAULT_SCALES[kind]
    return {
        "kind": kind.value,
        "value": number,
        "scale_min": low if field.min is None else field.min,
        "scale_max": high if field.max is None else field.max,
    }


def clipped(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last an ellipsis, if it is longer.

    What a customer typed (a long comment, or several joined; the text of an "Other" choice)
    is kept up to the canonical model's limit rather than costing the whole response a dead
    letter: the one who wrote at greatest length is the one most likely to need a call.
    Ingest refuses a body holding any one string longer than ``WINBACK_MAX_STRING_CHARS``
    (20,000 by default), so what is cut here is answers joined, answers the router fetched from
    a vendor's API, or strings under a raised ingest limit."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _texts_at(answers: Answers, locators: list[str] | None) -> list[str]:
    return [text for locator in locators or [] for text in as_texts(answers.get(locator))]


def _one(answers: Answers, locator: str | None) -> str | None:
    return None if locator is None else as_text(answers.get(locator))


def _value(answers: Answers, locator: str | None, what: str) -> float | None:
    text = _one(answers, locator)
    if text is None:
        return None
    try:
        return as_amount(text)
    except ValueError:
        raise InvalidPayload(f"{what} ({locator}): {text[:80]!r} is not a number") from None


def _optional_datetime(answers: Answers, locator: str | None) -> datetime | None:
    """A time that only adds context (when the interaction happened): unreadable is left out
    rather than costing the whole response a dead letter."""
    if locator is None:
        return None
    try:
        return as_datetime(answers.get(locator), locator)
    except InvalidPayload:
        return None


def build_response(answers: Answers, fields: FieldMap) -> GenericSurveyResponse:
    """Apply a field map to a vendor's answers; ``InvalidPayload`` says what did not fit."""
    response_id = _one(answers, fields.response_id)
    if response_id is None:
        raise InvalidPayload(
            f"no response id at {fields.response_id!r}; set field_map.response_id for this source"
        )
    scores = []
    for kind in ScoreKind:
        score_field: ScoreField | None = getattr(fields, kind.value)
        if score_field is not None:
            score = as_score(answers.get(score_field.source), score_field, kind)
            if score is not None:
                scores.append(score)
    comments = _texts_at(answers, fields.comment)
    candidate = {
        "response_id": response_id,
        "survey_id": _one(answers, fields.survey_id),
        "submitted_at": as_datetime(
            answers.get(fields.submitted_at) if fields.submitted_at else None, "submitted_at"
        ),
        "updated_at": as_datetime(
            answers.get(fields.updated_at) if fields.updated_at else None, "updated_at"
        ),
        "customer": {
            "id": _one(answers, fields.customer_id),
            "name": _one(answers, fields.customer_name),
            "email": _one(answers, fields.customer_email),
            "phone": _one(answers, fields.customer_phone),
            "segment": _one(answers, fields.customer_segment),
            "lifetime_value": _value(answers, fields.customer_value, "customer_value"),
        },
        "interaction": {
            "id": _one(answers, fields.interaction_id),
            "channel": _one(answers, fields.interaction_channel),
            "agent": _one(answers, fields.interaction_agent),
            "team": _one(answers, fields.interaction_team),
            "occurred_at": _optional_datetime(answers, fields.interaction_at),
        },
        "scores": scores,
        "reasons": [
            clipped(reason, SHORT_TEXT_CHARS)
            for reason in _texts_at(answers, fields.reasons)[:MAX_REASON_ANSWERS]
        ],
        "comment": clipped("\n\n".join(comments), COMMENT_CHARS) if comments else None,
        "follow_up_requested": fields.follow_up is not None
        and is_affirmative(answers.get(fields.follow_up)),
    }
    try:
        return GenericSurveyResponse.model_validate(candidate)
    except ValidationError as exc:
        raise InvalidPayload(f"normalised response is invalid: {brief_errors(exc)}") from None


def brief_errors(exc: ValidationError) -> str:
    """Validation errors without the input values, which may hold customer data."""
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
    )
