"""salesperf.stats against independent libraries: statsmodels (Wilson interval,
two-proportion z test), scipy (least-squares slope, Student t) and lifelines
(Kaplan-Meier), on hand-picked and Hypothesis-generated inputs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from lifelines.utils import qth_survival_time
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from salesperf import stats
from salesperf.errors import InvalidArgumentError

REL = 1e-12
EPS = np.finfo(np.float64).eps


def close(a: float, b: float, rel: float = REL, abs_tol: float = 1e-15) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)


# --- Wilson -------------------------------------------------------------------------

def check_wilson(x: int, n: int, confidence: float) -> None:
    r = stats.wilson_interval(x, n, confidence)
    lo, hi = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    assert r.estimate == x / n
    assert close(r.lower, max(float(lo), 0.0)), (r, lo)
    assert close(r.upper, min(float(hi), 1.0)), (r, hi)
    assert 0.0 <= r.lower <= r.estimate <= r.upper <= 1.0


@pytest.mark.parametrize("x,n", [(0, 10), (10, 10), (5, 10), (7, 20), (1, 1), (0, 1), (3, 1000)])
def test_wilson_matches_statsmodels(x: int, n: int) -> None:
    check_wilson(x, n, 0.95)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**7).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99, 0.999]))
def test_wilson_hypothesis(xn: tuple[int, int], confidence: float) -> None:
    check_wilson(xn[0], xn[1], confidence)


def test_wilson_edges() -> None:
    r = stats.wilson_interval(0, 0)
    assert math.isnan(r.estimate) and (r.lower, r.upper) == (0.0, 1.0)
    assert stats.wilson_interval(0, 10).lower == 0.0
    assert stats.wilson_interval(10, 10).upper == 1.0
    for bad in [(11, 10, 0.95), (-1, 10, 0.95), (1, -1, 0.95), (1, 2, 1.0), (1, 2, 0.0)]:
        with pytest.raises(InvalidArgumentError):
            stats.wilson_interval(*bad)


# --- two-proportion test ------------------------------------------------------------

def check_two_proportion(x1: int, n1: int, x2: int, n2: int) -> None:
    r = stats.two_proportion_test(x1, n1, x2, n2)
    z, p = proportions_ztest(np.array([x1, x2]), np.array([n1, n2]))
    assert close(r.difference, x2 / n2 - x1 / n1)
    assert close(r.z, -float(z)), (r, z)  # statsmodels tests p1 - p2; we report p2 - p1
    assert close(r.p_value, float(p), abs_tol=1e-300), (r, p)


def test_two_proportion_by_hand() -> None:
    r = stats.two_proportion_test(7, 20, 15, 25)
    pooled = 22 / 45
    z = 0.25 / math.sqrt(pooled * (1 - pooled) * (1 / 20 + 1 / 25))
    assert close(r.z, z) and close(r.p_value, math.erfc(z / math.sqrt(2)))
    check_two_proportion(7, 20, 15, 25)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.integers(1, 10**6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_two_proportion_hypothesis(a: tuple[int, int], b: tuple[int, int]) -> None:
    pooled_x, pooled_n = a[0] + b[0], a[1] + b[1]
    if pooled_x in (0, pooled_n):  # degenerate: statsmodels divides 0 by 0
        r = stats.two_proportion_test(*a, *b)
        assert r == (0.0, 0.0, 1.0)
        return
    check_two_proportion(*a, *b)


def test_two_proportion_degenerate() -> None:
    assert stats.two_proportion_test(0, 10, 0, 30) == (0.0, 0.0, 1.0)
    assert stats.two_proportion_test(10, 10, 30, 30) == (0.0, 0.0, 1.0)
    assert all(math.isnan(v) for v in stats.two_proportion_test(0, 0, 3, 30))
    with pytest.raises(InvalidArgumentError):
        stats.two_proportion_test(3, 2, 1, 2)


# --- trend slope --------------------------------------------------------------------

def check_trend(y: list[float], confidence: float = 0.95) -> None:
    arr = np.asarray(y, dtype=np.float64)
    keep = ~np.isnan(arr)
    x = np.flatnonzero(keep).astype(np.float64)
    yk = arr[keep]
    r = stats.trend_slope(arr, confidence)
    assert r.n == len(yk)
    ref = sps.linregress(x, yk)
    scale = float(np.max(np.abs(yk)))
    assert close(r.slope, float(ref.slope), abs_tol=1e-12 * scale), (r, ref)
    df = len(yk) - 2
    t = float(sps.t.isf((1 - confidence) / 2, df))
    half = (r.upper - r.lower) / 2
    assert close((r.upper + r.lower) / 2, r.slope, abs_tol=1e-12 * scale)
    # scipy's stderr is sqrt((1 - r²)·Syy/Sxx/df); 1 - r² is only good to about eps
    # absolutely, which matters when the fit is nearly perfect: allow for exactly that.
    sxx = float(np.sum((x - x.mean()) ** 2))
    syy = float(np.sum((yk - yk.mean()) ** 2))
    if math.isnan(ref.rvalue):  # constant y: scipy gives no r, the slope is 0 with no spread
        assert half <= 1e-12 * scale
    else:
        one_minus_r2 = max(1.0 - float(ref.rvalue) ** 2, 0.0)
        slack = t * math.sqrt(syy / sxx / df) * (
            math.sqrt(one_minus_r2 + 4 * EPS) - math.sqrt(one_minus_r2))
        assert abs(half - t * float(ref.stderr)) <= REL * half + slack + 1e-12 * scale, (r, ref)
    # And against the residuals computed here, which is the same math as the C++.
    resid = yk - (yk.mean() + r.slope * (x - x.mean()))
    se = math.sqrt(float(np.sum(resid**2)) / df / sxx)
    assert close(half, t * se, abs_tol=1e-12 * scale)


def test_trend_exact_line_and_by_hand() -> None:
    assert stats.trend_slope([2.0, 5.0, 8.0, 11.0, 14.0]) == (3.0, 3.0, 3.0, 5)
    check_trend([1, 3, 2, 5, 4])
    check_trend([12, 15, math.nan, 19, 22])
    check_trend([1, 3, 2, 5, 4], confidence=0.8)


@settings(max_examples=300, deadline=None)
# Indicator values on a 1e-6 grid: a least-squares fit of values near 1e-158 loses all
# relative precision in any implementation, scipy's included, and says nothing about ours.
@given(st.lists(st.one_of(st.floats(-1e6, 1e6).map(lambda v: round(v, 6)), st.just(math.nan)),
                min_size=0, max_size=40))
def test_trend_hypothesis(y: list[float]) -> None:
    finite = [v for v in y if not math.isnan(v)]
    if len(finite) < 3:
        r = stats.trend_slope(y)
        assert r.n == len(finite) and math.isnan(r.lower) and math.isnan(r.upper)
        assert math.isnan(r.slope) == (len(finite) < 2)
        return
    check_trend(y)


def test_trend_inputs() -> None:
    s = pd.Series([1.0, None, 3.0, 4.0], dtype="Float64")
    assert stats.trend_slope(s).n == 3
    assert stats.trend_slope([1, None, 3, 4]) == stats.trend_slope(s)
    two = stats.trend_slope([1.0, 4.0])
    assert two.slope == 3.0 and math.isnan(two.lower)
    with pytest.raises(InvalidArgumentError):
        stats.trend_slope([1.0, math.inf, 2.0])


# --- Kaplan-Meier -------------------------------------------------------------------

SIX_MP = ([6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35],
          [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0])


def lifelines_curve(durations: np.ndarray, observed: np.ndarray) -> pd.Series:
    with warnings.catch_warnings(), np.errstate(divide="ignore"):
        warnings.simplefilter("ignore")  # the reference's own warnings, e.g. all censored
        kmf = KaplanMeierFitter().fit(durations, observed)
    return kmf.survival_function_.iloc[:, 0]


def check_km(durations: np.ndarray, observed: np.ndarray) -> None:
    times, surv = stats.kaplan_meier(durations, observed)
    expected_times = np.unique(durations[observed.astype(bool)])
    np.testing.assert_array_equal(times, expected_times)
    sf = lifelines_curve(durations, observed)
    ref = sf.loc[times].to_numpy()
    np.testing.assert_allclose(surv, ref, rtol=REL, atol=1e-15)
    for q in (0.5, 0.9, 0.25):
        mine = stats.km_quantile(durations, observed, q)
        theirs = qth_survival_time(1 - q, sf)
        if mine == (None if math.isinf(theirs) else int(theirs)):
            continue
        # A tie at exactly 1 - q, which lifelines' exp(Σ log) rounds the other way.
        candidates = [t for t, s in zip(times, surv) if abs(s - (1 - q)) <= 1e-12]
        assert candidates, (q, mine, theirs)


def test_km_textbook() -> None:
    d, o = np.array(SIX_MP[0]), np.array(SIX_MP[1], dtype=bool)
    times, surv = stats.kaplan_meier(d, o)
    assert times.tolist() == [6, 7, 10, 13, 16, 22, 23]
    by_hand = np.cumprod([18 / 21, 16 / 17, 14 / 15, 11 / 12, 10 / 11, 6 / 7, 5 / 6])
    np.testing.assert_allclose(surv, by_hand, rtol=1e-15)
    assert stats.km_quantile(d, o, 0.5) == 23
    assert stats.km_quantile(d, o, 0.9) is None
    check_km(d, o)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.booleans()), min_size=1, max_size=80),
       st.sampled_from([1, 86_400 * 10**9]))
def test_km_hypothesis(rows: list[tuple[int, bool]], unit: int) -> None:
    durations = np.array([r[0] for r in rows], dtype=np.int64) * unit
    observed = np.array([r[1] for r in rows], dtype=bool)
    check_km(durations, observed)


def test_km_inputs_and_errors() -> None:
    days = pd.Series(pd.to_timedelta([3, 5, 5, 8], unit="D"))
    times, surv = stats.kaplan_meier(days, np.array([1, 1, 0, 1], dtype=np.int64))
    assert times.tolist() == [d * 86_400 * 10**9 for d in (3, 5, 8)]
    assert surv.tolist() == [0.75, 0.5, 0.0]
    assert stats.km_quantile(days, [True, True, False, True], 0.5) == 5 * 86_400 * 10**9
    empty_t, empty_s = stats.kaplan_meier(np.array([], dtype=np.int64), [])
    assert empty_t.size == 0 and empty_s.size == 0
    assert stats.km_quantile([1, 2], [0, 0], 0.5) is None
    with pytest.raises(InvalidArgumentError):
        stats.kaplan_meier([1, -2], [1, 1])
    with pytest.raises(InvalidArgumentError):
        stats.kaplan_meier([1, 2], [1, 2])
    with pytest.raises(InvalidArgumentError):
        stats.kaplan_meier([1, 2], np.array([1, 256], dtype=np.int64))
    with pytest.raises(InvalidArgumentError):
        stats.kaplan_meier([1, 2], [1])
    with pytest.raises(InvalidArgumentError):
        stats.kaplan_meier(pd.to_timedelta([1, None], unit="D"), [1, 1])  # NaT
    with pytest.raises(InvalidArgumentError):
        stats.km_quantile([1, 2], [1, 1], 0.0)
    with pytest.raises(TypeError):
        stats.kaplan_meier([1.5, 2.0], [1, 1])
