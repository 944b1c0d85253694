"""Positive deviance and the skill/will diagnosis: the units (reps) who win more than
their deal mix predicts, and, for each unit, whether it knows how (conversion against
its deal mix), wants to (activity volume against its peers) and understands the
metrics (adoption of the practices that move buyers).

Definitions: ``docs/deviance.md`` and the header ``salesperf/deviance.h`` (parts 1
and 3).

>>> import salesperf
>>> from salesperf.deviance import deviants, diagnose
>>> c = salesperf.synth.company(events=100_000, seed=7)
>>> log = c.event_log()
>>> tl = c.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
>>> dev = deviants(log, tl, covariates=["segment", "lead_source"])
>>> t = dev.table()
>>> bool((t["rank"].diff().dropna() > 0).all())
True
>>> diag = diagnose(log, tl, dev)
>>> set(diag.table()["know_how"].astype(str)) <= {"no", "unclear", "yes"}
True
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._state import MergeableState
from .errors import InvalidArgumentError
from .event_log import EventLog
from .indicators import _units
from .stages import Timelines, check_log_and_timelines

_DEVIANT_COLUMNS = ["unit", "decided", "won", "expected", "ratio", "ratio_shrunk", "ratio_lower", "ratio_upper",
                    "probability_above", "probability_below", "won_value", "expected_value", "excess_value",
                    "deviant", "rank"]
_DIAGNOSIS_COLUMNS = ["unit", "active_weeks", "activities", "volume", "volume_ratio", "volume_lower",
                      "volume_upper", "conversion", "conversion_lower", "conversion_upper", "adoption_ratio",
                      "adoption_lower", "adoption_upper", "know_how", "want_to", "understands_metrics",
                      "know_how_evidence", "want_to_evidence", "understands_metrics_evidence", "non_productive",
                      "quadrant"]
_ANSWERS = ["no", "unclear", "yes"]
_QUADRANTS = ["productive", "efficient, low activity", "busy, low conversion", "low activity, low conversion",
              "unknown"]


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidArgumentError(f"{name} must be a number, not {value!r}")
    return float(value)


def _covariate_names(log: EventLog, covariates: str | Sequence[str] | None) -> list[str]:
    """The covariates asked for: every dimension of the log when None, one name, or a list."""
    if covariates is None:
        return list(log.dimension_names)
    if isinstance(covariates, str):
        return [covariates]
    return [str(c) for c in covariates]


def deviants(log: EventLog, timelines: Timelines, *, by: Any = "rep", owner: str = "most_active",
             covariates: Sequence[str] | None = None, ridge: float = 1.0, interval: float = 0.95,
             flag_probability: float = 0.95, min_effect: float = 0.10) -> DeviantAssessment:
    """Each unit's wins against those its deal mix predicts, shrunk by empirical Bayes.

    A ridge-penalised logistic model of P(won) on the deals' covariates (fitted over
    every decided deal, with no unit term) gives each decided deal its expected win
    probability; a unit's expected wins E are their sum and its ratio is won / E. The
    ratios are shrunk toward 1 by a gamma-Poisson prior whose concentration is fitted
    by maximum marginal likelihood, so a unit with few deals needs strong evidence to
    stand out.

    Parameters
    ----------
    by, owner:
        The units, as in :func:`salesperf.indicators` (default: the deal's rep).
    covariates:
        Dimension columns of the log describing the deal mix (a deal's level is the
        first non-null value among its events); ``None``: every dimension column.
    ridge:
        The L2 penalty on the covariate coefficients (the intercept is not penalised);
        ``0`` is plain maximum likelihood.
    interval:
        The posterior interval of the shrunk ratio.
    flag_probability, min_effect:
        A unit is a positive deviant (+1) when P(ratio > 1) >= ``flag_probability`` and
        the shrunk ratio >= 1 + ``min_effect``; -1 for the mirror image.

    Returns
    -------
    DeviantAssessment

    Examples
    --------
    >>> import salesperf
    >>> from salesperf.deviance import deviants
    >>> c = salesperf.synth.company(events=100_000, seed=3)
    >>> log = c.event_log()
    >>> dev = deviants(log, c.stage_model().run(log), covariates=["segment"])
    >>> list(dev.coefficients().index[:1])
    ['(intercept)']
    """
    check_log_and_timelines(log, timelines)
    names = _covariate_names(log, covariates)
    units = _units(log, by, owner)
    core = _core.assess_deviants(log._core, timelines._core, units, names, ridge=_number(ridge, "ridge"),
                                 interval=_number(interval, "interval"),
                                 flag_probability=_number(flag_probability, "flag_probability"),
                                 min_effect=_number(min_effect, "min_effect"))
    return DeviantAssessment(core, units, log, timelines, names)


class DeviantAssessment:
    """The positive deviants: :meth:`table` (one row per unit), :meth:`coefficients`,
    :meth:`deal_probability`, :meth:`positive_units` and :meth:`negative_units`."""

    def __init__(self, core: Any, units: Any, log: EventLog | None, timelines: Timelines | None,
                 covariates: list[str]) -> None:
        self._result = core
        self._units = units
        self._log = log
        self._timelines = timelines
        self.covariates = covariates

    @property
    def concentration(self) -> float:
        """α of the gamma prior (0: none fitted, the Jeffreys posterior is used)."""
        return float(self._result.concentration)

    @property
    def decided_deals(self) -> int:
        return int(self._result.decided_deals)

    @property
    def reference_levels(self) -> dict[str, str]:
        """Per covariate, its reference level (the most frequent)."""
        return dict(zip(self.covariates, self._result.reference_levels))

    def table(self) -> pd.DataFrame:
        """One row per unit, sorted by rank (1 = highest shrunk ratio; ties: by unit
        name); ``unit`` is categorical with the unit names sorted as categories."""
        r = self._result
        names = list(r.unit_names)
        data: dict[str, Any] = {"unit": pd.Categorical(names, categories=pd.Index(sorted(names)))}
        for col in _DEVIANT_COLUMNS[1:]:
            data[col] = np.array(getattr(r, col))
        data["decided"] = data["decided"].astype(np.int64)
        data["won"] = data["won"].astype(np.int64)
        data["deviant"] = data["deviant"].astype(np.int64)
        data["rank"] = data["rank"].astype(np.int64)
        t = pd.DataFrame(data)[_DEVIANT_COLUMNS]
        return t.sort_values("rank", kind="stable").reset_index(drop=True)

    def coefficients(self) -> pd.Series:
        """β of the expectation model, by coefficient name ("(intercept)",
        "segment=Enterprise", ...), on the logit scale."""
        return pd.Series(np.array(self._result.coefficients), index=pd.Index(list(self._result.coefficient_names),
                                                                                name="coefficient"),
                         name="coefficient")

    def deal_probability(self) -> pd.Series:
        """Per deal of the log, the fitted win probability (NaN for deals not decided).
        Not available from merged :class:`DeviantCounts` (no per-deal figures)."""
        if self._log is None:
            raise InvalidArgumentError("deal_probability: this assessment comes from merged DeviantCounts, "
                                       "which keep no per-deal figures; use deviants() on the whole log")
        return pd.Series(np.array(self._result.deal_probability),
                         index=pd.Index(list(self._log.dictionary("deal")), name="deal"), name="probability")

    def positive_units(self) -> list[str]:
        """The units flagged +1: positive deviants, beating the odds of their deal mix."""
        dev = np.asarray(self._result.deviant)
        return [n for n, d in zip(self._result.unit_names, dev) if d == 1]

    def negative_units(self) -> list[str]:
        """The units flagged -1: credibly below what their deal mix predicts."""
        dev = np.asarray(self._result.deviant)
        return [n for n, d in zip(self._result.unit_names, dev) if d == -1]

    def __repr__(self) -> str:
        pos, neg = self.positive_units(), self.negative_units()
        return (f"DeviantAssessment({len(self._result.unit_names)} units, {self.decided_deals:,} decided deals, "
                f"covariates {self.covariates}, α = {self.concentration:.3g}; "
                f"{len(pos)} positive deviants {pos[:5]}{'...' if len(pos) > 5 else ''}, "
                f"{len(neg)} below the odds)")

    def _repr_html_(self) -> str:
        t = self.table()[["unit", "decided", "won", "expected", "ratio_shrunk", "ratio_lower", "ratio_upper",
                          "probability_above", "excess_value", "deviant", "rank"]]
        return f"<div><b>{html.escape(repr(self))}</b>{t.head(24).to_html(index=False, float_format='{:,.3f}'.format)}</div>"


def diagnose(log: EventLog, timelines: Timelines, deviants: DeviantAssessment, behaviours: Any = None, *,
             min_weeks: float = 4, min_gap: float = 0.2, interval: float = 0.95,
             flag_probability: float = 0.95) -> RepDiagnosis:
    """Skill, will and the metrics, per unit of ``deviants``.

    For a non-productive rep ask, in order: does the rep know how (conversion against
    the deal mix, from ``deviants``), want to (seller activities per active deal-week
    against the median peer, with the exact Poisson interval) and understand the
    metrics (adoption of the practices to replicate found by
    :func:`salesperf.behaviours`, when given)?

    Parameters
    ----------
    deviants:
        From :func:`deviants` on the same ``log`` and ``timelines`` (its units are used).
    behaviours:
        From :func:`salesperf.behaviours` on the same data, or ``None`` (no adoption).
    min_weeks:
        Active weeks a unit needs to count toward the peer volume.
    min_gap:
        How far short (relative) a unit must be, beyond chance, for a "no".
    interval, flag_probability:
        The intervals, and the probability for the know-how "no".

    Examples
    --------
    >>> import salesperf
    >>> from salesperf.deviance import deviants, diagnose
    >>> c = salesperf.synth.company(events=100_000, seed=3)
    >>> log = c.event_log()
    >>> tl = c.stage_model().run(log)
    >>> d = diagnose(log, tl, deviants(log, tl))
    >>> list(d.table().columns[:3])
    ['unit', 'active_weeks', 'activities']
    """
    check_log_and_timelines(log, timelines)
    if not isinstance(deviants, DeviantAssessment):
        raise InvalidArgumentError(f"deviants must come from salesperf.deviants(), not {type(deviants).__name__}")
    if deviants._log is None:
        raise InvalidArgumentError("deviants come from merged DeviantCounts: diagnose needs deviants() on the log")
    if deviants._log is not log or deviants._timelines is not timelines:
        raise InvalidArgumentError("deviants were assessed on another log or timelines: pass the same ones")
    core_beh = None
    if behaviours is not None:
        core_beh = getattr(behaviours, "_result", None)
        if core_beh is None:
            raise InvalidArgumentError(
                f"behaviours must come from salesperf.behaviours(), not {type(behaviours).__name__}")
    core = _core.diagnose_reps(log._core, timelines._core, deviants._units, deviants._result, core_beh,
                               min_weeks=_number(min_weeks, "min_weeks"), min_gap=_number(min_gap, "min_gap"),
                               interval=_number(interval, "interval"),
                               flag_probability=_number(flag_probability, "flag_probability"))
    return RepDiagnosis(core, behaviours is not None)


class RepDiagnosis:
    """The skill/will diagnosis: :meth:`table` (one row per unit), :meth:`non_productive`
    and :attr:`methods_question`."""

    def __init__(self, core: Any, with_behaviours: bool) -> None:
        self._result = core
        self.with_behaviours = with_behaviours

    @property
    def methods_question(self) -> bool:
        """True when at least a third of the diagnosed units are non-productive: the
        organisation's methods, tools and reports deserve a look before the reps do."""
        return bool(self._result.methods_question)

    @property
    def peer_volume(self) -> float:
        """The median peer's seller activities per active deal-week."""
        return float(self._result.peer_volume)

    def table(self) -> pd.DataFrame:
        """One row per unit: activity volume against the peers, conversion against the
        deal mix, adoption of the practices to replicate, the three answers with their
        evidence, non_productive and the quadrant."""
        r = self._result
        names = list(r.unit_names)
        data: dict[str, Any] = {"unit": pd.Categorical(names, categories=pd.Index(names))}
        for col in ("active_weeks", "volume", "volume_ratio", "volume_lower", "volume_upper", "conversion",
                    "conversion_lower", "conversion_upper", "adoption_ratio", "adoption_lower", "adoption_upper"):
            data[col] = np.array(getattr(r, col), dtype=float)
        data["activities"] = np.array(r.activities, dtype=np.int64)
        for col in ("know_how", "want_to", "understands_metrics"):
            data[col] = pd.Categorical(list(getattr(r, col)), categories=pd.Index(_ANSWERS))
        for col in ("know_how_evidence", "want_to_evidence", "understands_metrics_evidence"):
            data[col] = list(getattr(r, col))
        data["non_productive"] = np.array(r.non_productive).astype(bool)
        data["quadrant"] = pd.Categorical(list(r.quadrant), categories=pd.Index(_QUADRANTS))
        return pd.DataFrame(data)[_DIAGNOSIS_COLUMNS]

    def chart(self, *, ax: Any = None, label: str = "flagged") -> Any:
        """The rep quadrant (:func:`salesperf.plots.rep_quadrant`): activity volume
        against conversion, each relative to peers. Returns the Axes."""
        from .plots import rep_quadrant

        return rep_quadrant(self.table(), ax=ax, label=label)

    def non_productive(self) -> pd.DataFrame:
        """The rows of the non-productive units: they do not know how, or they do not
        want to and do not convert as their deal mix predicts."""
        t = self.table()
        return t[t["non_productive"]].reset_index(drop=True)

    def __repr__(self) -> str:
        t = self.table()
        n = int(t["non_productive"].sum())
        return (f"RepDiagnosis({len(t)} units, {n} non-productive "
                f"({int((t['know_how'] == 'no').sum())} know-how, {int((t['want_to'] == 'no').sum())} will); "
                f"peer volume {self.peer_volume:.2f} activities per deal-week; "
                f"methods question: {'yes' if self.methods_question else 'no'})")

    def _repr_html_(self) -> str:
        t = self.table()[["unit", "volume_ratio", "conversion", "adoption_ratio", "know_how", "want_to",
                          "understands_metrics", "non_productive", "quadrant"]]
        return f"<div><b>{html.escape(repr(self))}</b>{t.head(24).to_html(index=False, float_format='{:,.2f}'.format)}</div>"


def deviant_counts(log: EventLog, timelines: Timelines, *, by: Any = "rep", owner: str = "most_active",
                   covariates: Sequence[str] | None = None) -> DeviantCounts:
    """The counts :func:`deviants` fits on, as a mergeable state (see
    :class:`DeviantCounts`): count each part of a log split by deal, merge, assess.

    >>> import salesperf
    >>> from salesperf.deviance import deviant_counts, deviants
    >>> c = salesperf.synth.company(events=100_000, seed=3)
    >>> log = c.event_log()
    >>> tl = c.stage_model().run(log)
    >>> counts = deviant_counts(log, tl, covariates=["segment"])
    >>> merged = DeviantCounts.deserialize(counts.serialize())
    >>> merged.assess().table().equals(deviants(log, tl, covariates=["segment"]).table())
    True
    """
    return DeviantCounts.count(log, timelines, by=by, owner=owner, covariates=covariates)


class DeviantCounts(MergeableState):
    """Per unit and covariate pattern of the decided deals: the deals, wins and exact
    dollar sums that :func:`deviants` fits on. Counted per part of a log split by deal
    (:meth:`count`), merged in any order (:meth:`merge` or ``a + b``), carried as bytes
    (:meth:`serialize` / :meth:`deserialize`, pickle), and assessed (:meth:`assess`)
    to the very figures :func:`deviants` gives on the whole log (without
    ``deal_probability``: merged counts keep no per-deal figures). Units and levels are
    kept by name, sorted.

    >>> import salesperf
    >>> from salesperf.deviance import DeviantCounts
    >>> c = salesperf.synth.company(events=100_000, seed=5)
    >>> log = c.event_log()
    >>> tl = c.stage_model().run(log)
    >>> counts = DeviantCounts.count(log, tl, covariates=["segment", "lead_source"])
    >>> counts.covariates
    ['segment', 'lead_source']
    >>> counts.assess(ridge=1.0).decided_deals == counts.decided_deals
    True
    """

    _core_type = _core.DeviantCounts

    @classmethod
    def count(cls, log: EventLog, timelines: Timelines, *, by: Any = "rep", owner: str = "most_active",
              covariates: Sequence[str] | None = None) -> DeviantCounts:
        """The counts of ``log`` (``by``, ``owner`` and ``covariates`` as in :func:`deviants`)."""
        check_log_and_timelines(log, timelines)
        names = _covariate_names(log, covariates)
        units = _units(log, by, owner)
        return cls(_core.count_deviants(log._core, timelines._core, units, names))

    def serialize(self) -> bytes:
        """The same as :meth:`to_bytes`: salesperf's versioned, checksummed bytes."""
        return self.to_bytes()

    @classmethod
    def deserialize(cls, data: bytes) -> DeviantCounts:
        """The same as :meth:`from_bytes`."""
        return cls.from_bytes(data)

    @property
    def covariates(self) -> list[str]:
        return list(self._core.covariates)

    @property
    def decided_deals(self) -> int:
        return int(self._core.decided_deals)

    @property
    def levels(self) -> dict[str, list[str]]:
        """Per covariate, its levels among the decided deals, sorted (without "(none)")."""
        return {c: list(v) for c, v in zip(self.covariates, self._core.levels)}

    def assess(self, *, ridge: float = 1.0, interval: float = 0.95, flag_probability: float = 0.95,
               min_effect: float = 0.10) -> DeviantAssessment:
        """The :class:`DeviantAssessment` of these counts (options as in :func:`deviants`;
        its units sorted by name, no ``deal_probability``)."""
        core = self._core.finalize(ridge=_number(ridge, "ridge"), interval=_number(interval, "interval"),
                                   flag_probability=_number(flag_probability, "flag_probability"),
                                   min_effect=_number(min_effect, "min_effect"))
        return DeviantAssessment(core, None, None, None, self.covariates)

    def __repr__(self) -> str:
        return (f"DeviantCounts(by {self.unit_kind}: {len(self.units):,} units, {self.decided_deals:,} decided deals, "
                f"covariates {self.covariates}, {int(self._core.num_cells):,} cells)")

    def _repr_html_(self) -> str:
        levels = "".join(f"<li>{html.escape(c)}: {html.escape(', '.join(v[:12]))}{' ...' if len(v) > 12 else ''}</li>"
                         for c, v in self.levels.items())
        return f"<div><b>{html.escape(repr(self))}</b><ul>{levels}</ul></div>"


__all__ = ["DeviantAssessment", "DeviantCounts", "RepDiagnosis", "deviant_counts", "deviants", "diagnose"]
