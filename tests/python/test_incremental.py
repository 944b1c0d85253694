"""Nightly batches: EventLog.append + Timelines.update give exactly a full recompute,
recomputing only the deals the batch touched."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import salesperf
from salesperf.errors import FailedPreconditionError, InvalidArgumentError

DIMS = ["segment", "territory"]


def model(percentile: bool = False) -> salesperf.StageModel:
    stall: object = {"percentile": 80} if percentile else "20d"
    return salesperf.StageModel(
        stages=[
            {"name": "Lead", "rules": [{"any": ["opportunity_created"]}]},
            {"name": "Engaged", "rules": [{"distinct_contacts": ["reply"], "min": 1, "within": "30d"}],
             "window": "20d", "stall": "15d"},
            {"name": "Qualified", "rules": [{"all": [["state_need"], ["reply"]], "within": "60d"}],
             "stall": stall},
            {"name": "Proposal", "rules": [{"sequence": [["share_budget"], ["request_proposal"]]}],
             "stall": "25d"},
        ],
        won=[{"any": ["sign"]}], lost=[{"any": ["decline"]}],
        regress=[{"any": ["share_budget"], "to": "Engaged"}],
        regression="record", reopen="allow", close_stalled_after="10d")


def canonical(t: salesperf.Timelines) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    deals = t.deals.copy()
    deals.index = deals.index.astype(str)
    deals["outcome"] = deals["outcome"].astype(str)
    entered = t.entered.copy()
    entered.index = entered.index.astype(str)
    tr = t.transitions.copy()
    tr["deal"] = tr["deal"].astype(str)
    tr["kind"] = tr["kind"].astype(str)
    # Deal codes differ between a full ingest and an appended log: compare by label,
    # keeping each deal's own transition order.
    tr = tr.assign(n=tr.groupby("deal").cumcount()).sort_values(["deal", "n"]).reset_index(drop=True)
    return deals.sort_index(), entered.sort_index(), tr


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return salesperf.synth.company(events=40_000, seed=12).events


@pytest.mark.parametrize("cut", ["2024-09-01", "2025-06-15", "2025-12-20"])
def test_update_equals_full_recompute(events: pd.DataFrame, cut: str) -> None:
    t_cut = pd.Timestamp(cut, tz="UTC")
    base_ev = events[events["time"] < t_cut]
    # The batch repeats the base's last day: those rows must be recognised as present.
    batch_ev = events[events["time"] >= t_cut - pd.Timedelta(days=1)]
    base = salesperf.EventLog.from_pandas(base_ev, dimensions=DIMS)
    batch = salesperf.EventLog.from_pandas(batch_ev, dimensions=DIMS)
    grown = base.append(batch)
    full = salesperf.EventLog.from_pandas(events, dimensions=DIMS)

    overlap = batch_ev["time"] < t_cut
    assert grown.duplicate_rows is not None and len(grown.duplicate_rows) == int(overlap.sum())
    assert len(grown) == len(full) == len(events)
    touched = {str(grown.dictionary("deal")[d]) for d in np.asarray(grown.touched_deals)}
    assert touched == set(batch_ev.loc[~overlap, "deal"].astype(str))

    m = model()
    previous = m.run(base)
    updated = previous.update(grown)
    recomputed = m.run(full)
    a, b = canonical(updated), canonical(recomputed)
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    pd.testing.assert_frame_equal(a[2], b[2])
    # Something happened in between: stalls were judged again, deals were closed.
    assert (updated.deals["outcome"] != previous.deals["outcome"].reindex(updated.deals.index)).any()


def test_update_refuses_what_it_cannot_do_exactly(events: pd.DataFrame) -> None:
    t_cut = pd.Timestamp("2025-01-01", tz="UTC")
    base = salesperf.EventLog.from_pandas(events[events["time"] < t_cut], dimensions=DIMS)
    batch = salesperf.EventLog.from_pandas(events[events["time"] >= t_cut], dimensions=DIMS)
    previous = model(percentile=True).run(base)
    with pytest.raises(FailedPreconditionError, match="percentile"):
        previous.update(base.append(batch))
    with pytest.raises(InvalidArgumentError, match="append"):
        model().run(base).update(batch)
    other = salesperf.EventLog.from_pandas(events[events["time"] >= t_cut])
    with pytest.raises(InvalidArgumentError, match="dimension"):
        base.append(other)
