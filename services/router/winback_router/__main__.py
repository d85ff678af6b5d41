"""``python -m winback_router``: run the consumer with its health endpoints."""

from __future__ import annotations

from winback_router.app import create_app
from winback_router.settings import RouterSettings
from winback_shared.logs import configure_logging
from winback_shared.serve import serve_forever


def main() -> None:
    """Read settings from the environment and run until SIGTERM/SIGINT."""
    settings = RouterSettings()
    configure_logging(settings.log_level, repeat_seconds=settings.log_repeat_seconds)
    serve_forever(create_app(settings), service="router", default_port=8001)


if __name__ == "__main__":
    main()
