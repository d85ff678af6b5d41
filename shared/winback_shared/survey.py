"""The canonical survey response every vendor adapter produces.

This is also the *generic* webhook format: any system that can post this JSON (signed with the
Standard Webhooks scheme) plugs in without an adapter. ``GenericSurveyResponse.model_json_schema()``
is the published JSON Schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


def _without_nul(text: str) -> str:
    """PostgreSQL text cannot hold NUL; it carries no meaning in a survey answer either."""
    return text.replace("\x00", "")


SHORT_TEXT_CHARS = 500
COMMENT_CHARS = 20_000

Text = Annotated[str, AfterValidator(_without_nul)]
ShortText = Annotated[Text, Field(max_length=SHORT_TEXT_CHARS)]


def _with_a_utc_time(moment: datetime) -> datetime:
    """Refuse a moment whose UTC time Python cannot hold (``9999-12-31T23:00:00-14:00`` is in
    the year 10000 in UTC): the database driver converts every moment to UTC, so one such date
    failed its whole batch's insert; refused here, it is a dead letter that says why."""
    if moment.tzinfo is not None:
        try:
            moment.astimezone(UTC)
        except OverflowError:
            message = f"{moment.isoformat()} has no UTC time in the years 1 to 9999"
            raise ValueError(message) from None
    return moment


Moment = Annotated[datetime, AfterValidator(_with_a_utc_time)]


class ScoreKind(StrEnum):
    """What a score measures; each kind has a conventional scale."""

    NPS = "nps"
    CSAT = "csat"
    CES = "ces"
    STARS = "stars"


DEFAULT_SCALES: dict[ScoreKind, tuple[int, int]] = {
    ScoreKind.NPS: (0, 10),
    ScoreKind.CSAT: (1, 5),
    ScoreKind.CES: (1, 7),
    ScoreKind.STARS: (1, 5),
}


class Score(BaseModel):
    """A score kept with its scale, because a 4 means different things on 1-5 and 0-10.

    Infinities and NaN are refused (here and in ``Customer``): ``1e999`` in a vendor's JSON
    parses to ``inf``, which JSON cannot write back (``json.dumps`` gives ``Infinity``) and
    PostgreSQL's jsonb refuses, so one such delivery would fail its whole batch's insert on
    every retry. Refused here, it becomes a dead letter that says why."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    kind: ScoreKind
    value: float
    scale_min: float | None = None
    scale_max: float | None = None

    @model_validator(mode="after")
    def _fill_and_check_scale(self) -> Score:
        low, high = DEFAULT_SCALES[self.kind]
        scale_min = low if self.scale_min is None else self.scale_min
        scale_max = high if self.scale_max is None else self.scale_max
        if scale_min >= scale_max:
            raise ValueError(f"scale_min {scale_min} must be below scale_max {scale_max}")
        if not scale_min <= self.value <= scale_max:
            raise ValueError(f"{self.kind} value {self.value} is outside {scale_min}..{scale_max}")
        object.__setattr__(self, "scale_min", scale_min)
        object.__setattr__(self, "scale_max", scale_max)
        return self

    @property
    def fraction(self) -> float:
        """Position on the scale from 0 (worst) to 1 (best)."""
        assert self.scale_min is not None and self.scale_max is not None
        return (self.value - self.scale_min) / (self.scale_max - self.scale_min)


class Customer(BaseModel):
    """Who answered; the fields an agent needs to reach them."""

    model_config = ConfigDict(allow_inf_nan=False)

    id: ShortText | None = None
    name: ShortText | None = None
    email: ShortText | None = None
    phone: ShortText | None = None
    segment: ShortText | None = Field(
        default=None, description="Customer tier or segment, e.g. 'gold'; raises priority."
    )
    lifetime_value: float | None = Field(
        default=None, ge=0, description="What the customer is worth, in the account's currency."
    )


class Interaction(BaseModel):
    """The service interaction the survey is about."""

    id: ShortText | None = None
    channel: ShortText | None = None
    agent: ShortText | None = None
    team: ShortText | None = None
    occurred_at: Moment | None = Field(
        default=None,
        description="When the interaction happened (a call's start, a ticket's creation); the "
        "agent calling back sees it in the case's story.",
    )


class GenericSurveyResponse(BaseModel):
    """The body of a *generic* webhook delivery."""

    model_config = ConfigDict(extra="ignore")

    response_id: Annotated[Text, Field(min_length=1, max_length=200)]
    survey_id: ShortText | None = None
    submitted_at: Moment | None = None
    updated_at: Moment | None = Field(
        default=None,
        description="When the vendor last changed this response, as this delivery tells it. "
        "Orders deliveries that arrive out of order: an older one never overwrites a newer one.",
    )
    customer: Customer = Field(default_factory=Customer)
    interaction: Interaction = Field(default_factory=Interaction)
    scores: Annotated[list[Score], Field(max_length=20)] = Field(default_factory=list)
    reasons: Annotated[list[ShortText], Field(max_length=50)] = Field(
        default_factory=list, description="Answers the customer chose, as the survey labels them."
    )
    comment: Annotated[Text, Field(max_length=COMMENT_CHARS)] | None = None
    follow_up_requested: bool = False


class SurveyResponse(GenericSurveyResponse):
    """A normalised response, whatever vendor it came from."""

    source: str
    vendor: str
    receipt_id: str
    received_at: Moment

    def score(self, kind: ScoreKind) -> Score | None:
        """The first score of that kind, if the survey asked it."""
        return next((s for s in self.scores if s.kind == kind), None)
