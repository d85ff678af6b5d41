"""``winback send``'s short wait after the 202: what became of the delivery, in one line.

Ingest's 202 says only that the delivery is authentic and on Kafka; whether the router opened a
case, stored it without one, or could not normalise it (a dead letter) is decided later. The
router answers that at ``GET /ops/deliveries/{receipt_id}`` (supervisors; the demo agent is
one); this module asks it until the answer is final or the wait is over, and words it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from winback_local.local_http import request

POLL_SECONDS = 0.25
FINAL = ("case", "stored", "dead_letter")


@dataclass(frozen=True)
class Sent:
    """One accepted delivery: its receipt, and the response id it carries when known."""

    receipt_id: str
    source: str
    response_id: str | None


class NoAnswer(Exception):
    """The router could not be asked (down, or refused the token): the fate stays unknown."""


def fate_url(router_url: str, sent: Sent) -> str:
    """Where the router answers for ``sent``."""
    url = f"{router_url}/ops/deliveries/{quote(sent.receipt_id, safe='')}"
    if sent.response_id is None:
        return url
    return f"{url}?{urlencode({'source': sent.source, 'response_id': sent.response_id})}"


def ask_router(router_url: str, token: str, sent: Sent) -> dict[str, Any]:
    """The router's answer for ``sent`` once; :class:`NoAnswer` when there is none."""
    url = fate_url(router_url, sent)
    try:
        answer = request("GET", url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    except OSError as failure:
        raise NoAnswer(f"the router at {router_url} does not answer ({failure})") from None
    if answer.status_code != 200:
        raise NoAnswer(f"the router answered {answer.status_code}: {answer.text[:300]}")
    try:
        fate: dict[str, Any] = answer.json()
    except ValueError:
        raise NoAnswer(f"the router's answer is not JSON: {answer.text[:300]}") from None
    return fate


def wait_for_fate(
    ask: Callable[[], dict[str, Any]],
    seconds: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Ask until the answer is final or ``seconds`` have passed; the last answer. Always asks
    once more after the last sleep, so a fate decided during the wait is not missed."""
    deadline = clock() + seconds
    while True:
        answer = ask()
        if answer.get("fate") in FINAL or clock() >= deadline:
            return answer
        sleep(min(POLL_SECONDS, max(deadline - clock(), 0)))


def score_text(scores: list[dict[str, Any]]) -> str:
    """``nps 10, csat 4``: each score by kind, without a trailing ``.0``."""
    return ", ".join(f"{score.get('kind')} {score.get('value'):g}" for score in scores) or "none"


def describe_fate(fate: dict[str, Any], sent: Sent, waited: float) -> str:
    """The line ``winback send`` prints for the router's answer ``fate``."""
    kind = fate.get("fate")
    repeat = ""
    stored_by = fate.get("stored_receipt_id")
    if stored_by and stored_by != sent.receipt_id:
        repeat = (
            f"; response {sent.response_id} was stored by an earlier delivery (receipt"
            f" {stored_by}): a repeat opens no second case"
        )
    if kind == "case":
        reasons = ", ".join(fate.get("reasons") or []) or "none coded"
        return f"case {fate.get('case_id')} opened (reasons {reasons}){repeat}"
    if kind == "stored":
        return f"stored, no case needed (score {score_text(fate.get('scores') or [])}){repeat}"
    if kind == "dead_letter":
        return (
            f"dead letter {fate.get('dead_letter_id')}: {fate.get('error')}\n"
            "  the router could not normalise it: fix the body and send it again, or fix the"
            " source's field map and replay it (python -m winback_router.dead_letters replay"
            f" {fate.get('dead_letter_id')}; docs/operations.md)"
        )
    if sent.response_id is None:
        return (
            f"no dead letter after {waited:g} s; a {sent.source} body's response id is its"
            " vendor's, which winback send cannot look up: see the console for its case"
        )
    return f"not seen yet after {waited:g} s (is the router running and caught up?)"


def report_fate(router_url: str, token: str, sent: Sent, seconds: float) -> tuple[str, bool]:
    """Wait up to ``seconds`` for ``sent``'s fate; (the line to print, whether it is a dead
    letter)."""
    try:
        fate = wait_for_fate(lambda: ask_router(router_url, token, sent), seconds)
    except NoAnswer as failure:
        return f"fate unknown: {failure}", False
    return describe_fate(fate, sent, seconds), fate.get("fate") == "dead_letter"
