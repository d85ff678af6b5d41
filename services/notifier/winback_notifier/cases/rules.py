"""The case lifecycle as pure rules: who may do what to a case in which state, and what follows.

``open → claimed → contacted → resolved → closed``, with ``unreachable`` after enough failed
attempts and ``reopened`` when a finished case needs more work. No I/O here: the service locks
the case row, asks :func:`decide`, and writes what it answers, so the rules are testable alone
and every refusal carries the same clear error whoever asks (console, CRM or dialer).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from winback_shared.agents import Agent
from winback_shared.case_vocabulary import BOARD_STATUSES, OPEN_STATUSES, CaseStatus, HistoryKind
from winback_shared.errors import ApiError


class Action(StrEnum):
    """What can be done to a case; its value is the ``kind`` of the history entry it writes."""

    CLAIM = HistoryKind.CLAIMED
    ATTEMPT = HistoryKind.CONTACT_ATTEMPTED
    MARK_UNREACHABLE = HistoryKind.MARKED_UNREACHABLE
    RESOLVE = HistoryKind.RESOLVED
    CLOSE = HistoryKind.CLOSED
    REOPEN = HistoryKind.REOPENED
    REASSIGN = HistoryKind.REASSIGNED
    REVIEW_REASONS = HistoryKind.REASONS_REVIEWED
    NOTE = HistoryKind.NOTE_ADDED

    @property
    def kind(self) -> HistoryKind:
        """The history kind this action records."""
        return HistoryKind(self.value)


class Channel(StrEnum):
    """How the customer was (or was not) reached. The first three are two-way."""

    PHONE = "phone"
    IN_PERSON = "in_person"
    VIDEO = "video"
    CHAT = "chat"
    SMS = "sms"
    EMAIL = "email"


TWO_WAY = frozenset({Channel.PHONE, Channel.IN_PERSON, Channel.VIDEO})
"""Channels where the agent can listen and the customer can answer at once: try these first."""


ACTIVE = frozenset(BOARD_STATUSES)
"""Statuses a console's board shows: a case in one of them has a live owner, if any."""

ALLOWED_FROM: dict[Action, frozenset[CaseStatus]] = {
    Action.CLAIM: frozenset(OPEN_STATUSES),
    Action.ATTEMPT: frozenset({CaseStatus.CLAIMED, CaseStatus.CONTACTED, CaseStatus.UNREACHABLE}),
    Action.MARK_UNREACHABLE: frozenset({CaseStatus.CLAIMED}),
    Action.RESOLVE: frozenset({CaseStatus.CONTACTED}),
    Action.CLOSE: frozenset({CaseStatus.RESOLVED, CaseStatus.UNREACHABLE}),
    Action.REOPEN: frozenset({CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.UNREACHABLE}),
    Action.REASSIGN: ACTIVE,
    Action.REVIEW_REASONS: frozenset(CaseStatus),
    Action.NOTE: frozenset(CaseStatus),
}

OWNER_ONLY = frozenset(
    {
        Action.ATTEMPT,
        Action.MARK_UNREACHABLE,
        Action.RESOLVE,
        Action.CLOSE,
        Action.REVIEW_REASONS,
    }
)
"""Actions only the case's owner (or a supervisor) may take: the owner runs the follow-up, and
the one who talked to the customer is the one who knows what their reasons really were (a
finished case keeps its owner, so a review after closing is still theirs)."""


class Relation(StrEnum):
    """How the one acting stands to a case. Once they see its queue, this and whether they may
    reassign are all :func:`decide` asks of them; the console is told what each one allows."""

    OWNER = "owner"
    """They own the case."""
    OTHER = "other"
    """Someone else owns it."""
    UNOWNED = "unowned"
    """Nobody owns it."""


@dataclass(frozen=True)
class CaseState:
    """The parts of a case the rules look at."""

    case_id: int
    status: CaseStatus
    queue: str
    owner_id: int | None
    owner: str | None
    failed_attempts: int
    wrong_number: bool = False
    """An attempt found the customer's number wrong: redialling it will not reach them."""


@dataclass(frozen=True)
class Outcome:
    """What the case becomes."""

    status: CaseStatus
    owner_id: int | None
    queue: str


class CaseRefused(ApiError):
    """A request the rules refuse; nothing was changed."""


def decide(
    action: Action,
    state: CaseState,
    actor: Agent,
    *,
    reached: bool = False,
    unreachable_after: int = 3,
    new_owner: Agent | None = None,
    new_queue: str | None = None,
) -> Outcome:
    """The case after ``actor`` does ``action``; raises :class:`CaseRefused` if not allowed.

    Checks run from the least to the most specific, so the error names the real obstacle:
    visibility, then role, then state, then ownership.
    """
    case = f"case {state.case_id}"
    if not actor.sees_queue(state.queue):
        raise CaseRefused(403, "forbidden", f"{case} is in queue {state.queue!r}, not one of yours")
    if action is Action.REASSIGN and not actor.may_reassign:
        raise CaseRefused(403, "forbidden", "only a supervisor may reassign a case")
    if action is Action.CLAIM and state.owner_id is not None and state.status in ACTIVE:
        who = "you" if state.owner_id == actor.id else state.owner
        raise CaseRefused(409, "already_claimed", f"{case} is already claimed by {who}")
    if state.status not in ALLOWED_FROM[action]:
        allowed = ", ".join(sorted(ALLOWED_FROM[action]))
        raise CaseRefused(
            409,
            "illegal_transition",
            f"cannot {_verb(action)} {case} while it is {state.status}; allowed from: {allowed}",
        )
    if action in OWNER_ONLY:
        if state.owner_id is None:
            raise CaseRefused(409, "not_claimed", f"claim {case} before you {_verb(action)} it")
        if state.owner_id != actor.id and not actor.may_reassign:
            raise CaseRefused(
                403,
                "not_owner",
                f"{case} is owned by {state.owner}; only the owner or a supervisor may "
                f"{_verb(action)} it",
            )
    return _next(action, state, actor, reached, unreachable_after, new_owner, new_queue)


def permitted(
    action: Action, status: CaseStatus, relation: Relation, *, may_reassign: bool
) -> bool:
    """Whether :func:`decide` lets someone who sees the case take ``action`` in ``status``.

    The same checks in the same order, over the states a console can tell apart; what only the
    request carries (enough failed attempts to mark unreachable, whom to reassign to) is left
    out: the console checks the first against the policy, and the form asks for the second.
    ``tests/unit/test_case_rule_table.py`` holds it to :func:`decide` for every combination.
    """
    if action is Action.REASSIGN and not may_reassign:
        return False
    if action is Action.CLAIM and relation is not Relation.UNOWNED and status in ACTIVE:
        return False
    if status not in ALLOWED_FROM[action]:
        return False
    if action in OWNER_ONLY:
        return relation is Relation.OWNER or (relation is Relation.OTHER and may_reassign)
    return True


def transition_table(*, may_reassign: bool) -> dict[Relation, dict[CaseStatus, list[Action]]]:
    """Every action :func:`permitted` per relation and status, in :class:`Action` order.

    What the console offers comes from here (through ``hello`` and ``GET /api/me``), so the
    buttons it shows and the refusals the API gives cannot drift apart.
    """
    return {
        relation: {
            status: [
                action
                for action in Action
                if permitted(action, status, relation, may_reassign=may_reassign)
            ]
            for status in CaseStatus
        }
        for relation in Relation
    }


def _next(
    action: Action,
    state: CaseState,
    actor: Agent,
    reached: bool,
    unreachable_after: int,
    new_owner: Agent | None,
    new_queue: str | None,
) -> Outcome:
    same = Outcome(state.status, state.owner_id, state.queue)
    match action:
        case Action.CLAIM:
            claimed = state.status in (CaseStatus.OPEN, CaseStatus.REOPENED)
            return Outcome(CaseStatus.CLAIMED if claimed else state.status, actor.id, state.queue)
        case Action.ATTEMPT:
            return Outcome(CaseStatus.CONTACTED, state.owner_id, state.queue) if reached else same
        case Action.MARK_UNREACHABLE:
            if state.failed_attempts < unreachable_after and not state.wrong_number:
                raise CaseRefused(
                    409,
                    "not_enough_attempts",
                    f"case {state.case_id} has {state.failed_attempts} failed attempt(s); "
                    f"{unreachable_after} are needed before it can be marked unreachable "
                    "(or one that found the number wrong)",
                )
            return Outcome(CaseStatus.UNREACHABLE, state.owner_id, state.queue)
        case Action.RESOLVE:
            return Outcome(CaseStatus.RESOLVED, state.owner_id, state.queue)
        case Action.CLOSE:
            return Outcome(CaseStatus.CLOSED, state.owner_id, state.queue)
        case Action.REOPEN:
            return Outcome(CaseStatus.REOPENED, None, state.queue)
        case Action.REASSIGN:
            return _reassigned(state, new_owner, new_queue)
        case Action.REVIEW_REASONS | Action.NOTE:
            return same


def _reassigned(state: CaseState, new_owner: Agent | None, new_queue: str | None) -> Outcome:
    """A named agent takes the case over; a queue alone hands it back unowned to that queue."""
    if new_owner is None and new_queue is None:
        raise CaseRefused(422, "invalid_request", "name an agent, a queue, or both")
    queue = new_queue or state.queue
    if new_owner is not None:
        if not new_owner.sees_queue(queue):
            raise CaseRefused(
                409,
                "not_a_member",
                f"{new_owner.name} is not a member of queue {queue!r}; add them to it first",
            )
        fresh = state.status in (CaseStatus.OPEN, CaseStatus.REOPENED)
        return Outcome(CaseStatus.CLAIMED if fresh else state.status, new_owner.id, queue)
    status = CaseStatus.OPEN if state.status is CaseStatus.CLAIMED else state.status
    return Outcome(status, None, queue)


def _verb(action: Action) -> str:
    return {
        Action.CLAIM: "claim",
        Action.ATTEMPT: "log a contact attempt on",
        Action.MARK_UNREACHABLE: "mark unreachable",
        Action.RESOLVE: "resolve",
        Action.CLOSE: "close",
        Action.REOPEN: "reopen",
        Action.REASSIGN: "reassign",
        Action.REVIEW_REASONS: "review the reasons of",
        Action.NOTE: "comment on",
    }[action]


# ---- reviewing the coded reasons ----------------------------------------------------------


class Verdict(StrEnum):
    """What an agent's review said of the router's coding."""

    CONFIRMED = "confirmed"
    """The coded reasons and the follow-up request were right."""
    CORRECTED = "corrected"
    """Something was wrong: a code missing or extra, or the follow-up request."""


@dataclass(frozen=True)
class ReasonsReview:
    """The customer's reasons as the agent confirms them, beside what the router coded.

    ``codes`` and ``coded`` are taxonomy codes only: ``unclassified`` is the absence of one, and
    ``asks_contact`` is what ``follow_up_requested`` says in the router's words.
    """

    codes: tuple[str, ...]
    follow_up_requested: bool
    coded: tuple[str, ...]
    coded_follow_up: bool

    @property
    def verdict(self) -> Verdict:
        """Confirmed when the agent's label is exactly what the router had."""
        same = set(self.codes) == set(self.coded) and (
            self.follow_up_requested == self.coded_follow_up
        )
        return Verdict.CONFIRMED if same else Verdict.CORRECTED

    def history_data(self, note: str) -> dict[str, Any]:
        """The history entry's data: the label, what it replaced, and the verdict."""
        return {
            "verdict": self.verdict.value,
            "codes": list(self.codes),
            "follow_up_requested": self.follow_up_requested,
            "coded": list(self.coded),
            "coded_follow_up": self.coded_follow_up,
            "note": note,
        }


def known_codes(chosen: Iterable[str], known: Sequence[str]) -> tuple[str, ...]:
    """``chosen`` in the taxonomy's order, each once; 422 ``unknown_reason_code`` naming every
    code that is not in ``known`` (the taxonomy's codes) and what would be accepted."""
    wanted = set(chosen)
    unknown = sorted(wanted - set(known))
    if unknown:
        raise CaseRefused(
            422,
            "unknown_reason_code",
            f"not a reason code: {', '.join(map(repr, unknown))}; use any of: {', '.join(known)}",
        )
    return tuple(code for code in known if code in wanted)
