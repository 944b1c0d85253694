"""The stage engine against the slow pure-Python reference (stage_reference.py), on
random small logs and random models; plus model file round trips and thread-count
independence.

Random logs: 1-6 deals of 0-25 events over six buyer actions, two seller actions and one
system action; contacts with roles (and events with neither), amounts (and missing
ones), and many ties in time. Random models: 1-5 open stages, every rule kind with
windows, roles and amounts, optional stages, every policy, regress rules (not under
latch, which rejects them), exclusions, fixed and percentile stall limits, a horizon for
closing stalled deals, and Won/Lost rules with disjoint actions. Rules never name seller
actions (Compile rejects them) and every stage has at least one rule.

Budget: the whole file runs in under a minute on one core (2 x 900 engine-vs-reference
cases, derandomized so CI sees the same cases every run).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from stage_reference import assert_same_timelines, engine_tables, reference_run

import salesperf

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

BUYER = ["reply", "need", "budget", "proposal", "commit", "sign"]
SELLER = ["email", "call"]
SYSTEM = ["flag"]
VOCABULARY = {**{a: "buyer" for a in BUYER}, **{a: "seller" for a in SELLER},
              **{a: "system" for a in SYSTEM}}
RULE_ACTIONS = BUYER + SYSTEM          # never seller actions in rules
CONTACTS: dict[Optional[str], Optional[str]] = {
    None: None, "ann": "champion", "bob": "economic", "cy": "user", "dee": None}
ROLES = ["champion", "economic", "user"]
AMOUNTS = [None, 0.0, 500.0, 1000.0, 5000.0, 20000.0]
STAGE_NAMES = ["Lead", "Engaged", "Qualified", "Proposal", "Commit"]
DURATIONS = ["6h", "12h", "1d", "2d", "3d", "1d12h", "7d", "2w", "30d"]
BASE = pd.Timestamp("2026-01-01", tz="UTC")
HOUR = pd.Timedelta(hours=1)

EXAMPLES = 900  # per engine-vs-reference test: 2 x 900 cases take ~40 s on one core


# ---------------------------------------------------------------- random logs

@st.composite
def event_logs(draw: st.DrawFn, actions: list[str], max_events: int = 25,
               step_hours: int = 6, slots: int = 161) -> pd.DataFrame:
    """Rows in input order (times unsorted within a deal)."""
    n_deals = draw(st.integers(1, 6))
    # A coarse grid of times (by default 6 h steps over 40 days) so that ties are common,
    # and durations between events often equal a window or `within` exactly.
    # One integer per event, decoded into (time slot, action, contact, amount): far
    # cheaper to draw than four values, and it still shrinks towards simple events.
    contacts, sizes = list(CONTACTS), (slots, len(actions), len(CONTACTS), len(AMOUNTS))

    def decode(code: int) -> tuple[Any, ...]:
        slot, code = code % sizes[0], code // sizes[0]
        action, code = actions[code % sizes[1]], code // sizes[1]
        contact, code = contacts[code % sizes[2]], code // sizes[2]
        return slot, action, contact, AMOUNTS[code % sizes[3]]

    event = st.integers(0, sizes[0] * sizes[1] * sizes[2] * sizes[3] - 1).map(decode)
    rows: list[tuple[Any, ...]] = []
    # Deals appear in a drawn order; within a deal rows are in drawn (not time) order.
    for d in draw(st.permutations(range(n_deals))):
        for e in draw(st.lists(event, min_size=1 if not rows else 0, max_size=max_events)):
            rows.append((f"D{d}",) + e)
    return pd.DataFrame({
        "deal": [r[0] for r in rows],
        "time": BASE + step_hours * HOUR * pd.Index([r[1] for r in rows]),
        "action": [r[2] for r in rows],
        "contact": pd.Series([r[3] for r in rows], dtype=object),
        "contact_role": pd.Series([CONTACTS[r[3]] for r in rows], dtype=object),
        "amount": pd.array([r[4] for r in rows], dtype="Float64"),
    })


# ---------------------------------------------------------------- random models

@st.composite
def rules(draw: st.DrawFn, actions: list[str]) -> dict[str, Any]:
    acts = st.lists(st.sampled_from(actions), min_size=1, max_size=2, unique=True)
    kind = draw(st.sampled_from(["any", "all", "sequence", "count", "distinct_contacts"]))
    rule: dict[str, Any] = {}
    if kind in ("all", "sequence"):
        rule[kind] = draw(st.lists(acts, min_size=1, max_size=3))
    else:
        rule[kind] = draw(acts)
    if kind != "any" and draw(st.booleans()):
        rule["within"] = draw(st.sampled_from(DURATIONS))
    if kind in ("count", "distinct_contacts"):
        rule["min"] = draw(st.integers(1, 3))
    if draw(st.integers(0, 4)) == 0:
        rule["roles"] = draw(st.lists(st.sampled_from(ROLES), min_size=1, max_size=2,
                                      unique=True))
    if draw(st.integers(0, 4)) == 0:
        lo = draw(st.sampled_from([None, 0.0, 500.0, 1000.0, 2500.0]))
        hi = draw(st.sampled_from([None, 1000.0, 5000.0, 20000.0]))
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        if lo is not None:
            rule["min_amount"] = lo
        if hi is not None:
            rule["max_amount"] = hi
    return rule


@st.composite
def models(draw: st.DrawFn, actions: list[str] = RULE_ACTIONS) -> dict[str, Any]:
    n = draw(st.integers(1, 5))
    ordering = draw(st.sampled_from(["strict", "skip"]))
    regression = draw(st.sampled_from(["latch", "follow", "record"]))
    reopen = draw(st.sampled_from(["never", "allow"]))
    # Won and Lost take disjoint action sets: each action goes to one of them or neither.
    side = {a: draw(st.sampled_from(["won", "lost", "none", "none"])) for a in actions}
    won_acts = [a for a in actions if side[a] == "won"]
    lost_acts = [a for a in actions if side[a] == "lost"]
    stages = []
    for name in STAGE_NAMES[:n]:
        stage: dict[str, Any] = {"name": name,
                                 "rules": draw(st.lists(rules(actions), min_size=1, max_size=2))}
        if draw(st.integers(0, 2)) == 0:
            stage["optional"] = True
        if draw(st.integers(0, 2)) == 0:
            stage["window"] = draw(st.sampled_from(DURATIONS))
        stall = draw(st.integers(0, 3))
        if stall == 1:
            stage["stall"] = draw(st.sampled_from(DURATIONS))
        elif stall == 2:
            stage["stall"] = {"percentile": draw(st.sampled_from([10, 25, 50, 75, 90, 100]))}
        stages.append(stage)
    model: dict[str, Any] = {"version": 1, "ordering": ordering, "regression": regression,
                             "reopen": reopen, "stages": stages}
    model["won"] = draw(st.lists(rules(won_acts), max_size=2)) if won_acts else []
    model["lost"] = draw(st.lists(rules(lost_acts), max_size=2)) if lost_acts else []
    if regression != "latch":
        # Regress rules take pairwise disjoint actions, so at most one can fire at an
        # event (the specification does not say which of several would apply).
        pool = list(draw(st.permutations(actions)))
        regress = []
        for _ in range(draw(st.integers(0, 2))):
            mine, pool = pool[:2], pool[2:]
            if not mine:
                break
            rule = draw(rules(mine))
            rule["to"] = draw(st.sampled_from(STAGE_NAMES[:n]))
            regress.append(rule)
        model["regress"] = regress
    model["exclude"] = draw(st.sampled_from([[], [], ["flag"], ["call"], [actions[0]]]))
    if draw(st.booleans()):
        model["close_stalled_after"] = draw(st.sampled_from(DURATIONS))
    return model


@st.composite
def cases(draw: st.DrawFn, actions: list[str], log_actions: list[str], max_events: int = 25,
          step_hours: int = 6, slots: int = 161
          ) -> tuple[pd.DataFrame, dict[str, Any], Optional[pd.Timestamp]]:
    events = draw(event_logs(log_actions, max_events, step_hours, slots))
    model = draw(models(actions))
    as_of: Optional[pd.Timestamp] = None
    if draw(st.booleans()):
        as_of = events["time"].max() + draw(st.sampled_from([0, 1, 7, 30, 90, 200])) * 6 * HOUR
    return events, model, as_of


def check_against_reference(events: pd.DataFrame, model: dict[str, Any],
                            as_of: Optional[pd.Timestamp]) -> None:
    # Exact duplicate rows are rejected by ingestion; both sides read the same log.
    log = salesperf.EventLog.from_pandas(events, vocabulary=VOCABULARY)
    assert log.report.rows_accepted > 0
    got = engine_tables(salesperf.StageModel.from_dict(model).run(log, as_of=as_of))
    want = reference_run(log.to_pandas(), model, as_of=as_of)
    assert_same_timelines(got, want)


SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(case=cases(RULE_ACTIONS, list(VOCABULARY)))
def test_engine_equals_reference(
        case: tuple[pd.DataFrame, dict[str, Any], Optional[pd.Timestamp]]) -> None:
    check_against_reference(*case)


# Few actions, a short coarse time grid (12 h steps over 20 days): rules fire often, so
# regressions, reopens, exclusions after closing, windows and stalls come up in most
# cases, and gaps between events land exactly on `within` / window bounds.
DENSE_RULE_ACTIONS = ["reply", "need", "sign", "flag"]
DENSE_LOG_ACTIONS = DENSE_RULE_ACTIONS + ["email"]


@SETTINGS
@given(case=cases(DENSE_RULE_ACTIONS, DENSE_LOG_ACTIONS, step_hours=12, slots=41))
def test_engine_equals_reference_dense(
        case: tuple[pd.DataFrame, dict[str, Any], Optional[pd.Timestamp]]) -> None:
    check_against_reference(*case)


# ---------------------------------------------------------------- file forms

@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(model=models())
def test_model_round_trips_through_json_and_toml(model: dict[str, Any]) -> None:
    m = salesperf.StageModel.from_dict(model)
    d = m.to_dict()
    assert salesperf.StageModel.from_dict(d).to_dict() == d
    text = m.to_json()
    assert json.loads(text)["version"] == 1
    assert salesperf.StageModel.from_json(text).to_dict() == d
    toml = m.to_toml()
    assert tomllib.loads(toml)["version"] == 1
    assert salesperf.StageModel.from_toml(toml).to_dict() == d
    # The dict form keeps what the input said (policies at their default may be left out).
    assert [s["name"] for s in d["stages"]] == [s["name"] for s in model["stages"]]
    for key, default in (("ordering", "strict"), ("regression", "latch"), ("reopen", "never")):
        assert d.get(key, default) == model[key], key
    assert len(d.get("regress", [])) == len(model.get("regress", []))
    assert sorted(d.get("exclude", [])) == sorted(model["exclude"])


# ---------------------------------------------------------------- threads

@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=cases(RULE_ACTIONS, list(VOCABULARY)), copies=st.integers(20, 60))
def test_same_result_for_one_and_two_threads(
        case: tuple[pd.DataFrame, dict[str, Any], Optional[pd.Timestamp]],
        copies: int) -> None:
    events, model, as_of = case
    # Many deals, so that two threads really split them.
    frames = [events.assign(deal=events["deal"] + f"-{k}") for k in range(copies)]
    big = pd.concat(frames, ignore_index=True)
    log = salesperf.EventLog.from_pandas(big, vocabulary=VOCABULARY)
    sm = salesperf.StageModel.from_dict(model)
    one = engine_tables(sm.run(log, as_of=as_of, threads=1))
    two = engine_tables(sm.run(log, as_of=as_of, threads=2))
    assert_same_timelines(one, two)
    # Copies of a deal have identical timelines (deals are independent).
    deals = one["deals"]
    first = deals.loc[[lbl for lbl in deals.index if str(lbl).endswith("-0")]]
    last = deals.loc[[lbl for lbl in deals.index if str(lbl).endswith(f"-{copies - 1}")]]
    assume(len(first) == len(last))
    pd.testing.assert_frame_equal(first.reset_index(drop=True), last.reset_index(drop=True))


# ---------------------------------------------------------------- pinned cases

def _two_replies(**columns: Any) -> salesperf.EventLog:
    df = pd.DataFrame({"deal": ["D0", "D0"],
                       "time": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
                       "action": ["reply", "reply"], **columns})
    return salesperf.EventLog.from_pandas(df, vocabulary=VOCABULARY)


@pytest.mark.parametrize("rule", [
    {"any": ["reply"], "roles": ["champion"]},
    {"any": ["reply"], "min_amount": 0},
    {"distinct_contacts": ["reply"], "min": 1},
], ids=["roles", "amount", "distinct_contacts"])
def test_conditions_on_columns_with_no_values_never_match(rule: dict[str, Any]) -> None:
    """A condition on a column that is present but has no value in any row: no event
    satisfies it ("e's contact role is one of them", "e's amount is a number",
    "e has a contact"), so the stage is never entered (Compile may also refuse it)."""
    log = _two_replies(contact=pd.Series([None, None], dtype=object),
                       contact_role=pd.Series([None, None], dtype=object),
                       amount=pd.array([None, None], dtype="Float64"))
    model = {"version": 1, "stages": [{"name": "Lead", "rules": [rule]}]}
    try:
        timelines = salesperf.StageModel.from_dict(model).run(log)
    except salesperf.Error:
        return
    assert len(timelines.transitions) == 0, timelines.transitions
    assert timelines.deals["current_stage"].isna().all()


def test_time_columns_are_utc_even_when_empty() -> None:
    """Times are tz-aware UTC in every table, also in columns that hold only NaT (a
    stage nobody entered, an outcome time no deal has)."""
    log = _two_replies()
    model = {"version": 1, "stages": [{"name": "Lead", "rules": [{"any": ["reply"]}]}],
             "won": [{"any": ["sign"]}], "lost": [{"any": ["flag"]}]}
    t = salesperf.StageModel.from_dict(model).run(log)
    columns = {"deals.outcome_time": t.deals["outcome_time"],
               "transitions.time": t.transitions["time"]}
    columns.update({f"entered.{c}": t.entered[c] for c in t.entered.columns})
    columns.update({f"left.{c}": t.left[c] for c in t.left.columns})
    for name, col in columns.items():
        assert isinstance(col.dtype, pd.DatetimeTZDtype), (name, col.dtype)
        assert str(col.dtype.tz) == "UTC", (name, col.dtype)
    assert t.stall_limits.dtype.kind == "m"
    assert isinstance(t.as_of, pd.Timestamp) and str(t.as_of.tz) == "UTC"


def test_an_excluded_deal_has_no_lost_reason() -> None:
    """Lost, then excluded: the deal is not lost any more, so it has no lost reason
    (timelines.h: lost_reason is -1 "when not lost")."""
    df = pd.DataFrame({"deal": ["D0", "D0"],
                       "time": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
                       "action": ["sign", "flag"]})
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCABULARY)
    model = {"version": 1, "stages": [{"name": "Lead", "rules": [{"any": ["reply"]}]}],
             "lost": [{"any": ["sign"]}], "exclude": ["flag"]}
    t = salesperf.StageModel.from_dict(model).run(log)
    assert t.deals.loc["D0", "outcome"] == "excluded"
    reason: Any = t.deals.loc["D0", "lost_reason"]
    assert reason is None or pd.isna(reason), reason
    assert reference_run(log.to_pandas(), model)["deals"].loc["D0", "lost_reason"] is None


@pytest.mark.parametrize("kind", ["all", "sequence", "count", "distinct_contacts"])
@pytest.mark.parametrize(("within", "enters"), [("1d", True), ("23h", False)])
def test_within_is_inclusive(kind: str, within: str, enters: bool) -> None:
    """t(e) - t(x) <= W: two events exactly W apart are within W."""
    df = pd.DataFrame({"deal": ["D0", "D0"],
                       "time": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
                       "action": ["need", "budget"],
                       "contact": pd.Series(["ann", "bob"], dtype=object)})
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCABULARY)
    rule: dict[str, Any] = {
        "all": {"all": [["need"], ["budget"]]},
        "sequence": {"sequence": [["need"], ["budget"]]},
        "count": {"count": ["need", "budget"], "min": 2},
        "distinct_contacts": {"distinct_contacts": ["need", "budget"], "min": 2},
    }[kind]
    rule["within"] = within
    model = {"version": 1, "stages": [{"name": "Lead", "rules": [rule]}]}
    got = engine_tables(salesperf.StageModel.from_dict(model).run(log))
    want = reference_run(log.to_pandas(), model)
    assert_same_timelines(got, want)
    assert (want["deals"].loc["D0", "current_stage"] == "Lead") == enters
