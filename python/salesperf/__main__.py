"""The ``salesperf`` command.

``salesperf report EVENTS --model MODEL [--plan PLAN] [--survey ANSWERS] -o report.html``
reads an event log (CSV, CSV.gz or Parquet) and a stage model (TOML or JSON), runs the
whole pipeline and writes one self-contained HTML report (:mod:`salesperf.report`).
``salesperf score EVENTS --model MODEL -o scores.parquet|csv`` writes the rep x period
scorecard (:mod:`salesperf.scoring`) for scripts.

``salesperf demo`` generates a synthetic company, ingests its event log and prints
the ingest accounting, events by actor and action, deals by rep, the funnel by
buyer-defined stage, the key leading indicators, the leaks and the nine practices,
positive deviants, the practices to replicate, the skill/will diagnosis, the plan that
works backwards from the number and the plan against actual, and saves the charts
and the HTML report; ``salesperf demo --bpic2012`` does the same on the real BPI
Challenge 2012 log.

Exit codes: 0 done; 2 bad input or arguments (one line on stderr,
``salesperf: <file>: <what is wrong>``, naming the row, column or rule); 1 an
internal error (one line; please report it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import datasets, synth
from .behaviours import behaviours
from .deviance import deviants, diagnose
from .errors import Error, InternalError
from .event_log import EventLog
from .funnel import funnel
from .indicators import _units, deal_warnings, indicators
from .leaks import leaks
from .practices import practices
from .stages import StageModel, Timelines
from .targets import key_account_summary, key_accounts, plan_vs_actual, targets, what_if


def _print_log(log: EventLog, title: str, elapsed: float) -> None:
    print(f"== {title}")
    print(f"ingested in {elapsed:.2f} s: {log!r}\n")
    print("-- ingest accounting")
    print(log.report.summary())
    if log.report.rows_rejected:
        print("first rejected rows:")
        print(log.report.rejected.head(5).to_string(index=False))
        print()
    parts = log.summary()
    with pd.option_context("display.width", 120, "display.max_rows", 60):
        print("-- events by actor and action")
        print(parts["actions"].to_string(index=False))
        if "reps" in parts:
            reps = parts["reps"]
            print(f"\n-- deals by rep ({len(reps)} reps; top 15 by deals)")
            print(reps.head(15).to_string())


def _print_funnel(model: StageModel, log: EventLog) -> Timelines:
    start = time.perf_counter()
    timelines = model.run(log)
    print(f"\n-- funnel by buyer-defined stage ({time.perf_counter() - start:.2f} s): {timelines!r}")
    counts = timelines.stage_counts()
    entered = counts["deals_entered"]
    counts["share_of_first"] = (entered / entered.iloc[0]).round(3)
    print(counts.to_string())
    lost = timelines.deals["lost_reason"].value_counts()
    if len(lost):
        print("lost, by the action that closed the deal:")
        print(lost.to_string())
    for warning in timelines.warnings:
        print(f"warning: {warning}")
    return timelines


def _fmt_ratio(row: Any) -> str:
    if pd.isna(row["value"]):
        return "n/a"
    return f"{row['value']:.1%} [{row['lower']:.1%}, {row['upper']:.1%}]"


def _print_indicators(log: EventLog, timelines: Timelines, period: str) -> None:
    start = time.perf_counter()
    company = indicators(log, timelines, by=None, period=period)
    reps = indicators(log, timelines, by="rep", period=period) if log.codes("rep") is not None else None
    elapsed = time.perf_counter() - start
    table = company.table()
    print(f"\n-- leading indicators by {period} ({elapsed:.2f} s: company and per rep)")
    flow = ["created", "created_dollars", "won", "won_dollars", "lost", "win_rate",
            "avg_won_size", "cycle_time_median", "open_end"]
    wide = table[table.period != "all"].pivot(index="period", columns="indicator", values="value")
    wide = wide.reindex(columns=flow).tail(8)
    with pd.option_context("display.width", 140, "display.float_format", "{:,.2f}".format):
        print(wide.to_string())
    stages = timelines.stage_names[: len(timelines.stage_names) - 2]
    total = table[table.period == "all"].set_index("indicator")
    print("\nconversion from each stage (cohorts, all periods; 95% Wilson interval):")
    for stage in stages:
        conv = _fmt_ratio(total.loc[f"conversion:{stage}"])
        won = _fmt_ratio(total.loc[f"win_from:{stage}"])
        days: Any = total.loc[f"time_in_stage_median:{stage}", "value"]
        print(f"  {stage:<28} advanced {conv:<26} won {won:<26} median days in stage {days:.1f}")
    if reps is not None:
        t = reps.table()
        per_rep = t[t.period == "all"].pivot(index="unit", columns="indicator", values="value")
        cols = ["won", "won_dollars", "win_rate", "avg_won_size", "buyer_response_ratio", "velocity"]
        top = per_rep.reindex(columns=cols).sort_values("won_dollars", ascending=False)
        print(f"\n-- reps by dollars in the door (top 10 of {len(top)}; velocity in $/day)")
        with pd.option_context("display.width", 140, "display.float_format", "{:,.2f}".format):
            print(top.head(10).to_string())
    chain = funnel(log, timelines, by=None)
    stages_table = chain.stages()
    pipeline: Any = chain.summary().loc["(all)"]
    print("\n-- the funnel as a Markov chain: from each stage, the chance of ending Won and "
          "the expected days to close")
    with pd.option_context("display.width", 140, "display.float_format", "{:,.3f}".format):
        print(stages_table.to_string())
    print(f"open pipeline: {int(pipeline['open_deals']):,} deals, {pipeline['open_dollars']:,.0f} dollars, "
          f"expected to bring in {pipeline['expected_open_value']:,.0f}")
    warnings = deal_warnings(log, timelines)
    counts = {}
    for c in ("stalled", "dark", "single_threaded", "no_decision_maker"):
        known = warnings[c].dropna()  # <NA>: the log has no contact (role) column
        counts[c] = f"{int(known.sum()):,}" if len(known) or not len(warnings) else "n/a (no contacts)"
    print(f"\n-- open deals needing attention: {len(warnings):,} open; " +
          ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()))


def _money(x: Any) -> str:
    return "n/a" if pd.isna(x) else f"${x:,.0f}"


def _print_leaks_and_practices(log: EventLog, timelines: Timelines, out: str | None, *,
                               answers: pd.DataFrame | None, support_stages: Sequence[str] = (),
                               qualification_stage: str | None = None,
                               disqualify: Sequence[str] = ()) -> None:
    start = time.perf_counter()
    by = "rep" if log.codes("rep") is not None else None
    lk = leaks(log, timelines, by=by, benchmark="team_median", disqualify=disqualify)
    elapsed = time.perf_counter() - start
    units = lk.units()
    print(f"\n-- where the bucket leaks ({elapsed:.2f} s): {lk!r}")
    print(f"gap to the team median over {len(units)} units: {units['gap'].sum():,.1f} deals, "
          f"{_money(units['gap_dollars'].sum())}; after shrinkage {_money(units['shrunk_gap_dollars'].sum())}, "
          f"the rest ({_money(units['chance_dollars'].sum())}) is what chance alone would give")
    cols = ["unit", "stage", "trials", "rate", "own_benchmark", "benchmark", "own_probability",
            "shrunk_shortfall", "shrunk_dollars", "dollars_lower", "dollars_upper"]
    flagged = lk.flagged()
    print(f"flagged stage leaks ({len(flagged)}; a stage this far below the unit's own level elsewhere, "
          "with 95% probability), by expected dollars:")
    with pd.option_context("display.width", 160, "display.float_format", "{:,.3f}".format):
        print(flagged[cols].head(12).to_string(index=False) if len(flagged) else "  none")
    pa = practices(log, timelines, answers=answers, leaks=lk, qualification_stage=qualification_stage,
                   support_stages=support_stages)
    table = pa.table()
    print(f"\n-- the nine practices (Leaky Bucket): {pa!r}")
    with pd.option_context("display.width", 160, "display.float_format", "{:,.1f}".format,
                           "display.max_colwidth", 40):
        print(table.drop(columns=["name"]).to_string())
        if answers is not None and pa.questionnaire is not None:
            q = pa.questionnaire.practices()
            gaps = q[q["disagree"]]
            if len(gaps):
                print("managers and reps disagree (manager - rep, points): " +
                      ", ".join(f"{p} {d:+.0f}" for p, d in gaps["disagreement"].items()))
        silent = pa.signals[~pa.signals["speaks"]]
        if len(silent):
            print("the data cannot speak to: " +
                  "; ".join(f"{r.signal} ({r.reason})" for r in silent.itertuples()))
        best = pa.best_practices()
        best = best[best["dollars_at_stake"] > 0].groupby("practice", sort=False).head(2)
        print(f"leak dollars attributed: {_money(pa.attributed_dollars)} (each unit's leaks, not netted "
              "against its surpluses at other stages)")
        print("best practices to adopt first (by dollars at stake; the two lowest-scored per practice):")
        for r in best.itertuples():
            print(f"  {_money(r.dollars_at_stake):>12}  {r.practice}: {r.best_practice}")
        if not len(best):
            print("  none: no leak dollars to attribute")
    if out:
        _save_charts(lk, pa, out)


def _print_targets(log: EventLog, timelines: Timelines, out: str | None) -> None:
    """A plan for next quarter: every rep 10% above their last 13 weeks' won dollars."""
    if log.codes("rep") is None:
        return
    as_of = timelines.as_of
    start = (as_of + pd.offsets.QuarterBegin(startingMonth=1)).normalize()
    end = start + pd.DateOffset(months=3)
    deals = timelines.deals
    units = _units(log, "rep", "most_active")
    owner = pd.Series(np.asarray(list(units.names), dtype=object)[np.asarray(units.of_deal)], index=deals.index)
    recent = (deals["outcome"].astype(str) == "won") & (deals["outcome_time"] >= as_of - pd.Timedelta(weeks=13))
    by_rep = deals.loc[recent, "value"].groupby(owner[recent]).sum()
    target: Any = 1.1 * by_rep[by_rep > 0]
    start_t = time.perf_counter()
    plan = targets(log, timelines, target, period=(start, end))
    elapsed = time.perf_counter() - start_t
    t = plan.table()
    org = t.groupby("stage", observed=True)[["entries_per_week", "entries_lower", "entries_upper", "run_rate",
                                             "gap_per_week"]].sum()
    print(f"\n-- working backwards from the number ({elapsed:.2f} s): {plan!r}")
    print(f"each rep's target: 110% of their won dollars in the 13 weeks to {as_of:%Y-%m-%d}, "
          f"for {start:%Y-%m-%d} to {end:%Y-%m-%d}; deals entering each stage per week, all reps "
          "(80% interval; bounds summed):")
    with pd.option_context("display.width", 140, "display.float_format", "{:,.1f}".format):
        print(org.to_string())
    w = what_if(log, timelines, horizon="52w", add_reps=2, ramp="13w", stage="Proposal", raise_by=0.10)
    print(f"what-if over 52 weeks: baseline {_money(w['baseline_revenue'])}; two more reps (13-week ramp) "
          f"{_money(w['add_reps_revenue'])}; Proposal conversion +10% {_money(w['raise_stage_revenue'])}")
    if out:
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            return
        os.makedirs(out, exist_ok=True)
        ax = plan.chart()
        path = os.path.join(out, "target_vs_run_rate.png")
        ax.figure.savefig(path, dpi=120)
        plt.close(ax.figure)
        print(f"chart: {path}")


def _save(ax: Any, out: str | None, name: str) -> None:
    if not out:
        return
    import matplotlib.pyplot as plt

    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name)
    ax.figure.savefig(path, dpi=120)
    plt.close(ax.figure)
    print(f"chart: {path}")


def _print_deviance(log: EventLog, timelines: Timelines, out: str | None, covariates: list[str]) -> None:
    """Positive deviants, the behaviours that distinguish, and the skill/will diagnosis."""
    if log.codes("rep") is None:
        return
    start = time.perf_counter()
    dev = deviants(log, timelines, covariates=covariates)
    beh = behaviours(log, timelines, deviants=dev)
    diag = diagnose(log, timelines, dev, beh)
    elapsed = time.perf_counter() - start
    print(f"\n-- positive deviance ({elapsed:.2f} s): {dev!r}")
    print(f"wins against those expected from each rep's deal mix ({', '.join(covariates)}), shrunk; "
          "95% interval; top and bottom 5:")
    t = dev.table()
    cols = ["unit", "decided", "won", "expected", "ratio_shrunk", "ratio_lower", "ratio_upper", "excess_value",
            "deviant"]
    with pd.option_context("display.width", 160, "display.float_format", "{:,.2f}".format):
        print(pd.concat([t.head(5), t.tail(5)])[cols].to_string(index=False))
    rep = beh.replicate()
    print(f"\npractices to replicate ({len(rep)}; compared within the same rep, Benjamini-Hochberg "
          "q <= 0.10):")
    for sentence, dshare, pshare, diff, p in zip(rep["sentence"], rep["deviant_share"], rep["peer_share"],
                                                 rep["share_difference"], rep["share_p_value"]):
        print(f"  - {sentence}")
        if pd.notna(dshare):
            rep_by_rep = (f"; rep by rep {round(diff * 100):+d} points, Welch p = {p:.2g}" if pd.notna(p) else "")
            print(f"    positive deviants do it on {dshare:.0%} of their deals, their peers on {pshare:.0%}"
                  f"{rep_by_rep}.")
    if len(rep) == 0:
        print("  none found")
    d = diag.table()
    flagged = d[d["non_productive"]]
    print(f"\n-- skill or will? {diag!r}")
    print("non-productive reps, with the three questions (know how? want to? understand the metrics?):")
    with pd.option_context("display.width", 160, "display.max_colwidth", 90):
        print(flagged[["unit", "quadrant", "know_how", "want_to", "understands_metrics"]].to_string(index=False)
              if len(flagged) else "  none")
        for r in flagged.head(3).itertuples():
            print(f"  {r.unit}: know how? {r.know_how} ({r.know_how_evidence}); want to? {r.want_to} "
                  f"({r.want_to_evidence}); the metrics? {r.understands_metrics} ({r.understands_metrics_evidence})")
    if diag.methods_question:
        print("a third or more of the reps are non-productive: look at the methods, tools and reports first.")
    if out:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            return
        _save(diag.chart(), out, "rep_quadrant.png")


def _demo_objectives(log: EventLog, timelines: Timelines) -> tuple[pd.DataFrame, pd.Period, pd.Period]:
    """Each rep's bookings objective for the quarter that holds as_of: 110% of their
    won dollars of the quarter before (reps who won nothing then have none)."""
    as_of = timelines.as_of
    quarter = pd.Period(as_of.tz_convert(None), freq="Q")
    previous = quarter - 1
    deals = timelines.deals
    units = _units(log, "rep", "most_active")
    owner = pd.Series(np.asarray(list(units.names), dtype=object)[np.asarray(units.of_deal)], index=deals.index)
    won_at = deals["outcome_time"].dt.tz_convert(None).dt.to_period("Q")
    won = deals["outcome"].astype(str) == "won"
    last = deals.loc[won & (won_at == previous), "value"].groupby(owner[won & (won_at == previous)]).sum()
    objectives = pd.DataFrame({"unit": last.index, "period": str(quarter), "target": 1.1 * last.to_numpy()})
    return objectives[objectives["target"] > 0].reset_index(drop=True), quarter, previous


def _print_plan_vs_actual(log: EventLog, timelines: Timelines) -> None:
    """Each rep's bookings objective for the quarter that holds as_of, and key accounts."""
    if log.codes("rep") is None:
        return
    as_of = timelines.as_of
    deals = timelines.deals
    units = _units(log, "rep", "most_active")
    owner = pd.Series(np.asarray(list(units.names), dtype=object)[np.asarray(units.of_deal)], index=deals.index)
    objectives, quarter, previous = _demo_objectives(log, timelines)
    start = time.perf_counter()
    pva = plan_vs_actual(log, timelines, objectives)
    elapsed = time.perf_counter() - start
    t = pva.table()
    print(f"\n-- plan against actual ({elapsed:.2f} s): {pva!r}")
    print(f"each rep's bookings objective for {quarter}: 110% of their {previous}; as of {as_of:%Y-%m-%d}")
    cols = ["unit", "target", "actual", "attainment", "pacing", "forecast", "coverage", "gap"]
    total = t[["target", "actual", "forecast", "gap"]].sum()
    with pd.option_context("display.width", 160, "display.float_format", "{:,.2f}".format):
        print(t.sort_values("attainment")[cols].head(8).to_string(index=False))
    print(f"all reps: target {_money(total['target'])}, actual {_money(total['actual'])} "
          f"({total['actual'] / total['target']:.0%}), forecast {_money(total['forecast'])}, "
          f"gap {_money(total['gap'])}")
    # Key accounts: per rep, the three accounts of its territory it sold most to before the
    # quarter (maintenance) and two it never had a deal with (new business).
    ev = log.to_pandas()
    if "account" not in ev or ev["account"].isna().all():
        return
    q_start = quarter.start_time.tz_localize("UTC")
    first = ev.dropna(subset=["account"]).groupby("deal", observed=True).first()
    first = first.assign(rep=owner.reindex(first.index).to_numpy(), value=deals["value"].reindex(first.index))
    before = first[first["time"] < q_start]
    plan_rows = []
    for rep, mine in before.groupby("rep"):
        top = mine.groupby("account", observed=True)["value"].sum().sort_values(ascending=False).head(3)
        plan_rows += [(rep, a) for a in top.index]
        if "territory" in first:
            ter = mine["territory"].mode()
            pool = first.loc[first["territory"].isin(ter), "account"].unique()
            fresh = sorted(set(map(str, pool)) - set(map(str, mine["account"])))[:2]
            plan_rows += [(rep, a) for a in fresh]
    plan = pd.DataFrame(plan_rows, columns=["rep", "account"]).astype(str)
    ka = key_accounts(log, timelines, plan, period=str(quarter))
    summary = key_account_summary(ka).groupby("kind", observed=True).sum(numeric_only=True)
    print(f"key accounts in {quarter} ({len(plan)} over {plan['rep'].nunique()} reps: each rep's top three "
          "accounts before the quarter and two of its territory it never sold to):")
    print(summary.to_string())


def _save_charts(lk: Any, pa: Any, out: str) -> None:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        print("charts skipped: matplotlib is not installed (pip install 'salesperf[plot]')")
        return
    os.makedirs(out, exist_ok=True)
    paths = []
    for name, ax in (("leak_waterfall.png", lk.waterfall()), ("practice_scores.png", pa.chart())):
        path = os.path.join(out, name)
        ax.figure.savefig(path, dpi=120)
        plt.close(ax.figure)
        paths.append(path)
    print("charts: " + ", ".join(paths))


def _progress(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "progress", False)) or sys.stderr.isatty()


def _write_report(args: argparse.Namespace, log: EventLog, timelines: Timelines, **options: Any) -> None:
    """The demo's HTML report, beside its charts."""
    if not args.out:
        return
    from .report import build_report

    path = build_report(log, timelines, progress=_progress(args), **options).save(
        os.path.join(args.out, "report.html"))
    print(f"report: {path}")


def _demo(args: argparse.Namespace) -> int:
    if args.bpic2012:
        start = time.perf_counter()
        log = datasets.load_bpic2012()
        _print_log(log, "BPI Challenge 2012: loan applications as a sales funnel",
                   time.perf_counter() - start)
        timelines = _print_funnel(datasets.bpic2012_stage_model(), log)
        _print_indicators(log, timelines, "month")
        # A decline by the institute is its qualification at work, not a lost sale.
        _print_leaks_and_practices(log, timelines, args.out, answers=None, disqualify=["A_DECLINED"])
        objectives = _demo_objectives(log, timelines)[0]
        _write_report(args, log, timelines, title="BPI Challenge 2012: loan applications as a sales funnel",
                      period="month", disqualify=["A_DECLINED"], covariates=[],
                      objectives=objectives if len(objectives) else None)
        print(f"\nData: {datasets.BPIC2012_CITATION}")
        return 0
    start = time.perf_counter()
    company = synth.company(events=args.events, seed=args.seed)
    generated = time.perf_counter() - start
    start = time.perf_counter()
    log = company.event_log()
    print(f"generated a synthetic company in {generated:.2f} s: {company!r}")
    _print_log(log, "synthetic company", time.perf_counter() - start)
    # Buyers in the synthetic company go dark rather than decline: call a deal with
    # no buyer action for 45 days stalled, and lost 30 days later.
    timelines = _print_funnel(company.stage_model(stall_after="45d", close_stalled_after="30d"), log)
    _print_indicators(log, timelines, "quarter")
    # Proposals wait on the proposal desk (sales support); answers to the practice
    # questionnaire come from a synthetic survey of 4 managers and 24 reps.
    answers = synth.survey(seed=args.seed)
    _print_leaks_and_practices(log, timelines, args.out, answers=answers,
                               support_stages=["Proposal"], qualification_stage="Qualified")
    covariates = ["segment", "lead_source", "product", "territory"]
    _print_deviance(log, timelines, args.out, covariates)
    _print_targets(log, timelines, args.out)
    _print_plan_vs_actual(log, timelines)
    objectives = _demo_objectives(log, timelines)[0]
    _write_report(args, log, timelines, title="salesperf demo: a synthetic company", period="quarter",
                  answers=answers, covariates=covariates, support_stages=["Proposal"],
                  qualification_stage="Qualified", objectives=objectives if len(objectives) else None)
    return 0


# ------------------------------------------------------------------- report and score
class BadInput(Exception):
    """A bad input file or argument: exit code 2, ``salesperf: <where>: <what>``."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= 400 else text[:397] + "..."


@contextlib.contextmanager
def _about(where: str) -> Iterator[None]:
    """Turns what reading ``where`` may raise for a bad file into :class:`BadInput`."""
    import pyarrow as pa

    try:
        yield
    except InternalError:
        raise
    except (Error, OSError, UnicodeDecodeError, pa.ArrowInvalid, pd.errors.ParserError,
            pd.errors.EmptyDataError) as e:
        what = _one_line(e)
        if isinstance(e, OSError) and e.strerror:
            what = e.strerror.lower()
        raise BadInput(where, what) from None


# Columns with a role in the event log; every other column is read as a dimension.
_ROLE_COLUMNS = ("deal", "time", "action", "actor", "rep", "account", "contact", "contact_role", "amount")


def _existing(path: str, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise BadInput(path, f"no such file ({what})")
    if not p.is_file():
        raise BadInput(path, f"not a file ({what})")
    return p


def _read_events(path: str, covariates: Sequence[str]) -> EventLog:
    """EVENTS: .csv, .csv.gz or .parquet with deal, time, action and actor columns
    (rep, account, contact, contact_role, amount when present); the other columns are
    dimensions (segment, territory, ...)."""
    p = _existing(path, "the events")
    name = p.name.lower()
    with _about(path):
        if name.endswith((".csv", ".csv.gz")):
            import pyarrow.csv as pacsv

            header = list(pacsv.open_csv(p).schema.names)
            reader: Any = EventLog.read_csv
        elif name.endswith(".parquet"):
            import pyarrow.parquet as pq

            header = list(pq.read_schema(p).names)
            reader = EventLog.read_parquet
        else:
            raise BadInput(path, f"unknown format {''.join(p.suffixes) or p.name!r}: give .csv, .csv.gz or .parquet")
        dims = [c for c in header if c not in _ROLE_COLUMNS]
        for c in covariates:
            if c not in dims:
                raise BadInput(path, f"--covariates: no dimension column {c!r}; the dimension columns are {dims}")
        log: EventLog = reader(p, dimensions=dims)
    if len(log) == 0:
        raise BadInput(path, f"no event was accepted ({log.report.summary().splitlines()[0]})")
    return log


def _read_model(path: str) -> StageModel:
    p = _existing(path, "the stage model")
    name = p.name.lower()
    with _about(path):
        if name.endswith(".toml"):
            return StageModel.from_toml(p)
        if name.endswith(".json"):
            return StageModel.from_json(p)
    raise BadInput(path, f"unknown format {p.suffix or p.name!r}: give a .toml or .json stage model")


def _read_table(path: str, what: str) -> pd.DataFrame:
    p = _existing(path, what)
    with _about(path):
        if p.name.lower().endswith(".parquet"):
            return pd.read_parquet(p)
        return pd.read_csv(p, dtype=str)


def _inputs(args: argparse.Namespace) -> tuple[EventLog, Timelines, list[str]]:
    covariates = [c.strip() for c in args.covariates.split(",") if c.strip()] if args.covariates else []
    log = _read_events(args.events, covariates)
    model = _read_model(args.model)
    with _about(args.model):
        timelines = model.run(log)
    return log, timelines, covariates


def _by(args: argparse.Namespace) -> Any:
    return None if args.by in ("none", "") else args.by


def _report(args: argparse.Namespace) -> int:
    from .practices import score_answers
    from .report import build_report

    log, timelines, covariates = _inputs(args)
    by = _by(args)
    if by is not None and by != "rep" and by not in log.dimension_names:
        raise BadInput(args.events, f"--by: no column {by!r}; give 'rep', 'none' or one of {log.dimension_names}")
    objectives = answers = None
    if args.plan:
        objectives = _read_table(args.plan, "the objectives")
        with _about(args.plan):  # the objectives are checked here, so an error names the file
            plan_vs_actual(log, timelines, objectives, by=by if by is not None else "rep")
    if args.survey:
        table = _read_table(args.survey, "the questionnaire answers")
        with _about(args.survey):
            answers = score_answers(table)
    report = build_report(log, timelines, objectives=objectives, answers=answers,
                          covariates=covariates or None, by=by, period=args.period,
                          title=args.title or f"salesperf report: {Path(args.events).name}",
                          progress=_progress(args))
    with _about(args.output):
        path = report.save(args.output)
    print(f"report: {path} ({len(report.reps)} coaching pages)")
    return 0


def _score(args: argparse.Namespace) -> int:
    from .scoring import scorecard, write_scorecard

    out = Path(args.output)
    if not out.name.lower().endswith((".parquet", ".csv")):
        raise BadInput(args.output, f"unknown format {out.suffix or out.name!r}: give .parquet or .csv")
    log, timelines, covariates = _inputs(args)
    with _about(args.events):
        df = scorecard(log, timelines, by=_by(args), period=args.period, covariates=covariates or None)
    with _about(args.output):
        path = write_scorecard(df, out)
    print(f"scorecard: {path} ({len(df):,} rows x {len(df.columns)} columns)")
    return 0


_EPILOG = """exit codes:
  0  done
  2  bad input or arguments: one line on stderr, "salesperf: <file>: <what is wrong>",
     naming the row, column or rule (a missing or unreadable file, a bad stage model,
     missing columns, malformed objectives or answers)
  1  internal error: one line on stderr; please report it with the command and input
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salesperf", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG,
        description="Sales performance analytics on buyer-behaviour event logs.")
    sub = parser.add_subparsers(dest="command", required=True)

    def inputs(p: argparse.ArgumentParser) -> None:
        p.add_argument("events", metavar="EVENTS",
                       help="the event log: .csv, .csv.gz or .parquet with columns deal, time, action, actor "
                            "(and rep, account, contact, contact_role, amount when present; other columns are "
                            "dimensions)")
        p.add_argument("--model", required=True, metavar="MODEL", help="the stage model: .toml or .json")
        p.add_argument("--by", default="rep",
                       help="the units: 'rep' (default), a dimension column, or 'none'")
        p.add_argument("--covariates", default="", metavar="A,B",
                       help="dimension columns describing the deal mix (default: every dimension column)")
        p.add_argument("--progress", action="store_true",
                       help="show the progress bar even when stderr is not a terminal")

    report = sub.add_parser("report", help="write the HTML report of an event log", epilog=_EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    inputs(report)
    report.add_argument("--plan", metavar="PLAN",
                        help="objectives CSV (unit, target, period or period_start and period_end; optional "
                             "metric, margin_rate) for the plan against actual")
    report.add_argument("--survey", metavar="ANSWERS",
                        help="questionnaire answers CSV (respondent, role, statement, value)")
    report.add_argument("--period", default="month", help="the indicators' calendar (default month)")
    report.add_argument("--title", default=None, help="the report's title")
    report.add_argument("-o", "--output", default="report.html", help="the HTML file (default report.html)")

    score = sub.add_parser("score", help="write the rep x period scorecard (.parquet or .csv)", epilog=_EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    inputs(score)
    score.add_argument("--period", default="week", help="the scorecard's period (default week)")
    score.add_argument("-o", "--output", required=True, help="scores.parquet or scores.csv")

    demo = sub.add_parser("demo", help="run on a synthetic company (or --bpic2012)", epilog=_EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("--events", type=int, default=200_000,
                      help="events to generate (default 200,000)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.add_argument("--out", default="salesperf-demo",
                      help="folder for the charts and report.html (default ./salesperf-demo; '' for none)")
    demo.add_argument("--bpic2012", action="store_true",
                      help="use the real BPI Challenge 2012 log from ../shared/data")
    demo.add_argument("--progress", action="store_true",
                      help="show the progress bar even when stderr is not a terminal")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {"demo": _demo, "report": _report, "score": _score}
    try:
        return commands[args.command](args)
    except BadInput as e:
        print(f"salesperf: {e.where}: {e.what}", file=sys.stderr)
        return 2
    except InternalError as e:
        print(f"salesperf: internal error: {_one_line(e)} (please report it with the command and input)",
              file=sys.stderr)
        return 1
    except (Error, FileNotFoundError) as e:
        print(f"salesperf: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("salesperf: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a bug: one line, not a traceback
        print(f"salesperf: internal error: {type(e).__name__}: {_one_line(e)} "
              "(please report it with the command and input)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
