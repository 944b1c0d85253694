"""The HTML report: every section and coaching page present, the figures it shows
equal to independent computations (pandas on the raw events, or the documented API
tables), the charts decodable PNGs, nothing fetched from the network, and the
sections that cannot speak saying why."""

from __future__ import annotations

import base64
import html
import io
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import salesperf
from salesperf import report as report_module
from salesperf import synth
from salesperf.errors import InvalidArgumentError
from salesperf.report import SECTIONS, Report, build_report

PIL_Image = pytest.importorskip("PIL.Image")

COVARIATES = ["segment", "lead_source", "product", "territory"]
INJECTED_REJECTS = 4  # 3 duplicate rows + 1 unparseable time, added below


# ----------------------------------------------------------------------- helpers
class _Tables(HTMLParser):
    """Rows of cell texts of every <table>, keyed by the id of the enclosing table-wrap div."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self._wrap: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "div" and a.get("class") == "table-wrap":
            self._wrap = a.get("id") or ""
            self.tables[self._wrap] = []
        elif tag == "tr" and self._wrap is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._wrap is not None:
            self.tables[self._wrap].append(self._row)
            self._row = None
        elif tag == "table":
            self._wrap = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(page: str) -> dict[str, pd.DataFrame]:
    p = _Tables()
    p.feed(page)
    out = {}
    for key, rows in p.tables.items():
        if rows:
            out[key] = pd.DataFrame(rows[1:], columns=rows[0])
    return out


def block(page: str, tag: str, element_id: str) -> str:
    """The HTML of <tag id=element_id> ... up to the next element of the same tag."""
    m = re.search(rf'<{tag} id="{re.escape(element_id)}"[^>]*>(.*?)</{tag}>', page, flags=re.DOTALL)
    assert m is not None, f"no <{tag} id={element_id!r}>"
    return m.group(1)


def figure(part: str, key: str) -> str:
    m = re.search(rf'data-figure="{re.escape(key)}"><dt>[^<]*</dt><dd>([^<]*)</dd>', part)
    assert m is not None, f"no figure {key!r}"
    return html.unescape(m.group(1))


def texts(part: str, kind: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(rf'<p class="{kind}"[^>]*>([^<]*)</p>', part)]


def money(x: float) -> str:
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


def owners(events: pd.DataFrame) -> pd.Series:
    """Each deal's rep by docs/indicators.md's most_active rule, in pandas: the rep on
    most of its seller events, ties to the one seen first (in time order), and with no
    seller event naming a rep the first rep on any event."""
    ev = events.dropna(subset=["rep"]).sort_values(["deal", "time"], kind="stable")
    ev = ev.assign(order=np.arange(len(ev)))
    seller = ev[ev["actor"].astype(str) == "seller"]
    g = seller.groupby(["deal", "rep"], observed=True).agg(n=("order", "size"), first=("order", "min")).reset_index()
    g = g.sort_values(["deal", "n", "first"], ascending=[True, False, True], kind="stable")
    top = g.drop_duplicates("deal").set_index("deal")["rep"].astype(str)
    first_any = ev.drop_duplicates("deal").set_index("deal")["rep"].astype(str)
    out = first_any.copy()
    out.loc[top.index] = top
    out.index = out.index.astype(str)
    return out


# ----------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    company = synth.company(events=100_000, seed=7)
    events = company.events
    # A few bad rows, so that the accounting is not trivially "everything accepted".
    raw = pd.concat([events, events.iloc[[10, 20, 30]]], ignore_index=True)
    raw["time"] = raw["time"].astype(object)
    raw.loc[len(events) + 3] = raw.loc[40]
    raw.loc[len(events) + 3, "time"] = "not a time"
    log = salesperf.EventLog.from_pandas(raw, dimensions=["segment", "territory", "product", "lead_source", "team"],
                                         vocabulary=company.vocabulary)
    tl = company.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
    reps = sorted(events["rep"].dropna().astype(str).unique())
    objectives = pd.DataFrame({"unit": reps[:12], "period": "2025Q4", "target": 120_000.0 + 1000 * np.arange(12)})
    answers = synth.survey(seed=7)
    rep = build_report(log, tl, objectives=objectives, answers=answers, covariates=COVARIATES,
                       support_stages=["Proposal"], qualification_stage="Qualified", title="Test & <report>")
    return {"company": company, "events": events, "raw": raw, "log": log, "tl": tl, "reps": reps,
            "objectives": objectives, "report": rep, "tables": tables(rep.html)}


# ----------------------------------------------------------------------- structure
def test_every_section_and_rep_page_is_there(built: dict[str, Any]) -> None:
    rep: Report = built["report"]
    assert rep.sections == list(SECTIONS)
    ids = re.findall(r'<(?:section|article) id="([^"]+)"', rep.html)
    assert ids[: len(SECTIONS)] == list(SECTIONS)
    # one page per rep of the raw events, in the navigation too
    assert sorted(rep.reps) == built["reps"]
    assert sorted(ids[len(SECTIONS):]) == sorted(f"rep-{r}" for r in built["reps"])
    nav = block(rep.html, "nav", "nav")
    for sid in SECTIONS:
        assert f'href="#{sid}"' in nav
    for r in built["reps"]:
        assert rep.page_id(r) == f"rep-{r}"
        assert f'href="#rep-{r}"' in nav
    with pytest.raises(InvalidArgumentError):
        rep.page_id("nobody")
    # every step spoke on this log: no section says it could not
    assert "could not be computed" not in rep.html
    assert rep.problems == {}
    # the title is escaped
    assert "<title>Test &amp; &lt;report&gt;</title>" in rep.html


def test_self_contained(built: dict[str, Any]) -> None:
    page: str = built["report"].html
    assert not re.search(r"https?://", page)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    srcs = re.findall(r'src="([^"]*)"', page)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)


def test_every_image_is_a_decodable_png_with_alt_text(built: dict[str, Any]) -> None:
    page: str = built["report"].html
    imgs = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]*)"', page)
    assert len(imgs) == len(re.findall(r"<img ", page))
    # org charts: funnel, two trends, pipeline flow, leak waterfall, practices, quadrant, targets;
    # one funnel per rep page
    assert len(imgs) >= 8 + len(built["reps"])
    for data, alt in imgs:
        assert alt.strip()
        raw = base64.b64decode(data, validate=True)
        assert raw[:8] == b"\x89PNG\r\n\x1a\n"
        with PIL_Image.open(io.BytesIO(raw)) as im:
            im.verify()
        with PIL_Image.open(io.BytesIO(raw)) as im:
            assert im.size[0] >= 300 and im.size[1] >= 150
            extrema = im.convert("L").getextrema()
            assert extrema[0] < extrema[1]  # not a blank image
    for r in built["reps"]:
        assert "<img " in block(page, "article", f"rep-{r}")


# ----------------------------------------------------------------------- figures
def test_ingest_accounting(built: dict[str, Any]) -> None:
    part = block(built["report"].html, "section", "ingest")
    n = len(built["raw"])
    assert figure(part, "rows_in") == f"{n:,}"
    assert figure(part, "rows_rejected") == f"{INJECTED_REJECTS}"
    assert figure(part, "rows_accepted") == f"{n - INJECTED_REJECTS:,}"
    assert figure(part, "deals") == f"{built['events']['deal'].nunique():,}"
    reasons = built["tables"]["ingest-reasons"].set_index("reason")["rows"].to_dict()
    assert reasons == {"unparseable_time": "1", "duplicate_event": "3"}
    events = built["tables"]["ingest-actions"]
    expected = built["events"]["action"].astype(str).value_counts()
    got = events.set_index("action")["events"].str.replace(",", "").astype(int)
    assert got.to_dict() == expected.to_dict()


def test_funnel_figures(built: dict[str, Any]) -> None:
    t = built["tables"]["funnel-table"].set_index("stage")
    tl = built["tl"]
    entered = tl.entered.notna().sum()  # deal x stage: first entered (documented table)
    stages = [s for s in tl.stage_names if s != "Lost"]
    assert list(t.index) == stages
    for s in stages:
        assert t.loc[s, "deals entered"] == f"{int(entered[s]):,}"
    # from the raw events: every deal enters Lead on opportunity_created, and Won on sign
    ev = built["events"]
    lead = ev.loc[ev["action"] == "opportunity_created", "deal"].nunique()
    assert t.loc["Lead", "deals entered"] == f"{lead:,}"
    won = ev.loc[ev["action"] == "sign", "deal"].nunique()
    assert t.loc["Won", "deals entered"] == f"{won:,}"
    assert t.loc["Won", "share of first stage"] == f"{won / lead:.1%}"
    summary = block(built["report"].html, "section", "summary")
    assert figure(summary, "won_deals") == f"{won:,}"
    # a deal's value is its last non-missing amount (docs/semantics.md)
    value = ev.sort_values(["deal", "time"], kind="stable").dropna(subset=["amount"]) \
        .groupby("deal", observed=True)["amount"].last()
    value.index = value.index.astype(str)
    signed = ev.loc[ev["action"] == "sign", "deal"].astype(str).unique()
    assert figure(summary, "won_dollars") == money(float(value.reindex(signed).sum()))
    assert figure(summary, "deals") == f"{ev['deal'].nunique():,}"


def test_leak_and_deviant_figures(built: dict[str, Any]) -> None:
    log, tl = built["log"], built["tl"]
    lk = salesperf.leaks(log, tl, by="rep", benchmark="team_median")
    units = lk.units()
    part = block(built["report"].html, "section", "leaks")
    assert figure(part, "gap_dollars") == money(float(units["gap_dollars"].sum()))
    assert figure(part, "shrunk_gap_dollars") == money(float(units["shrunk_gap_dollars"].sum()))
    assert figure(part, "flagged_leaks") == f"{int(lk.table()['flagged'].sum())}"
    assert figure(block(built["report"].html, "section", "summary"), "gap_dollars") == \
        money(float(units["gap_dollars"].sum()))
    # the deviants table: ranked, and the top deviant's wins from the raw events
    t = built["tables"]["deviants-table"]
    assert t["rank"].tolist()[:3] == ["1", "2", "3"]
    top = t.iloc[0]["unit"]
    owner = owners(built["events"])
    won_deals = tl.deals.index[tl.deals["outcome"].astype(str) == "won"].astype(str)
    mine = int((owner.reindex(won_deals) == top).sum())
    assert t.iloc[0]["won"] == f"{mine:,}"
    dev = salesperf.deviants(log, tl, covariates=COVARIATES)
    assert top == str(dev.table().iloc[0]["unit"])
    assert figure(block(built["report"].html, "section", "deviants"), "positive_deviants") == \
        f"{len(dev.positive_units())}"


def test_plan_and_targets_figures(built: dict[str, Any]) -> None:
    page: str = built["report"].html
    part = block(page, "section", "targets")
    obj = built["objectives"]
    assert figure(part, "pva_target") == money(float(obj["target"].sum()))
    # actual bookings in 2025Q4 per objective's rep, from the deals' owners and outcomes
    tl = built["tl"]
    owner = owners(built["events"])
    d = tl.deals.copy()
    d.index = d.index.astype(str)
    d["owner"] = owner.reindex(d.index)
    start, end = pd.Timestamp("2025-10-01", tz="UTC"), pd.Timestamp("2026-01-01", tz="UTC")
    won_q = d[(d["outcome"].astype(str) == "won") & (d["outcome_time"] >= start) & (d["outcome_time"] < end)]
    actual = won_q[won_q["owner"].isin(obj["unit"])]["value"].sum()
    assert figure(part, "pva_actual") == money(float(actual))
    # the default activity target of each rep: 110% of their won dollars in the 13 weeks to as_of
    as_of = tl.as_of
    recent = d[(d["outcome"].astype(str) == "won") & (d["outcome_time"] >= as_of - pd.Timedelta(weeks=13))]
    target = 1.1 * recent.groupby("owner")["value"].sum()
    target = target[target > 0]
    assert figure(part, "plan_target") == money(float(target.sum()))
    checked = 0
    for r in built["reps"]:
        rep_page = block(page, "article", f"rep-{r}")
        if r in target.index:
            assert f"To reach {money(float(target[r]))}:" in rep_page
            rows = built["tables"][f"rep-{r}-targets"]
            assert rows["stage"].tolist() == tl.stage_names[:-2]
            checked += 1
        else:
            assert "No target was planned for this unit" in rep_page
    assert checked >= 12
    # the per-week figures are those of the documented plan table
    start = (as_of + pd.offsets.QuarterBegin(startingMonth=1)).normalize()
    plan = salesperf.targets(built["log"], tl, target, period=(start, start + pd.DateOffset(months=3))).table()
    r = target.index[0]
    mine = plan[plan["unit"].astype(str) == r]
    mine = mine.set_index(mine["stage"].astype(str))
    rows = built["tables"][f"rep-{r}-targets"].set_index("stage")
    for stage in mine.index:
        m = mine.loc[stage]
        assert rows.loc[stage, "needed per week (interval)"] == \
            f"{m['entries_per_week']:,.1f} [{m['entries_lower']:,.1f}, {m['entries_upper']:,.1f}]"


def test_rep_pages(built: dict[str, Any]) -> None:
    page: str = built["report"].html
    log, tl = built["log"], built["tl"]
    lk = salesperf.leaks(log, tl, by="rep").table()
    owner = owners(built["events"])
    won_deals = tl.deals.index[tl.deals["outcome"].astype(str) == "won"].astype(str)
    wins = owner.reindex(won_deals).value_counts()
    per_rep = []
    for r in built["reps"]:
        part = block(page, "article", f"rep-{r}")
        assert figure(part, "won") == f"{int(wins.get(r, 0)):,}"
        funnel = built["tables"][f"rep-{r}-funnel"].set_index("stage")
        mine = lk[lk["unit"].astype(str) == r].set_index(lk["stage"].astype(str)[lk["unit"].astype(str) == r])
        for stage in tl.stage_names[:-2]:
            assert funnel.loc[stage, "reached"] == f"{int(mine.loc[stage, 'reached']):,}"
            assert funnel.loc[stage, "flagged"] == ("leak" if mine.loc[stage, "flagged"] else "")
        for section in ("Funnel against the benchmark", "Leaks", "Behaviours of the positive deviants to adopt",
                        "Weekly activity targets"):
            assert f"<h3>{section}</h3>" in part
        adopt = built["tables"][f"rep-{r}-adopt"].assign(rep=r)
        per_rep.append(adopt)
    shares = pd.concat(per_rep, ignore_index=True)

    def pct(col: pd.Series) -> pd.Series:
        return pd.to_numeric(col.str.rstrip("%"), errors="coerce") / 100

    you, them = pct(shares["you"]), pct(shares["positive deviants"])
    assert ((shares["to adopt"] == "yes") == (you < them)).all()
    assert (shares["to adopt"] == "yes").any() and (shares["to adopt"] == "").any()
    # Each rep's share, averaged over the positive deviants and over their peers, is the
    # documented rep-by-rep comparison of salesperf.behaviours (deviant_unit_share and
    # peer_unit_share: the mean over units with a trial at the stage).
    dev = salesperf.deviants(log, tl, covariates=COVARIATES)
    beh = salesperf.behaviours(log, tl, deviants=dev).table()
    positive = set(dev.positive_units())
    assert positive
    shares = shares.assign(you=you, deviant=shares["rep"].isin(positive))
    checked = 0
    for (stage, behaviour), g in shares.groupby(["stage", "behaviour"]):
        row = beh[(beh["stage"].astype(str) == stage) & (beh["description"] == behaviour)].iloc[0]
        assert abs(g.loc[g["deviant"], "you"].mean() - row["deviant_unit_share"]) < 6e-4
        assert abs(g.loc[~g["deviant"], "you"].mean() - row["peer_unit_share"]) < 6e-4
        assert g.loc[g["deviant"], "you"].notna().sum() == row["deviant_units"]
        checked += 1
    assert checked == len(salesperf.behaviours(log, tl, deviants=dev).replicate())


def test_practices_with_answers(built: dict[str, Any]) -> None:
    part = block(built["report"].html, "section", "practices")
    assert "data signals only" not in part
    t = built["tables"]["practices-table"]
    assert len(t) == 9
    assert t["questionnaire score"].ne("n/a").all()


def test_repr_and_save(built: dict[str, Any], tmp_path: Path) -> None:
    rep: Report = built["report"]
    assert "24 coaching pages" in repr(rep)
    frame = rep._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "&lt;section id=&quot;summary&quot;" in frame
    path = rep.save(tmp_path / "sub" / "r.html")
    assert path.read_text(encoding="utf-8") == rep.html


# ----------------------------------------------------------------------- cannot speak
@pytest.fixture(scope="module")
def small() -> dict[str, Any]:
    company = synth.company(events=20_000, seed=4)
    return {"company": company, "events": company.events}


def test_sections_say_why_when_a_step_cannot_speak(small: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """No rep column, no answers, no objectives and no matplotlib: each section says so."""
    events = small["events"].drop(columns=["rep"])
    log = salesperf.EventLog.from_pandas(events, vocabulary=small["company"].vocabulary)
    tl = small["company"].stage_model().run(log)

    def no_matplotlib() -> Any:
        raise ImportError("no matplotlib")

    monkeypatch.setattr(salesperf.plots, "_pyplot", no_matplotlib)
    rep = build_report(log, tl)
    page = rep.html
    assert rep.reps == [] and "<img" not in page
    for sid in ("deviants", "behaviours", "reps"):
        assert any("no rep column" in t for t in texts(block(page, "section", sid), "note")), sid
    assert any("data signals only" in t for t in texts(block(page, "section", "practices"), "note"))
    assert any("No objectives were given" in t for t in texts(block(page, "section", "targets"), "note"))
    assert any("matplotlib is not installed" in t for t in texts(block(page, "section", "funnel"), "note"))
    # the summary lists what could not speak
    assert "no rep column" in block(page, "section", "summary")
    assert set(rep.problems) >= {"deviants", "behaviours", "reps", "practices", "targets", "funnel"}
    # the figures that do not need reps are still there
    assert figure(block(page, "section", "ingest"), "rows_in") == f"{len(events):,}"


def test_a_failing_step_says_so_in_its_section(small: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    log = small["company"].event_log()
    tl = small["company"].stage_model(stall_after="45d").run(log)

    def fails(*args: Any, **kwargs: Any) -> Any:
        raise InvalidArgumentError("too few decided deals <here>")

    monkeypatch.setattr(report_module, "assess_deviants", fails)
    rep = build_report(log, tl, charts=False)
    errors = texts(block(rep.html, "section", "deviants"), "error")
    expected = "The positive deviants could not be computed: InvalidArgumentError: too few decided deals <here>"
    assert errors == [expected]
    assert "too few decided deals &lt;here&gt;" in rep.html  # escaped
    assert rep.problems["deviants"]
    # the other steps still speak, and the rep pages are there without the deviants
    assert len(rep.reps) == 24
    assert 'data-figure="positive_deviants"' not in block(rep.html, "section", "summary")
    assert texts(block(rep.html, "section", "leaks"), "error") == []


def test_bad_arguments_raise(small: dict[str, Any]) -> None:
    log = small["company"].event_log()
    tl = small["company"].stage_model().run(log)
    with pytest.raises(InvalidArgumentError, match="covariates: 'nope'"):
        build_report(log, tl, covariates=["nope"], charts=False)
    with pytest.raises(InvalidArgumentError, match="column 'target'"):
        build_report(log, tl, objectives=pd.DataFrame({"unit": ["rep-01"], "period": ["2025Q4"],
                                                       "target": [-1.0]}), charts=False)
    with pytest.raises(InvalidArgumentError, match="answers row 0"):
        build_report(log, tl, answers=pd.DataFrame({"respondent": ["m"], "role": ["manager"],
                                                    "statement": ["cr1"], "value": ["x"]}), charts=False)
    other = small["company"].event_log()
    with pytest.raises(InvalidArgumentError, match="Timelines of this log"):
        build_report(other, tl, charts=False)


def test_formatting_helpers() -> None:
    assert report_module._money(1234567.4) == "$1,234,567"
    assert report_module._money(-5.5) == "-$6"
    assert report_module._money(float("nan")) == "n/a"
    assert report_module._pct(0.1234) == "12.3%"
    assert report_module._interval(0.5, 0.25, 0.75) == "50.0% [25.0%, 75.0%]"
    assert report_module._interval(0.5, float("nan"), 0.75) == "50.0%"
    assert report_module._slug("Ann  O'Neil/EMEA") == "Ann-O-Neil-EMEA"
