"""Health endpoints every service exposes: ``/healthz`` (alive) and ``/readyz`` (can work)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from winback_shared.transient import is_transient

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]


def health_router(readiness: ReadinessCheck) -> APIRouter:
    """Routes for liveness and readiness; ``readiness`` names each dependency and its state."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def read_health() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def read_readiness() -> JSONResponse:
        """Ready: every dependency answers. ``down`` names those that do not (during an
        outage the logs say it once, then count: this is where to look meanwhile)."""
        checks = await readiness()
        down = [name for name, ok in checks.items() if not ok]
        return JSONResponse(
            {"status": "not_ready" if down else "ready", "checks": checks, "down": down},
            status_code=503 if down else 200,
        )

    return router


async def database_answers(pool: asyncpg.Pool) -> bool:
    """Readiness probe for a pool: does ``SELECT 1`` succeed quickly?

    An outage (:mod:`winback_shared.transient`) answers ``False``; anything else (a refused
    password, a closed pool) is raised, so ``/readyz`` fails with the error in the logs.
    """
    try:
        async with asyncio.timeout(2):
            return bool(await pool.fetchval("SELECT 1") == 1)
    except Exception as exc:
        if not is_transient(exc):
            raise
        return False
