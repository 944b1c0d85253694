"""Every worked example of docs/semantics.md, checked against the engine and against the
pure-Python reference (tests/python/stage_reference.py).

The examples are read from the document itself: a marker comment
``<!-- salesperf:KIND NAME -->`` introduces the block that follows it (a fenced JSON model,
or a pipe table of events / transitions / deals / left / entered / stall_limits), and
``<!-- salesperf:as_of NAME TIME -->`` sets the time stalls are judged at. The expected
tables are written in the document by hand; doc and test cannot drift apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pandas as pd
import pytest
from stage_reference import (
    DEAL_COLUMNS,
    TRANSITION_COLUMNS,
    engine_tables,
    normalise,
    reference_run,
)

import salesperf

DOC = Path(__file__).resolve().parents[2] / "docs" / "semantics.md"
MARKER = re.compile(r"^<!-- salesperf:(\w+)(?: (\S+))?(?: (.*?))? -->\s*$")
TABLE_KINDS = ("events", "transitions", "deals", "left", "entered", "stall_limits")


@dataclass
class Example:
    name: str
    model: Optional[dict[str, Any]] = None
    as_of: Optional[pd.Timestamp] = None
    tables: dict[str, list[dict[str, str]]] = field(default_factory=dict)


def _table(lines: list[str], start: int) -> list[dict[str, str]]:
    rows: list[list[str]] = []
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    while i < len(lines) and lines[i].lstrip().startswith("|"):
        cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
        if not all(re.fullmatch(r":?-+:?", c) for c in cells):
            rows.append(cells)
        i += 1
    if not rows:
        raise AssertionError(f"line {start + 1}: a marker without a table after it")
    header, body = rows[0], rows[1:]
    assert all(len(r) == len(header) for r in body), f"ragged table at line {start + 1}"
    return [dict(zip(header, r)) for r in body]


def _json_block(lines: list[str], start: int) -> dict[str, Any]:
    i = start
    while i < len(lines) and not lines[i].startswith("```"):
        i += 1
    j = i + 1
    while j < len(lines) and not lines[j].startswith("```"):
        j += 1
    model: dict[str, Any] = json.loads("\n".join(lines[i + 1: j]))
    return model


def parse_doc(text: str) -> tuple[dict[str, str], dict[str, Example]]:
    lines = text.splitlines()
    vocabulary: dict[str, str] = {}
    examples: dict[str, Example] = {}
    for n, line in enumerate(lines):
        m = MARKER.match(line)
        if not m:
            continue
        kind, name, rest = m.group(1), m.group(2), m.group(3)
        if kind == "vocabulary":
            vocabulary = {r["action"]: r["actor"] for r in _table(lines, n + 1)}
            continue
        assert name, f"line {n + 1}: marker {kind} without an example name"
        ex = examples.setdefault(name, Example(name))
        if kind == "model":
            assert ex.model is None, f"example {name}: two models"
            ex.model = _json_block(lines, n + 1)
        elif kind == "as_of":
            ex.as_of = pd.Timestamp(rest, tz="UTC")
        elif kind in TABLE_KINDS:
            assert kind not in ex.tables, f"example {name}: two {kind} tables"
            ex.tables[kind] = _table(lines, n + 1)
        else:
            raise AssertionError(f"line {n + 1}: unknown marker kind {kind!r}")
    return vocabulary, examples


VOCABULARY, EXAMPLES = parse_doc(DOC.read_text(encoding="utf-8"))


def _none(cell: str) -> Optional[str]:
    return cell if cell else None


def _time(cell: str) -> Any:
    return pd.Timestamp(cell, tz="UTC") if cell else pd.NaT


def events_frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    cols = rows[0].keys()
    data: dict[str, Any] = {
        "deal": [r["deal"] for r in rows],
        "time": pd.to_datetime([r["time"] for r in rows], utc=True),
        "action": [r["action"] for r in rows],
    }
    for c in ("contact", "contact_role"):
        if c in cols:
            data[c] = pd.Series([_none(r[c]) for r in rows], dtype=object)
    if "amount" in cols:
        data["amount"] = pd.array([float(r["amount"]) if r["amount"] else None for r in rows],
                                  dtype="Float64")
    return pd.DataFrame(data)


def expected_deals(rows: list[dict[str, str]]) -> pd.DataFrame:
    assert list(rows[0].keys()) == ["deal"] + DEAL_COLUMNS
    index = pd.Index([r["deal"] for r in rows], name="deal", dtype=object)
    return pd.DataFrame({
        "current_stage": [_none(r["current_stage"]) for r in rows],
        "outcome": [r["outcome"] for r in rows],
        "outcome_time": pd.to_datetime([_time(r["outcome_time"]) for r in rows], utc=True),
        "lost_reason": [_none(r["lost_reason"]) for r in rows],
        "value": [float(r["value"]) if r["value"] else float("nan") for r in rows],
    }, index=index)


def expected_transitions(rows: list[dict[str, str]]) -> pd.DataFrame:
    assert list(rows[0].keys()) == TRANSITION_COLUMNS
    assert all(r["in_window"] in ("true", "false") for r in rows)
    return pd.DataFrame({
        "deal": [r["deal"] for r in rows],
        "from_stage": [_none(r["from_stage"]) for r in rows],
        "to_stage": [_none(r["to_stage"]) for r in rows],
        "time": pd.to_datetime([r["time"] for r in rows], utc=True),
        "kind": [r["kind"] for r in rows],
        "in_window": [r["in_window"] == "true" for r in rows],
        "action": [_none(r["action"]) for r in rows],
    })


def expected_stage_table(rows: list[dict[str, str]]) -> pd.DataFrame:
    stages = [c for c in rows[0] if c != "deal"]
    index = pd.Index([r["deal"] for r in rows], name="deal", dtype=object)
    return pd.DataFrame({s: pd.to_datetime([_time(r[s]) for r in rows], utc=True)
                         for s in stages}, index=index)


def check(name: str, got: dict[str, Any]) -> None:
    """Compares the tables the example writes out with `got` (normalised)."""
    ex = EXAMPLES[name]
    g = normalise(got)
    pd.testing.assert_frame_equal(g["transitions"],
                                  normalise_like(expected_transitions(ex.tables["transitions"]),
                                                 "transitions"), obj="transitions")
    pd.testing.assert_frame_equal(g["deals"],
                                  normalise_like(expected_deals(ex.tables["deals"]), "deals"),
                                  obj="deals")
    for key in ("left", "entered"):
        if key in ex.tables:
            want = expected_stage_table(ex.tables[key])
            pd.testing.assert_frame_equal(g[key][list(want.columns)],
                                          normalise_like(want, key), obj=key)
    if "stall_limits" in ex.tables:
        rows = ex.tables["stall_limits"]
        want_sl = pd.Series([pd.Timedelta(r["limit"]) if r["limit"] else pd.NaT for r in rows],
                            index=pd.Index([r["stage"] for r in rows], dtype=object),
                            dtype="timedelta64[ns]", name="stall_limit")
        pd.testing.assert_series_equal(g["stall_limits"], want_sl, obj="stall_limits")
    if ex.as_of is not None:
        assert g["as_of"] == ex.as_of


def normalise_like(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Runs a hand-written table through the same normalisation as the results."""
    empty_deals = pd.DataFrame({c: [] for c in DEAL_COLUMNS})
    empty_trans = pd.DataFrame({c: [] for c in TRANSITION_COLUMNS})
    tables: dict[str, Any] = {
        "deals": empty_deals, "transitions": empty_trans,
        "entered": pd.DataFrame(), "left": pd.DataFrame(),
        "stall_limits": pd.Series([], dtype="timedelta64[ns]"),
        "as_of": pd.Timestamp(0, tz="UTC"),
    }
    tables[key] = frame
    result: pd.DataFrame = normalise(tables)[key]
    return result


def run_engine(ex: Example) -> dict[str, Any]:
    assert ex.model is not None
    log = salesperf.EventLog.from_pandas(events_frame(ex.tables["events"]),
                                         vocabulary=VOCABULARY)
    assert log.report.rows_rejected == 0
    model = salesperf.StageModel.from_dict(ex.model)
    return engine_tables(model.run(log, as_of=ex.as_of))


def run_reference(ex: Example) -> dict[str, Any]:
    assert ex.model is not None
    log = salesperf.EventLog.from_pandas(events_frame(ex.tables["events"]),
                                         vocabulary=VOCABULARY)
    return reference_run(log.to_pandas(), ex.model, as_of=ex.as_of)


NAMES = sorted(EXAMPLES)


def test_the_document_has_complete_examples() -> None:
    assert len(EXAMPLES) >= 15 and VOCABULARY
    for name, ex in EXAMPLES.items():
        assert ex.model is not None, name
        for kind in ("events", "transitions", "deals"):
            assert kind in ex.tables, (name, kind)
        used = {a for r in ex.tables["events"] for a in [r["action"]]}
        assert used <= set(VOCABULARY), (name, used - set(VOCABULARY))
    kinds = {k for ex in EXAMPLES.values() for r in ex.tables["transitions"]
             for k in [r["kind"]]}
    assert kinds == {"progressed", "skipped", "regressed", "reopened", "won", "lost",
                     "excluded"}
    outcomes = {r["outcome"] for ex in EXAMPLES.values() for r in ex.tables["deals"]}
    assert outcomes == {"open", "won", "lost", "stalled", "excluded"}


@pytest.mark.parametrize("name", NAMES)
def test_example_reference(name: str) -> None:
    check(name, run_reference(EXAMPLES[name]))


@pytest.mark.parametrize("name", NAMES)
def test_example_engine(name: str) -> None:
    check(name, run_engine(EXAMPLES[name]))
