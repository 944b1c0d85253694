"""Calendar from Python, checked against pandas' own periods and ISO calendar,
computed independently here."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import salesperf
from salesperf.errors import InvalidArgumentError, OutOfRangeError, TimezoneError

DAY_NS = 86_400 * 10**9
NO_PERIOD = np.iinfo(np.int64).min


@pytest.fixture(scope="module")
def times() -> pd.Series:
    rng = np.random.default_rng(2026)
    lo = pd.Timestamp("1950-01-01", tz="UTC").value
    hi = pd.Timestamp("2100-01-01", tz="UTC").value
    ns = rng.integers(lo, hi, size=10_000, dtype=np.int64)
    # Some exact midnights and the nanosecond before them, where periods change.
    ns[:500] = ns[:500] // DAY_NS * DAY_NS
    ns[500:1000] = ns[500:1000] // DAY_NS * DAY_NS - 1
    return pd.Series(pd.to_datetime(ns, utc=True))


def naive(s: pd.Series) -> pd.Series:
    # to_period warns about dropping the zone of tz-aware values; the values are UTC.
    return s.dt.tz_convert("UTC").dt.tz_localize(None)


def test_days_months_and_years_match_pandas(times: pd.Series) -> None:
    p = naive(times)
    day = salesperf.Calendar("day").assign(times)
    assert day.tolist() == p.dt.to_period("D").dt.strftime("%Y-%m-%d").tolist()
    month = salesperf.Calendar("month").assign(times)
    assert month.tolist() == p.dt.to_period("M").astype(str).tolist()
    year = salesperf.Calendar("year").assign(times)
    assert year.tolist() == p.dt.year.astype(str).tolist()
    assert (salesperf.Calendar("day").period_index(times)
            == times.astype("int64").to_numpy() // DAY_NS).all()
    months = salesperf.Calendar("month").period_index(times)
    assert (months == (p.dt.year.to_numpy() - 1970) * 12 + p.dt.month.to_numpy() - 1).all()


def test_calendar_quarters_match_pandas(times: pd.Series) -> None:
    q = naive(times).dt.to_period("Q")
    expected = [f"{y} Q{n}" for y, n in zip(q.dt.qyear, q.dt.quarter)]
    assert salesperf.Calendar("quarter").assign(times).tolist() == expected


def test_iso_weeks_match_pandas(times: pd.Series) -> None:
    iso = times.dt.isocalendar()
    expected = [f"{y:04d}-W{w:02d}" for y, w in zip(iso["year"], iso["week"])]
    cal = salesperf.Calendar("week")
    assert cal.assign(times).tolist() == expected
    # Every week starts on a Monday at midnight UTC and lasts 7 days.
    starts = cal.periods(times.min(), times.max())
    assert (starts["start"].dt.dayofweek == 0).all()
    assert ((starts["end"] - starts["start"]) == pd.Timedelta(days=7)).all()


@pytest.mark.parametrize("month,freq", [(7, "JUN"), (4, "MAR"), (10, "SEP"), (2, "JAN")])
def test_fiscal_quarters_and_years_match_pandas(times: pd.Series, month: int, freq: str) -> None:
    p = naive(times)
    q = p.dt.to_period(f"Q-{freq}")
    # pandas names a Q-JUN fiscal year by the calendar year it ends in, as salesperf does.
    assert pd.Period("2025-07-15", freq="Q-JUN").qyear == 2026
    expected = [f"FY{y} Q{n}" for y, n in zip(q.dt.qyear, q.dt.quarter)]
    assert salesperf.Calendar(f"fiscal_quarter:{month}").assign(times).tolist() == expected
    y = p.dt.to_period(f"Y-{freq}")
    assert salesperf.Calendar(f"fiscal_year:{month}").assign(times).tolist() == [
        f"FY{v}" for v in y.dt.year]


@pytest.mark.parametrize("spec,freq", [("day", "D"), ("month", "M"), ("quarter", "Q"),
                                       ("year", "Y"), ("fiscal_quarter:7", "Q-JUN"),
                                       ("fiscal_year:4", "Y-MAR")])
def test_period_bounds_match_pandas(spec: str, freq: str) -> None:
    cal = salesperf.Calendar(spec)
    table = cal.periods(pd.Timestamp("1968-05-17", tz="UTC"), pd.Timestamp("2031-02-01", tz="UTC"))
    expected = pd.period_range(pd.Timestamp("1968-05-17"), pd.Timestamp("2031-02-01"), freq=freq)
    assert len(table) == len(expected)
    assert (table["start"].dt.tz_localize(None).to_numpy() == expected.start_time.to_numpy()).all()
    assert (table["end"].dt.tz_localize(None).to_numpy()
            == (expected.end_time + pd.Timedelta(1, "ns")).to_numpy()).all()
    assert (np.diff(table["index"].to_numpy()) == 1).all()
    assert list(table.columns) == ["index", "label", "start", "end"]


def test_example_labels() -> None:
    at = lambda spec, text: salesperf.Calendar(spec).assign(  # noqa: E731
        pd.to_datetime([text], utc=True)).iloc[0]
    assert at("day", "2026-03-14") == "2026-03-14"
    assert at("week", "2026-03-30") == "2026-W14"
    assert at("week", "2021-01-04") == "2021-W01"
    assert at("week", "2020-12-31") == "2020-W53"
    assert at("week", "2027-01-01") == "2026-W53"
    assert at("month", "2024-02-29") == "2024-02"
    assert at("quarter", "2026-03-31") == "2026 Q1"
    assert at("fiscal_quarter:7", "2026-03-14") == "FY2026 Q3"
    assert at("fiscal_quarter:7", "2025-07-01") == "FY2026 Q1"
    assert at("fiscal_year:7", "2026-06-30") == "FY2026"
    assert at("fiscal_year:7", "2026-07-01") == "FY2027"
    assert at("year", "1955-06-01") == "1955"


def test_assign_nulls_categorical_index_and_input_kinds() -> None:
    s = pd.Series(pd.to_datetime(["2026-01-05", None, "2026-04-01"], utc=True), index=[10, 20, 30])
    cal = salesperf.Calendar("month")
    out = cal.assign(s)
    assert out.index.tolist() == [10, 20, 30]
    assert out.tolist() == ["2026-01", None, "2026-04"]
    cat = cal.assign(s, categorical=True)
    assert cat.cat.ordered
    assert cat.cat.categories.tolist() == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert cat.isna().tolist() == [False, True, False]
    assert cal.period_index(s).tolist() == [672, NO_PERIOD, 675]
    # int64 UTC nanoseconds, a non-contiguous view, other zones, and Arrow-backed times.
    ns = s.astype("int64").to_numpy()
    ns[1] = pd.Timestamp("2026-02-01", tz="UTC").value
    assert cal.assign(ns).tolist() == ["2026-01", "2026-02", "2026-04"]
    assert cal.assign(np.repeat(ns, 2)[::2]).tolist() == ["2026-01", "2026-02", "2026-04"]
    tokyo = pd.Series(pd.to_datetime(["2026-01-01 08:00"]).tz_localize("Asia/Tokyo"))
    assert salesperf.Calendar("day").assign(tokyo).tolist() == ["2025-12-31"]
    assert salesperf.Calendar("day").assign(tokyo.dt.as_unit("s")).tolist() == ["2025-12-31"]
    assert cal.assign(pd.Series([], dtype="datetime64[ns, UTC]")).tolist() == []
    assert cal.assign(pd.Series([None, None], dtype="datetime64[ns, UTC]"),
                      categorical=True).isna().all()
    assert cal.assign(pd.array([1, None], dtype="Int64")).tolist() == ["1970-01", None]


def test_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="calendar spec 'fortnight'") as e:
        salesperf.Calendar("fortnight")
    assert isinstance(e.value, ValueError)
    with pytest.raises(ValueError, match=r"'13' is not a month 1\.\.12"):
        salesperf.Calendar("fiscal_quarter:13")
    with pytest.raises(ValueError, match="start month is missing"):
        salesperf.Calendar("fiscal_year")
    with pytest.raises(TimezoneError, match="naive"):
        salesperf.Calendar("day").assign(pd.Series(pd.to_datetime(["2026-01-01"])))
    with pytest.raises(InvalidArgumentError, match="tz-aware datetimes or int64"):
        salesperf.Calendar("day").assign(pd.Series([1.5]))
    with pytest.raises(OutOfRangeError, match="position 1"):
        salesperf.Calendar("day").labels([0, 10**12])
    with pytest.raises(InvalidArgumentError, match="before start"):
        salesperf.Calendar("day").periods(pd.Timestamp("2026-01-02", tz="UTC"),
                                          pd.Timestamp("2026-01-01", tz="UTC"))
    with pytest.raises(TimezoneError):
        salesperf.Calendar("day").periods(pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-02"))


def test_spec_equality_repr_and_pickle() -> None:
    for spec in ["day", "week", "month", "quarter", "year", "fiscal_quarter:7", "fiscal_year:4"]:
        cal = salesperf.Calendar(spec)
        assert cal.spec == spec
        assert salesperf.Calendar(cal.spec) == cal
        assert repr(cal) == f"Calendar({spec!r})"
        assert pickle.loads(pickle.dumps(cal)) == cal
    assert salesperf.Calendar(" Fiscal_Quarter:1 ") == salesperf.Calendar("quarter")
    assert salesperf.Calendar("fiscal_quarter:7") != salesperf.Calendar("fiscal_quarter:6")
    assert salesperf.Calendar().grain == "day"
    assert salesperf.Calendar("fiscal_quarter:7").grain == "quarter"
    assert len({salesperf.Calendar("week"), salesperf.Calendar("week")}) == 1


SPECS = ["day", "week", "month", "quarter", "year", "fiscal_month:5", "fiscal_quarter:7",
         "fiscal_quarter:11", "fiscal_year:4", "fiscal_year:12"]
# Nanosecond times whose neighbouring years are whole within int64 nanoseconds (the
# clipped first and last periods are tested in C++).
INSTANTS = st.integers(min_value=pd.Timestamp("1679-01-01", tz="UTC").value,
                       max_value=pd.Timestamp("2261-01-01", tz="UTC").value)


@settings(max_examples=300, deadline=None)
@given(spec=st.sampled_from(SPECS), t=INSTANTS, snap=st.sampled_from([None, -1, 0, 1]))
def test_each_time_lies_in_its_period(spec: str, t: int, snap: int | None) -> None:
    cal = salesperf.Calendar(spec)
    if snap is not None:  # on, just before and just after a midnight
        t = t // DAY_NS * DAY_NS + snap
    idx = int(cal.period_index(np.array([t], dtype=np.int64))[0])
    start = int(cal._core.period_start(np.array([idx]))[0])
    end = int(cal._core.period_end(np.array([idx]))[0])
    assert start <= t < end
    before, at_end = cal.period_index(np.array([start - 1, end], dtype=np.int64))
    assert (before, at_end) == (idx - 1, idx + 1)
    lab = cal.labels([idx - 1, idx, idx + 1])
    assert lab[0] < lab[1] < lab[2]


@settings(max_examples=200, deadline=None)
@given(t=INSTANTS)
def test_fiscal_july_quarter_agrees_with_pandas(t: int) -> None:
    p = pd.Timestamp(t).to_period("Q-JUN")
    got = salesperf.Calendar("fiscal_quarter:7").labels(
        salesperf.Calendar("fiscal_quarter:7").period_index(np.array([t], dtype=np.int64)))
    assert got == [f"FY{p.qyear} Q{p.quarter}"]
