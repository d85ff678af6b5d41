"""The notifier served as in production (no websocket compression): live frames reach the
consoles written directly by the hub (``live.direct``), in order, each console its own queues."""

from __future__ import annotations

from tests.case_support import CaseDesk, next_change, three_consoles
from winback_notifier.metrics import FRAMES_DIRECT


async def test_changes_reach_idle_consoles_directly_in_order(case_desk: CaseDesk) -> None:
    async with three_consoles(case_desk) as desk:
        case_id = desk.case_id
        before = FRAMES_DIRECT._value.get()
        assert (await case_desk.act(desk.ana, case_id, "claim")).status_code == 200
        for number in range(3):
            noted = await case_desk.act(desk.ana, case_id, "notes", {"text": f"note {number}"})
            assert noted.status_code == 200, noted.text

        for console in (desk.ana_console, desk.sue_console):
            seqs = [(await next_change(console, case_id))["case"]["seq"] for _ in range(4)]
            assert seqs == [2, 3, 4, 5]
        await desk.bill_console.nothing_for(1.0)
        assert FRAMES_DIRECT._value.get() > before  # the consoles idled: written directly
