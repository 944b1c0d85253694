"""Sales stages defined by buyer behaviour: the StageModel and the Timelines it gives.

A stage is a fact about the buyer ("the buyer stated a need"), never a field a rep
moved. A model lists the open stages in funnel order with the rules on which each is
entered, the Won and Lost rules, and the policies; :meth:`StageModel.run` evaluates
it over an :class:`~salesperf.EventLog`. The exact semantics are in
``docs/semantics.md`` (and the header ``salesperf/stage_model.h``).

>>> import pandas as pd, salesperf
>>> events = pd.DataFrame({
...     "deal": ["d1", "d1", "d1", "d2"],
...     "time": pd.to_datetime(["2026-01-01", "2026-01-03", "2026-01-09", "2026-01-02"], utc=True),
...     "action": ["reply", "state_need", "sign", "reply"],
... })
>>> log = salesperf.EventLog.from_pandas(
...     events, vocabulary={"reply": "buyer", "state_need": "buyer", "sign": "buyer"})
>>> model = salesperf.StageModel(
...     stages=[{"name": "Engaged", "rules": [{"any": ["reply"]}]},
...             {"name": "Qualified", "rules": [{"any": ["state_need"]}]}],
...     won=[{"any": ["sign"]}])
>>> timelines = model.run(log)
>>> timelines.deals["outcome"].tolist()
['won', 'open']
>>> timelines.transitions["kind"].tolist()
['progressed', 'progressed', 'won', 'progressed']
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from .errors import InvalidArgumentError
from .event_log import EventLog

_NAT = np.iinfo(np.int64).min
_POLICIES = {"ordering": ("strict", "skip"), "regression": ("latch", "follow", "record"),
             "reopen": ("never", "allow")}


def _duration_text(value: Any, where: str) -> Any:
    """Durations may be given as text ("30d") or as timedeltas (whole seconds)."""
    if isinstance(value, (dt.timedelta, pd.Timedelta, np.timedelta64)):
        ns = int(pd.Timedelta(value).value)
        if ns <= 0 or ns % 1_000_000_000:
            raise InvalidArgumentError(f"{where}: durations must be positive whole seconds, got {value!r}")
        return f"{ns // 1_000_000_000}s"
    return value


def _non_finite(value: Any, path: str) -> str | None:
    """The path of the first NaN or infinite number in a model dict ("stages[0].rules[1].min_amount")."""
    if isinstance(value, float) and not np.isfinite(value):
        return path
    if isinstance(value, Mapping):
        items: Any = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, v in items:
        found = _non_finite(v, where)
        if found is not None:
            return found
    return None


def _normalise(d: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-ready copy of a model dict, with timedeltas written as duration text."""
    where = _non_finite(d, "")
    if where is not None:  # JSON has no NaN: say where it is rather than fail to parse
        raise InvalidArgumentError(f"{where}: a number must be finite, not NaN or infinity")
    out = json.loads(json.dumps(d, default=lambda v: _duration_text(v, "model")))
    return out  # type: ignore[no-any-return]


def _read_text(source: str | os.PathLike[str]) -> str:
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source
                                            and source.strip()[:1] not in ("{", "[", "")
                                            and Path(source).is_file()):
        return Path(source).read_text(encoding="utf-8")
    return str(source)


class StageModel:
    """Stages entered on buyer actions, with Won/Lost rules and named policies.

    Build one from keyword arguments or a dict (:meth:`from_dict`), or read a JSON or
    TOML file (:meth:`from_json`, :meth:`from_toml`); the three give the same model
    and a model round-trips through both file forms.

    Parameters
    ----------
    stages:
        Open stages in funnel order: ``{"name": ..., "rules": [RULE, ...]}`` with
        optional ``"optional"``, ``"window"`` (conversion window, e.g. ``"30d"``) and
        ``"stall"`` (``"21d"`` or ``{"percentile": 90}``).
    won, lost:
        Rules on which the deal is won or lost (a lost deal's reason is the action).
    regress:
        Rules that move a deal back: RULE plus ``"to": "StageName"``.
    exclude:
        Actions that take a deal out of the funnel.
    ordering:
        ``"strict"`` (a stage needs its predecessor, optional stages aside) or ``"skip"``.
    regression:
        ``"latch"`` (stay at the highest stage), ``"follow"`` (move back silently) or
        ``"record"`` (move back with a ``regressed`` transition).
    reopen:
        ``"never"`` or ``"allow"`` (a won or lost deal re-enters a stage whose rule fires).
    close_stalled_after:
        Close stalled deals as lost this long after they stalled (e.g. ``"30d"``).

    Notes
    -----
    A RULE is one of ``{"any": [actions]}``, ``{"all": [[a], [b]], "within": "30d"}``,
    ``{"sequence": [[a], [b]], "within": "60d"}``, ``{"count": [a], "min": 3}``,
    ``{"distinct_contacts": [a], "min": 2, "within": "14d"}``, each optionally with
    ``"roles": [...]``, ``"min_amount"``, ``"max_amount"``.
    """

    def __init__(
        self,
        stages: Sequence[Mapping[str, Any]] = (),
        *,
        won: Sequence[Mapping[str, Any]] = (),
        lost: Sequence[Mapping[str, Any]] = (),
        regress: Sequence[Mapping[str, Any]] = (),
        exclude: Sequence[str] = (),
        ordering: str = "strict",
        regression: str = "latch",
        reopen: str = "never",
        close_stalled_after: Any = None,
    ) -> None:
        d: dict[str, Any] = {"version": 1, "stages": list(stages)}
        for key, value, default in (("ordering", ordering, "strict"),
                                    ("regression", regression, "latch"),
                                    ("reopen", reopen, "never")):
            if value not in _POLICIES[key]:
                raise InvalidArgumentError(f"{key} must be one of {list(_POLICIES[key])}, not {value!r}")
            if value != default:
                d[key] = value
        for key, rules in (("won", won), ("lost", lost), ("regress", regress)):
            if rules:
                d[key] = list(rules)
        if exclude:
            d["exclude"] = list(exclude)
        if close_stalled_after is not None:
            d["close_stalled_after"] = close_stalled_after
        self._core = _core.StageModel.from_json(json.dumps(_normalise(d)))
        self._core.validate()

    @classmethod
    def _wrap(cls, core: Any) -> StageModel:
        self = cls.__new__(cls)
        self._core = core
        self._core.validate()
        return self

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StageModel:
        """A model from its dict form (what :meth:`to_dict` returns).

        >>> StageModel.from_dict({"stages": [{"name": "Engaged", "rules": [{"any": ["reply"]}]}]})
        StageModel(1 stages: Engaged; ordering=strict, regression=latch, reopen=never)
        """
        body = dict(d)
        body.setdefault("version", 1)
        return cls._wrap(_core.StageModel.from_json(json.dumps(_normalise(body))))

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> StageModel:
        """A model from JSON text or a path to a JSON file."""
        return cls._wrap(_core.StageModel.from_json(_read_text(source)))

    @classmethod
    def from_toml(cls, source: str | os.PathLike[str]) -> StageModel:
        """A model from TOML text or a path to a TOML file."""
        return cls._wrap(_core.StageModel.from_toml(_read_text(source)))

    def to_dict(self) -> dict[str, Any]:
        """The dict form (defaults left out; durations as text)."""
        return json.loads(self.to_json())  # type: ignore[no-any-return]

    def to_json(self) -> str:
        """The JSON file form."""
        return str(self._core.to_json())

    def to_toml(self) -> str:
        """The TOML file form."""
        return str(self._core.to_toml())

    @property
    def stage_names(self) -> list[str]:
        """Open stages in funnel order."""
        return [s["name"] for s in self.to_dict()["stages"]]

    def compile(self, log: EventLog) -> StageMachine:
        """Resolve the model against ``log``; errors name the stage and the rule."""
        return StageMachine(_core.compile_stages(self._core, log._core))

    def run(self, log: EventLog, *, as_of: Any = None, threads: int = 0) -> Timelines:
        """Per-deal timelines of ``log`` under this model.

        ``as_of`` is when stalls are judged (default: the log's last event);
        ``threads`` = 0 uses every core, and never changes the result.
        """
        machine = self.compile(log)
        as_of_ns = _as_of_ns(as_of)
        core = _core.run_stages(machine._core, log._core, as_of_ns, int(threads))
        return Timelines(core, log, machine, self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StageModel):
            return NotImplemented
        return bool(self._core == other._core)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Pickles as its dict form, so a model travels to Dask or Spark workers."""
        return (StageModel.from_dict, (self.to_dict(),))

    def __repr__(self) -> str:
        d = self.to_dict()
        names = ", ".join(s["name"] for s in d["stages"])
        policies = ", ".join(f"{k}={d.get(k, v[0])}" for k, v in _POLICIES.items())
        return f"StageModel({len(d['stages'])} stages: {names}; {policies})"

    def _repr_html_(self) -> str:
        d = self.to_dict()
        rows = "".join(
            f"<tr><td>{i + 1}</td><td>{html.escape(s['name'])}</td>"
            f"<td><code>{html.escape(json.dumps(s['rules']))}</code></td></tr>"
            for i, s in enumerate(d["stages"]))
        terminal = "".join(
            f"<tr><td></td><td>{k.title()}</td><td><code>{html.escape(json.dumps(d[k]))}</code></td></tr>"
            for k in ("won", "lost") if k in d)
        return (f"<div><b>{html.escape(repr(self))}</b><table><tr><th>#</th><th>stage</th>"
                f"<th>entered on</th></tr>{rows}{terminal}</table></div>")


def check_log_and_timelines(log: Any, timelines: Any) -> None:
    """Raises InvalidArgumentError unless ``log`` is an EventLog and ``timelines`` the
    Timelines computed from it (what every analysis of both takes)."""
    if not isinstance(log, EventLog):
        raise InvalidArgumentError(f"log must be a salesperf.EventLog, not {type(log).__name__}")
    if not isinstance(timelines, Timelines):
        raise InvalidArgumentError(f"timelines must be salesperf.Timelines, not {type(timelines).__name__}")
    if timelines._log is not log:
        raise InvalidArgumentError("timelines were computed from another log: pass the log they came from")


def _as_of_ns(as_of: Any) -> int | None:
    if as_of is None:
        return None
    ts = pd.Timestamp(as_of)
    if ts.tzinfo is None:
        raise InvalidArgumentError("as_of must be tz-aware, e.g. pd.Timestamp('2026-01-01', tz='UTC')")
    return int(ts.tz_convert("UTC").as_unit("ns").value)


class StageMachine:
    """A model compiled against one log. ``warnings`` lists buyer actions of the log
    that no rule uses (often a sign that the model misses a buyer behaviour)."""

    def __init__(self, core: Any) -> None:
        self._core = core

    @property
    def stage_names(self) -> list[str]:
        """Open stages, then Won and Lost."""
        return list(self._core.stage_names)

    @property
    def warnings(self) -> list[str]:
        """One line per buyer action in the log that no rule, regress rule or exclusion uses."""
        return [f"buyer action {a!r} appears in the log but no rule uses it"
                for a in self._core.unused_buyer_actions]

    def __repr__(self) -> str:
        return f"StageMachine(stages={self.stage_names}, warnings={len(self.warnings)})"

    def _repr_html_(self) -> str:
        from .event_log import _html_table

        names = self.stage_names
        n_open = int(self._core.num_open)
        rows = [(i + 1, s, "open" if i < n_open else "terminal") for i, s in enumerate(names)]
        warnings = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (f"<div><b>{html.escape(repr(self))}</b>{_html_table(('#', 'stage', 'kind'), rows)}"
                + (f"<ul>{warnings}</ul>" if warnings else "") + "</div>")


def _times(ns: np.ndarray) -> pd.Series:
    """UTC timestamps of int64 nanoseconds (INT64_MIN, NaT's bit pattern, stays NaT)."""
    return pd.Series(pd.to_datetime(np.asarray(ns, dtype=np.int64), utc=True))


class Timelines:
    """Per-deal stage timelines and the stage transitions of one run.

    Attributes are pandas objects, built on first access:
    ``deals`` (per deal: current_stage, outcome, outcome_time, lost_reason, value,
    quiet_since), ``transitions`` (deal, from_stage, to_stage, time, kind, in_window,
    action), ``entered`` / ``left`` (deal x stage: first entered / last left),
    ``stall_limits`` (per open stage) and ``as_of``.
    """

    def __init__(self, core: Any, log: EventLog, machine: StageMachine, model: StageModel) -> None:
        self._core = core
        self._log = log
        self.machine = machine
        self.model = model
        self.warnings = machine.warnings

    def update(self, log: EventLog, *, as_of: Any = None, threads: int = 0) -> Timelines:
        """The timelines of ``log`` = this run's log grown by :meth:`EventLog.append`,
        recomputing only the deals the batch touched; exactly what ``model.run(log)``
        gives. Stalls are judged again for every deal at the new ``as_of``.

        Raises :class:`~salesperf.errors.FailedPreconditionError` for models with
        percentile stall limits (they depend on every deal: use ``model.run``).
        """
        if log.touched_deals is None:
            raise InvalidArgumentError("update() takes a log made by EventLog.append()")
        machine = self.model.compile(log)
        core = _core.update_stages(machine._core, log._core, self._core, log.touched_deals,
                                   _as_of_ns(as_of), int(threads))
        return Timelines(core, log, machine, self.model)

    @property
    def stage_names(self) -> list[str]:
        """Open stages, then Won and Lost."""
        return list(self._core.stage_names)

    @property
    def as_of(self) -> pd.Timestamp:
        """When stalls were judged."""
        return pd.Timestamp(int(self._core.as_of), tz="UTC")

    def _deal_index(self) -> pd.Index:
        index: pd.Index = pd.Index(list(self._log.dictionary("deal")), name="deal")
        return index

    def _stage_label(self, codes: np.ndarray) -> list[str | None]:
        names = self.stage_names
        return [None if c < 0 else names[c] for c in np.asarray(codes)]

    @property
    def deals(self) -> pd.DataFrame:
        """One row per deal (index: the deal id)."""
        actions = self._log.dictionary("action")
        reasons = [None if r == -1 else "stalled" if r == _core.REASON_STALLED else actions[r]
                   for r in np.asarray(self._core.lost_reason)]
        out = pd.DataFrame({
            "current_stage": self._stage_label(self._core.current_stage),
            "outcome": pd.Categorical.from_codes(np.asarray(self._core.outcome).astype(np.int64),
                                                 categories=pd.Index(list(_core.OUTCOMES))),
            "outcome_time": _times(self._core.outcome_time),
            "lost_reason": reasons,
            "value": np.asarray(self._core.value),
            "quiet_since": _times(self._core.quiet_since),
        })
        out.index = self._deal_index()
        return out

    @property
    def transitions(self) -> pd.DataFrame:
        """One row per stage change, by deal, then time."""
        tr = self._core.transitions
        deals = self._log.dictionary("deal")
        actions = self._log.dictionary("action")
        kinds = list(_core.TRANSITION_KINDS)
        return pd.DataFrame({
            "deal": [deals[d] for d in np.asarray(tr["deal"])],
            "from_stage": self._stage_label(tr["from"]),
            "to_stage": self._stage_label(tr["to"]),
            "time": _times(tr["time"]),
            "kind": pd.Categorical.from_codes(np.asarray(tr["kind"]).astype(np.int64),
                                              categories=pd.Index(kinds)),
            "in_window": np.asarray(tr["in_window"]).astype(bool),
            "action": [None if a < 0 else actions[a] for a in np.asarray(tr["action"])],
        })

    def _matrix(self, values: np.ndarray) -> pd.DataFrame:
        data = {name: pd.DatetimeIndex(pd.to_datetime(np.asarray(values[:, k], dtype=np.int64), utc=True))
                for k, name in enumerate(self.stage_names)}
        return pd.DataFrame(data, index=self._deal_index())

    @property
    def entered(self) -> pd.DataFrame:
        """deal x stage: when the deal first entered each stage (NaT: never)."""
        return self._matrix(np.asarray(self._core.first_entered))

    @property
    def left(self) -> pd.DataFrame:
        """deal x stage: when the deal last left each stage (NaT: never)."""
        return self._matrix(np.asarray(self._core.last_left))

    @property
    def stall_limits(self) -> pd.Series:
        """The stall limit used per open stage (NaT: none)."""
        values = [pd.NaT if v < 0 else pd.Timedelta(int(v), unit="ns") for v in self._core.stall_limit]
        return pd.Series(values, index=pd.Index(self.stage_names[: self._core.num_open], name="stage"),
                         dtype="timedelta64[ns]")

    def stage_counts(self) -> pd.DataFrame:
        """Deals that ever entered each stage, and deals currently in each outcome."""
        entered = (np.asarray(self._core.first_entered) != _NAT).sum(axis=0)
        return pd.DataFrame({"deals_entered": entered}, index=pd.Index(self.stage_names, name="stage"))

    def __repr__(self) -> str:
        outcomes = pd.Series(np.asarray(self._core.outcome)).map(dict(enumerate(_core.OUTCOMES)))
        counts = ", ".join(f"{k} {v:,}" for k, v in outcomes.value_counts().sort_index().items())
        return (f"Timelines({len(self._core.outcome):,} deals: {counts}; "
                f"{len(self._core.transitions['time']):,} transitions)")

    def _repr_html_(self) -> str:
        counts = self.stage_counts().to_html()
        return f"<div><b>{html.escape(repr(self))}</b>{counts}</div>"
