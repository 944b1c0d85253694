"""salesperf.targets() and what_if() against a pandas / numpy computation written from
the definitions in salesperf/targets.h: rates from the leak reference's fates and its
scipy-fitted concentration, values, lags and run rates straight from Timelines, and a
numpy Monte Carlo for the intervals (compared loosely: a different random stream)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from indicator_reference import units_by_owner
from leak_reference import concentration, reference_counts

import salesperf
from salesperf.errors import InvalidArgumentError

DAY = 86_400 * 10**9
ENTRY = {"Lead": "opportunity_created", "Engaged": "reply", "Qualified": "state_need", "Budget": "share_budget",
         "Proposal": "request_proposal", "Commit": "verbal_commit"}
PERIOD = (pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-04-01", tz="UTC"))


@pytest.fixture(scope="module")
def run() -> tuple[Any, Any, Any]:
    co = salesperf.synth.company(events=150_000, seed=13)
    log = co.event_log()
    return co, log, co.stage_model(stall_after="45d", close_stalled_after="30d").run(log)


def reference(log: Any, tl: Any, units: pd.Series, target: dict[str, float], *, rates: str = "unit",
              lookback_days: float = 90, min_won: int = 5) -> pd.DataFrame:
    names = tl.stage_names[:-2]
    o = len(names)
    c = reference_counts(tl, units)
    ulist = c.units
    x = np.zeros((len(ulist), o))
    n = np.zeros((len(ulist), o))
    for ui, u in enumerate(ulist):
        for k in range(o):
            cell = c.cells.get((u, "current", k))
            lost = sum(v for (uu, coh, kk, _), v in c.lost.items() if uu == u and coh == "current" and kk == k)
            if cell:
                x[ui, k] = cell["advanced"]
                n[ui, k] = cell["advanced"] + cell["stalled"] + lost
    rate = np.zeros_like(x)
    for k in range(o):
        if rates == "organisation":
            rate[:, k] = (x[:, k].sum() + 0.5) / (n[:, k].sum() + 1)
            continue
        kap = concentration(x[:, k].astype(np.int64), n[:, k].astype(np.int64))
        m = x[:, k].sum() / n[:, k].sum()
        rate[:, k] = (x[:, k] + kap * m) / (n[:, k] + kap) if kap > 0 else (x[:, k] + 0.5) / (n[:, k] + 1)
    deals = tl.deals
    unit_of = units.reindex(deals.index)
    won = deals[deals["outcome"].astype(str) == "won"]
    entered = tl.entered
    as_of = tl.as_of
    lo = as_of - pd.Timedelta(days=lookback_days)
    ev = log.to_pandas()
    ev_unit = ev["deal"].map(units)
    in_window = (ev["time"] >= lo) & (ev["time"] < as_of)
    weeks = (PERIOD[1] - PERIOD[0]) / pd.Timedelta(days=7)
    rows = []
    org_vals = won["value"].dropna()
    for ui, u in enumerate(ulist):
        if u not in target:
            continue
        mine = won[unit_of.loc[won.index] == u]
        vals = mine["value"].dropna()
        if len(vals) < min_won:
            vals = org_vals
        value, se = vals.mean(), vals.std(ddof=1) / math.sqrt(len(vals))
        for k, s in enumerate(names):
            win_k = float(np.prod(rate[ui, k:]))
            days = ((mine["outcome_time"] - entered.loc[mine.index, s]).dropna().dt.total_seconds() / 86_400)
            if len(days) < min_won:
                days = ((won["outcome_time"] - entered.loc[won.index, s]).dropna().dt.total_seconds() / 86_400)
            lag = float(np.median(days))
            ent = entered.loc[unit_of[unit_of == u].index, s]
            entries_window = int(((ent >= lo) & (ent < as_of)).sum())
            run_rate = entries_window / (lookback_days / 7)
            occ = int((in_window & (ev_unit == u) & (ev["action"].astype(str) == ENTRY[s])).sum())
            per_entry = occ / entries_window if entries_window else 1.0
            wins = target[u] / value
            need = wins / win_k
            rows.append({"unit": u, "stage": s, "value": value, "value_se": se, "wins_needed": wins,
                         "rate": rate[ui, k], "win_probability": win_k, "lag_days": lag,
                         "entries_needed": need, "entries_per_week": need / weeks, "run_rate": run_rate,
                         "gap_per_week": need / weeks - run_rate, "occurrences_per_entry": per_entry,
                         "occurrences_per_week": need / weeks * per_entry,
                         "needed_from": PERIOD[0] - pd.Timedelta(days=lag)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("rates", ["unit", "organisation"])
def test_plan_matches_reference(run: tuple[Any, Any, Any], rates: str) -> None:
    co, log, tl = run
    owners = units_by_owner(log.to_pandas())
    target = {u: 100_000.0 + 10_000 * i for i, u in enumerate(sorted(set(owners)))}
    got = salesperf.targets(log, tl, target, period=PERIOD, rates=rates).table()
    want = reference(log, tl, owners, target, rates=rates)
    got = got.assign(unit=got["unit"].astype(str), stage=got["stage"].astype(str))
    merged = want.merge(got, on=["unit", "stage"], suffixes=("_want", ""))
    assert len(merged) == len(want) == len(got)
    for col in ["value", "value_se", "wins_needed", "lag_days", "run_rate", "occurrences_per_entry"]:
        np.testing.assert_allclose(merged[col], merged[f"{col}_want"], rtol=1e-9, err_msg=col)
    for col in ["rate", "win_probability", "entries_needed", "entries_per_week", "gap_per_week",
                "occurrences_per_week"]:
        np.testing.assert_allclose(merged[col], merged[f"{col}_want"], rtol=1e-6, err_msg=col)
    assert (abs(merged["needed_from"] - merged["needed_from_want"]) < pd.Timedelta(seconds=1)).all()
    # the interval brackets the point and is deterministic for a seed
    assert (merged["entries_lower"] <= merged["entries_per_week"] * (1 + 1e-9)).all()
    assert (merged["entries_per_week"] <= merged["entries_upper"] * (1 + 1e-9)).all()
    again = salesperf.targets(log, tl, target, period=PERIOD, rates=rates).table()
    assert again["entries_lower"].tolist() == got["entries_lower"].tolist()


def test_interval_matches_a_numpy_monte_carlo(run: tuple[Any, Any, Any]) -> None:
    """The bounds against numpy's own beta and normal draws (a different stream), for
    the organisation's rates where the posteriors are simple to write down."""
    co, log, tl = run
    owners = units_by_owner(log.to_pandas())
    unit = sorted(set(owners))[0]
    got = salesperf.targets(log, tl, {unit: 250_000.0}, period=PERIOD, rates="organisation", draws=20_000,
                            interval=0.8).table()
    c = reference_counts(tl, owners)
    names = tl.stage_names[:-2]
    rng = np.random.default_rng(0)
    S = 200_000
    p = np.ones((S, len(names)))
    for k in range(len(names)):
        x = sum(cell["advanced"] for (u, coh, kk), cell in c.cells.items() if kk == k and coh == "current")
        lost = sum(v for (u, coh, kk, _), v in c.lost.items() if kk == k and coh == "current")
        stl = sum(cell["stalled"] for (u, coh, kk), cell in c.cells.items() if kk == k and coh == "current")
        n = x + lost + stl
        p[:, k] = rng.beta(x + 0.5, n - x + 0.5, S)
    row0 = got.iloc[0]
    value = rng.normal(row0["value"], row0["value_se"], S)
    value = np.maximum(value, 0.01 * row0["value"])
    weeks = (PERIOD[1] - PERIOD[0]) / pd.Timedelta(days=7)
    for k, s in enumerate(names):
        draws = 250_000.0 / value / np.prod(p[:, k:], axis=1) / weeks
        lo, hi = np.quantile(draws, [0.1, 0.9])
        r = got[got["stage"].astype(str) == s].iloc[0]
        assert r["entries_lower"] == pytest.approx(lo, rel=0.03), s
        assert r["entries_upper"] == pytest.approx(hi, rel=0.03), s


def test_what_if_by_hand(run: tuple[Any, Any, Any]) -> None:
    co, log, tl = run
    w = salesperf.what_if(log, tl, horizon="10w", add_reps=3, ramp="4w", stage="Proposal", raise_by=0.25)
    plan = salesperf.targets(log, tl, 1.0, period=PERIOD).table()
    first = plan[plan["stage"].astype(str) == "Lead"]
    weekly = first["run_rate"] * first["win_probability"] * first["value"]
    assert w["median_unit_weekly"] == pytest.approx(float(np.median(weekly)), rel=1e-9)
    assert w["baseline_revenue"] == pytest.approx(float(weekly.sum()) * 10, rel=1e-9)
    ramp = sum(min(1.0, t / 4) for t in range(1, 11))  # 0.25 + 0.5 + 0.75 + 7 = 8.5
    assert w["add_reps_revenue"] == pytest.approx(3 * w["median_unit_weekly"] * ramp, rel=1e-9)
    prop = plan[plan["stage"].astype(str) == "Proposal"].set_index("unit")["rate"]
    raised = np.minimum(1.0, prop * 1.25) / prop
    uplift = (first.set_index("unit")["run_rate"] * first.set_index("unit")["win_probability"]
              * first.set_index("unit")["value"] * (raised - 1)).sum() * 10
    assert w["raise_stage_revenue"] == pytest.approx(float(uplift), rel=1e-9)


def test_errors(run: tuple[Any, Any, Any]) -> None:
    co, log, tl = run
    with pytest.raises(InvalidArgumentError, match="nobody"):
        salesperf.targets(log, tl, {"nobody": 1.0}, period=PERIOD)
    with pytest.raises(InvalidArgumentError, match="target"):
        salesperf.targets(log, tl, -5.0, period=PERIOD)
    with pytest.raises(InvalidArgumentError, match="period"):
        salesperf.targets(log, tl, 1.0, period=(PERIOD[1], PERIOD[0]))
    with pytest.raises(InvalidArgumentError, match="time zone"):
        salesperf.targets(log, tl, 1.0, period=("2026-01-01", "2026-04-01"))
    with pytest.raises(InvalidArgumentError, match="stage"):
        salesperf.what_if(log, tl, stage="Negotiation")
