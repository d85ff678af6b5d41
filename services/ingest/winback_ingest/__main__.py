"""``python -m winback_ingest``: serve the webhook endpoint."""

from __future__ import annotations

from winback_ingest.app import create_app
from winback_ingest.settings import IngestSettings
from winback_shared.logs import configure_logging
from winback_shared.serve import serve_forever


def main() -> None:
    """Read settings from the environment and run until SIGTERM/SIGINT."""
    settings = IngestSettings()
    configure_logging(settings.log_level, repeat_seconds=settings.log_repeat_seconds)
    app = create_app(settings)
    keep_alive = settings.http_keep_alive_seconds
    serve_forever(app, keep_alive_seconds=keep_alive, service="ingest", default_port=8000)


if __name__ == "__main__":
    main()
