"""The BPIC 2012 loan-application log (salesperf.datasets), checked against pandas.

Every expected number is computed here from the raw CSV with pandas, independently
of salesperf's ingestion; the data README's published counts are checked too.
Data: BPI Challenge 2012, B.F. van Dongen, 4TU.ResearchData,
doi:10.4121/uuid:3926db30-f712-4394-aebc-75976070e91f.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import salesperf
from salesperf import datasets

DEAL, TIME, ACTION, REP, AMOUNT, LIFECYCLE = (
    "case:concept:name", "time:timestamp", "concept:name", "org:resource", "case:AMOUNT_REQ",
    "lifecycle:transition")
BUYER = {"A_SUBMITTED", "O_SENT_BACK", "A_CANCELLED"}


def _actor(action: str) -> str | None:
    """The vocabulary rules, written out again: name, then the longest prefix."""
    if action in BUYER:
        return "buyer"
    if action.startswith("W_"):
        return "seller"
    if action.startswith(("A_", "O_")):
        return "system"
    return None


@pytest.fixture(scope="module")
def path() -> Path:
    try:
        return datasets.bpic2012_path()
    except FileNotFoundError as e:
        pytest.skip(f"BPIC 2012 data absent (../shared/data/bpic2012): {e}")


@pytest.fixture(scope="module")
def raw(path: Path) -> pd.DataFrame:
    """The raw CSV parsed by pandas; empty cells are NaN."""
    frame = pd.read_csv(path, dtype=str)
    frame["utc"] = pd.to_datetime(frame[TIME], utc=True, format="ISO8601")
    frame["amount"] = pd.to_numeric(frame[AMOUNT])
    return frame


@pytest.fixture(scope="module")
def expected_rejects(raw: pd.DataFrame) -> pd.Series:
    """The reason each raw row should be rejected for (first failing check), by row."""
    reasons = pd.Series(pd.NA, index=raw.index, dtype="string")

    def mark(mask: pd.Series, reason: str) -> None:
        reasons[mask & reasons.isna()] = reason

    mark(raw[DEAL].isna(), "null_deal")
    mark(raw[TIME].isna(), "null_time")
    mark(raw[TIME].notna() & raw["utc"].isna(), "unparseable_time")
    mark(raw[ACTION].isna(), "null_action")
    mark(raw[ACTION].notna() & raw[ACTION].map(_actor).isna(), "unknown_action")
    mark(raw["amount"] < 0, "negative_amount")
    # Exact duplicates: equal in every ingested column; the first row is kept.
    ingested = [DEAL, "utc", ACTION, REP, "amount", LIFECYCLE]
    ok = reasons.isna()
    dup = raw.loc[ok, ingested].duplicated(keep="first")
    mark(dup.reindex(raw.index, fill_value=False), "duplicate_event")
    return reasons.dropna()


@pytest.fixture(scope="module")
def accepted(raw: pd.DataFrame, expected_rejects: pd.Series) -> pd.DataFrame:
    return raw.drop(index=expected_rejects.index)


@pytest.fixture(scope="module")
def log(path: Path) -> salesperf.EventLog:
    return datasets.load_bpic2012(path)


@pytest.fixture(scope="module")
def events(log: salesperf.EventLog) -> pd.DataFrame:
    return log.to_pandas()


def test_accounting(log: salesperf.EventLog, raw: pd.DataFrame,
                    expected_rejects: pd.Series) -> None:
    rep = log.report
    assert rep.rows_in == len(raw) == 262_200
    assert rep.rows_in == rep.rows_accepted + rep.rows_rejected
    assert rep.rows_rejected == len(expected_rejects)
    by_reason = dict(zip(rep.by_reason["reason"], rep.by_reason["rows"].astype(int)))
    expected = expected_rejects.value_counts().to_dict()
    assert {r: n for r, n in by_reason.items() if n} == expected
    rejected = rep.rejected
    assert rejected["row"].tolist() == sorted(expected_rejects.index)
    assert rejected["reason"].astype(str).tolist() == \
        expected_rejects.sort_index().astype(str).tolist()
    assert rep.unknown_actions == {}
    assert len(log) == rep.rows_accepted


def test_time_is_utc_normalised(events: pd.DataFrame, raw: pd.DataFrame) -> None:
    assert events["time"].dtype == "datetime64[ns, UTC]"
    # Every event against pandas' own parsing of its input row.
    expected = raw["utc"].to_numpy()[events["row"].to_numpy()]
    assert (events["time"].to_numpy() == expected).all()
    # A few rows by hand, across the DST change (+02:00 in October, +01:00 in winter).
    by_row = events.set_index("row")["time"]
    for row in (0, 1, len(raw) // 2, len(raw) - 1):
        text = raw[TIME].iloc[row]
        assert by_row.loc[row] == pd.to_datetime(text, utc=True), text
    assert raw[TIME].iloc[0] == "2011-10-01T00:38:44.546+02:00"
    assert by_row.loc[0] == pd.Timestamp("2011-09-30 22:38:44.546", tz="UTC")
    offsets = set(raw[TIME].str[-6:])
    assert {"+01:00", "+02:00"} <= offsets


def test_sorted_by_deal_then_time(log: salesperf.EventLog) -> None:
    deal = np.asarray(log.codes("deal"))
    time = np.asarray(log.time_ns)
    assert (np.diff(deal) >= 0).all()
    same = np.diff(deal) == 0
    assert (np.diff(time)[same] >= 0).all()


def test_counts_per_action(log: salesperf.EventLog, accepted: pd.DataFrame) -> None:
    got = dict(zip(log.actions["action"], log.actions["events"].astype(int)))
    assert got == accepted[ACTION].value_counts().to_dict()
    # The data README's numbers for the buyer's actions.
    assert got["A_SUBMITTED"] == 13_087
    assert got["O_SENT_BACK"] == 3_454
    assert got["A_CANCELLED"] == 2_807


def test_deals(log: salesperf.EventLog, accepted: pd.DataFrame) -> None:
    assert log.num_deals == accepted[DEAL].nunique() == 13_087
    assert log.report.deals == log.num_deals


def test_events_per_actor(events: pd.DataFrame, accepted: pd.DataFrame) -> None:
    expected = accepted[ACTION].map(_actor).value_counts().to_dict()
    got = events["actor"].astype(str).value_counts().to_dict()
    assert got == expected
    assert set(got) == {"buyer", "seller", "system"}


def test_reps(events: pd.DataFrame, accepted: pd.DataFrame) -> None:
    assert events["rep"].nunique() == accepted[REP].nunique()
    assert set(events["rep"].dropna().astype(str)) == set(accepted[REP].dropna())
    assert "112" in set(events["rep"].dropna().astype(str))  # the automated user


def test_empty_resource_keeps_a_null_rep(events: pd.DataFrame, raw: pd.DataFrame,
                                         accepted: pd.DataFrame) -> None:
    assert raw[REP].isna().sum() == 18_010  # the data README's number
    null_rep = events["rep"].isna()
    assert int(null_rep.sum()) == int(accepted[REP].isna().sum())
    assert raw[REP].iloc[events.loc[null_rep, "row"]].isna().all()
    # ... and they are work items, the seller's activities.
    assert (events.loc[null_rep, "action"].astype(str).str.startswith("W_")).all()


def test_amount_and_lifecycle_per_row(events: pd.DataFrame, raw: pd.DataFrame) -> None:
    rows = events["row"].to_numpy()
    assert (events["amount"].to_numpy() == raw["amount"].to_numpy()[rows]).all()
    assert (events[LIFECYCLE].astype(str).to_numpy() == raw[LIFECYCLE].to_numpy()[rows]).all()
    assert set(events[LIFECYCLE].astype(str)) == {"SCHEDULE", "START", "COMPLETE"}


def test_vocabulary() -> None:
    v = datasets.bpic2012_vocabulary()
    assert v.actions == {a: "buyer" for a in ("A_SUBMITTED", "O_SENT_BACK", "A_CANCELLED")}
    assert v.prefixes == {"W_": "seller", "A_": "system", "O_": "system"}
    assert v.resolve("W_Beoordelen fraude") == "seller"
    assert v.resolve("A_DECLINED") == "system"
    assert v.resolve("X_OTHER") is None


def test_citation() -> None:
    assert "van Dongen" in datasets.BPIC2012_CITATION
    assert "doi:10.4121/uuid:3926db30-f712-4394-aebc-75976070e91f" in datasets.BPIC2012_CITATION


def test_env_var_overrides_the_data_folder(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"SALESPERF_SHARED_DATA") as info:
        datasets.bpic2012_path()
    assert str(tmp_path) in str(info.value)
    (tmp_path / "bpic2012").mkdir()
    (tmp_path / "bpic2012" / "events.csv.gz").write_bytes(b"")
    assert datasets.bpic2012_path() == tmp_path / "bpic2012" / "events.csv.gz"
