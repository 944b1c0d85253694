"""salesperf.funnel() against an independent numpy computation of the absorbing chain,
written from the definitions in salesperf/funnel.h: moves counted from the
transitions DataFrame with pandas, the fundamental matrix with numpy.linalg, dwell
times from consecutive transitions, and the open pipeline from Timelines.deals. Also
the accounting (every transition a move or ignored), merge of deal splits and bytes.

Data: BPI Challenge 2012, B.F. van Dongen, 4TU.ResearchData,
doi:10.4121/uuid:3926db30-f712-4394-aebc-75976070e91f (skipped when absent).
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest

from indicator_reference import units_by_dimension, units_by_owner

import salesperf
from salesperf import datasets

NS_PER_DAY = 86_400 * 10**9
MOVE_KINDS = {"progressed", "skipped", "regressed", "won", "lost"}


def reference(timelines: salesperf.Timelines, unit_of_deal: pd.Series, unit: str | None) -> dict[str, Any]:
    """The chain of one unit (None: every deal) straight from the definitions."""
    names = timelines.stage_names
    o = len(names) - 2
    index = {n: k for k, n in enumerate(names)}
    tr = timelines.transitions
    tr = tr.assign(unit=tr["deal"].map(unit_of_deal))
    if unit is not None:
        tr = tr[tr["unit"] == unit]
    move = tr["from_stage"].isin(names[:o]) & tr["kind"].astype(str).isin(MOVE_KINDS)
    moves = np.zeros((o, o + 2), dtype=np.int64)
    for (f, t), n in tr[move].groupby(["from_stage", "to_stage"]).size().items():
        moves[index[f], index[t]] += n
    # Dwell: consecutive rows of one deal, the first into i, the next out of i.
    nxt = tr.groupby("deal", sort=False).shift(-1)
    pair = (nxt["from_stage"] == tr["to_stage"]) & tr["to_stage"].isin(names[:o])
    span = (nxt["time"] - tr["time"])[pair].dt.total_seconds() * 1e9
    dwell = pd.DataFrame({"stage": tr["to_stage"][pair], "ns": span}).groupby("stage")["ns"].agg(["sum", "count"])
    h = np.array([dwell.loc[n, "sum"] / dwell.loc[n, "count"] / NS_PER_DAY if n in dwell.index else np.nan
                  for n in names[:o]])
    with np.errstate(invalid="ignore", divide="ignore"):
        p = moves / moves.sum(axis=1, keepdims=True)
    q, r = p[:, :o], p[:, o:]
    n_mat = np.linalg.inv(np.eye(o) - q)
    b = n_mat @ r
    t = n_mat @ h
    deals = timelines.deals
    if unit is not None:
        deals = deals[deals.index.map(unit_of_deal) == unit]
    open_ = deals[deals["outcome"].astype(str).isin(["open", "stalled"])]
    open_deals = np.array([(open_["current_stage"] == n).sum() for n in names[:o]])
    # Dollars exactly as the library sums them: each value in 1/10,000, as an integer.
    fixed = open_["value"].dropna().map(lambda v: int(np.floor(abs(v) * 10_000 + 0.5)) * (1 if v >= 0 else -1))
    per_stage = [sum(fixed[open_.loc[fixed.index, "current_stage"] == n]) / 10_000 for n in names[:o]]
    expected = sum(d * w for d, w in zip(per_stage, b[:, 0]))
    return {"moves": moves, "p": p, "win": b[:, 0], "loss": b[:, 1], "h": h, "t": t,
            "open_deals": open_deals, "open_dollars": sum(fixed) / 10_000, "expected": expected}


def check(f: salesperf.Funnel, ref: dict[str, Any], unit: str | None) -> None:
    got = f.stages(unit)
    np.testing.assert_array_equal(f.moves(unit).to_numpy(), ref["moves"])
    np.testing.assert_allclose(f.matrix(unit).to_numpy(), ref["p"], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(got["win_probability"], ref["win"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["loss_probability"], ref["loss"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["mean_days_in_stage"], ref["h"], rtol=1e-9)
    np.testing.assert_allclose(got["expected_days_to_close"], ref["t"], rtol=1e-9)
    np.testing.assert_array_equal(got["open_deals"], ref["open_deals"])
    summary = f.summary().loc["(all)" if unit is None else unit]
    assert summary["open_dollars"] == pytest.approx(ref["open_dollars"], rel=1e-12)
    assert summary["expected_open_value"] == pytest.approx(ref["expected"], rel=1e-9)


@pytest.fixture(scope="module")
def synthetic() -> tuple[salesperf.synth.SyntheticCompany, salesperf.EventLog, salesperf.Timelines]:
    company = salesperf.synth.company(events=30_000, seed=11)
    log = company.event_log()
    model = company.stage_model(stall_after="45d", close_stalled_after="30d")
    return company, log, model.run(log)


def test_organisation_and_every_rep_equal_the_numpy_chain(synthetic: Any) -> None:
    _, log, timelines = synthetic
    f = salesperf.funnel(log, timelines, by="rep")
    owners = units_by_owner(log.to_pandas())
    check(f, reference(timelines, owners, None), None)
    for rep in f.units:
        check(f, reference(timelines, owners, rep), rep)
    # Closer to the end of the funnel, likelier to win (the generator's odds say so).
    assert (f.stages()["win_probability"].diff().dropna() > 0).all()


def test_by_segment_and_the_accounting(synthetic: Any) -> None:
    _, log, timelines = synthetic
    f = salesperf.funnel(log, timelines, by="segment")
    segments = units_by_dimension(log.to_pandas(), "segment")
    for seg in f.units:
        check(f, reference(timelines, segments, seg), seg)
    assert int(f.moves().to_numpy().sum()) + f.ignored == len(timelines.transitions)
    assert f.ignored == int((timelines.transitions["from_stage"].isna()).sum())  # only first entries here


def test_merge_of_deal_splits_equals_the_whole_and_bytes_round_trip(synthetic: Any) -> None:
    company, log, timelines = synthetic
    events = company.events
    deals = events["deal"].astype(str).unique()
    rng = np.random.default_rng(3)
    groups = rng.integers(0, 3, size=len(deals))
    model = company.stage_model(stall_after="45d", close_stalled_after="30d")
    whole = salesperf.funnel(log, timelines, by="rep")
    parts = []
    for g in range(3):
        sub = events[events["deal"].astype(str).isin(set(deals[groups == g]))]
        part_log = salesperf.EventLog.from_pandas(sub, vocabulary=company.vocabulary)
        parts.append(salesperf.funnel(part_log, model.run(part_log, as_of=timelines.as_of), by="rep"))
    merged = parts[2] + parts[0] + parts[1]
    assert merged == whole
    assert merged.to_bytes() == whole.to_bytes()
    back = pickle.loads(pickle.dumps(whole))
    assert back == whole and back.to_bytes() == whole.to_bytes()
    data = whole.to_bytes()
    for cut in (0, 7, 20, len(data) // 2, len(data) - 1):
        with pytest.raises(salesperf.errors.DataLossError):
            salesperf.Funnel.from_bytes(data[:cut])


def test_bpic2012_chain_equals_numpy() -> None:
    try:
        datasets.bpic2012_path()
    except FileNotFoundError as e:
        pytest.skip(f"BPIC 2012 data not available: {e}")
    log = datasets.load_bpic2012()
    timelines = datasets.bpic2012_stage_model().run(log)
    f = salesperf.funnel(log, timelines, by=None)
    check(f, reference(timelines, pd.Series("all", index=timelines.deals.index), None), None)
    assert int(f.moves().to_numpy().sum()) + f.ignored == len(timelines.transitions)


def test_errors() -> None:
    company = salesperf.synth.company(events=3_000, seed=1)
    log = company.event_log()
    other = company.event_log()
    timelines = company.stage_model().run(log)
    with pytest.raises(salesperf.errors.InvalidArgumentError, match="another log"):
        salesperf.funnel(other, timelines)
    f = salesperf.funnel(log, timelines)
    with pytest.raises(salesperf.errors.InvalidArgumentError, match="no unit"):
        f.stages("nobody")
