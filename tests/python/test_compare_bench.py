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
    # Three business units (10,000 events each): the path of the 100M-event company.
    done = subprocess.run([sys.executable, str(BENCH), "--events", "30000", "--unit-events", "10000",
                           "--repeat", "1", "--threads", "1", "--json", str(out)], capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["tool"] for r in rows} == {"salesperf", "salesperf-nocache", "pandas", "polars", "duckdb"}
    for r in rows:
        assert r["equal"] == {q: True for q in ("timelines", "entries", "conversion", "flow")}, r["tool"]
        assert all(s > 0 for s in r["seconds"].values())


def test_business_units_keep_each_units_deals_actions_and_reps(tmp_path: Path) -> None:
    """The inputs of a company built from business units: each unit's rows are its own
    log's, with deals and reps renumbered after the previous units' and actions mapped
    onto one list by name (checked against each unit's log, generated again here)."""
    import numpy as np
    import pyarrow.feather as feather

    import salesperf

    sys.path.insert(0, str(BENCH.parent))
    try:
        import compare
    finally:
        sys.path.remove(str(BENCH.parent))
    path = tmp_path / "events.arrow"
    meta = compare.make_inputs(25_000, str(path), unit_events=10_000)
    table = feather.read_table(path).to_pandas()
    assert meta["units"] == 3 and meta["events"] == len(table)
    actions = [a for a in meta["stage_of"]]  # one entry per global action code
    start, deal_base, rep_names = 0, 0, []
    for k, size in enumerate([8_334, 8_333, 8_333]):
        log = salesperf.synth.company(events=size, seed=5 + k).event_log()
        part = table.iloc[start:start + len(log)]
        start += len(log)
        np.testing.assert_array_equal(part["deal"].to_numpy(), log.codes("deal") + deal_base)
        np.testing.assert_array_equal(part["time"].to_numpy(), log.time_ns)
        rep = log.codes("rep")
        got_rep = part["rep"].to_numpy()
        assert ((rep < 0) == (got_rep < 0)).all()
        names = np.asarray(meta["reps"], dtype=object)
        np.testing.assert_array_equal(names[got_rep[rep >= 0]],
                                      [f"u{k}/{r}" for r in np.asarray(log.dictionary("rep"))[rep[rep >= 0]]])
        # The stage code of each row's global action is that of the unit's own label.
        labels = np.asarray(log.dictionary("action"), dtype=object)[log.codes("action")]
        expect = [compare.LADDER.index(a) if a in compare.LADDER else
                  compare.WON if a == "sign" else compare.LOST if a == "decline" else -1 for a in labels]
        np.testing.assert_array_equal(np.asarray(actions)[part["action"].to_numpy()], expect)
        deal_base += log.num_deals
        rep_names += log.dictionary("rep")
    assert start == len(table) and meta["deals"] == deal_base and len(meta["reps"]) == len(rep_names)
    np.testing.assert_array_equal(table["seq"].to_numpy(), np.arange(len(table)))
