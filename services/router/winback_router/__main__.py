"""``python -m winback_router``: run the consumer with its health endpoints."""

from __future__ import annotations

import sys

from winback_router.app import create_app
from winback_router.settings import RouterSettings
from winback_shared.logs import configure_logging
from winback_shared.serve import serve_forever


def main() -> None:
    """Read settings from the environment and run until SIGTERM/SIGINT."""
    settings = RouterSettings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    serve_forever(app, service="router", default_port=8001)
    loops = getattr(app.state, "loops", None)
    if loops is not None and loops.error is not None:
        sys.exit(f"router stopped: {loops.error}")


if __name__ == "__main__":
    main()
