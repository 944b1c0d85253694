"""bench/compare.py at a small size: the four tools (and salesperf with its column cache
off) must agree on every query before anything is timed, so this runs the comparison's
equality checks in the test suite (the timings themselves are `make compare`'s)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "compare.py"

pytest.importorskip("polars")
pytest.importorskip("duckdb")


def test_every_tool_gives_salesperfs_results(tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    done = subprocess.run([sys.executable, str(BENCH), "--events", "30000", "--repeat", "1", "--threads", "1",
                           "--json", str(out)], capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["tool"] for r in rows} == {"salesperf", "salesperf-nocache", "pandas", "polars", "duckdb"}
    for r in rows:
        assert r["equal"] == {q: True for q in ("timelines", "entries", "conversion", "flow")}, r["tool"]
        assert all(s > 0 for s in r["seconds"].values())
