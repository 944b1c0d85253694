"""The indicator reference (indicator_reference.py) checked against figures derived by
hand from the DEFINITIONS of include/salesperf/indicators.h, so that the oracle the
library is tested against is itself tested. Uses only the stage engine (Timelines) and
the reference: nothing here needs salesperf.indicators.

The hand log (as_of 2026-03-31 00:00 UTC, months, response window 7 d, resolution 1 h;
durations of 128 h and more are reported at their log-linear bucket's lower edge):

  Model: Lead (opportunity_created) -> Engaged (reply; stall 20d) -> Qualified (need;
  window 10d); Won on sign, Lost on decline, exclusion on dup. Strict, latch, no reopen.

  D1 rep ann, value 1200.5 (its last amount)
    01-05 09:00 opportunity_created (ann, 1000)  -> Lead, created
    01-05 10:00 email (ann)                       answered: reply 1 d later
    01-06 10:00 reply   c1 champion              -> Engaged
    01-13 10:00 call (ann)                        answered: need exactly 7 d later
    01-20 10:00 need    c2 decision_maker        -> Qualified
    01-25 10:00 email (ann)                       not answered: sign 9 d later
    02-03 10:00 sign    c2 decision_maker, 1200.5 -> Won
  D2 rep bob, value 500
    01-25 12:00 opportunity_created (bob, 500)   -> Lead, created
    01-26 12:00 email (bob)                       not answered: reply 17 d later
    02-10 12:00 email (bob)                       answered: reply 2 d later
    02-12 12:00 reply   c3 champion              -> Engaged
    02-20 12:00 need    c3 champion              -> Qualified
    03-15 12:00 decline c4 user                  -> Lost
  D3 reps bob then ann (most_active: ann, 2 seller events; first: bob; last: ann), value 2000
    02-01 08:00 opportunity_created (bob, 2000)  -> Lead, created
    02-02 08:00 email (ann)                       answered (reply 3 d later)
    02-03 08:00 call (ann)                        answered (reply 2 d later)
    02-05 08:00 reply   c5 influencer            -> Engaged
    02-05 08:00 reply   c6 decision_maker
    quiet since 02-05 08:00, 53 d 16 h before as_of > 20 d: stalled, onset 02-25 08:00
  D4 rep bob (no seller event: the first rep on any event), value 300
    03-02 09:00 opportunity_created (bob, 300)   -> Lead, created
    03-03 09:00 reply   c7                       -> Engaged
    03-04 09:00 dup                              -> excluded from Engaged
  D5 no rep: unit "(none)", no value
    03-20 00:00 opportunity_created              -> Lead, created; open

Units (sorted): "(none)", "ann" (D1, D3), "bob" (D2, D4). The last period of the
accumulator is 2026-03, so ann and bob have Jan, Feb, Mar (+ all), (none) Mar (+ all).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from indicator_reference import (
    NONE_UNIT,
    TINY_VOCABULARY,
    accumulate,
    km_quantile,
    open_at_period_ends,
    parse_calendar,
    reference_table,
    reference_trends,
    reference_warnings,
    single_unit,
    stage_windows,
    tiny_logs,
    tiny_models,
    to_fixed,
    two_proportion_p,
    units_by_dimension,
    units_by_owner,
    wilson,
)
from scipy import stats as sps

import salesperf

VOCABULARY = {"opportunity_created": "system", "dup": "system", "reply": "buyer", "need": "buyer",
              "sign": "buyer", "decline": "buyer", "email": "seller", "call": "seller"}
MODEL = {"version": 1,
         "stages": [{"name": "Lead", "rules": [{"any": ["opportunity_created"]}]},
                    {"name": "Engaged", "rules": [{"any": ["reply"]}], "stall": "20d"},
                    {"name": "Qualified", "rules": [{"any": ["need"]}], "window": "10d"}],
         "won": [{"any": ["sign"]}], "lost": [{"any": ["decline"]}], "exclude": ["dup"]}
AS_OF = pd.Timestamp("2026-03-31", tz="UTC")
Z = float(sps.norm.ppf(0.975))
H = 1 / 24  # an hour in days

ROWS = [  # deal, time, action, rep, contact, contact_role, amount
    ("D1", "2026-01-05 09:00", "opportunity_created", "ann", None, None, 1000.0),
    ("D1", "2026-01-05 10:00", "email", "ann", None, None, None),
    ("D1", "2026-01-06 10:00", "reply", None, "c1", "champion", None),
    ("D1", "2026-01-13 10:00", "call", "ann", None, None, None),
    ("D1", "2026-01-20 10:00", "need", None, "c2", "decision_maker", None),
    ("D1", "2026-01-25 10:00", "email", "ann", None, None, None),
    ("D1", "2026-02-03 10:00", "sign", None, "c2", "decision_maker", 1200.5),
    ("D2", "2026-01-25 12:00", "opportunity_created", "bob", None, None, 500.0),
    ("D2", "2026-01-26 12:00", "email", "bob", None, None, None),
    ("D2", "2026-02-10 12:00", "email", "bob", None, None, None),
    ("D2", "2026-02-12 12:00", "reply", None, "c3", "champion", None),
    ("D2", "2026-02-20 12:00", "need", None, "c3", "champion", None),
    ("D2", "2026-03-15 12:00", "decline", None, "c4", "user", None),
    ("D3", "2026-02-01 08:00", "opportunity_created", "bob", None, None, 2000.0),
    ("D3", "2026-02-02 08:00", "email", "ann", None, None, None),
    ("D3", "2026-02-03 08:00", "call", "ann", None, None, None),
    ("D3", "2026-02-05 08:00", "reply", None, "c5", "influencer", None),
    ("D3", "2026-02-05 08:00", "reply", None, "c6", "decision_maker", None),
    ("D4", "2026-03-02 09:00", "opportunity_created", "bob", None, None, 300.0),
    ("D4", "2026-03-03 09:00", "reply", None, "c7", None, None),
    ("D4", "2026-03-04 09:00", "dup", None, None, None, None),
    ("D5", "2026-03-20 00:00", "opportunity_created", None, None, None, None),
]


def hand_events() -> pd.DataFrame:
    cols = list(zip(*ROWS))
    return pd.DataFrame({
        "deal": list(cols[0]),
        "time": pd.to_datetime(list(cols[1]), utc=True),
        "action": list(cols[2]),
        "rep": pd.Series(cols[3], dtype=object),
        "contact": pd.Series(cols[4], dtype=object),
        "contact_role": pd.Series(cols[5], dtype=object),
        "amount": pd.array(cols[6], dtype="Float64"),
    })


@pytest.fixture(scope="module")
def hand() -> tuple[pd.DataFrame, Any]:
    log = salesperf.EventLog.from_pandas(hand_events(), vocabulary=VOCABULARY)
    timelines = salesperf.StageModel.from_dict(MODEL).run(log, as_of=AS_OF)
    return log.to_pandas(), timelines


@pytest.fixture(scope="module")
def table(hand: tuple[pd.DataFrame, Any]) -> pd.DataFrame:
    events, timelines = hand
    return reference_table(events, timelines, units_by_owner(events), calendar="month", resolution="1h")


def fig(table: pd.DataFrame, unit: str, period: str, indicator: str) -> pd.Series:
    rows = table[(table["unit"] == unit) & (table["period"] == period) & (table["indicator"] == indicator)]
    assert len(rows) == 1, (unit, period, indicator, len(rows))
    return rows.iloc[0]


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def test_the_stage_engine_reads_the_hand_log_as_the_docstring_says(hand: tuple[pd.DataFrame, Any]) -> None:
    _, t = hand
    assert t.deals["outcome"].astype(str).to_dict() == {
        "D1": "won", "D2": "lost", "D3": "stalled", "D4": "excluded", "D5": "open"}
    assert t.deals.loc["D3", "quiet_since"] == pd.Timestamp("2026-02-05 08:00", tz="UTC")
    assert t.deals["value"].tolist()[:4] == [1200.5, 500.0, 2000.0, 300.0]
    assert math.isnan(t.deals.loc["D5", "value"])
    # The exclusion leaves Engaged (last_left is set): R1 is about this.
    assert t.left.loc["D4", "Engaged"] == pd.Timestamp("2026-03-04 09:00", tz="UTC")


def test_units(hand: tuple[pd.DataFrame, Any]) -> None:
    events, _ = hand
    assert units_by_owner(events).to_dict() == {"D1": "ann", "D2": "bob", "D3": "ann", "D4": "bob",
                                                "D5": NONE_UNIT}
    assert units_by_owner(events, "first").to_dict()["D3"] == "bob"
    assert units_by_owner(events, "last").to_dict()["D3"] == "ann"
    assert units_by_owner(events, "most_active").to_dict()["D4"] == "bob"
    assert units_by_dimension(events, "contact_role").to_dict() == {
        "D1": "champion", "D2": "champion", "D3": "influencer", "D4": NONE_UNIT, "D5": NONE_UNIT}
    assert set(single_unit(events)) == {"all"}


def test_owner_ties_and_fallbacks() -> None:
    ev = pd.DataFrame({
        "deal": ["X", "X", "X", "Y", "Y", "Z", "W", "W", "W", "W"],
        "actor": ["buyer", "seller", "seller", "buyer", "buyer", "seller",
                  "seller", "seller", "seller", "buyer"],
        "rep": pd.Series(["carl", "dora", "carl", "eve", "fay", None, "hal", "gus", "gus", "ivy"],
                         dtype=object),
    })
    # X: dora and carl tie on seller events; dora's seller event comes first (R9).
    # Y: no seller event names a rep: the first rep on any event. Z: no rep at all.
    # W: gus has most seller events; the first event names hal, the last ivy.
    assert units_by_owner(ev).to_dict() == {"X": "dora", "Y": "eve", "Z": NONE_UNIT, "W": "gus"}
    assert units_by_owner(ev, "first").to_dict() == {"X": "carl", "Y": "eve", "Z": NONE_UNIT, "W": "hal"}
    assert units_by_owner(ev, "last").to_dict() == {"X": "carl", "Y": "fay", "Z": NONE_UNIT, "W": "ivy"}


def test_rows_and_periods(table: pd.DataFrame) -> None:
    cells = table[["unit", "period"]].drop_duplicates().apply(tuple, axis=1).tolist()
    assert cells == [(NONE_UNIT, "2026-03"), (NONE_UNIT, "all"),
                     ("ann", "2026-01"), ("ann", "2026-02"), ("ann", "2026-03"), ("ann", "all"),
                     ("bob", "2026-01"), ("bob", "2026-02"), ("bob", "2026-03"), ("bob", "all")]
    names = table[(table["unit"] == "ann") & (table["period"] == "2026-01")]["indicator"].tolist()
    actions = ["call", "decline", "dup", "email", "need", "opportunity_created", "reply", "sign"]
    stages = ["Lead", "Engaged", "Qualified", "Won", "Lost"]
    opens = stages[:3]
    seller = {"call", "email"}
    assert names[: 2 * len(actions) + 2] == [
        n for a in actions
        for n in [f"occurrences:{a}", f"deals:{a}"] + ([f"answered:{a}"] if a in seller else [])]
    assert [n for n in names if n.startswith("conversion:")] == [f"conversion:{k}" for k in opens]
    assert [n for n in names if n.startswith("entries:")] == [f"entries:{s}" for s in stages]
    assert names[-6:] == ["avg_won_size", "win_rate", "win_rate_value", "cycle_time_median",
                          "cycle_time_p90", "velocity"]
    # The same indicators in every row group.
    for _, g in table.groupby(["unit", "period"]):
        assert g["indicator"].tolist() == names


# (unit, period, indicator) -> (value, n); n None: not asserted.
HAND: dict[tuple[str, str, str], tuple[float, Any]] = {
    # ---- ann, January: D1 only ----
    ("ann", "2026-01", "occurrences:email"): (2, 2),
    ("ann", "2026-01", "deals:email"): (1, 1),
    ("ann", "2026-01", "occurrences:sign"): (0, 0),
    ("ann", "2026-01", "answered:email"): (0.5, 2),         # 1 d yes, 9 d no
    ("ann", "2026-01", "answered:call"): (1.0, 1),          # exactly 7 d: inclusive
    ("ann", "2026-01", "buyer_actions"): (2, 2),
    ("ann", "2026-01", "seller_activities"): (3, 3),
    ("ann", "2026-01", "buyer_response_ratio"): (2 / 3, 3),
    ("ann", "2026-01", "entries:Qualified"): (1, 1),
    ("ann", "2026-01", "deals_entered:Lead"): (1, 1),
    ("ann", "2026-01", "dollars_entered:Lead"): (1200.5, 1),  # the deal's value, not 1000
    ("ann", "2026-01", "conversion:Lead"): (1.0, 1),
    ("ann", "2026-01", "conversion:Qualified"): (0.0, 1),    # 14 d to Won > 10 d window
    ("ann", "2026-01", "win_from:Lead"): (1.0, 1),
    ("ann", "2026-01", "win_from:Qualified"): (0.0, 1),
    ("ann", "2026-01", "time_in_stage_median:Lead"): (25 * H, 1),
    ("ann", "2026-01", "time_in_stage_p90:Engaged"): (14.0, 1),
    ("ann", "2026-01", "time_in_stage_median:Qualified"): (14.0, 1),
    ("ann", "2026-01", "created"): (1, 1),
    ("ann", "2026-01", "created_dollars"): (1200.5, 1),
    ("ann", "2026-01", "progressed"): (3, 3),
    ("ann", "2026-01", "won"): (0, 0),
    ("ann", "2026-01", "win_rate"): (math.nan, 0),
    # 29 d 1 h = 697 h to Won; 697 h lies in the doubling [512, 1024) h, cut into 64
    # buckets of 8 h: reported as its bucket's lower edge, 512 + 23 * 8 = 696 h.
    ("ann", "2026-01", "cycle_time_median"): (696 * H, 1),
    ("ann", "2026-01", "open_start"): (0, 0),
    ("ann", "2026-01", "open_end"): (1, 1),
    ("ann", "2026-01", "velocity"): (math.nan, None),        # win_rate NaN
    # ---- ann, February: D1 wins, D3 arrives and stalls ----
    ("ann", "2026-02", "occurrences:reply"): (2, 2),
    ("ann", "2026-02", "deals:reply"): (1, 1),
    ("ann", "2026-02", "buyer_response_ratio"): (1.5, 2),
    ("ann", "2026-02", "answered:email"): (1.0, 1),
    ("ann", "2026-02", "entries:Won"): (1, 1),
    ("ann", "2026-02", "deals_entered:Won"): (1, 1),
    ("ann", "2026-02", "dollars_entered:Won"): (1200.5, 1),
    ("ann", "2026-02", "dollars_entered:Engaged"): (2000.0, 1),
    ("ann", "2026-02", "progressed"): (2, 2),
    ("ann", "2026-02", "won"): (1, 1),
    ("ann", "2026-02", "won_dollars"): (1200.5, 1),
    ("ann", "2026-02", "created_dollars"): (2000.0, 1),
    ("ann", "2026-02", "conversion:Lead"): (1.0, 1),
    ("ann", "2026-02", "conversion:Engaged"): (math.nan, 0),  # D3 pending
    ("ann", "2026-02", "pending:Engaged"): (1, 1),
    ("ann", "2026-02", "win_from:Lead"): (math.nan, 0),
    ("ann", "2026-02", "time_in_stage_median:Lead"): (4.0, 1),
    ("ann", "2026-02", "time_in_stage_median:Engaged"): (math.nan, 1),  # censored only
    ("ann", "2026-02", "cycle_time_median"): (math.nan, 1),
    ("ann", "2026-02", "stalled"): (1, 1),
    ("ann", "2026-02", "stalled_dollars"): (2000.0, 1),
    ("ann", "2026-02", "win_rate"): (1.0, 1),
    ("ann", "2026-02", "avg_won_size"): (1200.5, 1),
    ("ann", "2026-02", "win_rate_value"): (1.0, 1),
    ("ann", "2026-02", "open_start"): (1, 1),
    ("ann", "2026-02", "open_end"): (1, 1),
    # ---- ann, March: nothing happened ----
    ("ann", "2026-03", "occurrences:email"): (0, 0),
    ("ann", "2026-03", "answered:email"): (math.nan, 0),
    ("ann", "2026-03", "buyer_response_ratio"): (math.nan, 0),
    ("ann", "2026-03", "time_in_stage_median:Lead"): (math.nan, 0),
    ("ann", "2026-03", "open_start"): (1, 1),
    ("ann", "2026-03", "open_end"): (1, 1),
    # ---- ann, all ----
    ("ann", "all", "occurrences:email"): (3, 3),
    ("ann", "all", "deals:email"): (2, 2),                  # summed over periods
    ("ann", "all", "answered:email"): (2 / 3, 3),
    ("ann", "all", "conversion:Lead"): (1.0, 2),
    ("ann", "all", "conversion:Engaged"): (1.0, 1),
    ("ann", "all", "win_from:Lead"): (1.0, 1),
    ("ann", "all", "time_in_stage_median:Lead"): (25 * H, 2),   # 25 h and 96 h
    ("ann", "all", "time_in_stage_p90:Lead"): (4.0, 2),
    ("ann", "all", "time_in_stage_median:Engaged"): (14.0, 2),  # 336 h, 1288 h censored
    ("ann", "all", "time_in_stage_p90:Engaged"): (math.nan, 2),
    ("ann", "all", "cycle_time_median"): (696 * H, 2),
    ("ann", "all", "cycle_time_p90"): (math.nan, 2),
    ("ann", "all", "created"): (2, 2),
    ("ann", "all", "created_dollars"): (3200.5, 2),
    ("ann", "all", "open_start"): (0, 0),
    ("ann", "all", "open_end"): (1, 1),
    ("ann", "all", "velocity"): (2 * 1.0 * 1200.5 / (696 * H), None),
    # ---- bob ----
    ("bob", "2026-01", "answered:email"): (0.0, 1),          # 17 d
    ("bob", "2026-01", "buyer_response_ratio"): (0.0, 1),
    ("bob", "2026-01", "conversion:Lead"): (1.0, 1),
    ("bob", "2026-01", "win_from:Lead"): (0.0, 1),          # lost
    ("bob", "2026-01", "time_in_stage_median:Lead"): (18.0, 1),
    # 01-25 12:00 -> 03-15 12:00 = 49 d = 1176 h, in [1024, 2048) h with 16 h buckets:
    # 1024 + 9 * 16 = 1168 h.
    ("bob", "2026-01", "cycle_time_median"): (1168 * H, 1),
    ("bob", "2026-02", "answered:email"): (1.0, 1),
    ("bob", "2026-02", "buyer_response_ratio"): (2.0, 1),
    ("bob", "2026-02", "conversion:Qualified"): (0.0, 1),   # Lost is not "next"
    ("bob", "2026-02", "time_in_stage_median:Engaged"): (8.0, 1),
    ("bob", "2026-02", "time_in_stage_median:Qualified"): (23.0, 1),  # to Lost
    ("bob", "2026-03", "occurrences:dup"): (1, 1),
    ("bob", "2026-03", "buyer_response_ratio"): (math.nan, 0),
    ("bob", "2026-03", "lost"): (1, 1),
    ("bob", "2026-03", "lost_dollars"): (500.0, 1),
    ("bob", "2026-03", "dollars_entered:Lost"): (500.0, 1),
    ("bob", "2026-03", "excluded"): (1, 1),
    ("bob", "2026-03", "created"): (1, 1),
    ("bob", "2026-03", "progressed"): (2, 2),
    ("bob", "2026-03", "conversion:Lead"): (1.0, 1),
    ("bob", "2026-03", "win_from:Lead"): (math.nan, 0),     # excluded inside the window
    ("bob", "2026-03", "conversion:Engaged"): (math.nan, 0),
    ("bob", "2026-03", "pending:Engaged"): (0, 0),          # excluded deals never pending
    ("bob", "2026-03", "time_in_stage_median:Lead"): (1.0, 1),
    ("bob", "2026-03", "time_in_stage_median:Engaged"): (math.nan, 1),  # R1: censored
    ("bob", "2026-03", "cycle_time_median"): (math.nan, 1),  # censored at the exclusion
    ("bob", "2026-03", "open_start"): (1, 1),
    ("bob", "2026-03", "open_end"): (0, 0),
    ("bob", "2026-03", "win_rate"): (0.0, 1),
    ("bob", "2026-03", "win_rate_value"): (0.0, 1),
    ("bob", "2026-03", "avg_won_size"): (math.nan, 0),
    ("bob", "all", "conversion:Lead"): (1.0, 2),
    ("bob", "all", "conversion:Engaged"): (1.0, 1),
    ("bob", "all", "time_in_stage_median:Lead"): (1.0, 2),
    ("bob", "all", "time_in_stage_p90:Lead"): (18.0, 2),
    ("bob", "all", "time_in_stage_median:Engaged"): (8.0, 2),  # 24 h censored, then 192 h
    ("bob", "all", "cycle_time_median"): (1168 * H, 2),
    ("bob", "all", "open_end"): (0, 0),
    # ---- (none): D5 ----
    (NONE_UNIT, "2026-03", "created"): (1, 1),
    (NONE_UNIT, "2026-03", "created_dollars"): (0.0, 0),    # no value
    (NONE_UNIT, "2026-03", "dollars_entered:Lead"): (0.0, 0),
    (NONE_UNIT, "2026-03", "conversion:Lead"): (math.nan, 0),
    (NONE_UNIT, "2026-03", "pending:Lead"): (1, 1),
    (NONE_UNIT, "2026-03", "time_in_stage_median:Lead"): (math.nan, 1),
    (NONE_UNIT, "2026-03", "open_end"): (1, 1),
    (NONE_UNIT, "all", "open_end"): (1, 1),
}


@pytest.mark.parametrize("key", list(HAND), ids=["/".join(k) for k in HAND])
def test_hand_figures(table: pd.DataFrame, key: tuple[str, str, str]) -> None:
    value, n = HAND[key]
    row = fig(table, *key)
    assert same(float(row["value"]), float(value)), (row["value"], value)
    if n is not None:
        assert int(row["n"]) == n


def test_intervals_previous_and_changes(table: pd.DataFrame) -> None:
    # Wilson(1, 1) = [1 / (1 + z^2), 1]; Wilson(1, 2) = 1/2 -+ z/(1 + z^2/2) sqrt(1/8 + z^2/16).
    r = fig(table, "ann", "2026-02", "win_rate")
    assert math.isclose(r["lower"], 1 / (1 + Z * Z), rel_tol=1e-12) and r["upper"] == 1.0
    r = fig(table, "ann", "2026-01", "answered:email")
    half = Z / (1 + Z * Z / 2) * math.sqrt(1 / 8 + Z * Z / 16)
    assert math.isclose(r["lower"], 0.5 - half, rel_tol=1e-12)
    assert math.isclose(r["upper"], 0.5 + half, rel_tol=1e-12)
    r = fig(table, "bob", "2026-03", "win_rate")              # 0 of 1: lower exactly 0
    assert r["lower"] == 0.0 and math.isclose(r["upper"], Z * Z / (1 + Z * Z), rel_tol=1e-12)
    r = fig(table, "ann", "2026-03", "answered:email")        # R4: no trials
    assert math.isnan(r["value"]) and math.isnan(r["lower"]) and math.isnan(r["upper"])
    r = fig(table, "ann", "2026-01", "created")                # counts have no interval
    assert math.isnan(r["lower"]) and math.isnan(r["upper"]) and math.isnan(r["p_change"])
    # previous: the same indicator one period earlier; NaN first and for "all".
    assert fig(table, "ann", "2026-02", "created")["previous"] == 1
    assert math.isnan(fig(table, "ann", "2026-01", "created")["previous"])
    assert math.isnan(fig(table, "ann", "all", "created")["previous"])
    assert fig(table, "ann", "2026-02", "answered:email")["previous"] == 0.5
    # p_change: pooled z test, 1/2 (January) vs 1/1 (February): p = 2/3, se = sqrt(p q 3/2),
    # z = 0.5 / se = sqrt(3)/2.
    p = fig(table, "ann", "2026-02", "answered:email")["p_change"]
    assert math.isclose(p, 2 * sps.norm.sf(math.sqrt(3) / 2), rel_tol=1e-12)
    assert fig(table, "ann", "2026-02", "answered:call")["p_change"] == 1.0   # 1/1 vs 1/1
    assert math.isnan(fig(table, "ann", "2026-02", "win_rate")["p_change"])   # 0 trials before
    assert math.isnan(fig(table, "ann", "all", "win_rate")["p_change"])


def test_immature(table: pd.DataFrame) -> None:
    flagged = set(map(tuple, table.loc[table["immature"], ["unit", "period", "indicator"]].to_numpy()))
    assert flagged == {
        ("ann", "2026-02", "conversion:Engaged"), ("ann", "2026-02", "win_from:Lead"),
        ("ann", "2026-02", "win_from:Engaged"),
        ("ann", "all", "conversion:Engaged"), ("ann", "all", "win_from:Lead"),
        ("ann", "all", "win_from:Engaged"),
        (NONE_UNIT, "2026-03", "conversion:Lead"), (NONE_UNIT, "2026-03", "win_from:Lead"),
        (NONE_UNIT, "all", "conversion:Lead"), (NONE_UNIT, "all", "win_from:Lead"),
    }


def test_literal_reading_of_exclusions_observes_them(hand: tuple[pd.DataFrame, Any]) -> None:
    """R1 the other way: with excluded_exit="observed", D4's day in Engaged is an
    observed exit, so bob's Engaged median over all periods is 1 day, not 8."""
    events, timelines = hand
    t = reference_table(events, timelines, units_by_owner(events), excluded_exit="observed")
    assert fig(t, "bob", "all", "time_in_stage_median:Engaged")["value"] == 1.0
    assert fig(t, "bob", "2026-03", "time_in_stage_median:Engaged")["value"] == 1.0


def test_conversion_window_option(hand: tuple[pd.DataFrame, Any]) -> None:
    """conversion_window 1d for Lead and Engaged (Qualified keeps its own 10d):
    Lead: D1 25 h -> failed, D3 4 d and stalled -> failed, D2 18 d -> failed,
    D4 24 h -> advanced (<= W), D5 open and 11 d past -> failed (not pending).
    Engaged: D4 excluded exactly 1 d after entering -> failed (x - fe >= W)."""
    events, timelines = hand
    assert stage_windows(timelines, "1d") == [86_400 * 10**9, 86_400 * 10**9, 10 * 86_400 * 10**9]
    t = reference_table(events, timelines, units_by_owner(events), conversion_window="1d")
    assert (fig(t, "ann", "all", "conversion:Lead")[["value", "n"]].tolist()) == [0.0, 2]
    assert (fig(t, "bob", "all", "conversion:Lead")[["value", "n"]].tolist()) == [0.5, 2]
    assert (fig(t, NONE_UNIT, "all", "conversion:Lead")[["value", "n"]].tolist()) == [0.0, 1]
    assert not fig(t, NONE_UNIT, "all", "conversion:Lead")["immature"]
    assert (fig(t, "bob", "all", "conversion:Engaged")[["value", "n"]].tolist()) == [0.0, 2]
    assert (fig(t, "bob", "2026-03", "win_from:Engaged")[["value", "n"]].tolist()) == [0.0, 1]
    assert fig(t, "ann", "all", "pending:Engaged")["value"] == 0      # D3's window closed


def test_other_calendars(hand: tuple[pd.DataFrame, Any]) -> None:
    events, timelines = hand
    units = single_unit(events)
    t = reference_table(events, timelines, units, calendar="fiscal_quarter:7")
    assert t["period"].unique().tolist() == ["FY2026 Q3", "all"]
    t = reference_table(events, timelines, units, calendar="quarter")
    assert t["period"].unique().tolist() == ["2026 Q1", "all"]
    t = reference_table(events, timelines, units, calendar="week")
    periods = t["period"].unique().tolist()
    assert periods[0] == "2026-W02" and periods[-2] == "2026-W12" and len(periods) == 12
    # One unit: the whole log's flow.
    assert fig(t, "all", "all", "open_end")["value"] == 2       # D3 (stalled) and D5
    assert fig(t, "all", "all", "created")["value"] == 5


def test_calendar_labels_against_the_docs() -> None:
    def label(spec: str, when: str) -> str:
        cal = parse_calendar(spec)
        return cal.label(cal.ordinal(pd.Timestamp(when, tz="UTC").value))

    assert label("fiscal_quarter:7", "2025-06-30 23:59") == "FY2025 Q4"
    assert label("fiscal_quarter:7", "2025-07-01 00:00") == "FY2026 Q1"
    assert label("fiscal_quarter:7", "2026-03-14 09:30") == "FY2026 Q3"
    assert label("week", "2027-01-01") == "2026-W53"
    assert label("week", "2020-12-31") == "2020-W53"
    assert label("week", "2021-01-04") == "2021-W01"
    assert label("fiscal_year:4", "2026-04-01") == "FY2027"
    assert label("fiscal_year:4", "2027-03-31 23:59") == "FY2027"
    assert label("day", "2026-03-14 23:59") == "2026-03-14"
    assert label("month", "2026-03-31 23:59") == "2026-03"
    assert label("quarter", "2026-03-31") == "2026 Q1"
    assert label("fiscal_quarter:1", "2026-03-31") == "2026 Q1"
    assert label("year", "2026-12-31") == "2026"
    assert label("fiscal_month:7", "2026-03-14") == "2026-03"
    cal = parse_calendar("week")
    o = cal.ordinal(pd.Timestamp("2021-01-01", tz="UTC").value)   # a Friday in 2020-W53
    assert cal.end_ns(o) == pd.Timestamp("2021-01-04", tz="UTC").value


def test_statistics_against_the_header_examples() -> None:
    est, lo, hi = wilson(7, 20, 0.95)
    assert est == 0.35 and round(lo, 3) == 0.181 and round(hi, 3) == 0.567
    assert wilson(0, 10, 0.95)[1] == 0.0 and wilson(10, 10, 0.95)[2] == 1.0
    assert round(two_proportion_p(7, 20, 15, 25), 3) == 0.095
    assert two_proportion_p(0, 5, 0, 7) == 1.0 and math.isnan(two_proportion_p(0, 0, 1, 2))
    # km->Quantile(0.5) -> 5 for durations 3, 5, 5(censored), 8: S(5) = 3/4 * 2/3 = 0.5.
    assert km_quantile({3: [1, 0], 5: [1, 1], 8: [1, 0]}, 0.5) == 5
    # 10 deals leaving one by one: S = 9/10 * 8/9 * ... * 5/6 = 0.5 (the 1e-12 slack).
    assert km_quantile({t: [1, 0] for t in range(1, 11)}, 0.5) == 5
    assert km_quantile({1: [1, 0], 2: [0, 3]}, 0.5) is None      # never reaches 0.5
    assert km_quantile({}, 0.5) is None
    assert to_fixed(1200.5) == 12_005_000 and to_fixed(0.00005) == 1 and to_fixed(-0.00005) == -1
    assert to_fixed(math.nan) is None


def test_trends_against_the_header_example() -> None:
    # TrendSlope({12, 15, NaN, 19, 22}) == 2.4 per period over n == 4.
    table = pd.DataFrame({"unit": "u", "period": ["p1", "p2", "p3", "p4", "p5", "all"],
                          "indicator": "x", "value": [12, 15, math.nan, 19, 22, 68]})
    tr = reference_trends(table, periods=6)
    row = tr.iloc[0]
    assert row["n"] == 4 and math.isclose(row["slope"], 2.4, rel_tol=1e-12) and row["last"] == 22
    # Residuals of (0,12) (1,15) (3,19) (4,22) about 2.4x + 12.4: -0.4, 0.2, -0.6, 0.0 ... by hand:
    x, y = np.array([0, 1, 3, 4.0]), np.array([12, 15, 19, 22.0])
    resid = y - (2.4 * x + (y.mean() - 2.4 * x.mean()))
    se = math.sqrt((resid ** 2).sum() / 2 / ((x - x.mean()) ** 2).sum())
    assert math.isclose(row["upper"] - row["slope"], sps.t.ppf(0.975, 2) * se, rel_tol=1e-9)
    # The last 2 periods only: an exact slope, no interval.
    row = reference_trends(table, periods=2).iloc[0]
    assert row["n"] == 2 and math.isclose(row["slope"], 3.0) and math.isnan(row["lower"])


def test_deal_warnings(hand: tuple[pd.DataFrame, Any]) -> None:
    """Open or stalled deals in a stage: D3 (Engaged, stalled) and D5 (Lead).
    Engaged durations: D1 14 d, D2 8 d observed; D3 53 d 16 h, D4 1 d censored (R1):
    S(8 d) = 2/3, S(14 d) = 1/3, so the median is 14 d and the p90 is not reached.
    Lead: 24 h, 25 h, 96 h, 18 d observed, 11 d censored: S = 4/5, 3/5, 2/5 at 96 h
    (median 4 d), 0 at 18 d (p90 18 d)."""
    events, timelines = hand
    w = reference_warnings(events, timelines, dark_percentile=50).set_index("deal")
    assert w.index.tolist() == ["D3", "D5"]
    assert w.loc["D3", "stage"] == "Engaged" and w.loc["D5", "stage"] == "Lead"
    assert w["stalled"].tolist() == [True, False]
    assert w["normal_days"].tolist() == [14.0, 4.0]
    assert w["dark"].tolist() == [True, True]
    assert math.isclose(w.loc["D3", "quiet_days"], 53 + 16 / 24, rel_tol=1e-12)
    assert w.loc["D5", "quiet_days"] == 11.0
    assert w["single_threaded"].tolist() == [0, 1]         # D3: c5 and c6; D5: no contact
    assert w["no_decision_maker"].tolist() == [0, 1]       # c6 is a decision maker
    w90 = reference_warnings(events, timelines).set_index("deal")
    assert math.isnan(w90.loc["D3", "normal_days"]) and not w90.loc["D3", "dark"]
    assert w90.loc["D5", "normal_days"] == 18.0 and not w90.loc["D5", "dark"]
    bare = events.drop(columns=["contact", "contact_role"])
    w = reference_warnings(bare, timelines)
    assert w["single_threaded"].tolist() == [-1, -1] and w["no_decision_maker"].tolist() == [-1, -1]


@pytest.mark.parametrize("calendar", ["month", "week"])
def test_flow_identity_and_open_deals_on_a_synthetic_log(calendar: str) -> None:
    """The reference's open_end (from created, reopened, won, lost, excluded) equals an
    independent count of the deals in an open stage at each period end."""
    co = salesperf.synth.company(events=6_000, seed=11)
    log = co.event_log()
    events = log.to_pandas()
    timelines = co.stage_model().run(log)
    units = units_by_dimension(events, "segment")
    t = reference_table(events, timelines, units, calendar=calendar)
    t = t[t["period"] != "all"]
    wide = t.pivot(index=["unit", "period"], columns="indicator", values="value")
    flow = wide["open_start"] + wide["created"] + wide["reopened"] - wide["won"] - wide["lost"] \
        - wide["excluded"]
    assert (flow == wide["open_end"]).all()
    periods = {u: list(g.index.get_level_values("period")) for u, g in wide.groupby(level="unit")}
    counted = open_at_period_ends(timelines, units, calendar, periods)
    assert {k: int(v) for k, v in wide["open_end"].items()} == counted


def test_accumulator_cells_only_where_something_counted(hand: tuple[pd.DataFrame, Any]) -> None:
    events, timelines = hand
    acc = accumulate(events, timelines, units_by_owner(events), calendar="month",
                     windows=stage_windows(timelines))
    labels = {(u, acc.calendar.label(p)) for u, p in acc.cells()}
    assert labels == {("ann", "2026-01"), ("ann", "2026-02"), ("bob", "2026-01"), ("bob", "2026-02"),
                      ("bob", "2026-03"), (NONE_UNIT, "2026-03")}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=tiny_logs(), model=tiny_models(), late=st.sampled_from([0, 1, 20]),
       calendar=st.sampled_from(["day", "week", "month"]))
def test_reference_invariants_on_random_tiny_logs(events: pd.DataFrame, model: dict[str, Any],
                                                 late: int, calendar: str) -> None:
    """Sums the definitions imply, on random logs and models with every feature (stall
    closes, exclusions, reopens, skips, recorded regressions): the flow identity and an
    independent count of open deals, created / won / lost / deals_entered totals against
    the timelines, and cohort and duration sizes against the deals that entered."""
    log = salesperf.EventLog.from_pandas(events, vocabulary=TINY_VOCABULARY)
    timelines = salesperf.StageModel.from_dict(model).run(
        log, as_of=events["time"].max() + pd.Timedelta(days=late))
    ev = log.to_pandas()
    units = units_by_owner(ev)
    t = reference_table(ev, timelines, units, calendar=calendar)
    wide = t.pivot(index=["unit", "period"], columns="indicator", values="value")
    flow = wide["open_start"] + wide["created"] + wide["reopened"] - wide["won"] - wide["lost"] \
        - wide["excluded"]
    assert (flow == wide["open_end"]).all()
    body = wide[wide.index.get_level_values("period") != "all"]
    periods = {u: list(g.index.get_level_values("period")) for u, g in body.groupby(level="unit")}
    assert {k: int(v) for k, v in body["open_end"].items()} == \
        open_at_period_ends(timelines, units, calendar, periods)

    total = wide[wide.index.get_level_values("period") == "all"].sum()
    tr = timelines.transitions
    first = tr.groupby("deal", sort=False)["kind"].first().astype(str)
    assert total["created"] == int((first != "excluded").sum())
    assert total["won"] == int((tr["to_stage"] == "Won").sum())
    assert total["lost"] == int((tr["to_stage"] == "Lost").sum())
    assert total["reopened"] == int((tr["kind"].astype(str) == "reopened").sum())
    entered = timelines.stage_counts()["deals_entered"]
    for s, n in entered.items():
        assert total[f"deals_entered:{s}"] == n
    all_rows = t[t["period"] == "all"]
    for k in timelines.stage_names[:-2]:
        n_conv = all_rows[all_rows["indicator"] == f"conversion:{k}"]["n"].sum()
        pending = all_rows[all_rows["indicator"] == f"pending:{k}"]["value"].sum()
        if "exclude" not in model:
            assert n_conv + pending == entered[k]
        else:
            assert n_conv + pending <= entered[k]
        n_time = all_rows[all_rows["indicator"] == f"time_in_stage_median:{k}"]["n"].sum()
        assert n_time == entered[k]
    n_cycle = all_rows[all_rows["indicator"] == "cycle_time_median"]["n"].sum()
    assert n_cycle == int(timelines.entered.notna().any(axis=1).sum())
