"""``python -m winback_notifier``: serve the console, the websocket and the case API."""

from __future__ import annotations

import sys

from winback_notifier.app import create_app
from winback_notifier.settings import NotifierSettings
from winback_shared.logs import configure_logging
from winback_shared.serve import serve_forever


def main() -> None:
    """Read settings from the environment and run until SIGTERM/SIGINT."""
    settings = NotifierSettings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    serve_forever(app, service="notifier", default_port=8002)
    loops = getattr(app.state, "loops", None)
    if loops is not None and loops.error is not None:
        sys.exit(f"notifier stopped: {loops.error}")


if __name__ == "__main__":
    main()
