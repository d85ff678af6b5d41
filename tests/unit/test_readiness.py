"""``/readyz`` names the dependencies that are down, so an outage is read there, not in logs."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from winback_shared.health import health_router


async def ready(checks: dict[str, bool]) -> httpx.Response:
    async def readiness() -> dict[str, bool]:
        return checks

    app = FastAPI()
    app.include_router(health_router(readiness))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/readyz")


async def test_ready_when_every_dependency_answers() -> None:
    answer = await ready({"database": True, "kafka": True})
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ready",
        "checks": {"database": True, "kafka": True},
        "down": [],
    }


async def test_not_ready_names_what_is_down() -> None:
    answer = await ready({"database": True, "kafka": False, "alerts_feed": False})
    assert answer.status_code == 503
    assert answer.json()["status"] == "not_ready"
    assert answer.json()["down"] == ["kafka", "alerts_feed"]
