"""Working backwards from the number: from a revenue target per unit and period, the
wins, stage entries and leading-indicator occurrences each unit needs per week, when
they are needed (lagged by cycle time), and the gap to the current run rate, with
intervals that carry the uncertainty of the rates; and the what-if of adding reps
against raising one stage's conversion.

Definitions: ``docs/targets.md`` and the header ``salesperf/targets.h``.

>>> import pandas as pd, salesperf
>>> c = salesperf.synth.company(events=100_000, seed=7)
>>> log = c.event_log()
>>> tl = c.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
>>> plan = salesperf.targets(log, tl, 400_000, period=("2026-01-01T00:00Z", "2026-04-01T00:00Z"))
>>> t = plan.table()
>>> bool((t.groupby("unit", observed=True)["entries_per_week"].apply(lambda s: s.is_monotonic_decreasing)).all())
True
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from .errors import InvalidArgumentError
from .event_log import EventLog
from .indicators import _units
from .leaks import _instant
from .stages import Timelines

_FLOATS = ("target", "value", "value_se", "wins_needed", "rate", "win_probability", "lag_days", "entries_needed",
           "entries_per_week", "entries_lower", "entries_upper", "occurrences_per_entry", "occurrences_per_week",
           "run_rate", "gap_per_week")


def _ns(value: Any, name: str) -> int:
    """A duration: "90d", "13w", a Timedelta."""
    if isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidArgumentError(f"{name}: give a duration such as '90d' or '13w', not the number {value!r}")
    try:
        return int(pd.Timedelta(value).value)
    except (ValueError, TypeError) as e:
        raise InvalidArgumentError(f"{name}: {value!r} is not a duration ({e})") from None


def targets(log: EventLog, timelines: Timelines, target: float | Mapping[str, float] | pd.Series, *,
            period: tuple[Any, Any], by: Any = "rep", owner: str = "most_active", rates: str = "unit",
            lookback: Any = "90d", min_won: int = 5, draws: int = 2000, seed: int = 1,
            interval: float = 0.8) -> TargetPlan:
    """What each unit must do per week to reach ``target`` dollars in ``period``.

    Parameters
    ----------
    target:
        Dollars per unit: one number for every unit, or a mapping / Series from unit
        label to dollars (units left out are not planned).
    period:
        ``(start, end)``, time-zone aware; the revenue must land in ``[start, end)``.
    by, owner:
        The units, as in :func:`salesperf.indicators`.
    rates:
        ``"unit"`` (each unit's own conversion, shrunk toward the organisation's for
        small samples) or ``"organisation"`` (everyone at the pooled rates).
    lookback:
        The window, ending at ``as_of``, over which the current run rate is measured.
    draws, seed, interval:
        The Monte Carlo behind the intervals: deterministic for a seed.
    """
    if timelines._log is not log:
        raise InvalidArgumentError("timelines were computed from another log: pass the log they came from")
    if rates not in ("unit", "organisation"):
        raise InvalidArgumentError(f"rates must be 'unit' or 'organisation', not {rates!r}")
    start, end = (_instant(p, n) for p, n in zip(period, ("period start", "period end")))
    if start is None or end is None:
        raise InvalidArgumentError("period: give both a start and an end")
    units = _units(log, by, owner)
    names = list(units.names)
    if isinstance(target, (Mapping, pd.Series)):
        pairs = [(str(k), float(v)) for k, v in dict(target).items()]
    else:
        pairs = [(n, float(target)) for n in names]
    core = _core.plan_targets(log._core, timelines._core, units, start, end, pairs, rates,
                              _ns(lookback, "lookback"), int(min_won), int(draws), int(seed), float(interval),
                              timelines.machine._core)
    return TargetPlan(core, period)


class TargetPlan:
    """The plan: :meth:`table` (unit x stage) and :meth:`chart` (needed against run rate)."""

    def __init__(self, core: Any, period: tuple[Any, Any]) -> None:
        self._core = core
        self.period = period

    @property
    def weeks(self) -> float:
        return float(self._core.weeks)

    def table(self) -> pd.DataFrame:
        """Per unit and open stage: the target, average won value (and its standard
        error), wins needed, the stage's conversion rate and win probability from it,
        the lag to the win, entries needed (in the period and per week, with the
        interval), leading-indicator occurrences per entry and per week, when the
        entries are needed, the current run rate and the gap per week."""
        r = self._core.rows
        stages = list(self._core.stage_names)[: int(self._core.num_open)]
        data: dict[str, Any] = {
            "unit": pd.Categorical.from_codes(np.asarray(r.unit, dtype=np.int64),
                                              categories=pd.Index(list(self._core.unit_names))),
            "stage": pd.Categorical.from_codes(np.asarray(r.stage, dtype=np.int64), categories=pd.Index(stages),
                                               ordered=True),
        }
        for name in _FLOATS:
            data[name] = np.asarray(getattr(r, name), dtype=float)
        for name in ("needed_from", "needed_to"):
            data[name] = pd.to_datetime(np.asarray(getattr(r, name), dtype=np.int64), utc=True)
        cols = ["unit", "stage", "target", "value", "value_se", "wins_needed", "rate", "win_probability",
                "lag_days", "needed_from", "needed_to", "entries_needed", "entries_per_week", "entries_lower",
                "entries_upper", "occurrences_per_entry", "occurrences_per_week", "run_rate", "gap_per_week"]
        return pd.DataFrame(data)[cols]

    def chart(self, unit: str | None = None, *, ax: Any = None) -> Any:
        """Entries needed per week (with the interval) against the current run rate,
        per stage, for one unit (default: all units summed)."""
        from .plots import target_vs_run_rate

        return target_vs_run_rate(self.table(), unit, ax=ax)

    def __repr__(self) -> str:
        t = self.table()
        return (f"TargetPlan({t['unit'].nunique()} units x {t['stage'].nunique()} stages over {self.weeks:.1f} weeks, "
                f"${t.groupby('unit', observed=True)['target'].first().sum():,.0f} in total)")

    def _repr_html_(self) -> str:
        t = self.table()[["unit", "stage", "entries_per_week", "entries_lower", "entries_upper", "run_rate",
                          "gap_per_week", "needed_from"]]
        return f"<div><b>{html.escape(repr(self))}</b>{t.head(24).to_html(index=False, float_format='{:,.2f}'.format)}</div>"


def what_if(log: EventLog, timelines: Timelines, *, by: Any = "rep", owner: str = "most_active",
            horizon: Any = "52w", add_reps: int = 1, ramp: Any = "13w", stage: str | None = None,
            raise_by: float = 0.10, lookback: Any = "90d", min_won: int = 5) -> pd.Series:
    """The two levers over ``horizon``: revenue from ``add_reps`` new reps who reach the
    median unit's weekly revenue after a linear ``ramp``, against raising ``stage``'s
    conversion rate by ``raise_by`` (relative; default the first open stage), both
    against the baseline the current flow brings in.

    >>> import salesperf
    >>> c = salesperf.synth.company(events=60_000, seed=2)
    >>> log = c.event_log()
    >>> w = salesperf.what_if(log, c.stage_model().run(log), add_reps=2, stage="Proposal", raise_by=0.2)
    >>> list(w.index)
    ['baseline_revenue', 'add_reps_revenue', 'raise_stage_revenue', 'median_unit_weekly']
    """
    if timelines._log is not log:
        raise InvalidArgumentError("timelines were computed from another log: pass the log they came from")
    names = timelines.stage_names[:-2]
    if stage is None:
        k = 0
    elif stage in names:
        k = names.index(stage)
    else:
        raise InvalidArgumentError(f"stage: no open stage {stage!r}; stages are {names}")
    week = 7 * 86_400 * 10**9
    units = _units(log, by, owner)
    w = _core.what_if(log._core, timelines._core, units, _ns(horizon, "horizon") / week, int(add_reps),
                      _ns(ramp, "ramp") / week, k, float(raise_by), _ns(lookback, "lookback"), int(min_won))
    return pd.Series({"baseline_revenue": w.baseline_revenue, "add_reps_revenue": w.add_reps_revenue,
                      "raise_stage_revenue": w.raise_stage_revenue, "median_unit_weekly": w.median_unit_weekly})


__all__ = ["TargetPlan", "targets", "what_if"]
