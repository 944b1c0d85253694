"""Every public class whose instances users see has a readable one-line ``__repr__``
(no memory address) and a ``_repr_html_`` that is well-formed HTML (tags balance,
text escaped) and shows the object's key figures, each figure recomputed here from
the raw events with pandas where it is a count.

A public class (in ``salesperf.__all__``) without a builder below fails
``test_every_public_class_is_covered``: add one when adding a class."""

from __future__ import annotations

import html
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pandas as pd
import pytest

import salesperf

# HTML elements without an end tag.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

# Public classes users never hold an instance of in a notebook cell.
NOT_SHOWN = {"Error": "the base exception class (its message is the repr)"}


class BalanceChecker(HTMLParser):
    """Fails on an end tag that does not close the innermost open element, and
    records the text and the tags seen."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []
        self.tables: list[list[list[str]]] = []  # table -> rows -> cell texts

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables and self.tables[-1]:
            self.tables[-1][-1].append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.stack and self.stack[-1] in ("td", "th") and self.tables and self.tables[-1]:
            self.tables[-1][-1][-1] += data


def read_tables(markup: str) -> list[pd.DataFrame]:
    """The tables of well-formed HTML, the first row as the header (a stand-in for
    pandas.read_html, which needs lxml)."""
    return [pd.DataFrame(rows[1:], columns=rows[0]) for rows in parse(markup).tables]


def parse(markup: str) -> BalanceChecker:
    p = BalanceChecker()
    p.feed(markup)
    p.close()
    assert not p.errors, p.errors[:3]
    assert not p.stack, f"unclosed: {p.stack}"
    return p


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    """One small synthetic company and every object built on it."""
    co = salesperf.synth.company(events=20_000, seed=4)
    log = co.event_log()
    model = co.stage_model(stall_after="45d", close_stalled_after="30d")
    tl = model.run(log)
    lk = salesperf.leaks(log, tl, by="rep")
    survey = salesperf.synth.survey(seed=2)
    dev = salesperf.deviants(log, tl, covariates=["segment"])
    beh = salesperf.behaviours(log, tl, deviants=dev)
    reps = sorted(co.events["rep"].dropna().astype(str).unique())
    objectives = pd.DataFrame([{"unit": r, "period": "2025Q4", "metric": "bookings", "target": 100_000.0}
                               for r in reps])
    return {"company": co, "log": log, "events": log.to_pandas(), "model": model, "timelines": tl,
            "leaks": lk, "survey": survey, "deviants": dev, "behaviours": beh, "objectives": objectives}


def _n(x: int) -> str:
    return f"{x:,}"


# name -> (build the instance, the figures its HTML must show)
Builder = Callable[[dict[str, Any]], Any]
Figures = Callable[[Any, dict[str, Any]], list[str]]


def _event_log_figures(obj: Any, w: dict[str, Any]) -> list[str]:
    ev = w["company"].events
    return [_n(len(ev)), _n(ev["deal"].nunique())]


def _timelines_figures(obj: Any, w: dict[str, Any]) -> list[str]:
    tr = obj.transitions
    entered_lead = tr.loc[tr["to_stage"] == "Lead", "deal"].nunique()
    return [_n(w["company"].events["deal"].nunique()), _n(len(tr)), str(entered_lead)]


def _leak_counts_figures(obj: Any, w: dict[str, Any]) -> list[str]:
    tl = w["timelines"]
    opens = tl.stage_names[:-2]
    in_funnel = tl.entered[opens].notna().any(axis=1)
    won = (tl.deals.loc[in_funnel, "outcome"].astype(str) == "won").sum()
    # Lead is the first stage: every deal in the funnel reached it.
    return [_n(int(in_funnel.sum())), _n(int(won)), *opens, "24 units"]


def _indicators_figures(obj: Any, w: dict[str, Any]) -> list[str]:
    return ["24 units", "rep-01", "win_rate"]


BUILDERS: dict[str, tuple[Builder, Figures]] = {
    "EventLog": (lambda w: w["log"], _event_log_figures),
    "IngestReport": (lambda w: w["log"].report,
                     lambda o, w: [_n(len(w["company"].events)), _n(w["company"].events["deal"].nunique())]),
    "Vocabulary": (lambda w: w["log"].vocabulary,
                   lambda o, w: [a for a in w["company"].vocabulary] + ["12 actions"]),
    "StageModel": (lambda w: w["model"], lambda o, w: ["Lead", "Engaged", "Commit", "Won", "Lost"]),
    "StageMachine": (lambda w: w["timelines"].machine,
                     lambda o, w: ["Lead", "Engaged", "Qualified", "Budget", "Proposal", "Commit", "Won", "Lost",
                                   "terminal"]),
    "Timelines": (lambda w: w["timelines"], _timelines_figures),
    "Calendar": (lambda w: salesperf.Calendar("fiscal_quarter:7"),
                 lambda o, w: ["fiscal_quarter:7", "quarter", "July"]),
    "Indicators": (lambda w: salesperf.indicators(w["log"], w["timelines"], by="rep", period="month"),
                   _indicators_figures),
    "Funnel": (lambda w: salesperf.funnel(w["log"], w["timelines"], by="rep"), lambda o, w: ["Lead", "Commit"]),
    "LeakCounts": (lambda w: w["leaks"].counts, _leak_counts_figures),
    "LeakAssessment": (lambda w: w["leaks"], lambda o, w: ["team_median", "24 units"]),
    "Instrument": (lambda w: salesperf.Instrument.default(),
                   lambda o, w: [*o.practices.index, f"{len(o.statements)} statements"]),
    "PracticeAssessment": (lambda w: salesperf.practices(w["log"], w["timelines"], answers=w["survey"],
                                                         leaks=w["leaks"]),
                           lambda o, w: ["9 practices"]),
    "Questionnaire": (lambda w: salesperf.score_answers(w["survey"]),
                      lambda o, w: [f"{w['survey']['respondent'].nunique()} respondents"]),
    "DeviantAssessment": (lambda w: w["deviants"], lambda o, w: ["24 units", "segment"]),
    "RepDiagnosis": (lambda w: salesperf.diagnose(w["log"], w["timelines"], w["deviants"], w["behaviours"]),
                     lambda o, w: ["24 units"]),
    "BehaviourAssessment": (lambda w: w["behaviours"], lambda o, w: ["24 units"]),
    # Added in issue 8 (mergeable states for the Dask path).
    "DeviantCounts": (lambda w: salesperf.deviant_counts(w["log"], w["timelines"], covariates=["segment"]),
                      lambda o, w: ["24 units", "segment"]),
    "BehaviourCounts": (lambda w: salesperf.behaviour_counts(w["log"], w["timelines"]),
                        lambda o, w: ["24 units", "follow_up"]),
    "TargetPlan": (lambda w: salesperf.targets(w["log"], w["timelines"], 400_000.0,
                                               period=(pd.Timestamp("2026-01-01", tz="UTC"),
                                                       pd.Timestamp("2026-04-01", tz="UTC")), draws=200),
                   lambda o, w: ["24 units", "$9,600,000"]),
    "PlanVsActual": (lambda w: salesperf.plan_vs_actual(w["log"], w["timelines"], w["objectives"]),
                     lambda o, w: ["rep-01", "bookings"]),
    # Added in issue 7 (the HTML report): a report of the same company.
    "Report": (lambda w: salesperf.build_report(w["log"], w["timelines"]),  # type: ignore[attr-defined]
               lambda o, w: [_n(len(w["company"].events))]),
}

# Classes allowed a repr of several lines, with the reason (a strict xfail): none.
MULTILINE_REPR: dict[str, str] = {}


def public_classes() -> list[str]:
    return sorted(n for n in salesperf.__all__ if isinstance(getattr(salesperf, n), type))


def test_every_public_class_is_covered() -> None:
    missing = [n for n in public_classes() if n not in BUILDERS and n not in NOT_SHOWN]
    assert not missing, f"public classes without a repr test: {missing}; add them to BUILDERS"
    assert len(public_classes()) >= 20


class Built(dict):  # type: ignore[type-arg]
    """Instances built on first use, so that one failing builder fails only its tests."""

    def __init__(self, world: dict[str, Any]) -> None:
        super().__init__()
        self.world = world

    def __missing__(self, name: str) -> Any:
        self[name] = BUILDERS[name][0](self.world)
        return self[name]


@pytest.fixture(scope="module")
def built(world: dict[str, Any]) -> Built:
    return Built(world)


@pytest.mark.parametrize("name", [n for n in public_classes() if n not in NOT_SHOWN])
def test_repr_html_is_well_formed_and_shows_the_figures(name: str, built: dict[str, Any],
                                                        world: dict[str, Any]) -> None:
    obj = built[name]
    assert type(obj).__name__ == name and isinstance(obj, getattr(salesperf, name))
    markup = obj._repr_html_()
    assert isinstance(markup, str) and markup.strip().startswith("<")
    parsed = parse(markup)
    assert parsed.tags, name
    text = " ".join(parsed.text)
    for figure in BUILDERS[name][1](obj, world):
        assert figure in text or html.escape(figure) in markup, f"{name}: {figure!r} not shown"


@pytest.mark.parametrize("name", [n for n in public_classes() if n not in NOT_SHOWN])
def test_repr_is_one_readable_line(name: str, built: dict[str, Any], request: pytest.FixtureRequest) -> None:
    if name in MULTILINE_REPR:
        request.applymarker(pytest.mark.xfail(reason=MULTILINE_REPR[name], strict=True))
    r = repr(built[name])
    assert r.startswith(f"{name}("), r[:80]
    assert "\n" not in r, r
    assert " at 0x" not in r and "object at" not in r, r
    assert len(r) <= 250, len(r)


# ---- the reprs added in issue 7, in detail -------------------------------------------

def test_leak_counts_html_has_the_reached_counts_per_stage(world: dict[str, Any]) -> None:
    """The table: per open stage the deals that reached it (a skipped stage counts as
    passed), and Won; recomputed from Timelines.entered and deals with pandas."""
    tl = world["timelines"]
    opens = tl.stage_names[:-2]
    entered = tl.entered[opens].notna()
    entered = entered[entered.any(axis=1)]
    won = (tl.deals.loc[entered.index, "outcome"].astype(str) == "won").to_numpy()
    e = entered.to_numpy()
    entry = e.argmax(axis=1)
    furthest = np.where(won, len(opens), len(opens) - 1 - e[:, ::-1].argmax(axis=1))
    k = np.arange(len(opens))
    reached = ((entry[:, None] <= k) & (k <= furthest[:, None])).sum(axis=0)
    (table,) = read_tables(world["leaks"].counts._repr_html_())
    got = dict(zip(table["stage"], table["reached"].str.replace(",", "").astype(int)))
    assert got == {**{s: int(n) for s, n in zip(opens, reached)}, "Won": int(won.sum())}


def test_vocabulary_html_escapes_and_abbreviates() -> None:
    v = salesperf.Vocabulary({"<b>x</b>": "buyer", **{f"a{i:02d}": "seller" for i in range(50)}},
                             prefixes={"W_&": "system"})
    markup = v._repr_html_()
    parse(markup)
    assert "<b>x</b>" not in markup and "&lt;b&gt;x&lt;/b&gt;" in markup
    assert "W_&amp;*" in markup
    rows = read_tables(markup)[0]
    assert len(rows) == 40 + 1 + 1  # 40 actions, "... 11 more", one prefix
    assert rows["action"].iloc[40] == "... 11 more"


def test_stage_machine_html_lists_warnings(world: dict[str, Any]) -> None:
    """A model that leaves a buyer action unused: the warning is listed, escaped."""
    co, log = world["company"], world["log"]
    d = co.stage_model().to_dict()
    d["stages"] = [s for s in d["stages"] if s["name"] != "Budget"]
    machine = salesperf.StageModel.from_dict(d).compile(log)
    assert machine.warnings
    markup = machine._repr_html_()
    parse(markup)
    for w in machine.warnings:
        assert html.escape(w) in markup
    rows = read_tables(markup)[0]
    assert list(rows["stage"]) == machine.stage_names
    assert list(rows["kind"]).count("terminal") == 2


def test_calendar_and_instrument_html() -> None:
    rows = read_tables(salesperf.Calendar("fiscal_year:4")._repr_html_())[0]
    assert dict(zip(rows.iloc[:, 0], rows.iloc[:, 1])) == {
        "spec": "fiscal_year:4", "grain": "year", "year starts in": "April", "label of period 0": "FY1971"}
    inst = salesperf.Instrument.default()
    rows = read_tables(inst._repr_html_())[0]
    per_practice = inst.statements.groupby("practice").size()
    assert dict(zip(rows["practice"], rows["statements"].astype(int))) == per_practice.to_dict()
    assert list(rows["practice"]) == list(inst.practices.index)


def test_ingest_report_html_lists_rejections() -> None:
    ev = pd.DataFrame({"deal": ["d1", "d1", "d2"], "time": pd.to_datetime(["2025-01-01", "2025-01-02",
                                                                          "2025-01-03"], utc=True),
                       "action": ["call", "<odd>", "call"], "amount": [1.0, 2.0, float("nan")]})
    log = salesperf.EventLog.from_pandas(ev, vocabulary={"call": "seller"})
    markup = log.report._repr_html_()
    parse(markup)
    assert "&lt;odd&gt;" in markup and "<odd>" not in markup
    assert "unknown_action" in markup and "nan_amount" in markup
