"""Topic ``recovery-alerts``: a recovery case that agents must see now.

``seq`` increases with every change of a case, so a console ignores what it has already seen and
notices a gap; redelivery of the same alert is harmless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from winback_shared.case_vocabulary import CaseStatus
from winback_shared.events.base import Event
from winback_shared.survey import Customer, Interaction, Score


class SimilarComment(BaseModel):
    """A labelled comment the reason model learned from, close in meaning to the coded one: an
    agent judges a model-coded reason by the company it keeps."""

    text: str
    codes: list[str]
    """The codes people gave it (empty: about nothing in the taxonomy)."""
    similarity: float
    """Cosine of the two comments' sentence vectors, -1 to 1."""


class CodedReason(BaseModel):
    """A reason code with the evidence that produced it, so agents can see why.

    ``method`` is ``chosen_answer``, ``rule``, ``model`` or ``no_match`` (for ``unclassified``).
    ``evidence_source`` says whether ``evidence`` quotes a chosen answer or the comment; ``rule``
    names the synonym, keyword, pattern or model that fired; ``span`` is where the matched words
    sit in the comment (NFC form), for highlighting; ``weight`` is the code's priority weight at
    the time of the response, boosts included. For a ``model`` reason, ``evidence`` is the
    sentence that scored highest for the code and ``similar`` the nearest labelled comments (None
    for every other method, and for a model that reads no sentence vectors).
    """

    code: str
    label: str
    evidence: str
    method: str
    confidence: float = 1.0
    evidence_source: Literal["answer", "comment"] | None = None
    rule: str | None = None
    span: tuple[int, int] | None = None
    weight: float = 1.0
    similar: list[SimilarComment] | None = None


class CaseSummary(BaseModel):
    """What a console shows for a case, in the alert and in the snapshot alike."""

    case_id: int
    seq: int
    status: CaseStatus
    priority: int
    queue: str
    source: str
    response_id: str
    customer: Customer
    interaction: Interaction
    scores: list[Score]
    reasons: list[CodedReason]
    comment: str | None
    follow_up_requested: bool
    submitted_at: datetime | None
    received_at: datetime
    opened_at: datetime
    contact_due_at: datetime | None = None
    """When the customer should have had a first contact attempt (the SLA deadline); stamped
    by PostgreSQL when the case opens, tightened if a revision raises the priority."""


class RecoveryCaseOpened(Event):
    """The router opened a case for a response that needs recovery."""

    type: Literal["case.opened"] = "case.opened"
    version: int = 1
    case: CaseSummary


class RecoveryCaseUpdated(Event):
    """A later delivery of the same response (a comment added, a survey finished) changed an
    open case: its reasons, priority or comment. ``case.seq`` is higher than before."""

    type: Literal["case.updated"] = "case.updated"
    version: int = 1
    case: CaseSummary


RecoveryAlert = Annotated[RecoveryCaseOpened | RecoveryCaseUpdated, Field(discriminator="type")]
"""Any event on ``recovery-alerts``; parse with ``RECOVERY_ALERT.validate_json``."""

RECOVERY_ALERT: TypeAdapter[RecoveryCaseOpened | RecoveryCaseUpdated] = TypeAdapter(RecoveryAlert)
