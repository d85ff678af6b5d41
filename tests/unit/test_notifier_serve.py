"""The notifier serves its consoles' websocket without per-message compression.

Each live frame goes to every console; with permessage-deflate uvicorn compresses it again for
each of them (and keeps a compressor per connection), which cost more CPU than sending it.
"""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn

from winback_notifier import __main__ as notifier_main
from winback_notifier.app import create_app
from winback_notifier.settings import NotifierSettings
from winback_shared.serve import serve_forever


def test_the_notifier_refuses_websocket_compression(monkeypatch: pytest.MonkeyPatch) -> None:
    given: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda _app, **options: given.update(options))
    monkeypatch.setattr(notifier_main, "configure_logging", lambda *_args, **_kwargs: None)

    notifier_main.main()

    assert given["ws_per_message_deflate"] is False


def test_other_services_keep_uvicorn_s_default(monkeypatch: pytest.MonkeyPatch) -> None:
    given: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda _app, **options: given.update(options))

    serve_forever(create_app(NotifierSettings()), service="x", default_port=0)

    assert given["ws_per_message_deflate"] is True
