"""Statistics for leading-indicator reports, computed by the C++ core (salesperf/stats.h).

- :func:`wilson_interval`: a stage conversion ratio with an interval that stays honest
  for small counts and for 0% or 100%.
- :func:`two_proportion_test`: did the conversion change from one period to the next,
  or is the difference within what chance gives?
- :func:`trend_slope`: is a leading indicator rising or falling over the last N
  periods, and by how much per period?
- :func:`kaplan_meier` and :func:`km_quantile`: time in stage or cycle time (median,
  p90) when many deals are still open: open deals count as right-censored.

>>> from salesperf import stats
>>> r = stats.wilson_interval(7, 20)
>>> r.estimate, round(r.lower, 4), round(r.upper, 4)
(0.35, 0.1812, 0.5671)
>>> t = stats.two_proportion_test(7, 20, 15, 25)
>>> round(t.difference, 2), round(t.p_value, 3)
(0.25, 0.095)
>>> s = stats.trend_slope([12, 15, float("nan"), 19, 22])
>>> round(s.slope, 6), s.n
(2.4, 4)
>>> stats.km_quantile([3, 5, 5, 8], [True, True, False, True], q=0.5)
5
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from . import _core

__all__ = [
    "Interval",
    "ProportionTest",
    "Trend",
    "kaplan_meier",
    "km_quantile",
    "trend_slope",
    "two_proportion_test",
    "wilson_interval",
]


class Interval(NamedTuple):
    """A point estimate with a two-sided confidence interval."""

    estimate: float
    lower: float
    upper: float


class ProportionTest(NamedTuple):
    """A two-sided test of p1 == p2; ``difference`` and ``z`` are positive when p2 > p1."""

    difference: float
    z: float
    p_value: float


class Trend(NamedTuple):
    """A least-squares slope per period with its interval, over ``n`` periods."""

    slope: float
    lower: float
    upper: float
    n: int


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """The conversion ratio ``successes / trials`` with its Wilson score interval.

    With p = x/n and z the two-sided normal critical value, the interval is
    ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``. It never leaves
    [0, 1] and is not empty at 0% or 100%, unlike the plain normal interval.
    ``trials == 0`` gives a NaN estimate and the interval [0, 1].

    Raises :class:`~salesperf.errors.InvalidArgumentError` for negative counts,
    ``successes > trials`` or a confidence outside (0, 1).

    >>> wilson_interval(0, 10).lower, round(wilson_interval(0, 10).upper, 4)
    (0.0, 0.2775)
    """
    return Interval(*_core.wilson(int(successes), int(trials), float(confidence)))


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> ProportionTest:
    """Pooled two-proportion z test of period 1 (x1 of n1) against period 2 (x2 of n2).

    ``difference = x2/n2 - x1/n1``; ``z`` divides it by the pooled standard error
    ``sqrt(p(1-p)(1/n1 + 1/n2))`` with ``p = (x1+x2)/(n1+n2)``; the p-value is
    two-sided. When n1 or n2 is 0 every field is NaN; when both periods are at 0%
    (or both at 100%) the result is ``(0, 0, 1)``: no evidence of a change.

    >>> two_proportion_test(0, 10, 0, 30)
    ProportionTest(difference=0.0, z=0.0, p_value=1.0)
    """
    return ProportionTest(*_core.two_proportion_test(int(x1), int(n1), int(x2), int(n2)))


def trend_slope(y: npt.ArrayLike | pd.Series, confidence: float = 0.95) -> Trend:
    """Ordinary least-squares slope of ``y`` over the periods 0, 1, ..., len(y)-1.

    Missing values (NaN, ``None``, ``pd.NA``) are skipped and the other periods keep
    their positions. The interval is ``slope ± t(n-2)·se`` with Student's t. With
    fewer than 3 values the interval is NaN (with fewer than 2 the slope too).

    >>> trend_slope([2.0, 5.0, 8.0, 11.0])
    Trend(slope=3.0, lower=3.0, upper=3.0, n=4)
    """
    if isinstance(y, pd.Series):
        values = y.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = np.asarray(pd.array(np.asarray(y, dtype=object).ravel(), dtype="Float64")
                            .to_numpy(dtype=np.float64, na_value=np.nan))
    slope, lower, upper, n = _core.trend_slope(values, float(confidence))
    return Trend(slope, lower, upper, n)


def _durations(durations: npt.ArrayLike | pd.Series) -> npt.NDArray[np.int64]:
    values = np.asarray(durations)
    if values.dtype.kind == "m":  # timedelta64: NaT becomes int64 min and is refused
        return values.astype("timedelta64[ns]").view(np.int64)
    if values.dtype.kind not in "iu" and values.size:
        raise TypeError(f"durations must be integer nanoseconds or timedeltas, got {values.dtype}")
    return values.astype(np.int64, copy=False)


def _observed(observed: npt.ArrayLike | pd.Series) -> npt.NDArray[Any]:
    values = np.asarray(observed)
    if values.size == 0:
        return values.astype(np.uint8)
    return values


def kaplan_meier(
    durations: npt.ArrayLike | pd.Series, observed: npt.ArrayLike | pd.Series
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The Kaplan–Meier survival curve: ``(times, survival)``.

    ``durations`` are int64 nanoseconds (or timedeltas, converted to ns); ``observed``
    is True (or 1) where the deal left the stage at that duration and False (0) where
    it is still open (right-censored). ``times`` are the distinct event times,
    ascending, and ``survival[i]`` is S just after ``times[i]``. At a tie, events
    come before censorings: a deal censored at t is still at risk at t.

    >>> times, s = kaplan_meier([3, 5, 5, 8], [1, 1, 0, 1])
    >>> times.tolist(), s.tolist()
    ([3, 5, 8], [0.75, 0.5, 0.0])
    """
    return _core.kaplan_meier(_durations(durations), _observed(observed))


def km_quantile(
    durations: npt.ArrayLike | pd.Series, observed: npt.ArrayLike | pd.Series, q: float
) -> int | None:
    """The smallest event time t with S(t) <= 1 - q (q=0.5 the median, q=0.9 the p90).

    ``None`` when the curve never gets that low: too many deals are still open to
    say ("not reached"). Same inputs as :func:`kaplan_meier`; the result is in the
    durations' unit (nanoseconds for timedeltas).

    >>> km_quantile([3, 5, 5, 8], [1, 1, 0, 0], q=0.9) is None
    True
    """
    return _core.km_quantile(_durations(durations), _observed(observed), float(q))
