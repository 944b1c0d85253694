"""Leading indicators: occurrences plus dollars, conversion, time in stage, buyer
response, pipeline flow and velocity, per unit (rep, team, segment, ...) and period.

"Measure the number of occurrences *plus* dollars in the door; use conversion ratios;
measure the same thing the same way every time; watch for trends." Every figure is
defined once, in ``docs/indicators.md`` (and the C++ header ``salesperf/indicators.h``).

>>> import salesperf
>>> company = salesperf.synth.company(events=20_000, seed=7)
>>> log = company.event_log()
>>> timelines = company.stage_model().run(log)
>>> ind = salesperf.indicators(log, timelines, by="rep", period="quarter")
>>> ind
Indicators(by rep, quarter: 24 units, ... cells; as of ...)
>>> t = ind.table()
>>> list(t.columns)
['unit', 'period', 'indicator', 'value', 'lower', 'upper', 'n', 'previous', 'p_change', 'immature']
>>> row = t[(t.unit == "rep-01") & (t.period == "all") & (t.indicator == "win_rate")].iloc[0]
>>> bool(row.lower <= row.value <= row.upper)
True

An accumulator can be merged with one computed on other deals (another process, a
nightly batch of new deals, a cluster partition), regrouped into teams, and saved:

>>> teams = company.reps["team"]
>>> by_team = ind.rollup(teams, kind="team")
>>> sorted(by_team.units)
['team-1', 'team-2', 'team-3', 'team-4']
>>> salesperf.Indicators.from_bytes(ind.to_bytes()) == ind
True
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._columns import duration_ns
from .calendar import Calendar
from ._state import MergeableState
from .errors import InvalidArgumentError
from .event_log import EventLog
from .stages import Timelines

TABLE_COLUMNS = ("unit", "period", "indicator", "value", "lower", "upper", "n",
                 "previous", "p_change", "immature")


def _unique_mapping(mapping: Mapping[Any, Any] | pd.Series, where: str, key: str) -> pd.Series:
    """A Series from a mapping; a key listed twice with different labels is an error
    (listed twice with the same label is fine), never silently resolved."""
    m = mapping if isinstance(mapping, pd.Series) else pd.Series(dict(mapping), dtype=object)
    if m.index.has_duplicates:
        dup = m.groupby(level=0).nunique(dropna=False)
        conflicting = dup[dup > 1]
        if len(conflicting):
            raise InvalidArgumentError(
                f"{where}: {key} {conflicting.index[0]!r} is given {int(conflicting.iloc[0])} different labels")
        m = m[~m.index.duplicated()]
    return m


def _units(log: EventLog, by: Any, owner: str) -> Any:
    core = log._core
    if by is None:
        return _core.single_unit(core, "all")
    if isinstance(by, str):
        if by == "rep":
            return _core.units_by_rep(core, owner)
        return _core.units_by_dimension(core, by)
    if isinstance(by, (pd.Series, Mapping)):
        mapping = _unique_mapping(by, "by", "deal")
        deals = pd.Index(list(log.dictionary("deal")))
        labels = mapping.reindex(deals)
        missing = labels.isna()
        if missing.any():
            first = deals[np.flatnonzero(missing.to_numpy())[0]]
            raise InvalidArgumentError(
                f"by: {int(missing.sum())} deals have no unit, e.g. deal {first!r}; "
                "give every deal of the log a unit label")
        codes, names = pd.factorize(labels.astype(str), sort=True)
        kind = str(mapping.name) if mapping.name is not None else "custom"
        return _core.units_from_codes(core, codes.astype(np.int32), [str(n) for n in names], kind)
    raise InvalidArgumentError(
        f"by must be 'rep', a dimension name, None or a Series of unit labels per deal, not {type(by).__name__}")


def indicators(log: EventLog, timelines: Timelines, *, by: Any = "rep", period: str | Calendar = "month",
               conversion_window: Any = None, response_window: Any = "7d", resolution: Any = "60s",
               owner: str = "most_active", threads: int = 0) -> Indicators:
    """Every leading indicator of ``log`` and its ``timelines``, per unit and period.

    Parameters
    ----------
    by:
        ``"rep"`` (each deal's owner, see ``owner``), the name of a dimension column
        (``"segment"``, ``"territory"``: the deal's first non-null value), ``None`` (one
        unit, ``"all"``), or a Series / mapping from deal id to unit label.
    period:
        A calendar spec (``"week"``, ``"month"``, ``"fiscal_quarter:7"``, ...) or a
        :class:`~salesperf.Calendar`.
    conversion_window:
        How long a deal that entered a stage has to move up before it counts as not
        converted, for stages without a window in the model (``None``: no limit).
    response_window:
        A seller activity is *answered* when the buyer acts within this time after it.
    resolution:
        The step of time-in-stage and cycle-time histograms: durations are exact to
        128 steps and within 1.6% beyond (log-linear buckets).
    owner:
        Which rep owns a deal: ``"most_active"`` (most seller events), ``"first"``,
        ``"last"``.
    threads:
        Worker threads (0: every core); the result is the same for any number.

    >>> import salesperf
    >>> c = salesperf.synth.company(events=5_000, seed=2)
    >>> log = c.event_log()
    >>> ind = salesperf.indicators(log, c.stage_model().run(log), by=None, period="year")
    >>> ind.units
    ['all']
    """
    if timelines._log is not log:
        raise InvalidArgumentError("timelines were computed from another log: pass the log they came from")
    calendar = period if isinstance(period, Calendar) else Calendar(period)
    window = None if conversion_window is None else duration_ns(conversion_window, "conversion_window", positive=True)
    units = _units(log, by, owner)
    core = _core.compute_indicators(timelines.machine._core, log._core, timelines._core, units,
                                    calendar.spec, window, duration_ns(response_window, "response_window", positive=True),
                                    duration_ns(resolution, "resolution", positive=True), int(threads))
    return Indicators(core)


class Indicators(MergeableState):
    """The leading-indicator accumulator: per unit and period, every count, exact
    dollar sum and duration histogram behind the figures of :meth:`table`.

    Two accumulators over different deals (with the same calendar, stage model,
    windows and ``as_of``) merge into exactly the accumulator of all their deals:
    ``a + b``. ``to_bytes`` / ``from_bytes`` (and pickle) keep it in a versioned,
    checksummed format.
    """

    _core_type = _core.Indicators

    # ---- what it holds ----
    @property
    def calendar(self) -> Calendar:
        return Calendar(self._core.calendar_spec)

    @property
    def actions(self) -> list[str]:
        return list(self._core.action_names)

    @property
    def as_of(self) -> pd.Timestamp:
        """When cohorts' maturity and stalls were judged."""
        return pd.Timestamp(int(self._core.as_of), tz="UTC")

    # ---- tables ----
    def _table_core(self, confidence: float, include_all: bool) -> Any:
        return _core.make_table(self._core, float(confidence), bool(include_all))

    def table(self, confidence: float = 0.95, include_all: bool = True) -> pd.DataFrame:
        """The figures in long ("tidy") form: one row per unit, period and indicator.

        Columns: ``unit``, ``period`` (a label such as ``"2026-03"``, and ``"all"`` for
        every period together), ``indicator``, ``value``, ``lower`` / ``upper`` (the
        Wilson interval of a ratio at ``confidence``; NaN for other figures), ``n`` (a
        ratio's denominator, the deals behind a median, or the count itself),
        ``previous`` (the unit's previous period), ``p_change`` (two-proportion test of
        a ratio against the previous period) and ``immature`` (a cohort with deals whose
        conversion window is still open). The indicators are defined in
        ``docs/indicators.md``.
        """
        t = self._table_core(confidence, include_all)
        return _frame(t)

    def wide(self, confidence: float = 0.95, include_all: bool = True) -> pd.DataFrame:
        """The values as a unit x period table, one column per indicator."""
        long = self.table(confidence, include_all)
        out = long.pivot(index=["unit", "period"], columns="indicator", values="value")
        out.columns = pd.Index(list(out.columns), name="indicator")
        return out

    def trends(self, periods: int = 6, confidence: float = 0.95) -> pd.DataFrame:
        """The least-squares slope per period of each unit's indicators over its last
        ``periods`` periods, with its interval, and the last value."""
        t = self._table_core(confidence, False)
        tr = _core.make_trends(t, int(periods), float(confidence))
        cols = tr.columns()
        return pd.DataFrame({
            "unit": _labels(cols["unit"], tr.unit_names),
            "indicator": _labels(cols["indicator"], tr.indicator_names),
            "slope": np.array(cols["slope"]),
            "lower": np.array(cols["lower"]),
            "upper": np.array(cols["upper"]),
            "n": np.array(cols["n"]),
            "last": np.array(cols["last"]),
        })

    def rollup(self, mapping: Mapping[str, str] | pd.Series, kind: str = "group") -> Indicators:
        """Units regrouped (rep -> team -> region ...): every unit's figures are added
        into its group's. ``mapping`` gives each unit's group label; every unit must
        have one."""
        m = _unique_mapping(mapping, "rollup", "unit")
        groups = m.reindex(pd.Index(self.units))
        missing = groups.isna()
        if missing.any():
            first = self.units[int(np.flatnonzero(missing.to_numpy())[0])]
            raise InvalidArgumentError(f"rollup: unit {first!r} has no group in the mapping")
        codes, names = pd.factorize(groups.astype(str), sort=True)
        return Indicators(self._core.rollup(codes.astype(np.int32), [str(n) for n in names], str(kind)))

    def __repr__(self) -> str:
        return (f"Indicators(by {self.unit_kind}, {self.calendar.spec}: {len(self.units):,} units, "
                f"{int(self._core.num_cells):,} cells; as of {self.as_of:%Y-%m-%d %H:%M})")

    def _repr_html_(self) -> str:
        key = ["won", "won_dollars", "win_rate", "avg_won_size", "cycle_time_median", "open_end"]
        t = self.table()
        t = t[(t.period == "all") & t.indicator.isin(key)]
        wide = t.pivot(index="unit", columns="indicator", values="value").reindex(columns=key)
        return f"<div><b>{html.escape(repr(self))}</b>{wide.head(20).to_html(float_format='{:,.3g}'.format)}</div>"


def _labels(codes: Any, names: Sequence[str]) -> Any:
    return pd.Categorical.from_codes(np.asarray(codes).astype(np.int64), categories=pd.Index(list(names)))


def _frame(t: Any) -> pd.DataFrame:
    cols = t.columns()
    out = pd.DataFrame({
        "unit": _labels(cols["unit"], t.unit_names),
        "period": pd.Categorical.from_codes(np.asarray(cols["period"]).astype(np.int64),
                                            categories=pd.Index(list(t.period_labels)), ordered=True),
        "indicator": _labels(cols["indicator"], t.indicator_names),
        "value": np.array(cols["value"]),
        "lower": np.array(cols["lower"]),
        "upper": np.array(cols["upper"]),
        "n": np.array(cols["n"]),
        "previous": np.array(cols["previous"]),
        "p_change": np.array(cols["p_change"]),
        "immature": np.array(cols["immature"]).astype(bool),
    })
    return out


def deal_warnings(log: EventLog, timelines: Timelines, *, dark_percentile: float = 90,
                  decision_maker_roles: Sequence[str] = ("decision_maker",)) -> pd.DataFrame:
    """Open deals that need attention, one row per open (or stalled) deal.

    ``stalled``: the stage model's stall rule says so. ``dark``: quiet for longer than
    ``dark_percentile`` of the normal time in its stage. ``single_threaded``: every
    buyer action came from one contact. ``no_decision_maker``: no buyer action from a
    contact whose role is in ``decision_maker_roles``. The last two are ``<NA>`` when
    the log has no contact (role) column.

    >>> import salesperf
    >>> c = salesperf.synth.company(events=5_000, seed=3)
    >>> log = c.event_log()
    >>> w = salesperf.deal_warnings(log, c.stage_model().run(log))
    >>> list(w.columns)
    ['deal', 'stage', 'stalled', 'dark', 'single_threaded', 'no_decision_maker', 'quiet_days', 'normal_days']
    """
    if timelines._log is not log:
        raise InvalidArgumentError("timelines were computed from another log: pass the log they came from")
    w = _core.find_deal_warnings(log._core, timelines._core, float(dark_percentile),
                                 [str(r) for r in decision_maker_roles])
    cols = w.columns()
    deals = log.dictionary("deal")
    names = timelines.stage_names

    def flag(values: Any) -> pd.Series:
        v = np.asarray(values).astype(np.int64)
        return pd.Series(pd.array(np.where(v < 0, 0, v).astype(bool), dtype="boolean")).mask(v < 0)

    return pd.DataFrame({
        "deal": [deals[d] for d in np.asarray(cols["deal"])],
        "stage": [names[s] for s in np.asarray(cols["stage"])],
        "stalled": np.asarray(cols["stalled"]).astype(bool),
        "dark": np.asarray(cols["dark"]).astype(bool),
        "single_threaded": flag(cols["single_threaded"]),
        "no_decision_maker": flag(cols["no_decision_maker"]),
        "quiet_days": np.array(cols["quiet_days"]),
        "normal_days": np.array(cols["normal_days"]),
    })


__all__ = ["Indicators", "TABLE_COLUMNS", "deal_warnings", "indicators"]
