"""The scorecard (salesperf.scoring) against independent pandas references.

Every checked column is recomputed here from the raw events (the synthetic company's
event frame, the BPIC 2012 CSV) and the per-deal timelines, with pandas, numpy and
statsmodels: owners by the documented "most active" rule, ISO weeks by pandas'
isocalendar, Wilson intervals by statsmodels' proportion_confint, the leak benchmark
by tests/python/leak_reference.py (scipy), the leak cohorts by a loop over deals.
Nothing here calls the scorecard's internals.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from leak_reference import reference_assessment, reference_counts
from statsmodels.stats.proportion import proportion_confint

import salesperf
from salesperf import datasets
from salesperf.errors import InvalidArgumentError
from salesperf.scoring import SCORECARD_SCHEMA, read_scorecard, scorecard, write_scorecard

NONE = "(none)"
REP_ONLY = "by='rep' only"


# ------------------------------------------------------------------ references
def owners(ev: pd.DataFrame) -> pd.Series:
    """docs/indicators.md: the rep on most of the deal's seller events (ties: the one
    whose first such event comes first in log order); with no seller event naming a
    rep, the first rep on any event; no rep at all: "(none)". ``ev`` is in log order."""
    ev = ev.assign(pos=np.arange(len(ev)))
    named = ev[ev["rep"].notna()]
    seller = named[named["actor"] == "seller"]
    cnt = seller.groupby(["deal", "rep"], observed=True, sort=False)["pos"].agg(["size", "min"]).reset_index()
    best = cnt.sort_values(["deal", "size", "min"], ascending=[True, False, True]).drop_duplicates("deal")
    first_any = named.drop_duplicates("deal")
    out = pd.Series(NONE, index=pd.Index(pd.unique(ev["deal"]), name="deal"), dtype=object)
    out[first_any["deal"].to_numpy()] = first_any["rep"].astype(str).to_numpy()
    out[best["deal"].to_numpy()] = best["rep"].astype(str).to_numpy()
    return out


def week(t: pd.Series) -> pd.Series:
    """The ISO week label of each UTC time ('2026-W03'), by pandas."""
    iso = t.dt.isocalendar()
    return iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)


def week_start(t: pd.Series) -> pd.Series:
    return t.dt.floor("D") - pd.to_timedelta(t.dt.weekday, unit="D")


def deal_values(ev: pd.DataFrame) -> pd.Series:
    """A deal's value: the last non-missing amount among its events (log order)."""
    v = ev[ev["amount"].notna()].drop_duplicates("deal", keep="last").set_index("deal")["amount"]
    return v.reindex(pd.unique(ev["deal"])).astype(float)


def expected_rows(ev: pd.DataFrame, owner: pd.Series) -> pd.DataFrame:
    """Per unit, every ISO week from the week of the unit's first event to the last week
    of the log."""
    unit = ev["deal"].map(owner)
    first = ev.groupby(unit)["time"].min()
    last = week_start(pd.Series([ev["time"].max()])).iloc[0]
    rows = []
    for u, t in first.sort_index().items():
        starts = pd.Series(pd.date_range(week_start(pd.Series([t])).iloc[0], last, freq="7D"))
        rows.append(pd.DataFrame({"unit": u, "period": week(starts), "period_start": starts,
                                  "period_end": starts + pd.Timedelta(days=7)}))
    return pd.concat(rows, ignore_index=True)


def per_cell(keys: pd.DataFrame, values: pd.Series | None = None) -> pd.Series:
    """Counts (or sums of ``values``) per (unit, period) of ``keys``."""
    keys = keys.reset_index(drop=True)
    if values is None:
        return keys.groupby(["unit", "period"]).size()
    return pd.Series(np.asarray(values, dtype=float)).groupby([keys["unit"], keys["period"]]).sum()


def on_rows(card: pd.DataFrame, s: pd.Series) -> np.ndarray:
    idx = pd.MultiIndex.from_frame(card[["unit", "period"]])
    missing = ~s.index.isin(idx)
    assert not missing.any(), f"reference cells without a scorecard row: {list(s.index[missing][:3])}"
    return s.reindex(idx, fill_value=0).to_numpy()


def wilson(x: np.ndarray, n: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    lo = np.full(len(x), np.nan)
    hi = np.full(len(x), np.nan)
    ok = n > 0
    lo[ok], hi[ok] = proportion_confint(x[ok], n[ok], alpha=1 - confidence, method="wilson")
    return lo, hi


def leak_reference(tl: Any, owner: pd.Series, bench: np.ndarray, average: pd.Series) -> pd.Series:
    """leak_wins x average value per (unit, ISO week of funnel entry), by a loop over
    deals: the deal's entry is its lowest open stage entered, its furthest is Won when
    won, else its highest open stage entered; it is a trial at each stage from entry to
    furthest (capped at the last open stage) when it advanced past it or ended lost or
    stalled there; advanced when furthest is higher. Each trial adds b_k x D_k, each
    advance subtracts D_k (D_k: product of the benchmark after k)."""
    names = tl.stage_names
    o = len(names) - 2
    ent = tl.entered[names[:o]]
    deals = tl.deals
    down = [math.prod(bench[k + 1:]) for k in range(o)]
    out: dict[tuple[str, str], float] = {}
    for d, row in ent.iterrows():
        hit = [k for k in range(o) if not pd.isna(row.iloc[k])]
        if not hit:
            continue
        outcome = str(deals.at[d, "outcome"])
        furthest = o if outcome == "won" else hit[-1]
        t0 = min(row.iloc[k] for k in hit)
        key = (owner[d], week(pd.Series([t0])).iloc[0])
        total = 0.0
        for k in range(hit[0], min(furthest, o - 1) + 1):
            advanced = furthest > k
            if advanced or outcome in ("lost", "stalled"):
                total += bench[k] * down[k]
            if advanced:
                total -= down[k]
        out[key] = out.get(key, 0.0) + total
    s = pd.Series(out)
    s.index.names = ["unit", "period"]
    return s * s.index.get_level_values("unit").map(average).to_numpy(dtype=float)


def schema_for(stages: list[str], by_rep: bool) -> list[tuple[str, str]]:
    """SCORECARD_SCHEMA expanded by hand: each run of <stage> rows repeats per stage."""
    rows = SCORECARD_SCHEMA if by_rep else SCORECARD_SCHEMA[SCORECARD_SCHEMA["present"] != REP_ONLY]
    out: list[tuple[str, str]] = []
    block: list[tuple[str, str]] = []
    for name, dtype in zip(rows["column"], rows["dtype"]):
        if "<stage>" in name:
            block.append((name, dtype))
            continue
        if block:
            out += [(n.replace("<stage>", s), d) for s in stages for n, d in block]
            block = []
        out.append((name, dtype))
    return out


# ------------------------------------------------------------------ checks
def check_against_raw(card: pd.DataFrame, ev: pd.DataFrame, log: Any, tl: Any, confidence: float = 0.95) -> None:
    """Every column the brief lists, recomputed from the raw events ``ev`` (columns deal,
    time, actor, rep, amount; log order) and the timelines."""
    owner = owners(ev)
    stages = tl.stage_names[:-2]

    # rows: every week from the unit's first to the log's last, in order
    rows = expected_rows(ev, owner)
    pd.testing.assert_frame_equal(card[["unit", "period", "period_start", "period_end"]], rows,
                                  check_dtype=False)
    assert (card["period_complete"] == (card["period_end"] <= tl.as_of)).all()

    # events
    keys = pd.DataFrame({"unit": ev["deal"].map(owner).to_numpy(), "period": week(ev["time"]).to_numpy()})
    seller = on_rows(card, per_cell(keys[(ev["actor"] == "seller").to_numpy()]))
    buyer = on_rows(card, per_cell(keys[(ev["actor"] == "buyer").to_numpy()]))
    np.testing.assert_array_equal(card["seller_activities"], seller)
    np.testing.assert_array_equal(card["buyer_actions"], buyer)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_allclose(card["buyer_response_ratio"], np.where(seller > 0, buyer / seller, np.nan),
                                   rtol=1e-12)
    lo, hi = wilson(buyer, buyer + seller, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_allclose(card["buyer_response_ratio_lower"], np.where(seller > 0, lo / (1 - lo), np.nan),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(card["buyer_response_ratio_upper"], np.where(seller > 0, hi / (1 - hi), np.nan),
                                   rtol=1e-9)

    # stages: entries from the transitions, first entries from timelines.entered
    value = deal_values(ev)
    tr = tl.transitions
    tkeys = pd.DataFrame({"unit": tr["deal"].map(owner).to_numpy(), "period": week(tr["time"]).to_numpy()})
    tr_value = tr["deal"].map(value).fillna(0.0)
    entered = tl.entered
    for s in stages:
        into = (tr["to_stage"] == s).to_numpy()
        np.testing.assert_array_equal(card[f"entries_{s}"], on_rows(card, per_cell(tkeys[into])), err_msg=s)
        e = entered[s].dropna()
        ekeys = pd.DataFrame({"unit": owner[e.index].to_numpy(), "period": week(e.reset_index(drop=True)).to_numpy()})
        np.testing.assert_array_equal(card[f"deals_entered_{s}"], on_rows(card, per_cell(ekeys)), err_msg=s)
        dollars = on_rows(card, per_cell(ekeys, pd.Series(value.reindex(e.index).fillna(0.0).to_numpy())))
        np.testing.assert_allclose(card[f"dollars_entered_{s}"], dollars, rtol=1e-12, atol=1e-6, err_msg=s)

    # created: the deal's first stage change
    first = tr.drop_duplicates("deal")
    fkeys = pd.DataFrame({"unit": first["deal"].map(owner).to_numpy(), "period": week(first["time"]).to_numpy()})
    np.testing.assert_array_equal(card["created"], on_rows(card, per_cell(fkeys)))
    np.testing.assert_allclose(card["created_dollars"],
                               on_rows(card, per_cell(fkeys, pd.Series(tr_value[first.index].to_numpy()))),
                               rtol=1e-12, atol=1e-6)

    # won, lost, win rate with statsmodels' Wilson interval
    into_won = (tr["to_stage"] == "Won").to_numpy()
    into_lost = (tr["to_stage"] == "Lost").to_numpy()
    won = on_rows(card, per_cell(tkeys[into_won]))
    lost = on_rows(card, per_cell(tkeys[into_lost]))
    np.testing.assert_array_equal(card["won"], won)
    np.testing.assert_array_equal(card["lost"], lost)
    np.testing.assert_allclose(card["won_dollars"],
                               on_rows(card, per_cell(tkeys[into_won], pd.Series(tr_value[into_won].to_numpy()))),
                               rtol=1e-12, atol=1e-6)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_allclose(card["win_rate"], np.where(won + lost > 0, won / (won + lost), np.nan))
    lo, hi = wilson(won, won + lost, confidence)
    np.testing.assert_allclose(card["win_rate_lower"], lo, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(card["win_rate_upper"], hi, rtol=1e-9, atol=1e-12)

    # cohort conversion (no conversion windows in these models): advanced = entered a
    # higher open stage or Won after entering k; failed = not advanced and closed;
    # pending = the rest of the cohort that is still open (or stalled, not closed)
    outcome = tl.deals["outcome"].astype(str)
    later = entered.columns.get_indexer(stages + ["Won"])
    for k, s in enumerate(stages):
        e = entered[s]
        cohort = e.notna()
        after = entered.iloc[:, later[k + 1:]].ge(e, axis=0).any(axis=1) & cohort
        failed = cohort & ~after & outcome.isin(["lost", "won"])
        pending = cohort & ~after & outcome.isin(["open", "stalled"])
        ck = pd.DataFrame({"unit": owner[e.index[cohort]].to_numpy(),
                           "period": week(e[cohort].reset_index(drop=True)).to_numpy()})
        adv = on_rows(card, per_cell(ck, pd.Series(after[cohort].to_numpy(dtype=int))))
        fail = on_rows(card, per_cell(ck, pd.Series(failed[cohort].to_numpy(dtype=int))))
        pend = on_rows(card, per_cell(ck, pd.Series(pending[cohort].to_numpy(dtype=int))))
        np.testing.assert_array_equal(card[f"conversion_{s}_pending"], pend, err_msg=s)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.testing.assert_allclose(card[f"conversion_{s}"], np.where(adv + fail > 0, adv / (adv + fail), np.nan),
                                       rtol=1e-12, err_msg=s)
        lo, hi = wilson(adv, adv + fail, confidence)
        np.testing.assert_allclose(card[f"conversion_{s}_lower"], lo, rtol=1e-9, atol=1e-12, err_msg=s)
        np.testing.assert_allclose(card[f"conversion_{s}_upper"], hi, rtol=1e-9, atol=1e-12, err_msg=s)

    # leaks: the benchmark from the scipy reference, cohorts by a loop over deals
    ref = reference_assessment(reference_counts(tl, owner))
    bench = ref["stages"]["benchmark"].to_numpy(dtype=float)
    average = ref["units"].set_index("unit")["average_value"]
    expected = on_rows(card, leak_reference(tl, owner, bench, average))
    # (the reference's κ comes from scipy's optimiser, so its team median agrees with the
    # library's to about 1e-8 relative: hence 1e-6 against it, 1e-9 within the library)
    np.testing.assert_allclose(card["leak_dollars"], expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
    np.testing.assert_allclose(card["leak_dollars"], card["leak_wins"] * card["unit"].map(average), rtol=1e-12,
                               atol=1e-9)
    wins_gap = ref["units"].set_index("unit")["gap"]
    per_unit_wins = card.groupby("unit")["leak_wins"].sum()
    np.testing.assert_allclose(per_unit_wins, wins_gap.reindex(per_unit_wins.index), rtol=1e-6,
                               atol=1e-6 * wins_gap.abs().max())
    # ... and they add up per unit to the whole-window gap of salesperf.leaks
    gap = salesperf.leaks(log, tl, by="rep").units()["gap_dollars"]
    per_unit = card.groupby("unit")["leak_dollars"].sum()
    np.testing.assert_allclose(per_unit, gap.reindex(per_unit.index), rtol=1e-9, atol=1e-6 * gap.abs().max())
    np.testing.assert_allclose(ref["units"].set_index("unit")["gap_dollars"].reindex(per_unit.index), per_unit,
                               rtol=1e-6, atol=1e-6 * gap.abs().max())


def check_diagnosis(card: pd.DataFrame, log: Any, tl: Any) -> None:
    dev = salesperf.deviants(log, tl)
    diag = salesperf.diagnose(log, tl, dev, salesperf.behaviours(log, tl, deviants=dev)).table()
    diag = diag.assign(unit=diag["unit"].astype(str)).set_index("unit").reindex(card["unit"])
    for col in ("know_how", "want_to", "understands_metrics", "quadrant"):
        assert (card[col].to_numpy() == diag[col].astype(str).to_numpy()).all(), col
    assert (card["non_productive"].to_numpy() == diag["non_productive"].to_numpy()).all()
    for col, src in (("win_ratio_shrunk", "conversion"), ("win_ratio_shrunk_lower", "conversion_lower"),
                     ("win_ratio_shrunk_upper", "conversion_upper")):
        np.testing.assert_array_equal(card[col].to_numpy(), diag[src].to_numpy(), err_msg=col)
    assert (card["diagnosis_as_of"] == tl.as_of).all()


def check_schema(card: pd.DataFrame, stages: list[str], by_rep: bool) -> None:
    want = schema_for(stages, by_rep)
    assert list(card.columns) == [c for c, _ in want]
    assert [str(card[c].dtype) for c in card.columns] == [d for _, d in want]


# ------------------------------------------------------------------ synthetic company
@pytest.fixture(scope="module")
def company() -> Any:
    c = salesperf.synth.company(events=100_000, seed=7)
    log = c.event_log()
    tl = c.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
    return c, log, tl


@pytest.fixture(scope="module")
def card(company: Any) -> pd.DataFrame:
    _, log, tl = company
    return scorecard(log, tl, by="rep", period="week")


def test_synth_columns_match_pandas(company: Any, card: pd.DataFrame) -> None:
    c, log, tl = company
    ev = c.events.assign(actor=c.events["actor"].astype(str), rep=c.events["rep"].astype(object))
    check_against_raw(card, ev, log, tl)


def test_synth_other_confidence(company: Any) -> None:
    c, log, tl = company
    card = scorecard(log, tl, by="rep", period="week", confidence=0.8)
    ev = c.events.assign(actor=c.events["actor"].astype(str), rep=c.events["rep"].astype(object))
    owner = owners(ev)
    keys = pd.DataFrame({"unit": ev["deal"].map(owner).to_numpy(), "period": week(ev["time"]).to_numpy()})
    b = on_rows(card, per_cell(keys[(ev["actor"] == "buyer").to_numpy()]))
    s = on_rows(card, per_cell(keys[(ev["actor"] == "seller").to_numpy()]))
    lo, _ = wilson(b, b + s, 0.8)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_allclose(card["buyer_response_ratio_lower"], np.where(s > 0, lo / (1 - lo), np.nan),
                                   rtol=1e-9, atol=1e-12)
    lo, _ = wilson(card["won"].to_numpy(), (card["won"] + card["lost"]).to_numpy(), 0.8)
    np.testing.assert_allclose(card["win_rate_lower"], lo, rtol=1e-9, atol=1e-12)


def test_synth_diagnosis_equals_diagnose(company: Any, card: pd.DataFrame) -> None:
    _, log, tl = company
    check_diagnosis(card, log, tl)


def test_synth_schema(company: Any, card: pd.DataFrame) -> None:
    _, log, tl = company
    check_schema(card, tl.stage_names[:-2], by_rep=True)
    seg = scorecard(log, tl, by="segment", period="month")
    check_schema(seg, tl.stage_names[:-2], by_rep=False)
    assert sorted(seg["unit"].unique()) == sorted(c for c in log.dictionary("segment"))
    one = scorecard(log, tl, by=None, period="quarter")
    check_schema(one, tl.stage_names[:-2], by_rep=False)
    assert set(one["unit"]) == {"all"}
    # every schema row is documented, and the docs list every schema column
    assert SCORECARD_SCHEMA["definition"].str.len().min() > 10
    assert list(SCORECARD_SCHEMA.columns) == ["column", "dtype", "unit", "definition", "present"]
    doc = (pytest.importorskip("pathlib").Path(__file__).resolve().parents[2] / "docs" / "scorecard.md").read_text()
    for name in SCORECARD_SCHEMA["column"]:
        assert f"`{name}`" in doc, name


def test_by_segment_leaks_reconcile(company: Any) -> None:
    c, log, tl = company
    seg = scorecard(log, tl, by="segment", period="month", benchmark="top_quartile")
    gap = salesperf.leaks(log, tl, by="segment", benchmark="top_quartile").units()["gap_dollars"]
    per_unit = seg.groupby("unit")["leak_dollars"].sum()
    np.testing.assert_allclose(per_unit, gap.reindex(per_unit.index), rtol=1e-9, atol=1e-6 * gap.abs().max())
    # seller activities: the deal's segment is its first non-null value
    ev = c.events
    seg_of = ev.dropna(subset=["segment"]).drop_duplicates("deal").set_index("deal")["segment"].astype(str)
    t = ev["time"]
    keys = pd.DataFrame({"unit": ev["deal"].map(seg_of).to_numpy(), "period": t.dt.strftime("%Y-%m").to_numpy()})
    np.testing.assert_array_equal(seg["seller_activities"],
                                  on_rows(seg, per_cell(keys[(ev["actor"] == "seller").to_numpy()])))


# ------------------------------------------------------------------ files
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_round_trip(card: pd.DataFrame, tmp_path: Any, suffix: str) -> None:
    path = write_scorecard(card, tmp_path / f"scores{suffix}")
    assert path == tmp_path / f"scores{suffix}" and path.exists()
    back = read_scorecard(path)
    pd.testing.assert_frame_equal(back, card, check_exact=True)
    if suffix == ".parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(path), card, check_exact=True)
    else:
        # plain pandas.read_csv: numbers, flags and text keep their dtypes; the times
        # come back as text (docs/scorecard.md)
        plain = pd.read_csv(path)
        times = ["period_start", "period_end", "diagnosis_as_of"]
        for col in card.columns:
            assert str(plain[col].dtype) == ("object" if col in times else str(card[col].dtype)), col
        np.testing.assert_allclose(plain["leak_dollars"], card["leak_dollars"], rtol=1e-15)
        assert (pd.to_datetime(plain["period_start"], utc=True) == card["period_start"]).all()


def test_csv_keeps_awkward_text(card: pd.DataFrame, tmp_path: Any) -> None:
    odd = card.copy()
    odd.loc[odd["unit"] == "rep-01", "unit"] = "NA"
    odd.loc[odd["unit"] == "rep-02", "unit"] = "Smith, \"Jo\""
    back = read_scorecard(write_scorecard(odd, tmp_path / "odd.csv"))
    pd.testing.assert_frame_equal(back, odd, check_exact=True)


def test_round_trip_without_rep_columns(company: Any, tmp_path: Any) -> None:
    _, log, tl = company
    seg = scorecard(log, tl, by="segment", period="month")
    for suffix in (".csv", ".parquet"):
        back = read_scorecard(write_scorecard(seg, tmp_path / f"seg{suffix}"))
        pd.testing.assert_frame_equal(back, seg, check_exact=True)


@pytest.mark.parametrize("name", ["scores.xlsx", "scores", "scores.csv.gz", "scores.json"])
def test_bad_suffix(card: pd.DataFrame, tmp_path: Any, name: str) -> None:
    suffix = name[name.rfind("."):] if "." in name else ""
    with pytest.raises(InvalidArgumentError, match=f"suffix '{suffix}'"):
        write_scorecard(card, tmp_path / name)
    assert not (tmp_path / name).exists()
    with pytest.raises(InvalidArgumentError, match="DataFrame"):
        write_scorecard(card.to_dict(), tmp_path / "x.csv")  # type: ignore[arg-type]


# ------------------------------------------------------------------ options
def test_bad_options(company: Any) -> None:
    c, log, tl = company
    cases = [
        (dict(by="territoryx"), r"by: 'territoryx'"),
        (dict(by=3), "by must be"),
        (dict(period="fortnight"), r"period: calendar spec 'fortnight'"),
        (dict(period=7), "period must be"),
        (dict(owner="best"), "owner must be"),
        (dict(confidence=1.5), "confidence must be"),
        (dict(confidence=True), "confidence must be"),
        (dict(benchmark="own_past"), "benchmark .*own_past.*cohort"),
        (dict(benchmark="median"), "benchmark must be"),
        (dict(benchmark={"NoSuchStage": 0.5}), "benchmark: no open stage 'NoSuchStage'"),
        (dict(by="segment", covariates=["product"]), "covariates"),
    ]
    for kwargs, pattern in cases:
        with pytest.raises(InvalidArgumentError, match=pattern):
            scorecard(log, tl, **kwargs)
    other = c.event_log()
    with pytest.raises(InvalidArgumentError, match="another log"):
        scorecard(other, tl)


# ------------------------------------------------------------------ a hand-made log
def _tiny(stages: tuple[str, str] = ("Stage A", "Étape-2")) -> tuple[Any, Any]:
    rows = [  # deal, time, action, rep, amount
        ("d1", "2026-01-05 09:00", "call", "r1", 100.0), ("d1", "2026-01-06 09:00", "a", None, None),
        ("d1", "2026-01-07 09:00", "b", None, None), ("d1", "2026-01-08 09:00", "sign", None, None),
        ("d2", "2026-01-13 09:00", "call", "r1", 300.0), ("d2", "2026-01-13 10:00", "a", None, None),
        ("d2", "2026-01-14 09:00", "decline", None, None),
        ("d3", "2026-01-06 08:00", "call", "r2", 200.0), ("d3", "2026-01-06 09:00", "a", None, None),
        ("d3", "2026-01-07 09:00", "b", None, None), ("d3", "2026-01-09 09:00", "decline", None, None),
        ("d4", "2026-01-13 08:00", "call", "r2", 400.0), ("d4", "2026-01-14 09:00", "a", None, None),
        ("d5", "2026-01-05 10:00", "call", "r3", None), ("d5", "2026-01-20 10:00", "call", "r3", None),
    ]
    events = pd.DataFrame(rows, columns=["deal", "time", "action", "rep", "amount"])
    events["time"] = pd.to_datetime(events["time"], utc=True)
    events["amount"] = events["amount"].astype("Float64")  # <NA>: no amount (NaN is rejected)
    vocab = {"call": "seller", "a": "buyer", "b": "buyer", "sign": "buyer", "decline": "buyer"}
    log = salesperf.EventLog.from_pandas(events, vocabulary=vocab)
    model = salesperf.StageModel(stages=[{"name": stages[0], "rules": [{"any": ["a"]}]},
                                         {"name": stages[1], "rules": [{"any": ["b"]}]}],
                                 won=[{"any": ["sign"]}], lost=[{"any": ["decline"]}])
    return log, model.run(log)


def test_tiny_log_by_hand() -> None:
    log, tl = _tiny()
    card = scorecard(log, tl, by="rep", period="week", benchmark={"Stage A": 0.5, "Étape-2": 0.5})
    check_schema(card, ["Stage A", "Étape-2"], by_rep=True)
    # r3 has no event in 2026-W03: its row is there, with zeros and NaN ratios
    assert card[["unit", "period"]].values.tolist() == [[u, w] for u in ("r1", "r2", "r3")
                                                         for w in ("2026-W02", "2026-W03", "2026-W04")]
    assert card["period_start"].iloc[:3].tolist() == list(pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19"],
                                                                         utc=True))
    assert card["period_end"].iloc[2] == pd.Timestamp("2026-01-26", tz="UTC")
    assert card["period_complete"].tolist() == [True, True, False] * 3  # as_of is 2026-01-20 10:00
    assert card["seller_activities"].tolist() == [1, 1, 0, 1, 1, 0, 1, 0, 1]
    assert card["buyer_actions"].tolist() == [3, 2, 0, 3, 1, 0, 0, 0, 0]
    assert card["buyer_response_ratio"].iloc[7:].isna().tolist() == [True, False]
    assert card["entries_Stage A"].tolist() == [1, 1, 0, 1, 1, 0, 0, 0, 0]
    assert card["entries_Étape-2"].tolist() == [1, 0, 0, 1, 0, 0, 0, 0, 0]
    assert card["dollars_entered_Étape-2"].tolist() == [100.0, 0, 0, 200.0, 0, 0, 0, 0, 0]
    assert card["won"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert card["lost"].tolist() == [0, 1, 0, 1, 0, 0, 0, 0, 0]
    assert card["won_dollars"].tolist() == [100.0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert card["open_end"].tolist() == [0, 0, 0, 0, 1, 1, 0, 0, 0]
    assert card["win_rate"].isna().tolist() == [False, False, True, False, True, True, True, True, True]
    # Leaks, benchmark b = (0.5, 0.5), downstream D = (0.5, 1):
    #   r1 W02 (d1 won): A trial+advance (0.5 - 1) * 0.5 = -0.25, E trial+advance
    #       (0.5 - 1) * 1 = -0.5: -0.75 wins x r1's mean value (100 + 300) / 2 = 200 -> -150
    #   r1 W03 (d2 lost at A): 0.5 * 0.5 = 0.25 wins -> 50
    #   r2 W02 (d3 lost at E): -0.25 + 0.5 * 1 = 0.25 wins x (200 + 400) / 2 = 300 -> 75
    #   r2 W03 (d4 open at A): no trial -> 0; r3 (d5 never in the funnel): 0
    np.testing.assert_allclose(card["leak_wins"], [-0.75, 0.25, 0, 0.25, 0, 0, 0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(card["leak_dollars"], [-150.0, 50.0, 0, 75.0, 0, 0, 0, 0, 0], atol=1e-9)
    # whole window: r1 gap = 2 entrants x 0.25 - 0 pending - 1 won = -0.5 (-100 dollars);
    # r2 gap = 2 x 0.25 - 1 pending at A x 0.25 - 0 = 0.25 (75 dollars)
    gap = salesperf.leaks(log, tl, by="rep", benchmark={"Stage A": 0.5, "Étape-2": 0.5}).units()["gap_dollars"]
    np.testing.assert_allclose(gap.loc[["r1", "r2"]], [-100.0, 75.0], atol=1e-9)
    # win rate 1 of 1 in r1 W02: Wilson (0.2065, 1)
    assert card.loc[0, "win_rate"] == 1.0 and card.loc[0, "win_rate_upper"] == 1.0
    assert abs(card.loc[0, "win_rate_lower"] - proportion_confint(1, 1, method="wilson")[0]) < 1e-12


def test_stage_names_that_collide() -> None:
    log, tl = _tiny(("A", "A_lower"))
    with pytest.raises(InvalidArgumentError, match="conversion_A_lower"):
        scorecard(log, tl, by=None)


# ------------------------------------------------------------------ BPIC 2012
@pytest.fixture(scope="module")
def bpic() -> tuple[pd.DataFrame, Any, Any]:
    try:
        path = datasets.bpic2012_path()
    except FileNotFoundError as e:
        pytest.skip(f"BPIC 2012 data absent (../shared/data/bpic2012): {e}")
    raw = pd.read_csv(path, dtype=str)
    raw["time"] = pd.to_datetime(raw["time:timestamp"], utc=True, format="ISO8601")
    raw["row"] = np.arange(len(raw))
    action = raw["concept:name"]
    buyer = action.isin(["A_SUBMITTED", "O_SENT_BACK", "A_CANCELLED"])
    raw["actor"] = np.where(buyer, "buyer", np.where(action.str.startswith("W_"), "seller", "system"))
    raw["amount"] = pd.to_numeric(raw["case:AMOUNT_REQ"])
    # the ingestion keeps the first of exact duplicates (tests/python/test_bpic2012.py)
    cols = ["case:concept:name", "time", "concept:name", "org:resource", "amount", "lifecycle:transition"]
    raw = raw[~raw.duplicated(cols, keep="first")]
    ev = raw.rename(columns={"case:concept:name": "deal", "org:resource": "rep"})
    ev = ev.sort_values(["deal", "time", "row"], kind="stable").reset_index(drop=True)
    log = datasets.load_bpic2012()
    tl = datasets.bpic2012_stage_model().run(log)
    return ev, log, tl


def test_bpic2012_columns_match_pandas(bpic: Any) -> None:
    ev, log, tl = bpic
    card = scorecard(log, tl, by="rep", period="week")
    check_schema(card, tl.stage_names[:-2], by_rep=True)
    check_against_raw(card, ev, log, tl)
    check_diagnosis(card, log, tl)
