"""Charts (matplotlib): the funnel, an indicator's trend, the pipeline flow, the leak
waterfall, the practice scores, the target against the run rate and the rep quadrant.
Each takes ``ax=`` (a new figure when None) and returns the Axes. matplotlib is
imported only when a chart is drawn; without it, a chart raises an ImportError that
says how to install it."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from .indicators import Indicators
    from .leaks import LeakAssessment
    from .stages import Timelines


def _pyplot() -> Any:
    try:
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg",) and not _interactive():
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("salesperf charts need matplotlib: pip install 'salesperf[plot]'") from e
    return plt


def _interactive() -> bool:
    import sys

    return "ipykernel" in sys.modules or hasattr(sys, "ps1")


def _money(x: float) -> str:
    sign, a = ("-" if x < 0 else ""), abs(x)
    if a >= 1e9:
        return f"{sign}${a / 1e9:,.2f}B"
    if a >= 1e6:
        return f"{sign}${a / 1e6:,.2f}M"
    if a >= 1e3:
        return f"{sign}${a / 1e3:,.0f}k"
    return f"{sign}${a:,.0f}"


def waterfall_steps(leaks: LeakAssessment, unit: str | None = None, *, shrunk: bool = True) -> pd.DataFrame:
    """The bars of :func:`leak_waterfall` as a table (label, kind, amount, start,
    end): the dollars the benchmark would bring in (less what pending deals may still
    bring), minus each stage's leak, minus what the prior puts down to chance, equals
    the dollars won (won deals x average value). ``end`` of the last bar is that."""
    units = leaks.units()
    table = leaks.table()
    if unit is not None:
        if unit not in units.index:
            raise InvalidArgumentError(f"no unit {unit!r}; units are {list(units.index[:10])}")
        units = units.loc[[unit]]
        table = table[table["unit"] == unit]
    v = units["average_value"]
    start = float(((units["benchmark_wins"] - units["pending_wins"]) * v).sum())
    won = float((units["won"] * v).sum())
    if not math.isfinite(start):
        raise InvalidArgumentError("the benchmark is missing at some stage (NaN), so the gap has no dollar value")
    column = "shrunk_dollars" if shrunk else "dollars"
    by_stage = table.groupby("stage", observed=False)[column].sum()
    steps: list[tuple[str, float]] = [(stage, -float(by_stage.get(stage, 0.0))) for stage in leaks.stage_names]
    if shrunk:
        steps.append(("chance", -float(units["chance_dollars"].sum())))
    rows: list[dict[str, Any]] = [{"label": "at benchmark", "kind": "total", "amount": start, "start": 0.0,
                                   "end": start}]
    level = start
    for label, amount in steps:
        rows.append({"label": label, "kind": "leak", "amount": amount, "start": level, "end": level + amount})
        level += amount
    rows.append({"label": "won", "kind": "total", "amount": won, "start": 0.0, "end": won})
    return pd.DataFrame(rows, columns=["label", "kind", "amount", "start", "end"])


def leak_waterfall(leaks: LeakAssessment, unit: str | None = None, *, ax: Any = None, shrunk: bool = True) -> Any:
    """Draws :func:`waterfall_steps` on ``ax`` (a new figure when None); returns the Axes."""
    plt = _pyplot()
    steps = waterfall_steps(leaks, unit, shrunk=shrunk)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    x = np.arange(len(steps))
    colors = []
    for kind, amount in zip(steps["kind"], steps["amount"]):
        colors.append("#4a6fa5" if kind == "total" else ("#c8553d" if amount < 0 else "#6a994e"))
    bottoms = np.minimum(steps["start"], steps["end"])
    heights = (steps["end"] - steps["start"]).abs()
    ax.bar(x, heights, bottom=bottoms, color=colors, width=0.7)
    for i, (amount, top) in enumerate(zip(steps["amount"], np.maximum(steps["start"], steps["end"]))):
        ax.annotate(_money(amount), (i, top), ha="center", va="bottom", fontsize=8, xytext=(0, 2),
                    textcoords="offset points")
    ax.set_xticks(x, steps["label"], rotation=30, ha="right")
    ax.yaxis.set_major_formatter(lambda v, _pos: _money(v))
    # The changes are small next to the totals: start the axis near the lowest level
    # (and say so) rather than at zero, where every leak would be a sliver.
    levels = np.concatenate([steps["start"].to_numpy()[1:-1], steps["end"].to_numpy()])
    low, high = float(levels.min()), float(levels.max())
    if low > 0 and (high - low) < 0.5 * high:
        ax.set_ylim(max(0.0, low - 0.6 * (high - low)), high + 0.15 * (high - low))
        ax.annotate("axis does not start at zero", (0.99, 0.01), xycoords="axes fraction", ha="right",
                    va="bottom", fontsize=7, color="#777777")
    who = "every unit" if unit is None else unit
    ax.set_title(f"Where the bucket leaks ({who}, against {leaks.benchmark.replace('_', ' ')})")
    ax.set_ylabel("dollars")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def practice_scores(practices: pd.DataFrame, *, ax: Any = None) -> Any:
    """Horizontal bars of each practice's scores (questionnaire, data, combined; 0-100),
    annotated with the leak dollars attributed to it. ``practices`` is
    :meth:`salesperf.PracticeAssessment.table`'s frame. Returns the Axes."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 5), layout="constrained")
    df = practices.iloc[::-1]
    y = np.arange(len(df))
    h = 0.27
    series = [("questionnaire_score", "questionnaire", "#9bb1d4"), ("data_score", "data", "#f2b880"),
              ("score", "combined", "#4a6fa5")]
    for j, (col, label, color) in enumerate(series):
        vals = df[col].to_numpy(dtype=float)
        ax.barh(y + (1 - j) * h, np.nan_to_num(vals), height=h, color=color, label=label)
        for yi, v in zip(y + (1 - j) * h, vals):
            if math.isnan(v):
                ax.annotate("n/a", (1, yi), va="center", fontsize=7, color="#777777")
    for yi, d in zip(y, df["leak_dollars"].to_numpy(dtype=float)):
        if d > 0:
            ax.annotate(_money(d), (101, yi), va="center", fontsize=8, color="#c8553d")
    ax.set_yticks(y, df["name"] if "name" in df else df.index)
    ax.set_xlim(0, 118)
    ax.set_xticks([0, 20, 40, 60, 80, 100])
    ax.annotate("leak $", (101, len(df) - 0.4), fontsize=8, color="#c8553d")
    ax.set_xlabel("score (0-100); right: leak dollars attributed to the practice")
    ax.set_title("The nine practices", pad=24)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def target_vs_run_rate(table: pd.DataFrame, unit: str | None = None, *, ax: Any = None) -> Any:
    """Bars of the stage entries needed per week (with the interval as an error bar)
    beside the current run rate, per stage; ``table`` is
    :meth:`salesperf.TargetPlan.table`'s frame; ``unit=None`` sums every unit (the
    bounds are then summed too, which overstates the width). Returns the Axes."""
    plt = _pyplot()
    if unit is not None:
        if unit not in set(table["unit"].astype(str)):
            raise InvalidArgumentError(f"no unit {unit!r} in the plan")
        table = table[table["unit"].astype(str) == unit]
    g = table.groupby("stage", observed=True)[["entries_per_week", "entries_lower", "entries_upper",
                                               "run_rate"]].sum()
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    x = np.arange(len(g))
    need = g["entries_per_week"].to_numpy(float)
    err = np.vstack([need - g["entries_lower"].to_numpy(float), g["entries_upper"].to_numpy(float) - need])
    ax.bar(x - 0.2, need, width=0.4, color="#4a6fa5", label="needed per week", yerr=np.clip(err, 0, None),
           capsize=3)
    ax.bar(x + 0.2, g["run_rate"].to_numpy(float), width=0.4, color="#f2b880", label="run rate now")
    ax.set_xticks(x, [str(s) for s in g.index], rotation=30, ha="right")
    ax.set_ylabel("deals entering the stage per week")
    who = "every unit" if unit is None else unit
    ax.set_title(f"Working backwards from the number ({who})")
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


_QUADRANT_COLORS = {"productive": "#6a994e", "efficient, low activity": "#4a6fa5",
                    "busy, low conversion": "#f2b880", "low activity, low conversion": "#c8553d",
                    "unknown": "#999999"}


def rep_quadrant(diagnosis: pd.DataFrame, *, ax: Any = None, label: str = "flagged") -> Any:
    """The rep quadrant: activity volume against conversion, each relative to peers
    (1 = the median peer's volume; the wins the deal mix predicts), with their
    intervals as error bars, one point per unit coloured by its quadrant; a ring marks
    the non-productive. ``diagnosis`` is :meth:`salesperf.RepDiagnosis.table`'s frame.
    ``label``: "flagged" names the non-productive units and the positive deviants'
    corner (conversion lower bound above 1), "all" every unit, "none" no unit.
    Returns the Axes."""
    if label not in ("flagged", "all", "none"):
        raise InvalidArgumentError(f"label must be 'flagged', 'all' or 'none', not {label!r}")
    need = ["unit", "volume_ratio", "volume_lower", "volume_upper", "conversion", "conversion_lower",
            "conversion_upper", "quadrant", "non_productive"]
    missing = [c for c in need if c not in diagnosis.columns]
    if missing:
        raise InvalidArgumentError(f"diagnosis lacks the columns {missing}; pass RepDiagnosis.table()")
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 6), layout="constrained")
    df = diagnosis[np.isfinite(diagnosis["volume_ratio"].to_numpy(float))
                   & np.isfinite(diagnosis["conversion"].to_numpy(float))]
    x = df["volume_ratio"].to_numpy(float)
    y = df["conversion"].to_numpy(float)
    xerr = np.clip(np.vstack([x - df["volume_lower"].to_numpy(float), df["volume_upper"].to_numpy(float) - x]),
                   0, None)
    yerr = np.clip(np.vstack([y - df["conversion_lower"].to_numpy(float),
                              df["conversion_upper"].to_numpy(float) - y]), 0, None)
    ax.errorbar(x, y, xerr=np.nan_to_num(xerr), yerr=np.nan_to_num(yerr), fmt="none", ecolor="#cccccc",
                elinewidth=0.8, zorder=1)
    for quadrant, color in _QUADRANT_COLORS.items():
        mine = (df["quadrant"] == quadrant).to_numpy()
        if mine.any():
            ax.scatter(x[mine], y[mine], s=36, color=color, label=quadrant, zorder=2)
    flagged = df["non_productive"].to_numpy(bool)
    if flagged.any():
        ax.scatter(x[flagged], y[flagged], s=130, facecolors="none", edgecolors="#c8553d", linewidths=1.4,
                   label="non-productive", zorder=3)
    ax.axvline(1, color="#777777", lw=0.8, ls="--")
    ax.axhline(1, color="#777777", lw=0.8, ls="--")
    if label != "none":
        beats = df["conversion_lower"].to_numpy(float) > 1
        for i, unit in enumerate(df["unit"].astype(str)):
            if label == "all" or flagged[i] or beats[i]:
                ax.annotate(unit, (x[i], y[i]), fontsize=7, xytext=(4, 3), textcoords="offset points")
    ax.set_xlabel("activity volume: seller activities per active deal-week / median peer (will)")
    ax.set_ylabel("conversion: wins / wins expected from the deal mix (skill)")
    ax.set_title("Rep quadrant: what they do against what it gets")
    ax.legend(frameon=False, fontsize=7, loc="best")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


# ---------------------------------------------------------------- the funnel

def funnel_steps(source: Timelines | LeakAssessment, unit: str | None = None, *,
                 benchmark: bool | None = None) -> pd.DataFrame:
    """The bars of :func:`funnel` as a table, one row per open stage and Won:
    ``deals`` (the bar), ``share_of_first`` (``deals`` / the first stage's),
    ``conversion`` (``deals`` / the previous row's; NaN for the first) and
    ``benchmark_reach`` (the marker; NaN where there is none).

    From a :class:`~salesperf.Timelines`, ``deals`` is ``stage_counts()``: the deals
    that ever entered the stage (a deal that skipped a stage did not enter it, so a
    conversion can exceed 100%). From a :class:`~salesperf.LeakAssessment`, ``deals``
    is ``reached`` of ``table()`` for ``unit`` (every unit summed when None): a deal
    that skipped a stage passed through it, so ``reached`` only falls from stage to
    stage except for new entrants; Won is ``units()["won"]``. ``benchmark_reach`` of
    a stage after the first is ``entrants`` there + ``expected`` of the stage before:
    the deals that would have reached it had the stage before converted its decided
    deals at the benchmark, so the bar minus the marker is minus the previous stage's
    ``shortfall``.
    """
    from .leaks import LeakAssessment
    from .stages import Timelines

    if isinstance(source, Timelines):
        if unit is not None:
            raise InvalidArgumentError(
                f"unit={unit!r}: Timelines count the whole organisation; pass a LeakAssessment "
                "(salesperf.leaks(..., by=...)) for one unit's funnel")
        if benchmark:
            raise InvalidArgumentError("benchmark=True needs a LeakAssessment; Timelines have no benchmark")
        counts = source.stage_counts()["deals_entered"]
        labels = [s for s in source.stage_names if s != "Lost"]
        deals = counts.reindex(labels).to_numpy(dtype=float)
        reach = np.full(len(labels), np.nan)
    elif isinstance(source, LeakAssessment):
        table = source.table()
        units = source.units()
        if unit is not None:
            if unit not in units.index:
                raise InvalidArgumentError(f"no unit {unit!r}; units are {list(units.index[:10])}")
            table = table[table["unit"] == unit]
            units = units.loc[[unit]]
        labels = list(source.stage_names) + ["Won"]
        by_stage = table.groupby("stage", observed=False)[["reached", "entrants", "expected"]].sum(min_count=1)
        by_stage = by_stage.reindex(source.stage_names)
        deals = np.append(by_stage["reached"].fillna(0).to_numpy(float), float(units["won"].sum()))
        if benchmark is None or benchmark:
            entrants = np.append(by_stage["entrants"].fillna(0).to_numpy(float), 0.0)
            expected = by_stage["expected"].to_numpy(float)
            reach = np.concatenate([[np.nan], entrants[1:] + expected])
        else:
            reach = np.full(len(labels), np.nan)
    else:
        raise InvalidArgumentError(
            f"funnel takes Timelines or a LeakAssessment, not {type(source).__name__}")
    with np.errstate(divide="ignore", invalid="ignore"):
        share = deals / deals[0] if len(deals) and deals[0] > 0 else np.full(len(deals), np.nan)
        conversion = np.concatenate([[np.nan], np.where(deals[:-1] > 0, deals[1:] / np.where(deals[:-1] > 0,
                                                                                                deals[:-1], 1),
                                                        np.nan)])
    return pd.DataFrame({"stage": labels, "deals": deals, "share_of_first": share, "conversion": conversion,
                         "benchmark_reach": reach})


def funnel(source: Timelines | LeakAssessment, unit: str | None = None, *, benchmark: bool | None = None,
           ax: Any = None) -> Any:
    """Horizontal bars of the deals reaching each buyer-defined open stage and Won
    (first stage on top), each annotated with its count, its share of the first stage
    and the conversion from the stage before. The figures are :func:`funnel_steps`.

    ``source``: :class:`~salesperf.Timelines` (the whole organisation: deals that
    entered each stage) or a :class:`~salesperf.LeakAssessment` (``unit``'s deals, every
    unit when None: deals that reached each stage). With a LeakAssessment and
    ``benchmark`` True or None, a black tick marks per stage the deals the benchmark
    expected to reach it from the stage before. Returns the Axes.

    >>> import salesperf
    >>> c = salesperf.synth.company(events=5_000, seed=2)
    >>> log = c.event_log()
    >>> ax = salesperf.plots.funnel(c.stage_model().run(log))
    >>> [t.get_text() for t in ax.get_yticklabels()][:2]
    ['Lead', 'Engaged']
    """
    plt = _pyplot()
    steps = funnel_steps(source, unit, benchmark=benchmark)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * len(steps) + 1.6), layout="constrained")
    y = np.arange(len(steps))
    colors = ["#6a994e" if s == "Won" else "#4a6fa5" for s in steps["stage"]]
    deals = steps["deals"].to_numpy(float)
    ax.barh(y, deals, height=0.65, color=colors)
    top = float(np.nanmax(np.concatenate([deals, steps["benchmark_reach"].to_numpy(float)]))) if len(deals) else 1.0
    top = top if top > 0 else 1.0
    reach = steps["benchmark_reach"].to_numpy(float)
    share = steps["share_of_first"].to_numpy(float)
    conversion = steps["conversion"].to_numpy(float)
    for i in range(len(steps)):
        text = f"{deals[i]:,.0f}"
        if i > 0 and math.isfinite(share[i]):
            text += f"  ({share[i]:.0%} of first"
            text += f"; {conversion[i]:.0%} of previous)" if math.isfinite(conversion[i]) else ")"
        at = max(deals[i], reach[i]) if math.isfinite(reach[i]) else deals[i]
        ax.annotate(text, (at, i), xytext=(6, 0), textcoords="offset points", va="center", fontsize=8)
    has = np.isfinite(reach)
    if has.any():
        ax.scatter(reach[has], y[has], marker="|", s=400, linewidths=2, color="#222222", zorder=3,
                   label="benchmark's reach from the stage before")
        ax.legend(frameon=False, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), markerscale=0.5)
    ax.set_yticks(y, list(steps["stage"]))
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.45)
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:,.0f}")
    from .leaks import LeakAssessment

    if isinstance(source, LeakAssessment):
        who = "every unit" if unit is None else unit
        ax.set_xlabel("deals that reached the stage (skipped stages count as passed)")
        ax.set_title(f"Funnel ({who}, against {source.benchmark.replace('_', ' ')})", pad=24 if has.any() else 6)
    else:
        ax.set_xlabel("deals that entered the stage")
        ax.set_title("Funnel (every deal)")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


# ---------------------------------------------------------------- indicator trends

_PERCENT_PREFIXES = ("win_rate", "conversion:", "win_from:", "answered:")
_MONEY_SUFFIXES = ("_dollars", "dollars_entered:", "avg_won_size")


def _indicator_rows(indicators: Indicators, indicator: str, confidence: float) -> pd.DataFrame:
    t = indicators.table(confidence, include_all=False)
    names = list(t["indicator"].cat.categories)
    if indicator not in names:
        close = [n for n in names if indicator.split(":")[0] in n][:8] or names[:8]
        raise InvalidArgumentError(f"no indicator {indicator!r}; e.g. {close} (see docs/indicators.md)")
    return t[t["indicator"] == indicator]


def _trend_units(rows: pd.DataFrame, units: Any) -> list[str]:
    known = [str(u) for u in rows["unit"].cat.categories]
    if units is None:
        finite = rows[np.isfinite(rows["value"].to_numpy(float))]
        if finite.empty:
            return known[:6]
        last = finite.groupby("unit", observed=True)["period"].max().map(
            lambda p: rows["period"].cat.categories.get_loc(p))
        size = finite.groupby("unit", observed=True)["n"].sum()
        order = pd.DataFrame({"last": last, "n": size.reindex(last.index)})
        order.index = order.index.astype(str)
        order = order.reset_index(names="unit").sort_values(["last", "n", "unit"], ascending=[False, False, True])
        return list(order["unit"][:6])
    if isinstance(units, str):
        units = known if units == "all" else [units]
    chosen = [str(u) for u in units]
    for u in chosen:
        if u not in known:
            raise InvalidArgumentError(f"no unit {u!r}; units are {known[:10]}")
    return chosen


def indicator_trend(indicators: Indicators, indicator: str, units: Any = None, *, ax: Any = None,
                    confidence: float = 0.95) -> Any:
    """One line per unit: ``indicator``'s value per period, as
    :meth:`salesperf.Indicators.table` gives it, with the interval (``lower`` to
    ``upper`` at ``confidence``) as a shaded band for the ratios that have one.
    Periods with no value (NaN: nothing to divide, a median not reached) are gaps.

    ``units``: None (up to six units, those with the most recent value first, then the
    most data), ``"all"``, a unit name or a list of names. Returns the Axes.

    >>> import salesperf
    >>> c = salesperf.synth.company(events=5_000, seed=2)
    >>> log = c.event_log()
    >>> ind = salesperf.indicators(log, c.stage_model().run(log), by=None, period="quarter")
    >>> ax = salesperf.plots.indicator_trend(ind, "win_rate")
    >>> ax.get_title()
    'win_rate per quarter (all; band: 95% interval)'
    """
    rows = _indicator_rows(indicators, indicator, confidence)
    chosen = _trend_units(rows, units)
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    periods = [str(p) for p in rows["period"].cat.categories if str(p) != "all"]
    mine = rows[rows["unit"].astype(str).isin(chosen)]
    used = sorted({periods.index(str(p)) for p in mine["period"]}) if len(mine) else []
    lo_p = used[0] if used else 0
    hi_p = used[-1] if used else len(periods) - 1
    shown = periods[lo_p:hi_p + 1]
    x = np.arange(len(shown))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    banded = False
    few = len(chosen) <= 6  # few lines: bolder lines and bands
    for i, unit in enumerate(chosen):
        r = mine[mine["unit"].astype(str) == unit].set_index(mine["period"].astype(str)[mine["unit"].astype(str)
                                                                                       == unit])
        r = r.reindex(shown)
        y = r["value"].to_numpy(float)
        lower, upper = r["lower"].to_numpy(float), r["upper"].to_numpy(float)
        color = colors[i % len(colors)]
        ax.plot(x, y, marker="o", ms=3 if few else 2, lw=1.5 if few else 1.0, color=color, label=unit)
        ok = np.isfinite(lower) & np.isfinite(upper)
        if ok.any():
            banded = True
            ax.fill_between(x, np.where(ok, lower, 0.0), np.where(ok, upper, 0.0), where=ok, color=color,
                            alpha=0.15 if few else 0.05, lw=0, label=f"_band {unit}")
    step = max(1, math.ceil(len(shown) / 16))
    ax.set_xticks(x[::step], shown[::step], rotation=45, ha="right")
    if indicator.startswith(_PERCENT_PREFIXES) or indicator == "win_rate_value":
        ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
        ylabel = f"{indicator} (share)"
    elif indicator.endswith(_MONEY_SUFFIXES) or indicator.startswith("dollars_entered:"):
        ax.yaxis.set_major_formatter(lambda v, _pos: _money(v))
        ylabel = f"{indicator} (dollars)"
    elif indicator == "velocity":
        ax.yaxis.set_major_formatter(lambda v, _pos: _money(v))
        ylabel = "velocity (dollars per day)"
    elif indicator.startswith(("time_in_stage", "cycle_time")):
        ylabel = f"{indicator} (days)"
    else:
        ylabel = indicator
    ax.set_ylabel(ylabel)
    ax.set_xlabel(indicators.calendar.spec.split(":")[0].replace("_", " "))
    who = ", ".join(chosen) if len(chosen) <= 3 else f"{len(chosen)} units"
    band = f"; band: {confidence:.0%} interval" if banded else ""
    ax.set_title(f"{indicator} per {indicators.calendar.spec.split(':')[0].replace('_', ' ')} ({who}{band})")
    if 1 < len(chosen) <= 6:
        ax.legend(frameon=False, fontsize=8, ncol=min(3, len(chosen)))
    elif len(chosen) > 6:
        ax.legend(frameon=False, fontsize=7, ncol=1 + len(chosen) // 20, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    return ax


# ---------------------------------------------------------------- pipeline flow

FLOW_IDENTITY = "open_end = open_start + created + reopened - won - lost - excluded"
_FLOW_TERMS = (("open_start", "total", 1), ("created", "in", 1), ("reopened", "in", 1), ("won", "out", -1),
               ("lost", "out", -1), ("excluded", "out", -1))


def flow_steps(indicators: Indicators, unit: str | None = None, *, period: str | None = None) -> pd.DataFrame:
    """The bars of :func:`pipeline_flow` as a table (label, kind, amount, start, end):
    the deals open at the start of ``period``, plus those created and reopened, minus
    those won, lost and excluded, equal the deals open at its end
    (``open_end = open_start + created + reopened − won − lost − excluded``, exact
    for every unit and period; stage moves and stalls do not change the count of open
    deals). A last ``memo`` row gives ``stalled`` (deals that went quiet in the period
    and are still stalled: open deals, part of the flow's counts, not a term).

    ``unit``: one unit, or None for every unit summed. ``period``: a period label,
    None or ``"all"`` for every period together (from nothing open to the deals open
    at ``as_of``), or ``"last"`` for the last period. Raises
    :class:`~salesperf.errors.InternalError` if the figures do not reconcile.
    """
    t = indicators.table(include_all=True)
    labels = [str(p) for p in t["period"].cat.categories]
    if period is None:
        period = "all"
    elif period == "last":
        period = [p for p in labels if p != "all"][-1] if len(labels) > 1 else "all"
    if period not in labels:
        real = [p for p in labels if p != "all"]
        raise InvalidArgumentError(
            f"no period {period!r}; periods run from {real[0] if real else None!r} to "
            f"{real[-1] if real else None!r} (or 'all', 'last')")
    t = t[t["period"] == period]
    if unit is not None:
        known = [str(u) for u in indicators.units]
        if unit not in known:
            raise InvalidArgumentError(f"no unit {unit!r}; units are {known[:10]}")
        t = t[t["unit"] == unit]
    names = [n for n, _, _ in _FLOW_TERMS] + ["open_end", "stalled"]
    sums = t[t["indicator"].isin(names)].groupby("indicator", observed=False)["value"].sum()
    f = {n: float(sums.get(n, 0.0)) for n in names}
    expected = sum(sign * f[n] for n, _, sign in _FLOW_TERMS)
    if expected != f["open_end"]:
        from .errors import InternalError

        raise InternalError(f"the pipeline flow does not reconcile for unit {unit!r}, period {period!r}: "
                            f"{FLOW_IDENTITY} gives {expected:g}, open_end is {f['open_end']:g}")
    rows: list[dict[str, Any]] = [{"label": "open_start", "kind": "total", "amount": f["open_start"],
                                   "start": 0.0, "end": f["open_start"]}]
    level = f["open_start"]
    for name, kind, sign in _FLOW_TERMS[1:]:
        amount = sign * f[name] + 0.0  # no -0
        rows.append({"label": name, "kind": kind, "amount": amount, "start": level, "end": level + amount})
        level += amount
    rows.append({"label": "open_end", "kind": "total", "amount": f["open_end"], "start": 0.0,
                 "end": f["open_end"]})
    rows.append({"label": "stalled", "kind": "memo", "amount": f["stalled"], "start": 0.0, "end": f["stalled"]})
    out = pd.DataFrame(rows, columns=["label", "kind", "amount", "start", "end"])
    out.attrs["period"] = period
    return out


def pipeline_flow(indicators: Indicators, unit: str | None = None, *, period: str | None = None,
                  ax: Any = None) -> Any:
    """A waterfall of the open pipeline in deals: open at the start, + created,
    + reopened, − won, − lost, − excluded = open at the end
    (:data:`FLOW_IDENTITY`, checked before drawing), and, hatched beside it, the
    deals that stalled (open deals, so not a term of the sum). The figures are
    :func:`flow_steps`; ``unit`` None sums every unit; ``period`` None is every
    period together (``"last"``: the last period). Returns the Axes.

    >>> import salesperf
    >>> c = salesperf.synth.company(events=5_000, seed=2)
    >>> log = c.event_log()
    >>> ind = salesperf.indicators(log, c.stage_model().run(log), by=None, period="quarter")
    >>> ax = salesperf.plots.pipeline_flow(ind, period="last")
    >>> [t.get_text() for t in ax.get_xticklabels()][:3]
    ['open at start', '+ created', '+ reopened']
    """
    plt = _pyplot()
    steps = flow_steps(indicators, unit, period=period)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    x = np.arange(len(steps))
    palette = {"total": "#4a6fa5", "in": "#6a994e", "out": "#c8553d", "memo": "#bbbbbb"}
    colors = [palette[k] for k in steps["kind"]]
    bottoms = np.minimum(steps["start"], steps["end"])
    heights = (steps["end"] - steps["start"]).abs()
    bars = ax.bar(x, heights, bottom=bottoms, color=colors, width=0.7)
    bars[-1].set_hatch("//")
    bars[-1].set_edgecolor("#777777")
    for i, (kind, amount, top) in enumerate(zip(steps["kind"], steps["amount"],
                                               np.maximum(steps["start"], steps["end"]))):
        text = f"{amount:+,.0f}" if kind in ("in", "out") and amount != 0 else f"{amount:,.0f}"
        ax.annotate(text, (i, top), ha="center", va="bottom", fontsize=8, xytext=(0, 2),
                    textcoords="offset points")
    names = {"open_start": "open at start", "created": "+ created", "reopened": "+ reopened", "won": "− won",
             "lost": "− lost", "excluded": "− excluded", "open_end": "open at end",
             "stalled": "of which stalled*"}
    ax.set_xticks(x, [names[s] for s in steps["label"]], rotation=30, ha="right")
    ax.set_ylabel("deals")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:,.0f}")
    ax.set_xlabel("* went quiet in the period and still stalled at as_of: open deals, not a term of the sum",
                  fontsize=7, color="#777777")
    high = float(np.maximum(steps["start"], steps["end"]).max())
    ax.set_ylim(0, 1.12 * high if high > 0 else 1.0)
    p = "every period" if steps.attrs["period"] == "all" else steps.attrs["period"]
    who = "every unit" if unit is None else unit
    ax.set_title(f"Pipeline flow ({who}, {p})")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


__all__ = ["FLOW_IDENTITY", "flow_steps", "funnel", "funnel_steps", "indicator_trend", "leak_waterfall",
           "pipeline_flow", "practice_scores", "rep_quadrant", "target_vs_run_rate", "waterfall_steps"]
