"""salesperf: what sales reps do, what buyers do in response, and where revenue leaks.

Start with an event log of buyer, seller and system actions per deal:

>>> import salesperf
>>> company = salesperf.synth.company(events=5_000, seed=1)
>>> log = company.event_log()
>>> log.report.rows_in == log.report.rows_accepted + log.report.rows_rejected
True
"""

from __future__ import annotations

from . import crm, datasets, errors, memory, plots, stats, synth
from ._core import __version__
from .behaviours import BehaviourAssessment, BehaviourCounts, behaviour_counts, behaviours
from .calendar import Calendar
from .deviance import DeviantAssessment, DeviantCounts, RepDiagnosis, deviant_counts, deviants, diagnose
from .errors import Error
from .event_log import ACTORS, EventLog, IngestReport, Vocabulary, ingest
from .funnel import Funnel, funnel
from .indicators import Indicators, deal_warnings, indicators
from .leaks import LeakAssessment, LeakCounts, leak_counts, leaks
from .report import Report, build_report
from .scoring import SCORECARD_SCHEMA, read_scorecard, scorecard, write_scorecard
from .practices import Instrument, PracticeAssessment, Questionnaire, practice_signals, practices, score_answers
from .stages import StageMachine, StageModel, Timelines
from .targets import PlanVsActual, TargetPlan, key_account_summary, key_accounts, plan_vs_actual, targets, what_if

__all__ = [
    "ACTORS",
    "BehaviourAssessment",
    "BehaviourCounts",
    "behaviour_counts",
    "DeviantAssessment",
    "DeviantCounts",
    "deviant_counts",
    "RepDiagnosis",
    "behaviours",
    "deviants",
    "diagnose",
    "Calendar",
    "Error",
    "Funnel",
    "EventLog",
    "Indicators",
    "IngestReport",
    "Instrument",
    "LeakAssessment",
    "LeakCounts",
    "PracticeAssessment",
    "Questionnaire",
    "StageMachine",
    "StageModel",
    "TargetPlan",
    "Timelines",
    "Vocabulary",
    "__version__",
    "crm",
    "datasets",
    "memory",
    "plots",
    "deal_warnings",
    "errors",
    "funnel",
    "indicators",
    "ingest",
    "leak_counts",
    "leaks",
    "practice_signals",
    "practices",
    "score_answers",
    "stats",
    "synth",
    "targets",
    "plan_vs_actual",
    "PlanVsActual",
    "key_accounts",
    "key_account_summary",
    "what_if",
    "SCORECARD_SCHEMA",
    "scorecard",
    "write_scorecard",
    "read_scorecard",
    "Report",
    "build_report",
]
