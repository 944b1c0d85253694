"""The seller behaviours that get buyers to move: per buyer-defined stage, whether the
deals where the seller did something before the stage (or followed up right after it
was entered) advanced more often than the deals where the seller did not, compared
within each rep (Mantel–Haenszel odds ratio, so a strong rep who also happens to do it
cannot make it look effective), with a Cochran–Mantel–Haenszel test and
Benjamini–Hochberg q-values across every (stage, behaviour) tested; the discoveries of
each stage screened "over and above" one another (a behaviour that only shows through
another one, such as reaching two contacts because the seller met the decision maker,
is listed under it rather than as a practice of its own); and, in words, the practices
to replicate.

The definitions are in the header ``salesperf/deviance.h`` (part 2) and
``docs/deviance.md``.

>>> import salesperf
>>> from salesperf.behaviours import behaviours
>>> c = salesperf.synth.company(events=100_000, seed=7)
>>> log = c.event_log()
>>> tl = c.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
>>> b = behaviours(log, tl)
>>> t = b.table()
>>> f = t[t["feature"] == "follow_up"]
>>> (f["present"] + f["absent"]).tolist() == b.trials()["trials"].tolist()
True
>>> "follow_up" in set(b.replicate()["feature"])
True
>>> bool(t.loc[t["replicate"] | t["avoid"], "independent"].any())
True
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._columns import duration_ns
from ._state import MergeableState
from .errors import InvalidArgumentError
from .event_log import EventLog
from .indicators import _units
from .stages import Timelines, check_log_and_timelines

_COUNTS = ("present", "absent", "advanced_present", "advanced_absent")
_FLOATS = ("rate_present", "rate_present_lower", "rate_present_upper", "rate_absent", "rate_absent_lower",
           "rate_absent_upper", "lift", "odds_ratio", "odds_ratio_lower", "odds_ratio_upper", "p_value", "q_value")
_FLAGS = ("tested", "replicate", "avoid")
_SHARES = ("deviant_share", "peer_share", "deviant_lift", "deviant_unit_share", "peer_unit_share",
           "share_difference", "share_difference_lower", "share_difference_upper", "share_p_value")
_ADJUSTED = ("adjusted_odds_ratio", "adjusted_lower", "adjusted_upper", "adjusted_p_value")
_PRACTICE_COLUMNS = ["stage", "feature", "behaviour", "advance_rate_with", "advance_rate_without", "odds_ratio",
                     "odds_ratio_lower", "odds_ratio_upper", "q_value", "deviant_share", "peer_share",
                     "share_difference", "share_p_value", "also_seen_as", "sentence"]
# salesperf/deviance.h's kMaxAdjustFor: a discovery is adjusted for at most this many
# accepted features (the first accepted of its stage).
_MAX_ADJUST_FOR = 8


def _deviant_flags(deviants: Any, unit_names: list[str]) -> list[int]:
    """Per unit, 1 for a deviant: from None, unit labels, or an object with positive_units()."""
    if deviants is None:
        return []
    if hasattr(deviants, "positive_units"):
        labels = list(deviants.positive_units())
    elif isinstance(deviants, (str, bytes)) or not isinstance(deviants, Iterable):
        raise InvalidArgumentError(
            "deviants must be None, a sequence of unit labels, or an assessment with positive_units(), "
            f"not {type(deviants).__name__}")
    else:
        labels = list(deviants)
    known = set(unit_names)
    chosen = {str(label) for label in labels}
    unknown = sorted(chosen - known)
    if unknown:
        raise InvalidArgumentError(
            f"deviants: {len(unknown)} labels are not units of this grouping, e.g. {unknown[0]!r}; "
            f"units are {unit_names[:5]}{'...' if len(unit_names) > 5 else ''}")
    return [1 if name in chosen else 0 for name in unit_names]


def behaviours(log: EventLog, timelines: Timelines, *, by: Any = "rep", owner: str = "most_active",
               deviants: Any = None, follow_up_window: Any = "24h", min_support: int = 30, fdr: float = 0.10,
               interval: float = 0.95) -> BehaviourAssessment:
    """The seller behaviours that distinguish deals that advance, per stage.

    A deal is studied at each open stage it entered (stages it skipped are not), and is
    a *trial* there when it later advanced (entered a higher stage, or was won) or
    failed there (lost or stalled); open and excluded deals are not trials. Features
    look only at what happened before the deal entered the stage, plus the first
    ``follow_up_window`` after: ``follow_up`` (a seller activity within the window, before
    the next transition), ``<action>@<role>`` (e.g. a meeting with the decision maker
    before the stage; needs a contact_role column), ``contacts>=m`` (seller activities
    reached m distinct contacts), ``roles>=m``, ``buyer_contacts>=2`` and
    ``cadence<=7d`` (seller touches no more than 7 days apart).

    Parameters
    ----------
    by, owner:
        The strata, as in :func:`salesperf.indicators` (``"rep"``: comparisons within
        each rep).
    deviants:
        None, the unit labels of the positive deviants, or an assessment with a
        ``positive_units()`` method: adds ``deviant_share`` and ``peer_share`` (how often
        the deviants' and the others' trials had the behaviour) to the table, and the
        comparison rep by rep (a rep's deals are not independent): ``deviant_units``,
        ``peer_units``, the mean per-rep shares ``deviant_unit_share`` and
        ``peer_unit_share``, their ``share_difference`` with Welch's interval
        (``share_difference_lower`` / ``_upper``) and ``share_p_value``.
    follow_up_window:
        A duration (``"24h"``): how soon after the stage's entry a seller activity counts
        as a follow-up.
    min_support:
        Rows need at least this many trials with and without the behaviour to be tested.
    fdr:
        The false discovery rate of the Benjamini–Hochberg q-values: a tested row with
        ``q_value <= fdr`` is a practice to ``replicate`` (odds ratio above 1) or to
        ``avoid`` (below 1). The discoveries of each stage are then screened in
        order of p-value: each is tested again within unit x the pattern of the
        discoveries already accepted, and is ``independent`` (accepted) when it stays
        significant at the Benjamini–Hochberg cut-off on the same side of 1;
        otherwise ``explained_by`` names the features it was adjusted for.
    interval:
        The coverage of the Wilson and odds-ratio intervals.

    Returns
    -------
    BehaviourAssessment
        :meth:`~BehaviourAssessment.table`, :meth:`~BehaviourAssessment.replicate`,
        :meth:`~BehaviourAssessment.avoid`, :meth:`~BehaviourAssessment.trials`.

    >>> import salesperf
    >>> c = salesperf.synth.company(events=100_000, seed=7)
    >>> log = c.event_log()
    >>> tl = c.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
    >>> b = behaviours(log, tl, min_support=20, fdr=0.2)
    >>> b.table().query("stage == 'Proposal' and feature == 'meeting@decision_maker'")["description"].item()
    'a meeting with the decision_maker before Proposal'
    """
    check_log_and_timelines(log, timelines)
    window = duration_ns(follow_up_window, "follow_up_window")
    if isinstance(min_support, bool) or not isinstance(min_support, (int, np.integer)):
        raise InvalidArgumentError(f"min_support must be an integer, not {min_support!r}")
    units = _units(log, by, owner)
    flags = _deviant_flags(deviants, [str(n) for n in units.names])
    core = _core.assess_behaviours(log._core, timelines._core, units, window, int(min_support), float(fdr),
                                   float(interval), flags)
    return BehaviourAssessment(core, unit_kind=str(units.kind), with_deviants=bool(flags))


class BehaviourAssessment:
    """The behaviours that distinguish: :meth:`table` (every stage x behaviour),
    :meth:`replicate` (the practices to replicate, in words), :meth:`avoid`,
    :meth:`trials` (per stage). The C++ result is ``_result`` (DiagnoseReps takes it)."""

    def __init__(self, result: Any, *, unit_kind: str = "unit", with_deviants: bool = False) -> None:
        self._result = result
        self.unit_kind = unit_kind
        self.with_deviants = with_deviants

    @property
    def stage_names(self) -> list[str]:
        """The open stages."""
        return list(self._result.stage_names)[: int(self._result.num_open)]

    @property
    def unit_names(self) -> list[str]:
        return list(self._result.unit_names)

    def table(self) -> pd.DataFrame:
        """One row per open stage and behaviour, in stage order then the header's feature
        order: the trials with (``present``) and without (``absent``) the behaviour and
        how many of each advanced; the advance rates with Wilson intervals and their
        ``lift``; the Mantel–Haenszel ``odds_ratio`` within units with its
        Robins–Breslow–Greenland interval; the Cochran–Mantel–Haenszel ``p_value`` and the
        Benjamini–Hochberg ``q_value`` (NaN when not ``tested``); ``replicate`` /
        ``avoid``; the deviants' and peers' shares of trials with the behaviour (NaN
        without deviants); the "over and above" screen of the discoveries
        (``adjusted_odds_ratio`` with ``adjusted_lower`` / ``adjusted_upper`` and
        ``adjusted_p_value``: the row tested again within unit x the pattern of the
        stage's discoveries accepted before it; ``independent``: accepted;
        ``explained_by``: for a discovery that is not independent, the features it was
        adjusted for, ", "-joined; NaN / False / "" for rows that are not discoveries);
        and the row in words (``sentence``)."""
        r = self._result.rows
        stages = self.stage_names
        data: dict[str, Any] = {
            "stage": pd.Categorical.from_codes(np.asarray(r.stage, dtype=np.int64), categories=pd.Index(stages),
                                               ordered=True),
            "feature": list(r.feature),
            "description": list(r.description),
        }
        for name in _COUNTS:
            data[name] = np.asarray(getattr(r, name), dtype=np.int64)
        for name in _FLOATS:
            data[name] = np.asarray(getattr(r, name), dtype=float)
        for name in _FLAGS:
            data[name] = np.asarray(getattr(r, name)).astype(bool)
        for name in _SHARES:
            data[name] = np.asarray(getattr(r, name), dtype=float)
        for name in ("deviant_units", "peer_units"):
            data[name] = np.asarray(getattr(r, name), dtype=np.int64)
        for name in _ADJUSTED:
            data[name] = np.asarray(getattr(r, name), dtype=float)
        data["independent"] = np.asarray(r.independent).astype(bool)
        data["explained_by"] = list(r.explained_by)
        data["sentence"] = list(r.sentence)
        return pd.DataFrame(data)

    def _practices(self, flag: str, ascending: bool) -> pd.DataFrame:
        t = self.table()
        also, over = _screen_words(t)
        t = t[t[flag] & t["independent"]].sort_values("odds_ratio", ascending=ascending, kind="stable")
        sentence = [_over_and_above(s, over[i]) for i, s in zip(t.index, t["sentence"])]
        out = pd.DataFrame({
            "stage": t["stage"],
            "feature": t["feature"],
            "behaviour": t["description"],
            "advance_rate_with": t["rate_present"],
            "advance_rate_without": t["rate_absent"],
            "odds_ratio": t["odds_ratio"],
            "odds_ratio_lower": t["odds_ratio_lower"],
            "odds_ratio_upper": t["odds_ratio_upper"],
            "q_value": t["q_value"],
            "deviant_share": t["deviant_share"],
            "peer_share": t["peer_share"],
            "share_difference": t["share_difference"],
            "share_p_value": t["share_p_value"],
            "also_seen_as": pd.Series([", ".join(also[i]) for i in t.index], index=t.index, dtype=object),
            "sentence": pd.Series(sentence, index=t.index, dtype=object),
        }, columns=_PRACTICE_COLUMNS)
        return out.reset_index(drop=True)

    def replicate(self) -> pd.DataFrame:
        """The practices to replicate: tested rows with ``q_value <= fdr`` and an odds
        ratio above 1 that are ``independent`` (not explained by a stronger discovery
        of the same stage), the largest odds ratio first, with the stage, the behaviour
        in words, the advance rates with and without it, the odds ratio and its
        interval, the q-value, the deviants' and peers' shares (pooled, and rep by rep:
        ``share_difference`` and Welch's ``share_p_value``), ``also_seen_as`` (the
        discoveries of the stage that this one explains: those whose ``explained_by``
        names it first, ", "-joined) and the sentence, which says "over and above
        <features>" inside its closing parenthesis when the row was adjusted for discoveries
        accepted before it."""
        return self._practices("replicate", ascending=False)

    def avoid(self) -> pd.DataFrame:
        """Tested rows with ``q_value <= fdr`` and an odds ratio below 1 (deals with the
        behaviour advanced less) that are ``independent``, the smallest odds ratio
        first; columns as :meth:`replicate`."""
        return self._practices("avoid", ascending=True)

    def trials(self) -> pd.DataFrame:
        """Per open stage: the trials (deals that advanced from it or failed at it)."""
        return pd.DataFrame({"trials": np.asarray(self._result.trials, dtype=np.int64)},
                            index=pd.CategoricalIndex(self.stage_names, categories=self.stage_names, ordered=True,
                                                      name="stage"))

    def __repr__(self) -> str:
        t = self.table()
        found = t["replicate"] | t["avoid"]
        return (f"BehaviourAssessment(by {self.unit_kind}: {len(self.unit_names):,} units, "
                f"{len(self.stage_names)} stages x {t['feature'].nunique()} behaviours, "
                f"{int(t['tested'].sum())} tested, {int((t['replicate'] & t['independent']).sum())} to replicate, "
                f"{int((t['avoid'] & t['independent']).sum())} to avoid, "
                f"{int((found & ~t['independent']).sum())} explained by others)")

    def summary(self) -> str:
        """The one-line description, then the first ten practices to replicate as sentences."""
        head = repr(self)
        rep = self.replicate()
        if rep.empty:
            return head + "\nNo practice to replicate at this false discovery rate."
        lines = [head, "Practices to replicate:"]
        lines += [f"  - {s}" for s in rep["sentence"].head(10)]
        if len(rep) > 10:
            lines.append(f"  ... and {len(rep) - 10} more")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rep = self.replicate()
        head = html.escape(repr(self))
        if rep.empty:
            return f"<div><b>{head}</b><p>No practice to replicate at this false discovery rate.</p></div>"
        items = "".join(f"<li>{html.escape(s)}</li>" for s in rep["sentence"].head(10))
        cols = ["stage", "behaviour", "advance_rate_with", "advance_rate_without", "odds_ratio", "odds_ratio_lower",
                "odds_ratio_upper", "q_value"]
        if self.with_deviants:
            cols += ["deviant_share", "peer_share"]
        table = rep[cols].head(10).to_html(index=False, float_format="{:,.3f}".format)
        return f"<div><b>{head}</b><p>Practices to replicate:</p><ul>{items}</ul>{table}</div>"


def _over_and_above(sentence: str, before: list[str]) -> str:
    """The sentence with "; over and above <before>" inside its closing parenthesis."""
    if not before:
        return sentence
    words = f"over and above {', '.join(before)}"
    return f"{sentence[:-2]}; {words})." if sentence.endswith(").") else f"{sentence} ({words})"


def _screen_words(t: pd.DataFrame) -> tuple[dict[Any, list[str]], dict[Any, list[str]]]:
    """Per row label of the table: the dependent discoveries it explains (listed under
    the first feature of their ``explained_by``, in table order), and, for an
    independent row, the independent features of its stage accepted before it (by
    p-value, ties in table order; at most ``_MAX_ADJUST_FOR``): what it was adjusted for."""
    found = t[t["replicate"] | t["avoid"]]
    also: dict[Any, list[str]] = {i: [] for i in t.index}
    over: dict[Any, list[str]] = {i: [] for i in t.index}
    for _, g in found.groupby("stage", observed=True, sort=False):
        by_name = {f: i for i, f in zip(g.index, g["feature"])}
        for i, feature, independent, explained in zip(g.index, g["feature"], g["independent"], g["explained_by"]):
            if not independent and explained:
                first = str(explained).split(", ")[0]
                if first in by_name:
                    also[by_name[first]].append(str(feature))
        accepted = g[g["independent"]].sort_values("p_value", kind="stable")
        names = [str(f) for f in accepted["feature"]]
        for j, i in enumerate(accepted.index):
            over[i] = names[: min(j, _MAX_ADJUST_FOR)]
    return also, over


def behaviour_counts(log: EventLog, timelines: Timelines, *, by: Any = "rep", owner: str = "most_active",
                     follow_up_window: Any = "24h") -> BehaviourCounts:
    """The counts :func:`behaviours` works from, as a mergeable state (see
    :class:`BehaviourCounts`)."""
    return BehaviourCounts.count(log, timelines, by=by, owner=owner, follow_up_window=follow_up_window)


class BehaviourCounts(MergeableState):
    """Per open stage, unit, set of features present and outcome (advanced or failed):
    the trials, and per stage the actions that entered it — everything
    :func:`behaviours` needs. Counted per part of a log split by deal (:meth:`count`),
    merged in any order (:meth:`merge` or ``a + b``), carried as bytes
    (:meth:`serialize` / :meth:`deserialize`, pickle) and assessed (:meth:`assess`) to
    the very table :func:`behaviours` gives on the whole log. Units, seller actions and
    contact roles are kept by name, sorted; the follow-up window is fixed at count time.

    >>> import salesperf
    >>> from salesperf.behaviours import BehaviourCounts, behaviours
    >>> c = salesperf.synth.company(events=100_000, seed=7)
    >>> log = c.event_log()
    >>> tl = c.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
    >>> counts = BehaviourCounts.count(log, tl)
    >>> back = BehaviourCounts.deserialize(counts.serialize())
    >>> back == counts
    True
    >>> back.assess().table().equals(behaviours(log, tl).table())
    True
    """

    _core_type = _core.BehaviourCounts

    @classmethod
    def count(cls, log: EventLog, timelines: Timelines, *, by: Any = "rep", owner: str = "most_active",
              follow_up_window: Any = "24h") -> BehaviourCounts:
        """The counts of ``log`` (``by``, ``owner``, ``follow_up_window`` as in :func:`behaviours`)."""
        check_log_and_timelines(log, timelines)
        window = duration_ns(follow_up_window, "follow_up_window")
        units = _units(log, by, owner)
        return cls(_core.count_behaviours(log._core, timelines._core, units, window))

    def serialize(self) -> bytes:
        """The same as :meth:`to_bytes`: salesperf's versioned, checksummed bytes."""
        return self.to_bytes()

    @classmethod
    def deserialize(cls, data: bytes) -> BehaviourCounts:
        """The same as :meth:`from_bytes`."""
        return cls.from_bytes(data)

    @property
    def features(self) -> list[str]:
        """The features of every stage, in table order."""
        return list(self._core.feature_names)

    @property
    def follow_up_window(self) -> pd.Timedelta:
        return pd.Timedelta(int(self._core.follow_up_window), unit="ns")

    def assess(self, *, deviants: Any = None, min_support: int = 30, fdr: float = 0.10,
               interval: float = 0.95) -> BehaviourAssessment:
        """The :class:`BehaviourAssessment` of these counts (options as in
        :func:`behaviours`; ``deviants`` by unit label or an assessment with
        ``positive_units()``)."""
        if isinstance(min_support, bool) or not isinstance(min_support, (int, np.integer)):
            raise InvalidArgumentError(f"min_support must be an integer, not {min_support!r}")
        flags = _deviant_flags(deviants, self.units)
        core = self._core.finalize(int(min_support), float(fdr), float(interval), flags)
        return BehaviourAssessment(core, unit_kind=self.unit_kind, with_deviants=bool(flags))

    def __repr__(self) -> str:
        return (f"BehaviourCounts(by {self.unit_kind}: {len(self.units):,} units, "
                f"{len(self.stage_names) - 2} open stages x {len(self.features)} behaviours, "
                f"{int(self._core.num_cells):,} cells, follow-up window {self.follow_up_window})")

    def _repr_html_(self) -> str:
        return (f"<div><b>{html.escape(repr(self))}</b><p>Behaviours: "
                f"{html.escape(', '.join(self.features[:20]))}{' ...' if len(self.features) > 20 else ''}</p></div>")


__all__ = ["BehaviourAssessment", "BehaviourCounts", "behaviour_counts", "behaviours"]
