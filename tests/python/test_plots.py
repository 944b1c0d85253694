"""The rep quadrant chart: each unit drawn where its table row says, the non-productive
ringed, the right units named; rendered to a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import salesperf
from salesperf.errors import InvalidArgumentError
from salesperf.plots import rep_quadrant

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


@pytest.fixture(scope="module")
def diagnosis() -> Any:
    co = salesperf.synth.company(events=100_000, seed=5)
    log = co.event_log()
    tl = co.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
    dev = salesperf.deviants(log, tl, covariates=["segment", "lead_source"])
    return salesperf.diagnose(log, tl, dev, salesperf.behaviours(log, tl, deviants=dev))


def test_points_rings_and_labels(diagnosis: Any, tmp_path: Path) -> None:
    t = diagnosis.table()
    ax = diagnosis.chart()
    by_label = {c.get_label(): c for c in ax.collections if c.get_label() and not c.get_label().startswith("_")}
    drawn = 0
    for quadrant, rows in t.groupby("quadrant", observed=True):
        offsets = by_label[str(quadrant)].get_offsets()
        want = rows[["volume_ratio", "conversion"]].to_numpy(float)
        assert sorted(map(tuple, np.round(offsets, 9))) == sorted(map(tuple, np.round(want, 9)))
        drawn += len(offsets)
    assert drawn == len(t)
    flagged = t[t["non_productive"]]
    if len(flagged):
        rings = by_label["non-productive"].get_offsets()
        assert len(rings) == len(flagged)
    named = {a.get_text() for a in ax.texts if a.get_text().startswith("rep-")}
    assert named == set(flagged["unit"].astype(str)) | set(t.loc[t["conversion_lower"] > 1, "unit"].astype(str))
    path = tmp_path / "q.png"
    ax.figure.savefig(path, dpi=80)
    assert path.stat().st_size > 10_000
    ax_all = rep_quadrant(t, label="all")
    assert {a.get_text() for a in ax_all.texts if a.get_text().startswith("rep-")} == set(t["unit"].astype(str))


def test_bad_input(diagnosis: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="label"):
        rep_quadrant(diagnosis.table(), label="some")
    with pytest.raises(InvalidArgumentError, match="volume_ratio"):
        rep_quadrant(diagnosis.table().drop(columns=["volume_ratio"]))
