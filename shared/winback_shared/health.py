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
        """Ready: every dependency answers."""
        checks = await readiness()
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
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
