"""salesperf plan_vs_actual() and key_accounts() against a pandas / numpy computation
written from the definitions in salesperf/targets.h: the deals' outcome, outcome time,
value, current stage and first entries straight from Timelines, the owners from the
indicator reference, the stage trials counted here per deal (the fates of leaks.h), and
the key accounts from the event DataFrame. Nothing of the library's internals is used."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from indicator_reference import units_by_owner

import salesperf
from salesperf.errors import InvalidArgumentError
from salesperf.targets import key_account_summary, key_accounts, plan_vs_actual

NAT = np.iinfo(np.int64).min
PERIODS = ["2025Q3", "2025Q4", "2026Q1"]  # finished, in progress at as_of, not started
MARGIN = 0.35


@pytest.fixture(scope="module")
def run() -> tuple[Any, Any, pd.DataFrame]:
    co = salesperf.synth.company(events=150_000, seed=21)
    log = co.event_log()
    tl = co.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
    return log, tl, log.to_pandas()


def _ns(s: pd.Series) -> np.ndarray:
    return s.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _bounds(period: str) -> tuple[int, int]:
    p = pd.Period(period)
    return (int(pd.Timestamp(p.start_time, tz="UTC").value), int(pd.Timestamp((p + 1).start_time, tz="UTC").value))


def reference(log: Any, tl: Any, ev: pd.DataFrame, objectives: pd.DataFrame,
              shape_periods: int = 8) -> tuple[pd.DataFrame, np.ndarray]:
    owners = units_by_owner(ev)
    deals = tl.deals
    unit = owners.reindex(deals.index).astype(str).to_numpy()
    names = tl.stage_names[:-2]
    o = len(names)
    ent = np.stack([_ns(tl.entered[s]) for s in names], axis=1)  # deal x open stage
    outcome = deals["outcome"].astype(str).to_numpy()
    otime = _ns(deals["outcome_time"])
    value = deals["value"].to_numpy(dtype=float)
    as_of = int(tl.as_of.value)
    first_event = int(_ns(ev["time"]).min())

    # Trials per stage (leaks.h, one cohort, every deal): a funnel deal reached every
    # stage from its entry to min(furthest, O-1); it advanced past k when furthest > k;
    # it is a trial there when it advanced or ended at k lost or stalled.
    x = np.zeros(o)
    n = np.zeros(o)
    for i in range(len(deals)):
        hit = np.flatnonzero(ent[i] != NAT)
        if len(hit) == 0:
            continue
        furthest = o if outcome[i] == "won" else int(hit[-1])
        for k in range(int(hit[0]), min(furthest, o - 1) + 1):
            if furthest > k:
                x[k] += 1
                n[k] += 1
            elif outcome[i] in ("lost", "stalled"):
                n[k] += 1
    rate = np.where(n > 0, x / np.where(n > 0, n, 1), np.nan)
    p_win = np.array([np.prod(rate[k:]) for k in range(o)])

    won = outcome == "won"
    waits = [np.sort((otime - ent[:, k])[won & (ent[:, k] != NAT)]) for k in range(o)]
    stage_of = {s: k for k, s in enumerate(names)}
    current = np.array([stage_of.get(s, -1) if isinstance(s, str) else -1 for s in deals["current_stage"]])
    is_open = (outcome == "open") & (current >= 0)

    rows = []
    for _, ob in objectives.iterrows():
        u = str(ob["unit"])
        metric = ob.get("metric", "bookings")
        mr = float(ob["margin_rate"]) if metric == "margin" else 1.0
        if "period" in objectives.columns:
            ps, pe = _bounds(ob["period"])
        else:
            ps, pe = int(pd.Timestamp(ob["period_start"]).value), int(pd.Timestamp(ob["period_end"]).value)
        target = float(ob["target"])

        def m(v: np.ndarray) -> np.ndarray:
            if metric == "wins":
                return np.ones(len(v))
            return np.nan_to_num(v, nan=0.0) * mr

        mine = won & (unit == u) & (otime >= ps) & (otime < pe) & (otime <= as_of)
        actual = float(m(value[mine]).sum())
        L = pe - ps
        elapsed = min(1.0, max(0.0, (as_of - ps) / L))
        if elapsed == 1.0:
            shape = 1.0
        else:
            early = total = 0.0
            for i in range(1, shape_periods + 1):
                start = ps - i * L
                if start < first_event:
                    break
                inp = won & (otime >= start) & (otime < start + L)
                mm = m(value[inp])
                total += mm.sum()
                early += mm[(otime[inp] - start) / L < elapsed].sum()
            shape = early / total if total != 0 else elapsed
        expected = target * shape
        R = 0 if as_of >= pe else pe - max(as_of, ps)
        pipeline = weighted = var = 0.0
        n_open = 0
        for d in np.flatnonzero(is_open & (unit == u)):
            k = current[d]
            a = as_of - ent[d, k]
            D = waits[k]
            longer = int((D > a).sum())
            p_time = 0.0 if longer == 0 else int(((D > a) & (D <= a + R)).sum()) / longer
            q = p_win[k] * p_time
            c = float(m(value[d:d + 1])[0])
            n_open += 1
            pipeline += c
            weighted += c * q
            var += c * c * q * (1 - q)
        rows.append({
            "unit": u, "target": target, "actual": actual, "attainment": actual / target, "elapsed": elapsed,
            "shape": shape, "expected_to_date": expected,
            "pacing": actual / expected if expected != 0 else math.nan,
            "pipeline_value": pipeline, "weighted_pipeline": weighted, "forecast": actual + weighted,
            "forecast_sd": math.sqrt(var),
            "coverage": pipeline / (target - actual) if actual < target else math.nan,
            "gap": target - actual - weighted, "won_deals": int(mine.sum()),
            "unvalued_wins": int((mine & np.isnan(value)).sum()), "open_deals": n_open,
        })
    return pd.DataFrame(rows), p_win


def _objectives(ev: pd.DataFrame) -> pd.DataFrame:
    reps = sorted(ev["rep"].dropna().astype(str).unique())
    rows = []
    for p in PERIODS:
        for r in reps:
            rows.append({"unit": r, "period": p, "metric": "bookings", "target": 150_000.0, "margin_rate": None})
            rows.append({"unit": r, "period": p, "metric": "margin", "target": 50_000.0, "margin_rate": MARGIN})
            rows.append({"unit": r, "period": p, "metric": "wins", "target": 6.0, "margin_rate": None})
    return pd.DataFrame(rows)


COLS = ["actual", "attainment", "elapsed", "shape", "expected_to_date", "pacing", "pipeline_value",
        "weighted_pipeline", "forecast", "forecast_sd", "coverage", "gap"]


def _compare(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got["unit"].astype(str)) == list(want["unit"])
    for c in COLS:
        np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float), rtol=1e-9, atol=1e-9,
                                   equal_nan=True, err_msg=c)
    for c in ("won_deals", "unvalued_wins", "open_deals"):
        assert got[c].tolist() == want[c].tolist(), c


def test_plan_vs_actual_matches_reference(run: tuple[Any, Any, pd.DataFrame]) -> None:
    log, tl, ev = run
    assert pd.Period("2025Q4").start_time.tz_localize("UTC") < tl.as_of < pd.Period("2026Q1").start_time.tz_localize("UTC")
    obj = _objectives(ev)
    pva = plan_vs_actual(log, tl, obj)
    got = pva.table()
    want, p_win = reference(log, tl, ev, obj)
    _compare(got, want)
    np.testing.assert_allclose(pva.stage_win_probability().to_numpy(), p_win, rtol=1e-12)
    assert list(pva.stage_win_probability().index) == tl.stage_names[:-2]
    # the table keeps the objectives' columns and order
    assert list(got.columns[:5]) == ["unit", "period", "metric", "target", "margin_rate"]
    assert got["period"].tolist() == obj["period"].tolist()
    # every regime is exercised: in progress, finished (elapsed 1), not started (0)
    el = got.groupby("period")["elapsed"].agg(["min", "max"])
    assert el.loc["2025Q3"].tolist() == [1.0, 1.0] and el.loc["2026Q1"].tolist() == [0.0, 0.0]
    assert 0.9 < el.loc["2025Q4", "min"] < 1.0
    assert (got.loc[got["period"] == "2025Q4", "actual"] > 0).any()
    assert (got.loc[got["period"] == "2025Q3", "weighted_pipeline"] == 0).all()  # R = 0: the period is over
    assert (got.loc[got["period"] == "2026Q1", "weighted_pipeline"] > 0).any()
    assert got["coverage"].isna().any() and got["coverage"].notna().any()
    assert (got["open_deals"] > 0).any() and (got["won_deals"] > 0).any()
    # margin = bookings × rate, row by row
    b = got[got["metric"] == "bookings"].reset_index(drop=True)
    mg = got[got["metric"] == "margin"].reset_index(drop=True)
    np.testing.assert_allclose(mg["actual"], b["actual"] * MARGIN, rtol=1e-12)
    np.testing.assert_allclose(mg["shape"], b["shape"], rtol=1e-12)
    # other shape windows, and the straight line with none
    for sp in (0, 2):
        _compare(plan_vs_actual(log, tl, obj, shape_periods=sp).table(), reference(log, tl, ev, obj, sp)[0])
    q4 = plan_vs_actual(log, tl, obj, shape_periods=0).table()
    np.testing.assert_allclose(q4["shape"], q4["elapsed"])
    assert "PlanVsActual(" in repr(pva) and "<table" in pva._repr_html_()


def test_bounds_alias_and_timestamps(run: tuple[Any, Any, pd.DataFrame]) -> None:
    log, tl, ev = run
    rep = sorted(ev["rep"].dropna().astype(str).unique())[0]
    by_period = pd.DataFrame({"unit": [rep, rep], "period": [pd.Period("2025Q4"), "2025-12"], "target": 1e5})
    by_bounds = pd.DataFrame({"unit": [rep, rep], "metric": ["revenue", "bookings"],
                              "period_start": [pd.Timestamp("2025-10-01", tz="UTC"), "2025-12-01T00:00Z"],
                              "period_end": [pd.Timestamp("2026-01-01", tz="UTC"), "2026-01-01T00:00:00+00:00"],
                              "target": 1e5})
    a = plan_vs_actual(log, tl, by_period).table()
    b = plan_vs_actual(log, tl, by_bounds).table()
    for c in COLS:
        np.testing.assert_allclose(a[c], b[c], equal_nan=True, err_msg=c)
    assert a["metric"].tolist() == ["bookings", "bookings"]
    assert b["period_start"].iloc[1] == pd.Timestamp("2025-12-01", tz="UTC")
    assert a["period_start"].tolist() == [pd.Timestamp("2025-10-01", tz="UTC"), pd.Timestamp("2025-12-01", tz="UTC")]
    assert a["period_end"].tolist() == [pd.Timestamp("2026-01-01", tz="UTC")] * 2
    _compare(b, reference(log, tl, ev, by_bounds.assign(metric="bookings"))[0])


def test_plan_vs_actual_errors(run: tuple[Any, Any, pd.DataFrame]) -> None:
    log, tl, ev = run
    rep = sorted(ev["rep"].dropna().astype(str).unique())[0]

    def bad(match: str, **change: Any) -> None:
        row: dict[str, Any] = {"unit": rep, "period": "2025Q4", "target": 1.0, "metric": "wins", "margin_rate": 0.5}
        row.update(change)
        good = {"unit": rep, "period": "2025Q4", "target": 1.0, "metric": "wins", "margin_rate": 0.5}
        df = pd.DataFrame([good, row], index=["first", "second"])
        with pytest.raises(InvalidArgumentError, match=match):
            plan_vs_actual(log, tl, df)

    bad(r"row 'second' \(unit 'nobody'\), column 'unit'", unit="nobody")
    bad(r"row 'second'.*column 'metric'.*'profit'", metric="profit")
    bad(r"row 'second'.*column 'target'", target=0.0)
    bad(r"row 'second'.*column 'target'", target=float("nan"))
    bad(r"row 'second'.*column 'target'", target="lots")
    bad(r"row 'second'.*column 'margin_rate'", metric="margin", margin_rate=None)
    bad(r"row 'second'.*column 'margin_rate'", metric="margin", margin_rate=1.5)
    bad(r"row 'second'.*column 'period'", period="2025Q9")
    bad(r"row 'second'.*column 'period'", period=20251)
    naive = pd.DataFrame({"unit": [rep], "period_start": [pd.Timestamp("2025-10-01")],
                          "period_end": [pd.Timestamp("2026-01-01", tz="UTC")], "target": [1.0]})
    with pytest.raises(InvalidArgumentError, match=r"row 0 .*column 'period_start'.*time zone"):
        plan_vs_actual(log, tl, naive)
    backwards = naive.assign(period_start=pd.Timestamp("2026-02-01", tz="UTC"))
    with pytest.raises(InvalidArgumentError, match=r"row 0 .*column 'period_end'"):
        plan_vs_actual(log, tl, backwards)
    with pytest.raises(InvalidArgumentError, match="period"):
        plan_vs_actual(log, tl, pd.DataFrame({"unit": [rep], "target": [1.0]}))
    with pytest.raises(InvalidArgumentError, match="target"):
        plan_vs_actual(log, tl, pd.DataFrame({"unit": [rep], "period": ["2025Q4"]}))
    with pytest.raises(InvalidArgumentError, match="shape_periods"):
        plan_vs_actual(log, tl, pd.DataFrame({"unit": [rep], "period": ["2025Q4"], "target": [1.0]}),
                       shape_periods=-1)
    other = salesperf.synth.company(events=5_000, seed=3).event_log()
    with pytest.raises(InvalidArgumentError, match="another log"):
        plan_vs_actual(other, tl, pd.DataFrame({"unit": [rep], "period": ["2025Q4"], "target": [1.0]}))


# ---- Key accounts --------------------------------------------------------------------

def key_reference(tl: Any, ev: pd.DataFrame, plan: pd.DataFrame, start: int | None, end: int | None) -> pd.DataFrame:
    t = _ns(ev["time"])
    inp = np.ones(len(ev), dtype=bool)
    if start is not None:
        inp &= t >= start
    if end is not None:
        inp &= t < end
    deal = ev["deal"].astype(str)
    acc_of = ev.assign(deal=deal, account=ev["account"].astype(object)).groupby("deal")["account"].first()
    first_time = pd.Series(t, index=deal.to_numpy()).groupby(level=0).min()
    ev_acc = deal.map(acc_of).to_numpy()
    actor = ev["actor"].astype(str).to_numpy()
    rep = ev["rep"].astype(object).to_numpy()
    deals = tl.deals
    d_acc = pd.Series(deals.index.astype(str), index=deals.index).map(acc_of).to_numpy()
    won = deals["outcome"].astype(str).to_numpy() == "won"
    ot = _ns(deals["outcome_time"])
    val = deals["value"].to_numpy(float)
    d_first = first_time.reindex(deals.index.astype(str)).to_numpy()
    in_d = (ot != NAT) & (True if start is None else ot >= start) & (True if end is None else ot < end)
    first_in = np.ones(len(deals), dtype=bool)
    if start is not None:
        first_in &= d_first >= start
    if end is not None:
        first_in &= d_first < end
    known = set(ev["account"].dropna().astype(str))
    rows = []
    for r, a in zip(plan["rep"], plan["account"]):
        mine = d_acc == a
        rows.append({
            "rep": r, "account": a, "known": a in known,
            "touched": bool((inp & (ev_acc == a) & (actor == "seller") & (rep == r)).any()),
            "engaged": bool((inp & (ev_acc == a) & (actor == "buyer")).any()),
            "opened": int((mine & first_in).sum()),
            "won": int((mine & won & in_d).sum()),
            "won_value": float(np.nan_to_num(val[mine & won & in_d]).sum()),
            "kind": "maintenance" if start is not None and (mine & won & (ot != NAT) & (ot < start)).any()
            else "new business",
        })
    return pd.DataFrame(rows)


def _plan(ev: pd.DataFrame) -> pd.DataFrame:
    e = ev.dropna(subset=["account", "rep"])
    reps = sorted(e["rep"].astype(str).unique())[:6]
    pairs = []
    accounts = sorted(e["account"].astype(str).unique())
    for i, r in enumerate(reps):
        worked = sorted(e.loc[e["rep"].astype(str) == r, "account"].astype(str).unique())
        pairs += [(r, a) for a in worked[:12]]
        pairs += [(r, accounts[(7 * i + j * 13) % len(accounts)]) for j in range(4)]  # mostly others' accounts
    pairs += [(reps[0], "no such account"), ("nobody", worked[0])]
    return pd.DataFrame(pairs, columns=["rep", "account"])


@pytest.mark.parametrize("period", [None, "2025Q4", "2025Q3", ("2025-11-15T00:00Z", None)])
def test_key_accounts_match_reference(run: tuple[Any, Any, pd.DataFrame], period: Any) -> None:
    log, tl, ev = run
    plan = _plan(ev)
    got = key_accounts(log, tl, plan, period=period)
    if period is None:
        start, end = None, None
    elif isinstance(period, tuple):
        start, end = int(pd.Timestamp(period[0]).value), None
    else:
        start, end = _bounds(period)
    want = key_reference(tl, ev, plan, start, end)
    for c in ["rep", "account", "known", "touched", "engaged", "opened", "won", "kind"]:
        assert got[c].astype(object).tolist() == want[c].tolist(), c
    np.testing.assert_allclose(got["won_value"], want["won_value"], rtol=1e-12)
    assert not got["known"].iloc[-2] and got["known"].iloc[-1] and not got["touched"].iloc[-1]
    assert got["touched"].any() and not got["touched"].all()
    if period is not None and period != "2025Q3":
        assert got["won"].sum() > 0
    if start is not None:
        assert (got["kind"] == "maintenance").any() and (got["kind"] == "new business").any()
    summary = key_account_summary(got)
    want_summary = want.assign(opened=want["opened"] > 0, won=want["won"] > 0).groupby(["rep", "kind"]).agg(
        key_accounts=("account", "count"), touched=("touched", "sum"), engaged=("engaged", "sum"),
        opened=("opened", "sum"), won=("won", "sum")).reset_index()
    assert sorted(summary.astype({"kind": str}).values.tolist()) == sorted(want_summary.values.tolist())
    assert list(summary.columns) == ["rep", "kind", "key_accounts", "touched", "engaged", "opened", "won"]


def test_key_account_summary_by_hand() -> None:
    t = pd.DataFrame({"rep": ["a", "a", "a", "b"], "account": ["x", "y", "z", "x"],
                      "known": True, "touched": [True, False, True, False], "engaged": [True, True, False, False],
                      "opened": [2, 0, 1, 0], "won": [1, 0, 0, 0], "won_value": 0.0,
                      "kind": pd.Categorical(["new business", "maintenance", "new business", "new business"],
                                             categories=["new business", "maintenance"])})
    s = key_account_summary(t)
    assert s.astype({"kind": str}).values.tolist() == [
        ["a", "new business", 2, 2, 1, 2, 1], ["a", "maintenance", 1, 0, 1, 0, 0], ["b", "new business", 1, 0, 0, 0, 0]]


def test_key_accounts_errors(run: tuple[Any, Any, pd.DataFrame]) -> None:
    log, tl, ev = run
    plan = pd.DataFrame({"rep": ["x"], "account": ["y"]})
    with pytest.raises(InvalidArgumentError, match="account"):
        key_accounts(log, tl, pd.DataFrame({"rep": ["x"]}))
    with pytest.raises(InvalidArgumentError, match=r"row 1, column 'account'"):
        key_accounts(log, tl, pd.DataFrame({"rep": ["x", "y"], "account": ["a", None]}))
    with pytest.raises(InvalidArgumentError, match="time zone"):
        key_accounts(log, tl, plan, period=("2025-01-01", None))
    with pytest.raises(InvalidArgumentError, match="from"):
        key_accounts(log, tl, plan, period=("2025-02-01T00:00Z", "2025-01-01T00:00Z"))
    with pytest.raises(InvalidArgumentError, match="period"):
        key_accounts(log, tl, plan, period="not a period")


def test_core_views_and_binding_errors(run: tuple[Any, Any, pd.DataFrame]) -> None:
    """The numpy views are read-only and keep their result alive; the binding's own checks."""
    from salesperf import _core
    from salesperf.indicators import _units

    log, tl, ev = run
    units = _units(log, "rep", "most_active")
    rep = str(units.names[0])
    s, e = _bounds("2025Q4")
    core = _core.plan_vs_actual(log._core, tl._core, units, [rep], ["revenue"], np.array([s]), np.array([e]),
                                np.array([100.0]), np.array([np.nan]))
    actual = core.rows.actual
    p_win = core.stage_win_probability
    del core
    assert not actual.flags.writeable and not p_win.flags.writeable
    assert actual.shape == (1,) and np.isfinite(actual[0]) and len(p_win) == len(tl.stage_names) - 2
    with pytest.raises(InvalidArgumentError, match=r"objective 0 \(unit '" + rep + r"'\), metric"):
        _core.plan_vs_actual(log._core, tl._core, units, [rep], ["profit"], np.array([s]), np.array([e]),
                             np.array([100.0]), np.array([np.nan]))
    with pytest.raises(InvalidArgumentError, match=r"objective 0 \(unit '" + rep + r"'\), target"):
        _core.plan_vs_actual(log._core, tl._core, units, [rep], ["wins"], np.array([s]), np.array([e]),
                             np.array([-1.0]), np.array([np.nan]))
    with pytest.raises(InvalidArgumentError, match="same length"):
        _core.plan_vs_actual(log._core, tl._core, units, [rep, rep], ["wins"], np.array([s]), np.array([e]),
                             np.array([1.0]), np.array([np.nan]))
    rows = _core.key_account_progress(log._core, tl._core, ["x"], ["y"], s, e)
    won = rows.won
    del rows
    assert not won.flags.writeable and won.tolist() == [0]
    with pytest.raises(InvalidArgumentError, match="same length"):
        _core.key_account_progress(log._core, tl._core, ["x"], [], None, None)
