"""Charts (matplotlib): the leak waterfall, the practice scores, the target against the
run rate and the rep quadrant. matplotlib is
imported only when a chart is drawn; without it, a chart raises an ImportError that
says how to install it."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from .leaks import LeakAssessment


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


__all__ = ["leak_waterfall", "practice_scores", "rep_quadrant", "target_vs_run_rate", "waterfall_steps"]
