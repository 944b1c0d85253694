"""CRM snapshots to events (salesperf.crm) and the Maven CRM export (salesperf.datasets)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import salesperf
from salesperf import crm, datasets
from salesperf.errors import ColumnNotFoundError, InvalidArgumentError

STAGES = ["Lead", "Qualified", "Proposal"]
DATES = {"Qualified": "qualified_on", "Proposal": "proposal_on"}
NA = pd.NA


def _snapshot() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["W1", "L1", "L2", "O1", "O2", "W2", "W3"],
            "stage": ["Won", "Lost", "Lost", "Qualified", "Lead", "Won", "Won"],
            "qualified_on": ["2024-01-10", None, None, "2024-05-02", None, "2024-03-15",
                             "2024-02-02"],
            "proposal_on": [None, "2024-03-05", None, None, None, "2024-03-01", None],
            "closed_on": ["2024-02-01", "2024-03-20", "2024-04-01", None, None, "2024-03-10",
                          None],
            "value": [1000.0, 0.0, 0.0, np.nan, np.nan, 250.0, 90.0],
            "owner": ["Ann", "Ann", "Bo", "Bo", "Cy", "Cy", "Ann"],
            "account": ["Acme", "Acme", "Initech", None, "Hooli", "Acme", "Umbrella"],
            "region": ["EU", "EU", "US", "US", "EU", "US", "EU"],
            "ignored": list("abcdefg"),
        }
    )


def _convert(snap: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
    options: dict[str, object] = dict(
        deal="id", stage="stage", stages=STAGES, stage_dates=DATES, close_date="closed_on",
        value="value", owner="owner", account="account", dimensions=["region"],
        as_of="2024-06-30")
    options.update(kwargs)
    return crm.snapshot_to_events(snap, **options)  # type: ignore[arg-type]


# Derived by hand from the rules in crm.py's docstring, row by row.
EXPECTED = [
    # W1 won: every stage; Lead has no date column -> the earliest later known date (Qualified's);
    # Proposal has no date -> the close date.
    ("W1", "2024-01-10", "reached:Lead", 1000.0, 0),
    ("W1", "2024-01-10", "reached:Qualified", 1000.0, 0),
    ("W1", "2024-02-01", "reached:Proposal", 1000.0, 0),
    ("W1", "2024-02-01", "won", 1000.0, 0),
    # L1 lost with Proposal's date filled: it passed Lead and Qualified on the way.
    ("L1", "2024-03-05", "reached:Lead", 0.0, 1),
    ("L1", "2024-03-05", "reached:Qualified", 0.0, 1),
    ("L1", "2024-03-05", "reached:Proposal", 0.0, 1),
    ("L1", "2024-03-20", "lost", 0.0, 1),
    # L2 lost with no stage date: only the first stage, at the close date.
    ("L2", "2024-04-01", "reached:Lead", 0.0, 2),
    ("L2", "2024-04-01", "lost", 0.0, 2),
    # O1 open in Qualified: up to Qualified; no value -> missing amount.
    ("O1", "2024-05-02", "reached:Lead", NA, 3),
    ("O1", "2024-05-02", "reached:Qualified", NA, 3),
    # O2 open in Lead with no date at all: as_of.
    ("O2", "2024-06-30", "reached:Lead", NA, 4),
    # W2: Proposal's date (03-01) is before Qualified's (03-15) and the close (03-10):
    # Lead takes the earliest later date (03-01), then times are made non-decreasing.
    ("W2", "2024-03-01", "reached:Lead", 250.0, 5),
    ("W2", "2024-03-15", "reached:Qualified", 250.0, 5),
    ("W2", "2024-03-15", "reached:Proposal", 250.0, 5),
    ("W2", "2024-03-15", "won", 250.0, 5),
    # W3 won without a close date: Proposal has no later date -> as_of; `won` stays null.
    ("W3", "2024-02-02", "reached:Lead", 90.0, 6),
    ("W3", "2024-02-02", "reached:Qualified", 90.0, 6),
    ("W3", "2024-06-30", "reached:Proposal", 90.0, 6),
    ("W3", None, "won", 90.0, 6),
]


def test_hand_made_snapshot_gives_the_events_derived_by_hand() -> None:
    snap = _snapshot()
    ev = _convert(snap)
    assert list(ev.columns) == ["deal", "time", "action", "actor", "rep", "account", "amount",
                                "region", "snapshot_row"]
    assert ev["time"].dtype == "datetime64[ns, UTC]"
    assert ev["amount"].dtype == "Float64"
    got = [
        (d, None if pd.isna(t) else t.strftime("%Y-%m-%d"), a,
         NA if pd.isna(v) else float(v), int(r))
        for d, t, a, v, r in zip(ev["deal"], ev["time"], ev["action"], ev["amount"],
                                 ev["snapshot_row"])
    ]
    assert got == EXPECTED
    assert (ev["time"].dropna().dt.hour == 0).all()  # dates at midnight UTC
    assert set(ev["actor"]) == {"buyer"}
    # Owner, account and dimensions are copied from the event's snapshot row.
    rows = ev["snapshot_row"].to_numpy()
    assert ev["rep"].tolist() == snap["owner"].to_numpy()[rows].tolist()
    assert ev["region"].tolist() == snap["region"].to_numpy()[rows].tolist()
    assert ev["account"].isna().sum() == 2  # O1's two events
    # Open deals' missing values are pd.NA (a missing amount), never a float NaN.
    assert ev["amount"].isna().sum() == 3
    assert not np.isnan(ev["amount"].dropna().to_numpy(dtype=float)).any()


def test_times_are_non_decreasing_within_each_deal() -> None:
    ev = _convert(_snapshot()).dropna(subset=["time"])
    for deal, times in ev.groupby("deal", sort=False)["time"]:
        assert list(times) == sorted(times), deal


def test_events_ingest_and_accounting_holds() -> None:
    ev = _convert(_snapshot())
    log = salesperf.EventLog.from_pandas(ev, dimensions=["region"])
    rep = log.report
    assert rep.rows_in == len(ev) == rep.rows_accepted + rep.rows_rejected
    # The only reject: W3's `won` with no close date, as null_time (never invented).
    assert rep.rows_rejected == 1
    rejected = rep.rejected
    assert rejected["reason"].tolist() == ["null_time"]
    row = int(rejected["row"].iloc[0])
    assert (ev.at[row, "deal"], ev.at[row, "action"]) == ("W3", "won")
    assert log.num_deals == 7
    assert log.vocabulary.actions == crm.snapshot_vocabulary(STAGES)
    out = log.to_pandas()
    # pd.NA amounts are missing amounts, not nan_amount rejects.
    assert out["amount"].isna().sum() == 3
    assert out["region"].astype(str).tolist() == ev["region"].iloc[out["row"]].tolist()


def test_vocabulary_companion_replaces_the_actor_column() -> None:
    ev = _convert(_snapshot(), stage_actor="seller", outcome_actor="buyer")
    assert set(ev.loc[ev["action"].str.startswith("reached:"), "actor"]) == {"seller"}
    assert set(ev.loc[ev["action"].isin(["won", "lost"]), "actor"]) == {"buyer"}
    vocab = crm.snapshot_vocabulary(STAGES, stage_actor="seller")
    assert vocab == {"reached:Lead": "seller", "reached:Qualified": "seller",
                     "reached:Proposal": "seller", "won": "buyer", "lost": "buyer"}
    log = salesperf.EventLog.from_pandas(ev.drop(columns="actor"), vocabulary=vocab,
                                         dimensions=["region"])
    assert log.report.unknown_actions == {}
    assert crm.stage_action("Lead") == "reached:Lead"


def test_bad_stage_label_names_row_and_value() -> None:
    snap = _snapshot()
    snap.loc[4, "stage"] = "Negotiation"
    with pytest.raises(InvalidArgumentError, match=r"row 4.*'stage'.*'Negotiation'") as info:
        _convert(snap)
    assert info.value.row == 4
    assert info.value.column == "stage"
    assert isinstance(info.value, ValueError)


def test_missing_stage_label_is_an_error_too() -> None:
    snap = _snapshot()
    snap.loc[2, "stage"] = None
    with pytest.raises(InvalidArgumentError, match=r"row 2.*missing"):
        _convert(snap)


def test_repeated_opportunity_is_an_error() -> None:
    snap = _snapshot()
    snap.loc[3, "id"] = "W1"
    with pytest.raises(InvalidArgumentError, match=r"row 3.*'W1' repeats row 0"):
        _convert(snap)


def test_unparseable_date_names_row_column_and_value() -> None:
    snap = _snapshot()
    snap.loc[1, "closed_on"] = "next tuesday"
    with pytest.raises(InvalidArgumentError, match=r"row 1, column 'closed_on'.*next tuesday"):
        _convert(snap)


def test_missing_column_is_named() -> None:
    with pytest.raises(ColumnNotFoundError, match="close_value"):
        crm.snapshot_to_events(_snapshot(), deal="id", stage="stage", stages=STAGES,
                               stage_dates=DATES, close_date="closed_on", owner="owner")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stages": []}, "stages is empty"),
        ({"stages": "Lead"}, "not the string"),
        ({"stages": ["Lead", "Lead"]}, "repeated"),
        ({"won": "Lead"}, "must differ"),
        ({"stage_dates": {"Negotiation": "qualified_on"}}, "not one of the open stages"),
        ({"dimensions": ["rep"]}, "name of an event column"),
        ({"stage_actor": "customer"}, "stage_actor must be one of"),
    ],
)
def test_bad_options_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        _convert(_snapshot(), **kwargs)


def test_default_as_of_is_the_latest_date_in_the_snapshot() -> None:
    ev = _convert(_snapshot(), as_of=None)
    o2 = ev.loc[ev["deal"] == "O2", "time"]
    assert o2.tolist() == [pd.Timestamp("2024-05-02", tz="UTC")]  # O1's qualified_on


def test_no_dates_at_all_needs_as_of() -> None:
    snap = pd.DataFrame({"id": ["a"], "stage": ["Lead"], "closed_on": [None]})
    with pytest.raises(InvalidArgumentError, match="as_of"):
        crm.snapshot_to_events(snap, deal="id", stage="stage", stages=STAGES,
                               close_date="closed_on", value=None, owner=None, account=None)


def test_naive_dates_are_in_tz_and_aware_dates_are_converted() -> None:
    snap = pd.DataFrame({
        "id": ["a", "b"],
        "stage": ["Won", "Won"],
        "closed_on": ["2024-01-10", "2024-01-10T12:00:00+02:00"],
        "qualified_on": pd.to_datetime(["2024-01-05 09:00", "2024-01-06 09:00"]),
    })
    ev = crm.snapshot_to_events(
        snap, deal="id", stage="stage", stages=["Qualified"],
        stage_dates={"Qualified": "qualified_on"}, close_date="closed_on", value=None,
        owner=None, account=None, tz="America/New_York")
    assert ev["time"].tolist() == [
        pd.Timestamp("2024-01-05 14:00", tz="UTC"), pd.Timestamp("2024-01-10 05:00", tz="UTC"),
        pd.Timestamp("2024-01-06 14:00", tz="UTC"), pd.Timestamp("2024-01-10 10:00", tz="UTC"),
    ]
    aware = snap.assign(qualified_on=snap["qualified_on"].dt.tz_localize("Asia/Tokyo"))
    ev2 = crm.snapshot_to_events(
        aware, deal="id", stage="stage", stages=["Qualified"],
        stage_dates={"Qualified": "qualified_on"}, close_date="closed_on", value=None,
        owner=None, account=None)
    assert ev2["time"].iloc[0] == pd.Timestamp("2024-01-05 00:00", tz="UTC")


# ------------------------------------------------------------------- the Maven export
@pytest.fixture(scope="module")
def maven_folder() -> Path:
    try:
        return datasets.maven_crm_path()
    except FileNotFoundError as e:
        pytest.skip(f"Maven CRM data absent: {e}")


@pytest.fixture(scope="module")
def maven(maven_folder: Path) -> datasets.MavenCRM:
    return datasets.maven_crm(maven_folder)


def test_maven_accounting(maven: datasets.MavenCRM) -> None:
    events, log = maven
    rep = log.report
    assert rep.rows_in == len(events)
    assert rep.rows_in == rep.rows_accepted + rep.rows_rejected
    assert rep.rows_rejected == 0
    assert log.dimension_names == ["product", "manager", "regional_office"]


def test_maven_stage_counts_match_the_raw_csv(maven_folder: Path,
                                              maven: datasets.MavenCRM) -> None:
    raw = pd.read_csv(maven_folder / "sales_pipeline.csv")
    stage_counts = raw["deal_stage"].value_counts()
    assert stage_counts.to_dict() == {"Won": 4238, "Lost": 2473, "Engaging": 1589,
                                      "Prospecting": 500}  # the data README's numbers
    events, log = maven
    out = log.to_pandas()
    assert log.num_deals == len(raw) == raw["opportunity_id"].nunique()
    # The current stage of each deal is its last event.
    last = out.groupby("deal", observed=True)["action"].last().astype(str)
    current = last.str.removeprefix("reached:").replace({"won": "Won", "lost": "Lost"})
    assert current.value_counts().sort_index().to_dict() == \
        stage_counts.sort_index().to_dict()
    # Events per action, from the rules applied to the raw columns.
    engaged_lost = int(((raw["deal_stage"] == "Lost") & raw["engage_date"].notna()).sum())
    expected = {
        "reached:Prospecting": len(raw),
        "reached:Engaging": int(stage_counts["Engaging"] + stage_counts["Won"]) + engaged_lost,
        "won": int(stage_counts["Won"]),
        "lost": int(stage_counts["Lost"]),
    }
    assert dict(zip(log.actions["action"], log.actions["events"].astype(int))) == expected


def test_maven_values_times_and_dimensions(maven_folder: Path,
                                           maven: datasets.MavenCRM) -> None:
    raw = pd.read_csv(maven_folder / "sales_pipeline.csv")
    teams = pd.read_csv(maven_folder / "sales_teams.csv")
    events, log = maven
    out = log.to_pandas()
    won = out[out["action"] == "won"]
    assert won["amount"].sum() == pytest.approx(
        raw.loc[raw["deal_stage"] == "Won", "close_value"].sum())
    assert (out.loc[out["action"] == "lost", "amount"] == 0).all()
    open_ids = raw.loc[raw["deal_stage"].isin(["Prospecting", "Engaging"]), "opportunity_id"]
    assert out.loc[out["deal"].isin(open_ids), "amount"].isna().all()
    # won / lost at close_date, midnight UTC.
    closes = pd.to_datetime(raw.set_index("opportunity_id")["close_date"]).dt.tz_localize("UTC")
    ends = out[out["action"].isin(["won", "lost"])]
    assert (ends["time"].to_numpy() == closes.loc[ends["deal"].astype(str)].to_numpy()).all()
    # Dimensions: the GTXPro quirk is spelt as in products.csv; managers joined from teams.
    products = set(out["product"].astype(str))
    assert "GTX Pro" in products and "GTXPro" not in products
    manager_of = dict(zip(teams["sales_agent"], teams["manager"]))
    assert (out["manager"].astype(str) == out["rep"].astype(str).map(manager_of)).all()
    # Open deals without an account keep a null account.
    no_account = raw.loc[raw["account"].isna(), "opportunity_id"]
    assert len(no_account) == 1425
    assert out.loc[out["deal"].isin(no_account), "account"].isna().all()
    assert events["snapshot_row"].max() == len(raw) - 1


def test_maven_products_unfixed_keep_the_raw_label(maven_folder: Path) -> None:
    snap = datasets.maven_crm_snapshot(maven_folder, fix_product_names=False)
    assert "GTXPro" in set(snap["product"])
