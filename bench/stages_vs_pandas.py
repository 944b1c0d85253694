"""Stage timelines, salesperf against a vectorised pandas implementation.

The query is the simplest semantics both can express: a ladder of stages, each
entered on one buyer action, skip ordering, latch (a deal's stage is the highest it
has reached). pandas does it with a group-wise cumulative max. Both results are
checked equal before anything is timed.

    .venv/bin/python bench/stages_vs_pandas.py [--events 2000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import salesperf

LADDER = ["opportunity_created", "reply", "state_need", "share_budget", "request_proposal",
          "verbal_commit", "sign"]
NAMES = ["Lead", "Engaged", "Qualified", "Budget", "Proposal", "Commit", "Signed"]


def pandas_first_entered(events: pd.DataFrame) -> pd.DataFrame:
    """deal x stage first-entry times under skip ordering and latch."""
    stage = events["action"].map({a: i for i, a in enumerate(LADDER)})
    ev = events.loc[stage.notna(), ["deal", "time"]].assign(s=stage.dropna().astype(np.int64))
    reached_before = ev.groupby("deal", observed=True)["s"].cummax().groupby(
        ev["deal"], observed=True).shift(fill_value=-1)
    entered = ev[ev["s"] > reached_before]
    out = entered.pivot_table(index="deal", columns="s", values="time", aggfunc="min", observed=True)
    return out.reindex(columns=range(len(LADDER)))


def best_of(repeat: int, fn):  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    company = salesperf.synth.company(events=args.events, seed=5)
    log = company.event_log()
    events = log.to_pandas()[["deal", "time", "action"]]
    model = salesperf.StageModel(
        stages=[{"name": n, "rules": [{"any": [a]}]} for n, a in zip(NAMES, LADDER)],
        ordering="skip")

    t_pandas, expected = best_of(args.repeat, lambda: pandas_first_entered(events))
    t_one, timelines = best_of(args.repeat, lambda: model.run(log, threads=1))
    t_all, _ = best_of(args.repeat, lambda: model.run(log, threads=0))

    got = timelines.entered[NAMES]
    got.columns = range(len(LADDER))
    got = got[got.notna().any(axis=1)]
    got.index = got.index.astype(str)
    expected.index = expected.index.astype(str)
    expected = expected.loc[got.index]
    assert expected.shape == got.shape
    for k in range(len(LADDER)):
        a = got[k].astype("int64").to_numpy()
        b = pd.to_datetime(expected[k], utc=True).astype("int64").to_numpy()
        assert np.array_equal(a, b), NAMES[k]

    n = len(log)
    print(f"{n:,} events, {log.num_deals:,} deals; results equal")
    print(f"{'tool':<28}{'seconds':>10}{'events/s':>14}{'vs salesperf 1 thread':>24}")
    for name, t in (("pandas (groupby cummax)", t_pandas), ("salesperf, 1 thread", t_one),
                    ("salesperf, all cores", t_all)):
        print(f"{name:<28}{t:>10.3f}{n / t:>14,.0f}{t / t_one:>23.1f}x")


if __name__ == "__main__":
    main()
