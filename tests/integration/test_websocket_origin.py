"""The console's websocket serves the console's own pages, not any page a browser happens to show.

A real websocket client sends the ``Origin`` a browser would; the notifier runs for real.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.case_support import CaseDesk, running_desk

EVIL = "http://evil.example"


async def signs_in(desk: CaseDesk, token: str, origin: str | None) -> bool:
    """Whether a console from ``origin`` gets its ``hello``; ``False`` if refused with 403."""
    headers = {} if origin is None else {"Origin": origin}
    try:
        async with connect(desk.websocket_url, additional_headers=headers) as socket:
            await socket.send(json.dumps({"type": "auth", "token": token}))
            return bool(json.loads(await socket.recv())["type"] == "hello")
    except InvalidStatus as refused:
        assert refused.response.status_code == 403
        return False


async def test_a_foreign_origin_is_refused_and_the_console_own_accepted(
    case_desk: CaseDesk,
) -> None:
    token = await case_desk.agent("ana")
    port = case_desk.url.rsplit(":", 1)[1]
    assert await signs_in(case_desk, token, case_desk.url)  # the console's own page
    assert await signs_in(case_desk, token, None)  # no browser: a CRM, a script
    for foreign in (
        EVIL,
        "null",  # a sandboxed frame or a file
        f"http://localhost:{port}",  # same machine, another origin
        f"{case_desk.url}.evil.example",
        "https://evil.example:443",
    ):
        assert not await signs_in(case_desk, token, foreign), foreign


async def test_allowed_origins_are_configured(infra_env: dict[str, Any]) -> None:
    console = "https://console.example.com"
    async with running_desk(infra_env, allowed_origins=[console]) as desk:
        token = await desk.agent("ana")
        assert await signs_in(desk, token, console)
        assert await signs_in(desk, token, desk.url)
        assert not await signs_in(desk, token, EVIL)


def test_allowed_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from winback_notifier.settings import NotifierSettings

    monkeypatch.setenv("WINBACK_ALLOWED_ORIGINS", '["https://a.example", "https://b.example"]')
    assert NotifierSettings().allowed_origins == ["https://a.example", "https://b.example"]
