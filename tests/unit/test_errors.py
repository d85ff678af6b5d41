"""The shared error handlers: a value PostgreSQL cannot hold is the caller's 422, not our 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from winback_shared.errors import install_error_handlers

RAISED: dict[str, Exception] = {
    "nul-text": asyncpg.CharacterNotInRepertoireError(
        'invalid byte sequence for encoding "UTF8": 0x00'
    ),
    "nul-json": asyncpg.UntranslatableCharacterError("unsupported Unicode escape sequence"),
    "huge-int": asyncpg.DataError(
        "invalid input for query argument $1: 9223372036854775808 (value out of int64 range)"
    ),
    "our-bug": asyncpg.DivisionByZeroError("division by zero"),
    "our-data": asyncpg.DataError("something else went wrong with data"),
}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/raise/{what}")
    async def raise_it(what: str) -> None:
        raise RAISED[what]

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.mark.parametrize(
    ("what", "status", "code"),
    [
        ("nul-text", 422, "invalid_text"),
        ("nul-json", 422, "invalid_text"),
        ("huge-int", 422, "invalid_value"),
    ],
)
async def test_a_value_the_database_cannot_hold_is_refused_with_422(
    http: httpx.AsyncClient, what: str, status: int, code: str
) -> None:
    answer = await http.get(f"/raise/{what}")
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert "9223372036854775808" not in answer.text  # the message never echoes the value


@pytest.mark.parametrize("what", ["our-bug", "our-data"])
async def test_other_data_errors_stay_500s(http: httpx.AsyncClient, what: str) -> None:
    assert (await http.get(f"/raise/{what}")).status_code == 500
