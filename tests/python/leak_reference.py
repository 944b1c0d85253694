"""An independent reference for salesperf.leaks(), written from the definitions in
salesperf/leaks.h with pandas, numpy and scipy: fates from Timelines.deals and
Timelines.entered, the beta-binomial concentration by scipy's bounded minimiser over a
grid-bracketed ln κ, posteriors from scipy.stats.beta, percentiles from numpy.

It shares no code with the library: only the definitions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

MIN_K, MAX_K = 1e-2, 1e5
STALLED = "(stalled)"
FATES = ["reached", "entrants", "advanced", "stalled", "open", "excluded"]


def _ns(t: Any) -> Optional[int]:
    if t is None:
        return None
    return int(pd.Timestamp(t).value)


@dataclass
class Counts:
    stage_names: list[str]
    num_open: int
    # (unit, cohort, stage) -> {fate: n}; cohort "current" / "past"
    cells: dict[tuple[str, str, int], dict[str, int]] = field(default_factory=dict)
    lost: dict[tuple[str, str, int, str], int] = field(default_factory=dict)
    deals: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    outside: dict[str, int] = field(default_factory=dict)
    out_of_window: dict[str, int] = field(default_factory=dict)
    units: list[str] = field(default_factory=list)


def reference_counts(timelines: Any, unit_of_deal: pd.Series, *, cohort_from: Any = None,
                     cohort_to: Any = None, past_from: Any = None) -> Counts:
    names = list(timelines.stage_names)
    o = len(names) - 2
    deals = timelines.deals
    entered = timelines.entered[names[:o]]
    units = unit_of_deal.reindex(deals.index).astype(str)
    c = Counts(names, o, units=sorted(set(units)))
    lo, hi, past = _ns(cohort_from), _ns(cohort_to), _ns(past_from)
    ent = entered.to_numpy(dtype="datetime64[ns]").view(np.int64)
    nat = np.iinfo(np.int64).min
    outcome = deals["outcome"].astype(str).to_numpy()
    reason = deals["lost_reason"].to_numpy()
    value = deals["value"].to_numpy(dtype=float)
    for i, unit in enumerate(units.to_numpy()):
        row = ent[i]
        hit = [k for k in range(o) if row[k] != nat]
        if not hit:
            c.outside[unit] = c.outside.get(unit, 0) + 1
            continue
        t0 = min(row[k] for k in hit)
        if (lo is None or t0 >= lo) and (hi is None or t0 < hi):
            cohort = "current"
        elif lo is not None and t0 < lo and (past is None or t0 >= past):
            cohort = "past"
        else:
            c.out_of_window[unit] = c.out_of_window.get(unit, 0) + 1
            continue
        entry, highest = hit[0], hit[-1]
        furthest = o if outcome[i] == "won" else highest
        d = c.deals.setdefault((unit, cohort), {"deals": 0, "won": 0, "valued": 0, "value": 0})
        d["deals"] += 1
        d["won"] += outcome[i] == "won"
        if not math.isnan(value[i]):
            d["valued"] += 1
            # the library's fixed point: 1/10,000, half away from zero
            d["value"] += int(math.copysign(math.floor(abs(value[i]) * 10_000 + 0.5), value[i]))
        for k in range(entry, min(furthest, o - 1) + 1):
            cell = c.cells.setdefault((unit, cohort, k), dict.fromkeys(FATES, 0))
            cell["reached"] += 1
            cell["entrants"] += k == entry
            if furthest > k:
                cell["advanced"] += 1
            elif outcome[i] == "lost":
                r = STALLED if reason[i] == "stalled" else str(reason[i])
                c.lost[(unit, cohort, k, r)] = c.lost.get((unit, cohort, k, r), 0) + 1
            elif outcome[i] in ("stalled", "open", "excluded"):
                cell[outcome[i]] += 1
            else:
                raise AssertionError(f"deal {deals.index[i]}: outcome {outcome[i]} at its furthest stage")
    return c


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _expit(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def concentration(x: np.ndarray, n: np.ndarray) -> float:
    """The beta-binomial concentration maximising the marginal likelihood, mean fixed
    at the pooled rate, over [MIN_K, MAX_K]."""
    keep = n > 0
    x, n = x[keep].astype(float), n[keep].astype(float)
    if len(n) < 2:
        return 0.0
    m = x.sum() / n.sum()
    if m <= 0 or m >= 1:
        return 0.0

    def neg(lk: float) -> float:
        k = math.exp(lk)
        return -float(np.sum(special.betaln(x + k * m, n - x + k * (1 - m)) - special.betaln(k * m, k * (1 - m))))

    grid = np.linspace(math.log(MIN_K), math.log(MAX_K), 401)
    vals = np.array([neg(g) for g in grid])
    j = int(np.argmin(vals))
    a, b = grid[max(j - 1, 0)], grid[min(j + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(neg, bounds=(a, b), method="bounded", options={"xatol": 1e-12})
    best = min([(res.fun, res.x), (vals[j], grid[j])])
    return math.exp(best[1])


def log_likelihood(x: np.ndarray, n: np.ndarray, k: float) -> float:
    keep = n > 0
    x, n = x[keep].astype(float), n[keep].astype(float)
    m = x.sum() / n.sum()
    return float(np.sum(special.betaln(x + k * m, n - x + k * (1 - m)) - special.betaln(k * m, k * (1 - m))))


def reference_assessment(c: Counts, *, benchmark: Any = "team_median", disqualify: tuple[str, ...] = (),
                         min_trials: int = 10, interval: float = 0.95, flag_probability: float = 0.95,
                         min_relative_shortfall: float = 0.2, value: str = "unit") -> dict[str, Any]:
    o, units = c.num_open, c.units

    def table(cohort: str) -> tuple[np.ndarray, ...]:
        shape = (len(units), o)
        reached, entrants, adv, stl, opn, exc, lost, dq = (np.zeros(shape, dtype=np.int64) for _ in range(8))
        for ui, u in enumerate(units):
            for k in range(o):
                cell = c.cells.get((u, cohort, k))
                if cell:
                    reached[ui, k], entrants[ui, k], adv[ui, k] = cell["reached"], cell["entrants"], cell["advanced"]
                    stl[ui, k], opn[ui, k], exc[ui, k] = cell["stalled"], cell["open"], cell["excluded"]
        for (u, coh, k, r), n in c.lost.items():
            if coh == cohort:
                (dq if r in disqualify else lost)[units.index(u), k] += n
        return reached, entrants, adv, stl, opn, exc, lost, dq

    reached, entrants, adv, stl, opn, exc, lost, dq = table("current")
    trials = adv + lost + dq + stl
    kappa = np.array([concentration(adv[:, k], trials[:, k]) for k in range(o)])
    pooled = np.array([adv[:, k].sum() / trials[:, k].sum() if trials[:, k].sum() else np.nan for k in range(o)])
    bench = np.full((len(units), o), np.nan)
    stage_bench = np.full(o, np.nan)
    if benchmark in ("team_median", "top_quartile"):
        q = 50 if benchmark == "team_median" else 75
        for k in range(o):
            ok = trials[:, k] >= max(min_trials, 1)
            if ok.any():
                r = (adv[ok, k] + kappa[k] * pooled[k]) / (trials[ok, k] + kappa[k])
                stage_bench[k] = np.percentile(r, q)
        bench[:] = stage_bench
    elif benchmark == "own_past":
        p_adv, p_trials = (lambda t: (t[2], t[2] + t[6] + t[7] + t[3]))(table("past"))
        for k in range(o):
            kp = concentration(p_adv[:, k], p_trials[:, k])
            tot = p_trials[:, k].sum()
            mp = p_adv[:, k].sum() / tot if tot else np.nan
            for ui in range(len(units)):
                if p_trials[ui, k] == 0:
                    bench[ui, k] = mp
                else:
                    bench[ui, k] = (p_adv[ui, k] + kp * mp) / (p_trials[ui, k] + kp)
    else:
        stage_bench = np.asarray(benchmark, dtype=float)
        bench[:] = stage_bench

    # average values
    vsum = {u: c.deals.get((u, "current"), {}).get("value", 0) for u in units}
    vn = {u: c.deals.get((u, "current"), {}).get("valued", 0) for u in units}
    org = sum(vsum.values()) / sum(vn.values()) / 10_000 if sum(vn.values()) else np.nan
    avg = np.array([org if value == "organisation" or vn[u] == 0 else vsum[u] / vn[u] / 10_000 for u in units])

    rows = []
    per_unit = []
    for ui, u in enumerate(units):
        b = bench[ui]
        down = np.array([np.prod(b[k + 1:]) for k in range(o)])  # D_k
        enter = np.array([np.prod(b[k:]) for k in range(o)])      # D_{k-1}
        for k in range(o):
            n, x, bk, kk = int(trials[ui, k]), int(adv[ui, k]), b[k], kappa[k]
            r: dict[str, Any] = {"unit": u, "stage": c.stage_names[k], "reached": reached[ui, k],
                                 "entrants": entrants[ui, k], "advanced": x, "lost": lost[ui, k],
                                 "disqualified": dq[ui, k], "stalled": stl[ui, k], "open": opn[ui, k],
                                 "excluded": exc[ui, k], "trials": n, "benchmark": bk,
                                 "rate": x / n if n else np.nan}
            if math.isnan(bk):
                r.update(shrunk_rate=np.nan if n == 0 or kk == 0 else (x + kk * bk) / (n + kk),
                         expected=np.nan, shortfall=np.nan, shrunk_shortfall=np.nan, shortfall_lower=np.nan,
                         shortfall_upper=np.nan, probability_real=np.nan)
                if kk == 0:
                    r["shrunk_rate"] = x / n if n else np.nan
            elif n == 0:
                r.update(shrunk_rate=np.nan, expected=0.0, shortfall=0.0, shrunk_shortfall=0.0,
                         shortfall_lower=0.0, shortfall_upper=0.0, probability_real=np.nan)
            else:
                if kk > 0:
                    bc = min(max(bk, 1e-9), 1 - 1e-9)
                    a_, b_ = x + kk * bc, n - x + kk * (1 - bc)
                    shrunk = (x + kk * bk) / (n + kk)
                else:
                    a_, b_ = x + 0.5, n - x + 0.5
                    shrunk = x / n
                tail = (1 - interval) / 2
                r.update(shrunk_rate=shrunk, expected=bk * n, shortfall=bk * n - x,
                         shrunk_shortfall=n * (bk - shrunk),
                         shortfall_lower=n * (bk - stats.beta.ppf(1 - tail, a_, b_)),
                         shortfall_upper=n * (bk - stats.beta.ppf(tail, a_, b_)),
                         probability_real=stats.beta.cdf(bk, a_, b_))
            scale = down[k] * avg[ui]
            r.update(downstream_win=down[k], average_value=avg[ui], dollars=r["shortfall"] * scale,
                     shrunk_dollars=r["shrunk_shortfall"] * scale, dollars_lower=r["shortfall_lower"] * scale,
                     dollars_upper=r["shortfall_upper"] * scale)
            rows.append(r)
        # the unit's own level: the trial-weighted mean logit distance of its shrunk
        # rates from the benchmark, leaving the row's own stage out
        mine = rows[-o:]
        dev = [np.nan] * o
        for k in range(o):
            rk = mine[k]
            if rk["trials"] >= 1 and 0 < rk["benchmark"] < 1 and not math.isnan(rk["shrunk_rate"]):
                dev[k] = _logit(rk["shrunk_rate"]) - _logit(rk["benchmark"])
        for k in range(o):
            rk = mine[k]
            w = [(mine[j]["trials"], dev[j]) for j in range(o) if j != k and not math.isnan(dev[j])]
            level = sum(a * b for a, b in w) / sum(a for a, _ in w) if w else 0.0
            bk, n, x, kk = rk["benchmark"], rk["trials"], rk["advanced"], kappa[k]
            rk["unit_level"] = level
            if math.isnan(bk) or n == 0:
                rk.update(own_benchmark=np.nan if math.isnan(bk) else _expit(_logit(bk) + level),
                          own_shortfall=np.nan if math.isnan(bk) else 0.0, own_probability=np.nan)
                rk["flagged"] = False
                continue
            own = _expit(_logit(bk) + level)
            if kk > 0:
                oc = min(max(own, 1e-9), 1 - 1e-9)
                a_, b_ = x + kk * oc, n - x + kk * (1 - oc)
                shr = (x + kk * own) / (n + kk)
            else:
                a_, b_ = x + 0.5, n - x + 0.5
                shr = x / n
            rk.update(own_benchmark=own, own_shortfall=n * (own - shr),
                      own_probability=stats.beta.cdf(own, a_, b_))
            rk["flagged"] = bool(rk["own_probability"] >= flag_probability
                                 and rk["own_shortfall"] >= min_relative_shortfall * own * n)
        won = c.deals.get((u, "current"), {}).get("won", 0)
        bw = float(np.sum(entrants[ui] * enter))
        pw = float(np.sum((opn[ui] + exc[ui]) * enter))
        gap = bw - pw - won
        per_unit.append({"unit": u, "benchmark_wins": bw, "pending_wins": pw, "won": won, "gap": gap,
                         "gap_dollars": gap * avg[ui], "average_value": avg[ui]})
    out = pd.DataFrame(rows)
    order = sorted(range(len(out)), key=lambda i: (math.isnan(out["shrunk_dollars"][i]),
                                                  -(0 if math.isnan(out["shrunk_dollars"][i]) else out["shrunk_dollars"][i]),
                                                  units.index(out["unit"][i]), c.stage_names.index(out["stage"][i])))
    rank = np.empty(len(out), dtype=np.int64)
    rank[order] = np.arange(1, len(out) + 1)
    out["rank"] = rank
    units_df = pd.DataFrame(per_unit)
    units_df["shrunk_gap_dollars"] = out.groupby("unit", sort=False)["shrunk_dollars"].sum(min_count=1).to_numpy()
    units_df["chance_dollars"] = units_df["gap_dollars"] - units_df["shrunk_gap_dollars"]
    stages_df = pd.DataFrame({"stage": c.stage_names[:o], "pooled_rate": pooled, "concentration": kappa,
                              "benchmark": stage_bench,
                              "units": [(trials[:, k] > 0).sum() for k in range(o)]})
    return {"rows": out, "units": units_df, "stages": stages_df, "trials": trials, "advanced": adv}
