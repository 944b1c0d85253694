"""salesperf.leaks() against the independent reference in leak_reference.py (pandas,
numpy, scipy), on the synthetic company and on BPI Challenge 2012; the accounting and
gap identities; merge of deal splits and bytes; errors.

Data: BPI Challenge 2012, B.F. van Dongen, 4TU.ResearchData,
doi:10.4121/uuid:3926db30-f712-4394-aebc-75976070e91f (skipped when absent).
"""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest

from indicator_reference import units_by_dimension, units_by_owner
from leak_reference import concentration, log_likelihood, reference_assessment, reference_counts

import salesperf
from salesperf import datasets
from salesperf.errors import DataLossError, InvalidArgumentError
from salesperf.leaks import beta_binomial_concentration

ROW_COLUMNS = ["reached", "entrants", "advanced", "lost", "disqualified", "stalled", "open", "excluded", "trials",
               "rate", "shrunk_rate", "benchmark", "expected", "shortfall", "shrunk_shortfall", "shortfall_lower",
               "shortfall_upper", "probability_real", "downstream_win", "average_value", "dollars",
               "shrunk_dollars", "dollars_lower", "dollars_upper", "unit_level", "own_benchmark", "own_shortfall",
               "own_probability", "flagged", "rank"]


@pytest.fixture(scope="module")
def company() -> Any:
    return salesperf.synth.company(events=150_000, seed=11)


@pytest.fixture(scope="module")
def run(company: Any) -> tuple[Any, Any]:
    log = company.event_log()
    return log, company.stage_model(stall_after="45d", close_stalled_after="30d").run(log)


def _events(log: Any) -> pd.DataFrame:
    return log.to_pandas()


def compare(got: Any, want: dict[str, Any]) -> None:
    """Every row figure, per unit figure and stage figure, NaN where the reference has NaN."""
    g = got.table().sort_values(["unit", "stage"]).reset_index(drop=True)
    w = want["rows"].copy()
    w["stage"] = pd.Categorical(w["stage"], categories=list(g["stage"].cat.categories), ordered=True)
    w = w.sort_values(["unit", "stage"]).reset_index(drop=True)
    assert list(g["unit"].astype(str)) == list(w["unit"].astype(str))
    # κ: the likelihood at the library's κ is the reference's maximum
    st = got.stages()
    for k, stage in enumerate(st.index):
        kr = want["stages"]["concentration"][k]
        kl = st["concentration"].iloc[k]
        if kr == 0:
            assert kl == 0, stage
        else:
            x, n = want["advanced"][:, k], want["trials"][:, k]
            assert log_likelihood(x, n, kl) >= log_likelihood(x, n, kr) - 1e-7, stage
            assert kl == pytest.approx(kr, rel=2e-3), stage
    for col in ROW_COLUMNS:
        a, b = g[col].to_numpy(), w[col].to_numpy()
        if col in ("flagged", "rank") or np.issubdtype(np.asarray(b).dtype, np.integer):
            assert list(a) == list(b), col
            continue
        a, b = a.astype(float), b.astype(float)
        assert (np.isnan(a) == np.isnan(b)).all(), col
        ok = ~np.isnan(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-4, atol=1e-6 * max(1.0, np.nanmax(np.abs(b)) if ok.any() else 1.0),
                                   err_msg=col)
    gu = got.units()
    wu = want["units"].set_index("unit").loc[gu.index]
    assert list(gu["won"]) == list(wu["won"])
    np.testing.assert_allclose(gu["average_value"], wu["average_value"], rtol=1e-12, equal_nan=True)
    # these move with the benchmark, hence with κ's last digits
    for col in ["benchmark_wins", "pending_wins", "gap", "gap_dollars"]:
        scale = max(1.0, float(np.nanmax(np.abs(wu[col].to_numpy(float)))))
        np.testing.assert_allclose(gu[col].to_numpy(float), wu[col].to_numpy(float), rtol=1e-6,
                                   atol=1e-6 * scale, equal_nan=True, err_msg=col)


@pytest.mark.parametrize("benchmark", ["team_median", "top_quartile", "target"])
def test_matches_reference_on_synthetic_company(run: tuple[Any, Any], benchmark: str) -> None:
    log, timelines = run
    units = units_by_owner(_events(log))
    counts = reference_counts(timelines, units)
    target = [0.7, 0.6, 0.6, 0.65, 0.5, 0.8]
    bench: Any = dict(zip(timelines.stage_names, target)) if benchmark == "target" else benchmark
    got = salesperf.leaks(log, timelines, by="rep", benchmark=bench, disqualify=["decline"])
    want = reference_assessment(counts, benchmark=target if benchmark == "target" else benchmark,
                                disqualify=("decline",), min_relative_shortfall=0.2)
    compare(got, want)


def test_own_past_and_cohorts(run: tuple[Any, Any]) -> None:
    log, timelines = run
    units = units_by_dimension(_events(log), "territory")
    start, end = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-10-01", tz="UTC")
    past = pd.Timestamp("2024-03-01", tz="UTC")
    counts = reference_counts(timelines, units, cohort_from=start, cohort_to=end, past_from=past)
    got = salesperf.leaks(log, timelines, by="territory", benchmark="own_past", cohort=(start, end),
                          past_from=past, min_trials=5, value="organisation")
    compare(got, reference_assessment(counts, benchmark="own_past", min_trials=5, value="organisation",
                                            min_relative_shortfall=0.2))
    # every deal of each unit is counted once: cohorts, out of window and outside
    lc = got.counts
    assert lc.units == sorted(set(units))


def test_identities(run: tuple[Any, Any]) -> None:
    log, timelines = run
    got = salesperf.leaks(log, timelines, by="rep", benchmark="top_quartile")
    t = got.table()
    fates = t[["advanced", "lost", "disqualified", "stalled", "open", "excluded"]].sum(axis=1)
    assert (t["reached"] == fates).all()
    assert (t["trials"] == t["reached"] - t["open"] - t["excluded"]).all()
    # reached(k+1) = advanced(k) + entrants(k+1)
    for _, g in t.sort_values(["unit", "stage"]).groupby("unit", observed=True):
        assert (g["reached"].to_numpy()[1:] == g["advanced"].to_numpy()[:-1] + g["entrants"].to_numpy()[1:]).all()
    u = got.units()
    per_unit = (t["shortfall"] * t["downstream_win"]).groupby(t["unit"].astype(str)).sum()
    np.testing.assert_allclose(per_unit.loc[u.index], u["gap"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(t.groupby(t["unit"].astype(str))["dollars"].sum().loc[u.index], u["gap_dollars"],
                               rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(u["gap"], u["benchmark_wins"] - u["pending_wins"] - u["won"], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(u["shrunk_gap_dollars"] + u["chance_dollars"], u["gap_dollars"], rtol=1e-9, atol=1e-6)
    # rank: a permutation, ordered by shrunk dollars
    assert sorted(t["rank"]) == list(range(1, len(t) + 1))
    assert (t["shrunk_dollars"].diff().dropna() <= 1e-9).all()
    # the interval brackets the shrunk shortfall, the flags pass their own rule
    ok = t["trials"] > 0
    assert (t.loc[ok, "shortfall_lower"] <= t.loc[ok, "shrunk_shortfall"] + 1e-9).all()
    assert (t.loc[ok, "shrunk_shortfall"] <= t.loc[ok, "shortfall_upper"] + 1e-9).all()
    f = t[t["flagged"]]
    assert (f["own_probability"] >= 0.95).all()
    assert (f["own_shortfall"] >= 0.2 * f["own_benchmark"] * f["trials"] - 1e-9).all()
    # the own benchmark is the benchmark moved by the unit's level (a logit shift)
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    ok = t["benchmark"].between(1e-6, 1 - 1e-6)
    np.testing.assert_allclose(logit(t.loc[ok, "own_benchmark"]) - logit(t.loc[ok, "benchmark"]),
                               t.loc[ok, "unit_level"], atol=1e-9)


def test_waterfall_reconciles(run: tuple[Any, Any]) -> None:
    from salesperf.plots import waterfall_steps

    log, timelines = run
    got = salesperf.leaks(log, timelines, by="rep")
    u = got.units()
    for unit in [None, got.unit_names[0]]:
        for shrunk in (True, False):
            steps = waterfall_steps(got, unit, shrunk=shrunk)
            sel = u if unit is None else u.loc[[unit]]
            assert steps["end"].iloc[-2] == pytest.approx(float((sel["won"] * sel["average_value"]).sum()), rel=1e-9)
            assert steps["end"].iloc[-1] == steps["end"].iloc[-2] or \
                steps["end"].iloc[-1] == pytest.approx(steps["end"].iloc[-2], rel=1e-9)


def test_merge_of_deal_splits_and_bytes(company: Any, run: tuple[Any, Any]) -> None:
    log, timelines = run
    events = company.events
    deals = events["deal"].astype(str).unique()
    groups = np.random.default_rng(3).integers(0, 3, size=len(deals))
    model = company.stage_model(stall_after="45d", close_stalled_after="30d")
    cohort = (pd.Timestamp("2024-07-01", tz="UTC"), None)
    whole = salesperf.leak_counts(log, timelines, cohort=cohort)
    parts = []
    for g in range(3):
        sub = events[events["deal"].astype(str).isin(set(deals[groups == g]))]
        part_log = salesperf.EventLog.from_pandas(sub, vocabulary=company.vocabulary)
        parts.append(salesperf.leak_counts(part_log, model.run(part_log, as_of=timelines.as_of), cohort=cohort))
    merged = parts[2] + parts[0] + parts[1]
    assert merged == whole
    assert merged.to_bytes() == whole.to_bytes()
    back = pickle.loads(pickle.dumps(whole))
    assert back == whole and back.to_bytes() == whole.to_bytes()
    data = whole.to_bytes()
    for cut in (0, 7, 20, len(data) // 2, len(data) - 1):
        with pytest.raises(DataLossError):
            salesperf.LeakCounts.from_bytes(data[:cut])
    # the assessment of the merged counts is the assessment of the whole
    pd.testing.assert_frame_equal(merged.assess().table(), whole.assess().table())


def test_errors(run: tuple[Any, Any]) -> None:
    log, timelines = run
    with pytest.raises(InvalidArgumentError, match="benchmark"):
        salesperf.leaks(log, timelines, benchmark="best")
    with pytest.raises(InvalidArgumentError, match="Negotiation"):
        salesperf.leaks(log, timelines, benchmark={"Negotiation": 0.5})
    with pytest.raises(InvalidArgumentError, match="target"):
        salesperf.leaks(log, timelines, benchmark=[0.5, 0.5])
    with pytest.raises(InvalidArgumentError, match="own_past|cohort"):
        salesperf.leaks(log, timelines, benchmark="own_past")
    with pytest.raises(InvalidArgumentError, match="time zone"):
        salesperf.leaks(log, timelines, cohort=("2025-01-01", None))
    with pytest.raises(InvalidArgumentError, match="interval"):
        salesperf.leaks(log, timelines, interval=1.5)


def test_concentration_matches_scipy() -> None:
    rng = np.random.default_rng(8)
    for _ in range(30):
        units = int(rng.integers(2, 30))
        n = rng.integers(0, 200, units)
        p = rng.beta(*rng.uniform(0.5, 20, 2), units)
        x = rng.binomial(n, p)
        want = concentration(x, n)
        got = beta_binomial_concentration(x, n)
        if want == 0:
            assert got == 0
        else:
            assert log_likelihood(x, n, got) >= log_likelihood(x, n, want) - 1e-7
            assert got == pytest.approx(want, rel=2e-3)


def test_matches_reference_on_bpic2012() -> None:
    try:
        datasets.bpic2012_path()
    except FileNotFoundError as e:
        pytest.skip(f"BPIC 2012 data not available: {e}")
    log = datasets.load_bpic2012()
    timelines = datasets.bpic2012_stage_model().run(log)
    units = units_by_owner(_events(log))
    got = salesperf.leaks(log, timelines, by="rep", min_trials=20)
    compare(got, reference_assessment(reference_counts(timelines, units), min_trials=20, min_relative_shortfall=0.2))
    t = got.table()
    assert t["reached"].groupby(t["stage"], observed=True).sum().iloc[0] > 0
    assert math.isfinite(float(got.units()["gap"].sum()))
