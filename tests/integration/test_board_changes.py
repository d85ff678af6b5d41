"""Whether a board read still holds: ``board_changes`` (migration 0037) and the notifier's
check of it (``cases.board_changed_since``), which ``live.board`` asks before handing a board
read a moment ago to a console signing in.

Every way a case's card changes in the database records its transaction (a case opened,
changed, deleted; its response revised or re-coded; its owner renamed); a transaction that was
under way at the read and commits after it counts (the reason ids cannot be compared), a rolled
back one and a change no card shows do not. End to end, a console signing in right after another
is handed that board when nothing changed, and a board that includes a change the hub never
heard of (committed, not published) when something did.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from prometheus_client import REGISTRY

from tests.case_support import CaseDesk, running_desk
from winback_notifier.cases.service import board_changed_since, board_snapshot


async def read_snapshot(pool: asyncpg.Pool) -> str:
    """The snapshot a board read would keep, taken as ``live.board.read_board`` takes it."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        _, snapshot = await board_snapshot(conn)
        return snapshot


async def changed_by(pool: asyncpg.Pool, change: Callable[[], Awaitable[object]]) -> bool:
    snapshot = await read_snapshot(pool)
    assert not await board_changed_since(pool, snapshot)
    await change()
    return await board_changed_since(pool, snapshot)


async def test_every_change_of_a_card_is_seen_by_a_later_check(case_desk: CaseDesk) -> None:
    pool = case_desk.pool
    ana = await case_desk.agent("ana")
    case_id = await case_desk.case()
    response_id = await pool.fetchval(
        "SELECT survey_response_id FROM recovery_cases WHERE id = $1", case_id
    )

    assert await changed_by(pool, case_desk.case)  # the router opens one
    assert await changed_by(pool, lambda: case_desk.act(ana, case_id, "claim"))  # the notifier
    assert await changed_by(
        pool,  # an SLA timer, the router's revision of a priority: any column of the case
        lambda: pool.execute(
            "UPDATE recovery_cases SET sla_warned_at = now() WHERE id = $1", case_id
        ),
    )
    assert await changed_by(
        pool,  # re-coding or the refiner: the card's reasons are its response's codes
        lambda: pool.execute(
            "UPDATE survey_responses SET codes = $2 WHERE id = $1", response_id, json.dumps([])
        ),
    )
    assert await changed_by(
        pool,  # a revision of the response's comment
        lambda: pool.execute(
            "UPDATE survey_responses SET comment = 'revised' WHERE id = $1", response_id
        ),
    )
    assert await changed_by(
        pool, lambda: pool.execute("UPDATE agents SET name = 'ana b.' WHERE name = 'ana'")
    )  # the owner's name is on the card


async def test_changes_no_card_shows_are_not_counted(case_desk: CaseDesk) -> None:
    pool = case_desk.pool
    case_id = await case_desk.case()
    await case_desk.agent("ben")
    response_id = await pool.fetchval(
        "SELECT survey_response_id FROM recovery_cases WHERE id = $1", case_id
    )

    assert not await changed_by(
        pool,
        lambda: pool.execute(
            "UPDATE survey_responses SET refine_pending = NOT refine_pending WHERE id = $1",
            response_id,
        ),
    )
    assert not await changed_by(  # an update that changes nothing a card shows
        pool, lambda: pool.execute("UPDATE agents SET name = name WHERE name = 'ben'")
    )
    assert not await changed_by(  # a sweep that matched no case
        pool, lambda: pool.execute("UPDATE recovery_cases SET priority = 1 WHERE id = -1")
    )


async def test_a_change_rolled_back_is_no_change(case_desk: CaseDesk) -> None:
    pool = case_desk.pool
    case_id = await case_desk.case()

    async def rolled_back() -> None:
        async with pool.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute("UPDATE recovery_cases SET priority = 3 WHERE id = $1", case_id)
            await transaction.rollback()

    assert not await changed_by(pool, rolled_back)


async def test_a_transaction_under_way_at_the_read_that_commits_after_it_counts(
    case_desk: CaseDesk,
) -> None:
    """Its id (and its row in ``board_changes``) came before the read's snapshot: a comparison
    of the largest ids would call the board current; the snapshot knows it was not seen."""
    pool = case_desk.pool
    case_id = await case_desk.case()
    async with pool.acquire() as writer:
        transaction = writer.transaction()
        await transaction.start()
        await writer.execute("UPDATE recovery_cases SET priority = 2 WHERE id = $1", case_id)
        snapshot = await read_snapshot(pool)  # the read begins while the writer is under way
        await case_desk.case()  # a later transaction commits first
        later = await read_snapshot(pool)
        assert await board_changed_since(pool, snapshot)
        assert not await board_changed_since(pool, later)

        await transaction.commit()

    assert await board_changed_since(pool, later)  # committed after both reads


def reuses() -> float:
    return REGISTRY.get_sample_value("winback_notifier_board_reuses_total") or 0.0


async def test_a_console_signing_in_right_after_another_gets_the_database_as_it_is(
    infra_env: dict[str, Any],
) -> None:
    """Unchanged, the next console is handed the last read; changed in the database only (the
    hub never hears of it), it gets a new read. (Reuse for 10 s, so a slow machine still takes
    the reuse path.)"""
    async with running_desk(infra_env, board_reuse_seconds=10) as desk:
        ana = await desk.agent("ana")
        case_id = await desk.case()
        async with desk.console(ana) as first:
            assert [card["case_id"] for card in first.snapshot] == [case_id]

        before = reuses()
        async with desk.console(ana) as second:  # nothing changed
            assert second.snapshot == first.snapshot
        assert reuses() == before + 1

        # Committed, never published (as if its Kafka record were still on its way).
        await desk.pool.execute(
            "UPDATE recovery_cases SET priority = 3, seq = seq + 1 WHERE id = $1", case_id
        )
        async with desk.console(ana) as third:
            assert [(card["priority"], card["seq"]) for card in third.snapshot] == [(3, 2)]
        assert reuses() == before + 1
