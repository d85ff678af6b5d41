"""``python -m winback_router.refine``: refine the router's fast codes with the full model."""

from __future__ import annotations

import os

from winback_router.refine.app import create_app
from winback_router.settings import RouterSettings
from winback_shared.logs import configure_logging
from winback_shared.serve import serve_forever


def main() -> None:
    """Read the router's settings from the environment and run until SIGTERM/SIGINT, niced so
    the hot path on the same machine gets the CPU first."""
    settings = RouterSettings()
    configure_logging(settings.log_level, repeat_seconds=settings.log_repeat_seconds)
    os.nice(settings.refine_nice)
    serve_forever(create_app(settings), service="refiner", default_port=8003)


if __name__ == "__main__":
    main()
