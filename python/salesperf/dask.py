"""salesperf on a Dask DataFrame: each partition on a worker, merged states at the end.

The event log is split **by deal**: every event of a deal must sit in one partition
(:func:`partition_by_deal` shuffles a frame so). Each partition is ingested on the
worker that holds it, its stages are run with the *global* ``as_of`` (the last event of
the whole log unless given), and it is reduced to the mergeable accumulators —
:class:`~salesperf.Indicators`, :class:`~salesperf.Funnel`,
:class:`~salesperf.LeakCounts`, and on request :class:`~salesperf.DeviantCounts`
(``covariates=[...]``: the positive deviants) and :class:`~salesperf.BehaviourCounts`
(``behaviours=True``) — which travel as salesperf's versioned, checksummed bytes and
are merged pairwise in a tree. Every figure of those accumulators is a sum of per-deal
counts (histograms, covariate patterns and feature sets included), kept by name in a
canonical order, so the result is the one a single process computes from the whole
log; the tests check that byte for byte on a ``distributed.LocalCluster``. The
deviants' logistic fit and gamma-Poisson prior and the behaviours' stratified tests
and screen then run once, on the merged counts, and give the very tables
:func:`salesperf.deviants` and :func:`salesperf.behaviours` give on the whole log
(``DaskResult.deviants`` / ``.behaviours``; without the per-deal probabilities).

What cannot be split: percentile stall limits (they depend on every deal; give fixed
limits), and targets, which run in one process from the merged figures or the whole
log.

>>> import dask.dataframe as dd
>>> import salesperf
>>> from salesperf import dask as spd
>>> company = salesperf.synth.company(events=20_000, seed=3)
>>> frame = dd.from_pandas(company.events, npartitions=3)
>>> frame = spd.partition_by_deal(frame)
>>> result = spd.run(frame, company.stage_model(), period="quarter",
...                  ingest={"vocabulary": company.vocabulary, "dimensions": ["segment", "territory"]},
...                  covariates=["segment"], behaviours=True)
>>> result.ingest.rows_in == len(company.events)
True
>>> result.indicators.units[:2]
['rep-01', 'rep-02']
>>> list(result.deviants.table().columns[:3])
['unit', 'decided', 'won']
"""

from __future__ import annotations

import dataclasses
import html
import importlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import InvalidArgumentError

__all__ = ["DaskIngestReport", "DaskResult", "STATE_COLUMNS", "merge_states", "partition_by_deal", "partition_states", "run"]

_REJECTED_SAMPLE = 20  # rejected rows kept per partition for the report
_RESULT_PARTS = ("indicators", "funnel", "leak_counts", "deviant_counts", "behaviour_counts")
_STATES = ("indicators", "funnel", "leak_counts", "deviant_counts", "behaviour_counts")


def partition_by_deal(frame: Any, deal: str = "deal", npartitions: int | None = None) -> Any:
    """``frame`` shuffled so that every deal's events are in one partition (a hash
    shuffle on the deal column; the order of events inside a deal is kept, and ingest
    sorts each deal by time)."""
    if deal not in frame.columns:
        raise InvalidArgumentError(f"partition_by_deal: no column '{deal}' in the frame")
    return frame.shuffle(on=deal, npartitions=npartitions)


@dataclasses.dataclass(frozen=True)
class DaskIngestReport:
    """The ingest accounting of every partition added up: ``rows_in = rows_accepted +
    rows_rejected`` over the whole frame, the rejected rows by reason and column, and
    up to 20 rejected rows per partition with their partition and row within it, and
    the rows of each partition (``per_partition``: rows_in, rows_accepted, rows_rejected,
    deals)."""

    rows_in: int
    rows_accepted: int
    rows_rejected: int
    deals: int
    partitions: int
    by_reason: pd.DataFrame
    rejected: pd.DataFrame
    per_partition: pd.DataFrame

    def __repr__(self) -> str:
        return (f"DaskIngestReport(rows_in={self.rows_in:,}, accepted={self.rows_accepted:,}, "
                f"rejected={self.rows_rejected:,}, deals={self.deals:,}, partitions={self.partitions})")

    def _repr_html_(self) -> str:
        reasons = self.by_reason[self.by_reason["rows"] > 0]
        table = reasons.to_html(index=False) if len(reasons) else ""
        return (f"<div><b>DaskIngestReport</b>: {self.rows_in:,} rows in = {self.rows_accepted:,} accepted + "
                f"{self.rows_rejected:,} rejected; {self.deals:,} deals in {self.partitions} partitions"
                f"{table}</div>")


@dataclasses.dataclass(frozen=True)
class DaskResult:
    """What :func:`run` returns: the merged accumulators (None when not asked for),
    the ``as_of`` every partition was judged at (None only from :func:`merge_states`
    without indicators or an ``as_of``), and the ingest accounting."""

    indicators: Any
    funnel: Any
    leak_counts: Any
    as_of: pd.Timestamp | None
    ingest: DaskIngestReport
    deviant_counts: Any = None  # DeviantCounts (covariates=[...])
    behaviour_counts: Any = None  # BehaviourCounts (behaviours=True)
    deviants: Any = None  # DeviantAssessment of the merged deviant_counts
    behaviours: Any = None  # BehaviourAssessment of the merged behaviour_counts (with the deviants)

    def __repr__(self) -> str:
        parts = [n for n in _RESULT_PARTS if getattr(self, n) is not None]
        return f"DaskResult({', '.join(parts)}; as_of {self.as_of}; {self.ingest!r})"

    def _repr_html_(self) -> str:
        parts = [n for n in _RESULT_PARTS if getattr(self, n) is not None]
        return (f"<div><b>DaskResult</b>: {html.escape(', '.join(parts))}; as_of {html.escape(str(self.as_of))}"
                f"{self.ingest._repr_html_()}</div>")


# ---------------------------------------------------------------------------------------
# What runs on the workers: plain functions of picklable arguments.

def _ingest(part: pd.DataFrame, options: Mapping[str, Any]) -> Any:
    from .event_log import EventLog

    return EventLog.from_pandas(part.reset_index(drop=True), **dict(options))


def _last_time(part: pd.DataFrame, options: Mapping[str, Any]) -> int | None:
    log = _ingest(part, options)
    return int(log.time_ns.max()) if len(log) else None


def _partition(part: pd.DataFrame, index: int, options: Mapping[str, Any], model: Mapping[str, Any],
               as_of_ns: int, by: Any, owner: str, period: str, want: tuple[bool, bool, bool],
               indicator_options: Mapping[str, Any], threads: int,
               extra: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """One partition: its ingest accounting and deal ids, and its accumulators' bytes."""
    log = _ingest(part, options)
    r = log.report
    rejected = r.rejected.head(_REJECTED_SAMPLE).copy() if r.rows_rejected else pd.DataFrame()
    if len(rejected):
        rejected.insert(0, "partition", index)
    facts = {"deals": np.asarray(log.dictionary("deal"), dtype=object), "rows_in": r.rows_in,
             "rows_accepted": r.rows_accepted, "rows_rejected": r.rows_rejected, "by_reason": r.by_reason,
             "rejected": rejected}
    return facts, _accumulate(log, model, as_of_ns, by, owner, period, want, indicator_options, threads, extra)


def _accumulate(log: Any, model: Mapping[str, Any], as_of_ns: int, by: Any, owner: str, period: str,
                want: tuple[bool, bool, bool], indicator_options: Mapping[str, Any], threads: int,
                extra: Mapping[str, Any] | None = None) -> dict[str, bytes]:
    from .behaviours import BehaviourCounts
    from .deviance import DeviantCounts
    from .funnel import funnel
    from .indicators import indicators
    from .leaks import leak_counts
    from .stages import StageModel

    states: dict[str, bytes] = {}
    if len(log) == 0:
        return states
    timelines = StageModel.from_dict(model).run(log, as_of=pd.Timestamp(as_of_ns, tz="UTC"), threads=threads)
    if want[0]:
        states["indicators"] = indicators(log, timelines, by=by, owner=owner, period=period, threads=threads,
                                          **dict(indicator_options)).to_bytes()
    if want[1]:
        states["funnel"] = funnel(log, timelines, by=by, owner=owner).to_bytes()
    if want[2]:
        states["leak_counts"] = leak_counts(log, timelines, by=by, owner=owner).to_bytes()
    extra = extra or {}
    if extra.get("covariates") is not None:
        states["deviant_counts"] = DeviantCounts.count(log, timelines, by=by, owner=owner,
                                                       covariates=list(extra["covariates"])).to_bytes()
    if extra.get("follow_up_window") is not None:
        states["behaviour_counts"] = BehaviourCounts.count(log, timelines, by=by, owner=owner,
                                                           follow_up_window=extra["follow_up_window"]).to_bytes()
    return states


def _kinds() -> dict[str, Any]:
    from .behaviours import BehaviourCounts
    from .deviance import DeviantCounts
    from .funnel import Funnel
    from .indicators import Indicators
    from .leaks import LeakCounts

    return {"indicators": Indicators, "funnel": Funnel, "leak_counts": LeakCounts, "deviant_counts": DeviantCounts,
            "behaviour_counts": BehaviourCounts}


def _merge(a: dict[str, bytes], b: dict[str, bytes]) -> dict[str, bytes]:
    kinds = _kinds()
    out = dict(a)
    for name, data in b.items():
        out[name] = data if name not in out else \
            kinds[name].from_bytes(out[name]).merge(kinds[name].from_bytes(data)).to_bytes()
    return out


def _tree(items: list[Any], merge: Any) -> Any:
    while len(items) > 1:
        items = [merge(items[i], items[i + 1]) if i + 1 < len(items) else items[i]
                 for i in range(0, len(items), 2)]
    return items[0]


def _extra(covariates: Sequence[str] | None, behaviours: bool, follow_up_window: Any) -> dict[str, Any]:
    """What the partitions count beyond the three accumulators: the deviants'
    covariates (None: no deviants) and the behaviours' follow-up window (None: none)."""
    if isinstance(covariates, str):
        covariates = [covariates]
    return {"covariates": None if covariates is None else [str(c) for c in covariates],
            "follow_up_window": follow_up_window if behaviours else None}


def _finish(merged: Mapping[str, bytes], extra: Mapping[str, Any], deviant_options: Mapping[str, Any] | None,
            behaviour_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The merged states as objects, and the deviants' and behaviours' assessments of them."""
    kinds = _kinds()
    out: dict[str, Any] = {name: kinds[name].from_bytes(merged[name]) if name in merged else None for name in _STATES}
    dev = out["deviant_counts"].assess(**dict(deviant_options or {})) if out["deviant_counts"] is not None else None
    beh = None
    if out["behaviour_counts"] is not None:
        options = dict(behaviour_options or {})
        if dev is not None and "deviants" not in options:
            options["deviants"] = dev
        beh = out["behaviour_counts"].assess(**options)
    out["deviants"], out["behaviours"] = dev, beh
    return out


def _check_model(model: Any) -> dict[str, Any]:
    from .stages import StageModel

    if not isinstance(model, StageModel):
        raise InvalidArgumentError(f"model must be a salesperf.StageModel, not {type(model).__name__}")
    d = model.to_dict()
    for stage in d["stages"]:
        stall = stage.get("stall")
        if isinstance(stall, Mapping) and "percentile" in stall:
            raise InvalidArgumentError(
                f"stage '{stage['name']}': percentile stall limits depend on every deal and cannot be "
                "computed partition by partition; give a fixed limit (e.g. \"30d\"), for instance the "
                "one Timelines.stall_limits reports for the whole log")
    return d


def run(frame: Any, model: Any, *, by: str | None = "rep", owner: str = "most_active", period: str = "month",
        as_of: Any = None, indicators: bool = True, funnel: bool = True, leak_counts: bool = True,
        ingest: Mapping[str, Any] | None = None, indicator_options: Mapping[str, Any] | None = None,
        threads: int = 1, check_partitions: bool = True, covariates: Sequence[str] | None = None,
        behaviours: bool = False, follow_up_window: Any = "24h", deviant_options: Mapping[str, Any] | None = None,
        behaviour_options: Mapping[str, Any] | None = None) -> DaskResult:
    """Runs ``model`` and the mergeable accumulators over a Dask DataFrame of events.

    Parameters
    ----------
    frame:
        A ``dask.dataframe.DataFrame`` of events (the columns :meth:`EventLog.from_pandas`
        reads), every deal in one partition (see :func:`partition_by_deal`).
    model:
        The :class:`~salesperf.StageModel` (fixed stall limits only).
    by, owner, period:
        As in :func:`salesperf.indicators`: ``"rep"``, a dimension name or None; the
        owner rule; the calendar spec (a string).
    as_of:
        When stalls are judged and cohorts are read (tz-aware); default: the last event
        of the whole frame, found by a first pass over the ingested partitions.
    indicators, funnel, leak_counts:
        Which accumulators to compute.
    ingest:
        Options for :meth:`EventLog.from_pandas` (vocabulary, dimensions, tz, ...).
    indicator_options:
        More options for :func:`salesperf.indicators` (``conversion_window``, ...).
    threads:
        Threads per partition (default 1: the cluster's workers are the parallelism).
    check_partitions:
        Check that no deal appears in two partitions (it would be counted twice).
    covariates:
        Also count :class:`~salesperf.DeviantCounts` with these covariates (``[]``: the
        intercept alone; None: no deviants) and assess them (``DaskResult.deviants``,
        equal to :func:`salesperf.deviants` on the whole log, ``deviant_options``
        passed to :meth:`~salesperf.DeviantCounts.assess`).
    behaviours, follow_up_window:
        Also count :class:`~salesperf.BehaviourCounts` with this window and assess them
        (``DaskResult.behaviours``, equal to :func:`salesperf.behaviours` on the whole
        log with the merged deviants' positive units when ``covariates`` is given;
        ``behaviour_options`` passed to :meth:`~salesperf.BehaviourCounts.assess`).

    Raises
    ------
    InvalidArgumentError
        A deal in two partitions (naming it and the partitions), a percentile stall
        limit, an unknown option.
    """
    dask: Any = importlib.import_module("dask")  # untyped: used through Any

    if not (indicators or funnel or leak_counts or covariates is not None or behaviours):
        raise InvalidArgumentError("run: ask for at least one of indicators, funnel, leak_counts, covariates, "
                                   "behaviours")
    extra = _extra(covariates, behaviours, follow_up_window)
    if by is not None and not isinstance(by, str):
        raise InvalidArgumentError("by must be 'rep', a dimension name or None on Dask (a deal mapping would "
                                   "have to travel to every worker: add it as a column instead)")
    if not isinstance(period, str):
        raise InvalidArgumentError("period must be a calendar spec string on Dask, e.g. 'month'")
    model_dict = _check_model(model)
    options = dict(ingest or {})
    parts = frame.to_delayed()
    if as_of is None:  # a first pass: the last event of the whole frame
        lasts = [t for t in dask.compute(*[dask.delayed(_last_time)(p, options) for p in parts]) if t is not None]
        if not lasts:
            raise InvalidArgumentError("the frame has no accepted event: nothing to judge as_of from")
        as_of_ns = max(lasts)
    else:
        from .stages import _as_of_ns

        as_of_ns = int(_as_of_ns(as_of))  # type: ignore[arg-type]
    want = (bool(indicators), bool(funnel), bool(leak_counts))
    outs = [dask.delayed(_partition, nout=2)(p, i, options, model_dict, as_of_ns, by, owner, period, want,
                                             dict(indicator_options or {}), int(threads), extra)
            for i, p in enumerate(parts)]
    facts, merged = dask.compute([o[0] for o in outs], _tree([o[1] for o in outs], dask.delayed(_merge)))
    if check_partitions:
        _check_deals(facts)
    report = _report(facts)
    return DaskResult(as_of=pd.Timestamp(as_of_ns, tz="UTC"), ingest=report,
                      **_finish(merged, extra, deviant_options, behaviour_options))


STATE_COLUMNS = ["partition", "rows_in", "rows_accepted", "rows_rejected", "deals", "by_reason",
                 "indicators", "funnel", "leak_counts", "deviant_counts", "behaviour_counts"]
_REQUIRED_COLUMNS = STATE_COLUMNS[:9]  # rows from before the deviants and behaviours were mergeable


def partition_states(part: pd.DataFrame, model: Any, *, as_of: Any, by: str | None = "rep",
                     owner: str = "most_active", period: str = "month", indicators: bool = True,
                     funnel: bool = True, leak_counts: bool = True, ingest: Mapping[str, Any] | None = None,
                     indicator_options: Mapping[str, Any] | None = None, partition: int = 0,
                     threads: int = 1, covariates: Sequence[str] | None = None, behaviours: bool = False,
                     follow_up_window: Any = "24h") -> pd.DataFrame:
    """One partition of whole deals reduced to one row of states, for engines that
    hand pandas frames to a function (Spark's ``applyInPandas``, Ray, a process pool):
    the partition number, its ingest accounting (``by_reason`` as JSON text), and the
    bytes of each accumulator asked for (None otherwise). :func:`merge_states` adds
    such rows up. ``as_of`` is required: every partition must judge stalls and
    cohorts at the same instant (the last event of the whole log, say).
    ``covariates`` and ``behaviours`` add the deviants' and behaviours' counts, as in
    :func:`run`.

    >>> import salesperf
    >>> from salesperf import dask as spd
    >>> c = salesperf.synth.company(events=5_000, seed=2)
    >>> ev = c.events
    >>> half = ev["deal"].isin(ev["deal"].unique()[::2])
    >>> rows = pd.concat([spd.partition_states(p, c.stage_model(), as_of=ev["time"].max(), partition=i,
    ...                                        ingest={"vocabulary": c.vocabulary})
    ...                   for i, p in enumerate([ev[half], ev[~half]])])
    >>> merged = spd.merge_states(rows)
    >>> merged.ingest.rows_in == len(ev)
    True
    """
    import json

    from .stages import _as_of_ns

    model_dict = _check_model(model)
    if as_of is None:
        raise InvalidArgumentError("partition_states: as_of is required (the same instant for every partition)")
    as_of_ns = int(_as_of_ns(as_of))  # type: ignore[arg-type]
    log = _ingest(part, dict(ingest or {}))
    r = log.report
    reasons = {f"{a}|{b}": int(n) for a, b, n in zip(r.by_reason["reason"], r.by_reason["column"], r.by_reason["rows"])}
    want = (bool(indicators), bool(funnel), bool(leak_counts))
    states = _accumulate(log, model_dict, as_of_ns, by, owner, period, want, dict(indicator_options or {}),
                         int(threads), _extra(covariates, behaviours, follow_up_window))
    row = {"partition": int(partition), "rows_in": r.rows_in, "rows_accepted": r.rows_accepted,
           "rows_rejected": r.rows_rejected, "deals": r.deals, "by_reason": json.dumps(reasons)}
    row.update({name: states.get(name) for name in _STATES})
    return pd.DataFrame([row], columns=STATE_COLUMNS)


def merge_states(rows: pd.DataFrame, *, as_of: Any = None, deviant_options: Mapping[str, Any] | None = None,
                 behaviour_options: Mapping[str, Any] | None = None) -> DaskResult:
    """The rows of :func:`partition_states` (from any number of partitions, in any
    order) merged into one :class:`DaskResult`; the ingest accounting adds up the
    partitions' (no rejected rows are listed: see each partition's own report). The
    deviants' and behaviours' counts, when the rows hold them, are assessed with
    ``deviant_options`` and ``behaviour_options`` (as in :func:`run`)."""
    import json

    missing = [c for c in _REQUIRED_COLUMNS if c not in rows.columns]
    if missing:
        raise InvalidArgumentError(f"merge_states: missing columns {missing} (rows of partition_states)")
    if len(rows) == 0:
        raise InvalidArgumentError("merge_states: no rows")
    states = [{k: bytes(v) for k in _STATES
               if k in row.index and (v := row[k]) is not None and not (isinstance(v, float) and np.isnan(v))}
              for _, row in rows.sort_values("partition").iterrows()]
    merged = _tree(states, _merge)
    reasons: dict[str, int] = {}
    for text in rows["by_reason"]:
        for key, n in json.loads(text).items():
            reasons[key] = reasons.get(key, 0) + int(n)
    by_reason = pd.DataFrame({"reason": [k.split("|", 1)[0] for k in reasons],
                              "column": [k.split("|", 1)[1] for k in reasons], "rows": list(reasons.values())})
    per = rows.set_index("partition")[["rows_in", "rows_accepted", "rows_rejected", "deals"]].astype(np.int64)
    report = DaskIngestReport(rows_in=int(per["rows_in"].sum()), rows_accepted=int(per["rows_accepted"].sum()),
                              rows_rejected=int(per["rows_rejected"].sum()), deals=int(per["deals"].sum()),
                              partitions=len(per), by_reason=by_reason, rejected=pd.DataFrame(), per_partition=per)
    parts = _finish(merged, {}, deviant_options, behaviour_options)
    ind = parts["indicators"]
    when = pd.Timestamp(as_of) if as_of is not None else (ind.as_of if ind is not None else None)
    return DaskResult(as_of=when, ingest=report, **parts)


def _report(facts: Sequence[Mapping[str, Any]]) -> DaskIngestReport:
    reasons = pd.concat([f["by_reason"] for f in facts], ignore_index=True)
    by_reason = reasons.groupby(["reason", "column"], sort=False, observed=True, dropna=False)["rows"].sum()
    rejected = [f["rejected"] for f in facts if len(f["rejected"])]
    return DaskIngestReport(
        rows_in=sum(int(f["rows_in"]) for f in facts), rows_accepted=sum(int(f["rows_accepted"]) for f in facts),
        rows_rejected=sum(int(f["rows_rejected"]) for f in facts), deals=sum(len(f["deals"]) for f in facts),
        partitions=len(facts), by_reason=by_reason.reset_index(),
        rejected=pd.concat(rejected, ignore_index=True) if rejected else pd.DataFrame(),
        per_partition=pd.DataFrame({k: [int(f[k]) for f in facts]
                                    for k in ("rows_in", "rows_accepted", "rows_rejected")}
                                   ).assign(deals=[len(f["deals"]) for f in facts]).rename_axis("partition"))


def _check_deals(facts: Sequence[Mapping[str, Any]]) -> None:
    ids = [pd.Series(f["deals"], dtype=object) for f in facts]
    if not ids:
        return
    owner = pd.concat([pd.Series(i, index=s) for i, s in enumerate(ids) if len(s)])
    dup = owner.index.duplicated(keep=False)
    if dup.any():
        first = owner.index[dup][0]
        where = sorted(set(owner[owner.index == first].tolist()))
        raise InvalidArgumentError(
            f"deal {first!r} is in partitions {where} ({int(dup.sum())} deal-partition pairs in all): every "
            "deal's events must be in one partition, or its figures are counted twice; use "
            "salesperf.dask.partition_by_deal(frame)")
