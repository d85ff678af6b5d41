"""``python -m winback_router``: run the consumer with its health endpoints."""

from __future__ import annotations

import os

import uvicorn

from winback_router.app import create_app
from winback_router.settings import RouterSettings
from winback_shared.logs import configure_logging


def main() -> None:
    """Read settings from the environment and route until SIGTERM/SIGINT."""
    settings = RouterSettings()
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=os.environ.get("WINBACK_ROUTER_HOST", "127.0.0.1"),
        port=int(os.environ.get("WINBACK_ROUTER_PORT", "8001")),
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
