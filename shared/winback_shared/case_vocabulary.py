"""The words a recovery case is described in: its statuses and the kinds of its history entries.

One home for them. The router, the re-coding tool, the notifier's workflow, SLA timers, reports,
the event contracts and the console all speak of the same statuses and history kinds; each
imports them from here (the console gets them from the server), and what cannot import them
(SQL in migrations) is checked against them by a test.
"""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    """Where a case stands: ``open → claimed → contacted → resolved → closed``, with
    ``unreachable`` after failed attempts and ``reopened`` when finished work needs more."""

    OPEN = "open"
    CLAIMED = "claimed"
    CONTACTED = "contacted"
    UNREACHABLE = "unreachable"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


FINISHED_STATUSES = frozenset({CaseStatus.RESOLVED, CaseStatus.CLOSED})
"""The recovery is over: no SLA timer fires, a revision or re-coding leaves history alone."""

OPEN_STATUSES = tuple(status for status in CaseStatus if status not in FINISHED_STATUSES)
"""Cases still waiting for someone, in lifecycle order (``GET /api/cases`` lists these)."""

BOARD_STATUSES = (*OPEN_STATUSES, CaseStatus.RESOLVED)
"""What a console's board shows: resolved cases stay until their owner closes them."""


class HistoryKind(StrEnum):
    """What a ``case_history`` entry records. Agents' actions share their names with the
    workflow's actions; the rest are written by the router, the re-coding tool and SLA timers."""

    OPENED = "opened"
    """The router opened the case (written with the case, published as its alert)."""
    REVISED = "revised"
    """A later delivery of the same response changed the open case (router)."""
    RECODED = "recoded"
    """The case's reasons were coded again after a taxonomy change (re-coding tool): no news
    for an agent, so consoles update quietly and never pop it up."""
    CLAIMED = "claimed"
    CONTACT_ATTEMPTED = "contact_attempted"
    MARKED_UNREACHABLE = "marked_unreachable"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    REASSIGNED = "reassigned"
    NOTE_ADDED = "note_added"
    REASONS_REVIEWED = "reasons_reviewed"
    """An agent confirmed the coded reasons or corrected them (which codes are right, and
    whether the customer asked to be contacted): labelled data for reason coding."""
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    CLAIM_LAPSED = "claim_lapsed"
    OFFER_GRANTED = "offer_granted"
    """An agent offered the customer something within their limit: granted at once."""
    OFFER_REQUESTED = "offer_requested"
    """An offer above the agent's limit: it waits for a supervisor (their consoles pop it up)."""
    OFFER_APPROVED = "offer_approved"
    OFFER_DECLINED = "offer_declined"
    """A supervisor declined a requested offer, with a reason."""
    OFFER_OVERDUE = "offer_overdue"
    """A requested offer waited longer than the approval time without an answer (timer)."""
    CALL_BACK_MISSED = "call_back_missed"
    """The time the customer asked to be called back passed with no attempt (SLA timers)."""


HISTORY_LABELS: dict[HistoryKind, str] = {
    HistoryKind.OPENED: "Case opened",
    HistoryKind.REVISED: "Response revised",
    HistoryKind.RECODED: "Reasons re-coded",
    HistoryKind.CLAIMED: "Claimed",
    HistoryKind.CONTACT_ATTEMPTED: "Contact attempt",
    HistoryKind.MARKED_UNREACHABLE: "Marked unreachable",
    HistoryKind.RESOLVED: "Resolved",
    HistoryKind.CLOSED: "Closed",
    HistoryKind.REOPENED: "Reopened",
    HistoryKind.REASSIGNED: "Reassigned",
    HistoryKind.NOTE_ADDED: "Note",
    HistoryKind.REASONS_REVIEWED: "Reasons reviewed",
    HistoryKind.SLA_WARNING: "SLA warning",
    HistoryKind.SLA_BREACHED: "SLA breached",
    HistoryKind.CLAIM_LAPSED: "Claim lapsed",
    HistoryKind.OFFER_GRANTED: "Offer granted",
    HistoryKind.OFFER_REQUESTED: "Approval requested",
    HistoryKind.OFFER_APPROVED: "Offer approved",
    HistoryKind.OFFER_DECLINED: "Offer declined",
    HistoryKind.OFFER_OVERDUE: "Approval overdue",
    HistoryKind.CALL_BACK_MISSED: "Call-back missed",
}
"""How people read each kind (the console's history list shows these)."""

STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.OPEN: "Open",
    CaseStatus.CLAIMED: "Claimed",
    CaseStatus.CONTACTED: "Contacted",
    CaseStatus.UNREACHABLE: "Unreachable",
    CaseStatus.RESOLVED: "Resolved",
    CaseStatus.CLOSED: "Closed",
    CaseStatus.REOPENED: "Reopened",
}
"""How people read each status."""


class AttemptOutcome(StrEnum):
    """How one try to reach the customer went, in the words calls are logged in.

    Attempts logged before outcomes existed carry only ``reached``; :func:`outcome_of` reads
    them as ``reached`` or ``no_answer``, so old histories need no rewrite.
    """

    REACHED = "reached"
    """A conversation: the case becomes ``contacted``."""
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    """A message was left; a failed attempt all the same."""
    WRONG_NUMBER = "wrong_number"
    """The number is not the customer's: calling it again will not help."""
    CALL_LATER = "call_later"
    """The customer answered but asked to be called at another time, which becomes the
    case's next deadline."""


ATTEMPT_OUTCOME_LABELS: dict[AttemptOutcome, str] = {
    AttemptOutcome.REACHED: "Reached",
    AttemptOutcome.NO_ANSWER: "No answer",
    AttemptOutcome.VOICEMAIL: "Voicemail left",
    AttemptOutcome.WRONG_NUMBER: "Wrong number",
    AttemptOutcome.CALL_LATER: "Call later",
}
"""How people read each outcome (the console's buttons and history show these)."""


def outcome_of(reached: bool, outcome: str | None) -> AttemptOutcome:
    """An attempt's outcome, for attempts logged with one and those logged before (``None``)."""
    if outcome is not None:
        return AttemptOutcome(outcome)
    return AttemptOutcome.REACHED if reached else AttemptOutcome.NO_ANSWER
