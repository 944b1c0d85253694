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


# --------------------------------------------------------------------------------------
# Every chart rendered to a PNG, and what it draws checked against pandas computations
# from the raw events and timelines (never the library's tables of the same figures).

import matplotlib.image as mpimg  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from indicator_reference import units_by_owner  # noqa: E402
from salesperf import plots  # noqa: E402
from salesperf.errors import InternalError  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures() -> Any:
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def rendered(ax: Any, tmp_path: Path, name: str) -> np.ndarray:
    """Saves the Axes' figure as a PNG, decodes it and checks it is an image with
    something drawn (not one flat colour); returns the pixels."""
    path = tmp_path / f"{name}.png"
    ax.figure.savefig(path, dpi=60)
    assert path.stat().st_size > 2_000
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    rgb = pixels[..., :3].reshape(-1, 3)
    ink = (rgb < 0.9).any(axis=1).mean()
    assert 0.01 < ink < 0.9, ink
    assert len(np.unique(np.round(rgb, 2), axis=0)) > 10
    return pixels


@pytest.fixture(scope="module")
def plain() -> Any:
    co = salesperf.synth.company(events=60_000, seed=11)
    log = co.event_log()
    tl = co.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
    return co, log, tl, log.to_pandas()


def _rich_model() -> salesperf.StageModel:
    """The synthetic ladder with exclusions, regressions and reopening: every term of
    the pipeline flow occurs."""
    return salesperf.StageModel(
        stages=[
            {"name": "Lead", "rules": [{"any": ["opportunity_created"]}]},
            {"name": "Engaged", "rules": [{"any": ["reply"]}], "stall": "45d"},
            {"name": "Qualified", "rules": [{"any": ["state_need"]}], "stall": "60d"},
            {"name": "Budget", "rules": [{"any": ["share_budget"]}], "optional": True},
            {"name": "Proposal", "rules": [{"any": ["request_proposal"]}], "stall": "40d"},
            {"name": "Commit", "rules": [{"any": ["verbal_commit"]}]},
        ],
        won=[{"any": ["sign"]}], lost=[{"any": ["decline"]}], exclude=["crm_duplicate"], ordering="skip",
        close_stalled_after="30d", regress=[{"any": ["state_need"], "to": "Qualified"}], regression="record",
        reopen="allow")


@pytest.fixture(scope="module")
def rich() -> Any:
    """The synthetic events plus exclusions (crm_duplicate mid-deal) and late replies
    after a deal's last event (which reopen closed deals)."""
    co = salesperf.synth.company(events=40_000, seed=12)
    ev = co.events.copy()
    for c in ev.columns:
        if isinstance(ev[c].dtype, pd.CategoricalDtype):
            ev[c] = ev[c].astype(object)
    ev["amount"] = pd.array(ev["amount"], dtype="Float64")
    rng = np.random.default_rng(3)
    deals = np.array(sorted(set(ev["deal"])))
    t = pd.Series(pd.DatetimeIndex(ev["time"]).as_unit("ns").asi8, index=ev.index)
    span = t.groupby(ev["deal"]).agg(["min", "max"])
    extra = []
    for action, share, late in (("crm_duplicate", 0.03, False), ("reply", 0.05, True)):
        chosen = rng.choice(deals, size=int(len(deals) * share), replace=False)
        rows = ev[ev["deal"].isin(set(chosen))].drop_duplicates("deal").copy()
        lo, hi = span.loc[rows["deal"], "min"].to_numpy(), span.loc[rows["deal"], "max"].to_numpy()
        when = (hi + rng.integers(1, 20 * 86_400, len(rows)) * 10**9) if late else \
            (lo + ((hi - lo) * rng.random(len(rows))).astype(np.int64))
        rows["time"] = pd.to_datetime(when, utc=True)
        rows["action"] = action
        rows["actor"] = "system" if action == "crm_duplicate" else "buyer"
        rows["amount"] = pd.array([pd.NA] * len(rows), dtype="Float64")  # missing, not NaN
        extra.append(rows)
    ev = pd.concat([ev, *extra], ignore_index=True).sort_values(["deal", "time"], kind="stable")
    log = salesperf.EventLog.from_pandas(ev.reset_index(drop=True), dimensions=["segment"],
                                         vocabulary=dict(co.vocabulary, crm_duplicate="system"))
    assert log.report.rows_rejected == 0, log.report.by_reason.to_string()
    tl = _rich_model().run(log)
    kinds = set(tl.transitions["kind"].astype(str))
    assert {"reopened", "excluded", "won", "lost"} <= kinds, kinds
    return log, tl, log.to_pandas()


# ---- the funnel ----------------------------------------------------------------------

def _bars(ax: Any) -> list[Any]:
    return [p for p in ax.patches if type(p).__name__ == "Rectangle"]


def test_funnel_of_timelines_counts_the_deals_entering_each_stage(plain: Any, tmp_path: Path) -> None:
    co, log, tl, ev = plain
    tr = tl.transitions
    stages = tl.stage_names[:-1]  # open stages and Won
    want = tr[tr["to_stage"].notna()].groupby("to_stage")["deal"].nunique().reindex(stages).fillna(0)
    ax = plots.funnel(tl)
    bars = _bars(ax)
    assert [b.get_width() for b in bars] == want.tolist()
    assert [round(b.get_y() + b.get_height() / 2) for b in bars] == list(range(len(stages)))
    assert [t.get_text() for t in ax.get_yticklabels()] == stages
    first = want.iloc[0]
    texts = [a.get_text() for a in ax.texts]
    assert texts[0] == f"{int(first):,}"
    for k in range(1, len(stages)):
        n, prev = want.iloc[k], want.iloc[k - 1]
        assert texts[k] == f"{int(n):,}  ({n / first:.0%} of first; {n / prev:.0%} of previous)"
    assert len(ax.collections) == 0  # no benchmark markers for the whole organisation
    assert ax.get_xlabel() == "deals that entered the stage"
    rendered(ax, tmp_path, "funnel_org")


def _reference_reached(tl: Any, ev: pd.DataFrame, unit: str | None) -> pd.DataFrame:
    """Per open stage and Won, from Timelines.entered and deals with pandas: reached,
    entrants and pending (open within normal time or excluded at their furthest stage)
    of the deals of ``unit`` (its most active rep; every deal when None)."""
    names = tl.stage_names
    opens = names[:-2]
    entered = tl.entered[opens].notna()
    deals = tl.deals
    if unit is not None:
        owner = units_by_owner(ev)
        mine = owner[owner.astype(str) == unit].index
        entered, deals = entered.loc[entered.index.isin(mine)], deals.loc[deals.index.isin(mine)]
    in_funnel = entered.any(axis=1)
    entered, deals = entered[in_funnel], deals[in_funnel]
    codes = np.arange(len(opens))
    entry = entered.to_numpy().argmax(axis=1)
    highest = len(opens) - 1 - entered.to_numpy()[:, ::-1].argmax(axis=1)
    won = (deals["outcome"].astype(str) == "won").to_numpy()
    furthest = np.where(won, len(opens), highest)
    reached = ((entry[:, None] <= codes) & (codes <= furthest[:, None])).sum(axis=0)
    entrants = (entry[:, None] == codes).sum(axis=0)
    outcome = deals["outcome"].astype(str).to_numpy()
    pending_deal = np.isin(outcome, ["open", "excluded"])
    pending = ((highest[:, None] == codes) & pending_deal[:, None]).sum(axis=0)
    out = pd.DataFrame({"reached": reached, "entrants": entrants, "pending": pending}, index=opens)
    out.loc["Won"] = [int(won.sum()), 0, 0]
    return out


@pytest.mark.parametrize("unit", ["rep-07", None])
def test_funnel_of_a_unit_with_the_benchmark_reach(plain: Any, tmp_path: Path, unit: str | None) -> None:
    co, log, tl, ev = plain
    lk = salesperf.leaks(log, tl, by="rep", benchmark="team_median")
    ref = _reference_reached(tl, ev, unit)
    ax = plots.funnel(lk, unit)
    bars = _bars(ax)
    assert [b.get_width() for b in bars] == ref["reached"].astype(float).tolist()
    assert [t.get_text() for t in ax.get_yticklabels()] == list(ref.index)
    # The marker at stage k+1: its entrants + the benchmark rate x the decided deals of k.
    rate = lk.stages()["benchmark"].to_numpy(float)
    trials = (ref["reached"] - ref["pending"]).to_numpy(float)[:-1]
    want = ref["entrants"].to_numpy(float)[1:] + rate * trials
    (markers,) = ax.collections
    offsets = np.asarray(markers.get_offsets())
    np.testing.assert_allclose(offsets[:, 0], want, rtol=1e-9)
    np.testing.assert_allclose(offsets[:, 1], np.arange(1, len(ref)))
    # and the bar minus the marker is minus the shortfall of the stage before
    t = lk.table()
    if unit is not None:
        short = t[t["unit"] == unit].set_index("stage")["shortfall"].reindex(lk.stage_names).to_numpy(float)
        np.testing.assert_allclose(ref["reached"].to_numpy(float)[1:] - offsets[:, 0], -short, atol=1e-9)
    assert ax.get_title() == f"Funnel ({unit or 'every unit'}, against team median)"
    rendered(ax, tmp_path, f"funnel_{unit}")
    # benchmark=False: the same bars, no markers
    ax2 = plots.funnel(lk, unit, benchmark=False)
    assert [b.get_width() for b in _bars(ax2)] == ref["reached"].astype(float).tolist()
    assert len(ax2.collections) == 0


def test_funnel_steps_shares(plain: Any) -> None:
    co, log, tl, ev = plain
    steps = plots.funnel_steps(tl)
    d = steps["deals"].to_numpy(float)
    np.testing.assert_allclose(steps["share_of_first"], d / d[0])
    np.testing.assert_allclose(steps["conversion"].iloc[1:], d[1:] / d[:-1])
    assert np.isnan(steps["conversion"].iloc[0])
    assert steps["benchmark_reach"].isna().all()


def test_funnel_bad_input(plain: Any) -> None:
    co, log, tl, ev = plain
    lk = salesperf.leaks(log, tl, by="rep")
    with pytest.raises(InvalidArgumentError, match="rep-99"):
        plots.funnel(lk, "rep-99")
    with pytest.raises(InvalidArgumentError, match="rep-01"):
        plots.funnel(tl, "rep-01")
    with pytest.raises(InvalidArgumentError, match="benchmark"):
        plots.funnel(tl, benchmark=True)
    with pytest.raises(InvalidArgumentError, match="DataFrame"):
        plots.funnel(lk.table())


# ---- an indicator's trend ------------------------------------------------------------

def _month(times: pd.Series) -> pd.Series:
    return pd.DatetimeIndex(times).tz_convert("UTC").strftime("%Y-%m").to_series(index=times.index)


def _week(times: pd.Series) -> pd.Series:
    """ISO week labels (the ISO week-year, as docs/indicators.md defines them)."""
    return pd.DatetimeIndex(times).tz_convert("UTC").strftime("%G-W%V").to_series(index=times.index)


def test_indicator_trend_of_seller_activities(plain: Any, tmp_path: Path) -> None:
    """The lines are the seller events per rep (most active owner) and month, counted
    with pandas; the default picks six reps, the most recent and largest first."""
    co, log, tl, ev = plain
    ind = salesperf.indicators(log, tl, by="rep", period="month")
    owner = units_by_owner(ev).astype(str)
    unit = ev["deal"].astype(object).map(owner)
    month = _month(ev["time"])
    months = sorted(month.unique())
    seller = ev["actor"].astype(str) == "seller"
    counts = (pd.DataFrame({"unit": unit[seller], "month": month[seller]}).value_counts()
              .unstack(fill_value=0).reindex(columns=months, fill_value=0))
    # A unit's rows start at its first period (its first event's month).
    first = pd.DataFrame({"unit": unit, "month": month}).groupby("unit")["month"].min()
    for u in counts.index:
        counts.loc[u, [m for m in months if m < first[u]]] = np.nan
    pick = ["rep-03", "rep-10"]
    ax = plots.indicator_trend(ind, "seller_activities", pick)
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == pick
    span = [m for m in months if m >= min(first[pick])]
    assert [t.get_text() for t in ax.get_xticklabels()] == span[::max(1, -(-len(span) // 16))]
    for ln, u in zip(lines, pick):
        np.testing.assert_array_equal(ln.get_ydata(), counts.loc[u, span].to_numpy(float))
        np.testing.assert_array_equal(ln.get_xdata(), np.arange(len(span)))
    assert not ax.collections  # counts have no interval: no band
    assert ax.get_ylabel() == "seller_activities"
    assert "(rep-03, rep-10)" in ax.get_title()
    rendered(ax, tmp_path, "trend_counts")
    # The default: six units, with the latest value first, then the most activities.
    last = counts.apply(lambda r: max(i for i, v in enumerate(r) if np.isfinite(v)), axis=1)
    order = pd.DataFrame({"last": last, "n": counts.sum(axis=1)}).reset_index(names="unit")
    order = order.sort_values(["last", "n", "unit"], ascending=[False, False, True])
    default = plots.indicator_trend(ind, "seller_activities")
    assert [ln.get_label() for ln in default.get_lines()] == list(order["unit"][:6])
    every = plots.indicator_trend(ind, "seller_activities", "all")
    assert len(every.get_lines()) == len(ind.units)


def _wilson(x: np.ndarray, n: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    z = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return p, centre - half, centre + half


@pytest.mark.parametrize("confidence", [0.95, 0.8])
def test_indicator_trend_band_is_the_wilson_interval(plain: Any, tmp_path: Path, confidence: float) -> None:
    """win_rate of one rep per week: wins / (wins + losses) among the transitions
    into Won and Lost that week, with the Wilson interval (scipy's normal quantile);
    weeks without a close are gaps in the line and in the band."""
    co, log, tl, ev = plain
    ind = salesperf.indicators(log, tl, by="rep", period="week")
    unit = "rep-05"
    owner = units_by_owner(ev).astype(str)
    tr = tl.transitions
    tr = tr[tr["deal"].astype(object).map(owner) == unit]
    closes = tr[tr["to_stage"].isin(["Won", "Lost"])]
    week = _week(closes["time"])
    mine = ev["deal"].astype(object).map(owner) == unit
    weeks = pd.date_range(ev.loc[mine, "time"].min().floor("D") - pd.Timedelta(days=7), ev["time"].max(), freq="D")
    span = sorted(w for w in set(_week(pd.Series(weeks))) if w >= _week(ev.loc[mine, "time"]).min())
    won = (closes["to_stage"] == "Won").groupby(week).sum().reindex(span, fill_value=0).to_numpy(float)
    n = week.value_counts().reindex(span, fill_value=0).to_numpy(float)
    p, lo, hi = _wilson(won, n, confidence)
    assert np.isnan(p).sum() > 5 and np.isfinite(p).sum() > 5  # there are gaps to draw, and values
    ax = plots.indicator_trend(ind, "win_rate", unit, confidence=confidence)
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), p, rtol=1e-12, equal_nan=True)
    (band,) = ax.collections
    vertices = np.concatenate([path.vertices for path in band.get_paths()])
    xs = set(np.round(vertices[:, 0], 9))
    for i in range(len(span)):
        if np.isfinite(p[i]):
            for y in (lo[i], hi[i]):
                assert np.isclose(vertices[(vertices[:, 0] == i)][:, 1], y, rtol=1e-9).any(), (span[i], y)
        else:
            assert i not in xs, span[i]
    assert ax.get_title() == f"win_rate per week ({unit}; band: {confidence:.0%} interval)"
    assert ax.yaxis.get_major_formatter()(0.25, 0) == "25%"
    rendered(ax, tmp_path, f"trend_band_{confidence}")


def test_indicator_trend_bad_input(plain: Any) -> None:
    co, log, tl, ev = plain
    ind = salesperf.indicators(log, tl, by="rep", period="quarter")
    with pytest.raises(InvalidArgumentError, match="win_rat'"):
        plots.indicator_trend(ind, "win_rat")
    with pytest.raises(InvalidArgumentError, match="conversion:Nowhere"):
        plots.indicator_trend(ind, "conversion:Nowhere")
    with pytest.raises(InvalidArgumentError, match="rep-99"):
        plots.indicator_trend(ind, "won", ["rep-01", "rep-99"])


# ---- the pipeline flow ---------------------------------------------------------------

def _reference_flow(tl: Any, deals: Any = None) -> pd.DataFrame:
    """Per month, from the transitions alone: created (deals whose first stage change
    falls in the month and is not an exclusion), reopened, won, lost, excluded (of a
    deal in an open stage), and open deals at the month's end (the stage after each
    deal's last transition before the end); open_start is the month before's end."""
    opens = set(tl.stage_names[:-2])
    tr = tl.transitions
    if deals is not None:
        tr = tr[tr["deal"].isin(set(deals))]
    tr = tr.assign(month=_month(tr["time"]), kind=tr["kind"].astype(str))
    months = pd.period_range(tr["time"].min().tz_convert(None).to_period("M"),
                             tr["time"].max().tz_convert(None).to_period("M"), freq="M")
    labels = [str(m) for m in months]
    first = tr.groupby("deal", sort=False).head(1)
    out = pd.DataFrame(index=labels)
    out["created"] = first[first["kind"] != "excluded"].groupby("month").size()
    out["reopened"] = tr[tr["kind"] == "reopened"].groupby("month").size()
    out["won"] = tr[tr["to_stage"] == "Won"].groupby("month").size()
    out["lost"] = tr[tr["to_stage"] == "Lost"].groupby("month").size()
    out["excluded"] = tr[(tr["kind"] == "excluded") & tr["from_stage"].isin(opens)].groupby("month").size()
    out = out.fillna(0).astype(int)
    ends = [m.end_time.tz_localize("UTC").ceil("D") for m in months]
    tr = tr.assign(is_open=tr["to_stage"].isin(opens))
    out["open_end"] = [int(tr[tr["time"] < end].groupby("deal", sort=False)["is_open"].last().sum())
                       for end in ends]
    out["open_start"] = out["open_end"].shift(1, fill_value=0)
    return out


def _drawn_flow(ax: Any) -> list[tuple[str, float, float]]:
    labels = [t.get_text() for t in ax.get_xticklabels()]
    return [(lab, b.get_y(), b.get_y() + b.get_height()) for lab, b in zip(labels, _bars(ax))]


def _want_flow(row: pd.Series) -> list[tuple[str, float, float]]:
    s, c, r, w, lo, x, e = (float(row[k]) for k in ("open_start", "created", "reopened", "won", "lost",
                                                    "excluded", "open_end"))
    return [("open at start", 0, s), ("+ created", s, s + c), ("+ reopened", s + c, s + c + r),
            ("− won", s + c + r - w, s + c + r), ("− lost", s + c + r - w - lo, s + c + r - w),
            ("− excluded", e, e + x), ("open at end", 0, e)]


def test_pipeline_flow_identity_holds_in_the_raw_transitions(rich: Any) -> None:
    """The identity the chart draws, established from the transitions alone: every
    month, open_start + created + reopened − won − lost − excluded = open_end; stalled
    is not a term (stalled deals are still open), and every term occurs."""
    log, tl, ev = rich
    ref = _reference_flow(tl)
    lhs = ref["open_start"] + ref["created"] + ref["reopened"] - ref["won"] - ref["lost"] - ref["excluded"]
    assert (lhs == ref["open_end"]).all(), ref[lhs != ref["open_end"]]
    assert (ref[["created", "reopened", "won", "lost", "excluded"]].sum() > 0).all()
    assert plots.FLOW_IDENTITY == "open_end = open_start + created + reopened - won - lost - excluded"


def test_pipeline_flow_draws_the_counted_flow(rich: Any, tmp_path: Path) -> None:
    log, tl, ev = rich
    ind = salesperf.indicators(log, tl, by="rep", period="month")
    ref = _reference_flow(tl)
    busy = ref[(ref["reopened"] > 0) & (ref["excluded"] > 0)].index[-1]
    cases = {busy: ref.loc[busy], "last": ref.iloc[-1],
             None: pd.Series({**ref.sum().to_dict(), "open_start": 0, "open_end": ref["open_end"].iloc[-1]})}
    for period, row in cases.items():
        ax = plots.pipeline_flow(ind, period=period)
        drawn = _drawn_flow(ax)
        assert drawn[:-1] == _want_flow(row), period
        # each step starts where the one before ended, and the last level is open_end
        steps = plots.flow_steps(ind, period=period)
        assert (steps["start"].to_numpy()[2:-2] == steps["end"].to_numpy()[1:-3]).all()
        assert steps["end"].iloc[-3] == steps["end"].iloc[-2] == row["open_end"]
        label = {busy: busy, "last": ref.index[-1], None: "every period"}[period]
        assert ax.get_title() == f"Pipeline flow (every unit, {label})"
        rendered(ax, tmp_path, f"flow_{period}")
    texts = [a.get_text() for a in ax.texts]
    row = cases[None]
    assert texts[:7] == [f"{int(row['open_start']):,}", f"+{int(row['created']):,}",
                         f"+{int(row['reopened']):,}", f"-{int(row['won']):,}", f"-{int(row['lost']):,}",
                         f"-{int(row['excluded']):,}", f"{int(row['open_end']):,}"]
    # the memo bar: deals quiet past their stall limit at as_of, counted from Timelines.deals
    stalled = int((tl.deals["outcome"].astype(str) == "stalled").sum())
    assert _drawn_flow(ax)[-1] == ("of which stalled*", 0, stalled)


def test_pipeline_flow_of_one_unit(rich: Any) -> None:
    log, tl, ev = rich
    ind = salesperf.indicators(log, tl, by="rep", period="month")
    owner = units_by_owner(ev).astype(str)
    unit = "rep-02"
    ref = _reference_flow(tl, owner[owner == unit].index)
    month = ref.index[len(ref) // 2]
    ax = plots.pipeline_flow(ind, unit, period=month)
    assert _drawn_flow(ax)[:-1] == _want_flow(ref.loc[month])
    assert ax.get_title() == f"Pipeline flow ({unit}, {month})"


def test_pipeline_flow_refuses_figures_that_do_not_reconcile(rich: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    log, tl, ev = rich
    ind = salesperf.indicators(log, tl, by=None, period="quarter")
    real = type(ind).table

    def off_by_one(self: Any, *args: Any, **kwargs: Any) -> pd.DataFrame:
        t = real(self, *args, **kwargs)
        t.loc[t["indicator"] == "open_end", "value"] += 1
        return t

    monkeypatch.setattr(type(ind), "table", off_by_one)
    with pytest.raises(InternalError, match="does not reconcile"):
        plots.pipeline_flow(ind)


def test_pipeline_flow_bad_input(rich: Any) -> None:
    log, tl, ev = rich
    ind = salesperf.indicators(log, tl, by="rep", period="quarter")
    with pytest.raises(InvalidArgumentError, match="rep-99"):
        plots.pipeline_flow(ind, "rep-99")
    with pytest.raises(InvalidArgumentError, match="1999 Q1"):
        plots.pipeline_flow(ind, period="1999 Q1")


# ---- the existing charts on a given Axes ---------------------------------------------

def test_existing_charts_draw_on_the_given_axes(plain: Any, diagnosis: Any, tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    co, log, tl, ev = plain
    lk = salesperf.leaks(log, tl, by="rep")
    pa = salesperf.practices(log, tl, answers=salesperf.synth.survey(seed=2), leaks=lk)
    plan = salesperf.targets(log, tl, 400_000.0, period=(pd.Timestamp("2026-01-01", tz="UTC"),
                                                         pd.Timestamp("2026-04-01", tz="UTC")), draws=200)
    charts = {
        "leak_waterfall": lambda ax: plots.leak_waterfall(lk, ax=ax),
        "practice_scores": lambda ax: plots.practice_scores(pa.table(), ax=ax),
        "target_vs_run_rate": lambda ax: plots.target_vs_run_rate(plan.table(), ax=ax),
        "rep_quadrant": lambda ax: plots.rep_quadrant(diagnosis.table(), ax=ax),
    }
    for name, draw in charts.items():
        fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5))
        assert draw(right) is right, name
        assert left.get_title() == "" and not left.patches and not left.collections
        assert right.get_title(), name
        rendered(right, tmp_path, name)
    # the waterfall's bars are the steps; its total is the dollars won (won deals x value)
    fig, ax = plt.subplots()
    plots.leak_waterfall(lk, ax=ax)
    steps = plots.waterfall_steps(lk)
    np.testing.assert_allclose([b.get_height() for b in _bars(ax)], (steps["end"] - steps["start"]).abs())
    u = lk.units()
    assert steps["end"].iloc[-1] == pytest.approx(float((u["won"] * u["average_value"]).sum()))
