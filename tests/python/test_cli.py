"""The `salesperf` command: sections printed, the report and the scorecard written end
to end, and exit codes that tell bad input (2, one line naming the file) apart from an
internal error (1)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import salesperf
import salesperf.report
from salesperf import synth
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
    # and the HTML report beside them, with a coaching page per rep
    assert f"report: {tmp_path / 'report.html'}" in out
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<section id="summary"' in page and page.count('<article id="rep-') == 24
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


# ----------------------------------------------------------------------- report and score
def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m salesperf ...` in a child process, with the package the tests import
    (the environment, PYTHONPATH included, is inherited)."""
    return subprocess.run([sys.executable, "-m", "salesperf", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600, check=False)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("cli")
    company = synth.company(events=30_000, seed=5)
    events = company.events
    events.to_csv(d / "events.csv", index=False)
    events.to_parquet(d / "events.parquet")
    model = company.stage_model(stall_after="45d", close_stalled_after="30d")
    (d / "model.toml").write_text(model.to_toml(), encoding="utf-8")
    (d / "model.json").write_text(model.to_json(), encoding="utf-8")
    reps = sorted(events["rep"].dropna().astype(str).unique())
    plan = pd.DataFrame({"unit": reps[:6], "period": "2025Q4", "target": 90_000.0})
    plan.to_csv(d / "plan.csv", index=False)
    synth.survey(seed=5).to_csv(d / "survey.csv", index=False)
    return {"dir": d, "events": events, "reps": reps, "plan": plan, "model": model}


def test_report_end_to_end(inputs: dict[str, Any]) -> None:
    d = inputs["dir"]
    done = run_cli("report", "events.csv", "--model", "model.toml", "--plan", "plan.csv", "--survey", "survey.csv",
                   "--covariates", "segment,product", "-o", "out/report.html", cwd=d)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.strip() == f"report: out/report.html ({len(inputs['reps'])} coaching pages)"
    page = (d / "out" / "report.html").read_text(encoding="utf-8")
    for sid in salesperf.report.SECTIONS:
        assert f'<section id="{sid}"' in page
    for rep in inputs["reps"]:
        assert f'<article id="rep-{rep}"' in page
    # the plan, the survey and the rows of the CSV made it in
    m = re.search(r'data-figure="pva_target"><dt>[^<]*</dt><dd>([^<]*)</dd>', page)
    assert m is not None and m.group(1) == f"${inputs['plan']['target'].sum():,.0f}"
    assert "data signals only" not in page
    m = re.search(r'data-figure="rows_in"><dt>[^<]*</dt><dd>([^<]*)</dd>', page)
    assert m is not None and m.group(1) == f"{len(inputs['events']):,}"
    assert "<title>salesperf report: events.csv</title>" in page


def test_report_from_parquet_and_json_by_team(inputs: dict[str, Any]) -> None:
    d = inputs["dir"]
    done = run_cli("report", "events.parquet", "--model", "model.json", "--by", "team", "--period", "quarter",
                   "--progress", "-o", "team.html", cwd=d)
    assert done.returncode == 0, done.stderr
    assert "salesperf report" in done.stderr and "100%" in done.stderr  # the progress bar, forced
    assert "Traceback" not in done.stderr
    page = (d / "team.html").read_text(encoding="utf-8")
    teams = sorted(inputs["events"]["team"].dropna().astype(str).unique())
    assert re.findall(r'<article id="([^"]+)"', page) == [f"unit-{t}" for t in teams]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_score_end_to_end(inputs: dict[str, Any], suffix: str) -> None:
    from salesperf.scoring import SCORECARD_SCHEMA, scorecard

    d = inputs["dir"]
    done = run_cli("score", "events.csv", "--model", "model.toml", "--period", "month", "-o", f"scores.{suffix}",
                   cwd=d)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    path = d / f"scores.{suffix}"
    got = pd.read_csv(path) if suffix == "csv" else pd.read_parquet(path)
    log = salesperf.EventLog.read_csv(d / "events.csv", dimensions=["segment", "territory", "product",
                                                                   "lead_source", "team"])
    timelines = inputs["model"].run(log)
    expected = scorecard(log, timelines, by="rep", period="month")
    # the file holds the scorecard of the API, every column documented (per stage: <stage>)
    assert list(got.columns) == list(expected.columns) and len(got) == len(expected) > 0
    stages = timelines.stage_names[:-2]
    documented = {c.replace("<stage>", s) for c in SCORECARD_SCHEMA["column"] for s in stages}
    assert set(got.columns) <= documented
    assert sorted(got["unit"].astype(str).unique()) == inputs["reps"]
    for c in expected.columns:
        if pd.api.types.is_float_dtype(expected[c]):
            assert np.allclose(got[c].to_numpy(float), expected[c].to_numpy(float), equal_nan=True, rtol=1e-12), c
    assert done.stdout.startswith(f"scorecard: scores.{suffix} ({len(expected):,} rows")


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory, inputs: dict[str, Any]) -> Path:
    """Small good inputs, and one bad file of each kind."""
    d = tmp_path_factory.mktemp("bad")
    company = synth.company(events=3_000, seed=2)
    company.events.to_csv(d / "events.csv", index=False)
    (d / "model.toml").write_text(company.stage_model().to_toml(), encoding="utf-8")
    (d / "broken.csv").write_text('deal,time,action\n"unterminated,1,2\n', encoding="utf-8")
    (d / "nocol.csv").write_text("deal,when,action,actor\nd1,2025-01-01T00:00Z,reply,buyer\n", encoding="utf-8")
    (d / "garbage.parquet").write_bytes(b"PAR1 this is not parquet")
    (d / "events.xlsx").write_text("x", encoding="utf-8")
    (d / "bad.toml").write_text('version = 1\n[[stages]\nname = "A"\n', encoding="utf-8")
    (d / "badrule.toml").write_text('version = 1\n[[stages]]\nname = "A"\nrules = [{anyy = ["reply"]}]\n',
                                    encoding="utf-8")
    (d / "unknown.toml").write_text('version = 1\n[[stages]]\nname = "A"\nrules = [{any = ["teleport"]}]\n',
                                    encoding="utf-8")
    (d / "model.yaml").write_text("stages: []\n", encoding="utf-8")
    (d / "plan_unit.csv").write_text("unit,period,target\nrep-01,2025Q4,100\nnobody,2025Q4,100\n", encoding="utf-8")
    (d / "plan_target.csv").write_text("unit,period,target\nrep-01,2025Q4,-5\n", encoding="utf-8")
    (d / "plan_cols.csv").write_text("unit,period\nrep-01,2025Q4\n", encoding="utf-8")
    (d / "survey.csv").write_text("respondent,role,statement,value\nm1,manager,cr1,lots\n", encoding="utf-8")
    return d


# (arguments, the file the message must name, words it must contain)
BAD_INPUTS = [
    (["report", "missing.csv", "--model", "model.toml"], "missing.csv", "no such file"),
    (["report", "broken.csv", "--model", "model.toml"], "broken.csv", "CSV parse error"),
    (["report", "garbage.parquet", "--model", "model.toml"], "garbage.parquet", "Parquet"),
    (["report", "events.xlsx", "--model", "model.toml"], "events.xlsx", "unknown format '.xlsx'"),
    (["report", "nocol.csv", "--model", "model.toml"], "nocol.csv", "column 'time' (for time) is not in the data"),
    (["report", "events.csv", "--model", "missing.toml"], "missing.toml", "no such file"),
    (["report", "events.csv", "--model", "bad.toml"], "bad.toml", "line 2"),
    (["report", "events.csv", "--model", "badrule.toml"], "badrule.toml",
     "stages[0] ('A').rules[0]: unknown key 'anyy'"),
    (["report", "events.csv", "--model", "unknown.toml"], "unknown.toml", "action 'teleport' is not in the vocabulary"),
    (["report", "events.csv", "--model", "model.yaml"], "model.yaml", "give a .toml or .json"),
    (["report", "events.csv", "--model", "model.toml", "--plan", "plan_unit.csv"], "plan_unit.csv",
     "objectives row 1 (unit 'nobody'), column 'unit'"),
    (["report", "events.csv", "--model", "model.toml", "--plan", "plan_target.csv"], "plan_target.csv",
     "column 'target': -5.0"),
    (["report", "events.csv", "--model", "model.toml", "--plan", "plan_cols.csv"], "plan_cols.csv",
     "no column 'target'"),
    (["report", "events.csv", "--model", "model.toml", "--plan", "missing_plan.csv"], "missing_plan.csv",
     "no such file"),
    (["report", "events.csv", "--model", "model.toml", "--survey", "survey.csv"], "survey.csv",
     "answers row 0: column value 'lots' is not a number"),
    (["report", "events.csv", "--model", "model.toml", "--covariates", "segment,nope"], "events.csv",
     "--covariates: no dimension column 'nope'"),
    (["report", "events.csv", "--model", "model.toml", "--by", "nope"], "events.csv", "--by: no column 'nope'"),
    (["score", "events.csv", "--model", "model.toml", "-o", "scores.xlsx"], "scores.xlsx", "give .parquet or .csv"),
    (["score", "nocol.csv", "--model", "model.toml", "-o", "scores.csv"], "nocol.csv", "column 'time'"),
]


@pytest.mark.parametrize("args,where,what", BAD_INPUTS, ids=[f"{a[0]}-{w}-{x[:14]}" for a, w, x in BAD_INPUTS])
def test_bad_input_exits_2_with_one_line(bad: Path, args: list[str], where: str, what: str,
                                         capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(bad)
    out = args + (["-o", "out.html"] if args[0] == "report" else [])
    assert main(out) == 2
    err = capsys.readouterr().err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(f"salesperf: {where}: "), err
    assert what in err, err
    assert "Traceback" not in err
    assert not (bad / "out.html").exists()


def test_bad_input_in_a_child_process(bad: Path) -> None:
    """The same, as a user sees it: exit status 2 and one line, no traceback."""
    for args, where, what in (BAD_INPUTS[0], BAD_INPUTS[6], BAD_INPUTS[10]):
        done = run_cli(*args, "-o", "out.html", cwd=bad)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"salesperf: {where}: "), done.stderr
        assert what in done.stderr and "Traceback" not in done.stderr
        assert done.stdout == ""


def test_internal_error_exits_1_with_one_line(bad: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(bad)

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(salesperf.report, "assess_leaks", boom)
    assert main(["report", "events.csv", "--model", "model.toml", "-o", "out.html"]) == 1
    err = capsys.readouterr().err
    assert err == "salesperf: internal error: RuntimeError: boom second line (please report it with the " \
                  "command and input)\n"
    assert not (bad / "out.html").exists()

    def internal(*args: Any, **kwargs: Any) -> Any:
        raise salesperf.errors.InternalError("an invariant broke")

    monkeypatch.setattr(salesperf.report, "assess_leaks", internal)
    assert main(["report", "events.csv", "--model", "model.toml", "-o", "out.html"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: an invariant broke" in err and "please report" in err


def test_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["--help"], ["report", "--help"], ["score", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 0
        out = capsys.readouterr().out
        assert "exit codes:" in out and "2  bad input" in out and "1  internal error" in out
