"""Planted leaks are found. The synthetic company plants leaks (salesperf/synth.h):
about one rep in six has one transition, Engaged..Commit, whose progression
probability is multiplied by 0.4, 0.5 or 0.6. Every rep also has a skill that
multiplies the odds at every stage (0.5x to 2x), and behaviours that raise the odds
at some stages: the nuisance a real team has. Over 40 seeds of a 300,000-event
company (24 reps; every planted leak has 30 or more decided deals at its stage), the
default assessment against the team median must flag at least 95% of the planted
leaks, and at most 5% of the flagged rows may be unplanted.

Measured when written: recall 159/160 = 99.4%, unplanted share 3/162 = 1.9% (the
three are reps that skip the planted decision-maker meeting before Proposal, a true
stage-specific gap the generator plants as a behaviour). At 100,000 events the
samples are smaller: recall 96.9%, unplanted 7.2%.
"""

from __future__ import annotations

import pytest

import salesperf

SEEDS = range(1, 41)
EVENTS = 300_000


def _recovery(seeds: range, events: int) -> tuple[int, int, int, list[tuple[int, str, str]]]:
    planted_n = found = flagged_n = 0
    unplanted = []
    for seed in seeds:
        co = salesperf.synth.company(events=events, seed=seed)
        log = co.event_log()
        timelines = co.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
        table = salesperf.leaks(log, timelines, by="rep", benchmark="team_median").table()
        reps = co.reps
        planted = {(str(r), str(s)) for r, s in zip(reps.index, reps["leak_stage"]) if isinstance(s, str)}
        rows = table[table["flagged"]]
        flagged = {(str(u), str(s)) for u, s in zip(rows["unit"], rows["stage"])}
        # every planted leak is a row with decided deals: the test measures the detector, not the sample
        decided = table.set_index([table["unit"].astype(str), table["stage"].astype(str)])["trials"]
        assert all(decided.loc[p] >= 30 for p in planted), seed
        planted_n += len(planted)
        found += len(planted & flagged)
        flagged_n += len(flagged)
        unplanted += [(seed, *p) for p in sorted(flagged - planted)]
    return planted_n, found, flagged_n, unplanted


def test_planted_leaks_are_recovered() -> None:
    planted, found, flagged, unplanted = _recovery(SEEDS, EVENTS)
    recall = found / planted
    false_share = (flagged - found) / flagged
    print(f"recovery: {found}/{planted} planted leaks flagged (recall {recall:.3f}); "
          f"{flagged - found}/{flagged} flagged rows unplanted ({false_share:.3f}): {unplanted}")
    assert planted == 4 * len(SEEDS)  # max(1, round(24 / 6)) leaking reps per company
    assert recall >= 0.95
    assert false_share <= 0.05


@pytest.mark.parametrize("benchmark", ["top_quartile"])
def test_top_quartile_finds_the_same_leaks(benchmark: str) -> None:
    """Against the top quartile every rep falls short somewhere; the flag still points
    at the planted stages, because it compares a stage with the rep's own level."""
    found = flagged = planted = 0
    for seed in range(1, 9):
        co = salesperf.synth.company(events=EVENTS, seed=seed)
        log = co.event_log()
        timelines = co.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
        t = salesperf.leaks(log, timelines, by="rep", benchmark=benchmark).table()
        p = {(str(r), str(s)) for r, s in zip(co.reps.index, co.reps["leak_stage"]) if isinstance(s, str)}
        f = {(str(u), str(s)) for u, s in zip(t.unit[t.flagged], t.stage[t.flagged])}
        found, flagged, planted = found + len(p & f), flagged + len(f), planted + len(p)
    assert found / planted >= 0.95
    assert (flagged - found) / flagged <= 0.1
