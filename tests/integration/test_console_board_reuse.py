"""A console signing in just after another of the same view may be handed that console's board
read (``live.board``): what was opened since reaches it anyway, right after the snapshot, and
nothing of a queue its agent does not see."""

from __future__ import annotations

from typing import Any

from tests.case_support import CaseDesk, publish_opened


async def test_a_case_opened_after_the_last_board_read_reaches_the_next_console(
    case_desk: CaseDesk, kafka_bootstrap: str, infra_env: dict[str, Any]
) -> None:
    alerts = infra_env["topics"].recovery_alerts
    ana = await case_desk.agent("ana", queues=["alpha"])
    async with case_desk.console(ana) as first:  # its read is the view's latest
        in_alpha = await case_desk.case(queue="alpha")
        in_beta = await case_desk.case(queue="beta")
        await publish_opened(case_desk, kafka_bootstrap, alerts, in_beta)
        await publish_opened(case_desk, kafka_bootstrap, alerts, in_alpha)
        assert (await first.next_of("case.opened"))["case"]["case_id"] == in_alpha

        async with case_desk.console(ana) as second:  # within a second: may reuse that read
            in_snapshot = {card["case_id"] for card in second.snapshot}
            assert in_beta not in in_snapshot
            if in_alpha not in in_snapshot:  # handed the earlier read: replayed right after it
                opened = await second.next_of("case.opened", timeout=5)
                assert opened["case"]["case_id"] == in_alpha
            await second.nothing_for(0.5)  # never beta's case
