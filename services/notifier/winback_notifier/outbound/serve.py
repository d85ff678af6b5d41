"""Running the outbound process under uvicorn (port 8004 by default, ``WINBACK_OUTBOUND_PORT``)."""

from __future__ import annotations

from winback_notifier.outbound.app import create_app
from winback_notifier.outbound.settings import OutboundSettings
from winback_shared.logs import configure_logging
from winback_shared.serve import serve_forever


def serve() -> None:
    """Read settings from the environment and run until SIGTERM/SIGINT."""
    settings = OutboundSettings()
    configure_logging(settings.log_level, repeat_seconds=settings.log_repeat_seconds)
    serve_forever(create_app(settings), service="outbound", default_port=8004)
