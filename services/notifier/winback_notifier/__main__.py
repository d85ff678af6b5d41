"""``python -m winback_notifier``: serve the console, the websocket and the case API."""

from __future__ import annotations

from winback_notifier.app import create_app
from winback_notifier.settings import NotifierSettings
from winback_shared.logs import configure_logging
from winback_shared.serve import serve_forever


def main() -> None:
    """Read settings from the environment and run until SIGTERM/SIGINT."""
    settings = NotifierSettings()
    configure_logging(settings.log_level, repeat_seconds=settings.log_repeat_seconds)
    # Uncompressed frames: each is sent to every console, compressing it per console cost
    # more CPU than the frame itself (docs/performance.md, "A thousand consoles").
    app = create_app(settings)
    serve_forever(app, websocket_compression=False, service="notifier", default_port=8002)


if __name__ == "__main__":
    main()
