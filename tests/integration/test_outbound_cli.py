"""The outbound CLI as an operator runs it (a subprocess, the notifier's role): subscribe,
list, rotate, dead letters and replay."""

from __future__ import annotations

import asyncpg
import pytest

from tests.outbound_support import CLI_RUN_SECONDS, breach, outbound
from tests.role_support import NOTIFIER, as_role, migrate_as_owner
from winback_notifier.outbound import store
from winback_shared.db import create_pool


@pytest.mark.timeout(9 * CLI_RUN_SECONDS)  # nine CLI processes, one after the other
async def test_an_operator_manages_subscriptions_from_the_shell(schema_url: str) -> None:
    await migrate_as_owner(schema_url)
    url = as_role(schema_url, NOTIFIER)
    code, out = await outbound(
        url,
        "subscribe",
        "crm",
        "--channel",
        "webhook",
        "--url",
        "https://crm.example.com/h",
        "--event",
        "case.breached",
        "--queue",
        "billing",
    )
    assert code == 0 and "secret (shown once" in out and "whsec_" in out, out
    code, out = await outbound(
        url,
        "subscribe",
        "x",
        "--channel",
        "slack",
        "--url",
        "http://example.com/h",
        "--event",
        "case.opened",
    )
    assert code == 1 and "plain http is refused" in out, out
    code, out = await outbound(
        url,
        "subscribe",
        "meta",
        "--channel",
        "webhook",
        "--url",
        "https://169.254.169.254/latest/meta-data/",
        "--event",
        "case.opened",
    )
    assert code == 1 and "169.254.169.254 is a link-local" in out, out
    code, out = await outbound(
        url,
        "subscribe",
        "pd",
        "--channel",
        "pagerduty",
        "--url",
        "https://events.pagerduty.com/v2/enqueue",
        "--event",
        "case.recoded",
        "--credential",
        "key",
    )
    assert code == 1 and "PagerDuty pages no case.recoded" in out, out

    code, out = await outbound(url, "rotate-secret", "crm")
    assert code == 0 and "new secret" in out
    code, out = await outbound(url, "list")
    assert "crm (webhook, enabled) https://crm.example.com/h" in out and "secrets: 2" in out
    assert "whsec_" not in out

    pool: asyncpg.Pool = await create_pool(url, min_size=1, max_size=1)
    try:
        await store.record(pool, [breach(queue="billing")])
        await pool.execute(
            "UPDATE outbound_deliveries SET status = 'dead', last_error = 'HTTP 500'"
        )
        code, out = await outbound(url, "deliveries", "crm", "--status", "dead")
        assert code == 0 and "dead, 0 attempts, last: HTTP 500" in out, out
        code, out = await outbound(url, "replay", "crm")
        assert code == 0 and "1 dead deliveries queued again" in out
        assert [row.status for row in await store.list_deliveries(pool, "crm")] == ["pending"]
    finally:
        await pool.close()
    code, out = await outbound(url, "delete", "nope")
    assert code == 1 and "there is no subscription 'nope'" in out
