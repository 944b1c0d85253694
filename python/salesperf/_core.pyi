# Type stubs for the compiled module salesperf._core (bindings/*.cc).
from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str
REJECT_REASONS: list[tuple[str, str]]

class Actor:
    BUYER: Actor
    SELLER: Actor
    SYSTEM: Actor
    value: int
    name: str

class Vocabulary:
    def __init__(self) -> None: ...
    def add(self, action: str, actor: str) -> None: ...
    def add_prefix(self, prefix: str, actor: str) -> None: ...
    def resolve(self, action: str) -> str | None: ...
    @property
    def actions(self) -> list[tuple[str, str]]: ...
    @property
    def prefixes(self) -> list[tuple[str, str]]: ...

class IngestReport:
    rows_in: int
    rows_accepted: int
    rows_rejected: int
    input_was_sorted: bool
    deals: int
    unknown_actions: list[tuple[str, int]]
    prefix_matched_actions: list[str]
    def summary(self) -> str: ...
    @property
    def rejected_by_reason(self) -> dict[str, int]: ...
    @property
    def rejected_rows(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8], npt.NDArray[np.int64]]: ...

class EventLog:
    def __len__(self) -> int: ...
    @property
    def num_deals(self) -> int: ...
    @property
    def deal(self) -> npt.NDArray[np.int32]: ...
    @property
    def time(self) -> npt.NDArray[np.int64]: ...
    @property
    def action(self) -> npt.NDArray[np.int32]: ...
    @property
    def row(self) -> npt.NDArray[np.int64]: ...
    @property
    def deal_offsets(self) -> npt.NDArray[np.int64]: ...
    @property
    def action_actors(self) -> npt.NDArray[np.uint8]: ...
    def optional_column(self, name: str) -> npt.NDArray[Any] | None: ...
    def dictionary(self, name: str) -> list[str] | npt.NDArray[np.int64]: ...
    @property
    def dimension_names(self) -> list[str]: ...
    def dimension(
        self, i: int
    ) -> tuple[npt.NDArray[np.int32], list[str] | npt.NDArray[np.int64]]: ...
    @property
    def vocabulary(self) -> Vocabulary: ...

def ingest(
    columns: dict[str, Any],
    vocabulary: Vocabulary,
    min_time: int,
    max_time: int,
    nan_amount_is_null: bool,
    allow_negative_amount: bool,
    strict: bool,
    threads: int = 0,
) -> tuple[EventLog, IngestReport]: ...
def generate_company(
    seed: int = 7,
    events: int = 100000,
    reps: int = 24,
    teams: int = 4,
    territories: int = 4,
    start_time_ns: int = ...,
    days: int = 730,
    threads: int = 0,
) -> dict[str, Any]: ...

OUTCOMES: list[str]
TRANSITION_KINDS: list[str]
REASON_STALLED: int

class StageModel:
    @staticmethod
    def from_json(text: str) -> StageModel: ...
    @staticmethod
    def from_toml(text: str) -> StageModel: ...
    def to_json(self) -> str: ...
    def to_toml(self) -> str: ...
    def validate(self) -> None: ...

class StageMachine:
    stage_names: list[str]
    num_open: int
    unused_buyer_actions: list[str]

def compile_stages(model: StageModel, log: EventLog) -> StageMachine: ...

class Timelines:
    stage_names: list[str]
    num_open: int
    as_of: int
    stall_limit: list[int]
    @property
    def current_stage(self) -> npt.NDArray[np.int32]: ...
    @property
    def outcome(self) -> npt.NDArray[np.uint8]: ...
    @property
    def outcome_time(self) -> npt.NDArray[np.int64]: ...
    @property
    def lost_reason(self) -> npt.NDArray[np.int32]: ...
    @property
    def value(self) -> npt.NDArray[np.float64]: ...
    @property
    def quiet_since(self) -> npt.NDArray[np.int64]: ...
    @property
    def first_entered(self) -> npt.NDArray[np.int64]: ...
    @property
    def last_left(self) -> npt.NDArray[np.int64]: ...
    @property
    def transitions(self) -> dict[str, npt.NDArray[Any]]: ...

def run_stages(
    machine: StageMachine, log: EventLog, as_of: int | None = None, threads: int = 0
) -> Timelines: ...

def update_stages(
    machine: StageMachine,
    log: EventLog,
    previous: Timelines,
    touched: npt.NDArray[np.int32],
    as_of: int | None = None,
    threads: int = 0,
) -> Timelines: ...
def append_events(
    base: EventLog, batch: EventLog
) -> tuple[EventLog, npt.NDArray[np.int32], npt.NDArray[np.int64]]: ...

# bindings/register_stats.cc
def wilson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float, float]: ...
def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float, float]: ...
def trend_slope(
    y: npt.ArrayLike, confidence: float = 0.95
) -> tuple[float, float, float, int]: ...
def kaplan_meier(
    durations: npt.NDArray[Any], observed: npt.NDArray[Any]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...
def km_quantile(durations: npt.NDArray[Any], observed: npt.NDArray[Any], q: float) -> int | None: ...

# bindings/register_calendar.cc
NO_PERIOD: int

class Calendar:
    def __init__(self, spec: str) -> None: ...
    @property
    def spec(self) -> str: ...
    @property
    def grain(self) -> str: ...
    @property
    def fiscal_year_start_month(self) -> int: ...
    @property
    def min_index(self) -> int: ...
    @property
    def max_index(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...
    def period_index(self, times: npt.ArrayLike) -> npt.NDArray[np.int64]: ...
    def period_start(self, indices: npt.ArrayLike) -> npt.NDArray[np.int64]: ...
    def period_end(self, indices: npt.ArrayLike) -> npt.NDArray[np.int64]: ...
    def labels(self, indices: npt.ArrayLike) -> list[str]: ...

# ---- indicators (bindings/register_indicators.cc) ----
DOLLAR_SCALE: int

class Units:
    kind: str
    names: list[str]
    @property
    def of_deal(self) -> npt.NDArray[np.int32]: ...

def units_by_rep(log: EventLog, owner: str = ...) -> Units: ...
def units_by_dimension(log: EventLog, dimension: str) -> Units: ...
def single_unit(log: EventLog, name: str = ...) -> Units: ...
def units_from_codes(log: EventLog, codes: npt.NDArray[np.int32], names: list[str], kind: str) -> Units: ...

class Indicators:
    calendar_spec: str
    as_of: int
    response_window: int
    duration_resolution: int
    stage_names: list[str]
    num_open: int
    windows: list[int]
    unit_kind: str
    unit_names: list[str]
    action_names: list[str]
    num_cells: int
    def merge(self, other: Indicators) -> Indicators: ...
    def rollup(self, parent: npt.NDArray[np.int32], names: list[str], kind: str) -> Indicators: ...
    def serialize(self) -> bytes: ...
    @staticmethod
    def deserialize(data: bytes) -> Indicators: ...

def compute_indicators(machine: StageMachine, log: EventLog, timelines: Timelines, units: Units,
                       calendar: str, conversion_window: int | None, response_window: int,
                       resolution: int, threads: int = ...) -> Indicators: ...

class IndicatorTable:
    unit_names: list[str]
    period_labels: list[str]
    period_index: list[int]
    indicator_names: list[str]
    def columns(self) -> dict[str, npt.NDArray[Any]]: ...

def make_table(indicators: Indicators, confidence: float = ..., include_all: bool = ...) -> IndicatorTable: ...

class TrendTable:
    unit_names: list[str]
    indicator_names: list[str]
    def columns(self) -> dict[str, npt.NDArray[Any]]: ...

def make_trends(table: IndicatorTable, periods: int = ..., confidence: float = ...) -> TrendTable: ...

class DealWarnings:
    def columns(self) -> dict[str, npt.NDArray[Any]]: ...

def find_deal_warnings(log: EventLog, timelines: Timelines, dark_percentile: float = ...,
                       decision_maker_roles: list[str] = ...) -> DealWarnings: ...

# ---- funnel (bindings/register_funnel.cc) ----
class FunnelCounts:
    stage_names: list[str]
    num_open: int
    unit_kind: str
    unit_names: list[str]
    ignored: int
    def merge(self, other: FunnelCounts) -> FunnelCounts: ...
    def serialize(self) -> bytes: ...
    @staticmethod
    def deserialize(data: bytes) -> FunnelCounts: ...

class FunnelChain:
    stage_names: list[str]
    num_open: int
    moves: list[int]
    probability: list[float]
    win_probability: list[float]
    loss_probability: list[float]
    mean_days_in_stage: list[float]
    expected_days_to_close: list[float]
    open_deals: list[int]
    open_dollars: float
    expected_open_value: float
    open_deals_unpriced: int

def count_funnel(log: EventLog, timelines: Timelines, units: Units) -> FunnelCounts: ...
def solve_funnel(counts: FunnelCounts, unit: int) -> FunnelChain: ...

# ---- leaks (bindings/register_leaks.cc) ----
MIN_CONCENTRATION: float
MAX_CONCENTRATION: float

class LeakCounts:
    stage_names: list[str]
    num_open: int
    unit_kind: str
    unit_names: list[str]
    reasons: list[str]
    cohort_from: int | None
    cohort_to: int | None
    past_from: int | None
    # Per unit; per unit x cohort (current, past); per unit x cohort x open stage;
    # lost: per unit x cohort x open stage x reason.
    @property
    def outside(self) -> npt.NDArray[np.int64]: ...
    @property
    def out_of_window(self) -> npt.NDArray[np.int64]: ...
    @property
    def deals(self) -> npt.NDArray[np.int64]: ...
    @property
    def won(self) -> npt.NDArray[np.int64]: ...
    @property
    def valued(self) -> npt.NDArray[np.int64]: ...
    @property
    def value(self) -> npt.NDArray[np.float64]: ...
    @property
    def reached(self) -> npt.NDArray[np.int64]: ...
    @property
    def entrants(self) -> npt.NDArray[np.int64]: ...
    @property
    def advanced(self) -> npt.NDArray[np.int64]: ...
    @property
    def stalled(self) -> npt.NDArray[np.int64]: ...
    @property
    def open(self) -> npt.NDArray[np.int64]: ...
    @property
    def excluded(self) -> npt.NDArray[np.int64]: ...
    @property
    def lost(self) -> npt.NDArray[np.int64]: ...
    def merge(self, other: LeakCounts) -> LeakCounts: ...
    def serialize(self) -> bytes: ...
    @staticmethod
    def deserialize(data: bytes) -> LeakCounts: ...
    def __eq__(self, other: object) -> bool: ...

def count_leaks(log: EventLog, timelines: Timelines, units: Units, cohort_from: int | None = ...,
                cohort_to: int | None = ..., past_from: int | None = ...) -> LeakCounts: ...

class LeakRows:
    def __len__(self) -> int: ...
    @property
    def unit(self) -> npt.NDArray[np.int32]: ...
    @property
    def stage(self) -> npt.NDArray[np.int32]: ...
    @property
    def reached(self) -> npt.NDArray[np.int64]: ...
    @property
    def entrants(self) -> npt.NDArray[np.int64]: ...
    @property
    def advanced(self) -> npt.NDArray[np.int64]: ...
    @property
    def lost(self) -> npt.NDArray[np.int64]: ...
    @property
    def disqualified(self) -> npt.NDArray[np.int64]: ...
    @property
    def stalled(self) -> npt.NDArray[np.int64]: ...
    @property
    def open(self) -> npt.NDArray[np.int64]: ...
    @property
    def excluded(self) -> npt.NDArray[np.int64]: ...
    @property
    def trials(self) -> npt.NDArray[np.int64]: ...
    @property
    def rate(self) -> npt.NDArray[np.float64]: ...
    @property
    def shrunk_rate(self) -> npt.NDArray[np.float64]: ...
    @property
    def benchmark(self) -> npt.NDArray[np.float64]: ...
    @property
    def expected(self) -> npt.NDArray[np.float64]: ...
    @property
    def shortfall(self) -> npt.NDArray[np.float64]: ...
    @property
    def shrunk_shortfall(self) -> npt.NDArray[np.float64]: ...
    @property
    def shortfall_lower(self) -> npt.NDArray[np.float64]: ...
    @property
    def shortfall_upper(self) -> npt.NDArray[np.float64]: ...
    @property
    def probability_real(self) -> npt.NDArray[np.float64]: ...
    @property
    def downstream_win(self) -> npt.NDArray[np.float64]: ...
    @property
    def average_value(self) -> npt.NDArray[np.float64]: ...
    @property
    def dollars(self) -> npt.NDArray[np.float64]: ...
    @property
    def shrunk_dollars(self) -> npt.NDArray[np.float64]: ...
    @property
    def dollars_lower(self) -> npt.NDArray[np.float64]: ...
    @property
    def dollars_upper(self) -> npt.NDArray[np.float64]: ...
    @property
    def unit_level(self) -> npt.NDArray[np.float64]: ...
    @property
    def own_benchmark(self) -> npt.NDArray[np.float64]: ...
    @property
    def own_shortfall(self) -> npt.NDArray[np.float64]: ...
    @property
    def own_probability(self) -> npt.NDArray[np.float64]: ...
    @property
    def flagged(self) -> npt.NDArray[np.bool_]: ...
    @property
    def rank(self) -> npt.NDArray[np.int32]: ...

class LeakReason:
    unit: int
    stage: int
    reason: str
    disqualified: bool
    deals: int

class LeakAssessment:
    stage_names: list[str]
    num_open: int
    unit_names: list[str]
    benchmark: str
    pooled_rate: list[float]
    concentration: list[float]
    stage_benchmark: list[float]
    stage_units: list[int]
    @property
    def rows(self) -> LeakRows: ...
    benchmark_wins: list[float]
    pending_wins: list[float]
    won: list[int]
    gap: list[float]
    gap_dollars: list[float]
    shrunk_gap_dollars: list[float]
    chance_dollars: list[float]
    average_value: list[float]
    reasons: list[LeakReason]

def assess_leaks(counts: LeakCounts, benchmark: str = ..., target: list[float] | None = ...,
                 disqualify: list[str] = ..., min_trials: int = ..., interval: float = ...,
                 flag_probability: float = ..., min_relative_shortfall: float = ...,
                 value: str = ...) -> LeakAssessment: ...
def beta_binomial_concentration(converted: npt.ArrayLike, trials: npt.ArrayLike) -> float: ...

# ---- targets (bindings/register_targets.cc) ----
class TargetRows:
    def __len__(self) -> int: ...
    @property
    def unit(self) -> npt.NDArray[np.int32]: ...
    @property
    def stage(self) -> npt.NDArray[np.int32]: ...
    @property
    def target(self) -> npt.NDArray[np.float64]: ...
    @property
    def value(self) -> npt.NDArray[np.float64]: ...
    @property
    def value_se(self) -> npt.NDArray[np.float64]: ...
    @property
    def wins_needed(self) -> npt.NDArray[np.float64]: ...
    @property
    def rate(self) -> npt.NDArray[np.float64]: ...
    @property
    def win_probability(self) -> npt.NDArray[np.float64]: ...
    @property
    def lag_days(self) -> npt.NDArray[np.float64]: ...
    @property
    def entries_needed(self) -> npt.NDArray[np.float64]: ...
    @property
    def entries_per_week(self) -> npt.NDArray[np.float64]: ...
    @property
    def entries_lower(self) -> npt.NDArray[np.float64]: ...
    @property
    def entries_upper(self) -> npt.NDArray[np.float64]: ...
    @property
    def occurrences_per_entry(self) -> npt.NDArray[np.float64]: ...
    @property
    def occurrences_per_week(self) -> npt.NDArray[np.float64]: ...
    # UTC ns; the smallest int64 (NaT's bit pattern) when the lag is unknown.
    @property
    def needed_from(self) -> npt.NDArray[np.int64]: ...
    @property
    def needed_to(self) -> npt.NDArray[np.int64]: ...
    @property
    def run_rate(self) -> npt.NDArray[np.float64]: ...
    @property
    def gap_per_week(self) -> npt.NDArray[np.float64]: ...

class TargetPlan:
    stage_names: list[str]
    num_open: int
    unit_names: list[str]
    weeks: float
    @property
    def rows(self) -> TargetRows: ...

# rates: "unit" or "organisation"; lookback in ns.
def plan_targets(log: EventLog, timelines: Timelines, units: Units, period_start: int, period_end: int,
                 targets: list[tuple[str, float]], rates: str = ..., lookback: int = ..., min_won: int = ...,
                 draws: int = ..., seed: int = ..., interval: float = ...,
                 machine: StageMachine | None = ...) -> TargetPlan: ...

class WhatIf:
    baseline_revenue: float
    add_reps_revenue: float
    raise_stage_revenue: float
    median_unit_weekly: float

def what_if(log: EventLog, timelines: Timelines, units: Units, horizon_weeks: float = ..., add_reps: int = ...,
            ramp_weeks: float = ..., stage: int = ..., raise_: float = ..., lookback: int = ...,
            min_won: int = ...) -> WhatIf: ...

# ---- practices (bindings/register_practices.cc) ----
PRACTICE_IDS: list[str]

class PracticeInfo:
    id: str
    name: str
    summary: str
    source: str

class Statement:
    id: str
    practice: str
    text: str
    reverse: bool
    best_practice: str

class Instrument:
    name: str
    version: str
    scale_min: int
    scale_max: int
    practices: list[PracticeInfo]
    statements: list[Statement]

def parse_instrument(text: str, format: str = "toml") -> Instrument: ...
def default_instrument_text() -> str: ...
def default_instrument() -> Instrument: ...

class QuestionnairePracticeRow:
    practice: str
    score: float
    manager_score: float
    rep_score: float
    disagreement: float
    disagree: bool
    respondents: int
    managers: int
    reps: int
    answers: int
    dont_know: int

class QuestionnaireStatementRow:
    statement: str
    practice: str
    mean: float
    sd: float
    manager_mean: float
    rep_mean: float
    n: int
    dont_know: int

class QuestionnaireScores:
    practices: list[QuestionnairePracticeRow]
    statements: list[QuestionnaireStatementRow]
    respondents: int

def score_answers(instrument: Instrument, respondent: list[str], role: list[str], statement: list[str],
                  value: list[float] | npt.NDArray[np.float64]) -> QuestionnaireScores: ...

class PracticeSignal:
    practice: str
    signal: str
    speaks: bool
    value: float
    score: float
    cases: int
    evidence: str
    reason: str
    def __init__(self, practice: str, signal: str, speaks: bool, value: float, score: float, cases: int,
                 evidence: str = "", reason: str = "") -> None: ...

class PracticeAssessmentRow:
    practice: str
    name: str
    questionnaire_score: float
    data_score: float
    score: float
    leak_dollars: float
    leak_rows: int
    rank: int

class BestPractice:
    practice: str
    statement: str
    text: str
    statement_points: float
    dollars_at_stake: float

class AttributedLeak:
    unit: int
    stage: int
    practice: str
    dollars: float

class PracticeAssessment:
    practices: list[PracticeAssessmentRow]
    best_practices: list[BestPractice]
    leaks: list[AttributedLeak]
    attributed_dollars: float

# leaks: the compiled LeakAssessment of bindings/register_leaks.cc (typed Any here so
# that this stub does not depend on that one's class name).
def assess_practices(instrument: Instrument, questionnaire: QuestionnaireScores | None,
                     signals: list[PracticeSignal], leaks: Any, qualification_stage: str = "",
                     support_stages: list[str] = ..., non_productive_units: list[str] = ...) -> PracticeAssessment: ...

# ---- practice signals (bindings/register_signals.cc) ----
def practice_signals(log: EventLog, timelines: Timelines, qualification_stage: str = ...,
                     support_stages: list[str] = ..., support_target_days: float = ...,
                     utc_offset_minutes: int = ..., max_days_without_break: int = ...,
                     vacation_days: int = ..., forecast_horizon_ns: int = ...,
                     non_productive_fraction: float = ..., min_cases: int = ...) -> list[PracticeSignal]: ...
