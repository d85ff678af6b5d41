"""The floor gauges on a running notifier: open, at-risk and breached cases per queue from
PostgreSQL, and consoles per queue from the hub, as the alert rules read them on ``/metrics``."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.case_support import CaseDesk, running_desk
from tests.support import eventually
from winback_shared.agents import Role


async def gauges(desk: CaseDesk) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = await desk.http.get(f"{desk.url}/metrics")
    assert answer.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
        if sample.name.startswith(
            (
                "winback_notifier_open_cases",
                "winback_notifier_cases_",
                "winback_notifier_queue_consoles",
            )
        )
    }


def key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


async def test_gauges_count_the_floor_and_the_consoles_watching_each_queue(
    infra_env: dict[str, Any],
) -> None:
    async with running_desk(infra_env, floor_gauges_interval_seconds=0.2) as desk:
        ana = await desk.agent("ana", queues=["billing"])
        sue = await desk.agent("sue", Role.SUPERVISOR, queues=[])
        await desk.agent("bo", queues=["vip"])  # a queue with no cases and nobody online
        warned = await desk.case(priority=1)
        breached = await desk.case(priority=1)
        await desk.case(priority=2, queue="billing")
        tried = await desk.case(priority=1)
        done = await desk.case(priority=1)
        await desk.pool.execute(
            "UPDATE recovery_cases SET sla_warned_at = now() WHERE id = ANY($1::bigint[])",
            [warned, breached, tried],
        )
        await desk.pool.execute(
            "UPDATE recovery_cases SET sla_breached_at = now() WHERE id = ANY($1::bigint[])",
            [breached, tried],
        )
        await desk.pool.execute(
            "UPDATE recovery_cases SET first_attempt_at = now() WHERE id = $1", tried
        )
        await desk.pool.execute("UPDATE recovery_cases SET status = 'resolved' WHERE id = $1", done)

        async with desk.console(ana):
            expected = {
                key("winback_notifier_open_cases", queue="default", priority="1"): 3.0,
                key("winback_notifier_open_cases", queue="default", priority="2"): 0.0,
                key("winback_notifier_open_cases", queue="billing", priority="2"): 1.0,
                key("winback_notifier_open_cases", queue="vip", priority="1"): 0.0,
                key("winback_notifier_cases_at_risk", queue="default"): 1.0,
                key("winback_notifier_cases_breached", queue="default"): 1.0,
                key("winback_notifier_cases_breached", queue="billing"): 0.0,
                key("winback_notifier_queue_consoles", queue="billing"): 1.0,
                key("winback_notifier_queue_consoles", queue="default"): 0.0,
                key("winback_notifier_queue_consoles", queue="vip"): 0.0,
            }

            async def settled() -> bool:
                now = await gauges(desk)
                return all(now.get(k) == v for k, v in expected.items())

            assert await eventually(settled), await gauges(desk)

            async with desk.console(sue):  # a supervisor's console shows every queue

                async def everyone_watched() -> bool:
                    now = await gauges(desk)
                    return all(
                        now.get(key("winback_notifier_queue_consoles", queue=q)) == n
                        for q, n in {"billing": 2.0, "default": 1.0, "vip": 1.0}.items()
                    )

                assert await eventually(everyone_watched), await gauges(desk)
