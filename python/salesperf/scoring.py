"""The scorecard: one row per unit (rep, team, segment, ...) and period, with the
leading indicators, the dollars leaked against the benchmark, and (per rep) the
skill/will diagnosis, as a flat table for nightly scripts, spreadsheets and BI tools.

Every column is listed, with its dtype, unit and definition, in
:data:`SCORECARD_SCHEMA` and in ``docs/scorecard.md``. :func:`write_scorecard` saves
a scorecard as Parquet or CSV and :func:`read_scorecard` reads it back with its dtypes.

>>> import salesperf
>>> from salesperf.scoring import scorecard, SCORECARD_SCHEMA
>>> c = salesperf.synth.company(events=100_000, seed=7)
>>> log = c.event_log()
>>> tl = c.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
>>> card = scorecard(log, tl, by="rep", period="month")
>>> list(card.columns[:5])
['unit', 'period', 'period_start', 'period_end', 'period_complete']
>>> card[["unit", "period"]].iloc[0].tolist()
['rep-01', '2024-01']
>>> whole = salesperf.leaks(log, tl, by="rep").units()["gap_dollars"]
>>> per_rep = card.groupby("unit")["leak_dollars"].sum()
>>> bool(((per_rep - whole.reindex(per_rep.index)).abs() <= 1e-6 * whole.abs().max()).all())
True
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .behaviours import behaviours as _behaviours
from .calendar import Calendar
from .deviance import deviants as _deviants
from .deviance import diagnose as _diagnose
from .errors import Error, InvalidArgumentError
from .event_log import EventLog
from .indicators import _frame, _units
from .indicators import indicators as _indicators
from .leaks import leak_counts as _leak_counts
from .leaks import leaks as _leaks
from .stages import Timelines, check_log_and_timelines
from .stats import wilson_interval

__all__ = ["SCORECARD_SCHEMA", "read_scorecard", "scorecard", "write_scorecard"]

_NAT = np.iinfo(np.int64).min
_UTC = "datetime64[ns, UTC]"
_OWNERS = ("most_active", "first", "last")
_BENCHMARKS = ("team_median", "top_quartile")

# (column, dtype, unit, definition, present). "<stage>" stands for each open
# (buyer-defined) stage of the stage model, in funnel order; a group of rows with
# <stage> repeats, as a group, once per stage.
_SCHEMA_ROWS: list[tuple[str, str, str, str, str]] = [
    ("unit", "object", "label",
     "The unit: the deal owner for by='rep' (see owner=), the dimension value, 'all' for by=None, or the "
     "label given by a mapping. Deals with no rep (no dimension value) form the unit '(none)'. Every figure "
     "of a deal belongs to its unit.", "always"),
    ("period", "object", "label",
     "The calendar period's label ('2026-W14', '2026-03', 'FY2026 Q3', ...); labels sort in time order as "
     "text.", "always"),
    ("period_start", _UTC, "UTC time", "When the period starts (included).", "always"),
    ("period_end", _UTC, "UTC time", "When the period ends (excluded): the next period's start.", "always"),
    ("period_complete", "bool", "flag",
     "period_end <= the timelines' as_of: the period is over. The last period is usually partial: its "
     "counts are not yet comparable with full periods.", "always"),
    ("seller_activities", "int64", "events",
     "Events by sellers on the unit's deals whose time falls in the period.", "always"),
    ("buyer_actions", "int64", "events",
     "Events by buyers on the unit's deals whose time falls in the period.", "always"),
    ("buyer_response_ratio", "float64", "ratio",
     "buyer_actions / seller_activities (NaN when seller_activities is 0).", "always"),
    ("buyer_response_ratio_lower", "float64", "ratio",
     "Lower bound at `confidence`: with B = buyer_actions and S = seller_activities, the Wilson interval "
     "(lo, hi) of B / (B + S) mapped by p / (1 - p), the conditional-binomial interval of a ratio of two "
     "Poisson counts. NaN when S is 0.", "always"),
    ("buyer_response_ratio_upper", "float64", "ratio", "Upper bound of the same interval.", "always"),
    ("entries_<stage>", "int64", "transitions",
     "Transitions into the stage in the period, re-entries included.", "per open stage"),
    ("deals_entered_<stage>", "int64", "deals",
     "Deals whose first entry into the stage falls in the period.", "per open stage"),
    ("dollars_entered_<stage>", "float64", "dollars",
     "The values of those deals (a deal's value: the last non-missing amount among its events; deals "
     "without one add 0).", "per open stage"),
    ("created", "int64", "deals", "Deals whose first stage change falls in the period (pipeline created).",
     "always"),
    ("created_dollars", "float64", "dollars", "Their values.", "always"),
    ("won", "int64", "transitions", "Transitions into Won in the period.", "always"),
    ("won_dollars", "float64", "dollars",
     "The values of the deals of those transitions: dollars in the door.", "always"),
    ("lost", "int64", "transitions",
     "Transitions into Lost in the period (closes of stalled deals included).", "always"),
    ("stalled", "int64", "deals",
     "Deals whose stall onset (quiet since + the stage's stall limit) falls in the period and that are "
     "still stalled at as_of.", "always"),
    ("open_end", "int64", "deals", "The unit's deals in an open stage at the end of the period.", "always"),
    ("win_rate", "float64", "ratio", "won / (won + lost) (NaN when no deal closed in the period).", "always"),
    ("win_rate_lower", "float64", "ratio", "Lower bound of its Wilson interval at `confidence`.", "always"),
    ("win_rate_upper", "float64", "ratio", "Upper bound of its Wilson interval at `confidence`.", "always"),
    ("conversion_<stage>", "float64", "ratio",
     "Cohort conversion: of the deals that first entered the stage in the period, advanced / (advanced + "
     "failed) (docs/indicators.md); pending deals are left out (NaN when none is decided).",
     "per open stage"),
    ("conversion_<stage>_lower", "float64", "ratio", "Lower bound of its Wilson interval at `confidence`.",
     "per open stage"),
    ("conversion_<stage>_upper", "float64", "ratio", "Upper bound of its Wilson interval at `confidence`.",
     "per open stage"),
    ("conversion_<stage>_pending", "int64", "deals",
     "Deals of that cohort still pending (open, inside the conversion window). More than 0: the cohort is "
     "immature and its conversion tends to read high.", "per open stage"),
    ("cycle_time_median", "float64", "days",
     "Kaplan-Meier median of creation-to-first-close time of the deals created in the period (open deals "
     "censored at as_of); NaN when not reached.", "always"),
    ("velocity", "float64", "dollars/day",
     "created x win_rate x average won deal size / cycle_time_median, on the period's figures; NaN when a "
     "factor is NaN or the median is 0.", "always"),
    ("leak_wins", "float64", "deals",
     "Wins short of the benchmark of the deals whose funnel entry (first entry into an open stage) falls "
     "in the period: sum over open stages k of (b_k x trials_k - advanced_k) x D_k, with the trials and "
     "advances of that cohort (counted as in salesperf.leaks), b_k the benchmark rate of the whole-window "
     "assessment and D_k the product of b_j for the stages after k. Negative: a surplus. 0 for a period "
     "with no cohort; NaN when a benchmark rate it needs is undefined.", "always"),
    ("leak_dollars", "float64", "dollars",
     "leak_wins x the unit's average deal value over the whole window, so that the unit's leak_dollars "
     "over all its periods add up to gap_dollars of salesperf.leaks(..., by=by, benchmark=benchmark) "
     "(raw, not shrunk).", "always"),
    ("know_how", "object", "answer",
     "'no', 'unclear' or 'yes': salesperf.diagnose over the whole window (conversion against the deal "
     "mix).", "by='rep' only"),
    ("want_to", "object", "answer",
     "'no', 'unclear' or 'yes': activity volume against the median peer (whole window).", "by='rep' only"),
    ("understands_metrics", "object", "answer",
     "'no', 'unclear' or 'yes': adoption of the practices to replicate found by salesperf.behaviours "
     "(whole window).", "by='rep' only"),
    ("non_productive", "bool", "flag",
     "The rep does not know how, or does not want to and does not convert as the deal mix predicts.",
     "by='rep' only"),
    ("quadrant", "object", "label",
     "'productive', 'efficient, low activity', 'busy, low conversion', 'low activity, low conversion' or "
     "'unknown'.", "by='rep' only"),
    ("win_ratio_shrunk", "float64", "ratio",
     "The rep's wins against those its deal mix predicts, shrunk toward 1 (diagnose's `conversion`, "
     "deviants' ratio_shrunk); NaN with no decided deal.", "by='rep' only"),
    ("win_ratio_shrunk_lower", "float64", "ratio", "Lower end of its posterior interval at `confidence`.",
     "by='rep' only"),
    ("win_ratio_shrunk_upper", "float64", "ratio", "Upper end of its posterior interval at `confidence`.",
     "by='rep' only"),
    ("diagnosis_as_of", _UTC, "UTC time",
     "The timelines' as_of: the diagnosis covers every deal up to then, the same on each of the rep's "
     "rows.", "by='rep' only"),
]

SCORECARD_SCHEMA: pd.DataFrame = pd.DataFrame(_SCHEMA_ROWS,
                                              columns=["column", "dtype", "unit", "definition", "present"])
"""The scorecard's columns in order: name (``<stage>``: one column per open stage),
dtype, unit of measure, definition, and when it is present (``always``, ``per open
stage``, ``by='rep' only``)."""

_STAGE_GROUPS = ("entries_<stage>", "conversion_<stage>")  # first row of each per-stage group


def _expected_columns(stages: Sequence[str], by_rep: bool) -> list[tuple[str, str]]:
    """(column, dtype) in order for a model with these open stages."""
    out: list[tuple[str, str]] = []
    rows = [r for r in _SCHEMA_ROWS if by_rep or r[4] != "by='rep' only"]
    i = 0
    while i < len(rows):
        if "<stage>" in rows[i][0]:
            j = i
            while j < len(rows) and "<stage>" in rows[j][0]:
                j += 1
            for s in stages:
                out.extend((name.replace("<stage>", s), dtype) for name, dtype, *_ in rows[i:j])
            i = j
        else:
            out.append((rows[i][0], rows[i][1]))
            i += 1
    names = [c for c, _ in out]
    if len(set(names)) != len(names):
        dup = next(c for c in names if names.count(c) > 1)
        raise InvalidArgumentError(
            f"stage names {list(stages)} give two scorecard columns named {dup!r}; rename a stage")
    return out


def _check_by(log: EventLog, by: Any) -> None:
    if by is None or isinstance(by, (pd.Series, Mapping)):
        return
    if isinstance(by, str):
        if by == "rep" or by in log.dimension_names:
            return
        raise InvalidArgumentError(
            f"by: {by!r} is neither 'rep' nor a dimension column of the log (dimensions: "
            f"{log.dimension_names}); give 'rep', a dimension name, None or a Series of unit labels per deal")
    raise InvalidArgumentError(
        f"by must be 'rep', a dimension name, None or a Series of unit labels per deal, not {type(by).__name__}")


def _calendar(period: Any) -> Calendar:
    if isinstance(period, Calendar):
        return period
    if not isinstance(period, str):
        raise InvalidArgumentError(f"period must be a calendar spec such as 'week' or 'month', not {period!r}")
    try:
        return Calendar(period)
    except InvalidArgumentError as e:
        raise InvalidArgumentError(f"period: {e}") from None


def _wilson(x: np.ndarray, n: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score bounds of x / n, row by row with the library's own interval (NaN
    where n is 0)."""
    lo = np.full(len(x), np.nan)
    hi = np.full(len(x), np.nan)
    for i in np.flatnonzero(n > 0):
        r = wilson_interval(int(x[i]), int(n[i]), confidence)
        lo[i], hi[i] = r.lower, r.upper
    return lo, hi


def _leak_columns(log: EventLog, timelines: Timelines, by: Any, owner: str, benchmark: Any,
                  calendar: Calendar) -> tuple[pd.DataFrame, pd.DataFrame]:
    """leak_wins and leak_dollars per (unit, period label) of the funnel-entry cohorts,
    against the benchmark of the whole-window assessment; and the whole-window
    assessment's units() (average_value, and gap_dollars: what they add up to)."""
    whole = _leaks(log, timelines, by=by, owner=owner, benchmark=benchmark)
    stages = whole.stage_names
    o = len(stages)
    b = whole.stages()["benchmark"].to_numpy(dtype=float)
    downstream = np.array([np.prod(b[k + 1:]) for k in range(o)])
    per_unit = whole.units()
    units = _units(log, by, owner)
    names = [str(n) for n in units.names]
    code = np.asarray(units.of_deal, dtype=np.int64)
    first = np.asarray(timelines._core.first_entered, dtype=np.int64)[:, :o]
    entry = np.where(first == _NAT, np.iinfo(np.int64).max, first).min(axis=1) if o else \
        np.full(len(code), np.iinfo(np.int64).max)
    in_funnel = entry != np.iinfo(np.int64).max
    pidx = calendar.period_index(np.where(in_funnel, entry, _NAT).astype(np.int64))
    # One leak-count "unit" per (unit, period of funnel entry); deals outside the funnel
    # get a label of their own (the counts put them in `outside` and nowhere else).
    key = np.where(in_funnel, code.astype(str).astype(object) + ":" + pidx.astype(str).astype(object),
                   code.astype(str).astype(object) + ":out")
    deals = pd.Index(list(log.dictionary("deal")))
    empty = pd.DataFrame({"unit": pd.Series(dtype=object), "period": pd.Series(dtype=object),
                          "leak_wins": pd.Series(dtype=float)})
    if not in_funnel.any():
        return empty, per_unit
    mapping = pd.Series(key, index=deals)
    counts = _leak_counts(log, timelines, by=mapping)
    # The dummy target only makes assess() report the counts; no figure of it is used.
    table = counts.assess(benchmark=[0.5] * o).table()
    cells = table[["unit", "stage", "trials", "advanced"]].copy()
    cells["unit"] = cells["unit"].astype(str)
    cells = cells[~cells["unit"].str.endswith(":out")]
    k = cells["stage"].cat.codes.to_numpy()
    n = cells["trials"].to_numpy(dtype=float)
    x = cells["advanced"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        term = np.where(n > 0, (b[k] * n - x) * downstream[k], 0.0)
    cells["term"] = term
    # NaN propagates: a cohort that needs an undefined benchmark rate has no figure.
    wins = cells.groupby("unit", sort=False)["term"].agg(lambda s: float(s.sum(skipna=False)))
    split = wins.index.str.split(":", n=1)
    u = np.array([int(p[0]) for p in split], dtype=np.int64)
    p = np.array([int(p[1]) for p in split], dtype=np.int64)
    out = pd.DataFrame({"unit": [names[i] for i in u], "period": calendar.labels(p),
                        "leak_wins": wins.to_numpy(dtype=float)})
    return out, per_unit


def scorecard(log: EventLog, timelines: Timelines, *, by: Any = "rep", period: str | Calendar = "week",
              owner: str = "most_active", confidence: float = 0.95, covariates: Sequence[str] | None = None,
              benchmark: str | Mapping[str, float] | Sequence[float] = "team_median") -> pd.DataFrame:
    """The scorecard: one row per unit and period, columns as in :data:`SCORECARD_SCHEMA`.

    Rows: per unit, every period from the period of the unit's first counted event to
    the last period of the whole log (the same for every unit), periods with nothing
    counted included (zero counts, NaN ratios, leak 0), sorted by unit then period.
    Columns: ``unit``, ``period``, ``period_start``, ``period_end``,
    ``period_complete``; the leading indicators of :func:`salesperf.indicators`; the
    dollars leaked against ``benchmark`` by the deals whose funnel entry falls in the
    period (``leak_wins``, ``leak_dollars``, which add up per unit to the whole-window
    ``gap_dollars`` of :func:`salesperf.leaks`); and, for ``by="rep"``, the skill/will
    diagnosis of :func:`salesperf.diagnose` over the whole window, repeated on each of
    the rep's rows.

    Parameters
    ----------
    by, owner:
        The units, as in :func:`salesperf.indicators`: ``"rep"`` (each deal's owner,
        by ``owner``: ``"most_active"``, ``"first"`` or ``"last"``), a dimension column
        name, ``None`` (one unit, ``"all"``) or a Series / mapping deal id -> label.
    period:
        A calendar spec (``"day"``, ``"week"`` = ISO week, ``"month"``, ``"quarter"``,
        ``"year"``, ``"fiscal_quarter:M"``, ...) or a :class:`~salesperf.Calendar`.
    confidence:
        The coverage of every interval (Wilson intervals, the win ratio's posterior).
    covariates:
        The deal-mix columns for :func:`salesperf.deviants` (``None``: every dimension
        column); only with ``by="rep"``.
    benchmark:
        ``"team_median"``, ``"top_quartile"``, or target rates per open stage (a mapping
        stage -> rate, or a list), as in :func:`salesperf.leaks`. ``"own_past"`` needs a
        cohort split and is not offered here.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    InvalidArgumentError
        A bad ``by``, ``period``, ``owner``, ``confidence``, ``benchmark`` or
        ``covariates`` (the message names the option), or stage names that would give
        two columns the same name.

    >>> import salesperf
    >>> from salesperf.scoring import scorecard
    >>> c = salesperf.synth.company(events=20_000, seed=2)
    >>> log = c.event_log()
    >>> card = scorecard(log, c.stage_model().run(log), by="segment", period="quarter")
    >>> "know_how" in card.columns, card["unit"].unique().tolist()
    (False, ['Enterprise', 'Mid-Market', 'SMB'])
    """
    check_log_and_timelines(log, timelines)
    _check_by(log, by)
    calendar = _calendar(period)
    if owner not in _OWNERS:
        raise InvalidArgumentError(f"owner must be one of {_OWNERS}, not {owner!r}")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.integer, np.floating)) \
            or not 0 < float(confidence) < 1:
        raise InvalidArgumentError(f"confidence must be a number between 0 and 1 (exclusive), not {confidence!r}")
    confidence = float(confidence)
    if isinstance(benchmark, str) and benchmark not in _BENCHMARKS:
        extra = (" ('own_past' compares a cohort with its past and needs a cohort split, which a scorecard "
                 "over every period does not have)") if benchmark == "own_past" else ""
        raise InvalidArgumentError(
            f"benchmark must be {_BENCHMARKS[0]!r}, {_BENCHMARKS[1]!r} or target rates per stage, not "
            f"{benchmark!r}{extra}")
    by_rep = isinstance(by, str) and by == "rep"
    if covariates is not None and not by_rep:
        raise InvalidArgumentError("covariates: they are used only by the skill/will columns, which need by='rep'")

    open_stages = list(timelines.stage_names)[: int(timelines._core.num_open)]
    expected = _expected_columns(open_stages, by_rep)

    ind = _indicators(log, timelines, by=by, period=calendar, owner=owner)
    core_table = ind._table_core(confidence, False)
    long = _frame(core_table)
    index_of = dict(zip(core_table.period_labels, np.asarray(core_table.period_index, dtype=np.int64)))
    if long.empty:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in expected})
    long["unit"] = long["unit"].astype(str)
    long["period"] = long["period"].astype(str)
    wide = long.pivot(index=["unit", "period"], columns="indicator", values=["value", "lower", "upper"])
    keys = wide.index.to_frame(index=False)
    keys["_index"] = keys["period"].map(index_of).astype(np.int64)
    order = np.lexsort((keys["_index"].to_numpy(), keys["unit"].to_numpy()))
    wide = wide.iloc[order]
    keys = keys.iloc[order].reset_index(drop=True)
    pindex = keys["_index"].to_numpy()

    def value(name: str, what: str = "value") -> np.ndarray:
        return wide[(what, name)].to_numpy(dtype=float)

    def count(name: str) -> np.ndarray:
        v = value(name)
        if np.isnan(v).any():
            raise Error(f"scorecard: indicator {name!r} has a missing count (internal error; please report)")
        return v.astype(np.int64)

    as_of = timelines.as_of
    cols: dict[str, Any] = {
        "unit": keys["unit"].to_numpy(dtype=object),
        "period": keys["period"].to_numpy(dtype=object),
        "period_start": pd.to_datetime(np.asarray(calendar._core.period_start(pindex), dtype=np.int64), utc=True),
        "period_end": pd.to_datetime(np.asarray(calendar._core.period_end(pindex), dtype=np.int64), utc=True),
    }
    cols["period_complete"] = np.asarray(cols["period_end"] <= as_of, dtype=bool)
    buyer, seller = count("buyer_actions"), count("seller_activities")
    cols["seller_activities"] = seller
    cols["buyer_actions"] = buyer
    cols["buyer_response_ratio"] = value("buyer_response_ratio")
    lo, hi = _wilson(buyer.astype(float), (buyer + seller).astype(float), confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["buyer_response_ratio_lower"] = np.where(seller > 0, lo / (1 - lo), np.nan)
        cols["buyer_response_ratio_upper"] = np.where(seller > 0, hi / (1 - hi), np.nan)
    for s in open_stages:
        cols[f"entries_{s}"] = count(f"entries:{s}")
        cols[f"deals_entered_{s}"] = count(f"deals_entered:{s}")
        cols[f"dollars_entered_{s}"] = value(f"dollars_entered:{s}")
    cols["created"] = count("created")
    cols["created_dollars"] = value("created_dollars")
    cols["won"] = count("won")
    cols["won_dollars"] = value("won_dollars")
    cols["lost"] = count("lost")
    cols["stalled"] = count("stalled")
    cols["open_end"] = count("open_end")
    cols["win_rate"] = value("win_rate")
    cols["win_rate_lower"] = value("win_rate", "lower")
    cols["win_rate_upper"] = value("win_rate", "upper")
    for s in open_stages:
        cols[f"conversion_{s}"] = value(f"conversion:{s}")
        cols[f"conversion_{s}_lower"] = value(f"conversion:{s}", "lower")
        cols[f"conversion_{s}_upper"] = value(f"conversion:{s}", "upper")
        cols[f"conversion_{s}_pending"] = count(f"pending:{s}")
    cols["cycle_time_median"] = value("cycle_time_median")
    cols["velocity"] = value("velocity")
    out = pd.DataFrame(cols)

    # Leaks per funnel-entry cohort, against the whole-window benchmark.
    leak, per_unit = _leak_columns(log, timelines, by, owner, benchmark, calendar)
    cell = pd.MultiIndex.from_arrays([out["unit"], out["period"]])
    leak_index = pd.MultiIndex.from_arrays([leak["unit"], leak["period"]])
    stray = ~leak_index.isin(cell)
    if stray.any():
        raise Error(f"scorecard: a leak cohort of unit {leak['unit'][stray].iloc[0]!r} in period "
                    f"{leak['period'][stray].iloc[0]!r} has no row (internal error; please report)")
    out["leak_wins"] = pd.Series(leak["leak_wins"].to_numpy(), index=leak_index).reindex(cell, fill_value=0.0) \
        .to_numpy(dtype=float)
    average = per_unit["average_value"]
    out["leak_dollars"] = out["leak_wins"].to_numpy() * average.reindex(out["unit"]).to_numpy(dtype=float)

    if by_rep:
        dev = _deviants(log, timelines, by="rep", owner=owner, covariates=covariates, interval=confidence)
        beh = _behaviours(log, timelines, by="rep", owner=owner, deviants=dev, interval=confidence)
        diag = _diagnose(log, timelines, dev, beh, interval=confidence).table()
        diag = diag.assign(unit=diag["unit"].astype(str)).set_index("unit")
        missing = ~out["unit"].isin(diag.index)
        if missing.any():
            raise Error(f"scorecard: unit {out['unit'][missing].iloc[0]!r} has no diagnosis "
                        "(internal error; please report)")
        d = diag.reindex(out["unit"])
        for col in ("know_how", "want_to", "understands_metrics"):
            out[col] = d[col].astype(str).to_numpy(dtype=object)
        out["non_productive"] = d["non_productive"].to_numpy(dtype=bool)
        out["quadrant"] = d["quadrant"].astype(str).to_numpy(dtype=object)
        out["win_ratio_shrunk"] = d["conversion"].to_numpy(dtype=float)
        out["win_ratio_shrunk_lower"] = d["conversion_lower"].to_numpy(dtype=float)
        out["win_ratio_shrunk_upper"] = d["conversion_upper"].to_numpy(dtype=float)
        out["diagnosis_as_of"] = pd.Series(pd.DatetimeIndex([as_of] * len(out)).as_unit("ns"))

    out = out[[c for c, _ in expected]].astype(dict(expected))
    return out.reset_index(drop=True)


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InvalidArgumentError(
            f"{path}: unknown scorecard file suffix {path.suffix!r}; use .parquet or .csv")
    return suffix


def write_scorecard(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a scorecard to ``path``: Parquet (pyarrow) for ``.parquet``, CSV for
    ``.csv`` (no index; times with their UTC offset, ``2026-01-05 00:00:00+00:00``;
    floats in their shortest form that reads back exactly). Returns the path.

    Parquet keeps every value and dtype. CSV keeps values; read it back with
    :func:`read_scorecard` to get the dtypes back too (``pandas.read_csv`` alone gives
    the times as text, and would read a unit named ``"NA"`` as missing).

    Raises :class:`~salesperf.errors.InvalidArgumentError` for another suffix.

    >>> import pathlib, tempfile, salesperf
    >>> from salesperf.scoring import scorecard, write_scorecard, read_scorecard
    >>> c = salesperf.synth.company(events=20_000, seed=2)
    >>> log = c.event_log()
    >>> card = scorecard(log, c.stage_model().run(log), by=None, period="quarter")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_scorecard(card, pathlib.Path(d) / "scores.csv")
    ...     back = read_scorecard(p)
    >>> back.equals(card)
    True
    """
    if not isinstance(df, pd.DataFrame):
        raise InvalidArgumentError(f"write_scorecard: df must be a pandas DataFrame, not {type(df).__name__}")
    p = Path(path)
    if _suffix(p) == ".parquet":
        df.to_parquet(p, engine="pyarrow", index=False)
    else:
        df.to_csv(p, index=False)
    return p


def _dtypes_of(columns: Sequence[str]) -> dict[str, str]:
    """The schema dtype of each scorecard column (stages found from the entries_ columns)."""
    stages = [c[len("entries_"):] for c in columns if c.startswith("entries_")]
    by_rep = "know_how" in columns
    known = dict(_expected_columns(stages, by_rep))
    return {c: known[c] for c in columns if c in known}


def read_scorecard(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a scorecard written by :func:`write_scorecard`, with the dtypes of
    :data:`SCORECARD_SCHEMA` (for CSV: text columns kept as written, empty number
    cells as NaN, times parsed as UTC)."""
    p = Path(path)
    if _suffix(p) == ".parquet":
        return pd.read_parquet(p, engine="pyarrow")
    header = pd.read_csv(p, nrows=0).columns.tolist()
    dtypes = _dtypes_of(header)
    text = [c for c, d in dtypes.items() if d == "object"]
    times = [c for c, d in dtypes.items() if d == _UTC]
    frame = pd.read_csv(p, keep_default_na=False, na_values={c: [""] for c in header if c not in text},
                        dtype={c: object for c in text + times}, float_precision="round_trip")
    for c in times:
        frame[c] = pd.to_datetime(frame[c], utc=True, format="ISO8601").dt.as_unit("ns")
    return frame.astype({c: d for c, d in dtypes.items() if d not in (_UTC,)})
