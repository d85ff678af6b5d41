"""``python -m winback_notifier``: serve the console, the websocket and the case API."""

from __future__ import annotations

import os

import uvicorn

from winback_notifier.app import create_app
from winback_notifier.settings import NotifierSettings
from winback_shared.logs import configure_logging


def main() -> None:
    """Read settings from the environment and serve until SIGTERM/SIGINT."""
    settings = NotifierSettings()
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=os.environ.get("WINBACK_NOTIFIER_HOST", "127.0.0.1"),
        port=int(os.environ.get("WINBACK_NOTIFIER_PORT", "8002")),
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
