"""``python -m winback_ingest``: serve the webhook endpoint."""

from __future__ import annotations

import os

import uvicorn

from winback_ingest.app import create_app
from winback_ingest.settings import IngestSettings
from winback_shared.logs import configure_logging


def main() -> None:
    """Read settings from the environment and serve until SIGTERM/SIGINT."""
    settings = IngestSettings()
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=os.environ.get("WINBACK_INGEST_HOST", "127.0.0.1"),
        port=int(os.environ.get("WINBACK_INGEST_PORT", "8000")),
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
