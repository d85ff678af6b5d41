"""A service's background loops: one that dies must not leave a healthy-looking process.

Each loop retries the transient errors it meets (:func:`winback_shared.transient.is_transient`,
logged as warnings; the notifier's alert feed leaves that to aiokafka's consumer) and raises
anything else. A loop that raised is a bug or a state nobody foresaw, so the watch logs it at
error with its traceback, remembers it (readiness reports it) and, by default, asks the process
to stop: uvicorn shuts down gracefully and :func:`winback_shared.serve.serve_forever` exits
non-zero, so the orchestrator restarts the process and the restarts show where an operator
looks. Retrying such an error in place was the alternative, and what the SLA timers used to do:
it keeps a notifier that fires no timer (or sends no outbox row) answering "ready", with the
bug visible only as a line repeating in its logs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Coroutine
from typing import Any

LoopFailure = Callable[[BaseException], None]
"""What to do once a loop died (after it was logged); tests pass ``list.append``."""


def stop_process(error: BaseException) -> None:
    """Ask uvicorn to shut down, as SIGTERM from an orchestrator would."""
    os.kill(os.getpid(), signal.SIGTERM)


class LoopWatch:
    """Starts a service's loops as tasks and reports the first that ends with an error."""

    def __init__(self, log: logging.Logger, on_failure: LoopFailure = stop_process) -> None:
        self._log = log
        self._on_failure = on_failure
        self.tasks: list[asyncio.Task[None]] = []
        self.error: BaseException | None = None
        """The error that ended a loop first, if one did (for readiness and the exit code)."""

    def start(self, loop: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]:
        """Run ``loop`` as a task named ``name``, watched from now on."""
        task = asyncio.create_task(loop, name=name)
        task.add_done_callback(self._ended)
        self.tasks.append(task)
        return task

    async def cancel(self) -> None:
        """Cancel every loop and wait until they ended; an error that ended one was reported."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    @property
    def all_running(self) -> bool:
        """``False`` once any loop died of an error (a cancelled loop did not die)."""
        return self.error is None

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            return
        if self.error is None:
            self.error = error
        self._log.error("%s stopped: %s", task.get_name(), error, exc_info=error)
        self._on_failure(error)
