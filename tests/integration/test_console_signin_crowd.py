"""Consoles signing in together share board reads (``live.board``), and still each gets exactly
its own board: never a case of a queue its agent does not see, its own hello, its own cursor.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from tests.case_support import CaseDesk
from winback_shared.agents import Role


async def test_a_crowd_signing_in_at_once_each_gets_only_what_its_agent_may_see(
    case_desk: CaseDesk,
) -> None:
    alpha = [await case_desk.case(queue="alpha", priority=2) for _ in range(3)]
    beta = [await case_desk.case(queue="beta", priority=1) for _ in range(2)]
    crowd = {
        "ann": (Role.AGENT, ["alpha"]),
        "abe": (Role.AGENT, ["alpha"]),
        "bea": (Role.AGENT, ["beta"]),
        "ben": (Role.AGENT, ["beta"]),
        "both": (Role.AGENT, ["alpha", "beta"]),
        "sue": (Role.SUPERVISOR, ["gamma"]),
    }
    tokens = {
        name: await case_desk.agent(name, role=role, queues=queues)
        for name, (role, queues) in crowd.items()
    }
    expected = {
        "alpha": set(alpha),
        "beta": set(beta),
        "alpha,beta": set(alpha + beta),
    }

    async with AsyncExitStack() as stack:
        # Four consoles per agent, all signing in at the same moment.
        consoles = await asyncio.gather(
            *(
                stack.enter_async_context(case_desk.console(tokens[name]))
                for name in crowd
                for _ in range(4)
            )
        )
        for index, console in enumerate(consoles):
            name = list(crowd)[index // 4]
            role, queues = crowd[name]
            assert console.profile["name"] == name
            assert console.profile["queues"] == sorted(queues)
            seen = {card["case_id"] for card in console.snapshot}
            if role is Role.SUPERVISOR:
                assert seen >= set(alpha + beta)
            else:
                assert seen == expected[",".join(sorted(queues))], name
                assert {card["queue"] for card in console.snapshot} <= set(queues)
            assert console.snapshot_total == len(console.snapshot)
        # The cursor names its own agent's view: another agent's would not resume.
        cursors = {consoles[i * 4].cursor.rsplit(".", 1)[1] for i in range(len(crowd))}
        assert len(cursors) == len(crowd)


async def test_a_case_opened_while_consoles_sign_in_reaches_every_console_of_its_queue(
    case_desk: CaseDesk,
) -> None:
    token = await case_desk.agent("ann", queues=["alpha"])
    other = await case_desk.agent("bea", queues=["beta"])

    async with AsyncExitStack() as stack:
        signing_in = [
            asyncio.ensure_future(stack.enter_async_context(case_desk.console(token)))
            for _ in range(6)
        ]
        opened = await case_desk.case(queue="alpha")
        consoles = await asyncio.gather(*signing_in)
        outsider = await stack.enter_async_context(case_desk.console(other))

        # In the snapshot or not (opened before or after that console's shared read; the
        # router's alert would bring it live), but never on a console of another queue.
        for console in consoles:
            assert {card["queue"] for card in console.snapshot} <= {"alpha"}
        assert all(card["case_id"] != opened for card in outsider.snapshot)
        claimed = await case_desk.act(token, opened, "claim")
        assert claimed.status_code == 200, claimed.text
        for console in consoles:
            async with asyncio.timeout(15):
                while (update := await console.next_of("case.changed"))["case"]["case_id"] != (
                    opened
                ):
                    pass
            assert update["case"]["owner"] == "ann"
        await outsider.nothing_for(1.0)
