"""Which month partitions are past their retention: pure, so it is tested without a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class MonthPartition:
    """One month partition of a table: its rows' partition key lies in ``[starts, ends)``."""

    table: str
    name: str
    starts: datetime
    ends: datetime


def month_start(moment: datetime, months_back: int = 0) -> datetime:
    """The first instant (UTC) of ``moment``'s month, ``months_back`` months earlier."""
    utc = moment.astimezone(UTC)
    index = utc.year * 12 + (utc.month - 1) - months_back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def retention_cut(now: datetime, keep_months: int) -> datetime:
    """Rows before this instant are past retention: the current month is kept whole, and the
    ``keep_months`` full months before it."""
    if keep_months < 1:
        raise ValueError("keep_months must be at least 1: the current month is never removed")
    return month_start(now, keep_months)


def expired(
    partitions: list[MonthPartition], now: datetime, keep_months: int
) -> list[MonthPartition]:
    """The partitions wholly before the cut, oldest first."""
    cut = retention_cut(now, keep_months)
    return sorted((p for p in partitions if p.ends <= cut), key=lambda p: p.starts)
