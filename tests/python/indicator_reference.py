"""An independent pandas/numpy reading of the DEFINITIONS comment of
include/salesperf/indicators.h (and of docs/indicators.md), used as the oracle for
salesperf.indicators(), Indicators.table(), .trends(), rollups and deal_warnings().

It is written from the specification only: it reads the events DataFrame
(EventLog.to_pandas()) and the Timelines DataFrames (.deals, .transitions, .entered,
.left, .stall_limits, .as_of), and uses neither salesperf.Calendar nor salesperf.stats
(periods come from pandas Periods, intervals from statsmodels / scipy, Kaplan-Meier
quantiles are written out below). Counts are Python ints, dollars Python ints in
1/10,000 (exact), so sums are exact whatever the order.

The sentences of the specification are quoted next to the code that transcribes them.
Where the text leaves a detail open, the choice made here is marked READING (Rn); the
tests that depend on a reading say so, so a disagreement with the library points at
the sentence to settle:

* R1  Time in stage of a deal that was excluded while in stage k: its exclusion sets
      last_left[k] (the engine records an exclusion as leaving the stage), so read
      literally the header would count it as an *observed* exit. Both the header
      ("censored ... at x - fe[k] (excluded at x)") and docs/indicators.md ("excluded
      deals [are right-censored] at their exclusion") mean it to be censored, and the
      literal reading would make that clause dead. Here: last_left[k] is an observed
      exit only when the deal did not leave k by its exclusion (excluded_exit=
      "censored"; "observed" gives the literal reading).
* R2  The table's periods of a unit run from its first cell to the last period that
      holds a cell of any unit ("the accumulator's last period").
* R3  Indicator order within a (unit, period), as the header lists them: per action
      occurrences:x, deals:x (and answered:x for a seller action), then
      buyer_actions, seller_activities, buyer_response_ratio, per stage entries:s,
      deals_entered:s, dollars_entered:s, per open stage conversion:k, win_from:k,
      pending:k, time_in_stage_median:k, time_in_stage_p90:k, then the cell indicators. answered:x
      exists for seller actions only. Actions are sorted by label.
* R4  A Wilson ratio with no trials has value NaN and a NaN interval (the table's
      "lower/upper: NaN where there is no interval"), and p_change NaN.
* R5  n of a dollar sum is the number of valued deals / transitions behind it
      (valued_entered, created_valued, won_valued, lost_valued, stalled_valued); n of
      win_rate_value is won_valued + lost_valued; n of avg_won_size is won_valued (its
      denominator). n of velocity is not defined by the text: not checked.
* R6  Kaplan-Meier quantiles are the bucket's lower edge times the resolution, in
      days. Buckets are log-linear: whole steps below 128 are exact, then 64 buckets
      per doubling (the header's DurationBucket).
* R7  Velocity is NaN when any factor is NaN or the median cycle time is 0
      (docs/indicators.md).
* R8  Fixed-point dollars: the exact value times 10,000, rounded to the nearest
      integer, ties away from zero (the header says only "rounded to the nearest").
* R9  Owner "most_active" ties: the tied rep whose first seller event (naming a rep)
      comes first in log order.
* R10 Trends: the last `periods` periods of each unit (fewer if the unit has fewer),
      x = 0, 1, ... over those positions, NaN values skipped in place; `last` is the
      value in the unit's last period (NaN if that is NaN).
* R11 Deal warnings list the open or stalled deals that are in an open stage (a deal
      with no stage yet has no quiet_since, so nothing to judge). The dark percentile
      of stage k is the Kaplan-Meier quantile (q = dark_percentile / 100, in whole
      nanoseconds, no bucketing) of the time-in-stage durations of every deal of the
      run that entered k (observed or censored exactly as in the indicators, R1
      included), one per deal from its first entry; the header says "completed time in
      the deal's current stage (Kaplan-Meier over every deal of the run)", the docs
      "over all deals' visits to the stage", which differ once deals regress or reopen
      (test_indicators checks that case separately). normal_days is NaN and dark false
      when the stage has no observed exit or the quantile is not reached. no_decision_maker looks at the contact_role of
      the deal's buyer events (whether or not a contact is named).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any, Optional

import numpy as np
import pandas as pd
from hypothesis import strategies as st
from scipy import stats as sps
from stage_reference import parse_duration

NS_PER_DAY = 86_400 * 10**9
NS_PER_HOUR = 3_600 * 10**9
DOLLAR_SCALE = 10_000
NONE_UNIT = "(none)"
INT64_MIN = np.iinfo(np.int64).min
ALL = "all"

# ------------------------------------------------------------------------ calendars
# docs/indicators.md, Calendar: day (UTC day, "2026-03-14"), week (ISO 8601, Monday
# 00:00 to the next Monday, "2026-W14" labelled by ISO week-year), month ("2026-03"),
# quarter ("2026 Q1"), year ("2026"), fiscal_quarter:M ("FY2026 Q3", the fiscal year
# named by the calendar year it ends in, as pandas' Q-<month before M>), fiscal_year:M
# ("FY2026"), fiscal_month:M (calendar months). A start month of 1 is the calendar
# year (no "FY").
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


@dataclass(frozen=True)
class CalendarSpec:
    grain: str        # day, week, month, quarter, year
    start_month: int  # 1..12

    @property
    def freq(self) -> str:
        if self.grain == "day":
            return "D"
        if self.grain == "week":
            return "W-SUN"  # weeks ending on Sunday: Monday .. Sunday
        if self.grain == "month":
            return "M"
        end = _MONTHS[(self.start_month - 2) % 12]  # the month before the start month
        return ("Q-" if self.grain == "quarter" else "Y-") + end

    def label(self, ordinal: int) -> str:
        return _period_label(self, int(ordinal))

    def _label(self, ordinal: int) -> str:
        p = pd.Period(ordinal=int(ordinal), freq=self.freq)
        if self.grain == "day":
            return f"{p.year:04d}-{p.month:02d}-{p.day:02d}"
        if self.grain == "week":
            iso = p.start_time.isocalendar()
            return f"{iso[0]:04d}-W{iso[1]:02d}"
        if self.grain == "month":
            return f"{p.year:04d}-{p.month:02d}"
        fy = "FY" if self.start_month != 1 else ""
        if self.grain == "quarter":
            return f"{fy}{p.qyear} Q{p.quarter}"
        return f"{fy}{p.qyear}"

    def ordinals(self, times_ns: np.ndarray) -> np.ndarray:
        """Period ordinals (dense, increasing) of int64 UTC nanoseconds."""
        naive = pd.DatetimeIndex(np.asarray(times_ns, dtype=np.int64).view("M8[ns]"))
        return np.asarray(naive.to_period(self.freq).asi8, dtype=np.int64)

    def ordinal(self, t_ns: int) -> int:
        return int(self.ordinals(np.array([t_ns], dtype=np.int64))[0])

    def end_ns(self, ordinal: int) -> int:
        """The first instant after the period (its exclusive end), UTC ns."""
        nxt = pd.Period(ordinal=int(ordinal) + 1, freq=self.freq)
        return int(nxt.start_time.as_unit("ns").value)


@lru_cache(maxsize=None)
def _period_label(cal: CalendarSpec, ordinal: int) -> str:
    return cal._label(ordinal)


def parse_calendar(spec: str) -> CalendarSpec:
    s = spec.strip().lower()
    if s in ("day", "week", "month", "quarter", "year"):
        return CalendarSpec(s, 1)
    kind, _, month = s.partition(":")
    m = int(month)
    assert 1 <= m <= 12, spec
    grain = {"fiscal_quarter": "quarter", "fiscal_year": "year", "fiscal_month": "month"}[kind]
    return CalendarSpec(grain, m if grain != "month" else 1)


# ------------------------------------------------------------------------ helpers
def duration_ns(value: Any) -> Optional[int]:
    """ "7d" / pd.Timedelta / int ns / None -> int ns or None."""
    if value is None:
        return None
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return int(pd.Timedelta(value).value)


def _ns_list(values: Any) -> list[Optional[int]]:
    """tz-aware datetimes -> [int ns or None]."""
    arr = pd.DatetimeIndex(values).as_unit("ns").asi8
    return [None if v == INT64_MIN else int(v) for v in arr]


def to_fixed(value: float) -> Optional[int]:
    """R8: the value in 1/10,000, rounded to the nearest, ties away from zero."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    x = Fraction(value) * DOLLAR_SCALE
    n = math.floor(abs(x) + Fraction(1, 2))
    return n if x >= 0 else -n


def deal_labels(events: pd.DataFrame) -> list[Any]:
    deal = events["deal"]
    if isinstance(deal.dtype, pd.CategoricalDtype):
        return list(deal.cat.categories)
    return list(pd.unique(deal))


# ------------------------------------------------------------------------ units
def units_by_owner(events: pd.DataFrame, rule: str = "most_active") -> pd.Series:
    """The deal's owner (OwnerRule), NONE_UNIT when no event names a rep.

    kMostActive: "the rep on most of the deal's seller events (ties: the one seen
    first); with no seller event naming a rep, the first rep on any event".
    kFirst / kLast: "the rep of the deal's first / last event that names one".
    """
    out: dict[Any, str] = {}
    deal = events["deal"].astype(object).to_numpy()
    rep = events["rep"].astype(object).to_numpy()
    actor = events["actor"].astype(str).to_numpy()
    per_deal: dict[Any, list[tuple[Any, str]]] = defaultdict(list)
    for d, r, a in zip(deal, rep, actor):
        per_deal[d].append((r, a))
    for d in deal_labels(events):
        named = [(r, a) for r, a in per_deal.get(d, []) if not _missing(r)]
        if not named:
            out[d] = NONE_UNIT
            continue
        if rule == "first":
            out[d] = str(named[0][0])
        elif rule == "last":
            out[d] = str(named[-1][0])
        elif rule == "most_active":
            seller = [r for r, a in named if a == "seller"]
            if not seller:
                out[d] = str(named[0][0])
                continue
            counts = Counter(seller)
            best = max(counts.values())
            # R9: of the tied reps, the one whose first seller event comes first.
            out[d] = str(next(r for r in seller if counts[r] == best))
        else:
            raise ValueError(rule)
    return pd.Series(out, dtype=object)


def units_by_dimension(events: pd.DataFrame, column: str) -> pd.Series:
    """"the first non-null value among the deal's events", else NONE_UNIT."""
    out: dict[Any, str] = {d: NONE_UNIT for d in deal_labels(events)}
    seen: set[Any] = set()
    for d, v in zip(events["deal"].astype(object), events[column].astype(object)):
        if d not in seen and not _missing(v):
            out[d] = str(v)
            seen.add(d)
    return pd.Series(out, dtype=object)


def single_unit(events: pd.DataFrame, name: str = ALL) -> pd.Series:
    return pd.Series({d: name for d in deal_labels(events)}, dtype=object)


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


# ------------------------------------------------------------------------ the accumulator
@dataclass
class Accumulated:
    """The cells of an Indicators accumulator, read from the definitions."""

    calendar: CalendarSpec
    stage_names: list[str]
    num_open: int
    actions: list[str]                    # sorted labels of actions that occur
    actor_of: dict[str, str]
    resolution_ns: int
    # (unit, period, field) -> int; field is a tuple such as ("occurrences", "reply"),
    # ("dollars_entered", "Won") (1/10,000 dollars) or ("won",).
    counts: Counter = field(default_factory=Counter)
    # (unit, period, stage or -1 for cycle time) -> {bucket: [observed, censored]}
    bins: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(lambda: [0, 0])))

    def add(self, unit: str, period: int, key: tuple[Any, ...], amount: int = 1) -> None:
        if amount:
            self.counts[(unit, int(period), key)] += int(amount)

    def add_duration(self, unit: str, period: int, stage: int, duration: int, observed: bool) -> None:
        assert duration >= 0
        bucket = duration_bucket(duration // self.resolution_ns)
        self.bins[(unit, int(period), stage)][bucket][0 if observed else 1] += 1

    def cells(self) -> set[tuple[str, int]]:
        return {(u, p) for (u, p, _), v in self.counts.items() if v != 0}


def stage_windows(timelines: Any, conversion_window: Any = None) -> list[Optional[int]]:
    """W per open stage: "the stage's own conversion window, else
    IndicatorOptions::conversion_window, else none (infinite)"."""
    default = duration_ns(conversion_window)
    stages = timelines.model.to_dict()["stages"]
    return [duration_ns(s["window"]) if s.get("window") else default for s in stages]


def accumulate(events: pd.DataFrame, timelines: Any, unit_of_deal: pd.Series, *,
               calendar: str, windows: list[Optional[int]],
               response_window_ns: int = 7 * NS_PER_DAY, resolution_ns: int = 60 * 10**9,
               as_of_ns: Optional[int] = None, excluded_exit: str = "censored") -> Accumulated:
    """Every figure of every deal, attributed to (unit, P(time)) as the DEFINITIONS say.

    events: EventLog.to_pandas() (log order). timelines: a salesperf.Timelines of that
    log. unit_of_deal: deal label -> unit label, for every deal. windows: per open
    stage, ns or None (stage_windows()).
    """
    cal = parse_calendar(calendar)
    stage_names = list(timelines.stage_names)
    num_open = len(stage_names) - 2
    won_s, lost_s = num_open, num_open + 1
    stage_index = {s: i for i, s in enumerate(stage_names)}
    as_of = int(timelines.as_of.as_unit("ns").value) if as_of_ns is None else as_of_ns
    assert len(windows) == num_open

    actions = sorted({str(a) for a in events["action"].astype(object)})
    actor_of = {str(a): str(b) for a, b in
                events[["action", "actor"]].astype(object).drop_duplicates().to_numpy()}
    acc = Accumulated(cal, stage_names, num_open, actions, actor_of, resolution_ns)
    unit_map = {d: str(u) for d, u in unit_of_deal.items()}

    # ---- Event counts, cell (u, P(event time)) ----
    deal = events["deal"].astype(object).to_numpy()
    unit = np.array([unit_map[d] for d in deal], dtype=object)
    t = pd.DatetimeIndex(events["time"]).as_unit("ns").asi8
    period = cal.ordinals(t)
    action = events["action"].astype(str).to_numpy()
    actor = events["actor"].astype(str).to_numpy()
    # answered[a]: "a-events followed by a buyer action of the same deal at a later log
    # position within response_window (t_buyer - t_event <= window)". Buyer times never
    # decrease with position, so the next buyer event is the one to look at.
    answered = np.zeros(len(events), dtype=bool)
    next_buyer: Optional[int] = None
    for i in range(len(events) - 1, -1, -1):
        if i == len(events) - 1 or deal[i] != deal[i + 1]:
            next_buyer = None
        if actor[i] == "seller" and next_buyer is not None and next_buyer - t[i] <= response_window_ns:
            answered[i] = True
        if actor[i] == "buyer":
            next_buyer = int(t[i])
    frame = pd.DataFrame({"unit": unit, "period": period, "action": action, "deal": deal,
                          "answered": answered})
    grouped = frame.groupby(["unit", "period", "action"], sort=False)
    for (u, p, a), n in grouped.size().items():
        acc.add(u, p, ("occurrences", a), n)                    # every repeat counted
    for (u, p, a), n in grouped["deal"].nunique().items():
        acc.add(u, p, ("deals", a), n)                          # distinct deals in the cell
    for (u, p, a), n in grouped["answered"].sum().items():
        acc.add(u, p, ("answered", a), n)                       # 0 for non-seller actions

    # ---- per deal state from the Timelines ----
    deals = timelines.deals
    labels = list(deals.index)
    outcome = {d: str(o) for d, o in zip(labels, deals["outcome"].astype(str))}
    value = {d: to_fixed(float(v)) for d, v in zip(labels, deals["value"])}
    quiet_since = dict(zip(labels, _ns_list(deals["quiet_since"])))
    current = dict(zip(labels, deals["current_stage"]))
    fe = {d: row for d, row in zip(labels, zip(*[_ns_list(timelines.entered[s]) for s in stage_names]))}
    ll = {d: row for d, row in zip(labels, zip(*[_ns_list(timelines.left[s]) for s in stage_names]))}
    stall_limit = [None if pd.isna(v) else int(pd.Timedelta(v).value) for v in timelines.stall_limits]

    # ---- Transitions, cell (u, P(time)) ----
    tr = timelines.transitions
    tr_deal = tr["deal"].astype(object).tolist()
    tr_time = _ns_list(tr["time"])
    tr_period = cal.ordinals(np.array(tr_time, dtype=np.int64)) if len(tr) else np.array([], np.int64)
    tr_kind = tr["kind"].astype(str).tolist()
    tr_from = tr["from_stage"].tolist()
    tr_to = tr["to_stage"].tolist()
    excluded_at: dict[Any, int] = {}
    excluded_from: dict[Any, Optional[str]] = {}
    seen_first: set[Any] = set()
    for d, when, p, kind, frm, to in zip(tr_deal, tr_time, tr_period, tr_kind, tr_from, tr_to):
        u = unit_map[d]
        v = value[d]
        if to is not None:
            acc.add(u, p, ("entries", to))          # re-entries too; open stages, Won, Lost
        if kind in ("progressed", "skipped"):
            acc.add(u, p, ("progressed",))
        elif kind == "regressed":
            acc.add(u, p, ("regressed",))
        elif kind == "reopened":
            acc.add(u, p, ("reopened",))
        if to == stage_names[won_s]:
            acc.add(u, p, ("won",))
            if v is not None:
                acc.add(u, p, ("won_dollars",), v)
                acc.add(u, p, ("won_valued",))
        if to == stage_names[lost_s]:                # stall closes included
            acc.add(u, p, ("lost",))
            if v is not None:
                acc.add(u, p, ("lost_dollars",), v)
                acc.add(u, p, ("lost_valued",))
        if d not in seen_first:                      # "the deal's first transition,
            seen_first.add(d)                        #  unless it is an exclusion"
            if kind != "excluded":
                acc.add(u, p, ("created",))
                if v is not None:
                    acc.add(u, p, ("created_dollars",), v)
                    acc.add(u, p, ("created_valued",))
        if kind == "excluded":
            excluded_at[d] = when
            excluded_from[d] = frm
            if frm is not None and stage_index[frm] < num_open:
                acc.add(u, p, ("excluded_open",))    # "exclusions from an open stage"

    # P(t) of every first entry at once (one pandas call instead of one per entry).
    known = sorted({x for row in fe.values() for x in row if x is not None})
    ordinal_of = dict(zip(known, cal.ordinals(np.array(known, dtype=np.int64)).tolist())) if known else {}

    def P(when: int) -> int:
        return ordinal_of[when] if when in ordinal_of else cal.ordinal(when)

    for d in labels:
        u = unit_map[d]
        f = fe[d]
        v = value[d]
        out = outcome[d]
        # ---- First entries, cell (u, P(fe[s])) ----
        for s, when in enumerate(f):
            if when is not None:
                acc.add(u, P(when), ("deals_entered", stage_names[s]))
                if v is not None:
                    acc.add(u, P(when), ("dollars_entered", stage_names[s]), v)
                    acc.add(u, P(when), ("valued_entered", stage_names[s]))

        def censored_at(start: int) -> Optional[int]:
            """"censored at as_of - fe[k] (open or stalled deals; 0 if negative) or at
            x - fe[k] (excluded at x)"."""
            if out in ("open", "stalled"):
                return max(0, as_of - start)
            if out == "excluded":
                return excluded_at[d] - start
            return None

        for k in range(num_open):
            a = f[k]
            if a is None:
                continue
            cell = P(a)
            # ---- Cohort conversion, cell (u, P(fe[k])) ----
            W = windows[k]
            later = [f[s] for s in range(k + 1, num_open + 1) if f[s] is not None and f[s] >= a]
            nxt = min(later) if later else None
            won_at = f[won_s] if f[won_s] is not None and f[won_s] >= a else None
            for hit, (yes, no, wait) in ((nxt, ("advanced", "failed", "pending")),
                                         (won_at, ("won_in_window", "won_failed", "won_pending"))):
                if hit is not None and (W is None or hit - a <= W):
                    acc.add(u, cell, (yes, stage_names[k]))
                elif out in ("won", "lost"):
                    acc.add(u, cell, (no, stage_names[k]))
                elif out in ("open", "stalled"):
                    if W is not None and a + W <= as_of:
                        acc.add(u, cell, (no, stage_names[k]))
                    else:
                        acc.add(u, cell, (wait, stage_names[k]))
                elif out == "excluded":
                    if W is not None and excluded_at[d] - a >= W:
                        acc.add(u, cell, (no, stage_names[k]))
                    # else: excluded inside the window: left out of the ratio
                else:
                    raise AssertionError(out)
            # ---- Time in stage k, cell (u, P(fe[k])) ----
            exits = [f[s] for s in range(k + 1, num_open + 2) if f[s] is not None and f[s] >= a]
            if exits:
                acc.add_duration(u, cell, k, min(exits) - a, True)
                continue
            left = ll[d][k]
            left_by_exclusion = (out == "excluded" and excluded_from.get(d) == stage_names[k]
                                 and left == excluded_at[d])
            if left is not None and left >= a and not (excluded_exit == "censored" and left_by_exclusion):
                acc.add_duration(u, cell, k, left - a, True)
                continue
            c = censored_at(a)
            assert c is not None, f"deal {d}: {out} with no exit from stage {k}"
            acc.add_duration(u, cell, k, c, False)

        # ---- Cycle time, cell (u, P(c)), c = the deal's creation ----
        entered = [x for x in f if x is not None]
        if entered:
            c0 = min(entered)
            closes = [x for x in (f[won_s], f[lost_s]) if x is not None and x >= c0]
            if closes:
                acc.add_duration(u, P(c0), -1, min(closes) - c0, True)
            else:
                c = censored_at(c0)
                assert c is not None, f"deal {d}: {out} with no close"
                acc.add_duration(u, P(c0), -1, c, False)

        # ---- Stalls, cell (u, P(onset)) ----
        if out == "stalled":
            k = stage_index[current[d]]
            onset = quiet_since[d] + stall_limit[k]
            acc.add(u, P(onset), ("stalled",))
            if v is not None:
                acc.add(u, P(onset), ("stalled_dollars",), v)
                acc.add(u, P(onset), ("stalled_valued",))
    return acc


# ------------------------------------------------------------------------ buckets
def duration_bucket(steps: int) -> int:
    """The log-linear bucket of a whole number of steps: exact below 128; above, a
    doubling [2^j, 2^(j+1)) split into 64 equal buckets of width 2^(j-6)."""
    if steps < 128:
        return steps
    j = steps.bit_length() - 1          # 2^j <= steps < 2^(j+1), j >= 7
    width = 2 ** (j - 6)
    return 128 + 64 * (j - 7) + (steps - 2 ** j) // width


def bucket_lower_steps(bucket: int) -> int:
    """The smallest step count in a bucket."""
    if bucket < 128:
        return bucket
    j = (bucket - 128) // 64 + 7
    return 2 ** j + ((bucket - 128) % 64) * 2 ** (j - 6)


# ------------------------------------------------------------------------ statistics
@lru_cache(maxsize=None)
def wilson(x: int, n: int, confidence: float) -> tuple[float, float, float]:
    """(estimate, lower, upper); R4 for n == 0. statsmodels' Wilson interval, with the
    ends stats.h makes exact: lower 0 when x == 0, upper 1 when x == n."""
    if n == 0:
        return math.nan, math.nan, math.nan
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    lo, hi = max(0.0, float(lo)), min(1.0, float(hi))
    if x == 0:
        lo = 0.0
    if x == n:
        hi = 1.0
    return x / n, lo, hi


@lru_cache(maxsize=None)
def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Pooled two-proportion z test, two-sided p (stats.h TwoProportionTest)."""
    if n1 == 0 or n2 == 0:
        return math.nan
    p = (x1 + x2) / (n1 + n2)
    if p == 0 or p == 1:
        return 1.0
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    z = (x2 / n2 - x1 / n1) / se
    return float(2 * sps.norm.sf(abs(z)))


def km_quantile(histogram: dict[int, list[int]], q: float) -> Optional[int]:
    """The smallest event time t with S(t) <= 1 - q (absolute slack 1e-12), where
    S(t) = prod over event times t_i <= t of (n_i - d_i) / n_i, n_i = durations >= t_i
    (censorings at t_i still at risk: events come first at ties). None: not reached."""
    at_risk = sum(o + c for o, c in histogram.values())
    s = 1.0
    for t in sorted(histogram):
        d, c = histogram[t]
        if d:
            s *= (at_risk - d) / at_risk
            if s <= 1 - q + 1e-12:
                return t
        at_risk -= d + c
    return None


# ------------------------------------------------------------------------ the table
COUNT_FAMILIES = {"occurrences", "deals", "buyer_actions", "seller_activities", "entries",
                  "deals_entered", "pending", "created", "progressed", "regressed", "reopened",
                  "won", "lost", "excluded", "stalled", "open_start", "open_end"}
DOLLAR_FAMILIES = {"dollars_entered", "created_dollars", "won_dollars", "lost_dollars",
                   "stalled_dollars"}
WILSON_FAMILIES = {"answered", "conversion", "win_from", "win_rate"}
RATIO_FAMILIES = WILSON_FAMILIES | {"buyer_response_ratio", "avg_won_size", "win_rate_value",
                                    "velocity"}
DURATION_FAMILIES = {"time_in_stage_median", "time_in_stage_p90", "cycle_time_median",
                     "cycle_time_p90"}


def family(indicator: str) -> str:
    return indicator.split(":", 1)[0]


def indicator_names(acc: Accumulated) -> list[str]:
    """R3."""
    a, s, k = acc.actions, acc.stage_names, acc.stage_names[: acc.num_open]
    seller = [x for x in a if acc.actor_of[x] == "seller"]
    per_action = [name for x in a for name in
                  [f"occurrences:{x}", f"deals:{x}"] + ([f"answered:{x}"] if x in seller else [])]
    per_stage = [f"{f}:{x}" for x in s for f in ("entries", "deals_entered", "dollars_entered")]
    per_open = [f"{f}:{x}" for x in k for f in ("conversion", "win_from", "pending",
                                                 "time_in_stage_median", "time_in_stage_p90")]
    return (per_action
            + ["buyer_actions", "seller_activities", "buyer_response_ratio"]
            + per_stage + per_open
            + ["created", "created_dollars", "progressed", "regressed", "reopened", "won",
               "won_dollars", "lost", "lost_dollars", "excluded", "stalled", "stalled_dollars",
               "open_start", "open_end", "avg_won_size", "win_rate", "win_rate_value",
               "cycle_time_median", "cycle_time_p90", "velocity"])


@dataclass
class Figure:
    value: float
    lower: float = math.nan
    upper: float = math.nan
    n: Optional[int] = None
    immature: bool = False
    trials: Optional[tuple[int, int]] = None  # (successes, trials) of a Wilson ratio


def _ratio(x: float, n: float) -> float:
    return x / n if n else math.nan


def cell_figures(acc: Accumulated, get: Any, hist: Any, open_start: int, open_end: int,
                 confidence: float) -> dict[str, Figure]:
    """Every indicator of one (unit, period) (or of "all"), from its fields.

    get(key) -> int (the field, summed over the periods of the row); hist(stage) ->
    the summed duration histogram {bucket: [observed, censored]}."""
    out: dict[str, Figure] = {}

    def count(name: str, v: int) -> None:
        out[name] = Figure(float(v), n=int(v))

    def dollars(name: str, fixed: int, valued: int) -> None:
        out[name] = Figure(fixed / DOLLAR_SCALE, n=valued)

    def wilson_fig(name: str, x: int, n: int, immature: bool = False) -> None:
        est, lo, hi = wilson(x, n, confidence)
        out[name] = Figure(est, lo, hi, n=n, immature=immature, trials=(x, n))

    for x in acc.actions:
        count(f"occurrences:{x}", get(("occurrences", x)))
    for x in acc.actions:
        count(f"deals:{x}", get(("deals", x)))
    for x in acc.actions:
        if acc.actor_of[x] == "seller":
            wilson_fig(f"answered:{x}", get(("answered", x)), get(("occurrences", x)))
    buyer = sum(get(("occurrences", x)) for x in acc.actions if acc.actor_of[x] == "buyer")
    seller = sum(get(("occurrences", x)) for x in acc.actions if acc.actor_of[x] == "seller")
    count("buyer_actions", buyer)
    count("seller_activities", seller)
    out["buyer_response_ratio"] = Figure(_ratio(buyer, seller), n=seller)
    for s in acc.stage_names:
        count(f"entries:{s}", get(("entries", s)))
    for s in acc.stage_names:
        count(f"deals_entered:{s}", get(("deals_entered", s)))
    for s in acc.stage_names:
        dollars(f"dollars_entered:{s}", get(("dollars_entered", s)), get(("valued_entered", s)))
    opens = acc.stage_names[: acc.num_open]
    for s in opens:
        adv, fail, pend = get(("advanced", s)), get(("failed", s)), get(("pending", s))
        wilson_fig(f"conversion:{s}", adv, adv + fail, immature=pend > 0)
    for s in opens:
        w, wf, wp = get(("won_in_window", s)), get(("won_failed", s)), get(("won_pending", s))
        wilson_fig(f"win_from:{s}", w, w + wf, immature=wp > 0)
    for s in opens:
        count(f"pending:{s}", get(("pending", s)))
    for k, s in enumerate(opens):
        h = hist(k)
        n = sum(o + c for o, c in h.values())
        b = km_quantile(h, 0.5) if h else None
        out[f"time_in_stage_median:{s}"] = Figure(
            math.nan if b is None else bucket_lower_steps(b) * acc.resolution_ns / NS_PER_DAY, n=n)
    for k, s in enumerate(opens):
        h = hist(k)
        n = sum(o + c for o, c in h.values())
        b = km_quantile(h, 0.9) if h else None
        out[f"time_in_stage_p90:{s}"] = Figure(
            math.nan if b is None else bucket_lower_steps(b) * acc.resolution_ns / NS_PER_DAY, n=n)
    count("created", get(("created",)))
    dollars("created_dollars", get(("created_dollars",)), get(("created_valued",)))
    count("progressed", get(("progressed",)))
    count("regressed", get(("regressed",)))
    count("reopened", get(("reopened",)))
    won, lost = get(("won",)), get(("lost",))
    count("won", won)
    dollars("won_dollars", get(("won_dollars",)), get(("won_valued",)))
    count("lost", lost)
    dollars("lost_dollars", get(("lost_dollars",)), get(("lost_valued",)))
    count("excluded", get(("excluded_open",)))
    count("stalled", get(("stalled",)))
    dollars("stalled_dollars", get(("stalled_dollars",)), get(("stalled_valued",)))
    count("open_start", open_start)
    count("open_end", open_end)
    won_fixed, lost_fixed = get(("won_dollars",)), get(("lost_dollars",))
    won_valued = get(("won_valued",))
    # avg_won_size = won_dollars / won_valued ("over won deals that have a value").
    avg = Fraction(won_fixed, DOLLAR_SCALE * won_valued) if won_valued else None
    out["avg_won_size"] = Figure(float(avg) if avg is not None else math.nan, n=won_valued)
    wilson_fig("win_rate", won, won + lost)
    total = won_fixed + lost_fixed
    out["win_rate_value"] = Figure(float(Fraction(won_fixed, total)) if total else math.nan,
                                   n=won_valued + get(("lost_valued",)))
    h = hist(-1)
    n = sum(o + c for o, c in h.values())
    for q, name in ((0.5, "cycle_time_median"), (0.9, "cycle_time_p90")):
        b = km_quantile(h, q) if h else None
        out[name] = Figure(math.nan if b is None else bucket_lower_steps(b) * acc.resolution_ns / NS_PER_DAY, n=n)
    # velocity = created x win_rate x avg_won_size / cycle_time_median (R7).
    created = get(("created",))
    rate = out["win_rate"].value
    ctm = out["cycle_time_median"].value
    if avg is None or math.isnan(rate) or math.isnan(ctm) or ctm == 0:
        vel = math.nan
    else:
        vel = created * rate * float(avg) / ctm
    out["velocity"] = Figure(vel, n=None)
    return out


def make_table(acc: Accumulated, *, confidence: float = 0.95,
               include_all: bool = True) -> pd.DataFrame:
    """The long table of MakeTable: unit, period, indicator, value, lower, upper, n,
    previous, p_change, immature (strings for the first three)."""
    cells = acc.cells()
    if not cells:
        return pd.DataFrame(columns=["unit", "period", "indicator", "value", "lower", "upper", "n",
                                     "previous", "p_change", "immature"])
    last = max(p for _, p in cells)                       # R2
    units = sorted({u for u, _ in cells})
    first = {u: min(p for v, p in cells if v == u) for u in units}
    names = indicator_names(acc)
    by_cell: dict[tuple[str, int], dict[tuple[Any, ...], int]] = defaultdict(dict)
    for (u, p, key), v in acc.counts.items():
        by_cell[(u, p)][key] = v
    rows: list[tuple[Any, ...]] = []
    for u in units:
        periods = list(range(first[u], last + 1))
        open_end = 0
        figs: list[dict[str, Figure]] = []
        for p in periods:
            fields = by_cell.get((u, p), {})
            get = lambda key, fields=fields: fields.get(key, 0)  # noqa: E731

            def hist(stage: int, u: str = u, p: int = p) -> dict[int, list[int]]:
                h = acc.bins.get((u, p, stage))
                return {b: list(v) for b, v in h.items()} if h else {}

            # open_end(p) = open_end(p-1) + created + reopened - won - lost - excluded_open
            start = open_end
            open_end = (start + get(("created",)) + get(("reopened",)) - get(("won",))
                        - get(("lost",)) - get(("excluded_open",)))
            figs.append(cell_figures(acc, get, hist, start, open_end, confidence))
        for i, (p, f) in enumerate(zip(periods, figs)):
            prev = figs[i - 1] if i else None
            for name in names:
                fig = f[name]
                previous = prev[name].value if prev is not None else math.nan
                p_change = math.nan
                if prev is not None and fig.trials is not None:
                    (x1, n1), (x2, n2) = prev[name].trials, fig.trials  # type: ignore[misc]
                    p_change = two_proportion_p(x1, n1, x2, n2)
                rows.append((u, acc.calendar.label(p), name, fig.value, fig.lower, fig.upper,
                             fig.n, previous, p_change, fig.immature))
        if include_all:
            summed: Counter = Counter()
            for p in periods:
                summed.update(by_cell.get((u, p), {}))
            hists: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
            for (v, p, stage), h in acc.bins.items():
                if v == u:
                    for b, (o, c) in h.items():
                        hists[stage][b][0] += o
                        hists[stage][b][1] += c

            def hist_all(stage: int) -> dict[int, list[int]]:
                return {b: list(v) for b, v in hists[stage].items()} if stage in hists else {}

            # Period "all" sums every period (open_start 0, open_end at the last period).
            f = cell_figures(acc, lambda key: summed.get(key, 0), hist_all, 0, open_end, confidence)
            for name in names:
                fig = f[name]
                rows.append((u, ALL, name, fig.value, fig.lower, fig.upper, fig.n, math.nan,
                             math.nan, fig.immature))
    table = pd.DataFrame(rows, columns=["unit", "period", "indicator", "value", "lower", "upper",
                                        "n", "previous", "p_change", "immature"])
    table["n"] = table["n"].astype("Int64")
    return table


def reference_table(events: pd.DataFrame, timelines: Any, unit_of_deal: pd.Series, *,
                    calendar: str = "month", conversion_window: Any = None,
                    response_window: Any = "7d", resolution: Any = "60s",
                    confidence: float = 0.95, include_all: bool = True,
                    excluded_exit: str = "censored") -> pd.DataFrame:
    """accumulate() + make_table() with the API's arguments."""
    acc = accumulate(events, timelines, unit_of_deal, calendar=calendar,
                     windows=stage_windows(timelines, conversion_window),
                     response_window_ns=duration_ns(response_window),  # type: ignore[arg-type]
                     resolution_ns=duration_ns(resolution),  # type: ignore[arg-type]
                     excluded_exit=excluded_exit)
    return make_table(acc, confidence=confidence, include_all=include_all)


# ------------------------------------------------------------------------ flow check
def open_at_period_ends(timelines: Any, unit_of_deal: pd.Series, calendar: str,
                        periods: dict[str, list[str]]) -> dict[tuple[str, str], int]:
    """Deals of each unit in an open stage at the end of each listed period, counted
    from the transitions alone: the stage after the deal's last transition before the
    period's end. periods: unit -> period labels; returns (unit, label) -> count."""
    cal = parse_calendar(calendar)
    opens = set(timelines.stage_names[:-2])
    tr = timelines.transitions
    t = np.array(_ns_list(tr["time"]), dtype=np.int64)
    units = tr["deal"].astype(object).map({d: str(u) for d, u in unit_of_deal.items()})
    frame = pd.DataFrame({"deal": tr["deal"].astype(object), "unit": units, "t": t,
                          "open": tr["to_stage"].isin(opens).to_numpy()})
    lo = cal.ordinal(int(t.min())) if len(t) else 0
    hi = cal.ordinal(int(t.max())) if len(t) else -1
    label_to_ordinal = {cal.label(o): o for o in range(lo, hi + 1)}
    out: dict[tuple[str, str], int] = {}
    for unit, labels in periods.items():
        mine = frame[frame["unit"] == unit]
        for label in labels:
            if label in label_to_ordinal:
                end = cal.end_ns(label_to_ordinal[label])
            elif len(t) == 0 or label < cal.label(lo):  # labels sort in time order as text
                end = np.iinfo(np.int64).min           # before every transition
            else:
                end = np.iinfo(np.int64).max           # after every transition
            before = mine[mine["t"] < end]
            state = before.groupby("deal", sort=False)["open"].last()
            out[(unit, label)] = int(state.sum())
    return out


# ------------------------------------------------------------------------ trends
def reference_trends(table: pd.DataFrame, periods: int = 6, confidence: float = 0.95) -> pd.DataFrame:
    """MakeTrends (R10): per (unit, indicator), numpy.polyfit over the unit's last
    `periods` periods, with a Student t interval."""
    rows = []
    body = table[table["period"] != ALL]
    for (unit, ind), g in body.groupby(["unit", "indicator"], sort=False):
        y = g["value"].to_numpy(dtype=float)[-periods:]
        x = np.arange(len(y), dtype=float)
        ok = ~np.isnan(y)
        n = int(ok.sum())
        slope = lower = upper = math.nan
        if n >= 2:
            slope, intercept = np.polyfit(x[ok], y[ok], 1)
            if n > 2:
                resid = y[ok] - (slope * x[ok] + intercept)
                sxx = float(((x[ok] - x[ok].mean()) ** 2).sum())
                se = math.sqrt(float((resid ** 2).sum()) / (n - 2) / sxx)
                tq = float(sps.t.ppf(1 - (1 - confidence) / 2, n - 2))
                lower, upper = slope - tq * se, slope + tq * se
        rows.append((unit, ind, float(slope), lower, upper, n, float(y[-1]) if len(y) else math.nan))
    return pd.DataFrame(rows, columns=["unit", "indicator", "slope", "lower", "upper", "n", "last"])


# ------------------------------------------------------------------------ deal warnings
def time_in_stage_ns(timelines: Any, excluded_exit: str = "censored") -> dict[int, list[tuple[int, bool]]]:
    """Per open stage: (duration ns, observed) of every deal that entered it, by the
    time-in-stage definition (no bucketing)."""
    deals = timelines.deals
    stage_names = list(timelines.stage_names)
    num_open = len(stage_names) - 2
    as_of = int(timelines.as_of.as_unit("ns").value)
    fe = list(zip(*[_ns_list(timelines.entered[s]) for s in stage_names]))
    ll = list(zip(*[_ns_list(timelines.left[s]) for s in stage_names]))
    tr = timelines.transitions
    exc = tr[tr["kind"].astype(str) == "excluded"]
    exc_at = dict(zip(exc["deal"].astype(object), _ns_list(exc["time"])))
    exc_from = dict(zip(exc["deal"].astype(object), exc["from_stage"]))
    out: dict[int, list[tuple[int, bool]]] = {k: [] for k in range(num_open)}
    for i, (d, o) in enumerate(zip(deals.index, deals["outcome"].astype(str))):
        f = fe[i]
        for k in range(num_open):
            a = f[k]
            if a is None:
                continue
            exits = [f[s] for s in range(k + 1, num_open + 2) if f[s] is not None and f[s] >= a]
            if exits:
                out[k].append((min(exits) - a, True))
                continue
            left = ll[i][k]
            by_exclusion = o == "excluded" and exc_from.get(d) == stage_names[k] and left == exc_at.get(d)
            if left is not None and left >= a and not (excluded_exit == "censored" and by_exclusion):
                out[k].append((left - a, True))
            elif o in ("open", "stalled"):
                out[k].append((max(0, as_of - a), False))
            elif o == "excluded":
                out[k].append((exc_at[d] - a, False))
            else:
                raise AssertionError((d, o, k))
    return out


def reference_warnings(events: pd.DataFrame, timelines: Any, *, dark_percentile: float = 90,
                       decision_maker_roles: tuple[str, ...] = ("decision_maker",)) -> pd.DataFrame:
    """FindDealWarnings (R11): deal, stage, stalled, dark, single_threaded,
    no_decision_maker (-1 without the column), quiet_days, normal_days."""
    deals = timelines.deals
    stage_names = list(timelines.stage_names)
    as_of = int(timelines.as_of.as_unit("ns").value)
    normal: dict[str, Optional[int]] = {}
    for k, durations in time_in_stage_ns(timelines).items():
        hist: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for dur, obs in durations:
            hist[dur][0 if obs else 1] += 1
        has_completed = any(obs for _, obs in durations)
        normal[stage_names[k]] = km_quantile(dict(hist), dark_percentile / 100) if has_completed else None
    buyer = events[events["actor"].astype(str) == "buyer"]
    has_contact = "contact" in events.columns
    has_role = "contact_role" in events.columns
    contacts: dict[Any, set[Any]] = defaultdict(set)
    dm: set[Any] = set()
    if has_contact:
        for d, c in zip(buyer["deal"].astype(object), buyer["contact"].astype(object)):
            if not _missing(c):
                contacts[d].add(c)
    if has_role:
        roles = set(decision_maker_roles)
        for d, r in zip(buyer["deal"].astype(object), buyer["contact_role"].astype(object)):
            if not _missing(r) and str(r) in roles:
                dm.add(d)
    rows = []
    quiet = _ns_list(deals["quiet_since"])
    for d, out, stage, qs in zip(deals.index, deals["outcome"].astype(str), deals["current_stage"], quiet):
        if out not in ("open", "stalled") or stage is None or (isinstance(stage, float) and math.isnan(stage)):
            continue
        assert qs is not None, d
        q = as_of - qs
        nrm = normal[stage]
        rows.append({
            "deal": d, "stage": stage, "stalled": out == "stalled",
            "dark": nrm is not None and q > nrm,
            "single_threaded": (1 if len(contacts[d]) <= 1 else 0) if has_contact else -1,
            "no_decision_maker": (0 if d in dm else 1) if has_role else -1,
            "quiet_days": q / NS_PER_DAY,
            "normal_days": math.nan if nrm is None else nrm / NS_PER_DAY,
        })
    return pd.DataFrame(rows, columns=["deal", "stage", "stalled", "dark", "single_threaded",
                                       "no_decision_maker", "quiet_days", "normal_days"])


# ------------------------------------------------------------------------ comparison
def normalise_table(table: pd.DataFrame) -> pd.DataFrame:
    """The library's (or the reference's) table with plain columns: str keys, float
    figures, int n, bool immature."""
    out = pd.DataFrame({
        "unit": table["unit"].astype(str).to_numpy(),
        "period": table["period"].astype(str).to_numpy(),
        "indicator": table["indicator"].astype(str).to_numpy(),
    })
    for c in ("value", "lower", "upper", "previous", "p_change"):
        out[c] = pd.to_numeric(table[c]).to_numpy(dtype=float, na_value=np.nan)
    out["n"] = pd.array(table["n"], dtype="Int64")
    out["immature"] = table["immature"].astype(bool).to_numpy()
    return out


# n is checked against the reference for these families in the main tests; the others
# are readings (R5) checked in their own test, or not defined (velocity).
N_SPEC = COUNT_FAMILIES | WILSON_FAMILIES | DURATION_FAMILIES | {"buyer_response_ratio",
                                                                 "avg_won_size"}
N_READING = DOLLAR_FAMILIES | {"win_rate_value"}


def _close(a: np.ndarray, b: np.ndarray, rel: float, abs_: float = 0.0) -> np.ndarray:
    both_nan = np.isnan(a) & np.isnan(b)
    with np.errstate(invalid="ignore"):
        ok = (a == b) | (np.abs(a - b) <= np.maximum(rel * np.maximum(np.abs(a), np.abs(b)), abs_))
    return both_nan | (ok & ~np.isnan(a) & ~np.isnan(b))


def compare_tables(got: pd.DataFrame, want: pd.DataFrame, *, check: str = "spec",
                   limit: int = 12) -> list[str]:
    """Differences between two tables, as readable lines (empty: equal).

    check="spec": rows, values, intervals, previous, p_change, immature, and n of the
    N_SPEC families; intervals of Wilson ratios with no trials are left to "reading".
    check="reading": R4 intervals (no trials) and R5 n.
    Counts must be equal exactly; other values to a relative 1e-12 (dollars are exact
    sums, so only the last division rounds); intervals and p values to 1e-9 relative or
    1e-12 absolute (different but exact formulas: the normal quantile, 1 - Phi vs sf).
    """
    g, w = normalise_table(got), normalise_table(want)
    keys = ["unit", "period", "indicator"]
    problems: list[str] = []
    gk = set(map(tuple, g[keys].to_numpy()))
    wk = set(map(tuple, w[keys].to_numpy()))
    if gk != wk:
        extra, missing = sorted(gk - wk)[:limit], sorted(wk - gk)[:limit]
        problems.append(f"rows differ: {len(gk - wk)} extra {extra}; {len(wk - gk)} missing {missing}")
    m = g.merge(w, on=keys, suffixes=("_got", "_want"))
    fam = m["indicator"].map(family)
    counts = fam.isin(COUNT_FAMILIES).to_numpy()
    no_trials = (fam.isin(WILSON_FAMILIES) & (m["n_want"] == 0)).to_numpy(dtype=bool)

    def report(name: str, bad: np.ndarray) -> None:
        if bad.any():
            cols = keys + [c for c in m.columns if c.startswith(name)]
            problems.append(f"{name}: {int(bad.sum())} rows differ, e.g.\n"
                            + m.loc[bad, cols].head(limit).to_string())

    if check == "spec":
        for c in ("value", "previous"):
            a, b = m[f"{c}_got"].to_numpy(), m[f"{c}_want"].to_numpy()
            exact = _close(a, b, 0.0)
            near = _close(a, b, 1e-12)
            report(c, np.where(counts, ~exact, ~near))
        for c in ("lower", "upper"):
            a, b = m[f"{c}_got"].to_numpy(), m[f"{c}_want"].to_numpy()
            report(c, ~_close(a, b, 1e-9, 1e-12) & ~no_trials)
        a, b = m["p_change_got"].to_numpy(), m["p_change_want"].to_numpy()
        report("p_change", ~_close(a, b, 1e-9, 1e-12))
        report("immature", (m["immature_got"] != m["immature_want"]).to_numpy())
        sel = fam.isin(N_SPEC).to_numpy()
        ne = (m["n_got"].astype("float") != m["n_want"].astype("float")).fillna(True).to_numpy(dtype=bool)
        report("n", sel & ne)
    elif check == "reading":
        for c in ("lower", "upper"):
            a, b = m[f"{c}_got"].to_numpy(), m[f"{c}_want"].to_numpy()
            report(c, ~_close(a, b, 1e-9, 1e-12) & no_trials)
        sel = fam.isin(N_READING).to_numpy()
        ne = (m["n_got"].astype("float") != m["n_want"].astype("float")).fillna(True).to_numpy(dtype=bool)
        report("n", sel & ne)
    else:
        raise ValueError(check)
    return problems


# ------------------------------------------------------------------------ random inputs
# Tiny logs (1-8 deals, 1-12 events each on a 12-hour grid over two months, so ties,
# month ends and window bounds come up) and small models with every feature the
# indicators read: windows, stalls and stall closes, exclusions, reopens, skips and
# recorded regressions.
TINY_VOCABULARY = {"reply": "buyer", "need": "buyer", "budget": "buyer", "sign": "buyer",
                   "decline": "buyer", "email": "seller", "call": "seller", "created": "system",
                   "dup": "system"}
_CONTACTS = {None: None, "ann": "decision_maker", "bob": "champion", "cy": None}
_REPS = [None, "r1", "r2", "r3"]
_AMOUNTS = [None, 100.0, 250.5, 1e3, 0.0001]
_BASE = pd.Timestamp("2026-01-20", tz="UTC")


@st.composite
def tiny_logs(draw: st.DrawFn) -> pd.DataFrame:
    actions = list(TINY_VOCABULARY)
    contacts = list(_CONTACTS)
    sizes = (121, len(actions), len(contacts), len(_REPS), len(_AMOUNTS))

    def decode(code: int) -> tuple[Any, ...]:
        out = []
        for s in sizes:
            out.append(code % s)
            code //= s
        return out[0], actions[out[1]], contacts[out[2]], _REPS[out[3]], _AMOUNTS[out[4]]

    total = int(np.prod(sizes))
    rows: list[tuple[Any, ...]] = []
    for d in range(draw(st.integers(1, 8))):
        for e in draw(st.lists(st.integers(0, total - 1).map(decode), min_size=1, max_size=12)):
            rows.append((f"D{d}",) + e)
    return pd.DataFrame({
        "deal": [r[0] for r in rows],
        "time": _BASE + pd.Timedelta(hours=12) * pd.Index([r[1] for r in rows]),
        "action": [r[2] for r in rows],
        "contact": pd.Series([r[3] for r in rows], dtype=object),
        "contact_role": pd.Series([_CONTACTS[r[3]] for r in rows], dtype=object),
        "rep": pd.Series([r[4] for r in rows], dtype=object),
        "amount": pd.array([r[5] for r in rows], dtype="Float64"),
    })


@st.composite
def tiny_models(draw: st.DrawFn) -> dict[str, Any]:
    pool = ["created", "reply", "need", "budget"]
    stages = []
    for name in ["Lead", "Engaged", "Qualified"][: draw(st.integers(1, 3))]:
        stage: dict[str, Any] = {"name": name, "rules": [
            {"any": draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))}]}
        if draw(st.booleans()):
            stage["window"] = draw(st.sampled_from(["1d", "3d", "10d"]))
        if draw(st.booleans()):
            stage["stall"] = draw(st.sampled_from(["2d", "5d"]))
        stages.append(stage)
    model: dict[str, Any] = {"version": 1, "stages": stages, "won": [{"any": ["sign"]}],
                             "lost": [{"any": ["decline"]}],
                             "ordering": draw(st.sampled_from(["strict", "skip"])),
                             "reopen": draw(st.sampled_from(["never", "allow"]))}
    if draw(st.booleans()):
        model["exclude"] = ["dup"]
    if len(stages) > 1 and draw(st.booleans()):
        model["regression"] = "record"
        model["regress"] = [{"any": ["budget"], "to": stages[0]["name"]}]
    if draw(st.booleans()):
        model["close_stalled_after"] = "3d"
    return model


