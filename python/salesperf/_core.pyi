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
