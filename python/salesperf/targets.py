"""Working backwards from the number: from a revenue target per unit and period, the
wins, stage entries and leading-indicator occurrences each unit needs per week, when
they are needed (lagged by cycle time), and the gap to the current run rate, with
intervals that carry the uncertainty of the rates; and the what-if of adding reps
against raising one stage's conversion. Then the plan against actual
(:func:`plan_vs_actual`: bookings, margin and wins objectives per unit and period,
with attainment, pacing against the historical shape of a period, and a forecast
from the open pipeline) and the key accounts of a territory plan
(:func:`key_accounts`: touched, engaged, opened, won).

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
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._columns import duration_ns
from .errors import InvalidArgumentError
from .event_log import EventLog
from .indicators import _units
from .leaks import _instant
from .stages import Timelines

_FLOATS = ("target", "value", "value_se", "wins_needed", "rate", "win_probability", "lag_days", "entries_needed",
           "entries_per_week", "entries_lower", "entries_upper", "occurrences_per_entry", "occurrences_per_week",
           "run_rate", "gap_per_week")


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
    if isinstance(period, (str, bytes, pd.Period)) or not hasattr(period, "__len__") or len(period) != 2:
        raise InvalidArgumentError(f"period: give (start, end), two time-zone aware times, not {period!r}")
    start, end = (_instant(p, n) for p, n in zip(period, ("period start", "period end")))
    if start is None or end is None:
        raise InvalidArgumentError("period: give both a start and an end")
    if end <= start:
        raise InvalidArgumentError(f"period: the end {pd.Timestamp(end, tz='UTC')} is not after the start "
                                   f"{pd.Timestamp(start, tz='UTC')}")
    units = _units(log, by, owner)
    names = list(units.names)
    if isinstance(target, (Mapping, pd.Series)):
        pairs = [(str(k), float(v)) for k, v in dict(target).items()]
    else:
        pairs = [(n, float(target)) for n in names]
    core = _core.plan_targets(log._core, timelines._core, units, start, end, pairs, rates,
                              duration_ns(lookback, "lookback"), int(min_won), int(draws), int(seed), float(interval),
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
    w = _core.what_if(log._core, timelines._core, units, duration_ns(horizon, "horizon") / week, int(add_reps),
                      duration_ns(ramp, "ramp") / week, k, float(raise_by), duration_ns(lookback, "lookback"), int(min_won))
    return pd.Series({"baseline_revenue": w.baseline_revenue, "add_reps_revenue": w.add_reps_revenue,
                      "raise_stage_revenue": w.raise_stage_revenue, "median_unit_weekly": w.median_unit_weekly})


# ---- Plan against actual ----------------------------------------------------------

_METRICS = ("bookings", "revenue", "margin", "wins")
_PLAN_FLOATS = ("actual", "attainment", "elapsed", "shape", "expected_to_date", "pacing", "pipeline_value",
                "weighted_pipeline", "forecast", "forecast_sd", "coverage", "gap")
_PLAN_INTS = ("won_deals", "unvalued_wins", "open_deals")


def _where(row: Any, unit: Any, column: str) -> str:
    return f"objectives row {row!r} (unit {unit!r}), column {column!r}"


def _period_bounds(value: Any, name: str) -> tuple[int, int]:
    """[start, end) in UTC ns of a pandas Period or a period string ("2026Q1", "2026-03")."""
    if isinstance(value, pd.Period):
        p = value
    else:
        if not isinstance(value, str):
            raise InvalidArgumentError(f"{name}: give a pandas Period or a string such as '2026Q1' or "
                                       f"'2026-03', not {value!r}")
        try:
            p = pd.Period(value)
        except (ValueError, TypeError) as e:
            raise InvalidArgumentError(f"{name}: {value!r} is not a period ({e})") from None
    start = pd.Timestamp(p.start_time).tz_localize("UTC")
    end = pd.Timestamp((p + 1).start_time).tz_localize("UTC")
    return int(start.value), int(end.value)


def _objectives(objectives: pd.DataFrame, names: list[str]) -> dict[str, Any]:
    """The objectives' columns, checked, with errors naming the row and column."""
    if not isinstance(objectives, pd.DataFrame):
        raise InvalidArgumentError(f"objectives must be a pandas DataFrame, not {type(objectives).__name__}")
    cols = set(objectives.columns)
    for c in ("unit", "target"):
        if c not in cols:
            raise InvalidArgumentError(f"objectives: no column {c!r} (it needs unit, target, and period or "
                                       "period_start and period_end)")
    has_bounds = "period_start" in cols or "period_end" in cols
    if has_bounds and "period" in cols:
        raise InvalidArgumentError("objectives: give either period or period_start and period_end, not both")
    if has_bounds and not ("period_start" in cols and "period_end" in cols):
        raise InvalidArgumentError("objectives: period_start and period_end go together")
    if not has_bounds and "period" not in cols:
        raise InvalidArgumentError("objectives: no period; give a column period, or period_start and period_end")
    known = set(names)
    out: dict[str, list[Any]] = {k: [] for k in ("unit", "metric", "period_start", "period_end", "target",
                                                 "margin_rate")}
    for label, r in zip(objectives.index, objectives.to_dict("records")):
        unit = r["unit"]
        if unit is None or (not isinstance(unit, str) and pd.isna(unit)) or str(unit) not in known:
            raise InvalidArgumentError(f"{_where(label, unit, 'unit')}: the units have no unit {unit!r}")
        unit = str(unit)
        metric = r["metric"] if "metric" in cols else "bookings"
        if not isinstance(metric, str) or metric not in _METRICS:
            raise InvalidArgumentError(f"{_where(label, unit, 'metric')}: {metric!r} is not one of {list(_METRICS)}")
        try:
            target = float(r["target"])
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"{_where(label, unit, 'target')}: {r['target']!r} is not a number") from None
        if not (math.isfinite(target) and target > 0):
            raise InvalidArgumentError(f"{_where(label, unit, 'target')}: {target!r}; it must be positive and finite")
        rate = r["margin_rate"] if "margin_rate" in cols else math.nan
        try:
            rate = math.nan if rate is None or (not isinstance(rate, str) and pd.isna(rate)) else float(rate)
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"{_where(label, unit, 'margin_rate')}: {rate!r} is not a number") from None
        if metric == "margin" and not (0.0 <= rate <= 1.0):
            raise InvalidArgumentError(f"{_where(label, unit, 'margin_rate')}: {rate!r}; a margin objective "
                                       "needs a margin rate in [0, 1]")
        if has_bounds:
            start = _instant(r["period_start"], _where(label, unit, "period_start"))
            end = _instant(r["period_end"], _where(label, unit, "period_end"))
            if start is None:
                raise InvalidArgumentError(f"{_where(label, unit, 'period_start')}: missing")
            if end is None:
                raise InvalidArgumentError(f"{_where(label, unit, 'period_end')}: missing")
            if end <= start:
                raise InvalidArgumentError(f"{_where(label, unit, 'period_end')}: {r['period_end']!r} is not after "
                                           f"period_start {r['period_start']!r}")
        else:
            start, end = _period_bounds(r["period"], _where(label, unit, "period"))
        out["unit"].append(unit)
        out["metric"].append(metric)
        out["period_start"].append(start)
        out["period_end"].append(end)
        out["target"].append(target)
        out["margin_rate"].append(rate)
    return out


def plan_vs_actual(log: EventLog, timelines: Timelines, objectives: pd.DataFrame, *, by: Any = "rep",
                   owner: str = "most_active", shape_periods: int = 8) -> PlanVsActual:
    """Objectives per unit and period against what happened by ``timelines.as_of``:
    attainment, pacing against the historical shape of a period, and the forecast
    from the open pipeline.

    Parameters
    ----------
    objectives:
        One row per objective: ``unit``, ``target`` (positive), ``metric`` (optional:
        ``"bookings"`` (default), ``"revenue"`` (the same: a won deal counts in full at
        its win), ``"margin"`` or ``"wins"``), ``margin_rate`` (margin objectives: in
        [0, 1]), and either ``period`` (a pandas Period or a string such as
        ``"2026Q1"`` or ``"2026-03"``, read as UTC) or ``period_start`` and
        ``period_end`` (time-zone aware; the period is ``[start, end)``).
    by, owner:
        The units, as in :func:`salesperf.indicators`.
    shape_periods:
        How many whole periods of the same length before each period give its shape
        (the share of a period's metric that usually lands by the elapsed fraction).

    Examples
    --------
    >>> import pandas as pd, salesperf
    >>> c = salesperf.synth.company(events=100_000, seed=7)
    >>> log = c.event_log()
    >>> tl = c.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
    >>> reps = sorted(log.to_pandas()["rep"].dropna().unique())[:2]
    >>> obj = pd.DataFrame({"unit": reps, "period": "2025Q4", "target": 150_000.0})
    >>> from salesperf.targets import plan_vs_actual
    >>> pva = plan_vs_actual(log, tl, obj)
    >>> t = pva.table()
    >>> bool(((t["forecast"] - t["actual"] - t["weighted_pipeline"]).abs() < 1e-6).all())
    True
    >>> round(float(t["elapsed"].iloc[0]), 2)
    0.99
    """
    if timelines._log is not log:
        raise InvalidArgumentError("timelines were computed from another log: pass the log they came from")
    units = _units(log, by, owner)
    names = list(units.names)
    o = _objectives(objectives, names)
    core = _core.plan_vs_actual(log._core, timelines._core, units, o["unit"], o["metric"],
                                np.asarray(o["period_start"], dtype=np.int64),
                                np.asarray(o["period_end"], dtype=np.int64),
                                np.asarray(o["target"], dtype=float), np.asarray(o["margin_rate"], dtype=float),
                                int(shape_periods))
    stages = list(timelines.stage_names)[: len(timelines.stage_names) - 2]
    return PlanVsActual(core, objectives, o, stages)


class PlanVsActual:
    """The objectives against actual: :meth:`table` and :meth:`stage_win_probability`."""

    def __init__(self, core: Any, objectives: pd.DataFrame, parsed: dict[str, Any], stages: list[str]) -> None:
        self._core = core
        self._objectives = objectives.copy()
        self._parsed = parsed
        self._stages = stages

    @property
    def as_of(self) -> pd.Timestamp:
        return pd.Timestamp(int(self._core.as_of), tz="UTC")

    def table(self) -> pd.DataFrame:
        """The objectives' columns (``metric`` filled in, ``period_start`` and
        ``period_end`` as UTC timestamps), then per objective: actual, attainment,
        elapsed (fraction of the period), shape (the share of the metric that usually
        lands by then), expected_to_date, pacing, pipeline_value (open deals,
        unweighted), weighted_pipeline, forecast (actual + weighted pipeline),
        forecast_sd, coverage (pipeline over what is still needed; NaN when met), gap
        (target - forecast; positive: short), won_deals, unvalued_wins, open_deals."""
        r = self._core.rows
        out = self._objectives.copy()
        out["unit"] = pd.Categorical.from_codes(np.asarray(r.unit, dtype=np.int64),
                                                categories=pd.Index(list(self._core.unit_names)))
        out["metric"] = self._parsed["metric"]
        out["period_start"] = pd.to_datetime(np.asarray(self._parsed["period_start"], dtype=np.int64), utc=True)
        out["period_end"] = pd.to_datetime(np.asarray(self._parsed["period_end"], dtype=np.int64), utc=True)
        out["target"] = np.asarray(r.target, dtype=float)
        if "margin_rate" not in out.columns:
            out["margin_rate"] = np.asarray(self._parsed["margin_rate"], dtype=float)
        for name in _PLAN_FLOATS:
            out[name] = np.asarray(getattr(r, name), dtype=float)
        for name in _PLAN_INTS:
            out[name] = np.asarray(getattr(r, name), dtype=np.int64)
        return out

    def stage_win_probability(self) -> pd.Series:
        """The organisation's chance that a deal now at each open stage is won (the
        product of the stage conversion rates from there on)."""
        return pd.Series(np.asarray(self._core.stage_win_probability, dtype=float),
                         index=pd.Index(self._stages, name="stage"), name="win_probability")

    def __repr__(self) -> str:
        t = self.table()
        short = int((t["gap"] > 0).sum())
        return (f"PlanVsActual({len(t)} objectives as of {self.as_of:%Y-%m-%d %H:%M}Z; "
                f"{short} forecast short of target)")

    def _repr_html_(self) -> str:
        t = self.table()[["unit", "metric", "period_start", "period_end", "target", "actual", "attainment",
                          "pacing", "forecast", "gap", "coverage"]]
        return f"<div><b>{html.escape(repr(self))}</b>{t.head(24).to_html(index=False, float_format='{:,.2f}'.format)}</div>"


# ---- Key accounts -------------------------------------------------------------------

_KINDS = ["new business", "maintenance"]


def key_accounts(log: EventLog, timelines: Timelines, plan: pd.DataFrame, *, period: Any = None) -> pd.DataFrame:
    """Progress on the key accounts of a territory plan: per (rep, account) pair of
    ``plan`` and ``period``, whether the rep touched the account (a seller activity on
    one of its deals), whether the buyer engaged (any buyer action), the deals opened
    and won (and their value), and the kind: ``"maintenance"`` when a deal of the
    account was won before the period, else ``"new business"``. An account the log
    does not know has ``known`` False and zeros (a finding, not an error).

    ``period``: None (all time), ``(start, end)`` (time-zone aware; either may be
    None), or a pandas Period or a string such as ``"2026Q1"``.

    >>> import pandas as pd, salesperf
    >>> c = salesperf.synth.company(events=100_000, seed=7)
    >>> log = c.event_log()
    >>> tl = c.stage_model().run(log)
    >>> ev = log.to_pandas().dropna(subset=["account"])
    >>> plan = pd.DataFrame({"rep": [str(ev["rep"].iloc[0]), "nobody"],
    ...                      "account": [str(ev["account"].iloc[0]), "no such account"]})
    >>> from salesperf.targets import key_accounts
    >>> t = key_accounts(log, tl, plan, period="2025Q4")
    >>> list(t["known"])
    [True, False]
    """
    if timelines._log is not log:
        raise InvalidArgumentError("timelines were computed from another log: pass the log they came from")
    if not isinstance(plan, pd.DataFrame):
        raise InvalidArgumentError(f"plan must be a pandas DataFrame, not {type(plan).__name__}")
    for c in ("rep", "account"):
        if c not in plan.columns:
            raise InvalidArgumentError(f"plan: no column {c!r} (it needs rep and account)")
    for c in ("rep", "account"):
        missing = plan[c].isna().to_numpy()
        if missing.any():
            raise InvalidArgumentError(f"plan row {plan.index[int(np.flatnonzero(missing)[0])]!r}, column {c!r}: missing")
    if period is None:
        start, end = None, None
    elif isinstance(period, tuple):
        if len(period) != 2:
            raise InvalidArgumentError("period: give (start, end)")
        start, end = _instant(period[0], "period start"), _instant(period[1], "period end")
    else:
        start, end = _period_bounds(period, "period")
    reps = [str(v) for v in plan["rep"]]
    accounts = [str(v) for v in plan["account"]]
    rows = _core.key_account_progress(log._core, timelines._core, reps, accounts, start, end)
    return pd.DataFrame({
        "rep": reps,
        "account": accounts,
        "known": np.asarray(rows.known).astype(bool),
        "touched": np.asarray(rows.touched).astype(bool),
        "engaged": np.asarray(rows.engaged).astype(bool),
        "opened": np.asarray(rows.opened, dtype=np.int64),
        "won": np.asarray(rows.won, dtype=np.int64),
        "won_value": np.asarray(rows.won_value, dtype=float),
        "kind": pd.Categorical(list(rows.kind), categories=_KINDS),
    }, index=plan.index)


def key_account_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per rep and kind (new business, maintenance), from :func:`key_accounts`' table:
    the number of key accounts and how many of them were touched, engaged, opened
    (at least one deal) and won (at least one deal)."""
    t = table.assign(opened=table["opened"] > 0, won=table["won"] > 0)
    g = t.groupby(["rep", "kind"], observed=True, sort=True)
    out = g.agg(key_accounts=("account", "size"), touched=("touched", "sum"), engaged=("engaged", "sum"),
                opened=("opened", "sum"), won=("won", "sum"))
    return out.astype(np.int64).reset_index()


__all__ = ["PlanVsActual", "TargetPlan", "key_account_summary", "key_accounts", "plan_vs_actual", "targets",
           "what_if"]
