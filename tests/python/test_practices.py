"""salesperf.practices: the questionnaire scores against a pandas computation of the
scoring rules, the data signals against pandas computations written from the
definitions in salesperf/practices.h, and the leak attribution re-derived from the
leak table with pandas.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import salesperf
from salesperf.errors import InvalidArgumentError
from salesperf.practices import PRACTICES

DAY = pd.Timedelta(days=1)
YEAR = pd.Timedelta(days=365)


@pytest.fixture(scope="module")
def company() -> Any:
    co = salesperf.synth.company(events=120_000, seed=21)
    log = co.event_log()
    return co, log, co.stage_model(stall_after="45d", close_stalled_after="30d").run(log)


def test_questionnaire_matches_pandas() -> None:
    inst = salesperf.Instrument.default()
    answers = salesperf.synth.survey(seed=5, managers=3, reps=9, dont_know=0.1)
    # a respondent answering only one statement, to make equal weighting matter
    answers = pd.concat([answers, pd.DataFrame({"respondent": ["lone"], "role": ["rep"], "statement": ["dt1"],
                                                "value": [5.0]})], ignore_index=True)
    got = salesperf.score_answers(answers, inst).practices()
    st = inst.statements
    a = answers.dropna(subset=["value"]).join(st[["practice", "reverse"]], on="statement")
    lo, hi = inst.scale
    a["points"] = 100 * (a["value"] - lo) / (hi - lo)
    a.loc[a["reverse"], "points"] = 100 - a.loc[a["reverse"], "points"]
    per_resp = a.groupby(["practice", "respondent", "role"])["points"].mean().reset_index()
    want = per_resp.groupby("practice")["points"].mean()
    by_role = per_resp.groupby(["practice", "role"])["points"].mean().unstack()
    np.testing.assert_allclose(got.loc[want.index, "score"], want, rtol=1e-12)
    np.testing.assert_allclose(got.loc[want.index, "manager_score"], by_role["manager"], rtol=1e-12)
    np.testing.assert_allclose(got.loc[want.index, "rep_score"], by_role["rep"], rtol=1e-12)
    np.testing.assert_allclose(got.loc[want.index, "disagreement"], by_role["manager"] - by_role["rep"], rtol=1e-12)
    assert (got["disagree"] == ((got["disagreement"]).abs() >= 25)).all()
    dk = answers[answers["value"].isna()].join(st["practice"], on="statement").groupby("practice").size()
    assert (got["dont_know"] == dk.reindex(got.index, fill_value=0)).all()
    # and the survey's managers are rosier, as generated
    assert (got["disagreement"] > 0).mean() >= 0.7


def test_answer_errors_name_the_row() -> None:
    bad = pd.DataFrame({"respondent": ["a", "b"], "role": ["rep", "rep"], "statement": ["cr1", "zz9"],
                        "value": [3, 4]})
    with pytest.raises(InvalidArgumentError, match="row 1.*zz9|zz9.*row 1"):
        salesperf.score_answers(bad)
    off = bad.assign(statement=["cr1", "cr2"], value=[3, 7])
    with pytest.raises(InvalidArgumentError, match="row 1"):
        salesperf.score_answers(off)
    with pytest.raises(InvalidArgumentError, match="column 'value'"):
        salesperf.score_answers(bad.drop(columns=["value"]))


def test_instrument_round_trip_and_errors(tmp_path: Any) -> None:
    inst = salesperf.Instrument.default()
    path = tmp_path / "mine.toml"
    path.write_text(salesperf.Instrument.default_text())
    assert salesperf.Instrument.from_file(path) == inst
    broken = salesperf.Instrument.default_text().replace('id = "cr2"', 'id = "cr1"')
    with pytest.raises(InvalidArgumentError, match="cr1"):
        salesperf.Instrument.from_text(broken)
    assert list(inst.practices.index) == list(PRACTICES)


def _signal(s: pd.DataFrame, name: str) -> pd.Series:
    return s.set_index("signal").loc[name]


def test_signals_match_pandas(company: Any) -> None:
    co, log, tl = company
    s = salesperf.practice_signals(log, tl, support_stages=["Proposal"], qualification_stage="Qualified")
    assert list(s["practice"].unique()) == list(PRACTICES)
    ev = log.to_pandas()
    deals = tl.deals
    as_of = tl.as_of

    # stalled share: of open deals, the stalled ones
    open_ = deals["outcome"].astype(str).isin(["open", "stalled"])
    row = _signal(s, "stalled_share")
    assert row["cases"] == open_.sum()
    assert row["value"] == pytest.approx((deals["outcome"].astype(str) == "stalled").sum() / open_.sum(), rel=1e-12)
    assert row["score"] == pytest.approx(100 * (1 - row["value"]), rel=1e-12)

    # buyer-defined stages: entries into open stages made by a buyer action
    open_names = tl.stage_names[:-2]
    tr = tl.transitions
    into = tr[tr["to_stage"].isin(open_names) & tr["action"].notna()]
    actor = ev.drop_duplicates("action").set_index("action")["actor"].astype(str)
    row = _signal(s, "buyer_defined_stages")
    assert row["cases"] == len(into)
    assert row["value"] == pytest.approx((into["action"].map(actor) == "buyer").mean(), rel=1e-12)

    # late losses: of deals lost (not for stalling), those lost at or after Qualified
    lost = deals[(deals["outcome"].astype(str) == "lost") & (deals["lost_reason"] != "stalled")]
    q = open_names.index("Qualified")
    late = lost["current_stage"].map(lambda x: x is not None and open_names.index(x) >= q)
    row = _signal(s, "late_losses")
    assert row["cases"] == len(lost)
    assert row["value"] == pytest.approx(late.mean(), rel=1e-12)

    # support wait: median days of completed visits to Proposal (consecutive transitions)
    nxt = tr.groupby("deal", sort=False).shift(-1)
    visit = (tr["to_stage"] == "Proposal") & (nxt["from_stage"] == "Proposal")
    days = ((nxt["time"] - tr["time"])[visit]).dt.total_seconds() / 86_400
    row = _signal(s, "support_wait")
    assert row["cases"] == len(days)
    assert row["value"] == pytest.approx(float(np.median(days)), rel=1e-9)

    # no day off: the longest run of UTC days with seller activity, per rep
    sel = ev[(ev["actor"].astype(str) == "seller") & ev["rep"].notna() & (ev["time"] <= as_of)]
    day = pd.Series(sel["time"].dt.tz_convert(None).to_numpy().astype("datetime64[D]").astype(np.int64),
                    index=sel.index)
    runs = {}
    for rep, d in day.groupby(sel["rep"].astype(str)):
        u = np.unique(d.to_numpy())
        if len(u) < 10:
            continue
        breaks = np.flatnonzero(np.diff(u) != 1)
        lengths = np.diff(np.concatenate([[-1], breaks, [len(u) - 1]]))
        runs[rep] = lengths.max()
    row = _signal(s, "no_day_off_stretches")
    assert row["cases"] == len(runs)
    assert row["value"] == pytest.approx(np.mean([r > 12 for r in runs.values()]), rel=1e-12)

    # retention: accounts with a win at or before as_of - 365 d; share with a win since
    won = deals[deals["outcome"].astype(str) == "won"]
    account = ev.groupby("deal", observed=True)["account"].first()
    wins = pd.DataFrame({"account": won.index.map(account), "t": won["outcome_time"]})
    customers = set(wins.loc[wins["t"] <= as_of - YEAR, "account"])
    recent = set(wins.loc[(wins["t"] > as_of - YEAR) & (wins["t"] <= as_of), "account"])
    row = _signal(s, "retained_customers")
    assert row["cases"] == len(customers)
    assert row["value"] == pytest.approx(len(customers & recent) / len(customers), rel=1e-12)

    # every signal speaks here, with a score in range
    assert s["speaks"].all()
    assert s["score"].between(0, 100).all()


def test_a_log_without_reps_or_accounts_says_so(company: Any) -> None:
    co, _, _ = company
    ev = co.events.drop(columns=["rep", "account"])
    log = salesperf.EventLog.from_pandas(ev, vocabulary=co.vocabulary)
    tl = co.stage_model(stall_after="45d").run(log)
    s = salesperf.practice_signals(log, tl)
    silent = s.set_index("signal")
    for name in ("retained_customers", "expansion_rate", "no_day_off_stretches", "non_productive_share"):
        assert not silent.loc[name, "speaks"]
        assert np.isnan(silent.loc[name, "score"])
        assert silent.loc[name, "reason"]
    assert not silent.loc["support_wait", "speaks"]  # no support stage named


def test_attribution_rederived_from_the_leak_table(company: Any) -> None:
    co, log, tl = company
    lk = salesperf.leaks(log, tl, by="rep", disqualify=["decline"])
    weak = ["rep-03"]
    a = salesperf.practices(log, tl, leaks=lk, qualification_stage="Qualified", support_stages=["Proposal"],
                            non_productive_units=weak)
    t = lk.table()
    reasons = lk.reasons()
    stalled_lost = reasons[reasons["reason"] == "(stalled)"].set_index(["unit", "stage"])["deals"]
    open_names = lk.stage_names
    want: dict[str, float] = {}
    for r in t[t["shrunk_dollars"] > 0].itertuples():
        d = r.shrunk_dollars
        k = open_names.index(str(r.stage))
        if str(r.unit) in weak:
            parts = {"non_productive_sales_reps": 1.0}
        elif str(r.stage) == "Proposal":
            parts = {"sales_support": 1.0}
        elif k < open_names.index("Qualified"):
            parts = {"qualifying_account_criteria": 1.0}
        else:
            st = stalled_lost.get((str(r.unit), str(r.stage)), 0)
            failed = r.lost + r.disqualified + r.stalled
            if failed == 0:
                parts = {"advanced_sales_metrics": 1.0}
            else:
                parts = {"pipeline_management_and_forecasting": (r.stalled + st) / failed,
                         "qualifying_account_criteria": r.disqualified / failed,
                         "advanced_sales_metrics": (r.lost - st) / failed}
        for p, share in parts.items():
            want[p] = want.get(p, 0.0) + d * share
    got = a.table()["leak_dollars"]
    for p in got.index:
        assert got[p] == pytest.approx(want.get(p, 0.0), rel=1e-9, abs=1e-6), p
    assert a.attributed_dollars == pytest.approx(t.loc[t["shrunk_dollars"] > 0, "shrunk_dollars"].sum(), rel=1e-12)
    ranks = a.table().sort_values("rank")["leak_dollars"].to_numpy()
    assert (np.diff(ranks) <= 1e-9).all()
    # the data score is the mean of the signals that speak
    s = a.signals[a.signals["speaks"]].groupby("practice")["score"].mean()
    np.testing.assert_allclose(a.table().loc[s.index, "data_score"], s, rtol=1e-12)
