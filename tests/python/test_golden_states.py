"""Golden state files (tests/golden, written by tests/golden/make_golden.py): every
file of every format version ever released must load in this build, give the
figures computed independently with pandas when it was written (in the JSON beside
it), and write back the same bytes; the current version's files must also equal the
state recomputed today from the same synthetic company, unless the generator's
output changed (then that one check is skipped, saying so).

Damaged copies give the documented Python errors: DataLossError (a ValueError) for
truncated or corrupted bytes, FailedPreconditionError for another format version.
The exhaustive byte-by-byte and bit-by-bit sweeps run in C++
(tests/cpp/golden_states_test.cc); here a sample checks the Python error types.
"""

from __future__ import annotations

import json
import pickle
import random
import sys
from pathlib import Path
from typing import Any

import pytest
import salesperf
from salesperf.errors import DataLossError, FailedPreconditionError

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
sys.path.insert(0, str(GOLDEN))

from golden_figures import COMPANY, events_hash, library_figures
from make_golden import compute_states

KINDS: dict[str, Any] = {
    "indicators": salesperf.Indicators,
    "funnel": salesperf.Funnel,
    "leaks": salesperf.LeakCounts,
    "deviants": salesperf.DeviantCounts,
    "behaviours": salesperf.BehaviourCounts,
}


def _files() -> list[tuple[str, Path]]:
    out = []
    for kind in KINDS:
        out += [(kind, p) for p in sorted(GOLDEN.glob(f"{kind}-v*.state"))]
    return out


FILES = _files()
IDS = [p.name for _, p in FILES]


def _current_version(kind: str) -> int:
    """The format version this build writes (read from a fresh, empty-ish state's bytes
    would need a log; the newest golden file of the kind that loads is enough, and
    test_current_version_file_exists pins it to what this build writes)."""
    return max(int(p.stem.split("-v")[1]) for k, p in FILES if k == kind)


@pytest.fixture(scope="module")
def today() -> dict[str, Any]:
    """The company and its states recomputed by this build."""
    co = salesperf.synth.company(**COMPANY)
    return {"hash": events_hash(co.events), "states": compute_states(co)}


def test_every_kind_has_golden_files() -> None:
    for kind in KINDS:
        assert any(k == kind for k, _ in FILES), f"no {kind}-v*.state: run tests/golden/make_golden.py"


def test_current_version_file_exists(today: dict[str, Any]) -> None:
    """This build's format version of every kind has its golden file (so a format
    change without a version bump and a new golden file is caught)."""
    for kind, state in today["states"].items():
        version = int.from_bytes(state.to_bytes()[8:12], "little")
        assert (GOLDEN / f"{kind}-v{version}.state").exists(), \
            f"{kind}: this build writes version {version}; run tests/golden/make_golden.py"


@pytest.mark.parametrize("kind,path", FILES, ids=IDS)
def test_loads_with_its_figures(kind: str, path: Path) -> None:
    doc = json.loads(path.with_suffix(".json").read_text())
    data = path.read_bytes()
    assert doc["kind"] == kind
    assert doc["format_version"] == int.from_bytes(data[8:12], "little") == int(path.stem.split("-v")[1])
    state = KINDS[kind].from_bytes(data)
    got = library_figures(kind, state)
    assert got["units"] == doc["units"]
    assert got["figures"] == doc["figures"]
    # Sanity of the JSON itself: figures that must add up.
    if kind == "leaks":
        assert sum(u["deals"] for u in doc["figures"].values()) == doc["num_deals"]
    if kind == "indicators":
        assert sum(doc["figures"]["occurrences"].values()) == doc["num_events"]
    if kind == "deviants":
        per_unit = doc["figures"]["per_unit"].values()
        assert sum(u["decided"] for u in per_unit) == doc["figures"]["decided_deals"] > 0
        assert all(0 <= u["won"] <= u["decided"] for u in per_unit)
    if kind == "behaviours":
        for stage in doc["figures"].values():
            assert 0 <= stage["advanced"] <= stage["trials"]
            assert all(0 <= ap <= p <= stage["trials"] for p, ap in stage["features"].values())


@pytest.mark.parametrize("kind,path", FILES, ids=IDS)
def test_reserializes_byte_identically(kind: str, path: Path) -> None:
    data = path.read_bytes()
    state = KINDS[kind].from_bytes(data)
    if int(path.stem.split("-v")[1]) == _current_version(kind):
        assert state.to_bytes() == data
    # Whatever the version: what this build writes, it reads back equal, and pickle too.
    again = KINDS[kind].from_bytes(state.to_bytes())
    assert again == state
    assert pickle.loads(pickle.dumps(state)) == state


@pytest.mark.parametrize("kind", list(KINDS))
def test_equals_the_state_recomputed_today(kind: str, today: dict[str, Any]) -> None:
    path = GOLDEN / f"{kind}-v{_current_version(kind)}.state"
    doc = json.loads(path.with_suffix(".json").read_text())
    if today["hash"] != doc["events_sha256"]:
        pytest.skip(f"the synthetic generator's output changed (events sha256 {today['hash'][:12]} "
                    f"!= {doc['events_sha256'][:12]} when {path.name} was written): the golden file "
                    "still loads and keeps its figures, but cannot be recomputed")
    state = today["states"][kind]
    golden = KINDS[kind].from_bytes(path.read_bytes())
    assert state == golden
    assert state.to_bytes() == path.read_bytes()


# ---- damaged bytes: the Python exception types ----

def _cases(data: bytes, rng: random.Random) -> list[tuple[str, bytes, type[Exception]]]:
    out: list[tuple[str, bytes, type[Exception]]] = []
    cuts = sorted(set(range(40)) | set(range(len(data) - 16, len(data)))
                  | set(rng.sample(range(len(data)), 100)))
    out += [(f"cut {n}", data[:n], DataLossError) for n in cuts if n < len(data)]
    out.append(("one byte more", data + b"\0", DataLossError))
    for bit in rng.sample(range(len(data) * 8), 300):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        want = FailedPreconditionError if 8 <= bit // 8 < 12 else DataLossError
        out.append((f"bit {bit}", bytes(flipped), want))
    out.append(("magic", b"X" + data[1:], DataLossError))
    for v in (0, 2**32 - 1):
        out.append((f"version {v}", data[:8] + v.to_bytes(4, "little") + data[12:], FailedPreconditionError))
    out.append(("flags", data[:12] + (1).to_bytes(4, "little") + data[16:], DataLossError))
    return out


@pytest.mark.parametrize("kind", list(KINDS))
def test_damaged_bytes_raise_the_documented_errors(kind: str) -> None:
    path = GOLDEN / f"{kind}-v{_current_version(kind)}.state"
    data = path.read_bytes()
    rng = random.Random(9)
    for name, bad, want in _cases(data, rng):
        with pytest.raises(want) as info:
            KINDS[kind].from_bytes(bad)
        assert type(info.value) is want, name
    # DataLossError is a ValueError, FailedPreconditionError a RuntimeError.
    with pytest.raises(ValueError):
        KINDS[kind].from_bytes(data[:-1])
    bumped = data[:8] + (_current_version(kind) + 1).to_bytes(4, "little") + data[12:]
    with pytest.raises(RuntimeError, match=f"state version {_current_version(kind) + 1}, this build reads "
                                           f"{_current_version(kind)}"):
        KINDS[kind].from_bytes(bumped)


def test_one_kinds_bytes_are_not_anothers() -> None:
    for kind in KINDS:
        data = (GOLDEN / f"{kind}-v{_current_version(kind)}.state").read_bytes()
        for other, cls in KINDS.items():
            if other != kind:
                with pytest.raises(DataLossError, match="not a"):
                    cls.from_bytes(data)
