"""A slow, literal pure-Python reading of the SEMANTICS text of
include/salesperf/stage_model.h, used as the oracle for the stage engine.

Nothing here is clever: every rule is evaluated at every event by scanning the deal's
history backwards, exactly as the specification words it. The sentences of the
specification are quoted in the comments next to the code that transcribes them.

Where the text leaves a detail open, the choice made here is marked INTERPRETATION
(docs/semantics.md states the same choices, and the engine is held to them):

* I1  "earlier event" means earlier in log order (time, then input order), so of two
      events at the same instant only the one read first is "earlier".
* I2  A transition leaves its from-stage (last_left) and enters its to-stage
      (first_entered) at its time; an exclusion leaves the stage the deal was in and
      enters nothing (to_stage None). Under regression "follow" the deal leaves the
      current stage and enters the target exactly as under "record"; only the
      transition row is missing.
* I3  A visit starts whenever the deal enters a stage (progress, skip, regress, follow,
      reopen) and is completed whenever the deal leaves it by a transition made while
      reading events, except an exclusion (an excluded deal is not a real sale, so its
      time in the stage says nothing about the normal time there), and except a stall
      close (judged afterwards). Completed visits' durations feed percentile stall
      limits; a visit's start is the `a` of conversion windows and the "entry into s"
      of stalls.
* I4  in_window is false only for an upward move (progressed, skipped, won) out of a
      stage with a window, later than the visit's start + window; every other
      transition has in_window = true.
* I5  A stalled (not closed) deal's outcome_time is the moment it became stalled:
      quiet_since + limit(s).
* I6  The percentile is numpy's "linear" method computed exactly, rounded to the
      nearest nanosecond.
* I7  When several regress rules fire at one event, the first in the model's list whose
      target is below the current stage applies (the property tests never rely on this).
* I8  A closed (won or lost) deal still reads exclusion actions (step 1 comes before
      step 2); from_stage of a transition out of Won/Lost is "Won"/"Lost".
* I9  The deal's value is its last non-missing amount over all of its events, whatever
      its state when the event was read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

import pandas as pd

_UNITS_NS = {"w": 7 * 86_400 * 10**9, "d": 86_400 * 10**9, "h": 3_600 * 10**9,
             "m": 60 * 10**9, "s": 10**9}
INF = math.inf


def parse_duration(text: str) -> int:
    """ "30d", "12h", "90m", "45s", "2w", "1d12h" -> nanoseconds."""
    parts = re.findall(r"(\d+)([wdhms])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"bad duration {text!r}")
    return sum(int(n) * _UNITS_NS[u] for n, u in parts)


@dataclass(frozen=True)
class Event:
    pos: int                 # position in the deal's log order
    t: int                   # UTC nanoseconds
    action: str
    actor: str
    contact: Optional[str]
    role: Optional[str]
    amount: Optional[float]


@dataclass
class Rule:
    kind: str
    filters: list[list[str]]
    within: float            # nanoseconds; INF when absent
    k: int
    roles: list[str]
    min_amount: Optional[float]
    max_amount: Optional[float]
    to: Optional[str] = None  # regress rules only


KINDS = ("any", "all", "sequence", "count", "distinct_contacts")


def parse_rule(d: dict[str, Any]) -> Rule:
    kinds = [k for k in KINDS if k in d]
    if len(kinds) != 1:
        raise ValueError(f"a rule has exactly one kind, got {kinds}")
    kind = kinds[0]
    if kind in ("all", "sequence"):
        filters = [list(step) for step in d[kind]]
    else:
        filters = [list(d[kind])]
    within = parse_duration(d["within"]) if d.get("within") is not None else INF
    return Rule(kind=kind, filters=filters, within=within, k=int(d.get("min", 1)),
                roles=list(d.get("roles") or []), min_amount=d.get("min_amount"),
                max_amount=d.get("max_amount"), to=d.get("to"))


# ---------------------------------------------------------------- filters and rules

def matches(rule: Rule, f: list[str], e: Event) -> bool:
    # "A filter matches e when e's action is one of its actions,"
    if e.action not in f:
        return False
    # "and, if the rule lists roles, e's contact role is one of them,"
    if rule.roles and (e.role is None or e.role not in rule.roles):
        return False
    # "and, if the rule has min_amount / max_amount, e's amount is a number within them
    # (inclusive)."
    if rule.min_amount is not None or rule.max_amount is not None:
        if e.amount is None or math.isnan(e.amount):
            return False
        if rule.min_amount is not None and e.amount < rule.min_amount:
            return False
        if rule.max_amount is not None and e.amount > rule.max_amount:
            return False
    return True


def fires(rule: Rule, history: list[Event], i: int) -> bool:
    """Does `rule` FIRE AT e = history[i]? history is the deal's events in log order."""
    e = history[i]
    # "A rule FIRES AT e when e matches one of its filters and ..."
    if not any(matches(rule, f, e) for f in rule.filters):
        return False
    W = rule.within
    # "x <= e" = x is e or an earlier event of the deal (INTERPRETATION I1: log order).
    upto_e = history[: i + 1]

    def in_w(x: Event) -> bool:
        return e.t - x.t <= W

    if rule.kind == "any":
        # "any(F)  true."
        return True
    if rule.kind == "all":
        # "all(F1..Fm, W)  for every j there is x <= e matching Fj with t(e)-t(x) <= W."
        return all(any(matches(rule, f, x) and in_w(x) for x in upto_e) for f in rule.filters)
    if rule.kind == "sequence":
        # "sequence(F1..Fm, W)  e matches Fm, and there are events x1 < x2 < ... < x(m-1)
        # < e with xi matching Fi and t(e) - t(x1) <= W."
        m = len(rule.filters)
        if not matches(rule, rule.filters[m - 1], e):
            return False
        # Backward scan: take the latest x(m-1) before e, then the latest x(m-2) before
        # it, ... This chain has the latest possible x1 of all chains (each choice is
        # the latest one any chain could make at that step), so a chain with
        # t(e) - t(x1) <= W exists iff this one satisfies it.
        j = i
        first_t = e.t
        for step in range(m - 2, -1, -1):
            j -= 1
            while j >= 0 and not matches(rule, rule.filters[step], history[j]):
                j -= 1
            if j < 0:
                return False
            first_t = history[j].t
        return e.t - first_t <= W
    if rule.kind == "count":
        # "count(F, k, W)  at least k events x <= e match F with t(e) - t(x) <= W."
        f = rule.filters[0]
        return sum(1 for x in upto_e if matches(rule, f, x) and in_w(x)) >= rule.k
    if rule.kind == "distinct_contacts":
        # "distinct_contacts(F, k, W)  e has a contact, and the events x <= e matching F
        # with t(e) - t(x) <= W come from at least k distinct contacts."
        if e.contact is None:
            return False
        f = rule.filters[0]
        contacts = {x.contact for x in upto_e
                    if matches(rule, f, x) and in_w(x) and x.contact is not None}
        return len(contacts) >= rule.k
    raise ValueError(rule.kind)


# ---------------------------------------------------------------- the model

@dataclass
class Model:
    names: list[str]
    stage_rules: list[list[Rule]]
    optional: list[bool]
    window: list[Optional[int]]
    stall: list[Optional[tuple[str, float]]]   # ("fixed", ns) | ("percentile", p)
    won: list[Rule]
    lost: list[Rule]
    regress: list[Rule]
    exclude: set[str]
    ordering: str
    regression: str
    reopen: str
    close_stalled_after: Optional[int]

    @property
    def n(self) -> int:
        return len(self.names)


def parse_model(d: dict[str, Any]) -> Model:
    names: list[str] = []
    rules: list[list[Rule]] = []
    optional: list[bool] = []
    window: list[Optional[int]] = []
    stall: list[Optional[tuple[str, float]]] = []
    for s in d["stages"]:
        names.append(s["name"])
        rules.append([parse_rule(r) for r in s.get("rules", [])])
        optional.append(bool(s.get("optional", False)))
        window.append(parse_duration(s["window"]) if s.get("window") else None)
        st = s.get("stall")
        if st is None:
            stall.append(None)
        elif isinstance(st, dict):
            stall.append(("percentile", float(st["percentile"])))
        else:
            stall.append(("fixed", parse_duration(st)))
    csa = d.get("close_stalled_after")
    return Model(
        names=names, stage_rules=rules, optional=optional, window=window, stall=stall,
        won=[parse_rule(r) for r in d.get("won", [])],
        lost=[parse_rule(r) for r in d.get("lost", [])],
        regress=[parse_rule(r) for r in d.get("regress", [])],
        exclude=set(d.get("exclude", [])),
        ordering=d.get("ordering", "strict"), regression=d.get("regression", "latch"),
        reopen=d.get("reopen", "never"),
        close_stalled_after=parse_duration(csa) if csa else None)


# ---------------------------------------------------------------- one deal

@dataclass
class Row:
    from_stage: int      # -1: none
    to_stage: int        # -1: none (exclusion)
    t: int
    kind: str
    in_window: bool
    action: Optional[str]


@dataclass
class DealRun:
    n: int
    cur: int = -1                    # "A deal with no stage yet has current stage -1"
    status: str = "open"             # open | won | lost | excluded
    visit_start: Optional[int] = None
    outcome_time: Optional[int] = None
    lost_reason: Optional[str] = None
    rows: list[Row] = field(default_factory=list)
    first_entered: dict[int, int] = field(default_factory=dict)
    last_left: dict[int, int] = field(default_factory=dict)
    visits: list[tuple[int, int]] = field(default_factory=list)   # (open stage, duration)

    def where(self) -> int:
        """The stage the deal is in: its open stage, or Won (n) / Lost (n + 1)."""
        if self.status == "won":
            return self.n
        if self.status == "lost":
            return self.n + 1
        return self.cur

    def move(self, to: int, t: int, kind: str, in_window: bool, action: Optional[str],
             row: bool = True) -> None:
        frm = self.where()
        if row:
            self.rows.append(Row(frm, to, t, kind, in_window, action))
        if frm >= 0:                                              # I2, I3
            self.last_left[frm] = t
            if frm < self.n and self.visit_start is not None and kind != "excluded":
                self.visits.append((frm, t - self.visit_start))
        if to >= 0:
            self.first_entered.setdefault(to, t)
            self.visit_start = t


def run_deal(m: Model, history: list[Event]) -> DealRun:
    n = m.n
    d = DealRun(n=n)

    def stage_fires(s: int, i: int) -> bool:
        return any(fires(r, history, i) for r in m.stage_rules[s])

    def window_ok(t: int) -> bool:
        # "A stage s with window W converts a visit entered at time a when the deal
        # leaves it upwards (to a higher stage, or Won) at a time <= a + W; the
        # transition out carries in_window = false otherwise."
        if d.cur < 0 or m.window[d.cur] is None or d.visit_start is None:
            return True
        return t <= d.visit_start + m.window[d.cur]  # type: ignore[operator]

    # "A deal's events are read in log order (time, then input order). For each event e:"
    for i, e in enumerate(history):
        # 1. "An excluded deal ignores everything."
        if d.status == "excluded":
            continue
        # "If e's action is an exclusion action, the deal is excluded at t(e) (transition
        # kind kExcluded) and reads no further."
        if e.action in m.exclude:
            d.move(-1, e.t, "excluded", True, e.action)
            d.status, d.outcome_time, d.lost_reason = "excluded", e.t, None
            continue
        # 2. "A closed (won or lost) deal ignores e, unless reopen = kAllow and an open
        # stage's rule fires at e: then it is reopened into the highest such stage (kind
        # kReopened) and is open again."
        if d.status in ("won", "lost"):
            if m.reopen == "allow":
                firing = [s for s in range(n) if stage_fires(s, i)]
                if firing:
                    s = max(firing)
                    d.move(s, e.t, "reopened", True, e.action)
                    d.status, d.cur, d.outcome_time, d.lost_reason = "open", s, None, None
            continue
        # 3. "If a Lost rule fires, the deal is lost at t(e), its reason e's action
        # (kLost); else if a Won rule fires, it is won (kWon). Terminal rules apply from
        # any open stage, and from no stage at all, whatever the ordering policy."
        if any(fires(r, history, i) for r in m.lost):
            d.move(n + 1, e.t, "lost", True, e.action)
            d.status, d.outcome_time, d.lost_reason = "lost", e.t, e.action
            continue
        if any(fires(r, history, i) for r in m.won):
            d.move(n, e.t, "won", window_ok(e.t), e.action)
            d.status, d.outcome_time = "won", e.t
            continue
        # 4. "If a regress rule fires and its target stage is below the current stage:
        # under kLatch nothing happens; under kFollow the current stage becomes the
        # target (no transition row); under kRecord likewise, with a kRegressed
        # transition."
        if m.regression != "latch":
            target = next((m.names.index(str(r.to)) for r in m.regress     # I7
                           if fires(r, history, i) and m.names.index(str(r.to)) < d.cur),
                          None)
            if target is not None:
                d.move(target, e.t, "regressed", True, e.action,
                       row=(m.regression == "record"))
                d.cur = target
                # "Only one of 2-5 changes the deal per event, in that order of precedence."
                continue
        # 5. "Of the open stages above the current one whose rules fire at e, the deal
        # enters the highest one it may: under kSkip any; under kStrict only the next
        # stage, or one further up when every stage in between is optional."
        def may_enter(s: int) -> bool:
            if m.ordering == "skip":
                return True
            return all(m.optional[k] for k in range(d.cur + 1, s))

        candidates = [s for s in range(d.cur + 1, n) if may_enter(s) and stage_fires(s, i)]
        if candidates:
            s = max(candidates)
            # "The transition is kProgressed to the next stage, kSkipped when stages were
            # passed over."
            kind = "progressed" if s == d.cur + 1 else "skipped"
            d.move(s, e.t, kind, window_ok(e.t), e.action)
            d.cur = s
        # "A rule of a stage at or below the current one never moves the deal."
    return d


# ---------------------------------------------------------------- stalls

def percentile_linear(values: list[int], p: float) -> int:
    """The p-th percentile by linear interpolation (numpy's default), exactly."""
    v = sorted(values)
    h = Fraction(len(v) - 1) * Fraction(p) / 100
    lo = math.floor(h)
    if lo + 1 >= len(v):
        return v[-1]
    exact = v[lo] + (h - lo) * (v[lo + 1] - v[lo])
    return int(round(exact))                                           # I6


# ---------------------------------------------------------------- the run

def _column(events: pd.DataFrame, col: str) -> list[Any]:
    if col not in events.columns:
        return [None] * len(events)
    return [None if pd.isna(v) else v for v in events[col].astype(object).tolist()]


def _events_by_deal(events: pd.DataFrame) -> tuple[list[Any], dict[Any, list[Event]]]:
    order: list[Any] = []
    by_deal: dict[Any, list[Event]] = {}
    times = events["time"].astype("datetime64[ns, UTC]").astype("int64").tolist()
    columns = zip(_column(events, "deal"), times, _column(events, "action"),
                  _column(events, "actor"), _column(events, "contact"),
                  _column(events, "contact_role"), _column(events, "amount"))
    for deal, t, action, actor, contact, role, amount in columns:
        if deal not in by_deal:
            order.append(deal)
            by_deal[deal] = []
        hist = by_deal[deal]
        hist.append(Event(pos=len(hist), t=int(t), action=str(action), actor=str(actor),
                          contact=None if contact is None else str(contact),
                          role=None if role is None else str(role),
                          amount=None if amount is None else float(amount)))
    return order, by_deal


def reference_run(events: pd.DataFrame, model: dict[str, Any],
                  as_of: pd.Timestamp | None = None) -> dict[str, Any]:
    """Runs `model` (the dict form) over `events` (EventLog.to_pandas()).

    Returns {"deals", "transitions", "entered", "left", "stall_limits", "as_of"} in the
    shapes of salesperf.Timelines.
    """
    m = parse_model(model)
    n = m.n
    order, by_deal = _events_by_deal(events)
    runs = {deal: run_deal(m, by_deal[deal]) for deal in order}

    # "Stalls, judged at `as_of` (RunOptions; default: the log's last event time)."
    if as_of is None:
        as_of_ns = max(ev.t for h in by_deal.values() for ev in h)
    else:
        as_of_ns = int(pd.Timestamp(as_of).tz_convert("UTC").value)

    # "limit(s) is fixed, or the p-th percentile (linear interpolation) of the durations
    # of completed visits to s across all deals in the run; no completed visit means no
    # limit."
    limits: list[Optional[int]] = []
    for s in range(n):
        spec = m.stall[s]
        if spec is None:
            limits.append(None)
        elif spec[0] == "fixed":
            limits.append(int(spec[1]))
        else:
            durations = [dur for r in runs.values() for (vs, dur) in r.visits if vs == s]
            limits.append(percentile_linear(durations, spec[1]) if durations else None)

    stalled: dict[Any, int] = {}
    for deal in order:
        r = runs[deal]
        # "An open deal in stage s is stalled when as_of - quiet_since > limit(s), where
        # quiet_since is the later of its entry into s and its last buyer action."
        if r.status != "open" or r.cur < 0 or limits[r.cur] is None:
            continue
        limit = limits[r.cur]
        assert limit is not None and r.visit_start is not None
        buyer_times = [ev.t for ev in by_deal[deal] if ev.actor == "buyer"]
        quiet_since = max([r.visit_start] + buyer_times)
        if not as_of_ns - quiet_since > limit:
            continue
        # "With close_stalled_after H, a deal with as_of >= quiet_since + limit(s) + H is
        # lost at that time with reason "stalled" (a kLost transition with no action)."
        H = m.close_stalled_after
        if H is not None and as_of_ns >= quiet_since + limit + H:
            t_close = quiet_since + limit + H
            r.move(n + 1, t_close, "lost", True, None)
            r.status, r.outcome_time, r.lost_reason = "lost", t_close, "stalled"
        else:
            stalled[deal] = quiet_since + limit                              # I5

    # ---- tables
    all_names = m.names + ["Won", "Lost"]

    def name(s: int) -> Optional[str]:
        return None if s < 0 else all_names[s]

    def ts(ns: Optional[int]) -> Any:
        return pd.NaT if ns is None else pd.Timestamp(ns, unit="ns", tz="UTC")

    deal_rows = []
    for deal in order:
        r = runs[deal]
        outcome = r.status
        outcome_time = r.outcome_time
        if deal in stalled:
            outcome, outcome_time = "stalled", stalled[deal]
        # "The deal's value is its last non-missing amount."                    (I9)
        amounts = [ev.amount for ev in by_deal[deal]
                   if ev.amount is not None and not math.isnan(ev.amount)]
        deal_rows.append({
            "current_stage": name(r.cur),
            "outcome": outcome,
            "outcome_time": ts(outcome_time),
            "lost_reason": r.lost_reason,
            "value": amounts[-1] if amounts else math.nan,
        })
    index = pd.Index(order, name="deal", dtype=object)
    deals = pd.DataFrame(deal_rows, index=index,
                         columns=["current_stage", "outcome", "outcome_time", "lost_reason",
                                  "value"])
    deals["outcome_time"] = pd.to_datetime(deals["outcome_time"], utc=True).astype(
        "datetime64[ns, UTC]")
    deals["value"] = deals["value"].astype("float64")

    trans = []
    for d_i, deal in enumerate(order):
        for occ, row in enumerate(runs[deal].rows):
            trans.append({"_d": d_i, "_occ": occ, "deal": deal, "from_stage": name(row.from_stage),
                          "to_stage": name(row.to_stage), "time": ts(row.t), "kind": row.kind,
                          "in_window": bool(row.in_window), "action": row.action})
    cols = ["deal", "from_stage", "to_stage", "time", "kind", "in_window", "action"]
    if trans:
        # "ordered by deal, then time, then the order they happened in."
        transitions = (pd.DataFrame(trans).sort_values(["_d", "time", "_occ"], kind="stable")
                       [cols].reset_index(drop=True))
    else:
        transitions = pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    transitions["time"] = pd.to_datetime(transitions["time"], utc=True).astype(
        "datetime64[ns, UTC]")
    transitions["in_window"] = transitions["in_window"].astype(bool)

    def table(get: str) -> pd.DataFrame:
        data = {}
        for s, nm in enumerate(all_names):
            data[nm] = pd.Series([ts(getattr(runs[deal], get).get(s)) for deal in order],
                                 index=index, dtype="datetime64[ns, UTC]")
        return pd.DataFrame(data, index=index, columns=all_names)

    stall_limits = pd.Series(
        [pd.NaT if x is None else pd.Timedelta(x, unit="ns") for x in limits],
        index=pd.Index(m.names, dtype=object), dtype="timedelta64[ns]")
    return {
        "deals": deals,
        "transitions": transitions,
        "entered": table("first_entered"),
        "left": table("last_left"),
        "stall_limits": stall_limits,
        "as_of": pd.Timestamp(as_of_ns, unit="ns", tz="UTC"),
    }


# ---------------------------------------------------------------- comparing results

DEAL_COLUMNS = ["current_stage", "outcome", "outcome_time", "lost_reason", "value"]
TRANSITION_COLUMNS = ["deal", "from_stage", "to_stage", "time", "kind", "in_window", "action"]


def _labels(values: Any) -> list[Optional[str]]:
    return [None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
            for v in list(values)]


def _times(values: Any) -> Any:
    return pd.to_datetime(pd.Series(list(values), dtype=object), utc=True).astype(
        "datetime64[ns, UTC]").to_numpy()


def engine_tables(timelines: Any) -> dict[str, Any]:
    """The tables of a salesperf.Timelines, in the dict shape reference_run returns."""
    return {"deals": timelines.deals, "transitions": timelines.transitions,
            "entered": timelines.entered, "left": timelines.left,
            "stall_limits": timelines.stall_limits, "as_of": timelines.as_of}


def normalise(tables: dict[str, Any]) -> dict[str, Any]:
    """Plain dtypes (object labels with None, datetime64[ns, UTC], float64, bool), so
    categoricals, NaN/None/NA and time units do not matter in comparisons."""
    out: dict[str, Any] = {}
    d = tables["deals"]
    index = pd.Index(_labels(d.index), name="deal", dtype=object)
    out["deals"] = pd.DataFrame({
        "current_stage": pd.Series(_labels(d["current_stage"]), index=index, dtype=object),
        "outcome": pd.Series(_labels(d["outcome"]), index=index, dtype=object),
        "outcome_time": pd.Series(_times(d["outcome_time"]), index=index),
        "lost_reason": pd.Series(_labels(d["lost_reason"]), index=index, dtype=object),
        "value": pd.Series(pd.to_numeric(pd.Series(list(d["value"]), dtype=object),
                                          errors="coerce").astype("float64").to_numpy(),
                           index=index),
    }, index=index)
    t = tables["transitions"]
    out["transitions"] = pd.DataFrame({
        "deal": pd.Series(_labels(t["deal"]), dtype=object),
        "from_stage": pd.Series(_labels(t["from_stage"]), dtype=object),
        "to_stage": pd.Series(_labels(t["to_stage"]), dtype=object),
        "time": pd.Series(_times(t["time"]), dtype="datetime64[ns, UTC]"),
        "kind": pd.Series(_labels(t["kind"]), dtype=object),
        "in_window": pd.Series([bool(x) for x in t["in_window"]], dtype=bool),
        "action": pd.Series(_labels(t["action"]), dtype=object),
    }, index=pd.RangeIndex(len(t)))
    for key in ("entered", "left"):
        tab = tables[key]
        idx = pd.Index(_labels(tab.index), name="deal", dtype=object)
        out[key] = pd.DataFrame({str(c): pd.Series(_times(tab[c]), index=idx)
                                 for c in tab.columns}, index=idx,
                                columns=[str(c) for c in tab.columns])
    sl = tables["stall_limits"]
    out["stall_limits"] = pd.Series(
        pd.to_timedelta(pd.Series(list(sl), dtype=object)).astype("timedelta64[ns]").to_numpy(),
        index=pd.Index(_labels(sl.index), dtype=object), name="stall_limit")
    out["as_of"] = pd.Timestamp(tables["as_of"]).tz_convert("UTC")
    return out


def _ns(values: Any) -> list[Optional[int]]:
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    if s.dtype.kind != "M":
        s = pd.to_datetime(s.astype(object), utc=True)
    elif getattr(s.dtype, "tz", None) is None:
        # Semantics only here; test_stages_reference pins the dtypes separately.
        s = s.dt.tz_localize("UTC")
    ints = s.to_numpy(dtype="datetime64[ns]").view("int64").tolist()
    nat = -(2**63)
    return [None if v == nat else v for v in ints]


def _plain(tables: dict[str, Any]) -> dict[str, Any]:
    """The tables as plain Python values (labels, integer nanoseconds, floats, None):
    a fast exact comparison; pandas' assertions are used only to describe a mismatch."""
    d = tables["deals"]
    values = [None if pd.isna(v) else float(v) for v in d["value"].tolist()]
    deals = list(zip(_labels(d.index), _labels(d["current_stage"]), _labels(d["outcome"]),
                     _ns(d["outcome_time"]), _labels(d["lost_reason"]), values))
    t = tables["transitions"]
    transitions = list(zip(_labels(t["deal"]), _labels(t["from_stage"]), _labels(t["to_stage"]),
                           _ns(t["time"]), _labels(t["kind"]),
                           [bool(x) for x in t["in_window"].tolist()], _labels(t["action"])))
    out: dict[str, Any] = {"deals": deals, "transitions": transitions}
    for key in ("entered", "left"):
        tab = tables[key]
        out[key] = (_labels(tab.index), [str(c) for c in tab.columns],
                    [_ns(tab[c]) for c in tab.columns])
    sl = tables["stall_limits"]
    td = pd.to_timedelta(pd.Series(list(sl), dtype=object))
    out["stall_limits"] = list(zip(_labels(sl.index),
                                   [None if pd.isna(x) else int(x.value) for x in td]))
    out["as_of"] = int(pd.Timestamp(tables["as_of"]).tz_convert("UTC").value)
    return out


def assert_same_timelines(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Every table of `got` equals `want` (both in reference_run's dict shape)."""
    g, w = _plain(got), _plain(want)
    if g == w:
        return
    gn, wn = normalise(got), normalise(want)
    for key in ("deals", "transitions", "entered", "left"):
        pd.testing.assert_frame_equal(gn[key], wn[key], obj=key)
    pd.testing.assert_series_equal(gn["stall_limits"], wn["stall_limits"], obj="stall_limits")
    for key in g:
        assert g[key] == w[key], (key, g[key], w[key])
