"""Recovery of planted positive deviants and planted behaviours (issue 6, part 7).

The synthetic company (salesperf/synth.h) plants, per rep, a skill (an odds multiplier
on every stage progression), a will (activities per week), sometimes a leak at one
stage, and three behaviours with per-rep propensities that multiply the odds of one
progression. A rep's true chance of winning a deal follows from these; its ratio to the
reps' mean is the truth the deviant analysis should recover. Follow-ups within 24 h
also happen by chance (the first Poisson activity), with probability 1 - exp(-will/7);
for the two other behaviours the propensity stands in for the share of deals that have
them (an approximation used only to grade).

  planted positive deviant   true ratio >= 1.3   (recall is measured on these)
  not a deviant              true ratio <= 1.05  (a flag here is a false discovery)
  in between                 neither counted

Behaviours: the planted ones are meeting@decision_maker at Proposal (and only there),
follow_up at Engaged .. Commit, and multithreading at Budget — seen through contacts>=m,
roles>=m or an activity with a contact other than the champion before Budget (those
are how multithreading shows in the log). The discoveries graded are the independent
ones (what replicate() and avoid() list: proxies of a stronger discovery at the same
stage are screened out); any of them other than a planted behaviour to replicate is a
false discovery.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

import salesperf

BASE = np.array([0.70, 0.65, 0.65, 0.70, 0.55, 0.85])
STAGES = ["Lead", "Engaged", "Qualified", "Budget", "Proposal", "Commit"]
LEAD_SOURCES = [(0.35, 1.5), (0.35, 0.7), (0.15, 1.2), (0.15, 1.0)]
COVARIATES = ["segment", "lead_source", "product"]
SEEDS = range(1, 21)
EVENTS = 300_000


def _p(odds: float) -> float:
    return odds / (1 + odds)


def true_ratio(reps: pd.DataFrame) -> pd.Series:
    """Each rep's true win probability for an average deal over the reps' mean."""
    odds = BASE / (1 - BASE)
    out = {}
    for rep, r in reps.iterrows():
        q_follow = 1 - (1 - r["follow_up_24h_propensity"]) * math.exp(-r["will"] / 7)
        q = {1: q_follow, 2: q_follow, 3: q_follow, 4: q_follow, 5: q_follow}
        win = sum(w * _p(odds[0] * r["skill"] * f) for w, f in LEAD_SOURCES)
        for s in range(1, 6):
            extra = [(q[s], 1.5)]
            if s == 3:
                extra.append((r["multithreading_propensity"], 1.5))
            if s == 4:
                extra.append((r["dm_meeting_before_proposal_propensity"], 1.8))
            # The expected progression over the independent behaviours present or not.
            p = 0.0
            for mask in range(1 << len(extra)):
                weight, mult = 1.0, 1.0
                for j, (qj, ej) in enumerate(extra):
                    if mask >> j & 1:
                        weight *= qj
                        mult *= ej
                    else:
                        weight *= 1 - qj
                p += weight * _p(odds[s] * r["skill"] * mult)
            if r["leak_stage"] == STAGES[s]:
                p *= r["leak_factor"]
            win *= p
        out[rep] = win
    s = pd.Series(out)
    return s / s.mean()


def planted_behaviour(stage: str, feature: str) -> bool:
    if feature == "follow_up":
        return stage in ("Engaged", "Qualified", "Budget", "Proposal", "Commit")
    if stage == "Proposal" and feature == "meeting@decision_maker":
        return True
    if stage == "Budget":
        return (feature.startswith(("contacts>=", "roles>="))
                or ("@" in feature and not feature.endswith("@champion")))
    return False


def _one(seed: int) -> dict[str, Any]:
    co = salesperf.synth.company(events=EVENTS, seed=seed)
    log = co.event_log()
    tl = co.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
    dev = salesperf.deviants(log, tl, covariates=COVARIATES)
    table = dev.table().set_index("unit")
    truth = true_ratio(co.reps).reindex(table.index)
    beh = salesperf.behaviours(log, tl, deviants=dev).table()
    # The discoveries that stand on their own (over and above the stage's stronger ones),
    # to replicate or to avoid: the rows replicate() and avoid() show.
    rep = beh[beh["independent"].astype(bool) & (beh["replicate"] | beh["avoid"]).astype(bool)]
    planted = [bool(r) and planted_behaviour(str(s), f) for s, f, r in zip(rep["stage"], rep["feature"],
                                                                            rep["replicate"])]
    return {"seed": seed, "truth": truth, "flag": table["deviant"], "shrunk": table["ratio_shrunk"],
            "replicate": rep.assign(planted=planted)}


@pytest.fixture(scope="module")
def runs() -> list[dict[str, Any]]:
    return [_one(s) for s in SEEDS]


def test_planted_deviants_are_found(runs: list[dict[str, Any]]) -> None:
    planted = found = flagged = false = 0
    for r in runs:
        truth, flag = r["truth"], r["flag"]
        planted += int((truth >= 1.3).sum())
        found += int(((truth >= 1.3) & (flag == 1)).sum())
        flagged += int((flag == 1).sum())
        false += int(((truth <= 1.05) & (flag == 1)).sum())
    recall = found / planted
    fdr = false / flagged
    print(f"deviants: planted {planted}, found {found} (recall {recall:.3f}); flagged {flagged}, "
          f"false {false} (share {fdr:.3f})")
    # Measured (20 seeds): 131 of 131 planted deviants flagged, 1 of 161 flags on a rep
    # whose true ratio is at most 1.05.
    assert planted >= 40
    assert recall >= 0.9
    assert fdr <= 0.05


def test_shrunk_ratio_tracks_the_truth(runs: list[dict[str, Any]]) -> None:
    corr = [float(pd.Series(r["shrunk"]).corr(r["truth"], method="spearman")) for r in runs]
    print(f"Spearman(shrunk ratio, truth): median {np.median(corr):.3f}, min {min(corr):.3f}")
    assert np.median(corr) >= 0.9  # measured: median 0.976, min 0.933


def test_planted_behaviours_are_found(runs: list[dict[str, Any]]) -> None:
    rows = pd.concat([r["replicate"].assign(seed=r["seed"]) for r in runs], ignore_index=True)
    false = rows[~rows["planted"]]
    fdr = len(false) / max(len(rows), 1)
    dm = sum(bool(((r["replicate"]["stage"].astype(str) == "Proposal")
                   & (r["replicate"]["feature"] == "meeting@decision_maker")).any()) for r in runs)
    follow = [int((r["replicate"]["feature"] == "follow_up").sum()) for r in runs]
    budget = sum(bool(((r["replicate"]["stage"].astype(str) == "Budget")
                       & r["replicate"]["planted"] & (r["replicate"]["feature"] != "follow_up")).any())
                 for r in runs)
    print(f"behaviours: {len(rows)} independent discoveries over {len(runs)} seeds, {len(false)} not planted "
          f"(share {fdr:.3f}); DM meeting at Proposal found in {dm}/{len(runs)}; follow-up stages found "
          f"{sum(follow)}/{5 * len(runs)}; multithreading at Budget in {budget}/{len(runs)}")
    if len(false):
        print(false[["seed", "stage", "feature", "odds_ratio", "q_value"]].to_string())
    # Measured (20 seeds): DM meeting 20/20, follow-up 94/100 stages, multithreading 8/20
    # (a x1.5 effect on one transition that only some deals' centres make visible: weak
    # at 300k events), 10 of 132 independent discoveries not planted (7.6%, in line with
    # Benjamini-Hochberg at 10%).
    assert dm >= 0.9 * len(runs)
    assert sum(follow) >= 0.85 * 5 * len(runs)
    assert budget >= 0.3 * len(runs)
    assert fdr <= 0.10
