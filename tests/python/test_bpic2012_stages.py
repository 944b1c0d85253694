"""The BPIC 2012 buyer-behaviour funnel: stage counts against pandas, computed here
from the raw CSV without salesperf.

Data: BPI Challenge 2012, B.F. van Dongen, 4TU.ResearchData,
doi:10.4121/uuid:3926db30-f712-4394-aebc-75976070e91f.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesperf import datasets

STAGES = ["A_SUBMITTED", "A_PREACCEPTED", "A_ACCEPTED", "O_SENT", "O_SENT_BACK"]
WON, LOST = {"A_APPROVED"}, {"A_DECLINED", "A_CANCELLED"}


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    try:
        path = datasets.bpic2012_path()
    except FileNotFoundError as e:
        pytest.skip(f"BPIC 2012 data not available: {e}")
    df = pd.read_csv(path, dtype=str)
    df["t"] = pd.to_datetime(df["time:timestamp"], utc=True, format="ISO8601")
    df["row"] = np.arange(len(df))
    # Log order: by case, then time, then input row. (Dropping exact duplicates does
    # not matter here: the data has none once the lifecycle column is kept.)
    return df.sort_values(["case:concept:name", "t", "row"], kind="stable").reset_index(drop=True)


def expected_funnel(df: pd.DataFrame) -> tuple[list[int], int, int, dict[str, int]]:
    """Strict ordering with `any` rules, terminal rules from any stage, latch, no reopen:
    stage k is entered at the first stage-k event after stage k-1's entry and before
    the deal's first terminal event; the first terminal event decides won / lost."""
    df = df.assign(pos=np.arange(len(df)))
    case = "case:concept:name"
    action = df["concept:name"]
    terminal = df[action.isin(WON | LOST)].groupby(case)["pos"].min()
    close = df[case].map(terminal).fillna(np.inf)
    entered = []
    prev = pd.Series(-1.0, index=df[case].unique())  # position of the previous entry
    for k, stage_action in enumerate(STAGES):
        after = df[case].map(prev)
        hits = df[(action == stage_action) & (df["pos"] > after) & (df["pos"] < close)]
        first = hits.groupby(case)["pos"].min()
        entered.append(len(first))
        prev = pd.Series(np.inf, index=prev.index)
        prev.loc[first.index] = first.astype(float)
    first_terminal = df.loc[terminal.to_numpy(), ["concept:name"]]
    won = int(first_terminal["concept:name"].isin(WON).sum())
    lost_by = first_terminal[first_terminal["concept:name"].isin(LOST)]["concept:name"].value_counts()
    return entered, won, int(lost_by.sum()), {str(k): int(v) for k, v in lost_by.items()}


def test_bpic2012_funnel_matches_pandas(raw: pd.DataFrame) -> None:
    log = datasets.load_bpic2012()
    timelines = datasets.bpic2012_stage_model().run(log)
    entered, won, lost, lost_by = expected_funnel(raw)
    counts = timelines.stage_counts()["deals_entered"]
    assert counts.loc[["Submitted", "PreAccepted", "Accepted", "OfferSent", "OfferReturned"]].tolist() \
        == entered
    deals = timelines.deals
    assert int((deals["outcome"] == "won").sum()) == won == counts.loc["Won"]
    assert int((deals["outcome"] == "lost").sum()) == lost == counts.loc["Lost"]
    assert deals["lost_reason"].value_counts().to_dict() == lost_by
    # Every application is submitted, and the open ones are the rest.
    assert entered[0] == raw["case:concept:name"].nunique() == 13_087
    assert int((deals["outcome"] == "open").sum()) == 13_087 - won - lost
    # Seller work items are effort, not progress: no transition is caused by one.
    assert not timelines.transitions["action"].astype(str).str.startswith("W_").any()
