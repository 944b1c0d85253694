"""Calendars: the UTC periods that indicators are counted in.

A :class:`Calendar` is a grain (``day``, ``week`` for ISO weeks, ``month``,
``quarter``, ``year``) and, for quarters and years, the month the fiscal year starts.
A fiscal year is named by the calendar year in which it *ends*: with a July start,
2025-07-01 .. 2026-06-30 is FY2026 and its Q1 is July to September (pandas'
``Q-JUN`` frequency names fiscal years the same way).

>>> import pandas as pd, salesperf
>>> cal = salesperf.Calendar("fiscal_quarter:7")
>>> cal
Calendar('fiscal_quarter:7')
>>> times = pd.to_datetime(["2025-07-01 00:00", "2026-03-14 12:00", "2026-06-30 23:59"], utc=True)
>>> cal.assign(times).tolist()
['FY2026 Q1', 'FY2026 Q3', 'FY2026 Q4']
>>> salesperf.Calendar("week").assign(pd.to_datetime(["2027-01-01"], utc=True)).tolist()
['2026-W53']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from . import _core
from ._columns import _utc_ns
from .errors import InvalidArgumentError, TimezoneError

GRAINS = ("day", "week", "month", "quarter", "year")
_NO_PERIOD = int(_core.NO_PERIOD)


def _times_ns(times: Any) -> npt.NDArray[np.int64]:
    """UTC int64 nanoseconds of tz-aware datetimes or int64 nanoseconds; NaT stays INT64_MIN."""
    if isinstance(times, np.ndarray) and times.dtype == np.int64:
        return np.ascontiguousarray(times)  # no copy when already contiguous
    s = times if isinstance(times, pd.Series) else pd.Series(times)
    dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return np.ascontiguousarray(_utc_ns(s))
    if pd.api.types.is_datetime64_dtype(dtype):
        raise TimezoneError(
            "times are naive datetimes (no time zone), which could mean any zone: "
            "localize them first, e.g. times.dt.tz_localize('UTC')")
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):
            return s.to_numpy(dtype=np.int64, na_value=np.iinfo(np.int64).min)
        return np.ascontiguousarray(s.to_numpy(), dtype=np.int64)
    if len(s) == 0:
        return np.empty(0, dtype=np.int64)
    raise InvalidArgumentError(
        f"times must be tz-aware datetimes or int64 UTC nanoseconds, not {dtype}")


def _instant_ns(value: Any, name: str) -> int:
    if isinstance(value, (int, np.integer)):
        return int(value)
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise TimezoneError(f"{name} must be tz-aware, e.g. pd.Timestamp('2026-01-01', tz='UTC')")
    return int(ts.tz_convert("UTC").as_unit("ns").value)


class Calendar:
    """UTC periods of one grain, with readable labels.

    ``spec`` is ``"day"``, ``"week"`` (ISO 8601 weeks, Monday to Sunday, labelled by
    ISO week-year: ``"2026-W14"``), ``"month"``, ``"quarter"``, ``"year"``, or
    ``"fiscal_quarter:M"`` / ``"fiscal_year:M"`` with ``M`` the month (1..12) the
    fiscal year starts in. Labels: ``"2026-03-14"``, ``"2026-W14"``, ``"2026-03"``,
    ``"2026 Q1"``, ``"FY2026 Q3"``, ``"2026"``, ``"FY2026"``.

    Each period also has an integer index, dense and increasing with time (days since
    1970-01-01, ISO weeks since 1970-W01, months since 1970-01, ...); periods are
    computed with integer arithmetic in C++, without time zone lookups.

    >>> cal = Calendar("fiscal_year:4")
    >>> cal.grain, cal.fiscal_year_start_month, cal.spec
    ('year', 4, 'fiscal_year:4')
    >>> Calendar("fiscal_quarter:1") == Calendar("quarter")
    True
    """

    def __init__(self, spec: str | Calendar = "day") -> None:
        if isinstance(spec, Calendar):
            spec = spec.spec
        if not isinstance(spec, str):
            raise InvalidArgumentError(f"a calendar spec is text such as 'month', not {spec!r}")
        self._core = _core.Calendar(spec)

    @property
    def spec(self) -> str:
        """The spec this calendar is built from, in its shortest form."""
        return self._core.spec

    @property
    def grain(self) -> str:
        """``"day"``, ``"week"``, ``"month"``, ``"quarter"`` or ``"year"``."""
        return self._core.grain

    @property
    def fiscal_year_start_month(self) -> int:
        """The month (1..12) quarters and years start from; 1 for calendar periods."""
        return self._core.fiscal_year_start_month

    def period_index(self, times: Any) -> npt.NDArray[np.int64]:
        """The period index of each time, as int64; ``INT64_MIN`` for NaT.

        ``times`` are tz-aware datetimes (a Series, DatetimeIndex or array) or int64
        UTC nanoseconds (read in place when already a contiguous int64 array).

        >>> Calendar("month").period_index(pd.to_datetime(["1970-02-01", "1969-12-31"], utc=True))
        array([ 1, -1])
        """
        return self._core.period_index(_times_ns(times))

    def labels(self, indices: Any) -> list[str]:
        """The labels of period indices.

        >>> Calendar("quarter").labels([0, -1, 225])
        ['1970 Q1', '1969 Q4', '2026 Q2']
        """
        return self._core.labels(np.asarray(indices, dtype=np.int64))

    def assign(self, times: Any, *, categorical: bool = False) -> pd.Series:
        """The label of each time's period, as a Series (missing for NaT).

        With ``categorical=True`` the Series is an ordered Categorical whose categories
        are every period from the earliest time's to the latest's, in time order, so that
        empty periods appear in ``value_counts`` and ``groupby(..., observed=False)``.
        A Series keeps its index.

        >>> times = pd.Series(pd.to_datetime(["2026-01-05", "2026-03-01", None], utc=True))
        >>> Calendar("month").assign(times).tolist()
        ['2026-01', '2026-03', None]
        >>> Calendar("month").assign(times, categorical=True).value_counts(sort=False).to_dict()
        {'2026-01': 1, '2026-02': 0, '2026-03': 1}
        """
        index = times.index if isinstance(times, pd.Series) else None
        idx = self.period_index(times)
        null = idx == _NO_PERIOD
        valid = idx[~null]
        if valid.size:
            lo, hi = int(valid.min()), int(valid.max())
            categories = self._core.labels(np.arange(lo, hi + 1, dtype=np.int64))
            codes = np.where(null, -1, idx - lo)
        else:
            categories = []
            codes = np.full(idx.shape, -1, dtype=np.int64)
        if categorical:
            values: Any = pd.Categorical.from_codes(
                codes, categories=pd.Index(categories, dtype=object), ordered=True)
        else:
            table = np.array(categories + [None], dtype=object)
            values = table[codes]  # code -1 picks the trailing None
        return pd.Series(values, index=index, dtype="category" if categorical else object,
                         name="period")

    def periods(self, start: Any, end: Any) -> pd.DataFrame:
        """Every period from the one holding ``start`` to the one holding ``end``
        (both included), with its index, label and UTC bounds (``end`` exclusive).

        >>> cal = Calendar("fiscal_quarter:7")
        >>> p = cal.periods(pd.Timestamp("2025-06-15", tz="UTC"), pd.Timestamp("2025-10-01", tz="UTC"))
        >>> p["label"].tolist()
        ['FY2025 Q4', 'FY2026 Q1', 'FY2026 Q2']
        >>> p["start"].iloc[1], p["end"].iloc[1]
        (Timestamp('2025-07-01 00:00:00+0000', tz='UTC'), Timestamp('2025-10-01 00:00:00+0000', tz='UTC'))
        """
        lo_ns, hi_ns = _instant_ns(start, "start"), _instant_ns(end, "end")
        if hi_ns < lo_ns:
            raise InvalidArgumentError(f"periods: end {end} is before start {start}")
        first, last = self._core.period_index(np.array([lo_ns, hi_ns], dtype=np.int64))
        indices = np.arange(first, last + 1, dtype=np.int64)
        return pd.DataFrame({
            "index": indices,
            "label": pd.Series(self._core.labels(indices), dtype=object),
            "start": pd.Series(self._core.period_start(indices).view("datetime64[ns]")).dt.tz_localize("UTC"),
            "end": pd.Series(self._core.period_end(indices).view("datetime64[ns]")).dt.tz_localize("UTC"),
        })

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Calendar):
            return NotImplemented
        return self.spec == other.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    def __reduce__(self) -> tuple[type[Calendar], tuple[str]]:
        return (Calendar, (self.spec,))

    def __repr__(self) -> str:
        return f"Calendar({self.spec!r})"

    def _repr_html_(self) -> str:
        import html

        from .event_log import _html_table

        start = self.fiscal_year_start_month
        month = pd.Timestamp(2000, start, 1).strftime("%B")
        rows = [("spec", self.spec), ("grain", self.grain), ("year starts in", month),
                ("label of period 0", self.labels([0])[0])]
        return f"<div><b>{html.escape(repr(self))}</b>{_html_table(('property', 'value'), rows)}</div>"
