"""salesperf.deviance (deviants, diagnose) against an independent pandas / numpy / scipy /
statsmodels reference written from the definitions in salesperf/deviance.h (parts 1 and
3): decided deals from Timelines.deals and Timelines.entered, covariate levels from the
events, the ridge-penalised logistic fit by scipy.optimize.minimize (and statsmodels'
Logit with ridge 0), α by scipy.optimize.minimize_scalar on the negative-binomial
marginal likelihood, posteriors from scipy.stats.gamma, Garwood intervals from
scipy.stats.chi2, and the diagnosis rules re-derived in pandas.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from indicator_reference import units_by_dimension, units_by_owner
from scipy import optimize, special, stats

import salesperf
from salesperf.deviance import DeviantAssessment, RepDiagnosis, deviants, diagnose
from salesperf.errors import InvalidArgumentError, NotFoundError

MIN_A, MAX_A = 1e-2, 1e5
NONE = "(none)"
WEEK_NS = 7 * 86_400 * 10**9


@pytest.fixture(scope="module")
def company() -> Any:
    return salesperf.synth.company(events=150_000, seed=11)


@pytest.fixture(scope="module")
def run(company: Any) -> tuple[Any, Any, pd.DataFrame]:
    log = company.event_log()
    tl = company.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
    return log, tl, log.to_pandas()


# ---------------------------------------------------------------------------- reference


def decided_deals(tl: Any) -> pd.DataFrame:
    """Per deal: decided, won, value."""
    d = tl.deals
    names = tl.stage_names[:-2]
    entered = tl.entered[names].notna().any(axis=1)
    outcome = d["outcome"].astype(str)
    decided = entered & outcome.isin(["won", "lost", "stalled"])
    return pd.DataFrame({"decided": decided, "won": (outcome == "won") & decided, "value": d["value"]})


def levels(events: pd.DataFrame, log: Any, cov: str) -> pd.Series:
    """The first non-null value of the covariate among the deal's events, else (none)."""
    first = events.groupby("deal", observed=True, sort=False)[cov].first()
    return first.astype(object).where(first.notna(), NONE).reindex(list(log.dictionary("deal")))


def design(events: pd.DataFrame, log: Any, deals: pd.DataFrame, covs: list[str]) -> tuple[np.ndarray, list[str]]:
    dec = deals["decided"].to_numpy()
    cols = [np.ones(int(dec.sum()))]
    names = ["(intercept)"]
    for cov in covs:
        lv = levels(events, log, cov).to_numpy()[dec]
        order = sorted(set(log.dictionary(cov)) - {NONE}) + [NONE]  # by name, "(none)" last
        counts = pd.Series(lv).value_counts()
        present = [x for x in order if x in counts.index]
        top = counts.max()
        ref = [x for x in present if counts[x] == top][0]  # ties: the first by name
        for x in present:
            if x != ref:
                cols.append((lv == x).astype(float))
                names.append(f"{cov}={x}")
    return np.column_stack(cols), names


def fit_logistic(X: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    pen = np.full(X.shape[1], ridge)
    pen[0] = 0.0

    def f(b: np.ndarray) -> float:
        eta = X @ b
        return float(-(y @ eta - np.logaddexp(0, eta).sum()) + 0.5 * (pen * b * b).sum())

    def g(b: np.ndarray) -> np.ndarray:
        p = special.expit(X @ b)
        return -(X.T @ (y - p)) + pen * b

    def h(b: np.ndarray) -> np.ndarray:
        p = special.expit(X @ b)
        return (X.T * (p * (1 - p))) @ X + np.diag(pen)

    res = optimize.minimize(f, np.zeros(X.shape[1]), jac=g, hess=h, method="trust-exact",
                            options={"gtol": 1e-11, "maxiter": 500})
    return np.asarray(res.x)


def nb_loglik(o: np.ndarray, e: np.ndarray, a: float) -> float:
    return float(np.sum(special.gammaln(a + o) - special.gammaln(a) + a * np.log(a / (a + e))
                        + o * np.log(e / (a + e))))


def fit_alpha(o: np.ndarray, e: np.ndarray) -> float:
    keep = e > 0
    o, e = o[keep].astype(float), e[keep]
    if len(o) < 2:
        return 0.0
    grid = np.linspace(math.log(MIN_A), math.log(MAX_A), 401)
    vals = np.array([-nb_loglik(o, e, math.exp(t)) for t in grid])
    j = int(np.argmin(vals))
    lo, hi = grid[max(j - 1, 0)], grid[min(j + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(lambda t: -nb_loglik(o, e, math.exp(t)), bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-12})
    best = min([(res.fun, res.x), (vals[j], grid[j])])
    return math.exp(best[1])


def reference_deviants(events: pd.DataFrame, log: Any, tl: Any, units: pd.Series, covs: list[str], *,
                       ridge: float = 1.0, interval: float = 0.95, flag_probability: float = 0.95,
                       min_effect: float = 0.10) -> dict[str, Any]:
    deals = decided_deals(tl)
    X, names = design(events, log, deals, covs)
    dec = deals["decided"].to_numpy()
    y = deals["won"].to_numpy()[dec].astype(float)
    beta = fit_logistic(X, y, ridge)
    p = special.expit(X @ beta)
    prob = np.full(len(deals), np.nan)
    prob[dec] = p
    value = deals["value"].to_numpy(float)
    mean_value = np.nanmean(value[dec])
    value = np.where(np.isnan(value), mean_value, value)
    frame = pd.DataFrame({"unit": units.reindex(deals.index).to_numpy(), "decided": dec,
                          "won": deals["won"].to_numpy(), "p": np.nan_to_num(prob), "value": value})
    frame = frame[frame["decided"]]
    unit_names = sorted(set(units))
    g = frame.groupby("unit")
    t = pd.DataFrame(index=pd.Index(unit_names, name="unit"))
    t["decided"] = g.size().reindex(unit_names, fill_value=0)
    t["won"] = g["won"].sum().reindex(unit_names, fill_value=0).astype(np.int64)
    t["expected"] = g["p"].sum().reindex(unit_names, fill_value=0.0)
    t["ratio"] = np.where(t["expected"] > 0, t["won"] / t["expected"].where(t["expected"] > 0), np.nan)
    t["won_value"] = (frame["value"] * frame["won"]).groupby(frame["unit"]).sum().reindex(unit_names, fill_value=0.0)
    t["expected_value"] = (frame["value"] * frame["p"]).groupby(frame["unit"]).sum().reindex(unit_names,
                                                                                             fill_value=0.0)
    t["excess_value"] = t["won_value"] - t["expected_value"]
    o, e = t["won"].to_numpy(float), t["expected"].to_numpy(float)
    a = fit_alpha(o, e)
    shape = np.where(a > 0, a + o, o + 0.5)
    rate = np.where(a > 0, a + e, e)
    ok = e > 0
    nan = np.full(len(t), np.nan)
    t["ratio_shrunk"] = np.where(ok, (a + o) / np.where(ok, a + e, 1.0), np.nan)
    dist = stats.gamma(a=np.where(ok, shape, 1.0), scale=1.0 / np.where(ok, rate, 1.0))
    t["ratio_lower"] = np.where(ok, dist.ppf((1 - interval) / 2), nan)
    t["ratio_upper"] = np.where(ok, dist.ppf((1 + interval) / 2), nan)
    t["probability_above"] = np.where(ok, dist.sf(1.0), nan)
    t["probability_below"] = np.where(ok, dist.cdf(1.0), nan)
    r = t["ratio_shrunk"]
    dev = np.where((t["probability_above"] >= flag_probability) & (r >= 1 + min_effect), 1,
                   np.where((t["probability_below"] >= flag_probability) & (r <= 1 - min_effect), -1, 0))
    t["deviant"] = dev
    key = pd.DataFrame({"nan": r.isna().to_numpy(), "neg": -r.fillna(0).to_numpy(), "i": np.arange(len(t))})
    order = key.sort_values(["nan", "neg", "i"]).index.to_numpy()
    rank = np.empty(len(t), dtype=np.int64)
    rank[order] = np.arange(1, len(t) + 1)
    t["rank"] = rank
    return {"table": t.reset_index(), "beta": pd.Series(beta, index=names), "alpha": a, "prob": prob,
            "X": X, "y": y}


FLOAT_COLS = ["expected", "ratio", "won_value", "expected_value", "excess_value", "ratio_shrunk", "ratio_lower",
              "ratio_upper", "probability_above", "probability_below"]


def compare_deviants(got: DeviantAssessment, want: dict[str, Any], o: np.ndarray | None = None) -> None:
    g = got.table()
    g["unit"] = g["unit"].astype(str)
    g = g.sort_values("unit").reset_index(drop=True)
    w = want["table"].sort_values("unit").reset_index(drop=True)
    assert list(g["unit"]) == list(w["unit"])
    for col in ["decided", "won", "deviant", "rank"]:
        assert list(g[col]) == list(w[col]), col
    # α: the library's is at least as likely as the reference's, and close to it.
    wa = want["alpha"]
    if wa == 0:
        assert got.concentration == 0
    else:
        oo, ee = w["won"].to_numpy(float), w["expected"].to_numpy(float)
        keep = ee > 0
        assert nb_loglik(oo[keep], ee[keep], got.concentration) >= nb_loglik(oo[keep], ee[keep], wa) - 1e-7
        assert got.concentration == pytest.approx(wa, rel=2e-3)
    for col in FLOAT_COLS:
        a, b = g[col].to_numpy(float), w[col].to_numpy(float)
        assert (np.isnan(a) == np.isnan(b)).all(), col
        ok = ~np.isnan(b)
        tol = 1e-5 if col.startswith(("ratio_", "probability")) else 1e-7
        # excess_value is a difference of sums of millions: its tolerance is the sums'
        scale = float(np.abs(w["won_value"]).max()) if col == "excess_value" else float(np.abs(b[ok]).max())
        np.testing.assert_allclose(a[ok], b[ok], rtol=tol, atol=1e-8 * max(1.0, scale), err_msg=col)
    coef = got.coefficients()
    assert list(coef.index) == list(want["beta"].index)
    np.testing.assert_allclose(coef.to_numpy(), want["beta"].to_numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got.deal_probability().to_numpy(), want["prob"], rtol=1e-7, atol=1e-9)


COVS = [["segment", "lead_source", "product"], ["segment", "lead_source", "product", "territory"]]


@pytest.mark.parametrize("covs", COVS, ids=["mix", "mix+territory"])
def test_deviants_match_reference(run: tuple[Any, Any, pd.DataFrame], covs: list[str]) -> None:
    log, tl, events = run
    units = units_by_owner(events)
    got = deviants(log, tl, covariates=covs)
    want = reference_deviants(events, log, tl, units, covs)
    compare_deviants(got, want)
    assert got.decided_deals == int(decided_deals(tl)["decided"].sum())
    # the expectation model has an intercept: Σ E = Σ O
    t = got.table()
    assert t["expected"].sum() == pytest.approx(t["won"].sum(), rel=1e-9)


def test_deviants_other_options_and_units(run: tuple[Any, Any, pd.DataFrame]) -> None:
    log, tl, events = run
    units = units_by_dimension(events, "territory")
    got = deviants(log, tl, by="territory", covariates=["segment"], ridge=5.0, interval=0.8,
                   flag_probability=0.9, min_effect=0.05)
    want = reference_deviants(events, log, tl, units, ["segment"], ridge=5.0, interval=0.8, flag_probability=0.9,
                              min_effect=0.05)
    compare_deviants(got, want)


def test_ridge_zero_equals_statsmodels_logit(run: tuple[Any, Any, pd.DataFrame]) -> None:
    sm = pytest.importorskip("statsmodels.api")
    log, tl, events = run
    got = deviants(log, tl, covariates=["segment", "lead_source"], ridge=0.0)
    deals = decided_deals(tl)
    X, names = design(events, log, deals, ["segment", "lead_source"])
    y = deals["won"].to_numpy()[deals["decided"].to_numpy()].astype(float)
    res = sm.Logit(y, X).fit(disp=0, method="newton", tol=1e-12, maxiter=100)
    np.testing.assert_allclose(got.coefficients().to_numpy(), res.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(got.deal_probability().dropna().to_numpy(), res.predict(X), rtol=1e-8)


def test_covariates_none_uses_every_dimension(run: tuple[Any, Any, pd.DataFrame]) -> None:
    log, tl, events = run
    got = deviants(log, tl)
    assert got.covariates == log.dimension_names
    assert set(got.reference_levels) == set(log.dimension_names)
    want = reference_deviants(events, log, tl, units_by_owner(events), list(log.dimension_names))
    compare_deviants(got, want)


def test_positive_and_negative_units(run: tuple[Any, Any, pd.DataFrame]) -> None:
    log, tl, _ = run
    got = deviants(log, tl, covariates=["segment"])
    t = got.table()
    assert (t["deviant"] == 0).any()
    assert got.positive_units() == sorted(t.loc[t["deviant"] == 1, "unit"].astype(str),
                                          key=list(got._result.unit_names).index)
    assert got.negative_units() == sorted(t.loc[t["deviant"] == -1, "unit"].astype(str),
                                          key=list(got._result.unit_names).index)
    assert got.positive_units() or got.negative_units()
    assert "DeviantAssessment(" in repr(got) and "<table" in got._repr_html_()
    assert list(t.columns) == ["unit", "decided", "won", "expected", "ratio", "ratio_shrunk", "ratio_lower",
                               "ratio_upper", "probability_above", "probability_below", "won_value",
                               "expected_value", "excess_value", "deviant", "rank"]
    assert list(t["rank"]) == list(range(1, len(t) + 1))


# ---------------------------------------------------------------------------- diagnosis


def reference_diagnosis(events: pd.DataFrame, tl: Any, units: pd.Series, dev: pd.DataFrame, *, min_weeks: float = 4,
                        min_gap: float = 0.2, interval: float = 0.95,
                        flag_probability: float = 0.95) -> pd.DataFrame:
    d = tl.deals
    t_ns = events["time"].astype("int64")
    first = t_ns.groupby(events["deal"], observed=True).min().reindex(d.index)
    outcome = d["outcome"].astype(str)
    closed = outcome.isin(["won", "lost", "stalled", "excluded"])
    as_of = int(tl.as_of.value)
    end = pd.Series(np.where(closed, d["outcome_time"].astype("int64"), as_of), index=d.index)
    end = np.maximum(end, first)
    ev_end = events["deal"].astype(object).map(end)
    seller = (events["actor"].astype(str) == "seller") & (t_ns <= ev_end)
    acts = seller.groupby(events["deal"].astype(object)).sum().reindex(d.index, fill_value=0)
    unit = units.reindex(d.index)
    names = sorted(set(units))
    weeks = ((end - first) / WEEK_NS).groupby(unit).sum().reindex(names, fill_value=0.0)
    activities = acts.groupby(unit).sum().reindex(names, fill_value=0).astype(np.int64)
    out = pd.DataFrame({"unit": names, "active_weeks": weeks.to_numpy(), "activities": activities.to_numpy()})
    out["volume"] = np.where(out["active_weeks"] > 0, out["activities"] / out["active_weeks"].where(
        out["active_weeks"] > 0), np.nan)
    peers = out.loc[(out["active_weeks"] >= min_weeks) & out["volume"].notna(), "volume"]
    peer = float(np.median(peers)) if len(peers) else np.nan
    k = out["activities"].to_numpy(float)
    lo = np.where(k > 0, stats.chi2.ppf((1 - interval) / 2, 2 * np.maximum(k, 1)) / 2, 0.0)
    hi = stats.chi2.ppf((1 + interval) / 2, 2 * k + 2) / 2
    scale = out["active_weeks"].to_numpy() * peer
    okv = out["volume"].notna().to_numpy() & (peer > 0)
    out["volume_ratio"] = np.where(okv, out["volume"] / peer, np.nan)
    out["volume_lower"] = np.where(okv, lo / np.where(okv, scale, 1.0), np.nan)
    out["volume_upper"] = np.where(okv, hi / np.where(okv, scale, 1.0), np.nan)
    dv = dev.set_index("unit").loc[names]
    out["conversion"] = dv["ratio_shrunk"].to_numpy()
    out["conversion_lower"] = dv["ratio_lower"].to_numpy()
    out["conversion_upper"] = dv["ratio_upper"].to_numpy()
    below = dv["probability_below"].to_numpy()
    c, cu = out["conversion"].to_numpy(), out["conversion_upper"].to_numpy()
    out["know_how"] = np.where((below >= flag_probability) & (c <= 1 - min_gap), "no",
                               np.where(cu >= 1, "yes", "unclear"))
    vu = out["volume_upper"].to_numpy()
    out["want_to"] = np.where(vu < 1 - min_gap, "no", np.where(vu >= 1, "yes", "unclear"))
    out["understands_metrics"] = "unclear"
    out["non_productive"] = (out["know_how"] == "no") | ((out["want_to"] == "no") & ~(out["conversion"] >= 1))
    v = out["volume_ratio"].to_numpy()
    out["quadrant"] = np.select(
        [np.isnan(v) | np.isnan(c), (v >= 1) & (c >= 1), (v < 1) & (c >= 1), (v >= 1) & (c < 1)],
        ["unknown", "productive", "efficient, low activity", "busy, low conversion"], "low activity, low conversion")
    diagnosed = (out["know_how"] != "unclear") | (out["want_to"] != "unclear")
    out.attrs["methods_question"] = bool(diagnosed.any() and 3 * out.loc[diagnosed, "non_productive"].sum()
                                         >= diagnosed.sum())
    out.attrs["peer_volume"] = peer
    return out


@pytest.mark.parametrize("opts", [{}, {"min_weeks": 20.0, "min_gap": 0.1, "interval": 0.9, "flag_probability": 0.8},
                                  {"min_weeks": 0.0, "min_gap": 0.5}])
def test_diagnosis_matches_reference(run: tuple[Any, Any, pd.DataFrame], opts: dict[str, float]) -> None:
    log, tl, events = run
    dev = deviants(log, tl, covariates=["segment", "lead_source", "product"])
    got = diagnose(log, tl, dev, **opts)  # type: ignore[arg-type]
    want = reference_diagnosis(events, tl, units_by_owner(events), dev.table().assign(unit=lambda x: x["unit"].astype(str)),
                               **opts)
    g = got.table()
    g["unit"] = g["unit"].astype(str)
    g = g.sort_values("unit").reset_index(drop=True)
    assert list(g["unit"]) == list(want["unit"])
    assert list(g["activities"]) == list(want["activities"])
    for col in ["active_weeks", "volume", "volume_ratio", "volume_lower", "volume_upper", "conversion",
                "conversion_lower", "conversion_upper"]:
        np.testing.assert_allclose(g[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-9, equal_nan=True,
                                   err_msg=col)
    for col in ["know_how", "want_to", "understands_metrics", "quadrant"]:
        assert list(g[col].astype(str)) == list(want[col]), col
    assert list(g["non_productive"]) == list(want["non_productive"])
    assert got.methods_question == want.attrs["methods_question"]
    assert got.peer_volume == pytest.approx(want.attrs["peer_volume"], rel=1e-12)
    assert g["adoption_ratio"].isna().all()
    assert (g["understands_metrics_evidence"].str.contains("no behaviour assessment")).all()
    np_rows = got.non_productive()
    assert sorted(np_rows["unit"].astype(str)) == list(want.loc[want["non_productive"], "unit"])
    assert "RepDiagnosis(" in repr(got) and "<table" in got._repr_html_()
    # the answers are spread: the synthetic company plants skill and will
    assert set(g["know_how"].astype(str)) >= {"yes"}


def test_garwood_hand_values() -> None:
    # count 0 at 95%: lower 0, upper -ln(0.025); count 1: lower -ln(0.975)
    assert stats.chi2.ppf(0.975, 2) / 2 == pytest.approx(-math.log(0.025), rel=1e-12)
    assert stats.chi2.ppf(0.025, 2) / 2 == pytest.approx(-math.log(0.975), rel=1e-12)


def test_diagnose_behaviours_argument(run: tuple[Any, Any, pd.DataFrame]) -> None:
    log, tl, _ = run
    dev = deviants(log, tl, covariates=["segment"])
    with pytest.raises(InvalidArgumentError, match="behaviours"):
        diagnose(log, tl, dev, behaviours=object())
    assess = getattr(salesperf._core, "assess_behaviours", None)
    if assess is None:
        pytest.skip("the behaviour assessment is not built yet")
    # the core assessment, in the wrapper shape diagnose() takes (an object with _result)
    b = SimpleNamespace(_result=assess(log._core, tl._core, dev._units, min_support=20))
    got = diagnose(log, tl, dev, b)
    g = got.table()
    r = b._result
    rows = np.flatnonzero(np.asarray(r.rows.replicate))
    U = len(r.unit_names)
    assert len(rows) > 0  # the synthetic company plants practices that work
    trials = np.asarray(r.unit_trials).reshape(-1, U)[rows]
    present = np.asarray(r.unit_present).reshape(-1, U)[rows]
    share = np.asarray(r.rows.present)[rows] / (np.asarray(r.rows.present)[rows] + np.asarray(r.rows.absent)[rows])
    P = present.sum(axis=0).astype(float)
    X = (trials * share[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(X > 0, P / X, np.nan)
        hi = stats.chi2.ppf(0.975, 2 * P + 2) / 2 / X
    np.testing.assert_allclose(g["adoption_ratio"], ratio, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(g["adoption_upper"], np.where(X > 0, hi, np.nan), rtol=1e-9, equal_nan=True)
    want = np.where(hi < 0.8, "no", np.where(hi >= 1, "yes", "unclear"))
    assert list(g["understands_metrics"].astype(str)) == list(np.where(X > 0, want, "unclear"))


# ---------------------------------------------------------------------------- errors


def test_errors(run: tuple[Any, Any, pd.DataFrame], company: Any) -> None:
    log, tl, _ = run
    with pytest.raises(NotFoundError, match="'region'"):
        deviants(log, tl, covariates=["segment", "region"])
    for name, value in [("ridge", -1.0), ("ridge", math.inf), ("interval", 1.0), ("interval", 0.0),
                        ("flag_probability", 0.5), ("flag_probability", 1.0), ("min_effect", -0.1)]:
        with pytest.raises(InvalidArgumentError, match=name):
            deviants(log, tl, covariates=["segment"], **{name: value})
    with pytest.raises(InvalidArgumentError, match="ridge"):
        deviants(log, tl, ridge="a lot")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="twice"):
        deviants(log, tl, covariates=["segment", "segment"])
    dev = deviants(log, tl, covariates=["segment"])
    for name, value in [("min_weeks", -1.0), ("min_gap", 1.0), ("min_gap", -0.1), ("interval", 1.5),
                        ("flag_probability", 0.3)]:
        with pytest.raises(InvalidArgumentError, match=name):
            diagnose(log, tl, dev, **{name: value})
    other = company.event_log()
    with pytest.raises(InvalidArgumentError, match="another log"):
        deviants(other, tl)
    tl2 = company.stage_model().run(log)
    with pytest.raises(InvalidArgumentError, match="another log or timelines"):
        diagnose(log, tl2, dev)
    with pytest.raises(InvalidArgumentError, match="deviants"):
        diagnose(log, tl, "not an assessment")  # type: ignore[arg-type]
    assert isinstance(diagnose(log, tl, dev), RepDiagnosis)


def test_missing_values_count_at_the_mean(company: Any) -> None:
    # the synthetic company values every deal: drop the amounts of a third of the deals
    ev = company.events.copy()
    deals = ev["deal"].astype(str)
    drop = deals.map(lambda d: sum(map(ord, d)) % 3 == 0)
    ev.loc[drop, "amount"] = np.nan
    log = salesperf.EventLog.from_pandas(ev, dimensions=["segment", "territory", "product", "lead_source", "team"],
                                         vocabulary=company.vocabulary, nan_amount="null")
    tl = company.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
    events = log.to_pandas()
    assert decided_deals(tl)["value"].isna().sum() > 100
    got = deviants(log, tl, covariates=["segment", "product"])
    compare_deviants(got, reference_deviants(events, log, tl, units_by_owner(events), ["segment", "product"]))


# ------------------------------------------------------------------ mergeable counts


def test_deviant_counts_split_pickle_merge_equal_whole(company: Any) -> None:
    """Deals split three ways in pandas, counted apart, pickled, merged in another order:
    the bytes equal the whole log's, the assessment equals deviants() exactly, and the
    per-unit counts equal the pandas reference's."""
    import pickle

    from salesperf.deviance import DeviantCounts, deviant_counts

    events = company.events
    model = company.stage_model(stall_after="45d", close_stalled_after="30d")
    log = company.event_log()
    tl = model.run(log)
    covs = ["segment", "product"]
    whole = deviant_counts(log, tl, covariates=covs)
    rng = np.random.default_rng(5)
    ids = events["deal"].astype(str)
    part_of = pd.Series(rng.integers(0, 3, ids.nunique()), index=ids.unique())
    parts = []
    for i in range(3):
        sub = events[ids.map(part_of).to_numpy() == i]
        sub_log = salesperf.EventLog.from_pandas(sub, dimensions=list(log.dimension_names),
                                                 vocabulary=company.vocabulary)
        counts = DeviantCounts.count(sub_log, model.run(sub_log, as_of=tl.as_of), covariates=covs)
        parts.append(pickle.loads(pickle.dumps(counts)))
        assert parts[-1] == counts
    merged = (parts[2] + parts[0]).merge(parts[1])
    assert merged == whole and merged.serialize() == whole.serialize()
    assert DeviantCounts.deserialize(whole.serialize()) == whole
    single = deviants(log, tl, covariates=covs)
    got = merged.assess()
    pd.testing.assert_frame_equal(got.table(), single.table(), check_exact=True)
    pd.testing.assert_series_equal(got.coefficients(), single.coefficients(), check_exact=True)
    # Independent: decided and won deals per unit, and the levels, from pandas.
    deals = decided_deals(tl)
    units = units_by_owner(log.to_pandas()).astype(str).reindex(deals.index.astype(str)).to_numpy()
    want = deals.assign(unit=units).groupby("unit")[["decided", "won"]].sum()
    t = got.table().assign(unit=lambda x: x["unit"].astype(str)).set_index("unit").loc[want.index]
    assert (t["decided"] == want["decided"]).all() and (t["won"] == want["won"]).all()
    assert merged.decided_deals == int(deals["decided"].sum())
    ev = log.to_pandas()
    for cov in covs:
        lv = levels(ev, log, cov)[deals["decided"].to_numpy()]
        assert merged.levels[cov] == sorted(set(lv) - {NONE})
    # Per-deal figures cannot come from merged counts; the repr and html say what it is.
    with pytest.raises(InvalidArgumentError, match="merged"):
        got.deal_probability()
    with pytest.raises(InvalidArgumentError, match="merged"):
        diagnose(log, tl, got)
    assert "DeviantCounts(by rep" in repr(merged) and "segment" in merged._repr_html_()


def test_deviant_counts_errors(run: tuple[Any, Any, pd.DataFrame]) -> None:
    from salesperf.deviance import DeviantCounts
    from salesperf.errors import DataLossError, FailedPreconditionError

    log, tl, _ = run
    a = DeviantCounts.count(log, tl, covariates=["segment"])
    b = DeviantCounts.count(log, tl, covariates=["product"])
    with pytest.raises(FailedPreconditionError, match="covariates"):
        a.merge(b)
    with pytest.raises(FailedPreconditionError, match="unit kind"):
        a.merge(DeviantCounts.count(log, tl, by="segment", covariates=["segment"]))
    data = a.serialize()
    with pytest.raises(DataLossError):
        DeviantCounts.deserialize(data[:-3])
    with pytest.raises(DataLossError):
        DeviantCounts.deserialize(data[:40] + bytes([data[40] ^ 1]) + data[41:])
    with pytest.raises(FailedPreconditionError, match="version"):
        DeviantCounts.deserialize(data[:8] + b"\x07" + data[9:])
    with pytest.raises(InvalidArgumentError):
        a.assess(ridge=-1)
