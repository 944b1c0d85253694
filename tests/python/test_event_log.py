"""EventLog ingestion from pandas, numpy and Arrow, checked against pandas computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesperf
from salesperf import _columns
from salesperf.errors import (
    ColumnNotFoundError,
    Error,
    InvalidArgumentError,
    TimezoneError,
)

VOCAB = {"reply": "buyer", "state_need": "buyer", "call": "seller", "email": "seller",
         "created": "system"}


def frame(**cols: object) -> pd.DataFrame:
    return pd.DataFrame(cols)


def values(series: pd.Series) -> list[object]:
    """The values as a list, every kind of missing value as None."""
    s = series.astype(object)
    return s.where(s.notna(), None).tolist()


def test_sorts_by_deal_then_time_stably_and_decodes() -> None:
    df = frame(
        deal=["b", "a", "b", "a", "b"],
        time=pd.to_datetime(["2026-01-03", "2026-01-02", "2026-01-01", "2026-01-02", "2026-01-03"],
                            utc=True),
        action=["reply", "call", "email", "reply", "call"],
        rep=["r1", "r2", "r1", "r2", None],
        amount=[10.0, 20.0, 10.0, 20.0, 10.0],
    )
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    out = log.to_pandas()
    # Independent expectation: deals by first appearance, then time, ties by input row.
    first = {d: i for i, d in reversed(list(enumerate(df["deal"])))}
    expected = df.assign(row=range(len(df)), k=df["deal"].map(first)).sort_values(
        ["k", "time", "row"], kind="stable")
    assert out["row"].tolist() == expected["row"].tolist()
    assert out["deal"].astype(str).tolist() == expected["deal"].tolist()
    assert out["action"].astype(str).tolist() == expected["action"].tolist()
    assert out["time"].tolist() == expected["time"].tolist()
    assert values(out["rep"]) == values(expected["rep"])
    assert out["actor"].astype(str).tolist() == [VOCAB[a] for a in expected["action"]]
    assert str(out["time"].dt.tz) == "UTC"
    assert log.num_deals == 2 and len(log) == 5
    assert log.deal_offsets.tolist() == [0, 3, 5]
    assert not log.report.input_was_sorted


def test_integer_ids_round_trip_as_integers_without_copy() -> None:
    deal = np.array([10**12, 10**12, 5], dtype=np.int64)
    values, valid, labels = _columns.id_spec(deal, "deal")
    assert np.shares_memory(values, deal) and valid is None and labels is None
    df = frame(deal=deal, time=pd.to_datetime(["2026-01-01"] * 3, utc=True),
               action=["reply", "call", "reply"])
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    assert log.dictionary("deal") == [10**12, 5]
    assert log.to_pandas()["deal"].tolist() == [10**12, 10**12, 5]


def test_every_row_is_accounted_for_with_its_reason() -> None:
    df = frame(
        deal=pd.array(["d1", None, "d1", "d1", "d1", "d1", "d1", "d1"], dtype="string"),
        time=["2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z", None, "not a time",
              "2026-01-01T10:00:00", "2026-01-02T10:00:00+01:00", "2026-01-03T00:00:00Z",
              "2026-01-01T10:00:00Z"],
        action=["reply", "reply", "reply", "reply", "reply", "wave", "call", "reply"],
        amount=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, np.nan, 1.0],
    )
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    rep = log.report
    assert rep.rows_in == 8 == rep.rows_accepted + rep.rows_rejected
    rejected = rep.rejected
    assert rejected[["row", "reason", "column"]].astype(str).values.tolist() == [
        ["1", "null_deal", "deal"],
        ["2", "null_time", "time"],
        ["3", "unparseable_time", "time"],
        ["4", "naive_time", "time"],
        ["5", "unknown_action", "action"],
        ["6", "nan_amount", "amount"],
        ["7", "duplicate_event", "*"],
    ]
    assert rejected["duplicate_of"].tolist()[-1] == 0
    assert rejected["action"].tolist()[4] == "wave"  # the input values come along
    assert rep.unknown_actions == {"wave": 1}
    by_reason = rep.by_reason.set_index("reason")["rows"]
    assert by_reason.sum() == rep.rows_rejected == 7
    assert "8 rows in = 1 accepted + 7 rejected" in rep.summary()


def test_time_zones_are_normalised_to_utc() -> None:
    local = pd.to_datetime(["2011-10-01T00:38:44+02:00", "2011-11-01T00:38:44+01:00"], utc=True)
    text = ["2011-10-01T00:38:44.546+02:00", "2011-11-01T00:38:44.546+01:00"]
    for times in (pd.Series(local).dt.tz_convert("Europe/Amsterdam"), text):
        df = frame(deal=[1, 2], time=times, action=["reply", "reply"])
        out = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB).to_pandas()
        expected = pd.to_datetime(pd.Series(times).astype(str), utc=True, format="ISO8601")
        assert out["time"].tolist() == expected.tolist()
        assert out["time"].iloc[0] == pd.Timestamp("2011-09-30T22:38:44", tz="UTC").floor("s") + \
            (expected.iloc[0] - expected.iloc[0].floor("s"))


def test_bare_dates_are_naive_not_offsets() -> None:
    # The "-10" ending "2024-01-10" is a day, not a UTC offset of -10 hours.
    df = frame(deal=[1, 2, 3], time=["2024-01-10", "2024-01-10T08:00-10:00", "2024-01-10 08:00Z"],
               action=["reply"] * 3)
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    assert log.report.rejected[["row", "reason"]].astype(str).values.tolist() == [["0", "naive_time"]]
    assert log.to_pandas()["time"].tolist() == [pd.Timestamp("2024-01-10 18:00", tz="UTC"),
                                                pd.Timestamp("2024-01-10 08:00", tz="UTC")]
    with_zone = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB, tz="Asia/Tokyo")
    assert with_zone.to_pandas()["time"].iloc[0] == pd.Timestamp("2024-01-09 15:00", tz="UTC")


def test_naive_datetimes_need_a_zone() -> None:
    df = frame(deal=[1, 1], time=pd.to_datetime(["2026-03-29 02:30", "2026-03-29 04:00"]),
               action=["reply", "call"])
    with pytest.raises(TimezoneError, match="tz="):
        salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB, tz="Europe/Amsterdam")
    # 02:30 does not exist on the day clocks go forward in Amsterdam.
    assert log.report.rejected["reason"].astype(str).tolist() == ["ambiguous_local_time"]
    assert log.to_pandas()["time"].tolist() == [pd.Timestamp("2026-03-29 02:00", tz="UTC")]
    utc = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB, tz="UTC")
    assert utc.report.rows_rejected == 0


def test_categorical_and_nullable_columns() -> None:
    df = frame(
        deal=pd.Categorical(["x", "y", None, "x"], categories=["y", "x", "unused"]),
        time=pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"], utc=True),
        action=pd.Categorical(["reply", "call", "call", "email"]),
        rep=pd.array([7, pd.NA, 7, 8], dtype="Int64"),
        amount=pd.array([1.5, pd.NA, 2.0, 3.0], dtype="Float64"),
    )
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    assert log.report.rejected["reason"].astype(str).tolist() == ["null_deal"]
    out = log.to_pandas()
    assert out["deal"].astype(str).tolist() == ["x", "x", "y"]
    assert log.dictionary("deal") == ["x", "y"]  # unused categories are not kept
    assert out["rep"].tolist()[:2] == [7, 8] and pd.isna(out["rep"].iloc[2])
    assert out["amount"].iloc[0] == 1.5 and np.isnan(out["amount"].iloc[2])


def test_nan_and_negative_amount_options() -> None:
    df = frame(deal=[1, 1, 1], time=pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"], utc=True),
               action=["reply"] * 3, amount=[np.nan, -5.0, np.inf])
    default = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    assert default.report.rejected["reason"].astype(str).tolist() == [
        "nan_amount", "negative_amount", "infinite_amount"]
    lenient = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB, nan_amount="null",
                                             allow_negative_amount=True)
    assert lenient.report.rejected["reason"].astype(str).tolist() == ["infinite_amount"]
    with pytest.raises(InvalidArgumentError, match="nan_amount"):
        salesperf.EventLog.from_pandas(df, vocabulary=VOCAB, nan_amount="zero")


def test_strict_mode_names_row_and_column() -> None:
    df = frame(deal=["a", "a", "b"], time=pd.to_datetime(["2026-01-01"] * 3, utc=True),
               action=["reply", "call", "dance"])
    with pytest.raises(InvalidArgumentError) as info:
        salesperf.EventLog.from_pandas(df, vocabulary=VOCAB, strict=True)
    err = info.value
    assert isinstance(err, Error) and isinstance(err, ValueError)
    assert (err.row, err.column) == (2, "action")
    assert "row 2, column 'action': unknown_action ('dance' is not in the vocabulary)" in str(err)


def test_column_mapping_and_missing_columns() -> None:
    df = frame(opp=["a"], ts=pd.to_datetime(["2026-01-01"], utc=True), what=["reply"],
               owner=["ana"], seg=["smb"])
    log = salesperf.EventLog.from_pandas(df, deal="opp", time="ts", action="what", rep="owner",
                                         dimensions=["seg"], vocabulary=VOCAB)
    out = log.to_pandas()
    assert out["rep"].tolist() == ["ana"] and out["seg"].tolist() == ["smb"]
    with pytest.raises(ColumnNotFoundError, match="'opportunity'"):
        salesperf.EventLog.from_pandas(df, deal="opportunity", vocabulary=VOCAB)
    with pytest.raises(ColumnNotFoundError):
        salesperf.EventLog.from_pandas(df, deal="opp", time="ts", action="what", rep="nobody",
                                       vocabulary=VOCAB)


def test_vocabulary_from_actor_column_and_prefixes() -> None:
    df = frame(deal=[1, 1, 1], time=pd.to_datetime(["2026-01-01"] * 3, utc=True),
               action=["W_call", "A_SUBMITTED", "O_SENT"], actor=["seller", "buyer", "system"])
    log = salesperf.EventLog.from_pandas(df)
    assert dict(zip(log.actions["action"], log.actions["actor"])) == {
        "W_call": "seller", "A_SUBMITTED": "buyer", "O_SENT": "system"}
    clash = df.assign(actor=["seller", "buyer", "buyer"], action=["W_call", "A_SUBMITTED", "W_call"])
    with pytest.raises(InvalidArgumentError, match="W_call"):
        salesperf.EventLog.from_pandas(clash)
    with pytest.raises(InvalidArgumentError, match="no vocabulary"):
        salesperf.EventLog.from_pandas(df.drop(columns="actor"))
    vocab = salesperf.Vocabulary({"A_SUBMITTED": "buyer"}, prefixes={"W_": "seller", "O_": "system"})
    log = salesperf.EventLog.from_pandas(df.drop(columns="actor"), vocabulary=vocab)
    assert sorted(log.report.prefix_matched_actions) == ["O_SENT", "W_call"]
    assert repr(vocab) == ("Vocabulary(1 actions: 1 buyer, 0 seller, 0 system, "
                           "prefixes {'W_': 'seller', 'O_': 'system'})")


def arrow_frame() -> pd.DataFrame:
    return frame(
        deal=["b", "a", "b", "a", None],
        time=pd.to_datetime(["2026-01-03", "2026-01-02", "2026-01-01", "2026-01-02", "2026-01-01"],
                            utc=True),
        action=["reply", "call", "email", "reply", "call"],
        rep=pd.array([1, 2, None, 2, 1], dtype="Int64"),
        amount=[10.0, 20.0, 10.0, 20.0, 5.0],
    )


def assert_same_log(a: salesperf.EventLog, b: salesperf.EventLog) -> None:
    pa_, pb = a.to_pandas(), b.to_pandas()
    for col in pa_.columns:
        assert values(pa_[col]) == values(pb[col]), col
    assert a.report.rows_rejected == b.report.rows_rejected


def test_arrow_polars_and_duckdb_give_the_pandas_result() -> None:
    df = arrow_frame()
    reference = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    table = pa.Table.from_pandas(df, preserve_index=False)
    assert_same_log(salesperf.EventLog.from_arrow(table, vocabulary=VOCAB), reference)
    assert_same_log(salesperf.ingest(table, vocabulary=VOCAB), reference)
    polars = pytest.importorskip("polars")
    assert_same_log(salesperf.EventLog.from_arrow(polars.from_pandas(df), vocabulary=VOCAB), reference)
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.register("events", table)
    result = con.sql("select * from events")
    assert_same_log(salesperf.EventLog.from_arrow(result, vocabulary=VOCAB), reference)
    with pytest.raises(InvalidArgumentError, match="__arrow_c_stream__"):
        salesperf.EventLog.from_arrow([1, 2, 3], vocabulary=VOCAB)


@pytest.mark.parametrize("kind", ["object", "categorical", "arrow"])
def test_vocabulary_from_pairs_any_column_kind(kind: str) -> None:
    """Vocabulary.from_pairs pairs codes for categorical and Arrow dictionary columns and
    hashes other columns: the same pairs, nulls dropped, in order of first row, and the
    same clash error, checked against a plain loop over the rows."""
    rng = np.random.default_rng(3)
    names = np.array(["reply", "call", "need", "email", "sign"])
    actor_of = {"reply": "buyer", "call": "seller", "need": "buyer", "email": "seller", "sign": "buyer"}
    action = names[rng.integers(0, 5, 5_000)].astype(object)
    action[rng.integers(0, 5_000, 50)] = None
    actor = np.array([actor_of.get(a) if a is not None else "buyer" for a in action], dtype=object)
    actor[rng.integers(0, 5_000, 50)] = None

    def columns(a: np.ndarray, b: np.ndarray) -> tuple[object, object]:
        if kind == "object":
            return pd.Series(a), pd.Series(b)
        if kind == "categorical":  # categories in another order than the rows
            return (pd.Series(pd.Categorical(a, categories=sorted(set(a) - {None}, reverse=True))),
                    pd.Series(pd.Categorical(b)))
        return (pa.array(a, pa.string()).dictionary_encode().to_pandas(),
                pa.array(b, pa.string()).dictionary_encode().to_pandas())

    expected: dict[str, str] = {}
    for a, b in zip(action, actor):  # first appearance, rows with a null skipped
        if a is not None and b is not None:
            expected.setdefault(a, b)
    vocab = salesperf.Vocabulary.from_pairs(*columns(action, actor))
    assert list(vocab.actions.items()) == list(expected.items())
    clash = actor.copy()
    clash[np.flatnonzero(action == "call")[-1]] = "buyer"  # 'call' once as a buyer action
    with pytest.raises(InvalidArgumentError, match="'call' appears with different actors"):
        salesperf.Vocabulary.from_pairs(*columns(action, clash))
    assert salesperf.Vocabulary.from_pairs(["a", "b"], ["buyer", "seller"]).actions == {"a": "buyer", "b": "seller"}
    with pytest.raises(InvalidArgumentError, match="rows"):
        salesperf.Vocabulary.from_pairs(["a", "b"], ["buyer"])


def test_read_csv_keeps_every_row(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "events.csv"  # type: ignore[operator]
    path.write_text(
        "deal,time,action,rep,amount\n"
        "007,2026-01-01T10:00:00+01:00,reply,ana,100\n"
        "007,2026-01-01T08:00:00Z,call,ana,100\n"
        ",2026-01-01T08:00:00Z,call,ana,100\n"
        "008,2026-01-01T08:00:00Z,call,,\n"
    )
    log = salesperf.EventLog.read_csv(path, vocabulary=VOCAB)
    assert log.report.rows_in == 4 and log.report.rows_rejected == 1
    out = log.to_pandas()
    assert out["deal"].tolist() == ["007", "007", "008"]  # text ids keep leading zeros
    assert out["action"].tolist() == ["call", "reply", "call"]  # 08:00Z before 09:00Z
    assert pd.isna(out["rep"].iloc[2]) and np.isnan(out["amount"].iloc[2])
    path.write_text("deal,time,action,amount\n1,2026-01-01T00:00Z,reply,lots\n")
    with pytest.raises(InvalidArgumentError, match="row 0, column 'amount'"):
        salesperf.EventLog.read_csv(path, vocabulary=VOCAB)


def test_reprs_are_readable() -> None:
    log = salesperf.EventLog.from_pandas(arrow_frame(), vocabulary=VOCAB)
    assert repr(log).startswith("EventLog(4 events, 2 deals")
    assert "rejected=1" in repr(log.report)
    html = log._repr_html_()
    assert "<table" in html and "null_deal" in html


# ---- random logs against a pandas reference --------------------------------------

ACTIONS = ["reply", "call", "email", "unknown_x"]


@st.composite
def event_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 40))
    deals = draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n))
    times = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    actions = draw(st.lists(st.sampled_from(ACTIONS), min_size=n, max_size=n))
    reps = draw(st.lists(st.sampled_from(["r1", "r2", None]), min_size=n, max_size=n))
    amounts = draw(st.lists(st.sampled_from([0.0, 5.0, -1.0, float("nan")]), min_size=n, max_size=n))
    return pd.DataFrame({
        "deal": pd.Series(deals, dtype=object),
        "time": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(times, unit="D"),
        "action": pd.Series(actions, dtype=object),
        "rep": pd.Series(reps, dtype=object),
        "amount": pd.Series(amounts, dtype="float64"),
    })


def pandas_reference(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    df = df.assign(row=np.arange(len(df)))
    reasons = pd.Series(pd.NA, index=df.index, dtype=object)
    checks = [
        ("null_deal", df["deal"].isna()),
        ("unknown_action", ~df["action"].isin(list(VOCAB))),
        ("nan_amount", df["amount"].isna()),
        ("negative_amount", df["amount"] < 0),
    ]
    for reason, bad in checks:
        reasons = reasons.mask(reasons.isna() & bad, reason)
    ok = df[reasons.isna()]
    first = {d: i for i, d in reversed(list(enumerate(ok["deal"])))}
    ok = ok.assign(k=ok["deal"].map(first)).sort_values(["k", "time", "row"], kind="stable")
    dup = ok.duplicated(["deal", "time", "action", "rep", "amount"], keep="first")
    reasons.loc[ok.index[dup]] = "duplicate_event"
    counts = reasons.dropna().value_counts().to_dict()
    return ok[~dup], {str(k): int(v) for k, v in counts.items()}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_frames())
def test_random_logs_match_pandas(df: pd.DataFrame) -> None:
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    expected, counts = pandas_reference(df)
    report = log.report
    assert report.rows_in == len(df) == report.rows_accepted + report.rows_rejected
    got = {r: n for r, n in zip(report.by_reason["reason"], report.by_reason["rows"]) if n}
    assert got == counts
    out = log.to_pandas()
    assert out["row"].tolist() == expected["row"].tolist()
    assert out["deal"].astype(str).tolist() == expected["deal"].tolist()
    assert out["time"].tolist() == expected["time"].tolist()


def test_thread_count_never_changes_the_result() -> None:
    events = salesperf.synth.company(events=150_000, seed=2).events
    shuffled = events.sample(frac=1.0, random_state=1).reset_index(drop=True)
    dims = ["segment", "territory"]
    one = salesperf.EventLog.from_pandas(shuffled, dimensions=dims, threads=1)
    two = salesperf.EventLog.from_pandas(shuffled, dimensions=dims, threads=2)
    for column in ["deal", "action", "rep", "account", "contact", "contact_role", *dims]:
        assert np.array_equal(one.codes(column), two.codes(column)), column
        assert one.dictionary(column) == two.dictionary(column), column
    assert np.array_equal(one.time_ns, two.time_ns)
    assert np.array_equal(one.to_pandas()["row"], two.to_pandas()["row"])
    assert not one.report.input_was_sorted and one.report.rows_rejected == 0
    # Within each deal, the shuffled rows come back in the generator's (time) order;
    # deals themselves are numbered by first appearance in the shuffled input.
    got = one.to_pandas()
    got = got.assign(deal=got["deal"].astype(str)).sort_values("deal", kind="stable")
    want = events.assign(deal=events["deal"].astype(str)).sort_values("deal", kind="stable")
    assert np.array_equal(got["time"].astype("int64").to_numpy(), want["time"].astype("int64").to_numpy())
    assert np.array_equal(got["action"].astype(str).to_numpy(), want["action"].astype(str).to_numpy())
    with pytest.raises(InvalidArgumentError, match="threads"):
        salesperf.EventLog.from_pandas(shuffled, threads=-1)


def test_summary_counts_match_pandas() -> None:
    log = salesperf.synth.company(events=20_000, seed=9).event_log()
    parts = log.summary()
    ev = log.to_pandas()
    by_action = ev.groupby("action", observed=True).size()
    actions = parts["actions"].set_index("action")
    assert actions["events"].to_dict() == by_action.to_dict()
    assert sum(actions["events"]) == len(ev)
    reps = parts["reps"]
    g = ev.groupby("rep", observed=True)
    expected = pd.DataFrame({
        "deals": g["deal"].nunique(),
        "events": g.size(),
        "buyer_actions": g["actor"].apply(lambda a: int((a == "buyer").sum())),
        "seller_activities": g["actor"].apply(lambda a: int((a == "seller").sum())),
    })
    expected.index = expected.index.astype(str)
    got = reps.copy()
    got.index = got.index.astype(str)
    got = got.loc[expected.index]
    for col in expected.columns:
        assert got[col].tolist() == expected[col].tolist(), col
    ratio = expected["buyer_actions"] / expected["seller_activities"]
    assert np.allclose(got["buyer_per_seller"], ratio.round(3))
