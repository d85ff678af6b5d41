"""How sure a figure is: intervals for rates and means (pure).

A recovered rate of 3 out of 4 is not a finding; the interval says so. Rates get the Wilson
score interval (it stays inside 0-1 and is honest for small counts and rates near 0 or 1, where
the textbook ``p +- 1.96 sqrt(p(1-p)/n)`` collapses to a point); means get Student's t interval
(normal quantile from 30 observations on, a table below that).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel

Z95 = 1.959964
# Student's t, two-sided 95 %, for 1 to 29 degrees of freedom (printed tables, 3 decimals).
T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045,
)  # fmt: skip


class Rate(BaseModel):
    """``hits`` of ``n``, with its 95 % Wilson interval (all ``None`` when ``n`` is 0)."""

    hits: int
    n: int
    rate: float | None
    low: float | None
    high: float | None


class Mean(BaseModel):
    """A mean of ``n`` values with its 95 % t interval (``None`` where undefined)."""

    n: int
    mean: float | None
    low: float | None
    high: float | None


def wilson(hits: int, n: int, z: float = Z95) -> Rate:
    """The Wilson score interval for ``hits`` successes out of ``n``."""
    if not 0 <= hits <= n:
        raise ValueError("hits must lie between 0 and n")
    if n == 0:
        return Rate(hits=0, n=0, rate=None, low=None, high=None)
    p = hits / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Rate(
        hits=hits,
        n=n,
        rate=round(p, 4),
        low=round(max(0.0, centre - half), 4),
        high=round(min(1.0, centre + half), 4),
    )


def t_quantile(degrees: int) -> float:
    """Two-sided 95 % quantile of Student's t."""
    if degrees < 1:
        raise ValueError("at least one degree of freedom")
    return T95[degrees - 1] if degrees < 30 else Z95


def mean_interval(values: Sequence[float]) -> Mean:
    """The mean and its 95 % interval (none for a single value: no spread to judge by)."""
    n = len(values)
    if n == 0:
        return Mean(n=0, mean=None, low=None, high=None)
    mean = sum(values) / n
    if n == 1:
        return Mean(n=1, mean=round(mean, 4), low=None, high=None)
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = t_quantile(n - 1) * math.sqrt(variance / n)
    return Mean(n=n, mean=round(mean, 4), low=round(mean - half, 4), high=round(mean + half, 4))
