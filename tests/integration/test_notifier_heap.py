"""The notifier freezes its start-up heap while it serves and unfreezes it when it stops."""

from __future__ import annotations

import gc
from typing import Any

from winback_notifier.app import create_app
from winback_notifier.settings import NotifierSettings


async def test_the_start_up_heap_is_frozen_while_the_notifier_serves(
    infra_env: dict[str, Any],
) -> None:
    app = create_app(NotifierSettings(**infra_env))
    assert gc.get_freeze_count() == 0
    async with app.router.lifespan_context(app):
        frozen = gc.get_freeze_count()
        routes_collectable = any(o is app.router.routes for o in gc.get_objects())
    assert frozen > 0 and not routes_collectable  # built at start-up: out of every pass
    assert gc.get_freeze_count() == 0
