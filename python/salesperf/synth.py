"""A synthetic B2B sales company: a realistic, deterministic event log with planted truths.

The generator (C++, ``salesperf/synth.h``, whose header comment is the exact model)
simulates reps of different skill and will, in teams and territories, selling to
accounts with buying centres (decision maker, champion, influencers, users). Buyers
move deals up a ladder of stages defined by what *they* do (reply, state_need,
share_budget, request_proposal, verbal_commit, sign; or decline, or go dark) in
response to what sellers do (call, email, meeting, send_proposal). Some reps leak
at one stage, and three seller behaviours raise buyer response; both come back with
the data, so that metrics can be checked against the truth.

    >>> from salesperf import synth
    >>> co = synth.company(events=20_000, seed=7)
    >>> len(co) >= 20_000
    True
    >>> co.vocabulary["sign"], co.vocabulary["meeting"]
    ('buyer', 'seller')
    >>> list(co.events.columns[:5])
    ['deal', 'time', 'action', 'actor', 'rep']
    >>> co.behaviours.loc["dm_meeting_before_proposal", "effect"]
    np.float64(1.8)

The same arguments give the same data on every machine, whatever ``threads`` is.
"""

from __future__ import annotations

import html
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salesperf import _core

if TYPE_CHECKING:
    from salesperf.event_log import EventLog

__all__ = ["SyntheticCompany", "company", "survey"]

_ID_COLUMNS = ("deal", "action", "rep", "account", "contact", "contact_role",
               "segment", "territory", "product", "lead_source", "team")
_EVENT_ORDER = ("deal", "time", "action", "actor", "rep", "account", "contact",
                "contact_role", "amount", "segment", "territory", "product",
                "lead_source", "team")
_ACTORS = ("buyer", "seller", "system")
_DIMENSIONS = ("segment", "territory", "product", "lead_source", "team")


def _to_ns(start: Any) -> int:
    """UTC nanoseconds of ``start``: an int (ns), or anything pd.Timestamp reads."""
    if isinstance(start, (int, np.integer)):
        return int(start)
    ts = pd.Timestamp(start)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.as_unit("ns").value)


class SyntheticCompany:
    """A generated company: its event log and the truths planted in it.

    Build one with :func:`company`. Tables are built on first access and cached.

    Attributes:
        events: one row per event, sorted by (deal, time); ids are pandas
            Categoricals, ``time`` is tz-aware UTC.
        vocabulary: action -> actor ("buyer", "seller" or "system").
        reps: per rep, the planted skill, will, leak and behaviour propensities.
        behaviours: per planted behaviour, its effect (odds multiplier) and who
            practises it.
        deals: per deal, the simulated outcome (won, lost, dark, open at the end).
        raw: the dict returned by ``salesperf._core.generate_company`` (zero-copy
            numpy views of the C++ columns).

    Example:
        >>> co = company(events=5_000, seed=1)
        >>> leaky = co.reps[co.reps.leak_stage.notna()]
        >>> len(leaky) >= 1 and bool((leaky.leak_factor < 1).all())
        True
    """

    def __init__(self, raw: dict[str, Any], options: dict[str, Any]) -> None:
        self.raw = raw
        self.options = dict(options)

    def __len__(self) -> int:
        return int(self.raw["columns"]["time"].shape[0])

    @property
    def num_deals(self) -> int:
        return int(self.raw["deal_outcome"].shape[0])

    @property
    def period(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """(start, end) of the simulated period, UTC; events at or after end are cut."""
        start, end = self.raw["period"]
        return pd.Timestamp(start, unit="ns", tz="UTC"), pd.Timestamp(end, unit="ns", tz="UTC")

    @cached_property
    def vocabulary(self) -> dict[str, str]:
        """Action name -> actor name, in the order of the action codes."""
        return dict(self.raw["vocabulary"])

    @cached_property
    def events(self) -> pd.DataFrame:
        """The event log as a DataFrame (one row per event, sorted by deal then time).

        >>> company(events=1_000).events.dtypes["time"]
        datetime64[ns, UTC]
        """
        cols = self.raw["columns"]
        labels = self.raw["labels"]
        data: dict[str, Any] = {}
        for name in _ID_COLUMNS:
            data[name] = pd.Categorical.from_codes(cols[name], categories=labels[name])
        actor_of_action = np.array(
            [_ACTORS.index(self.vocabulary[a]) for a in labels["action"]], dtype=np.int8)
        data["actor"] = pd.Categorical.from_codes(actor_of_action[cols["action"]],
                                                  categories=pd.Index(_ACTORS))
        data["time"] = pd.to_datetime(np.asarray(cols["time"]).view("M8[ns]"), utc=True)
        data["amount"] = np.asarray(cols["amount"])
        return pd.DataFrame({name: data[name] for name in _EVENT_ORDER})

    @cached_property
    def reps(self) -> pd.DataFrame:
        """Planted per-rep truths, indexed by rep label.

        Columns: team, territory, skill (odds multiplier on every stage progression),
        will (seller activities per week per open deal), leak_stage (the stage whose
        exit leaks, or None), leak_factor (probability multiplier there; 1 = none),
        and per behaviour ``<name>_propensity`` and ``practises_<name>``.
        """
        t = self.raw["rep_truth"]
        teams = self.raw["labels"]["team"]
        territories = self.raw["labels"]["territory"]
        df = pd.DataFrame({
            "team": [teams[i] for i in t["team"]],
            "territory": [territories[i] for i in t["territory"]],
            "skill": t["skill"],
            "will": t["will"],
            "leak_stage": list(t["leak_stage_name"]),
            "leak_factor": t["leak_factor"],
        }, index=pd.Index(t["rep"], name="rep"))
        for b in self.raw["behaviour_truth"]:
            df[f"{b['name']}_propensity"] = b["propensity"]
            df[f"practises_{b['name']}"] = b["practised"]
        return df

    @cached_property
    def behaviours(self) -> pd.DataFrame:
        """Planted positive-deviant behaviours, indexed by name.

        Columns: description, transition (the stage whose exit they raise; None for
        every stage from Engaged on), effect (odds multiplier), practised_by (reps).
        """
        reps = self.raw["rep_truth"]["rep"]
        rows = []
        for b in self.raw["behaviour_truth"]:
            rows.append({
                "name": b["name"],
                "description": b["description"],
                "transition": b["transition_name"],
                "effect": b["effect"],
                "practised_by": [r for r, p in zip(reps, b["practised"]) if p],
            })
        return pd.DataFrame(rows).set_index("name")

    @cached_property
    def deals(self) -> pd.DataFrame:
        """Per deal (indexed by deal label): the simulated outcome, whatever the log shows.

        ``open`` deals were still undecided at the period end (right-censored);
        ``dark`` ones had a buyer who stopped answering.
        """
        return pd.DataFrame(
            {"outcome": pd.Categorical.from_codes(
                self.raw["deal_outcome"].astype(np.int8),
                categories=self.raw["outcome_labels"])},
            index=pd.Index(self.raw["labels"]["deal"], name="deal"))

    def event_log(self, **options: Any) -> EventLog:
        """Ingests the events into a :class:`salesperf.EventLog` (every row is accepted).

        ``options`` go to :meth:`salesperf.EventLog.from_pandas` (e.g. ``strict=True``).

        >>> log = company(events=2_000, seed=5).event_log()
        >>> log.report.rows_rejected
        0
        """
        from salesperf.event_log import EventLog  # here: event_log need not load first

        return EventLog.from_pandas(self.events, dimensions=list(_DIMENSIONS),
                                    vocabulary=self.vocabulary, **options)

    def stage_model(self, *, stall_after: Any = None, close_stalled_after: Any = None) -> Any:
        """The buyer-defined ladder the generator simulates, as a StageModel:
        Lead (opportunity_created) → Engaged (reply) → Qualified (state_need) →
        Budget (share_budget) → Proposal (request_proposal) → Commit (verbal_commit);
        Won on ``sign``, Lost on ``decline``.

        Buyers who go dark never decline in this company; ``stall_after`` (e.g.
        ``"45d"``) marks open deals with no buyer action for that long as stalled, and
        ``close_stalled_after`` (e.g. ``"30d"``) closes them as lost that much later.

        >>> co = company(events=3_000, seed=2)
        >>> co.stage_model().run(co.event_log()).stage_counts().index.tolist()[:3]
        ['Lead', 'Engaged', 'Qualified']
        """
        from salesperf.stages import StageModel  # here: stages need not load first

        ladder = [("Lead", "opportunity_created"), ("Engaged", "reply"), ("Qualified", "state_need"),
                  ("Budget", "share_budget"), ("Proposal", "request_proposal"),
                  ("Commit", "verbal_commit")]
        stall = {} if stall_after is None else {"stall": stall_after}
        return StageModel(stages=[{"name": n, "rules": [{"any": [a]}], **stall} for n, a in ladder],
                          won=[{"any": ["sign"]}], lost=[{"any": ["decline"]}],
                          close_stalled_after=close_stalled_after)

    def _summary_lines(self) -> list[str]:
        start, end = self.period
        o = self.options
        lines = [
            f"SyntheticCompany(events={len(self):,}, deals={self.num_deals:,}, "
            f"reps={o['reps']}, teams={o['teams']}, territories={o['territories']}, "
            f"period={start:%Y-%m-%d}..{end:%Y-%m-%d}, seed={o['seed']})"]
        t = self.raw["rep_truth"]
        stages = self.raw["stages"]
        leaks = [f"{r} {stages[s]}->{stages[s + 1]} x{f:g}"
                 for r, s, f in zip(t["rep"], t["leak_stage"], t["leak_factor"]) if s >= 0]
        lines.append("  leaks: " + (", ".join(leaks) if leaks else "none"))
        for b in self.raw["behaviour_truth"]:
            lines.append(f"  behaviour {b['name']}: odds x{b['effect']:g}, practised by "
                         f"{int(np.sum(b['practised']))} of {len(t['rep'])} reps")
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._summary_lines())

    def _repr_html_(self) -> str:
        lines = self._summary_lines()
        items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in lines[1:])
        return (f"<div><p><b>{html.escape(lines[0])}</b></p><ul>{items}</ul>"
                f"<details><summary>reps (planted truths)</summary>"
                f"{self.reps.to_html(float_format=lambda x: f'{x:.3g}')}</details></div>")


def company(events: int = 100_000, seed: int = 7, *, reps: int = 24, teams: int = 4,
            territories: int = 4, start: Any = "2024-01-01", days: int = 730,
            threads: int = 0) -> SyntheticCompany:
    """Generates a synthetic company with about ``events`` events.

    Args:
        events: target number of events; the log has at least this many, and stops at
            the first deal that reaches it.
        seed: the random seed; the same arguments always give the same data.
        reps, teams, territories: the organisation (teams and territories <= reps).
        start: the period start (UTC; a string, Timestamp, or int nanoseconds).
        days: the period length; events after its end are not emitted.
        threads: worker threads (0 = every core); never changes the output.

    Raises:
        salesperf.InvalidArgumentError (a ValueError) naming a bad option.

    Example:
        >>> co = company(events=10_000, seed=3)
        >>> co.events.groupby("actor", observed=True).size().index.tolist()
        ['buyer', 'seller', 'system']
    """
    options = dict(seed=int(seed), events=int(events), reps=int(reps), teams=int(teams),
                   territories=int(territories), start_time_ns=_to_ns(start),
                   days=int(days), threads=int(threads))
    raw = _core.generate_company(**options)
    return SyntheticCompany(raw, options)


def survey(seed: int = 1, *, managers: int = 4, reps: int = 24, optimism: float = 0.8,
           dont_know: float = 0.05, instrument: Any = None) -> pd.DataFrame:
    """Synthetic answers to the practice questionnaire, for demos and tests: long form
    (respondent, role, statement, value), ready for :func:`salesperf.score_answers`.

    Each practice has a true level on the scale, drawn once; a respondent answers each
    statement with that level (mirrored for reversed statements) plus their own bias
    and noise, managers ``optimism`` points rosier than reps, rounded to the scale; a
    share ``dont_know`` of answers is NaN ("don't know").

    >>> a = survey(seed=2, managers=2, reps=3)
    >>> sorted(a.role.unique().tolist()), int(a.respondent.nunique())
    (['manager', 'rep'], 5)
    """
    from .practices import Instrument

    inst = instrument or Instrument.default()
    lo, hi = inst.scale
    rng = np.random.default_rng(seed)
    statements = inst.statements
    level = {p: rng.uniform(lo + 0.5, hi - 0.5) for p in inst.practices.index}
    rows = []
    people = [(f"manager-{i + 1}", "manager") for i in range(managers)] + \
        [(f"rep-{i + 1:02d}", "rep") for i in range(reps)]
    for who, role in people:
        bias = rng.normal(0, 0.4) + (optimism if role == "manager" else 0.0)
        for sid, s in statements.iterrows():
            truth = level[s.practice] + bias
            if s.reverse:
                truth = lo + hi - truth
            value = float(np.clip(np.rint(truth + rng.normal(0, 0.7)), lo, hi))
            rows.append({"respondent": who, "role": role, "statement": sid,
                         "value": np.nan if rng.random() < dont_know else value})
    return pd.DataFrame(rows, columns=["respondent", "role", "statement", "value"])
