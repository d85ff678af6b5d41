"""A console that was connected before catches up on everything it missed, from PostgreSQL:
cases opened while the notifier was down included, whatever the board limit.

The cases opened during the outage are stored as the router stores them and never announced
on Kafka at all, so nothing but the catch-up can bring them to the console."""

from __future__ import annotations

from typing import Any

from tests.case_support import open_case, running_desk
from winback_shared.agents import ensure_queues, set_queues
from winback_shared.db import create_pool

BOARD_LIMIT = 3


async def test_cases_opened_while_the_notifier_was_down_reach_a_console_that_was_connected(
    infra_env: dict[str, Any],
) -> None:
    async with running_desk(infra_env, board_limit=BOARD_LIMIT) as desk:
        ana = await desk.agent("ana")
        before = [await desk.case(priority=1) for _ in range(BOARD_LIMIT + 2)]
        async with desk.console(ana) as console:
            assert len(console.snapshot) == BOARD_LIMIT and console.snapshot_total == 5
            cursor = console.cursor
        pool_url = str(infra_env["database_url"])

    # The notifier is down: cases open (least urgent: no snapshot of 3 would carry them),
    # one earlier case is closed, and another moves to a queue ana does not see.
    pool = await create_pool(pool_url, min_size=1, max_size=2)
    try:
        during = [await open_case(pool, priority=4) for _ in range(BOARD_LIMIT + 1)]
        other_queue = await open_case(pool, priority=4, queue="vip")
        await pool.execute(
            "UPDATE recovery_cases SET seq = seq + 1, status = 'closed', updated_at = now()"
            " WHERE id = $1",
            before[0],
        )
    finally:
        await pool.close()

    async with (
        running_desk(infra_env, board_limit=BOARD_LIMIT) as desk,
        desk.console(ana, cursor=cursor) as resumed,
    ):
        got = {card["case_id"]: card for card in resumed.snapshot}
        assert set(during) <= set(got), "every case opened during the outage arrives"
        assert other_queue not in got
        assert got[before[0]]["status"] == "closed"  # so the console drops it
        assert len(resumed.catchup_pages) >= 2, "paged by the board limit"
        assert all(len(page["cases"]) <= BOARD_LIMIT for page in resumed.catchup_pages)
        assert resumed.cursor != cursor

        # A console without a cursor gets the capped snapshot: the most urgent ones only.
        async with desk.console(ana) as fresh:
            assert not set(during) & {card["case_id"] for card in fresh.snapshot}
            assert fresh.snapshot_total == len(before) - 1 + len(during)


async def test_a_cursor_for_another_view_or_unreadable_gets_a_snapshot(
    infra_env: dict[str, Any],
) -> None:
    async with running_desk(infra_env, board_limit=BOARD_LIMIT) as desk:
        ana = await desk.agent("ana")
        bill = await desk.agent("bill", queues=["billing"])
        await desk.case()
        async with desk.console(ana) as console:
            cursor = console.cursor
        async with desk.console(ana, cursor=cursor) as same:
            assert same.catchup_pages != []
        for token, sent in ((bill, cursor), (ana, "v1.garbage"), (ana, "x" * 500)):
            async with desk.console(token, cursor=sent) as other:
                assert other.catchup_pages == []
        # Ana joins a queue: cases there need not have changed since, so her old cursor no
        # longer describes her board.
        ana_id = await desk.pool.fetchval("SELECT id FROM agents WHERE name = 'ana'")
        async with desk.pool.acquire() as conn:
            await ensure_queues(conn, ["vip"])
            await set_queues(conn, agent_id=ana_id, queues=["default", "vip"])
        async with desk.console(ana, cursor=cursor) as joined:
            assert joined.catchup_pages == []
