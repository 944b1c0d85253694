"""Writes the golden state files: run by hand, never by the test suite.

    cd <repo> && PYTHONPATH=<folder holding a built salesperf package> \\
        .venv/bin/python tests/golden/make_golden.py [--force] [--check]

For each serializable state (KINDS below) it computes the state from one fixed
synthetic company (``golden_figures.COMPANY``: ``salesperf.synth.company(events=5_000,
seed=20261123)``) and writes

* ``tests/golden/<kind>-v<version>.state``: the bytes of ``to_bytes()``; ``version`` is
  the format version in the envelope (bytes 8..11, little-endian);
* ``tests/golden/<kind>-v<version>.json``: the company's arguments, the SHA-256 of its
  events (``events_sha256``), and the headline figures computed from the events with
  plain pandas (``golden_figures.pandas_figures``), not with salesperf.

Before writing, it checks that the library's figures equal the pandas ones, and stops
if not (a golden file must be right, not merely what the code says today).

Files are kept forever: a later build must still read every ``-v<N>`` file. So an
existing file is never overwritten unless ``--force`` is given, which is only
legitimate when the file's own version is still the current one and the format has
not changed (e.g. to add a figure). When a format version is bumped, run this script:
it adds ``<kind>-v<N+1>.*`` beside the old files, which stay. ``--check`` writes
nothing and only reports whether the files on disk are what this build would write.

To add a kind: add it to compute_states with the function that computes it, add its
figures to golden_figures.py (both functions), and add it to Kinds() in
tests/cpp/golden_states_test.cc and KINDS in tests/python/test_golden_states.py.
The kinds: indicators, funnel, leaks, deviants (DeviantCounts with covariates
``golden_figures.DEVIANT_COVARIATES``) and behaviours (BehaviourCounts, default
24 h follow-up window), all on the company's stage model without stall limits.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import salesperf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from golden_figures import (
    COMPANY,
    DEVIANT_COVARIATES,
    INDICATOR_OPTIONS,
    events_hash,
    library_figures,
    pandas_figures,
)


def compute_states(co: Any) -> dict[str, Any]:
    """Every golden state of the company, by kind (threads=1; any count gives the same)."""
    log = co.event_log(threads=1)
    tl = co.stage_model().run(log, threads=1)
    kinds: dict[str, Callable[[], Any]] = {
        "indicators": lambda: salesperf.indicators(log, tl, **INDICATOR_OPTIONS, threads=1),
        "funnel": lambda: salesperf.funnel(log, tl, by="rep"),
        "leaks": lambda: salesperf.leak_counts(log, tl, by="rep"),
        "deviants": lambda: salesperf.deviant_counts(log, tl, covariates=DEVIANT_COVARIATES),
        "behaviours": lambda: salesperf.behaviour_counts(log, tl),
    }
    return {k: f() for k, f in kinds.items()}


def version_of(data: bytes) -> int:
    return int.from_bytes(data[8:12], "little")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--force", action="store_true", help="overwrite files of the current version")
    ap.add_argument("--check", action="store_true", help="write nothing; compare with the files on disk")
    ap.add_argument("--out", type=Path, default=HERE, help="folder (default: tests/golden)")
    args = ap.parse_args(argv)

    co = salesperf.synth.company(**COMPANY)
    events = co.events
    expected = pandas_figures(events)
    digest = events_hash(events)
    status = 0
    for kind, state in compute_states(co).items():
        data = state.to_bytes()
        version = version_of(data)
        got = library_figures(kind, state)
        want = {"units": expected["units"], "figures": expected[kind]}
        if got != want:
            print(f"{kind}: the library's figures differ from pandas'; nothing written", file=sys.stderr)
            for key in want["figures"]:
                if got["figures"].get(key) != want["figures"][key]:
                    print(f"  first difference under {key!r}", file=sys.stderr)
                    break
            status = 1
            continue
        doc = {
            "kind": kind,
            "format_version": version,
            "salesperf_version": salesperf.__version__,
            "company": COMPANY,
            "indicator_options": INDICATOR_OPTIONS if kind == "indicators" else None,
            "covariates": DEVIANT_COVARIATES if kind == "deviants" else None,
            "events_sha256": digest,
            "num_events": expected["num_events"],
            "num_deals": expected["num_deals"],
            "units": expected["units"],
            "figures": expected[kind],
        }
        state_path = args.out / f"{kind}-v{version}.state"
        json_path = args.out / f"{kind}-v{version}.json"
        if args.check:
            same = state_path.exists() and state_path.read_bytes() == data
            print(f"{state_path.name}: {'identical' if same else 'DIFFERENT or missing'}")
            status |= 0 if same else 1
            continue
        if state_path.exists() and not args.force:
            print(f"{state_path.name}: kept (exists; --force to overwrite)")
            continue
        state_path.write_bytes(data)
        json_path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        print(f"{state_path.name}: {len(data):,} bytes written, with {json_path.name}")
    return status


if __name__ == "__main__":
    sys.exit(main())
