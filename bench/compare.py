"""The same sales queries with salesperf, pandas, polars and DuckDB, side by side.

The query set, on a synthetic company's event log (buyer, seller and system actions
per deal, sorted by deal and time, columns as dense integer codes for every tool):

* **timelines**: each deal's first entry into each buyer-defined stage, for a ladder
  of six stages entered on one buyer action each, `skip` ordering, `latch`
  regression (a deal's stage is the highest it has reached), Won on `sign` and Lost
  on `decline`, which close the deal (nothing after the first close counts);
* **entries**: deals entering each stage per rep × month (a deal's rep is the rep of
  its first event naming one: ``owner="first"``);
* **conversion**: the cohort conversion of each open stage per rep × month of entry:
  advanced (entered a higher open stage or Won) and failed (did not, and closed);
* **flow**: pipeline flow per rep × month: created, won, lost and open at the end.

Every tool's results are checked equal to salesperf's before anything is timed. Each
tool and thread setting runs in a fresh process, which reads the columns from an
Arrow file, loads them its own way (salesperf ingests them into an EventLog, DuckDB
into a table, pandas and polars take them as they are), and reports its best time over
``--repeat`` runs per query and the peak memory of the queries above the loaded data.

    .venv/bin/python bench/compare.py --events 1000000 [--events 10000000] [--repeat 3]

salesperf's entries, conversion and flow each run the stages and then the *whole*
indicator set (every occurrence, dollar, cohort, time-in-stage and flow figure per rep
and month) and read their part from it: the times are of the whole computation, as
each peer derives the stage entries again in every query.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

LADDER = ["opportunity_created", "reply", "state_need", "share_budget", "request_proposal", "verbal_commit"]
NAMES = ["Lead", "Engaged", "Qualified", "Budget", "Proposal", "Commit"]
WON, LOST = 6, 7  # stage codes of the closes; 0..5 are the open stages
STAGES = NAMES + ["Won", "Lost"]
QUERIES = ["timelines", "entries", "conversion", "flow"]
# "salesperf-nocache" is salesperf with its column cache off (SALESPERF_COLUMN_CACHE_MB=0):
# every run pays for fresh pages, as the first run of a process does.
TOOLS = ["salesperf", "salesperf-nocache", "pandas", "polars", "duckdb"]
NS_PER_DAY = 86_400 * 10**9


def month_index(ns: np.ndarray) -> np.ndarray:
    """Calendar months since 1970-01 of UTC nanosecond times."""
    return ns.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)


# ---------------------------------------------------------------------------------------
# Inputs: written once per size by the parent, read by each tool's process.

# Above this many events the company is generated in business units of at most this
# size (one synthetic company each, seeds 5, 6, ...) and their logs put side by side:
# generating 100M events at once holds the generator's frames and the log together
# (about 22 GB, the whole of a 23 GB machine).
UNIT_EVENTS = 10_000_000


def make_inputs(events: int, path: str, unit_events: int = UNIT_EVENTS) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.feather as feather

    import salesperf

    units = max(1, -(-events // unit_events))
    actions: list[str] = []  # every unit's action codes mapped onto one list
    reps: list[str] = []
    tables = []
    deals = 0
    for k in range(units):
        size = events // units + (1 if k < events % units else 0)
        log = salesperf.synth.company(events=size, seed=5 + k).event_log()
        names = log.dictionary("action")
        for a in names:
            if a not in actions:
                actions.append(a)
        to_global = np.array([actions.index(a) for a in names], dtype=np.int16)
        rep_names = log.dictionary("rep")
        # One unit's reps are its own people: prefixed, so that units never share a rep.
        reps.extend(rep_names if units == 1 else [f"u{k}/{r}" for r in rep_names])
        rep = log.codes("rep")
        rep_offset = len(reps) - len(rep_names)
        tables.append(pa.table({
            "deal": pa.array((log.codes("deal") + deals).astype(np.int32)),
            "time": pa.array(log.time_ns),
            "action": pa.array(to_global[log.codes("action")]),
            "rep": pa.array(np.where(rep >= 0, rep + rep_offset, rep).astype(np.int16)),
        }))
        deals += log.num_deals
        del log
    table = pa.concat_tables(tables).combine_chunks()
    del tables
    table = table.add_column(1, "seq", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    if len(reps) >= 2**15 or deals >= 2**31:
        raise ValueError(f"{len(reps)} reps or {deals} deals do not fit the int16/int32 codes")
    stage_of = np.full(len(actions), -1, np.int8)
    for i, a in enumerate(actions):
        if a in LADDER:
            stage_of[i] = LADDER.index(a)
        elif a == "sign":
            stage_of[i] = WON
        elif a == "decline":
            stage_of[i] = LOST
    feather.write_feather(table, path, compression="uncompressed")
    return {"events": table.num_rows, "deals": deals, "units": units, "stage_of": stage_of.tolist(),
            "reps": reps, "input_bytes": table.nbytes}


def load(path: str) -> pd.DataFrame:
    import pyarrow.feather as feather
    return feather.read_table(path, memory_map=False).to_pandas()


# ---------------------------------------------------------------------------------------
# Results in one canonical form per query, for the equality check.

def canonical(query: str, frame: pd.DataFrame) -> pd.DataFrame:
    keys = {"timelines": ["deal", "stage"], "entries": ["rep", "month", "stage"],
            "conversion": ["rep", "month", "stage"], "flow": ["rep", "month"]}[query]
    out = frame.astype({c: np.int64 for c in frame.columns})
    if query == "flow":  # the same rows whatever a tool does with months with nothing in them
        out = out[(out[["created", "won", "lost", "open_end"]] != 0).any(axis=1)]
    if query == "conversion":
        out = out[(out["advanced"] + out["failed"]) > 0]
    out = out.sort_values(keys).reset_index(drop=True)[sorted(out.columns)]
    out.columns = pd.Index(list(out.columns))
    return out


# ---------------------------------------------------------------------------------------
# salesperf

def salesperf_queries(ev: pd.DataFrame, meta: dict[str, Any], threads: int) -> dict[str, Callable[[], Any]]:
    import salesperf

    stage_of = np.asarray(meta["stage_of"])
    actions = [f"a{i}" for i in range(len(stage_of))]
    for i, s in enumerate(stage_of):
        if 0 <= s < WON:
            actions[i] = LADDER[s]
        elif s == WON:
            actions[i] = "sign"
        elif s == LOST:
            actions[i] = "decline"
    reps = np.asarray(meta["reps"], dtype=object)
    frame = pd.DataFrame({
        "deal": ev["deal"].to_numpy(),
        "time": pd.to_datetime(ev["time"].to_numpy(), utc=True),
        "action": pd.Categorical.from_codes(ev["action"].to_numpy(), actions),
        "rep": pd.Categorical.from_codes(ev["rep"].to_numpy(), reps),
        "actor": pd.Categorical.from_codes(np.zeros(len(ev), np.int8), ["buyer"]),
    })
    log = salesperf.EventLog.from_pandas(frame, vocabulary=None, threads=threads)
    del frame
    # The same events as Arrow columns (int32 deals, UTC nanosecond times, dictionary
    # actions and reps, the actor a one-entry dictionary): "ingest" returns the seconds
    # EventLog.from_arrow takes, the first step of the end-to-end path (ingest from
    # Arrow, stages, every indicator). The table is built for each call and dropped, so
    # that the queries run without it.
    import pyarrow as pa

    def dictionary(codes: np.ndarray, names: Any) -> pa.DictionaryArray:
        codes = codes.astype(np.int32)
        return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), pa.array(list(names), pa.string()))

    def ingest() -> float:
        arrow = pa.table({
            "deal": pa.array(ev["deal"].to_numpy()),
            "time": pa.array(ev["time"].to_numpy(), pa.timestamp("ns", tz="UTC")),
            "action": dictionary(ev["action"].to_numpy(), actions),
            "rep": dictionary(ev["rep"].to_numpy(), reps),
            "actor": dictionary(np.zeros(len(ev), np.int32), ["buyer"]),
        })
        start = time.perf_counter()
        again = salesperf.EventLog.from_arrow(arrow, vocabulary=None, threads=threads)
        seconds = time.perf_counter() - start
        if len(again) != len(log) or again.num_deals != log.num_deals:
            raise AssertionError("from_arrow and from_pandas ingest different logs")
        return seconds

    model = salesperf.StageModel(
        stages=[{"name": n, "rules": [{"any": [a]}]} for n, a in zip(NAMES, LADDER)],
        ordering="skip", won=[{"any": ["sign"]}], lost=[{"any": ["decline"]}])
    state: dict[str, Any] = {}

    def timelines() -> Any:
        state["tl"] = model.run(log, threads=threads)
        return state["tl"]

    def indicators() -> pd.DataFrame:
        timelines()  # the peers derive the stage entries in every query: so does salesperf
        ind = salesperf.indicators(log, state["tl"], by="rep", owner="first", period="month", threads=threads)
        return ind.table(include_all=False)

    def rep_month(t: pd.DataFrame) -> pd.DataFrame:
        rep_code = {r: i for i, r in enumerate(reps)}
        out = t.copy()
        out["rep"] = out["unit"].astype(str).map(lambda u: rep_code.get(u, -1))
        p = pd.PeriodIndex(out["period"].astype(str), freq="M")
        out["month"] = (p.year - 1970) * 12 + p.month - 1
        return out

    def entries() -> pd.DataFrame:
        t = indicators()
        t = t[t["indicator"].str.startswith("deals_entered:")]
        t = rep_month(t)
        t["stage"] = t["indicator"].str.slice(len("deals_entered:")).map(STAGES.index)
        t = t[t["value"] > 0]
        return t.assign(deals=t["value"])[["rep", "month", "stage", "deals"]]

    def conversion() -> pd.DataFrame:
        t = indicators()
        t = rep_month(t[t["indicator"].str.startswith("conversion:")])
        t["stage"] = t["indicator"].str.slice(len("conversion:")).map(STAGES.index)
        advanced = np.rint(t["value"].fillna(0) * t["n"])
        return t.assign(advanced=advanced, failed=t["n"] - advanced)[["rep", "month", "stage", "advanced", "failed"]]

    def flow() -> pd.DataFrame:
        t = indicators()
        t = t[t["indicator"].isin(["created", "won", "lost", "open_end"])]
        w = rep_month(t).pivot_table(index=["rep", "month"], columns="indicator", values="value",
                                     aggfunc="first").reset_index()
        return w[["rep", "month", "created", "won", "lost", "open_end"]]

    deal_ids = np.asarray(log.dictionary("deal"), dtype=np.int64)  # the deal column's values, as loaded

    def timelines_frame() -> pd.DataFrame:
        tl = timelines()
        first = np.asarray(tl._core.first_entered)  # deal x stage, int64 ns; NaT's sentinel when never
        d, k = np.nonzero(first != np.iinfo(np.int64).min)
        return pd.DataFrame({"deal": deal_ids[d], "stage": k, "time": first[d, k]})

    return {"timelines": timelines_frame, "entries": entries, "conversion": conversion, "flow": flow,
            "ingest": ingest}


# ---------------------------------------------------------------------------------------
# pandas

def pandas_queries(ev: pd.DataFrame, meta: dict[str, Any], threads: int) -> dict[str, Callable[[], Any]]:
    stage_of = np.asarray(meta["stage_of"], dtype=np.int8)

    def entered() -> pd.DataFrame:
        s = stage_of[ev["action"].to_numpy()]
        e = ev.loc[s >= 0, ["deal", "seq", "time"]].assign(stage=s[s >= 0])
        close = e[e["stage"] >= WON].drop_duplicates("deal")  # the first close per deal
        e = e.merge(close[["deal", "seq"]].rename(columns={"seq": "close_seq"}), on="deal", how="left")
        opened = e[(e["stage"] < WON) & ~(e["seq"] > e["close_seq"])]
        before = opened.groupby("deal", sort=False)["stage"].cummax().groupby(
            opened["deal"], sort=False).shift(fill_value=-1)
        first = opened[opened["stage"] > before]
        return pd.concat([first[["deal", "stage", "time"]], close[["deal", "stage", "time"]]])

    def owner() -> pd.Series:
        named = ev[ev["rep"] >= 0]
        return named.drop_duplicates("deal").set_index("deal")["rep"]

    def timelines() -> pd.DataFrame:
        return entered()

    def with_rep(e: pd.DataFrame) -> pd.DataFrame:
        rep = owner().reindex(e["deal"]).fillna(-1).to_numpy()
        return e.assign(rep=rep, month=month_index(e["time"].to_numpy()))

    def entries() -> pd.DataFrame:
        e = with_rep(entered())
        return e.groupby(["rep", "month", "stage"]).size().rename("deals").reset_index()

    def conversion() -> pd.DataFrame:
        e = with_rep(entered())
        top = e[e["stage"] != LOST].groupby("deal")["stage"].max()
        closed = e.loc[e["stage"] >= WON, "deal"].unique()
        o = e[e["stage"] < WON]
        advanced = top.reindex(o["deal"]).to_numpy() > o["stage"].to_numpy()
        failed = ~advanced & o["deal"].isin(closed).to_numpy()
        o = o.assign(advanced=advanced.astype(np.int64), failed=failed.astype(np.int64))
        return o.groupby(["rep", "month", "stage"])[["advanced", "failed"]].sum().reset_index()

    def flow() -> pd.DataFrame:
        e = entered()
        per_deal = e.groupby("deal").agg(created=("time", "min"))
        close = e[e["stage"] >= WON].set_index("deal")
        per_deal["close"] = close["time"]
        per_deal["won"] = close["stage"] == WON
        rep = owner().reindex(per_deal.index).fillna(-1).astype(np.int64)
        per_deal["rep"] = rep
        per_deal["cm"] = month_index(per_deal["created"].to_numpy())
        closed = per_deal[per_deal["close"].notna()]
        xm = month_index(closed["close"].to_numpy(dtype=np.int64))
        last = int(month_index(ev["time"].to_numpy()).max())
        created = per_deal.groupby(["rep", "cm"]).size()
        won = closed[closed["won"].to_numpy(dtype=bool)].assign(xm=xm[closed["won"].to_numpy(dtype=bool)])
        won = won.groupby(["rep", "xm"]).size()
        lost_mask = ~closed["won"].to_numpy(dtype=bool)
        lost = closed[lost_mask].assign(xm=xm[lost_mask]).groupby(["rep", "xm"]).size()
        first = per_deal.groupby("rep")["cm"].min()
        idx = pd.MultiIndex.from_tuples([(r, m) for r, f in first.items() for m in range(int(f), last + 1)],
                                        names=["rep", "month"])
        out = pd.DataFrame(index=idx)
        out["created"] = created.reindex(idx, fill_value=0).to_numpy()
        out["won"] = won.reindex(idx, fill_value=0).to_numpy()
        out["lost"] = lost.reindex(idx, fill_value=0).to_numpy()
        net = (out["created"] - out["won"] - out["lost"]).groupby(level="rep").cumsum()
        out["open_end"] = net.to_numpy()
        return out.reset_index()

    return {"timelines": timelines, "entries": entries, "conversion": conversion, "flow": flow}


# ---------------------------------------------------------------------------------------
# polars

def polars_queries(ev: pd.DataFrame, meta: dict[str, Any], threads: int) -> dict[str, Callable[[], Any]]:
    import polars as pl

    lf = pl.from_pandas(ev).lazy()
    stage_of = pl.Series("stage_of", np.asarray(meta["stage_of"], dtype=np.int8))
    last = int(month_index(ev["time"].to_numpy()).max())

    def month(col: str) -> pl.Expr:
        t = pl.from_epoch(pl.col(col), time_unit="ns")
        return ((t.dt.year().cast(pl.Int64) - 1970) * 12 + t.dt.month().cast(pl.Int64) - 1)

    def entered() -> pl.LazyFrame:
        e = (lf.with_columns(stage=pl.col("action").replace_strict(
                 list(range(len(stage_of))), stage_of.to_list(), return_dtype=pl.Int8))
             .filter(pl.col("stage") >= 0))
        close = (e.filter(pl.col("stage") >= WON).group_by("deal")
                 .agg(pl.all().sort_by("seq").first()).select("deal", "stage", "time", close_seq="seq"))
        opened = (e.filter(pl.col("stage") < WON).join(close.select("deal", "close_seq"), on="deal", how="left")
                  .filter(pl.col("close_seq").is_null() | (pl.col("seq") < pl.col("close_seq")))
                  .sort("deal", "seq")
                  .with_columns(before=pl.col("stage").cum_max().shift(1).over("deal").fill_null(-1)))
        first = opened.filter(pl.col("stage") > pl.col("before")).select("deal", "stage", "time")
        return pl.concat([first, close.select("deal", "stage", "time")])

    owner = (lf.filter(pl.col("rep") >= 0).group_by("deal").agg(pl.col("rep").sort_by("seq").first()))

    def with_rep(e: pl.LazyFrame) -> pl.LazyFrame:
        return (e.join(owner, on="deal", how="left").with_columns(pl.col("rep").fill_null(-1).cast(pl.Int64),
                                                                  month=month("time")))

    def timelines() -> pd.DataFrame:
        return entered().collect().to_pandas()

    def entries() -> pd.DataFrame:
        return (with_rep(entered()).group_by("rep", "month", "stage").agg(deals=pl.len())
                .collect().to_pandas())

    def conversion() -> pd.DataFrame:
        e = with_rep(entered())
        per = e.group_by("deal").agg(top=pl.col("stage").filter(pl.col("stage") != LOST).max(),
                                     closed=(pl.col("stage") >= WON).any())
        return (e.filter(pl.col("stage") < WON).join(per, on="deal")
                .with_columns(advanced=(pl.col("top") > pl.col("stage")).cast(pl.Int64))
                .with_columns(failed=((pl.col("advanced") == 0) & pl.col("closed")).cast(pl.Int64))
                .group_by("rep", "month", "stage").agg(pl.col("advanced").sum(), pl.col("failed").sum())
                .collect().to_pandas())

    def flow() -> pd.DataFrame:
        e = entered()
        per = (e.group_by("deal").agg(created=pl.col("time").min(),
                                      close=pl.col("time").filter(pl.col("stage") >= WON).first(),
                                      won=(pl.col("stage") == WON).any())
               .join(owner, on="deal", how="left")
               .with_columns(pl.col("rep").fill_null(-1).cast(pl.Int64), cm=month("created"), xm=month("close")))
        created = per.group_by("rep", month="cm").agg(created=pl.len())
        won = per.filter(pl.col("won")).group_by("rep", month="xm").agg(won=pl.len())
        lost = per.filter(pl.col("close").is_not_null() & ~pl.col("won")).group_by("rep", month="xm").agg(lost=pl.len())
        grid = (per.group_by("rep").agg(first=pl.col("cm").min())
                .with_columns(month=pl.int_ranges(pl.col("first"), last + 1)).explode("month").select("rep", "month"))
        out = (grid.join(created, on=["rep", "month"], how="left").join(won, on=["rep", "month"], how="left")
               .join(lost, on=["rep", "month"], how="left").fill_null(0).sort("rep", "month")
               .with_columns(open_end=(pl.col("created") - pl.col("won") - pl.col("lost")).cum_sum().over("rep")))
        return out.collect().to_pandas()

    return {"timelines": timelines, "entries": entries, "conversion": conversion, "flow": flow}


# ---------------------------------------------------------------------------------------
# DuckDB

def duckdb_queries(ev: pd.DataFrame, meta: dict[str, Any], threads: int) -> dict[str, Callable[[], Any]]:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads if threads > 0 else os.cpu_count()}")
    stage_of = pd.DataFrame({"action": np.arange(len(meta["stage_of"]), dtype=np.int16),
                             "stage": np.asarray(meta["stage_of"], dtype=np.int8)})
    con.register("ev_df", ev)
    con.register("stage_df", stage_of)
    con.execute("CREATE TABLE ev AS SELECT * FROM ev_df")
    con.execute("CREATE TABLE stage_of AS SELECT * FROM stage_df")
    last = int(month_index(ev["time"].to_numpy()).max())
    entered_sql = f"""
      WITH e AS (SELECT ev.deal, ev.seq, ev.time, s.stage FROM ev JOIN stage_of s USING (action) WHERE s.stage >= 0),
      close AS (SELECT deal, arg_min(stage, seq) AS stage, arg_min(time, seq) AS time, min(seq) AS close_seq
                FROM e WHERE stage >= {WON} GROUP BY deal),
      opened AS (SELECT e.deal, e.seq, e.time, e.stage FROM e LEFT JOIN close c USING (deal)
                 WHERE e.stage < {WON} AND (c.close_seq IS NULL OR e.seq < c.close_seq)),
      marked AS (SELECT *, coalesce(max(stage) OVER (PARTITION BY deal ORDER BY seq
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), -1) AS before FROM opened)
      SELECT deal, stage, time FROM marked WHERE stage > before
      UNION ALL SELECT deal, stage, time FROM close"""
    owner_sql = "SELECT deal, arg_min(rep, seq) AS rep FROM ev WHERE rep >= 0 GROUP BY deal"

    def month(col: str) -> str:
        return (f"((year(make_timestamp({col} // 1000)) - 1970) * 12 + month(make_timestamp({col} // 1000)) - 1)")

    with_rep = f"""entered AS ({entered_sql}), owner AS ({owner_sql}),
      er AS (SELECT entered.*, coalesce(owner.rep, -1) AS rep, {month('entered.time')} AS month
             FROM entered LEFT JOIN owner USING (deal))"""

    def timelines() -> pd.DataFrame:
        return con.execute(entered_sql).df()

    def entries() -> pd.DataFrame:
        return con.execute(f"WITH {with_rep} SELECT rep, month, stage, count(*) AS deals FROM er "
                           "GROUP BY ALL").df()

    def conversion() -> pd.DataFrame:
        return con.execute(f"""WITH {with_rep},
          per AS (SELECT deal, max(stage) FILTER (WHERE stage <> {LOST}) AS top, bool_or(stage >= {WON}) AS closed
                  FROM er GROUP BY deal)
          SELECT rep, month, stage, sum((top > stage)::BIGINT) AS advanced,
                 sum((NOT (top > stage) AND closed)::BIGINT) AS failed
          FROM er JOIN per USING (deal) WHERE stage < {WON} GROUP BY ALL""").df()

    def flow() -> pd.DataFrame:
        return con.execute(f"""WITH entered AS ({entered_sql}), owner AS ({owner_sql}),
          per AS (SELECT deal, min(time) AS created, min(time) FILTER (WHERE stage >= {WON}) AS close,
                         bool_or(stage = {WON}) AS won FROM entered GROUP BY deal),
          pr AS (SELECT per.*, coalesce(owner.rep, -1) AS rep, {month('created')} AS cm,
                        CASE WHEN close IS NULL THEN NULL ELSE {month('close')} END AS xm
                 FROM per LEFT JOIN owner USING (deal)),
          grid AS (SELECT rep, unnest(range(min(cm), {last + 1})) AS month FROM pr GROUP BY rep),
          c AS (SELECT rep, cm AS month, count(*) AS created FROM pr GROUP BY ALL),
          w AS (SELECT rep, xm AS month, count(*) AS won FROM pr WHERE won GROUP BY ALL),
          l AS (SELECT rep, xm AS month, count(*) AS lost FROM pr WHERE xm IS NOT NULL AND NOT won GROUP BY ALL),
          j AS (SELECT grid.rep, grid.month, coalesce(c.created, 0) AS created, coalesce(w.won, 0) AS won,
                       coalesce(l.lost, 0) AS lost
                FROM grid LEFT JOIN c USING (rep, month) LEFT JOIN w USING (rep, month) LEFT JOIN l USING (rep, month))
          SELECT *, sum(created - won - lost) OVER (PARTITION BY rep ORDER BY month) AS open_end FROM j""").df()

    return {"timelines": timelines, "entries": entries, "conversion": conversion, "flow": flow}


BUILDERS = {"salesperf": salesperf_queries, "salesperf-nocache": salesperf_queries, "pandas": pandas_queries,
            "polars": polars_queries, "duckdb": duckdb_queries}


# ---------------------------------------------------------------------------------------
# One tool in its own process.

def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def reset_peak() -> None:
    """Forget the peak resident size so far (Linux: VmHWM restarts from the current size)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def run_tool(args: argparse.Namespace) -> None:
    with open(args.meta) as f:
        meta = json.load(f)
    ev = load(args.input)
    queries = BUILDERS[args.tool](ev, meta, args.threads)  # each tool's loading: ingest, a table
    del ev  # what a tool's queries still need, they hold
    base = rss_bytes()
    reset_peak()  # what the queries need above the data as each tool holds it
    result: dict[str, Any] = {"tool": args.tool, "threads": args.threads, "seconds": {}, "equal": {}}
    for q in args.queries.split(","):
        got = canonical(q, queries[q]())
        ref_path = os.path.join(args.workdir, f"ref-{q}.parquet")
        if args.tool == "salesperf" and not os.path.exists(ref_path):
            got.to_parquet(ref_path)
        ref = pd.read_parquet(ref_path)
        pd.testing.assert_frame_equal(got, ref, check_dtype=False, obj=f"{args.tool} {q}")
        result["equal"][q] = True
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            queries[q]()
            best = min(best, time.perf_counter() - start)
        result["seconds"][q] = best
    result["peak_extra_bytes"] = max(0, peak_bytes() - base)
    if "ingest" in queries:  # salesperf: the end-to-end path from Arrow is ingest + entries
        result["ingest_seconds"] = min(queries["ingest"]() for _ in range(max(1, args.repeat)))
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, action="append", help="events per company (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--unit-events", type=int, default=UNIT_EVENTS,
                        help="generate larger companies as business units of at most this many events")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--queries", default=",".join(QUERIES))
    parser.add_argument("--threads", default="1,0", help="thread settings (0: every core)")
    parser.add_argument("--json", help="append each result as a JSON line to this file")
    parser.add_argument("--write-docs", action="store_true",
                        help="put the table into docs/performance.md (between its compare markers)")
    parser.add_argument("--make-inputs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tool", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--meta", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_inputs:
        with open(args.meta, "w") as f:
            json.dump(make_inputs(args.make_inputs, args.input, args.unit_events), f)
        return
    if args.tool:
        args.threads = int(args.threads)
        run_tool(args)
        return
    tools = args.tools.split(",")
    if tools[0] != "salesperf":  # salesperf's results are the reference
        tools = ["salesperf"] + [t for t in tools if t != "salesperf"]
    rows = []
    for events in args.events or [1_000_000]:
        with tempfile.TemporaryDirectory(prefix="salesperf-compare-") as work:
            path, meta_path = os.path.join(work, "events.arrow"), os.path.join(work, "meta.json")
            # In a process of its own, so that the generator's memory is gone before the
            # tools run (100M events: about 6 GB that the allocators keep otherwise).
            subprocess.run([sys.executable, __file__, "--make-inputs", str(events), "--input", path,
                            "--meta", meta_path, "--unit-events", str(args.unit_events)], check=True)
            with open(meta_path) as f:
                meta = json.load(f)
            print(f"{meta['events']:,} events, {meta['deals']:,} deals ({meta['units']} business units), "
                  f"input columns {meta['input_bytes'] / 2**20:,.0f} MiB", flush=True)
            for threads in (int(t) for t in args.threads.split(",")):
                for tool in tools:
                    env = dict(os.environ)
                    if tool == "salesperf-nocache":
                        env["SALESPERF_COLUMN_CACHE_MB"] = "0"
                    if tool == "polars":
                        env["POLARS_MAX_THREADS"] = str(threads if threads > 0 else os.cpu_count())
                    cmd = [sys.executable, __file__, "--tool", tool, "--input", path, "--meta", meta_path,
                           "--workdir", work, "--threads", str(threads), "--repeat", str(args.repeat),
                           "--queries", args.queries]
                    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
                    if out.returncode != 0 and not out_of_memory(out):
                        sys.exit(f"{tool} ({threads} threads) failed:\n{out.stderr[-4000:]}")
                    if out.returncode != 0:  # a row that says so, and the other tools go on
                        r = {"tool": tool, "threads": threads, "seconds": {}, "equal": {},
                             "peak_extra_bytes": 0, "failed": "out of memory"}
                        print(f"  {tool:<10} threads={threads or os.cpu_count()}: out of memory", flush=True)
                        rows.append(dict(r, events=meta["events"], input_bytes=meta["input_bytes"]))
                        continue
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    r.update(events=meta["events"], input_bytes=meta["input_bytes"])
                    rows.append(r)
                    if args.json:
                        with open(args.json, "a") as f:
                            f.write(json.dumps(r) + "\n")
                    print(f"  {tool:<10} threads={threads or os.cpu_count()}: " + ", ".join(
                        f"{q} {s:.3f}s" for q, s in r["seconds"].items())
                        + f"; peak +{r['peak_extra_bytes'] / 2**20:,.0f} MiB (results equal)"
                        + (f"; ingest from Arrow {r['ingest_seconds']:.3f}s" if "ingest_seconds" in r else ""),
                        flush=True)
    print()
    print(table(rows))
    if args.write_docs:
        write_docs(table(rows), rows)


def out_of_memory(done: subprocess.CompletedProcess[str]) -> bool:
    """A tool process killed for memory (SIGKILL from the kernel's OOM killer) or
    stopped by a MemoryError."""
    return done.returncode in (-9, 137) or "MemoryError" in done.stderr or "std::bad_alloc" in done.stderr


BEGIN, END = "<!-- compare.py: begin -->", "<!-- compare.py: end -->"


def write_docs(markdown: str, rows: list[dict[str, Any]]) -> None:
    """Replaces the text between the markers in docs/performance.md with the table."""
    import platform

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "performance.md")
    with open(path) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        sys.exit(f"{path}: no '{BEGIN}' ... '{END}' markers to write between")
    sizes = ", ".join(f"{e:,}" for e in sorted({r["events"] for r in rows}))
    stamp = (f"Measured {time.strftime('%Y-%m-%d')} by `bench/compare.py` on {os.cpu_count()} cores "
             f"({platform.machine()}, Python {platform.python_version()}); {sizes} events; best of the runs; "
             "the ratio is the tool's time over salesperf's at the same size and threads.")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w") as f:
        f.write(f"{head}{BEGIN}\n{stamp}\n\n{markdown}\n{END}{tail}")
    print(f"wrote the table into {os.path.normpath(path)}")


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of docs/performance.md: time per query and its ratio to salesperf
    at the same size and threads, and peak memory."""
    lines = ["| events | threads | tool | " + " | ".join(QUERIES) + " | queries' peak memory above the loaded data |",
             "| ---: | ---: | --- | " + " | ".join("---:" for _ in QUERIES) + " | ---: |"]
    ref = {(r["events"], r["threads"]): r for r in rows if r["tool"] == "salesperf"}
    for r in rows:
        if r.get("failed"):
            lines.append(f"| {r['events']:,} | {r['threads'] or os.cpu_count()} | {r['tool']} | "
                         + " | ".join(r["failed"] for _ in QUERIES) + " | |")
            continue
        base = ref[(r["events"], r["threads"])]
        cells = []
        for q in QUERIES:
            if q not in r["seconds"]:
                cells.append("")
                continue
            s = r["seconds"][q]
            cells.append(f"{s:.3f} s" if r["tool"] == "salesperf" else f"{s:.3f} s ({s / base['seconds'][q]:.1f}x)")
        lines.append(f"| {r['events']:,} | {r['threads'] or os.cpu_count()} | {r['tool']} | " + " | ".join(cells)
                     + f" | {r['peak_extra_bytes'] / 2**20:,.0f} MiB |")
    e2e = [r for r in rows if "ingest_seconds" in r and "entries" in r["seconds"]]
    if e2e:
        lines += ["", "salesperf end to end from Arrow columns (`EventLog.from_arrow`, then the stages and every "
                  "indicator, as in the entries query), and the input columns' size:", "",
                  "| events | threads | tool | ingest | stages + indicators | end to end | input columns |",
                  "| ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
        for r in e2e:
            ingest, rest = r["ingest_seconds"], r["seconds"]["entries"]
            lines.append(f"| {r['events']:,} | {r['threads'] or os.cpu_count()} | {r['tool']} | {ingest:.3f} s | "
                         f"{rest:.3f} s | {ingest + rest:.3f} s | {r['input_bytes'] / 2**20:,.0f} MiB |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
