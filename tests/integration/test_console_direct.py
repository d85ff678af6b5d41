"""The notifier served as in production (no websocket compression): live frames reach the
consoles written directly by the hub (``live.direct``), in order, each console its own queues."""

from __future__ import annotations

from tests.case_support import CaseDesk
from tests.integration.test_case_live import next_change
from winback_notifier.metrics import FRAMES_DIRECT
from winback_shared.agents import Role


async def test_changes_reach_idle_consoles_directly_in_order(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    bill = await case_desk.agent("bill", queues=["billing"])
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    case_id = await case_desk.case()

    async with (
        case_desk.console(ana) as ana_console,
        case_desk.console(bill) as bill_console,
        case_desk.console(sue) as sue_console,
    ):
        before = FRAMES_DIRECT._value.get()
        assert (await case_desk.act(ana, case_id, "claim")).status_code == 200
        for number in range(3):
            noted = await case_desk.act(ana, case_id, "notes", {"text": f"note {number}"})
            assert noted.status_code == 200, noted.text

        for console in (ana_console, sue_console):
            seqs = [(await next_change(console, case_id))["case"]["seq"] for _ in range(4)]
            assert seqs == [2, 3, 4, 5]
        await bill_console.nothing_for(1.0)
        assert FRAMES_DIRECT._value.get() > before  # the consoles idled: written directly
