"""Determinism: the same input gives bit-identical output whatever the thread count
(1, 2, 3, 7: fewer, equal to and more than the cores, and an odd split), across two
runs in one process, and in a fresh interpreter (another hash seed, another address
layout), for the synthetic company and the BPIC 2012 log (skipped when absent).

"Bit-identical" means: serialized states compared as bytes, every array of the
timelines and the log compared with numpy's array_equal (NaN equal to NaN, no
tolerance), DataFrames with assert_frame_equal(check_exact=True); across processes,
SHA-256 digests of the same arrays and bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import salesperf
from salesperf import datasets

THREADS = (1, 2, 3, 7)
SYNTH = {"events": 40_000, "seed": 5}


def bpic_path() -> Path | None:
    try:
        return datasets.bpic2012_path()
    except FileNotFoundError:
        return None


def run_pipeline(source: str, threads: int, synth: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every output of the report-free pipeline on ``source`` ("synth": the company of
    ``synth`` arguments, default SYNTH; or "bpic"), with ``threads`` wherever a call
    takes it: numpy arrays, bytes and DataFrames by name."""
    out: dict[str, Any] = {}
    if source == "synth":
        co = salesperf.synth.company(**(SYNTH if synth is None else synth), threads=threads)
        for name, col in co.raw["columns"].items():
            out[f"synth.{name}"] = np.asarray(col).copy()
        out["synth.deal_outcome"] = np.asarray(co.raw["deal_outcome"]).copy()
        log = co.event_log(threads=threads)
        model = co.stage_model(stall_after="45d", close_stalled_after="30d")
    else:
        path = bpic_path()
        assert path is not None
        log = datasets.load_bpic2012(path, threads=threads)
        model = datasets.bpic2012_stage_model()
    out["log.time"] = np.asarray(log.time_ns).copy()
    out["log.deal_offsets"] = np.asarray(log.deal_offsets).copy()
    for col in ("deal", "action", "rep"):
        codes = log.codes(col)
        if codes is not None:
            out[f"log.{col}"] = np.asarray(codes).copy()
    out["log.frame"] = log.to_pandas()
    out["log.report.rejected"] = log.report.rejected
    tl = model.run(log, threads=threads)
    core = tl._core
    for name in ("current_stage", "outcome", "outcome_time", "lost_reason", "value", "quiet_since",
                 "first_entered", "last_left"):
        out[f"timelines.{name}"] = np.asarray(getattr(core, name)).copy()
    for name, arr in core.transitions.items():
        out[f"timelines.transitions.{name}"] = np.asarray(arr).copy()
    out["timelines.deals"] = tl.deals
    out["timelines.transitions"] = tl.transitions
    ind = salesperf.indicators(log, tl, by="rep", period="week", threads=threads)
    out["indicators.bytes"] = ind.to_bytes()
    out["indicators.table"] = ind.table()
    fun = salesperf.funnel(log, tl, by="rep")
    out["funnel.bytes"] = fun.to_bytes()
    out["funnel.summary"] = fun.summary()
    lc = salesperf.leak_counts(log, tl, by="rep")
    out["leaks.bytes"] = lc.to_bytes()
    out["leaks.table"] = lc.assess().table()
    if source == "synth":
        dev = salesperf.deviants(log, tl, by="rep")
        out["deviants.table"] = dev.table()
        beh = salesperf.behaviours(log, tl, by="rep", deviants=dev)
        out["behaviours.table"] = beh.table()
    return out


def _frame_digest(df: pd.DataFrame, h: Any) -> None:
    h.update(repr(list(df.columns)).encode())
    h.update(repr([str(t) for t in df.dtypes]).encode())
    h.update(pd.util.hash_pandas_object(df.index, index=False).to_numpy().tobytes())
    for c in df.columns:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            h.update(repr(list(s.cat.categories)).encode())
            h.update(np.asarray(s.cat.codes).tobytes())
        elif s.dtype == object:
            h.update(repr(s.tolist()).encode())
        else:
            h.update(pd.util.hash_pandas_object(s, index=False).to_numpy().tobytes())


def digests(outputs: dict[str, Any]) -> dict[str, str]:
    """SHA-256 per output: raw bytes of arrays (dtype and shape included), bytes as
    they are, DataFrames column by column."""
    out = {}
    for name, v in outputs.items():
        h = hashlib.sha256()
        if isinstance(v, bytes):
            h.update(v)
        elif isinstance(v, np.ndarray):
            h.update(f"{v.dtype.str}{v.shape}".encode())
            h.update(np.ascontiguousarray(v).tobytes())
        else:
            _frame_digest(v, h)
        out[name] = h.hexdigest()
    return out


def assert_identical(a: dict[str, Any], b: dict[str, Any], what: str) -> None:
    assert a.keys() == b.keys(), what
    for name, x in a.items():
        y = b[name]
        if isinstance(x, bytes):
            assert x == y, f"{what}: {name} bytes differ"
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, f"{what}: {name}"
            # Bit-identical, NaN included: compare the raw bytes.
            assert np.ascontiguousarray(x).tobytes() == np.ascontiguousarray(y).tobytes(), f"{what}: {name}"
        else:
            pd.testing.assert_frame_equal(x, y, check_exact=True, obj=f"{what}: {name}")


SOURCES = ["synth", pytest.param("bpic", marks=pytest.mark.skipif(
    bpic_path() is None, reason="BPIC 2012 data absent (../shared/data/bpic2012)"))]


@pytest.fixture(scope="module")
def baseline() -> dict[str, dict[str, Any]]:
    """threads=1 outputs per source, computed once."""
    return {}


def _base(baseline: dict[str, dict[str, Any]], source: str) -> dict[str, Any]:
    if source not in baseline:
        baseline[source] = run_pipeline(source, 1)
    return baseline[source]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("threads", THREADS[1:])
def test_same_output_for_any_thread_count(source: str, threads: int,
                                          baseline: dict[str, dict[str, Any]]) -> None:
    assert_identical(_base(baseline, source), run_pipeline(source, threads), f"threads=1 vs {threads}")


@pytest.mark.parametrize("source", SOURCES)
def test_same_output_on_a_second_run(source: str, baseline: dict[str, dict[str, Any]]) -> None:
    # threads=0 (every core) as a user would call it; twice.
    first = run_pipeline(source, 0)
    assert_identical(_base(baseline, source), first, "threads=1 vs 0")
    assert_identical(first, run_pipeline(source, 0), "run 1 vs run 2")


_CHILD = """
import json, sys
sys.path.insert(0, {tests!r})
from test_determinism import digests, run_pipeline
print(json.dumps(digests(run_pipeline({source!r}, 3))))
"""


@pytest.mark.parametrize("source", SOURCES)
def test_same_output_in_a_fresh_process(source: str, baseline: dict[str, dict[str, Any]]) -> None:
    env = dict(os.environ, PYTHONHASHSEED="12345")
    code = _CHILD.format(tests=str(Path(__file__).resolve().parent), source=source)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    child = json.loads(done.stdout.strip().splitlines()[-1])
    here = digests(_base(baseline, source))
    assert child.keys() == here.keys()
    differ = [k for k in here if here[k] != child[k]]
    assert not differ, f"outputs that differ in a fresh process: {differ}"


def test_digests_see_a_one_bit_change() -> None:
    """The comparison is not vacuous: a one-bit change of any kind of output changes
    its digest and fails assert_identical."""
    a = {"x": np.array([1.0, np.nan]), "b": b"\x00\x01",
         "f": pd.DataFrame({"v": [0.1, 0.2], "c": pd.Categorical(["a", "b"])})}
    b = {"x": np.array([np.nextafter(1.0, 2.0), np.nan]), "b": b"\x00\x03",
         "f": pd.DataFrame({"v": [0.1, np.nextafter(0.2, 1.0)], "c": pd.Categorical(["a", "b"])})}
    da, db = digests(a), digests(b)
    assert all(da[k] != db[k] for k in a)
    for k, v in a.items():
        with pytest.raises(AssertionError):
            assert_identical({k: v}, {k: b[k]}, "mutated")
