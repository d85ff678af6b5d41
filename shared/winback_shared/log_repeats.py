"""Quiet logs under failure: a warning or error that repeats is logged once, then counted.

During an outage every loop retries and every retry fails the same way: one 15 s broker outage
wrote ~2,400 warning and error lines, the same connection error over and over, from our loops
and from aiokafka's. An operator needs the first line (what broke, when), how often it went on
happening, and the first line that says something else; readiness (``/readyz``) says which
dependency is down meanwhile.

:class:`RepeatFilter` sits on the log handler, so it sees every logger's records (ours,
aiokafka's, asyncpg's, uvicorn's). Records of level WARNING and above are grouped by logger,
level, message template (``record.msg``, before its ``%`` arguments) and error kind (the class
of the exception logged, or named in the ``error`` field our loops pass); the first of a group
passes, the others within ``window`` seconds are only counted. Once the window is over, the
count comes out as one line, ``"<message> (repeated N times in S s)"`` with a ``repeated``
field, at the next record of any kind or when logging shuts down; a group that goes on repeating
is so logged once per window. INFO and below pass untouched.

Grouping by template rather than by the final text is the point: aiokafka's "Unable connect to
node with id 1: [Errno 111] ..." differs only in its arguments from one retry to the next.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

DEFAULT_WINDOW_SECONDS = 30.0

GroupKey = tuple[str, int, str, str]


@dataclass
class _Run:
    """One group's current window: when it began, its first record, what it suppressed."""

    started: float
    first: logging.LogRecord
    repeats: int = 0


def _error_kind(record: logging.LogRecord) -> str:
    """The class of the error a record reports: from ``exc_info``, or the ``error`` field's
    ``repr`` (``"KafkaConnectionError('...')"`` gives ``KafkaConnectionError``)."""
    if record.exc_info and record.exc_info[0] is not None:
        return record.exc_info[0].__name__
    fields = getattr(record, "fields", None)
    if isinstance(fields, dict) and isinstance(fields.get("error"), str):
        return str(fields["error"]).split("(", 1)[0]
    return ""


def group_of(record: logging.LogRecord) -> GroupKey:
    """Which records count as repeats of each other."""
    return (record.name, record.levelno, str(record.msg), _error_kind(record))


class RepeatFilter(logging.Filter):
    """Passes the first warning of a group per window; counts and later reports the rest.

    ``emit`` writes a summary record (the handler's ``handle``; summaries are marked so this
    filter lets them through). ``clock`` is injectable so tests need no sleeping.
    """

    def __init__(
        self,
        emit: Callable[[logging.LogRecord], object],
        *,
        window: float = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._emit = emit
        self._window = window
        self._clock = clock
        self._runs: dict[GroupKey, _Run] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is written now."""
        if getattr(record, "repeat_summary", False):
            return True
        now = self._clock()
        self._report_finished(now)
        if record.levelno < logging.WARNING:
            return True
        key = group_of(record)
        run = self._runs.get(key)
        if run is None:
            self._runs[key] = _Run(started=now, first=record)
            return True
        run.repeats += 1
        return False

    def flush(self) -> None:
        """Report every group's repeats so far (at shutdown)."""
        self._report_finished(None)

    def _report_finished(self, now: float | None) -> None:
        """Report and forget the groups whose window is over (all of them with ``None``)."""
        over = [
            key
            for key, run in self._runs.items()
            if now is None or now - run.started >= self._window
        ]
        for key in over:
            run = self._runs.pop(key)
            if run.repeats:
                elapsed = (now if now is not None else self._clock()) - run.started
                self._emit(_summary(run, elapsed))


def _summary(run: _Run, elapsed: float) -> logging.LogRecord:
    """One record standing for a run's repeats: the first one's words, level and fields."""
    first = run.first
    summary = logging.makeLogRecord(first.__dict__)
    summary.msg = f"{first.getMessage()} (repeated {run.repeats} times in {elapsed:.0f} s)"
    summary.args = None
    summary.exc_info = None
    summary.exc_text = None
    summary.created = time.time()
    fields = getattr(first, "fields", None)
    summary.fields = {**(fields if isinstance(fields, dict) else {}), "repeated": run.repeats}
    summary.repeat_summary = True
    return summary


class CollapsingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler with a :class:`RepeatFilter`, whose repeats it reports on close."""

    def __init__(
        self, stream: TextIO | None = None, window: float = DEFAULT_WINDOW_SECONDS
    ) -> None:
        super().__init__(stream)
        self.repeats = RepeatFilter(self.handle, window=window)
        self.addFilter(self.repeats)

    def close(self) -> None:
        """Write what was still being counted, then close."""
        self.repeats.flush()
        super().close()
