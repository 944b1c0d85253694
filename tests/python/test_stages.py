"""StageModel and Timelines from Python: file forms, errors, and results checked
against pandas counts written here."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import salesperf
from salesperf.errors import InvalidArgumentError

LADDER = [("Lead", "opportunity_created"), ("Engaged", "reply"), ("Qualified", "state_need"),
          ("Budget", "share_budget"), ("Proposal", "request_proposal"), ("Commit", "verbal_commit")]


def ladder(**kwargs: object) -> salesperf.StageModel:
    return salesperf.StageModel(
        stages=[{"name": n, "rules": [{"any": [a]}]} for n, a in LADDER],
        won=[{"any": ["sign"]}], lost=[{"any": ["decline"]}], **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def company_log() -> salesperf.EventLog:
    return salesperf.synth.company(events=60_000, seed=4).event_log()


def test_three_ways_to_declare_give_one_model(tmp_path: Path) -> None:
    model = ladder(regression="record", regress=[{"any": ["decline"], "to": "Engaged"}],
                   close_stalled_after="30d")
    d = model.to_dict()
    assert d["regression"] == "record" and d["close_stalled_after"] == "30d"
    assert salesperf.StageModel.from_dict(d) == model
    assert salesperf.StageModel.from_json(model.to_json()) == model
    assert salesperf.StageModel.from_toml(model.to_toml()) == model
    path = tmp_path / "model.toml"
    path.write_text(model.to_toml())
    assert salesperf.StageModel.from_toml(path) == model
    json_path = tmp_path / "model.json"
    json_path.write_text(json.dumps(d))
    assert salesperf.StageModel.from_json(str(json_path)) == model
    assert repr(model).startswith("StageModel(6 stages: Lead, Engaged")
    # pickles (to Dask and Spark workers) as the same model, policies and stall rules included
    again = pickle.loads(pickle.dumps(model))
    assert again == model and again.to_dict() == d and again is not model
    assert "<table>" in model._repr_html_()


def test_bad_models_raise_clear_errors(company_log: salesperf.EventLog) -> None:
    with pytest.raises(InvalidArgumentError, match="ordering"):
        ladder(ordering="sideways")
    seller = salesperf.StageModel(stages=[{"name": "Worked", "rules": [{"any": ["call"]}]}])
    with pytest.raises(InvalidArgumentError,
                       match=r"stage 'Worked', rule 1 \(any\): action 'call' is a seller action"):
        seller.run(company_log)
    with pytest.raises(InvalidArgumentError):
        salesperf.StageModel.from_json('{"version": 1, "stages": [')
    with pytest.raises(InvalidArgumentError, match="tz-aware"):
        ladder().run(company_log, as_of="2025-01-01")


def test_stage_counts_match_pandas(company_log: salesperf.EventLog) -> None:
    timelines = ladder().run(company_log)
    events = company_log.to_pandas()
    # The generator climbs the ladder one stage at a time and closes each deal at most
    # once, so a deal enters a stage exactly when it has that stage's action.
    for stage, action in [*LADDER, ("Won", "sign"), ("Lost", "decline")]:
        expected = events.loc[events["action"] == action, "deal"].nunique()
        assert timelines.stage_counts().loc[stage, "deals_entered"] == expected, stage
    deals = timelines.deals
    won = set(events.loc[events["action"] == "sign", "deal"].astype(str))
    assert set(deals.index[deals["outcome"] == "won"].astype(str)) == won
    assert (deals.loc[deals["outcome"] == "lost", "lost_reason"] == "decline").all()
    # Each deal's value is its last amount (pandas: the last non-missing per deal).
    last = events.dropna(subset=["amount"]).groupby("deal", observed=True)["amount"].last()
    assert np.allclose(deals["value"].to_numpy(), last.loc[deals.index].to_numpy())


def test_transitions_agree_with_deals_and_entries(company_log: salesperf.EventLog) -> None:
    t = ladder().run(company_log)
    tr = t.transitions
    closing = tr[tr["kind"].isin(["won", "lost"])].groupby("deal")["kind"].last().astype(str)
    outcome = t.deals["outcome"].astype(str)
    assert (outcome.loc[closing.index] == closing).all()
    first = tr.groupby(["deal", "to_stage"])["time"].min().unstack()
    entered = t.entered.copy()
    entered.index = entered.index.astype(str)
    for stage in first.columns:
        got = entered.loc[first.index, stage]
        assert (got.dropna() == first[stage].dropna()).all()


def test_threads_and_warnings(company_log: salesperf.EventLog) -> None:
    a = ladder().run(company_log, threads=1)
    b = ladder().run(company_log, threads=2)
    pd.testing.assert_frame_equal(a.transitions, b.transitions)
    pd.testing.assert_frame_equal(a.entered, b.entered)
    partial = salesperf.StageModel(stages=[{"name": "Engaged", "rules": [{"any": ["reply"]}]}])
    warnings = partial.compile(company_log).warnings
    assert any("'state_need'" in w for w in warnings)
    assert repr(a).startswith("Timelines(")


def test_stalls_with_as_of(company_log: salesperf.EventLog) -> None:
    model = salesperf.StageModel(
        stages=[{"name": n, "rules": [{"any": [a]}]} for n, a in LADDER[:2]]
        + [{"name": "Qualified", "rules": [{"any": ["state_need"]}], "stall": "10d"}])
    t = model.run(company_log, as_of=pd.Timestamp("2030-01-01", tz="UTC"))
    assert t.as_of == pd.Timestamp("2030-01-01", tz="UTC")
    deals = t.deals
    in_qualified = deals["current_stage"] == "Qualified"
    assert (deals.loc[in_qualified, "outcome"] == "stalled").all()
    assert t.stall_limits["Qualified"] == pd.Timedelta(days=10)
    since = deals.loc[in_qualified, "outcome_time"] - deals.loc[in_qualified, "quiet_since"]
    assert (since == pd.Timedelta(days=10)).all()
