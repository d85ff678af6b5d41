"""A board bigger than the notifier's limit: the most urgent cases first, the rest counted.

Consoles get at most ``board_limit`` cases in their snapshot and learn how many were left out;
tools page through ``GET /api/cases`` with ``limit`` and ``offset``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.case_support import CaseDesk, running_desk
from winback_notifier.cases import service as cases
from winback_notifier.live import board
from winback_shared.agents import Agent, Role


async def resolve_directly(desk: CaseDesk, case_id: int) -> None:
    """Mark a case resolved without the workflow (only its place on the board matters here)."""
    await desk.pool.execute("UPDATE recovery_cases SET status = 'resolved' WHERE id = $1", case_id)


async def test_snapshot_carries_the_most_urgent_cases_and_counts_the_rest(
    infra_env: dict[str, Any],
) -> None:
    async with running_desk(infra_env, board_limit=3) as desk:
        ana = await desk.agent("ana")
        bill = await desk.agent("bill", queues=["billing"])
        resolved_p1 = await desk.case(priority=1)
        await resolve_directly(desk, resolved_p1)
        await desk.case(priority=3)  # the least urgent open case: left out
        p1 = await desk.case(priority=1)
        p2_first = await desk.case(priority=2)
        p2_second = await desk.case(priority=2)
        await desk.case(queue="billing", priority=1)

        async with desk.console(ana) as console, desk.console(bill) as other:
            # Resolved cases go last, so a pile of them never hides an open one.
            assert [c["case_id"] for c in console.snapshot] == [p1, p2_first, p2_second]
            assert console.snapshot_total == 5
            assert len(other.snapshot) == 1 and other.snapshot_total == 1


async def test_a_board_within_the_limit_is_complete(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    first = await case_desk.case(priority=2)
    second = await case_desk.case(priority=1)

    async with case_desk.console(ana) as console:
        assert [c["case_id"] for c in console.snapshot] == [second, first]
        assert console.snapshot_total == 2


@pytest.mark.parametrize(("limit", "cards_per_page"), [(4, 2), (5, 2), (6, 4), (5, 50)])
async def test_a_board_read_page_by_page_is_the_board_read_at_once(
    case_desk: CaseDesk, monkeypatch: pytest.MonkeyPatch, limit: int, cards_per_page: int
) -> None:
    """The board is read, validated and encoded a page of cards at a time (to bound the
    notifier's memory); the text is the one encoding all the cards at once gives, for a limit
    on a page's edge, within a page, past the cases there are, and within the first page."""
    for priority in (3, 1, 2, 1, 2):
        await case_desk.case(priority=priority, comment='Waited \u00e9 "long"')
    everyone = Agent(id=0, name="sue", role=Role.SUPERVISOR, queues=frozenset())
    monkeypatch.setattr(board, "CARDS_PER_PAGE", cards_per_page)
    encoded: list[int] = []
    encode_cards = board.encode_cards

    def encode_one_page(cards: list[Any]) -> str:
        encoded.append(len(cards))
        return encode_cards(cards)

    monkeypatch.setattr(board, "encode_cards", encode_one_page)

    async with case_desk.pool.acquire() as conn:
        paged = await board.read_board(conn, everyone, limit)
        pages = list(encoded)
        whole = await cases.list_cards(conn, everyone, limit=limit)

    assert paged.cases_json == board.encode_board(whole, 5, paged.read_at).cases_json
    assert len(whole) == min(limit, 5) and paged.total == 5
    assert max(pages) <= cards_per_page and sum(pages) == len(whole)  # never all at once


async def test_the_case_api_pages_through_every_case_with_a_total(case_desk: CaseDesk) -> None:
    sue = await case_desk.agent("sue", queues=["default", "billing"])
    made = [
        await case_desk.case(priority=priority, queue=queue)
        for priority, queue in [(3, "default"), (1, "billing"), (2, "default"), (1, "default")]
    ]
    resolved = await case_desk.case(priority=1)
    await resolve_directly(case_desk, resolved)

    seen: list[int] = []
    for offset in (0, 2, 4):
        page = await case_desk.call("GET", f"/api/cases?limit=2&offset={offset}", sue)
        assert page.status_code == 200, page.text
        assert page.headers["X-Total-Count"] == "4"  # open statuses by default
        seen += [card["case_id"] for card in page.json()]
    assert seen == [made[1], made[3], made[2], made[0]]

    everything = await case_desk.call("GET", "/api/cases?status=open&status=resolved&limit=10", sue)
    assert everything.headers["X-Total-Count"] == "5"
    assert [card["case_id"] for card in everything.json()][-1] == resolved


async def test_paging_arguments_out_of_range_are_refused_clearly(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    for query in ("limit=0", "limit=1001", "offset=-1", "limit=many"):
        answer = await case_desk.call("GET", f"/api/cases?{query}", ana)
        assert answer.status_code == 422, query
        assert answer.json()["error"]["code"] == "invalid_request"
