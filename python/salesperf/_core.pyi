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
