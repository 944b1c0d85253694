"""The nine-practice (Leaky Bucket) assessment of sales-force management: the
questionnaire instrument, scores from several respondents with manager / rep
disagreement, the signals the event log gives for each practice (or says it cannot),
and the funnel leaks attributed to the practice that lets them.

The practices: customer retention; qualifying account criteria; account development;
sales support; downtime; sales metrics; advanced sales metrics; non-productive sales
reps; pipeline management and forecasting. (The original assessment's ninth area is
not documented publicly; the ninth here is the practice its authors taught next.)
Definitions and scoring rules: ``docs/practices.md`` and ``salesperf/practices.h``.

>>> import salesperf
>>> inst = salesperf.Instrument.default()
>>> len(inst.practices)
9
>>> sheet = inst.answer_sheet()
>>> list(sheet.columns)
['statement', 'practice', 'text', 'reverse']
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from .errors import InvalidArgumentError
from .event_log import EventLog
from .leaks import LeakAssessment, leaks as assess_leaks
from .stages import Timelines

PRACTICES = ("customer_retention", "qualifying_account_criteria", "account_development", "sales_support",
             "downtime", "sales_metrics", "advanced_sales_metrics", "non_productive_sales_reps",
             "pipeline_management_and_forecasting")


class Instrument:
    """A versioned questionnaire: nine practices, statements answered on a scale
    (1-5 by default), and the best practice each statement stands for."""

    def __init__(self, core: Any) -> None:
        self._core = core

    @classmethod
    def default(cls) -> Instrument:
        """The bundled Leaky Bucket instrument."""
        return cls(_core.default_instrument())

    @classmethod
    def from_text(cls, text: str, format: str = "toml") -> Instrument:
        """Parses TOML or JSON text; errors name the key or statement at fault."""
        return cls(_core.parse_instrument(text, format))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Instrument:
        """Reads a .toml or .json instrument file."""
        p = os.fspath(path)
        with open(p, encoding="utf-8") as f:
            text = f.read()
        return cls.from_text(text, "json" if p.lower().endswith(".json") else "toml")

    @staticmethod
    def default_text() -> str:
        """The bundled instrument's TOML, to copy and adapt."""
        return str(_core.default_instrument_text())

    @property
    def name(self) -> str:
        return str(self._core.name)

    @property
    def version(self) -> str:
        return str(self._core.version)

    @property
    def scale(self) -> tuple[int, int]:
        return int(self._core.scale_min), int(self._core.scale_max)

    @property
    def practices(self) -> pd.DataFrame:
        """id (index), name, summary (what good looks like), source."""
        return pd.DataFrame([{"practice": p.id, "name": p.name, "summary": p.summary, "source": p.source}
                             for p in self._core.practices]).set_index("practice")

    @property
    def statements(self) -> pd.DataFrame:
        """id (index), practice, text, reverse, best_practice."""
        return pd.DataFrame([{"statement": s.id, "practice": s.practice, "text": s.text, "reverse": bool(s.reverse),
                              "best_practice": s.best_practice} for s in self._core.statements]).set_index("statement")

    def answer_sheet(self) -> pd.DataFrame:
        """A blank sheet to hand to respondents: one row per statement."""
        s = self.statements.reset_index()
        return s[["statement", "practice", "text", "reverse"]]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Instrument) and bool(self._core == other._core)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Instrument({self.name!r} v{self.version}: {len(self._core.statements)} statements, scale {self.scale})"

    def _repr_html_(self) -> str:
        from .event_log import _html_table

        per_practice: dict[str, int] = {}
        for s in self._core.statements:
            per_practice[s.practice] = per_practice.get(s.practice, 0) + 1
        rows = [(p.id, p.name, per_practice.get(p.id, 0)) for p in self._core.practices]
        return f"<div><b>{html.escape(repr(self))}</b>{_html_table(('practice', 'name', 'statements'), rows)}</div>"


class Questionnaire:
    """Scored answers: :meth:`practices` and :meth:`statements`."""

    def __init__(self, core: Any, instrument: Instrument) -> None:
        self._core = core
        self.instrument = instrument

    @property
    def respondents(self) -> int:
        return int(self._core.respondents)

    def practices(self) -> pd.DataFrame:
        """Per practice: score (0-100; every respondent weighs the same), manager and
        rep scores, their disagreement (manager - rep) and whether it reaches 25
        points, respondents by role, answers and "don't know"s."""
        rows = [{"practice": r.practice, "score": r.score, "manager_score": r.manager_score,
                 "rep_score": r.rep_score, "disagreement": r.disagreement, "disagree": bool(r.disagree),
                 "respondents": r.respondents, "managers": r.managers, "reps": r.reps, "answers": r.answers,
                 "dont_know": r.dont_know} for r in self._core.practices]
        return pd.DataFrame(rows).set_index("practice")

    def statements(self) -> pd.DataFrame:
        """Per statement: mean points (0-100, reversed where the statement is), their
        sd, n, manager and rep means, "don't know"s."""
        rows = [{"statement": r.statement, "practice": r.practice, "mean": r.mean, "sd": r.sd, "n": r.n,
                 "manager_mean": r.manager_mean, "rep_mean": r.rep_mean, "dont_know": r.dont_know}
                for r in self._core.statements]
        return pd.DataFrame(rows).set_index("statement")

    def __repr__(self) -> str:
        return f"Questionnaire({self.respondents} respondents, {self.instrument.name} v{self.instrument.version})"

    def _repr_html_(self) -> str:
        return f"<div><b>{html.escape(repr(self))}</b>{self.practices().to_html(float_format='{:,.1f}'.format)}</div>"


def _row_error(row: int, column: str, message: str) -> InvalidArgumentError:
    """An error about one answers row, tagged with ``row`` and ``column`` as the C++ core's are."""
    err = InvalidArgumentError(message)
    err.row, err.column = row, column
    return err


def score_answers(answers: pd.DataFrame, instrument: Instrument | None = None) -> Questionnaire:
    """Scores long-form answers: columns ``respondent``, ``role`` ("manager", "rep",
    other), ``statement`` (an id of the instrument) and ``value`` (on the scale; NaN
    for "don't know").

    >>> import pandas as pd, salesperf
    >>> a = pd.DataFrame({"respondent": ["m1", "r1"], "role": ["manager", "rep"],
    ...                   "statement": ["cr1", "cr1"], "value": [5, 2]})
    >>> q = salesperf.score_answers(a)
    >>> [float(v) for v in q.practices().loc["customer_retention", ["manager_score", "rep_score", "disagreement"]]]
    [100.0, 25.0, 75.0]
    """
    instrument = instrument or Instrument.default()
    missing = [c for c in ("respondent", "role", "statement", "value") if c not in answers.columns]
    if missing:
        raise InvalidArgumentError(f"answers: missing column {missing[0]!r} (need respondent, role, statement, value)")
    null = answers[["respondent", "statement"]].isna().any(axis=1)
    if null.any():
        row = int(np.flatnonzero(null.to_numpy())[0])
        col = "respondent" if pd.isna(answers["respondent"].iloc[row]) else "statement"
        raise _row_error(row, col, f"answers row {row}: column {col} is null")
    values = pd.to_numeric(answers["value"], errors="coerce")
    bad = values.isna() & answers["value"].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise _row_error(row, "value", f"answers row {row}: column value {answers['value'].iloc[row]!r} is not a number")
    core = _core.score_answers(instrument._core, answers["respondent"].astype(str).tolist(),
                               answers["role"].fillna("").astype(str).tolist(),
                               answers["statement"].astype(str).tolist(), values.astype(float).tolist())
    return Questionnaire(core, instrument)


def practice_signals(log: EventLog, timelines: Timelines, *, qualification_stage: str | None = None,
                     support_stages: Sequence[str] = (), support_target_days: float = 5.0,
                     utc_offset_minutes: int = 0, max_days_without_break: int = 12, vacation_days: int = 7,
                     forecast_horizon: Any = "90d", non_productive_fraction: float = 0.5,
                     min_cases: int = 10) -> pd.DataFrame:
    """What the event log says about each practice: one row per signal with its value,
    0-100 score, the cases it rests on and a sentence of evidence; or ``speaks`` False
    with the ``reason`` the data cannot say.

    >>> import salesperf
    >>> c = salesperf.synth.company(events=20_000, seed=4)
    >>> log = c.event_log()
    >>> s = salesperf.practice_signals(log, c.stage_model().run(log))
    >>> s.loc[s.signal == "support_wait", "reason"].item()[:22]
    'no support stage named'
    """
    if timelines._log is not log:
        raise InvalidArgumentError("timelines were computed from another log: pass the log they came from")
    horizon = pd.Timedelta(forecast_horizon)
    core = _core.practice_signals(log._core, timelines._core, qualification_stage or "",
                                  [str(s) for s in support_stages], float(support_target_days),
                                  int(utc_offset_minutes), int(max_days_without_break), int(vacation_days),
                                  int(horizon.value), float(non_productive_fraction), int(min_cases))
    return _signals_frame(core)


def _signals_frame(core: Sequence[Any]) -> pd.DataFrame:
    return pd.DataFrame([{"practice": s.practice, "signal": s.signal, "speaks": bool(s.speaks), "value": s.value,
                          "score": s.score, "cases": s.cases, "evidence": s.evidence, "reason": s.reason}
                         for s in core],
                        columns=["practice", "signal", "speaks", "value", "score", "cases", "evidence", "reason"])


def _signals_core(signals: pd.DataFrame) -> list[Any]:
    out = []
    for r in signals.to_dict("records"):
        out.append(_core.PracticeSignal(str(r["practice"]), str(r["signal"]), bool(r["speaks"]), float(r["value"]),
                                        float(r["score"]), int(r["cases"]), str(r["evidence"] or ""),
                                        str(r["reason"] or "")))
    return out


class PracticeAssessment:
    """The nine practices scored from the questionnaire and the data, with the leak
    dollars attributed to each: :meth:`table`, :meth:`best_practices`,
    :meth:`attributed_leaks`, :attr:`signals`, :attr:`questionnaire`, :meth:`chart`."""

    def __init__(self, core: Any, instrument: Instrument, signals: pd.DataFrame,
                 questionnaire: Questionnaire | None, leaks: LeakAssessment) -> None:
        self._core = core
        self.instrument = instrument
        self.signals = signals
        self.questionnaire = questionnaire
        self.leaks = leaks

    def table(self) -> pd.DataFrame:
        """Per practice (in the instrument's order): name, questionnaire_score,
        data_score (mean of the signals that speak), score (mean of the two that
        exist), leak_dollars attributed, leak_rows, rank by dollars (1: most at stake)."""
        rows = [{"practice": r.practice, "name": r.name, "questionnaire_score": r.questionnaire_score,
                 "data_score": r.data_score, "score": r.score, "leak_dollars": r.leak_dollars,
                 "leak_rows": r.leak_rows, "rank": r.rank} for r in self._core.practices]
        return pd.DataFrame(rows).set_index("practice")

    def best_practices(self) -> pd.DataFrame:
        """The best practices to adopt: practices by dollars at stake, and within one the
        statements the organisation scored lowest first."""
        rows = [{"practice": b.practice, "statement": b.statement, "best_practice": b.text,
                 "statement_points": b.statement_points, "dollars_at_stake": b.dollars_at_stake}
                for b in self._core.best_practices]
        return pd.DataFrame(rows, columns=["practice", "statement", "best_practice", "statement_points",
                                           "dollars_at_stake"])

    def attributed_leaks(self) -> pd.DataFrame:
        """Each leak's shrunk dollars split over the practices that let it (rules in
        docs/practices.md): unit, stage, practice, dollars."""
        units, stages = self.leaks.unit_names, self.leaks.stage_names
        rows = [{"unit": units[int(a.unit)], "stage": stages[int(a.stage)], "practice": a.practice,
                 "dollars": a.dollars} for a in self._core.leaks]
        return pd.DataFrame(rows, columns=["unit", "stage", "practice", "dollars"])

    @property
    def attributed_dollars(self) -> float:
        return float(self._core.attributed_dollars)

    def chart(self, *, ax: Any = None) -> Any:
        """The practice-score chart (matplotlib Axes)."""
        from .plots import practice_scores

        return practice_scores(self.table(), ax=ax)

    def __repr__(self) -> str:
        t = self.table()
        top = t.sort_values("rank").index[0] if len(t) else "-"
        return (f"PracticeAssessment({len(t)} practices, ${self.attributed_dollars:,.0f} of leaks attributed; "
                f"most at stake: {top})")

    def _repr_html_(self) -> str:
        return f"<div><b>{html.escape(repr(self))}</b>{self.table().to_html(float_format='{:,.1f}'.format)}</div>"


def practices(log: EventLog, timelines: Timelines, *, answers: pd.DataFrame | Questionnaire | None = None,
              leaks: LeakAssessment | None = None, instrument: Instrument | None = None,
              qualification_stage: str | None = None, support_stages: Sequence[str] = (),
              non_productive_units: Sequence[str] = (), **signal_options: Any) -> PracticeAssessment:
    """The nine-practice assessment: questionnaire ``answers`` (a DataFrame for
    :func:`score_answers`, a scored :class:`Questionnaire`, or None), the data signals
    of ``log`` (``signal_options`` go to :func:`practice_signals`), and ``leaks`` (by
    default :func:`salesperf.leaks` by rep against the team median) attributed to the
    practices. ``non_productive_units``: reps judged non-productive, whose leaks go to
    that practice whole.

    >>> import salesperf
    >>> c = salesperf.synth.company(events=30_000, seed=4)
    >>> log = c.event_log()
    >>> a = salesperf.practices(log, c.stage_model(stall_after="45d").run(log),
    ...                         answers=salesperf.synth.survey(seed=1))
    >>> t = a.table()
    >>> bool(abs(t.leak_dollars.sum() - a.attributed_dollars) < 1e-6 * max(1.0, a.attributed_dollars))
    True
    """
    instrument = instrument or Instrument.default()
    if leaks is None:
        leaks = assess_leaks(log, timelines, by="rep" if log.codes("rep") is not None else None)
    q: Questionnaire | None
    if answers is None or isinstance(answers, Questionnaire):
        q = answers
    else:
        q = score_answers(answers, instrument)
    signals = practice_signals(log, timelines, qualification_stage=qualification_stage,
                               support_stages=support_stages, **signal_options)
    core = _core.assess_practices(instrument._core, None if q is None else q._core, _signals_core(signals),
                                  leaks._core, qualification_stage or "", [str(s) for s in support_stages],
                                  [str(u) for u in non_productive_units])
    return PracticeAssessment(core, instrument, signals, q, leaks)


__all__ = ["PRACTICES", "Instrument", "PracticeAssessment", "Questionnaire", "practice_signals", "practices",
           "score_answers"]

