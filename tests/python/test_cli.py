"""The `salesperf` command: sections printed, and exit codes that tell bad input apart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from salesperf.__main__ import main


def test_demo_prints_the_accounting_and_the_funnel(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["demo", "--events", "5000", "--seed", "3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for section in ("-- ingest accounting", "-- events by actor and action", "-- deals by rep",
                    "-- funnel by buyer-defined stage", "-- leading indicators by quarter",
                    "conversion from each stage", "-- reps by dollars in the door",
                    "-- the funnel as a Markov chain", "open pipeline:",
                    "-- open deals needing attention", "-- where the bucket leaks", "gap to the team median",
                    "flagged stage leaks", "-- the nine practices", "best practices to adopt first", "charts:",
                    "-- working backwards from the number", "what-if over 52 weeks", "-- positive deviance",
                    "practices to replicate", "-- skill or will?", "-- plan against actual", "key accounts in"):
        assert section in out
    for chart in ("leak_waterfall.png", "practice_scores.png", "target_vs_run_rate.png", "rep_quadrant.png"):
        assert (tmp_path / chart).stat().st_size > 10_000
    accounting = re.search(r"(\d+) rows in = (\d+) accepted \+ (\d+) rejected", out)
    assert accounting is not None
    rows_in, accepted, rejected = map(int, accounting.groups())
    assert rows_in == accepted + rejected and rows_in >= 5000


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", "--events", "many"])
    assert info.value.code == 2
    assert main(["demo", "--events", "0"]) == 2
    assert "events" in capsys.readouterr().err
