"""Where the bucket leaks: per unit (rep, team, territory, ...) and per stage, the deals
that did not advance against a benchmark, in deals and in dollars; shrunk by empirical
Bayes so that a rep with six deals does not top the list by chance; each with an
interval and the probability that it is real; and the accounting that shows every
deal counted once.

The definitions, with their edge cases, are in ``docs/leaks.md`` and the header
``salesperf/leaks.h``.

>>> import salesperf
>>> company = salesperf.synth.company(events=60_000, seed=3)
>>> log = company.event_log()
>>> timelines = company.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
>>> leaks = salesperf.leaks(log, timelines, by="rep", benchmark="team_median")
>>> table = leaks.table()
>>> bool((table["reached"] == table[["advanced", "lost", "disqualified", "stalled", "open",
...                                  "excluded"]].sum(axis=1)).all())
True
>>> units = leaks.units()
>>> bool(abs(units["gap_dollars"].sum() - table["dollars"].sum()) < 1e-6 * abs(units["gap_dollars"]).sum())
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._state import MergeableState
from .errors import InvalidArgumentError
from .event_log import EventLog
from .indicators import _units
from .stages import Timelines

BENCHMARKS = ("team_median", "top_quartile", "own_past")

_ROW_INT = ("reached", "entrants", "advanced", "lost", "disqualified", "stalled", "open", "excluded", "trials")
_ROW_FLOAT = ("rate", "shrunk_rate", "benchmark", "expected", "shortfall", "shrunk_shortfall",
              "shortfall_lower", "shortfall_upper", "probability_real", "downstream_win", "average_value",
              "dollars", "shrunk_dollars", "dollars_lower", "dollars_upper", "unit_level", "own_benchmark",
              "own_shortfall", "own_probability")


def _instant(value: Any, name: str) -> int | None:
    if value is None:
        return None
    try:
        t = pd.Timestamp(value)
    except (ValueError, TypeError) as e:
        raise InvalidArgumentError(f"{name}: {value!r} is not a time ({e})") from None
    if pd.isna(t):
        return None
    if t.tzinfo is None:
        raise InvalidArgumentError(
            f"{name}: {value!r} has no time zone; give one (e.g. '2025-01-01T00:00Z') so that "
            "it is an instant, not a local time in an unknown zone")
    return int(t.value)


def leak_counts(log: EventLog, timelines: Timelines, *, by: Any = "rep", owner: str = "most_active",
                cohort: tuple[Any, Any] | None = None, past_from: Any = None) -> LeakCounts:
    """The fate counts behind :func:`leaks`: per unit, cohort and stage, the deals that
    reached the stage and how far they went. Mergeable (``a + b``) and serializable.

    ``cohort`` = ``(start, end)`` keeps the deals whose funnel entry falls in
    ``[start, end)`` (either may be None); the deals before ``start`` (and at or after
    ``past_from``) form the *past* cohort, which ``benchmark="own_past"`` compares with.
    """
    if timelines._log is not log:
        raise InvalidArgumentError("timelines were computed from another log: pass the log they came from")
    start, end = (None, None) if cohort is None else cohort
    units = _units(log, by, owner)
    return LeakCounts(_core.count_leaks(log._core, timelines._core, units,
                                        _instant(start, "cohort start"), _instant(end, "cohort end"),
                                        _instant(past_from, "past_from")))


def leaks(log: EventLog, timelines: Timelines, *, by: Any = "rep", owner: str = "most_active",
          benchmark: str | Mapping[str, float] | Sequence[float] = "team_median",
          cohort: tuple[Any, Any] | None = None, past_from: Any = None, disqualify: Sequence[str] = (),
          min_trials: int = 10, interval: float = 0.95, flag_probability: float = 0.95,
          min_relative_shortfall: float = 0.2, value: str = "unit") -> LeakAssessment:
    """Funnel leaks per unit and stage against a benchmark.

    Parameters
    ----------
    by, owner:
        The units, as in :func:`salesperf.indicators` (``"rep"``, a dimension, None or
        a Series of unit labels per deal).
    benchmark:
        ``"team_median"`` or ``"top_quartile"`` of the units' (shrunk) conversion rates,
        ``"own_past"`` (each unit against its own past cohort; needs ``cohort``), or
        the target rates you set: a mapping from stage name to rate (stages left out
        have no target) or one rate per open stage.
    disqualify:
        Lost reasons (action names) that are disqualifications: reported apart, and
        attributed to qualification by :func:`salesperf.practices`.
    min_trials:
        Units with fewer decided deals at a stage do not set the team benchmark.
    interval, flag_probability, min_relative_shortfall:
        The interval's coverage. A row is flagged as a *stage* leak when the stage is
        below the benchmark moved to the unit's own level at its other stages
        (``own_benchmark``) with probability ``flag_probability`` or more, by at least
        ``min_relative_shortfall`` (20%) of the conversions that level expects. A rep
        who is weak everywhere shows in ``unit_level``, not as a leak at every stage.
    value:
        ``"unit"`` (each unit's average deal value) or ``"organisation"``.

    >>> import salesperf
    >>> c = salesperf.synth.company(events=20_000, seed=5)
    >>> log = c.event_log()
    >>> lk = salesperf.leaks(log, c.stage_model().run(log), by=None, benchmark={"Commit": 0.9})
    >>> lk.table().loc[lambda t: t.stage == "Commit", "benchmark"].item()
    0.9
    """
    counts = leak_counts(log, timelines, by=by, owner=owner, cohort=cohort, past_from=past_from)
    return counts.assess(benchmark=benchmark, disqualify=disqualify, min_trials=min_trials, interval=interval,
                         flag_probability=flag_probability, min_relative_shortfall=min_relative_shortfall,
                         value=value)


class LeakCounts(MergeableState):
    """Per unit, cohort and stage: deals that reached the stage, and where they went.
    Merge with ``a + b`` (different deals, same stages and cohorts); ``to_bytes`` /
    ``from_bytes`` and pickle keep the counts."""

    _core_type = _core.LeakCounts

    def assess(self, *, benchmark: str | Mapping[str, float] | Sequence[float] = "team_median",
               disqualify: Sequence[str] = (), min_trials: int = 10, interval: float = 0.95,
               flag_probability: float = 0.95, min_relative_shortfall: float = 0.2,
               value: str = "unit") -> LeakAssessment:
        """The leaks of these counts against ``benchmark`` (see :func:`leaks`)."""
        open_stages = self.stage_names[:-2]
        target: list[float] | None = None
        if isinstance(benchmark, str):
            if benchmark not in BENCHMARKS:
                raise InvalidArgumentError(
                    f"benchmark must be one of {BENCHMARKS} or target rates, not {benchmark!r}")
            kind = benchmark
        elif isinstance(benchmark, Mapping):
            unknown = [s for s in benchmark if s not in open_stages]
            if unknown:
                raise InvalidArgumentError(f"benchmark: no open stage {unknown[0]!r}; stages are {open_stages}")
            kind, target = "target", [float(benchmark.get(s, math.nan)) for s in open_stages]
        else:
            kind, target = "target", [float(v) for v in benchmark]
        if target is not None:
            if len(target) != len(open_stages):
                raise InvalidArgumentError(f"benchmark: {len(target)} target rates for the {len(open_stages)} "
                                           f"open stages {open_stages}")
            for stage, rate in zip(open_stages, target):
                if not (0.0 <= rate <= 1.0) and not math.isnan(rate):
                    raise InvalidArgumentError(f"benchmark: stage {stage!r} has the target rate {rate!r}, "
                                               "outside [0, 1]")
        if isinstance(disqualify, str):
            disqualify = [disqualify]
        if value not in ("unit", "organisation"):
            raise InvalidArgumentError(f"value must be 'unit' or 'organisation', not {value!r}")
        core = _core.assess_leaks(self._core, kind, target, [str(r) for r in disqualify], int(min_trials),
                                  float(interval), float(flag_probability), float(min_relative_shortfall), value)
        return LeakAssessment(core, self)

    def __repr__(self) -> str:
        return f"LeakCounts(by {self._core.unit_kind}: {len(self.units):,} units, {len(self.stage_names) - 2} open stages)"

    def _repr_html_(self) -> str:
        from .event_log import _html_table

        c = self._core
        reached = np.asarray(c.reached, dtype=np.int64).sum(axis=0)  # cohort x open stage
        won = np.asarray(c.won, dtype=np.int64).sum(axis=0)
        deals = np.asarray(c.deals, dtype=np.int64).sum(axis=0)
        past = bool(deals[1] > 0)
        header = ["stage", "reached"] + (["reached (past cohort)"] if past else [])
        rows = [[s, f"{reached[0, k]:,}"] + ([f"{reached[1, k]:,}"] if past else [])
                for k, s in enumerate(self.stage_names[: int(c.num_open)])]
        rows.append(["Won", f"{won[0]:,}"] + ([f"{won[1]:,}"] if past else []))
        outside = int(np.asarray(c.outside, dtype=np.int64).sum())
        note = (f"{int(deals[0]):,} deals in the funnel" + (f", {int(deals[1]):,} in the past cohort" if past else "")
                + f", {outside:,} outside it")
        return (f"<div><b>{html.escape(repr(self))}</b><p>{html.escape(note)}</p>"
                f"{_html_table(header, rows)}</div>")


class LeakAssessment:
    """The leaks of one benchmark: :meth:`table` (unit x stage), :meth:`units` (the
    gap per unit and how it reconciles), :meth:`stages` (prior and benchmark),
    :meth:`reasons` (lost deals by reason) and :meth:`waterfall` (a chart)."""

    def __init__(self, core: Any, counts: LeakCounts) -> None:
        self._core = core
        self.counts = counts

    @property
    def benchmark(self) -> str:
        return str(self._core.benchmark)

    @property
    def stage_names(self) -> list[str]:
        return list(self._core.stage_names)[: int(self._core.num_open)]

    @property
    def unit_names(self) -> list[str]:
        return list(self._core.unit_names)

    def table(self) -> pd.DataFrame:
        """One row per unit and open stage, in rank order (rank 1: the most dollars at
        stake after shrinkage). Counts: ``reached`` = ``advanced`` + ``lost`` +
        ``disqualified`` + ``stalled`` + ``open`` + ``excluded``; ``trials`` leaves out
        the pending (open and excluded). Rates, the benchmark, the shortfall in deals
        (raw, shrunk, interval), ``probability_real``, the downstream win probability,
        the average deal value and the same in dollars; the unit's own level at its
        other stages (``unit_level``, a logit shift), the benchmark moved to it
        (``own_benchmark``), the shortfall and probability against that, and
        ``flagged``."""
        r = self._core.rows
        units, stages = self.unit_names, self.stage_names
        data: dict[str, Any] = {
            "unit": pd.Categorical.from_codes(np.asarray(r.unit, dtype=np.int64), categories=pd.Index(units)),
            "stage": pd.Categorical.from_codes(np.asarray(r.stage, dtype=np.int64),
                                               categories=pd.Index(stages), ordered=True),
        }
        for name in _ROW_INT:
            data[name] = np.asarray(getattr(r, name), dtype=np.int64)
        for name in _ROW_FLOAT:
            data[name] = np.asarray(getattr(r, name), dtype=float)
        data["flagged"] = np.asarray(r.flagged).astype(bool)
        data["rank"] = np.asarray(r.rank, dtype=np.int64)
        out = pd.DataFrame(data).sort_values("rank", kind="stable").reset_index(drop=True)
        return out

    def flagged(self) -> pd.DataFrame:
        """The flagged leaks, largest expected dollars first."""
        t = self.table()
        return t[t["flagged"]].reset_index(drop=True)

    def units(self) -> pd.DataFrame:
        """Per unit, the gap to the benchmark and its reconciliation: ``benchmark_wins``
        (what the benchmark would win from the deals, from where they entered) −
        ``pending_wins`` (what it would still win from the pending deals) − ``won`` =
        ``gap`` (deals) = Σ stage shortfalls × downstream win probability; in dollars,
        ``gap_dollars`` = Σ ``dollars``; ``shrunk_gap_dollars`` = Σ ``shrunk_dollars``;
        ``chance_dollars`` the rest (what the prior puts down to noise)."""
        c = self._core
        return pd.DataFrame({
            "benchmark_wins": np.asarray(c.benchmark_wins, dtype=float),
            "pending_wins": np.asarray(c.pending_wins, dtype=float),
            "won": np.asarray(c.won, dtype=np.int64),
            "gap": np.asarray(c.gap, dtype=float),
            "average_value": np.asarray(c.average_value, dtype=float),
            "gap_dollars": np.asarray(c.gap_dollars, dtype=float),
            "shrunk_gap_dollars": np.asarray(c.shrunk_gap_dollars, dtype=float),
            "chance_dollars": np.asarray(c.chance_dollars, dtype=float),
        }, index=pd.Index(self.unit_names, name="unit"))

    def stages(self) -> pd.DataFrame:
        """Per open stage: the pooled conversion rate, the empirical-Bayes concentration
        κ (small: units truly differ; large: their differences look like chance), the
        benchmark rate (NaN for ``own_past``, which differs per unit) and the units with
        decided deals there."""
        c = self._core
        return pd.DataFrame({
            "pooled_rate": np.asarray(c.pooled_rate, dtype=float),
            "concentration": np.asarray(c.concentration, dtype=float),
            "benchmark": np.asarray(c.stage_benchmark, dtype=float),
            "units": np.asarray(c.stage_units, dtype=np.int64),
        }, index=pd.Index(self.stage_names, name="stage"))

    def reasons(self) -> pd.DataFrame:
        """Lost deals by unit, stage and reason (``(stalled)``: closed for stalling),
        with ``disqualified`` marking the reasons given to ``disqualify``."""
        rows = [{"unit": self.unit_names[int(r.unit)], "stage": self.stage_names[int(r.stage)],
                 "reason": str(r.reason), "disqualified": bool(r.disqualified), "deals": int(r.deals)}
                for r in self._core.reasons]
        return pd.DataFrame(rows, columns=["unit", "stage", "reason", "disqualified", "deals"])

    def waterfall(self, unit: str | None = None, *, ax: Any = None, shrunk: bool = True) -> Any:
        """A waterfall of the dollars: from what the deals would have won at the
        benchmark (less what the pending deals may still win), down through the leak at
        each stage, to the dollars actually won. ``unit=None`` sums every unit. Stage
        bars show the shrunk leaks (``shrunk=False``: the raw ones) and a last bar
        what the prior puts down to chance, so the bars always reconcile. Returns the
        matplotlib Axes."""
        from .plots import leak_waterfall

        return leak_waterfall(self, unit, ax=ax, shrunk=shrunk)

    def __repr__(self) -> str:
        t = self.table()
        flagged = int(t["flagged"].sum())
        dollars = float(t.loc[t["flagged"], "shrunk_dollars"].sum())
        return (f"LeakAssessment({self.benchmark}: {len(self.unit_names):,} units x {len(self.stage_names)} stages, "
                f"{flagged} flagged leaks, ${dollars:,.0f} at stake)")

    def _repr_html_(self) -> str:
        head = self.flagged().head(10)[["unit", "stage", "trials", "rate", "own_benchmark", "benchmark",
                                        "own_probability", "shrunk_shortfall", "shrunk_dollars"]]
        return f"<div><b>{html.escape(repr(self))}</b>{head.to_html(index=False, float_format='{:,.3f}'.format)}</div>"


def beta_binomial_concentration(converted: Sequence[int], trials: Sequence[int]) -> float:
    """The empirical-Bayes concentration κ of a beta-binomial fitted to per-unit counts,
    its mean fixed at the pooled rate (0 when fewer than two units have trials, or
    the pooled rate is 0 or 1).

    >>> round(beta_binomial_concentration([5, 5, 5, 5], [10, 10, 10, 10])) == 100_000
    True
    """
    return float(_core.beta_binomial_concentration(np.asarray(converted, dtype=np.int64),
                                                   np.asarray(trials, dtype=np.int64)))


__all__ = ["BENCHMARKS", "LeakAssessment", "LeakCounts", "beta_binomial_concentration", "leak_counts", "leaks"]
