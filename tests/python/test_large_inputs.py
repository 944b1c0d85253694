"""Large and extreme inputs through the Python API: ids beyond 32 bits (int64 near
2^63, uint64, long strings), times at the limits of pandas' datetime64[ns] (1677 and
2262) and before 1970, 100,000 reps, 10,000 actions, dollar values at the limit of
the fixed-point sums; no overflow and no silent truncation. Expected figures come
from plain pandas / Python integers, never from salesperf.

More than 2^31 rows: ``SALESPERF_HUGE=1`` runs test_huge_ingest, which ingests
2^31 + 10 rows when the machine has the memory for it (see docs/robustness.md for
the estimate); it is skipped otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import salesperf
from salesperf.errors import InvalidArgumentError

VOCAB = {"created": "system", "reply": "buyer", "call": "seller", "sign": "buyer", "decline": "buyer"}
I64_MAX, I64_MIN = 2**63 - 1, -(2**63)
T0 = pd.Timestamp("2026-01-01", tz="UTC")


def ladder() -> salesperf.StageModel:
    return salesperf.StageModel(stages=[{"name": "Lead", "rules": [{"any": ["created"]}]},
                                        {"name": "Engaged", "rules": [{"any": ["reply"]}]}],
                                won=[{"any": ["sign"]}], lost=[{"any": ["decline"]}])


# ---------------------------------------------------------------- ids

def test_int64_ids_near_the_limits_keep_every_bit() -> None:
    ids = [I64_MAX, I64_MIN, I64_MIN + 1, 2**32, 2**32 + 1, 1, 2**31, -(2**31) - 1, 0]
    df = pd.DataFrame({
        "deal": np.repeat(np.array(ids, dtype=np.int64), 2),
        "time": pd.date_range(T0, periods=2 * len(ids), freq="h"),
        "action": ["created", "sign"] * len(ids),
        "rep": np.repeat(np.array(ids[::-1], dtype=np.int64), 2),
    })
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    assert log.report.rows_rejected == 0
    assert log.num_deals == len(ids)
    assert [int(v) for v in log.dictionary("deal")] == ids
    back = log.to_pandas()
    assert [int(v) for v in back["deal"]] == df["deal"].tolist()
    assert [int(v) for v in back["rep"]] == df["rep"].tolist()
    # Nullable Int64 with a missing id: the null row is rejected, the others exact.
    nullable = df.assign(deal=pd.array([*ids, *ids[:-1], None], dtype="Int64"))
    log2 = salesperf.EventLog.from_pandas(nullable, vocabulary=VOCAB)
    assert log2.report.rows_rejected == 1
    assert sorted(int(v) for v in log2.dictionary("deal")) == sorted(ids)
    # Units are the reps' full decimal labels.
    tl = ladder().run(log)
    fun = salesperf.funnel(log, tl)
    assert sorted(fun.units) == sorted(str(v) for v in ids)


def test_uint64_ids_beyond_int64_are_not_wrapped() -> None:
    """uint64 ids above 2^63 - 1 cannot be int64 codes: they must either keep their
    value or be refused, never come back as negative numbers."""
    big = np.array([2**64 - 1, 2**63, 5], dtype=np.uint64)
    df = pd.DataFrame({"deal": np.repeat(big, 2),
                       "time": pd.date_range(T0, periods=6, freq="h"),
                       "action": ["created", "sign"] * 3})
    with pytest.raises(InvalidArgumentError, match="column 'deal': uint64 ids above 2\\*\\*63-1"):
        salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    for frame in (df.assign(deal=df["deal"].astype("UInt64")), pa.table({"deal": pa.array(np.repeat(big, 2)),
                  "time": pa.array(df["time"]), "action": pa.array(df["action"])})):
        with pytest.raises(InvalidArgumentError, match="uint64 ids above"):
            salesperf.ingest(frame, vocabulary=VOCAB)
    # uint64 ids that fit keep their values.
    small = df.assign(deal=np.repeat(np.array([2**63 - 1, 7, 5], dtype=np.uint64), 2))
    log = salesperf.EventLog.from_pandas(small, vocabulary=VOCAB)
    assert sorted(int(v) for v in log.dictionary("deal")) == [5, 7, 2**63 - 1]


def test_long_and_unicode_string_ids() -> None:
    long_id = "x" * 1_000_000
    ids = [long_id, "ä€😀", "a\x00b", " padded ", "0", "00"]
    df = pd.DataFrame({"deal": np.repeat(ids, 2), "time": pd.date_range(T0, periods=12, freq="h"),
                       "action": ["created", "reply"] * 6, "rep": np.repeat(ids, 2)})
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    assert log.report.rows_rejected == 0
    assert list(log.dictionary("deal")) == ids  # "0" and "00" stay two deals
    ind = salesperf.indicators(log, ladder().run(log), period="year")
    back = salesperf.Indicators.from_bytes(ind.to_bytes())
    assert sorted(back.units) == sorted(ids)


# ---------------------------------------------------------------- times

def test_the_limits_of_datetime64_ns() -> None:
    """Runs in a fresh interpreter, so that a crash of the core on these times is
    reported as this test's failure (with the signal) instead of ending the session."""
    here = str(Path(__file__).resolve().parent)
    code = (f"import sys; sys.path.insert(0, {here!r}); import test_large_inputs as t; "
            "t.pipeline_at_datetime64_limits(); print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), \
        f"exit {done.returncode} (negative: killed by that signal):\n{done.stderr[-3000:]}"


def pipeline_at_datetime64_limits() -> None:
    lo, hi = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
    df = pd.DataFrame({"deal": ["a", "a", "a", "b", "b"],
                       "time": pd.Series([lo, pd.Timestamp("1969-12-31 23:59:59.999999999", tz="UTC"), hi,
                                          pd.Timestamp("1900-01-01", tz="UTC"), hi - pd.Timedelta(1)]),
                       "action": ["created", "reply", "sign", "created", "reply"],
                       "rep": "r"})
    # Default plausible range (1970 .. 2200): every one of these is implausible.
    strict_range = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    assert strict_range.report.rows_rejected == 5
    assert set(strict_range.report.rejected["reason"].astype(str)) == {"time_out_of_range"}
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB, min_time=lo, max_time=hi)
    assert log.report.rows_rejected == 0
    ns = np.asarray(log.time_ns)
    assert ns.min() == lo.value == I64_MIN + 1  # NaT is I64_MIN
    assert ns.max() == hi.value == I64_MAX
    assert log.to_pandas()["time"].tolist() == df.sort_values(["deal", "time"])["time"].tolist()
    tl = ladder().run(log)
    assert tl.deals.loc["a", "outcome"] == "won" and tl.deals.loc["a", "outcome_time"] == hi
    # Indicators over every calendar: run or refuse cleanly; no negative durations.
    for period in ("day", "week", "month", "year"):
        t = salesperf.indicators(log, tl, period=period).table()
        dur = t[t["indicator"].astype(str).str.startswith(("time_in_stage", "cycle_time"))]
        assert not (dur["value"] < 0).any(), period
        allp = t[t["period"].astype(str) == "all"]
        got = dict(zip(allp["indicator"].astype(str), allp["value"]))
        assert got["occurrences:created"] == 2 and got["won"] == 1, period
    # Funnel dwell in Lead: (1969-12-31T23:59:59.999999999 - 1677 min) + (hi-1ns - 1900):
    # far past 2^63 ns in total, summed exactly (mean days = total / 2 visits).
    fun = salesperf.funnel(log, tl, by=None)
    lead = fun.stages().loc["Lead"]
    dwell_ns = ((-1 - lo.value) + ((hi.value - 1) - pd.Timestamp("1900-01-01", tz="UTC").value))
    assert dwell_ns > I64_MAX
    assert lead["mean_days_in_stage"] == pytest.approx(dwell_ns / 2 / 86_400e9, rel=1e-12)


def test_times_beyond_datetime64_ns_are_an_error_not_a_wrap() -> None:
    """Microsecond datetimes outside 1677..2262 cannot be nanoseconds: refused with a
    message, not wrapped around."""
    t = pd.Series(pd.array(np.array(["1500-01-01", "2026-01-01", "3000-01-01"], dtype="datetime64[us]"))
                  ).dt.tz_localize("UTC")
    df = pd.DataFrame({"deal": ["a", "a", "a"], "time": t, "action": ["created", "reply", "sign"]})
    with pytest.raises(InvalidArgumentError, match="1677..2262"):
        salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    # Integer seconds that overflow int64 nanoseconds: an error naming the row.
    secs = pd.DataFrame({"deal": ["a", "a"], "time": np.array([0, 10**11], dtype=np.int64),
                         "action": ["created", "reply"]})
    with pytest.raises(InvalidArgumentError, match="row 1") as info:
        salesperf.EventLog.from_pandas(secs, vocabulary=VOCAB, time_unit="s")
    assert info.value.row == 1


# ---------------------------------------------------------------- many reps, many actions

def test_hundred_thousand_reps() -> None:
    n = 100_000
    deal = np.repeat(np.arange(n), 2)
    df = pd.DataFrame({
        "deal": deal,
        "time": T0 + pd.to_timedelta(np.tile([0, 1], n), unit="D"),
        "action": np.where(np.tile([0, 1], n) == 0, "created",
                           np.where(deal % 4 == 0, "sign", "call")),
        "rep": pd.Categorical.from_codes(deal, categories=[f"rep{i:06d}" for i in range(n)]),
    })
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB)
    tl = ladder().run(log)
    lc = salesperf.leak_counts(log, tl)
    assert len(lc.units) == n
    won = np.asarray(lc._core.won)[:, 0]
    assert int(won.sum()) == n // 4  # pandas: deals 0, 4, 8, ...
    ind = salesperf.indicators(log, tl, period="year")
    assert len(ind.units) == n
    fun = salesperf.funnel(log, tl)
    assert len(fun.units) == n
    summary = fun.summary()  # was quadratic in the units (minutes at this size)
    assert len(summary) == n + 1
    assert int(summary.loc["(all)", "open_deals"]) == n - n // 4
    assert int(summary["open_deals"].drop("(all)").sum()) == n - n // 4
    assert int(fun.stages()["open_deals"].sum()) == n - n // 4
    assessed = lc.assess()
    assert len(assessed.units()) == n


def test_ten_thousand_actions() -> None:
    k = 10_000
    vocab = dict(VOCAB) | {f"act{i}": ("buyer" if i % 2 else "seller") for i in range(k)}
    rng = np.random.default_rng(1)
    acts = rng.integers(0, k, size=60_000)
    df = pd.DataFrame({"deal": rng.integers(0, 300, size=acts.size),
                       "time": T0 + pd.to_timedelta(rng.integers(0, 10**6, size=acts.size), unit="s"),
                       "action": [f"act{i}" for i in acts], "rep": "r"})
    created = pd.DataFrame({"deal": np.arange(300), "time": T0 - pd.Timedelta(1, "s"),
                            "action": "created", "rep": "r"})
    df = pd.concat([created, df], ignore_index=True)
    log = salesperf.EventLog.from_pandas(df, vocabulary=vocab)
    assert log.report.rows_rejected == 0
    ind = salesperf.indicators(log, ladder().run(log), period="year")
    t = ind.table()
    t = t[t["period"].astype(str) == "all"]
    got = dict(zip(t["indicator"].astype(str), t["value"]))
    expected = df["action"].value_counts()
    for a, n in expected.items():
        assert got[f"occurrences:{a}"] == n, a
    assert len(ind.actions) == len(expected)
    assert salesperf.Indicators.from_bytes(ind.to_bytes()) == ind


# ---------------------------------------------------------------- dollars

def test_dollars_just_below_the_limit_sum_exactly() -> None:
    """Values are summed as value x 10,000 rounded, in 128 bits: 3,000 deals of
    $899,999,999,999,936 (a multiple of $64, so value x 10,000 is exact in a double)
    sum to 2.7e22 in fixed point, far past int64, with every digit kept."""
    n, v = 3000, 899_999_999_999_936.0
    df = pd.DataFrame({"deal": np.repeat(np.arange(n), 2),
                       "time": T0 + pd.to_timedelta(np.tile([0, 1], n), unit="D"),
                       "action": ["created", "sign"] * n, "rep": "r",
                       "amount": np.tile([v, np.nan], n)})
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB, nan_amount="null")
    tl = ladder().run(log)
    t = salesperf.indicators(log, tl, by=None, period="year").table()
    won = t[(t["period"].astype(str) == "all") & (t["indicator"].astype(str) == "won_dollars")]["value"].iloc[0]
    exact = Fraction(899_999_999_999_936) * n  # Python integers: 2,699,999,999,999,808,000
    assert exact * 10_000 > 2**63
    assert won == float(exact)
    lc = salesperf.leak_counts(log, tl, by=None)
    assert float(np.asarray(lc._core.value)[0, 0]) == float(exact)


@pytest.mark.parametrize("bad", [9e14, 1e300, -9e14])
def test_dollars_at_the_limit_are_an_error(bad: float) -> None:
    df = pd.DataFrame({"deal": ["ok", "big"], "time": [T0, T0], "action": ["created", "created"],
                       "rep": "r", "amount": [1.0, bad]})
    log = salesperf.EventLog.from_pandas(df, vocabulary=VOCAB, allow_negative_amount=True)
    tl = ladder().run(log)
    for fn in (salesperf.indicators, salesperf.funnel, salesperf.leak_counts):
        with pytest.raises(InvalidArgumentError, match=r"deal 'big'.*9e14"):
            fn(log, tl)


# ---------------------------------------------------------------- more than 2^31 rows

def _available_bytes() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


@pytest.mark.skipif(os.environ.get("SALESPERF_HUGE") != "1", reason="opt-in: SALESPERF_HUGE=1")
def test_huge_ingest() -> None:
    """2^31 + 10 rows with minimal columns (int64 deal ids, int64 ns times, action
    codes): every row accounted for, the last rows' positions past 2^31 intact."""
    n = 2**31 + 10
    # Input 8 + 8 + 8 bytes/row (the core reads int64 ids and codes) plus the log
    # (4 + 8 + 4 + 8): about 40 bytes a row at the peak.
    need = 40 * n
    if _available_bytes() < need:
        pytest.skip(f"needs about {need / 2**30:.0f} GiB free, {_available_bytes() / 2**30:.0f} GiB available")
    deal = np.arange(n, dtype=np.int64) // 4
    time = np.arange(n, dtype=np.int64) + T0.value
    action = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=["created"])
    log = salesperf.EventLog.from_pandas({"deal": deal, "time": time, "action": action},
                                         vocabulary=VOCAB)
    del deal, time, action
    assert log.report.rows_in == n and log.report.rows_accepted == n
    assert len(log) == n
    row = log._core.row
    assert int(row[-1]) == n - 1 and int(row[2**31]) == 2**31
    assert log.num_deals == (n + 3) // 4
