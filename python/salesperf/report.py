"""The report: the whole pipeline on one event log, as one self-contained HTML file.

:func:`build_report` runs every step of salesperf on a log and its timelines (the
funnel, the leading indicators, the leaks, the nine practices, the positive
deviants and the behaviours to replicate, the skill/will diagnosis, the weekly
activity targets and the plan against actual) and renders them, with the ingest
accounting, into one HTML page: the CSS is inline and the charts are PNG images
embedded in the page, so the file works offline and can be mailed as it is. Each
rep gets a coaching page: their funnel against the benchmark, their leaks, the
behaviours of the positive deviants they could adopt and their weekly activity
targets. What each section shows is described in ``docs/report.md``.

A step that cannot speak (no rep column, too few deals, no matplotlib) or that
fails on the data with a :class:`salesperf.Error` says so in its section; bad
arguments (unknown covariates, malformed objectives or answers) raise.

>>> import salesperf
>>> c = salesperf.synth.company(events=20_000, seed=2)
>>> log = c.event_log()
>>> tl = c.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
>>> report = salesperf.report.build_report(log, tl, charts=False)
>>> report.sections[:3]
['summary', 'ingest', 'funnel']
>>> len(report.reps) == log.to_pandas()["rep"].nunique()
True
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import html
import importlib
import io
import math
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import plots
from .behaviours import BehaviourAssessment
from .behaviours import behaviours as assess_behaviours
from .deviance import DeviantAssessment, RepDiagnosis, diagnose
from .deviance import deviants as assess_deviants
from .errors import Error, InternalError, InvalidArgumentError
from .event_log import EventLog
from .funnel import funnel as markov_funnel
from .indicators import Indicators
from .indicators import indicators as compute_indicators
from .leaks import LeakAssessment
from .leaks import leaks as assess_leaks
from .practices import PracticeAssessment, Questionnaire, score_answers
from .practices import practices as assess_practices
from .stages import Timelines
from .targets import PlanVsActual, TargetPlan, plan_vs_actual
from .targets import targets as plan_targets

__all__ = ["SECTIONS", "Report", "build_report"]

#: The section ids of every report, in order (each rep page is ``"rep-<name>"``).
SECTIONS: tuple[str, ...] = ("summary", "ingest", "funnel", "indicators", "leaks", "practices", "deviants",
                             "behaviours", "targets", "reps")

_TITLES = {
    "summary": "Summary",
    "ingest": "Ingest accounting",
    "funnel": "The funnel by buyer-defined stage",
    "indicators": "Leading indicators and their trends",
    "leaks": "Where the bucket leaks",
    "practices": "The nine practices",
    "deviants": "Positive deviants",
    "behaviours": "Behaviours to replicate, and skill or will",
    "targets": "Weekly activity targets and plan against actual",
    "reps": "Coaching pages",
}

_NO_MATPLOTLIB = "Chart not drawn: matplotlib is not installed (pip install 'salesperf[plot]')."


# ----------------------------------------------------------------------- formatting
def _is_missing(x: Any) -> bool:
    try:
        return x is None or bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _money(x: Any) -> str:
    if _is_missing(x):
        return "n/a"
    v = float(x)
    return f"-${-v:,.0f}" if v < 0 else f"${v:,.0f}"


def _pct(x: Any, digits: int = 1) -> str:
    return "n/a" if _is_missing(x) else f"{float(x):.{digits}%}"


def _count(x: Any) -> str:
    return "n/a" if _is_missing(x) else f"{round(float(x)):,}"


def _num(x: Any, digits: int = 2) -> str:
    return "n/a" if _is_missing(x) else f"{float(x):,.{digits}f}"


def _interval(value: Any, lower: Any, upper: Any, fmt: Callable[[Any], str] = _pct) -> str:
    if _is_missing(value):
        return "n/a"
    if _is_missing(lower) or _is_missing(upper):
        return fmt(value)
    return f"{fmt(value)} [{fmt(lower)}, {fmt(upper)}]"


def _signed(x: Any, digits: int = 2) -> str:
    return "n/a" if _is_missing(x) else f"{float(x):+,.{digits}f}"


def _slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", name.strip()).strip("-")
    return s or "unit"


_LABELS = {"own_benchmark": "benchmark at own level", "run_rate": "run rate now",
           "probability_above": "P(above the odds)", "own_probability": "P(real)",
           "shrunk_shortfall": "shortfall (deals, shrunk)", "shrunk_dollars": "dollars at stake"}


def _table(df: pd.DataFrame, table_id: str, formats: Mapping[str, Callable[[Any], str]] | None = None,
           *, caption: str | None = None, numeric: Sequence[str] | None = None) -> str:
    """``df`` as an HTML table (pandas Styler): values formatted per column, text
    escaped, numeric columns right-aligned; wrapped in ``<div id=table_id>``."""
    formats = dict(formats or {})
    df = df.reset_index(drop=True)
    if numeric is None:
        numeric = [c for c in df.columns if c in formats or pd.api.types.is_numeric_dtype(df[c])]
    # readable headings: "own_benchmark" -> "benchmark at own level", "gap_per_week" -> "gap per week"
    labels = {c: _LABELS.get(str(c), str(c).replace("_", " ")) for c in df.columns}
    df = df.rename(columns=labels)
    formats = {labels.get(c, c): f for c, f in formats.items()}
    numeric = [labels.get(c, c) for c in numeric]
    formatter: Any = formats
    style = (df.style.hide(axis="index")
             .format(formatter, na_rep="n/a", escape="html")
             .format_index(escape="html", axis=1)
             .set_uuid(table_id)
             .set_table_attributes('class="data"'))
    if numeric:
        style = style.set_table_styles({c: [{"selector": "td", "props": [("text-align", "right")]}]
                                        for c in numeric if c in df.columns}, overwrite=False)
    if caption:
        style = style.set_caption(html.escape(caption))
    return f'<div class="table-wrap" id="{html.escape(table_id)}">{style.to_html()}</div>'


# ----------------------------------------------------------------------- sections
class _Section:
    """A section's content as blocks the template renders: paragraphs, notes (a step
    that cannot speak), errors (a step that failed), figures, tables, images, lists."""

    def __init__(self, sid: str, title: str) -> None:
        self.id = sid
        self.title = title
        self.blocks: list[dict[str, Any]] = []
        self.problems: list[str] = []

    def h(self, text: str) -> None:
        self.blocks.append({"kind": "h", "text": text})

    def p(self, text: str) -> None:
        self.blocks.append({"kind": "p", "text": text})

    def callout(self, text: str) -> None:
        """A finding worth attention (not a step that could not speak)."""
        self.blocks.append({"kind": "note", "text": text})

    def note(self, text: str) -> None:
        self.problems.append(text)
        self.blocks.append({"kind": "note", "text": text})

    def error(self, step: str, e: BaseException) -> None:
        text = f"{step} could not be computed: {type(e).__name__}: {e}"
        self.problems.append(text)
        self.blocks.append({"kind": "error", "text": text})

    def figures(self, items: Sequence[tuple[str, str, str]]) -> None:
        self.blocks.append({"kind": "figures", "items": [{"key": k, "label": label, "value": v}
                                                         for k, label, v in items]})

    def table(self, markup: str) -> None:
        self.blocks.append({"kind": "html", "html": markup})

    def items(self, lines: Sequence[str]) -> None:
        self.blocks.append({"kind": "list", "items": list(lines)})

    def image(self, png: str, alt: str) -> None:
        self.blocks.append({"kind": "img", "src": f"data:image/png;base64,{png}", "alt": alt})


class _Charts:
    """Draws charts to base64 PNGs; notes in the section when a chart cannot be drawn."""

    def __init__(self, enabled: bool, dpi: int) -> None:
        self.enabled = enabled
        self.dpi = dpi
        self.missing = False

    def add(self, section: _Section, draw: Callable[[], Any], alt: str) -> None:
        if not self.enabled:
            return
        if self.missing:
            section.note(_NO_MATPLOTLIB)
            return
        try:
            ax = draw()
        except ImportError:
            self.missing = True
            section.note(_NO_MATPLOTLIB)
            return
        except InternalError:
            raise
        except Error as e:
            section.error(f"The chart ({alt})", e)
            return
        fig = ax.figure
        buf = io.BytesIO()
        try:
            fig.savefig(buf, format="png", dpi=self.dpi)
        finally:
            import matplotlib.pyplot as plt

            plt.close(fig)
        section.image(base64.b64encode(buf.getvalue()).decode("ascii"), alt)


# ----------------------------------------------------------------------- the report
class Report:
    """One rendered report: :attr:`html` (the whole page), :attr:`sections` (the section
    ids), :attr:`reps` (the units with a coaching page) and :meth:`save`."""

    def __init__(self, html_text: str, sections: list[str], pages: dict[str, str], title: str,
                 problems: dict[str, list[str]]) -> None:
        self.html = html_text
        self.sections = sections
        self.pages = pages
        self.title = title
        self.problems = problems

    @property
    def reps(self) -> list[str]:
        """The units (reps) with a coaching page, in page order."""
        return list(self.pages)

    def page_id(self, rep: str) -> str:
        """The element id of ``rep``'s coaching page (``"rep-<name>"``)."""
        if rep not in self.pages:
            raise InvalidArgumentError(f"no coaching page for {rep!r}; reps are {self.reps[:10]}")
        return self.pages[rep]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Writes the page (UTF-8) to ``path``, creating its folder; returns the path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.html, encoding="utf-8")
        return p

    def __repr__(self) -> str:
        silent = sum(len(v) for v in self.problems.values())
        return (f"Report({self.title!r}: {len(self.sections)} sections, {len(self.pages)} coaching pages, "
                f"{len(self.html) / 1e6:.1f} MB; {silent} notes on steps that could not speak)")

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" title="{html.escape(self.title)}" '
                'style="width:100%;height:640px;border:1px solid #ddd"></iframe>')


class _Build:
    """The state of one build: the inputs, each step's result (None when it failed)."""

    def __init__(self, log: EventLog, timelines: Timelines, by: Any, charts: _Charts, bar: Any) -> None:
        self.log = log
        self.tl = timelines
        self.by = by
        self.charts = charts
        self.bar = bar
        self.sections: dict[str, _Section] = {sid: _Section(sid, _TITLES[sid]) for sid in SECTIONS}

    def step(self, name: str) -> None:
        self.bar.set_postfix_str(name, refresh=False)
        self.bar.update(1)

    def run(self, section: str, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except InternalError:  # a bug, not something the data cannot support
            raise
        except Error as e:
            self.sections[section].error(what, e)
            return None


def _default_target(log: EventLog, tl: Timelines, by: Any) -> tuple[pd.Series, tuple[pd.Timestamp, pd.Timestamp]]:
    """Each unit's won dollars in the 13 weeks to as_of x 1.1, for the next quarter."""
    as_of = tl.as_of
    start = (as_of + pd.offsets.QuarterBegin(startingMonth=1)).normalize()
    end = start + pd.DateOffset(months=3)
    owner = _owner(log, tl, by)
    deals = tl.deals
    recent = (deals["outcome"].astype(str) == "won") & (deals["outcome_time"] >= as_of - pd.Timedelta(weeks=13))
    by_unit = deals.loc[recent, "value"].groupby(owner[recent]).sum()
    return 1.1 * by_unit[by_unit > 0], (start, end)


def _owner(log: EventLog, tl: Timelines, by: Any) -> pd.Series:
    from .indicators import _units

    units = _units(log, by, "most_active")
    names = np.asarray(list(units.names), dtype=object)
    return pd.Series(names[np.asarray(units.of_deal)], index=tl.deals.index)


def build_report(log: EventLog, timelines: Timelines, *, objectives: pd.DataFrame | None = None,
                 answers: pd.DataFrame | Questionnaire | None = None, covariates: Sequence[str] | None = None,
                 plan_target: float | Mapping[str, float] | pd.Series | None = None,
                 plan_period: tuple[Any, Any] | None = None, title: str | None = None,
                 progress: bool = False, by: Any = "rep", period: str = "month",
                 benchmark: str = "team_median", disqualify: Sequence[str] = (),
                 qualification_stage: str | None = None, support_stages: Sequence[str] = (),
                 charts: bool = True, dpi: int = 80) -> Report:
    """Runs the whole pipeline on ``log`` and ``timelines`` and renders the report.

    Parameters
    ----------
    log, timelines:
        The event log and the timelines its stage model gave (``model.run(log)``).
    objectives:
        Objectives for :func:`salesperf.plan_vs_actual` (unit, target, period, ...): the
        targets section then shows the plan against actual; None: it says there is none.
    answers:
        Questionnaire answers (a DataFrame for :func:`salesperf.score_answers`, or a
        scored :class:`~salesperf.Questionnaire`); None: the practices rest on the data
        signals only, and the section says so.
    covariates:
        The dimension columns describing the deal mix for :func:`salesperf.deviants`
        (None: every dimension column of the log).
    plan_target, plan_period:
        Dollars per unit (a number, or a mapping / Series by unit) for
        :func:`salesperf.targets`, and the ``(start, end)`` they must land in. By default
        each unit's won dollars of the 13 weeks to ``as_of`` plus 10%, over the calendar
        quarter after ``as_of``.
    title:
        The page title (default "salesperf report").
    progress:
        Show a tqdm progress bar over the steps on stderr.
    by:
        The units of the per-unit steps and of the coaching pages (``"rep"``, a dimension
        name, or None for none): as in :func:`salesperf.leaks`.
    period:
        The calendar of the leading indicators (``"week"``, ``"month"``, ``"quarter"``...).
    benchmark, disqualify:
        For :func:`salesperf.leaks`.
    qualification_stage, support_stages:
        For :func:`salesperf.practices` (the qualifying and sales-support stages).
    charts, dpi:
        Draw the charts (needs matplotlib), at this resolution.

    Returns
    -------
    Report

    Raises
    ------
    salesperf.errors.InvalidArgumentError
        For bad arguments: timelines of another log, covariates that are not
        dimension columns, malformed answers or objectives (their row and column named).
    """
    tqdm = importlib.import_module("tqdm").tqdm  # untyped: no stubs needed

    if not isinstance(log, EventLog):
        raise InvalidArgumentError(f"log must be a salesperf.EventLog, not {type(log).__name__}")
    if not isinstance(timelines, Timelines) or timelines._log is not log:
        raise InvalidArgumentError("timelines must be the salesperf Timelines of this log (model.run(log))")
    if covariates is not None:
        covariates = [covariates] if isinstance(covariates, str) else [str(c) for c in covariates]
        unknown = [c for c in covariates if c not in log.dimension_names]
        if unknown:
            raise InvalidArgumentError(f"covariates: {unknown[0]!r} is not a dimension column of the log; "
                                       f"dimensions are {log.dimension_names}")
    if by == "rep" and log.codes("rep") is None:
        units_by: Any = None
        no_units = "The log has no rep column, so there are no reps to compare"
    elif by is None:
        units_by, no_units = None, "No units were asked for (by=None)"
    else:
        units_by, no_units = by, ""
        _owner(log, timelines, by)  # a bad `by` raises here, naming it
    questionnaire = answers if answers is None or isinstance(answers, Questionnaire) else score_answers(answers)
    pva: PlanVsActual | None = None
    if objectives is not None:
        pva = plan_vs_actual(log, timelines, objectives, by=units_by if units_by is not None else "rep")
    unit_word = "rep" if by == "rep" else "unit"

    steps = ["funnel", "indicators", "leaks", "practices", "deviants", "behaviours", "diagnosis", "targets",
             "coaching pages", "render"]
    with tqdm(total=len(steps), desc="salesperf report", unit="step", disable=not progress, file=sys.stderr,
              leave=False) as bar:
        b = _Build(log, timelines, units_by, _Charts(charts, dpi), bar)
        _ingest_section(b)
        _funnel_section(b)
        b.step("indicators")
        ind = _indicators_section(b, period)
        b.step("leaks")
        lk, org_lk = _leaks_section(b, benchmark, disqualify, no_units)
        b.step("practices")
        _practices_section(b, lk or org_lk, questionnaire, qualification_stage, support_stages)
        b.step("deviants")
        dev = _deviants_section(b, covariates, no_units)
        b.step("behaviours")
        beh = _behaviours_section(b, dev, no_units)
        b.step("diagnosis")
        diag = _diagnosis_section(b, dev, beh)
        b.step("targets")
        plan = _targets_section(b, plan_target, plan_period, pva)
        b.step("coaching pages")
        pages = _rep_pages(b, lk, dev, beh, diag, plan, pva, ind, no_units, unit_word)
        _summary_section(b, lk, dev, beh, pva)
        b.step("render")
        title = title or "salesperf report"
        page = _render(b, title, pages, unit_word)
    problems = {sid: s.problems for sid, s in b.sections.items() if s.problems}
    problems.update({f"rep page {name}": p["problems"] for name, p in pages.items() if p["problems"]})
    return Report(page, list(SECTIONS), {name: p["id"] for name, p in pages.items()}, title, problems)


# ----------------------------------------------------------------------- each section
def _ingest_section(b: _Build) -> None:
    s = b.sections["ingest"]
    r = b.log.report
    s.p(f"Every input row is either an event or a rejected row with its reason: "
        f"{r.rows_in:,} rows in = {r.rows_accepted:,} accepted + {r.rows_rejected:,} rejected; "
        f"{r.deals:,} deals. " + ("The input was already sorted by deal and time." if r.input_was_sorted
                                  else "The input was re-sorted by deal and time."))
    s.figures([("rows_in", "rows in", _count(r.rows_in)), ("rows_accepted", "accepted", _count(r.rows_accepted)),
               ("rows_rejected", "rejected", _count(r.rows_rejected)), ("deals", "deals", _count(r.deals))])
    reasons = r.by_reason
    reasons = reasons[reasons["rows"] > 0]
    if len(reasons):
        s.table(_table(reasons, "ingest-reasons", {"rows": _count}, caption="Rejected rows by reason"))
        rejected = r.rejected.head(10)
        s.table(_table(rejected.astype({c: object for c in rejected.columns}), "ingest-rejected",
                       caption="The first rejected rows"))
    else:
        s.p("No row was rejected.")
    unknown = r.unknown_actions
    if unknown:
        s.items([f"unknown action {a!r}: {n:,} rows" for a, n in unknown.items()])
    actions = b.log.actions.sort_values(["actor", "events"], ascending=[True, False])
    s.table(_table(actions, "ingest-actions", {"events": _count}, caption="Events by actor and action"))


def _funnel_section(b: _Build) -> None:
    b.step("funnel")
    s = b.sections["funnel"]
    tl = b.tl
    counts = tl.stage_counts()["deals_entered"]
    names = tl.stage_names
    shown = [n for n in names if n != "Lost"]
    entered = counts.reindex(shown)
    first = float(entered.iloc[0]) if len(entered) else math.nan
    prev = entered.shift(1)
    frame = pd.DataFrame({"stage": shown, "deals entered": entered.to_numpy(),
                          "share of first stage": (entered / first).to_numpy() if first else np.nan,
                          "from the stage before": (entered / prev).to_numpy()})
    s.p("Deals that entered each buyer-defined stage (a stage is a fact about the buyer, not a field a "
        "rep moved), their share of the first stage and the conversion from the stage before. "
        f"As of {tl.as_of:%Y-%m-%d %H:%M} UTC.")
    b.charts.add(s, lambda: plots.funnel(tl), "the funnel: deals entering each stage and Won")
    s.table(_table(frame, "funnel-table", {"deals entered": _count, "share of first stage": _pct,
                                           "from the stage before": _pct}))
    deals = tl.deals
    outcomes = deals["outcome"].value_counts().reindex(deals["outcome"].cat.categories, fill_value=0)
    s.figures([(f"outcome_{k}", f"deals {k}", _count(v)) for k, v in outcomes.items()])
    lost = deals["lost_reason"].value_counts()
    if len(lost):
        s.table(_table(lost.rename_axis("lost reason").reset_index(name="deals"), "funnel-lost",
                       {"deals": _count}, caption="Lost deals by the action that closed them"))
    chain = b.run("funnel", "The Markov chain of the funnel", lambda: markov_funnel(b.log, tl, by=None))
    if chain is not None:
        st = chain.stages().reset_index()
        fm: dict[str, Callable[[Any], str]] = {c: _num for c in st.columns if c != "stage"}
        fm.update({"win_probability": _pct, "loss_probability": _pct, "exits": _count, "open_deals": _count})
        s.table(_table(st, "funnel-chain", fm, caption="From each stage: the chance of ending Won and the "
                                                       "expected days to close (the funnel as a Markov chain)"))
        summary: Any = chain.summary().loc["(all)"]
        s.p(f"Open pipeline: {_count(summary['open_deals'])} deals, {_money(summary['open_dollars'])}, "
            f"expected to bring in {_money(summary['expected_open_value'])}.")
    for w in tl.warnings:
        s.note(f"Stage model warning: {w}")


_KEY_INDICATORS = [("created", "created", _count), ("won", "won", _count), ("won_dollars", "won dollars", _money),
                   ("win_rate", "win rate", _pct), ("avg_won_size", "average won size", _money),
                   ("cycle_time_median", "median cycle (days)", lambda x: _num(x, 1)),
                   ("open_end", "open at the end", _count)]


def _indicators_section(b: _Build, period: str) -> Indicators | None:
    s = b.sections["indicators"]
    company = b.run("indicators", "The leading indicators",
                    lambda: compute_indicators(b.log, b.tl, by=None, period=period))
    per_unit = None
    if b.by is not None:
        per_unit = b.run("indicators", "The leading indicators per unit",
                         lambda: compute_indicators(b.log, b.tl, by=b.by, period=period))
    if company is None:
        return per_unit
    t = company.table()
    s.p(f"The key leading indicators of the whole organisation per {period} (the last 8 periods); ratios "
        "with their 95% Wilson interval. Definitions: docs/indicators.md.")
    periods = t[t["period"] != "all"]
    rows = []
    for p, g in periods.groupby("period", observed=True, sort=True):
        g = g.set_index("indicator")
        row: dict[str, Any] = {"period": str(p)}
        for key, label, fmt in _KEY_INDICATORS:
            if key in g.index:
                r = g.loc[key]
                row[label] = _interval(r["value"], r["lower"], r["upper"], fmt) if key == "win_rate" \
                    else fmt(r["value"])
        rows.append(row)
    wide = pd.DataFrame(rows).tail(8)
    s.table(_table(wide, "indicators-periods", numeric=[c for c in wide.columns if c != "period"]))
    total = t[t["period"] == "all"].set_index("indicator")
    stages = b.tl.stage_names[: len(b.tl.stage_names) - 2]
    conv = []
    for stage in stages:
        def pick(name: str, fmt: Callable[[Any], str] = _pct) -> str:
            if name not in total.index:
                return "n/a"
            r = total.loc[name]
            return _interval(r["value"], r["lower"], r["upper"], fmt)
        conv.append({"stage": stage, "advanced": pick(f"conversion:{stage}"),
                     "won from here": pick(f"win_from:{stage}"),
                     "median days in stage": pick(f"time_in_stage_median:{stage}", lambda x: _num(x, 1))})
    s.table(_table(pd.DataFrame(conv), "indicators-conversion", numeric=["advanced", "won from here",
                                                                        "median days in stage"],
                   caption="Conversion from each stage, all periods (cohorts; 95% interval)"))
    trends = b.run("indicators", "The trends", lambda: company.trends(periods=6))
    if trends is not None and len(trends):
        keys = [k for k, _, _ in _KEY_INDICATORS]
        tr = trends[trends["indicator"].astype(str).isin(keys)].copy()
        tr["direction"] = np.where(tr["lower"] > 0, "rising", np.where(tr["upper"] < 0, "falling",
                                                                          "no clear trend"))
        tr["slope per period"] = [_interval(v, lo, hi, _signed) for v, lo, hi in
                                  zip(tr["slope"], tr["lower"], tr["upper"])]
        tr = tr[["indicator", "slope per period", "direction", "n", "last"]]
        s.table(_table(tr, "indicators-trends", {"n": _count, "last": lambda x: _num(x, 2)},
                       caption="Trend over the last 6 periods: the least-squares slope with its 95% interval",
                       numeric=["slope per period", "n", "last"]))
    b.charts.add(s, lambda: plots.indicator_trend(company, "win_rate"),
                 f"win rate per {period} with its 95% interval (whole organisation)")
    if per_unit is not None:
        b.charts.add(s, lambda: plots.indicator_trend(per_unit, "win_rate"),
                     f"win rate per {period} of up to six units, with intervals")
    b.charts.add(s, lambda: plots.pipeline_flow(company),
                 "pipeline flow: open at the start, plus created, minus won and lost, equals open at the end")
    return per_unit


def _leaks_section(b: _Build, benchmark: str, disqualify: Sequence[str],
                   no_units: str) -> tuple[LeakAssessment | None, LeakAssessment | None]:
    s = b.sections["leaks"]
    lk: LeakAssessment | None = None
    org: LeakAssessment | None = None
    if b.by is not None:
        lk = b.run("leaks", "The leaks", lambda: assess_leaks(b.log, b.tl, by=b.by, benchmark=benchmark,
                                                              disqualify=disqualify))
    else:
        s.note(f"{no_units}: the leaks below are the organisation's as a whole, against targets only "
               "if given (a team benchmark needs units).")
        org = b.run("leaks", "The leaks", lambda: assess_leaks(b.log, b.tl, by=None, benchmark=benchmark,
                                                               disqualify=disqualify))
    a = lk or org
    if a is None:
        return None, None
    units = a.units()
    s.p(f"Against the {a.benchmark.replace('_', ' ')}: the deals that did not advance at each stage, in deals "
        "and dollars, shrunk by empirical Bayes so a unit with few deals does not top the list by chance. "
        "Definitions: docs/leaks.md.")
    s.figures([("gap_deals", "gap to the benchmark (deals)", _num(units["gap"].sum(), 1)),
               ("gap_dollars", "gap to the benchmark", _money(units["gap_dollars"].sum())),
               ("shrunk_gap_dollars", "after shrinkage", _money(units["shrunk_gap_dollars"].sum())),
               ("chance_dollars", "put down to chance", _money(units["chance_dollars"].sum())),
               ("flagged_leaks", "flagged stage leaks", _count(int(a.table()["flagged"].sum())))])
    b.charts.add(s, lambda: a.waterfall(), "leak waterfall: dollars at the benchmark, minus each stage's leak, "
                                           "to the dollars won")
    flagged = a.flagged()
    if len(flagged):
        f = flagged[["unit", "stage", "trials", "rate", "own_benchmark", "benchmark", "own_probability",
                     "shrunk_shortfall", "shrunk_dollars", "dollars_lower", "dollars_upper"]].copy()
        f["dollars (interval)"] = [_interval(v, lo, hi, _money) for v, lo, hi in
                                   zip(f["shrunk_dollars"], f["dollars_lower"], f["dollars_upper"])]
        f = f.drop(columns=["shrunk_dollars", "dollars_lower", "dollars_upper"])
        s.table(_table(f.head(30), "leaks-flagged",
                       {"trials": _count, "rate": _pct, "own_benchmark": _pct, "benchmark": _pct,
                        "own_probability": _pct, "shrunk_shortfall": lambda x: _num(x, 1)},
                       caption="Flagged stage leaks (below the unit's own level elsewhere with 95% probability), "
                               "by expected dollars", numeric=["trials", "rate", "own_benchmark", "benchmark",
                                                               "own_probability", "shrunk_shortfall",
                                                               "dollars (interval)"]))
    else:
        s.p("No stage leak is flagged.")
    u = units.reset_index().sort_values("shrunk_gap_dollars", ascending=False)
    s.table(_table(u, "leaks-units", {"benchmark_wins": lambda x: _num(x, 1), "pending_wins": lambda x: _num(x, 1),
                                      "won": _count, "gap": lambda x: _num(x, 1), "average_value": _money,
                                      "gap_dollars": _money, "shrunk_gap_dollars": _money,
                                      "chance_dollars": _money},
                   caption="The gap per unit: benchmark wins - pending wins - won = gap"))
    return lk, org


def _practices_section(b: _Build, lk: LeakAssessment | None, questionnaire: Questionnaire | None,
                       qualification_stage: str | None, support_stages: Sequence[str]) -> None:
    s = b.sections["practices"]
    if lk is None:
        s.note("The practices need the leaks, which could not be computed (see above).")
        return
    pa: PracticeAssessment | None = b.run("practices", "The practice assessment", lambda: assess_practices(
        b.log, b.tl, answers=questionnaire, leaks=lk, qualification_stage=qualification_stage,
        support_stages=support_stages))
    if pa is None:
        return
    if questionnaire is None:
        s.note("No questionnaire answers were given: the scores rest on the data signals only "
               "(salesperf report --survey ANSWERS adds the questionnaire).")
    else:
        s.p(f"Scores from the questionnaire ({questionnaire.respondents} respondents) and from the data "
            "signals, 0-100, with the leak dollars attributed to each practice. Definitions: docs/practices.md.")
    t = pa.table().reset_index()
    cols = ["name", "questionnaire_score", "data_score", "score", "leak_dollars", "rank"]
    s.table(_table(t[cols], "practices-table", {"questionnaire_score": lambda x: _num(x, 0),
                                               "data_score": lambda x: _num(x, 0), "score": lambda x: _num(x, 0),
                                               "leak_dollars": _money, "rank": _count}))
    b.charts.add(s, lambda: pa.chart(), "the nine practices: questionnaire, data and combined scores")
    s.p(f"Leak dollars attributed: {_money(pa.attributed_dollars)} (each unit's leaks, not netted against its "
        "surpluses at other stages).")
    if questionnaire is not None and pa.questionnaire is not None:
        q = pa.questionnaire.practices()
        gaps = q[q["disagree"]]
        if len(gaps):
            s.p("Managers and reps disagree (manager - rep, points): " +
                ", ".join(f"{p} {d:+.0f}" for p, d in gaps["disagreement"].items()))
    silent = pa.signals[~pa.signals["speaks"]]
    if len(silent):
        s.items([f"The data cannot speak to {r.signal} ({r.practice}): {r.reason}" for r in silent.itertuples()])
    best = pa.best_practices()
    best = best[best["dollars_at_stake"] > 0].groupby("practice", sort=False).head(2)
    if len(best):
        names = pa.table()["name"]
        best = best.assign(practice=[str(names.get(p, p)) for p in best["practice"]])
        s.table(_table(best[["practice", "best_practice", "dollars_at_stake"]], "practices-best",
                       {"dollars_at_stake": _money}, caption="Best practices to adopt first, by dollars at stake"))


def _deviants_section(b: _Build, covariates: Sequence[str] | None, no_units: str) -> DeviantAssessment | None:
    s = b.sections["deviants"]
    if b.by is None:
        s.note(f"{no_units}: positive deviants are reps who beat the odds of their deal mix.")
        return None
    dev: DeviantAssessment | None = b.run("deviants", "The positive deviants", lambda: assess_deviants(
        b.log, b.tl, by=b.by, covariates=covariates))
    if dev is None:
        return None
    s.p(f"Wins against those expected from each unit's deal mix ({', '.join(dev.covariates) or 'no covariates'}), "
        "shrunk toward 1; 95% interval. A positive deviant beats the odds with 95% probability by 10% or more. "
        "Definitions: docs/deviance.md.")
    t = dev.table()
    s.figures([("positive_deviants", "positive deviants", _count(len(dev.positive_units()))),
               ("below_odds", "below the odds", _count(len(dev.negative_units()))),
               ("decided_deals", "decided deals", _count(dev.decided_deals))])
    out = t[["rank", "unit", "decided", "won", "expected", "ratio_shrunk", "ratio_lower", "ratio_upper",
             "probability_above", "excess_value", "deviant"]].copy()
    out["wins / expected"] = [_interval(v, lo, hi, lambda x: _num(x, 2)) for v, lo, hi in
                              zip(out["ratio_shrunk"], out["ratio_lower"], out["ratio_upper"])]
    out["deviant"] = out["deviant"].map({1: "positive", -1: "below the odds", 0: ""})
    out = out[["rank", "unit", "decided", "won", "expected", "wins / expected", "probability_above",
               "excess_value", "deviant"]]
    s.table(_table(out, "deviants-table", {"rank": _count, "decided": _count, "won": _count,
                                           "expected": lambda x: _num(x, 1), "probability_above": _pct,
                                           "excess_value": _money},
                   numeric=["rank", "decided", "won", "expected", "wins / expected", "probability_above",
                            "excess_value"]))
    return dev


def _behaviours_section(b: _Build, dev: DeviantAssessment | None, no_units: str) -> BehaviourAssessment | None:
    s = b.sections["behaviours"]
    if b.by is None:
        s.note(f"{no_units}: the behaviours are compared within each rep, and skill or will is asked of each rep.")
        return None
    beh: BehaviourAssessment | None = b.run("behaviours", "The behaviours", lambda: assess_behaviours(
        b.log, b.tl, by=b.by, deviants=dev))
    if beh is None:
        return None
    rep = beh.replicate()
    s.h("Practices to replicate")
    s.p("Seller behaviours before a stage (or right after it) with which deals advanced more often, compared "
        "within the same rep (Mantel-Haenszel), Benjamini-Hochberg q <= 0.10; with how often the positive "
        "deviants and their peers do it. Definitions: docs/deviance.md.")
    if len(rep):
        out = rep[["stage", "behaviour", "advance_rate_with", "advance_rate_without", "odds_ratio",
                   "odds_ratio_lower", "odds_ratio_upper", "q_value", "deviant_share", "peer_share"]].copy()
        out["odds ratio"] = [_interval(v, lo, hi, lambda x: _num(x, 2)) for v, lo, hi in
                             zip(out["odds_ratio"], out["odds_ratio_lower"], out["odds_ratio_upper"])]
        out = out.drop(columns=["odds_ratio", "odds_ratio_lower", "odds_ratio_upper"])
        out["stage"] = out["stage"].astype(str)
        s.table(_table(out, "behaviours-replicate", {"advance_rate_with": _pct, "advance_rate_without": _pct,
                                                     "q_value": lambda x: _num(x, 3), "deviant_share": _pct,
                                                     "peer_share": _pct}))
        s.items(list(rep["sentence"]))
    else:
        s.p("No practice to replicate at this false discovery rate.")
    avoid = beh.avoid()
    if len(avoid):
        s.items([f"To avoid: {x}" for x in avoid["sentence"]])
    return beh


def _diagnosis_section(b: _Build, dev: DeviantAssessment | None,
                       beh: BehaviourAssessment | None) -> RepDiagnosis | None:
    s = b.sections["behaviours"]
    if dev is None:
        return None
    diag: RepDiagnosis | None = b.run("behaviours", "The skill/will diagnosis",
                                      lambda: diagnose(b.log, b.tl, dev, beh))
    if diag is None:
        return None
    s.h("Skill or will?")
    s.p("For each rep: do they know how (conversion against their deal mix), want to (seller activities per "
        "active deal-week against the median peer) and understand the metrics (adoption of the practices to "
        f"replicate)? The median peer does {diag.peer_volume:.2f} activities per deal-week.")
    if diag.methods_question:
        s.callout("A third or more of the reps are non-productive: look at the methods, tools and reports first.")
    t = diag.table()
    out = t[["unit", "quadrant", "volume_ratio", "conversion", "adoption_ratio", "know_how", "want_to",
             "understands_metrics", "non_productive"]].copy()
    out["non_productive"] = out["non_productive"].map({True: "yes", False: ""})
    for c in ("quadrant", "know_how", "want_to", "understands_metrics"):
        out[c] = out[c].astype(str)
    s.table(_table(out, "behaviours-diagnosis", {"volume_ratio": lambda x: _num(x, 2),
                                                 "conversion": lambda x: _num(x, 2),
                                                 "adoption_ratio": lambda x: _num(x, 2)}))
    b.charts.add(s, lambda: diag.chart(), "rep quadrant: activity volume against conversion, relative to peers")
    return diag


def _targets_section(b: _Build, plan_target: Any, plan_period: tuple[Any, Any] | None,
                     pva: PlanVsActual | None) -> TargetPlan | None:
    s = b.sections["targets"]
    by = b.by
    target: Any
    if plan_target is None:
        target, period = _default_target(b.log, b.tl, by)
        how = (f"each unit's won dollars in the 13 weeks to {b.tl.as_of:%Y-%m-%d} plus 10% "
               f"(units that won nothing are not planned)")
        if plan_period is not None:
            period = plan_period
        if not len(target):
            s.note("No unit won anything in the last 13 weeks, so there is no default target to plan from "
                   "(give plan_target).")
            target = None
    else:
        target, how = plan_target, "the target given"
        period = plan_period if plan_period is not None else _default_target(b.log, b.tl, by)[1]
    plan: TargetPlan | None = None
    if target is not None:
        plan = b.run("targets", "The activity targets", lambda: plan_targets(b.log, b.tl, target, period=period,
                                                                             by=by))
    if plan is not None:
        t = plan.table()
        start, end = (pd.Timestamp(p) for p in period)
        s.p(f"Working backwards from the number: the target is {how}, to land from {start:%Y-%m-%d} to "
            f"{end:%Y-%m-%d} ({plan.weeks:.1f} weeks). Deals that must enter each stage per week (80% interval) "
            "against the current run rate. Definitions: docs/targets.md.")
        s.figures([("plan_target", "target, all units",
                    _money(t.groupby("unit", observed=True)["target"].first().sum()))])
        org = t.groupby("stage", observed=True)[["entries_per_week", "entries_lower", "entries_upper", "run_rate",
                                                 "gap_per_week"]].sum().reset_index()
        org["stage"] = org["stage"].astype(str)
        org["needed per week (interval)"] = [_interval(v, lo, hi, lambda x: _num(x, 1)) for v, lo, hi in
                                             zip(org["entries_per_week"], org["entries_lower"], org["entries_upper"])]
        org = org[["stage", "needed per week (interval)", "run_rate", "gap_per_week"]]
        s.table(_table(org, "targets-org", {"run_rate": lambda x: _num(x, 1), "gap_per_week": lambda x: _num(x, 1)},
                       caption="All units (bounds summed)", numeric=["needed per week (interval)", "run_rate",
                                                                     "gap_per_week"]))
        b.charts.add(s, lambda: plan.chart(), "stage entries needed per week against the run rate, all units")
        wide = t.pivot_table(index="unit", columns="stage", values="entries_per_week", observed=True)
        wide = wide.reset_index()
        wide.columns = [str(c) for c in wide.columns]
        wide["unit"] = wide["unit"].astype(str)
        s.table(_table(wide, "targets-units", {c: (lambda x: _num(x, 1)) for c in wide.columns if c != "unit"},
                       caption="Deals that must enter each stage per week, per unit"))
    s.h("Plan against actual")
    if pva is None:
        s.note("No objectives were given, so there is no plan against actual (salesperf report --plan PLAN).")
    else:
        t = pva.table()
        total = t[["target", "actual", "forecast", "gap"]].sum()
        s.p(f"As of {pva.as_of:%Y-%m-%d %H:%M} UTC: attainment, pacing against the usual shape of a period, and "
            "the forecast (actual + the open pipeline weighted by each stage's win probability).")
        s.figures([("pva_target", "objectives", _money(total["target"])),
                   ("pva_actual", "actual", _money(total["actual"])),
                   ("pva_forecast", "forecast", _money(total["forecast"])),
                   ("pva_gap", "gap (target - forecast)", _money(total["gap"]))])
        out = t[["unit", "metric", "period_start", "period_end", "target", "actual", "attainment", "pacing",
                 "forecast", "coverage", "gap"]].copy()
        out["unit"] = out["unit"].astype(str)
        for c in ("target", "actual", "forecast", "gap"):
            out[c] = [_num(v, 1) if m == "wins" else _money(v) for v, m in zip(out[c], out["metric"])]
        fm = {"attainment": _pct, "pacing": lambda x: _num(x, 2), "coverage": lambda x: _num(x, 2),
              "period_start": lambda x: f"{pd.Timestamp(x):%Y-%m-%d}",
              "period_end": lambda x: f"{pd.Timestamp(x):%Y-%m-%d}"}
        s.table(_table(out.sort_values("attainment"), "targets-plan-actual", fm,
                       numeric=["target", "actual", "attainment", "pacing", "forecast", "coverage", "gap"]))
    return plan


def _summary_section(b: _Build, lk: LeakAssessment | None, dev: DeviantAssessment | None,
                     beh: BehaviourAssessment | None, pva: PlanVsActual | None) -> None:
    s = b.sections["summary"]
    deals = b.tl.deals
    outcome = deals["outcome"].astype(str)
    won = outcome == "won"
    decided = outcome.isin(["won", "lost"])
    items = [("events", "events", _count(len(b.log))), ("deals", "deals", _count(b.log.num_deals)),
             ("won_deals", "deals won", _count(int(won.sum()))),
             ("won_dollars", "dollars won", _money(float(deals.loc[won, "value"].sum()))),
             ("win_rate", "win rate (won / decided)", _pct(won.sum() / decided.sum() if decided.any() else math.nan)),
             ("open_deals", "open deals (stalled included)", _count(int(outcome.isin(["open", "stalled"]).sum())))]
    if lk is not None:
        items.append(("gap_dollars", "gap to the benchmark", _money(lk.units()["gap_dollars"].sum())))
    if dev is not None:
        items.append(("positive_deviants", "positive deviants", _count(len(dev.positive_units()))))
    if beh is not None:
        items.append(("practices_to_replicate", "practices to replicate", _count(len(beh.replicate()))))
    if pva is not None:
        t = pva.table()
        items.append(("pva_forecast", "forecast against objectives",
                      f"{_money(t['forecast'].sum())} of {_money(t['target'].sum())}"))
    s.p(f"{len(b.log):,} events of {b.log.num_deals:,} deals, as of {b.tl.as_of:%Y-%m-%d %H:%M} UTC "
        f"(stage model: {len(b.tl.stage_names) - 2} open stages, {', '.join(b.tl.stage_names[:-2])}).")
    s.figures(items)
    problems = [(sid, p) for sid, sec in b.sections.items() for p in sec.problems if sid != "summary"]
    if problems:
        s.items([f"{_TITLES[sid]}: {p}" for sid, p in problems])


# ----------------------------------------------------------------------- coaching pages
def _unit_shares(beh: BehaviourAssessment, unit: str) -> dict[tuple[str, str], float]:
    """Per (stage, feature): the share of ``unit``'s trials with the behaviour."""
    names = beh.unit_names
    if unit not in names:
        return {}
    u = names.index(unit)
    r = beh._result
    trials = np.asarray(r.unit_trials, dtype=float).reshape(len(r.rows), len(names))[:, u]
    present = np.asarray(r.unit_present, dtype=float).reshape(len(r.rows), len(names))[:, u]
    t = beh.table()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(trials > 0, present / trials, np.nan)
    return {(str(st), str(f)): float(v) for st, f, v in zip(t["stage"], t["feature"], share)}


def _rep_pages(b: _Build, lk: LeakAssessment | None, dev: DeviantAssessment | None,
               beh: BehaviourAssessment | None, diag: RepDiagnosis | None, plan: TargetPlan | None,
               pva: PlanVsActual | None, ind: Indicators | None, no_units: str,
               unit_word: str) -> dict[str, dict[str, Any]]:
    reps = b.sections["reps"]
    if b.by is None:
        reps.note(f"{no_units}: no coaching pages.")
        return {}
    if lk is None:
        reps.note("The coaching pages need the leaks per unit, which could not be computed (see above).")
        return {}
    reps.p(f"One page per {unit_word}: their funnel against the benchmark, their leaks, the behaviours of the "
           "positive deviants they could adopt, and their weekly activity targets.")
    table = lk.table()
    units = lk.units()
    dtab = dev.table().set_index(dev.table()["unit"].astype(str)) if dev is not None else None
    diag_t = diag.table().set_index(diag.table()["unit"].astype(str)) if diag is not None else None
    rep_prac = beh.replicate() if beh is not None else None
    plan_t = plan.table() if plan is not None else None
    pva_t = pva.table() if pva is not None else None
    ind_t = None
    if ind is not None:
        it = ind.table()
        ind_t = it[it["period"] == "all"]
    positive = set(dev.positive_units()) if dev is not None else set()
    prefix = "rep" if unit_word == "rep" else "unit"
    pages: dict[str, dict[str, Any]] = {}
    used: set[str] = set(SECTIONS)
    for name in lk.unit_names:
        pid = f"{prefix}-{_slug(name)}"
        k = 2
        while pid in used:
            pid, k = f"{prefix}-{_slug(name)}-{k}", k + 1
        used.add(pid)
        s = _Section(pid, f"{name}")
        mine = table[table["unit"].astype(str) == name].sort_values("stage")
        u = units.loc[name]
        figs = [("won", "deals won", _count(u["won"])), ("gap", "gap to the benchmark (deals)", _num(u["gap"], 1)),
                ("gap_dollars", "gap in dollars", _money(u["gap_dollars"]))]
        if ind_t is not None:
            wr = ind_t[(ind_t["unit"].astype(str) == name) & (ind_t["indicator"] == "win_rate")]
            if len(wr):
                r = wr.iloc[0]
                figs.insert(1, ("win_rate", "win rate", _interval(r["value"], r["lower"], r["upper"])))
        if dtab is not None and name in dtab.index:
            d = dtab.loc[name]
            figs.append(("wins_vs_expected", "wins / expected from the deal mix",
                         _interval(d["ratio_shrunk"], d["ratio_lower"], d["ratio_upper"], lambda x: _num(x, 2))))
        s.figures(figs)
        if name in positive:
            s.p(f"{name} is a positive deviant: they win more than their deal mix predicts. Their habits are "
                "the ones the others are asked to adopt.")
        s.h("Funnel against the benchmark")
        b.charts.add(s, functools.partial(plots.funnel, lk, name, benchmark=True),
                     f"{name}'s funnel: deals reaching each stage, with the benchmark's expected reach")
        ft = mine[["stage", "reached", "advanced", "trials", "rate", "benchmark", "own_benchmark",
                   "shrunk_shortfall", "shrunk_dollars", "flagged"]].copy()
        ft["stage"] = ft["stage"].astype(str)
        ft["flagged"] = ft["flagged"].map({True: "leak", False: ""})
        s.table(_table(ft, f"{pid}-funnel", {"reached": _count, "advanced": _count, "trials": _count, "rate": _pct,
                                             "benchmark": _pct, "own_benchmark": _pct,
                                             "shrunk_shortfall": lambda x: _num(x, 1), "shrunk_dollars": _money}))
        s.h("Leaks")
        leaks_here = mine[mine["flagged"]].sort_values("shrunk_dollars", ascending=False)
        if len(leaks_here):
            s.items([f"{r.stage}: {r.trials:,} decided deals advanced at {_pct(r.rate)} against "
                     f"{_pct(r.own_benchmark)} expected from their level elsewhere (probability "
                     f"{_pct(r.own_probability, 0)}); {_money(r.shrunk_dollars)} at stake "
                     f"[{_money(r.dollars_lower)}, {_money(r.dollars_upper)}]"
                     for r in leaks_here.itertuples()])
        else:
            s.p("No stage is flagged as a leak: no stage is credibly below this unit's own level elsewhere.")
        if diag_t is not None and name in diag_t.index:
            d = diag_t.loc[name]
            s.items([f"Knows how? {d['know_how']} ({d['know_how_evidence']})",
                     f"Wants to? {d['want_to']} ({d['want_to_evidence']})",
                     f"Understands the metrics? {d['understands_metrics']} ({d['understands_metrics_evidence']})"])
        s.h("Behaviours of the positive deviants to adopt")
        if beh is None or rep_prac is None:
            s.note("No behaviours to compare with (see the behaviours section).")
        elif not len(rep_prac):
            s.p("No practice to replicate was found, so there is nothing to adopt yet.")
        else:
            shares = _unit_shares(beh, name)
            rows = []
            pr: Any
            for pr in rep_prac.itertuples():
                own = shares.get((str(pr.stage), str(pr.feature)), math.nan)
                ref = pr.deviant_share if not _is_missing(pr.deviant_share) else pr.peer_share
                adopt = not _is_missing(own) and not _is_missing(ref) and own < ref
                rows.append({"stage": str(pr.stage), "behaviour": pr.behaviour, "to adopt": "yes" if adopt else "",
                             "you": own, "positive deviants": pr.deviant_share, "peers": pr.peer_share,
                             "advance rate with": pr.advance_rate_with, "without": pr.advance_rate_without})
            adopt_n = sum(r["to adopt"] == "yes" for r in rows)
            if adopt_n:
                s.p(f"{adopt_n} of the {len(rows)} practices to replicate: this {unit_word} does them on fewer of "
                    "their deals at that stage than the positive deviants do.")
            else:
                s.p(f"This {unit_word} already does every practice to replicate at least as often as the positive "
                    "deviants.")
            s.table(_table(pd.DataFrame(rows), f"{pid}-adopt",
                           {"you": _pct, "positive deviants": _pct, "peers": _pct, "advance rate with": _pct,
                            "without": _pct},
                           caption="The practices to replicate: the share of this rep's deals at that stage with the "
                                   "behaviour, against the positive deviants' and their peers' (n/a: no deal "
                                   "decided there)", numeric=["you", "positive deviants", "peers",
                                                              "advance rate with", "without"]))
        s.h("Weekly activity targets")
        if plan_t is None:
            s.note("No activity targets (see the targets section).")
        else:
            pt = plan_t[plan_t["unit"].astype(str) == name]
            if not len(pt):
                s.p("No target was planned for this unit (it won nothing in the last 13 weeks, or the target "
                    "given leaves it out).")
            else:
                out = pt[["stage", "entries_per_week", "entries_lower", "entries_upper", "run_rate", "gap_per_week",
                          "occurrences_per_week", "needed_from"]].copy()
                out["stage"] = out["stage"].astype(str)
                out["needed per week (interval)"] = [
                    _interval(v, lo, hi, lambda x: _num(x, 1))
                    for v, lo, hi in zip(out["entries_per_week"], out["entries_lower"], out["entries_upper"])]
                out = out[["stage", "needed per week (interval)", "run_rate", "gap_per_week", "occurrences_per_week",
                           "needed_from"]]
                s.p(f"To reach {_money(pt['target'].iloc[0])}: deals that must enter each stage per week, the "
                    "current run rate and the gap; leading-indicator occurrences per week.")
                s.table(_table(out, f"{pid}-targets", {"run_rate": lambda x: _num(x, 1),
                                                       "gap_per_week": lambda x: _num(x, 1),
                                                       "occurrences_per_week": lambda x: _num(x, 1),
                                                       "needed_from": lambda x: f"{pd.Timestamp(x):%Y-%m-%d}"},
                               numeric=["needed per week (interval)", "run_rate", "gap_per_week",
                                        "occurrences_per_week"]))
        if pva_t is not None:
            mine_p = pva_t[pva_t["unit"].astype(str) == name]
            ob: Any
            for ob in mine_p.itertuples():
                s.p(f"Objective {ob.metric} {pd.Timestamp(ob.period_start):%Y-%m-%d} to "
                    f"{pd.Timestamp(ob.period_end):%Y-%m-%d}: target {_money(ob.target)}, actual "
                    f"{_money(ob.actual)} ({_pct(ob.attainment, 0)}), forecast {_money(ob.forecast)}.")
        pages[name] = {"id": pid, "section": s, "problems": s.problems}
    return pages


# ----------------------------------------------------------------------- rendering
def _render(b: _Build, title: str, pages: dict[str, dict[str, Any]], unit_word: str) -> str:
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    for sec in list(b.sections.values()) + [p["section"] for p in pages.values()]:
        for block in sec.blocks:
            if block["kind"] == "html":
                block["html"] = Markup(block["html"])
    from ._core import __version__

    return env.get_template("report.html.j2").render(
        title=title,
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        sections=[b.sections[sid] for sid in SECTIONS],
        pages=[p["section"] for p in pages.values()],
        unit_word=unit_word,
        css=(Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8"),
    )
