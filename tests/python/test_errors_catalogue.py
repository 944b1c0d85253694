"""docs/errors.md, the catalogue of bad input, checked entry by entry.

The catalogue is a Markdown table; every row (id ``E01``...) names the exception,
its absl status code and the message (stable text, variable parts as ``<name>``).
Each id has a case in ``CASES`` below that produces exactly that kind of bad input;
the test runs it and checks the exception type, the message, and, for kinds that
ingestion rejects row by row rather than raising, that the row is in the ingest
report with its reason and column and that ``rows_in == accepted + rejected``. A
catalogue id without a case, or a case without a catalogue entry, fails.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import salesperf
from salesperf import errors

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "docs" / "errors.md"
CPP_TEST = ROOT / "tests" / "cpp" / "errors_catalogue_test.cc"

# ----------------------------------------------------------------------- the catalogue


@dataclass
class Entry:
    id: str
    input: str
    wrong: str
    exception: str  # a salesperf.errors class name, "exit code N", or "—" (C++ only)
    code: str  # "kInvalidArgument", ... or "—" (raised in Python only)
    message: str  # the documented message, with <placeholders>
    fix: str


def _cells(line: str) -> list[str]:
    # A table row; "\|" is a literal bar inside a cell.
    inner = line.strip()[1:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def _unquote(cell: str) -> str:
    m = re.fullmatch(r"`(.*)`", cell)
    assert m, f"expected one `code span`, got {cell!r}"
    return m.group(1)


def parse_catalogue(text: str) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for line in text.splitlines():
        if not re.match(r"\|\s*E\d{2,}\s*\|", line):
            continue
        cells = _cells(line)
        assert len(cells) == 7, f"catalogue row has {len(cells)} cells, not 7: {line}"
        entry = Entry(cells[0], cells[1], cells[2], cells[3].strip("`"), cells[4].strip("`"),
                      _unquote(cells[5]), cells[6])
        assert entry.id not in entries, f"{entry.id} appears twice"
        entries[entry.id] = entry
    return entries


def message_regex(documented: str) -> re.Pattern[str]:
    """The documented message as a regex anchored at the start: <name> matches any
    non-empty text, everything else literally. The real message may go on after it
    (the catalogue gives the stable prefix)."""
    parts = re.split(r"(<[a-z_ ]+>)", documented)
    body = "".join(".+?" if re.fullmatch(r"<[a-z_ ]+>", p) else re.escape(p) for p in parts)
    return re.compile(body, re.DOTALL)


ENTRIES = parse_catalogue(CATALOGUE.read_text(encoding="utf-8"))
# Kinds only a C++ caller can produce: tested in tests/cpp/errors_catalogue_test.cc.
CPP_ONLY = {i for i, e in ENTRIES.items() if e.exception == "—"}
PYTHON_ENTRIES = sorted(set(ENTRIES) - CPP_ONLY)

# ----------------------------------------------------------------------- small inputs

VOCAB = {"reply": "buyer", "state_need": "buyer", "sign": "buyer", "decline": "buyer", "email": "seller"}


def utc(*days: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(days), utc=True))


def events(**columns: Any) -> pd.DataFrame:
    """Four good rows over two deals; keyword arguments replace or add columns."""
    base: dict[str, Any] = {
        "deal": ["d1", "d1", "d1", "d2"],
        "time": utc("2026-01-01", "2026-01-02", "2026-01-05", "2026-01-03"),
        "action": ["email", "reply", "sign", "reply"],
        "amount": [1000.0, 1000.0, 1000.0, 500.0],
    }
    base.update(columns)
    return pd.DataFrame(base)


def ingest(df: Any, **options: Any) -> salesperf.EventLog:
    options.setdefault("vocabulary", VOCAB)
    return salesperf.EventLog.from_pandas(df, **options)


def tiny_log() -> salesperf.EventLog:
    return ingest(events())


def model(**kwargs: Any) -> salesperf.StageModel:
    kwargs.setdefault("stages", [{"name": "Engaged", "rules": [{"any": ["reply"]}]}])
    kwargs.setdefault("won", [{"any": ["sign"]}])
    return salesperf.StageModel(**kwargs)


@functools.cache
def company() -> tuple[Any, salesperf.EventLog, salesperf.Timelines]:
    c = salesperf.synth.company(events=2_000, seed=3)
    log = c.event_log()
    return c, log, c.stage_model().run(log)


def objectives(**columns: Any) -> pd.DataFrame:
    _, log, _ = company()
    rep = min(log.dictionary("rep"))
    base: dict[str, Any] = {"unit": [rep], "period": ["2025Q4"], "target": [100_000.0]}
    base.update(columns)
    return pd.DataFrame(base)


def plan(obj: pd.DataFrame) -> Any:
    _, log, tl = company()
    return salesperf.plan_vs_actual(log, tl, obj)


def answers(**columns: Any) -> pd.DataFrame:
    base: dict[str, Any] = {"respondent": ["m1", "r1"], "role": ["manager", "rep"],
                            "statement": ["cr1", "cr1"], "value": [5.0, 2.0]}
    base.update(columns)
    return pd.DataFrame(base)


@functools.cache
def state_bytes() -> bytes:
    _, log, tl = company()
    return salesperf.funnel(log, tl, by="rep").to_bytes()


def read_funnel(data: bytes) -> Any:
    return salesperf.Funnel.from_bytes(data)


# ----------------------------------------------------------------------- the cases


@dataclass
class Case:
    run: Callable[..., Any]  # raises the documented error (with strict=True for row kinds)
    rejected: tuple[str, str, int] | None = None  # (reason, column, row) when ingestion rejects a row
    files: bool = False  # a CLI case: run(tmp_path) returns argv


CASES: dict[str, Case] = {}


def case(id: str, *, rejected: tuple[str, str, int] | None = None, files: bool = False) -> Callable[..., Any]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        assert id not in CASES, f"two cases for {id}"
        CASES[id] = Case(fn, rejected, files)
        return fn

    return register


# ---- events: rows ingestion rejects (strict=True raises on the first)

@case("E01", rejected=("null_deal", "deal", 1))
def _null_deal(strict: bool) -> Any:
    return ingest(events(deal=["d1", None, "d1", "d2"]), strict=strict)


@case("E02", rejected=("null_deal", "deal", 2))
def _blank_deal(strict: bool) -> Any:
    return ingest(events(deal=["d1", "d1", "  ", "d2"]), strict=strict)


@case("E03", rejected=("null_time", "time", 2))
def _nat_time(strict: bool) -> Any:
    return ingest(events(time=pd.Series(pd.to_datetime(["2026-01-01", "2026-01-02", None, "2026-01-03"],
                                                        utc=True))), strict=strict)


@case("E04", rejected=("unparseable_time", "time", 1))
def _bad_time_text(strict: bool) -> Any:
    return ingest(events(time=["2026-01-01T00:00Z", "yesterday", "2026-01-05T00:00Z", "2026-01-03T00:00Z"]),
                  strict=strict)


@case("E05", rejected=("naive_time", "time", 3))
def _naive_text(strict: bool) -> Any:
    # tz-aware text mixed with one naive time and no tz=: that row has no zone.
    return ingest(events(time=["2026-01-01T09:00+01:00", "2026-01-02T09:00-05:00", "2026-01-05T09:00Z",
                               "2026-01-03T09:00"]), strict=strict)


@case("E06", rejected=("ambiguous_local_time", "time", 1))
def _ambiguous_local(strict: bool) -> Any:
    # 2025-10-26 02:30 happens twice in Amsterdam (clocks go back at 03:00).
    naive = pd.Series(pd.to_datetime(["2025-10-25 12:00", "2025-10-26 02:30", "2025-10-27 12:00",
                                      "2025-10-25 13:00"]))
    return ingest(events(time=naive), tz="Europe/Amsterdam", strict=strict)


@case("E07", rejected=("time_out_of_range", "time", 0))
def _time_out_of_range(strict: bool) -> Any:
    return ingest(events(time=utc("1960-01-01", "2026-01-02", "2026-01-05", "2026-01-03")), strict=strict)


@case("E08", rejected=("null_action", "action", 1))
def _null_action(strict: bool) -> Any:
    return ingest(events(action=["email", None, "sign", "reply"]), strict=strict)


@case("E09", rejected=("unknown_action", "action", 2))
def _unknown_action(strict: bool) -> Any:
    return ingest(events(action=["email", "reply", "signed_contract", "reply"]), strict=strict)


@case("E10", rejected=("nan_amount", "amount", 0))
def _nan_amount(strict: bool) -> Any:
    return ingest(events(amount=[np.nan, 1000.0, 1000.0, 500.0]), strict=strict)


@case("E11", rejected=("infinite_amount", "amount", 3))
def _inf_amount(strict: bool) -> Any:
    return ingest(events(amount=[1000.0, 1000.0, 1000.0, np.inf]), strict=strict)


@case("E12", rejected=("negative_amount", "amount", 1))
def _negative_amount(strict: bool) -> Any:
    return ingest(events(amount=[1000.0, -5.0, 1000.0, 500.0]), strict=strict)


@case("E13", rejected=("duplicate_event", "*", 2))
def _duplicate(strict: bool) -> Any:
    df = events()
    df = pd.concat([df.iloc[:2], df.iloc[[1]], df.iloc[2:]], ignore_index=True)
    return ingest(df, strict=strict)


# ---- events: the whole input is refused

@case("E14")
def _naive_datetimes() -> Any:
    return ingest(events(time=pd.Series(pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-05",
                                                        "2026-01-03"]))))


@case("E15")
def _missing_column() -> Any:
    return ingest(events().drop(columns="action"))


@case("E16")
def _no_vocabulary() -> Any:
    return salesperf.EventLog.from_pandas(events())


@case("E17")
def _actor_mismatch() -> Any:
    return salesperf.EventLog.from_pandas(events(actor=["seller", "buyer", "buyer", "seller"]))


@case("E18")
def _bad_actor_name() -> Any:
    return ingest(events(), vocabulary={"reply": "customer"})


@case("E19")
def _bool_ids() -> Any:
    return ingest(events(deal=[True, True, True, False]))


@case("E20")
def _float_ids() -> Any:
    return ingest(events(deal=[1.0, 1.5, 1.0, 2.0]))


@case("E21")
def _float_time() -> Any:
    return ingest(events(time=[1.7e9, 1.7e9 + 60, 1.7e9 + 120, 1.7e9 + 30]))


@case("E22")
def _text_amount() -> Any:
    return ingest(events(amount=["1000", "1,000.00", "1000", "500"]))


@case("E23")
def _lengths_differ() -> Any:
    cols = {k: np.asarray(v) for k, v in events().items()}
    cols["amount"] = cols["amount"][:3]
    return ingest(cols)


@case("E24")
def _int_time_overflow() -> Any:
    return ingest(events(time=[1_700_000_000, 10**13, 1_700_000_100, 1_700_000_050]), time_unit="s")


@case("E25")
def _csv_amount() -> Any:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "events.csv"
        path.write_text("deal,time,action,amount\nd1,2026-01-01T00:00Z,reply,10\nd1,2026-01-02T00:00Z,sign,ten\n")
        return salesperf.EventLog.read_csv(path, vocabulary=VOCAB)


@case("E26")
def _bad_ingest_option() -> Any:
    return ingest(events(), nan_amount="zero")


@case("E27")
def _naive_min_time() -> Any:
    return ingest(events(), min_time=pd.Timestamp("2020-01-01"))


@case("E28")
def _not_arrow() -> Any:
    return salesperf.EventLog.from_arrow([1, 2, 3], vocabulary=VOCAB)


@case("E29")
def _unknown_tz() -> Any:
    return ingest(events(time=["2026-01-01 09:00", "2026-01-02 09:00", "2026-01-05 09:00", "2026-01-03 09:00"]),
                  tz="Europe/Amsterdm")


@case("E30")
def _duplicate_columns() -> Any:
    return ingest(pd.concat([events(), events()[["deal"]]], axis=1))


# ---- stage models

@case("E31")
def _rule_unknown_action() -> Any:
    return model(stages=[{"name": "Engaged", "rules": [{"any": ["replied"]}]}]).run(tiny_log())


@case("E32")
def _rule_seller_action() -> Any:
    return model(stages=[{"name": "Engaged", "rules": [{"any": ["email"]}]}]).run(tiny_log())


@case("E33")
def _regress_unknown_stage() -> Any:
    return model(regression="record", regress=[{"any": ["decline"], "to": "Qualified"}])


@case("E34")
def _duplicate_stage() -> Any:
    return model(stages=[{"name": "Engaged", "rules": [{"any": ["reply"]}]},
                         {"name": "Engaged", "rules": [{"any": ["state_need"]}]}])


@case("E35")
def _regress_latch() -> Any:
    return model(regress=[{"any": ["decline"], "to": "Engaged"}]).run(tiny_log())


@case("E36")
def _bad_duration() -> Any:
    return model(stages=[{"name": "Engaged", "rules": [{"any": ["reply"]}], "window": "30 days"}])


@case("E37")
def _zero_window() -> Any:
    return model(stages=[{"name": "Engaged", "rules": [{"all": [["reply"], ["state_need"]]}], "window": "0d"}])


@case("E38")
def _min_zero() -> Any:
    return model(stages=[{"name": "Engaged", "rules": [{"count": ["reply"], "min": 0}]}])


@case("E39")
def _min_on_any() -> Any:
    return model(stages=[{"name": "Engaged", "rules": [{"any": ["reply"], "min": 2}]}])


@case("E40")
def _bad_toml() -> Any:
    return salesperf.StageModel.from_toml('ordering = "strict"\n[[stages]]\nname = "Engaged\nrules = []\n')


@case("E41")
def _bad_json() -> Any:
    return salesperf.StageModel.from_json('{"stages": [{"name": "Engaged",}]}')


@case("E42")
def _rule_without_kind() -> Any:
    return model(stages=[{"name": "Engaged", "rules": [{"within": "7d"}]}])


@case("E43")
def _unknown_key() -> Any:
    return model(stages=[{"name": "Engaged", "rules": [{"any": ["reply"]}], "windw": "30d"}])


@case("E44")
def _stage_without_rules() -> Any:
    return model(stages=[{"name": "Engaged", "rules": []}]).run(tiny_log())


@case("E45")
def _reserved_name() -> Any:
    return model(stages=[{"name": "Won", "rules": [{"any": ["reply"]}]}])


@case("E46")
def _won_lost_share() -> Any:
    return model(lost=[{"any": ["sign"]}]).run(tiny_log())


@case("E47")
def _amount_without_column() -> Any:
    log = ingest(events().drop(columns="amount"))
    return model(stages=[{"name": "Engaged", "rules": [{"any": ["reply"], "min_amount": 100}]}]).run(log)


@case("E48")
def _bad_policy() -> Any:
    return model(ordering="loose")


@case("E49")
def _stall_percentile() -> Any:
    return model(stages=[{"name": "Engaged", "rules": [{"any": ["reply"]}], "stall": {"percentile": 150}}])


@case("E50")
def _amount_bounds() -> Any:
    return model(stages=[{"name": "Engaged", "rules": [{"any": ["reply"], "min_amount": 500, "max_amount": 100}]}])


@case("E51")
def _no_stage_name() -> Any:
    return model(stages=[{"rules": [{"any": ["reply"]}]}])


@case("E52")
def _toml_no_version() -> Any:
    return salesperf.StageModel.from_toml('[[stages]]\nname = "Engaged"\nrules = [{ any = ["reply"] }]\n')


@case("E53")
def _toml_wrong_type() -> Any:
    return salesperf.StageModel.from_toml(
        'version = 1\n[[stages]]\nname = "Engaged"\nrules = [{ any = ["reply"] }]\nwindow = 30\n')


@case("E54")
def _nan_in_model() -> Any:
    return model(stages=[{"name": "Engaged", "rules": [{"any": ["reply"], "min_amount": float("nan")}]}])


# ---- plans: objectives and targets

@case("E55")
def _bad_period() -> Any:
    return plan(objectives(period=["2026Q5"]))


@case("E56")
def _unknown_unit() -> Any:
    return plan(objectives(unit=["nobody"]))


@case("E57")
def _negative_target() -> Any:
    return plan(objectives(target=[-5.0]))


@case("E58")
def _unknown_metric() -> Any:
    return plan(objectives(metric=["profit"]))


@case("E59")
def _margin_rate() -> Any:
    return plan(objectives(metric=["margin"], margin_rate=[1.5]))


@case("E60")
def _objectives_no_target() -> Any:
    return plan(objectives().drop(columns="target"))


@case("E61")
def _period_end_before_start() -> Any:
    return plan(objectives(period_start=[pd.Timestamp("2025-12-01", tz="UTC")],
                           period_end=[pd.Timestamp("2025-11-01", tz="UTC")]).drop(columns="period"))


@case("E62")
def _targets_period() -> Any:
    _, log, tl = company()
    return salesperf.targets(log, tl, 100_000.0, period=(pd.Timestamp("2026-01-01", tz="UTC"), None))


@case("E63")
def _targets_naive_period() -> Any:
    _, log, tl = company()
    return salesperf.targets(log, tl, 100_000.0, period=(pd.Timestamp("2026-01-01"), pd.Timestamp("2026-04-01")))


# ---- surveys: instrument and answers

@case("E64")
def _targets_end_before_start() -> Any:
    _, log, tl = company()
    return salesperf.targets(log, tl, 100_000.0, period=(pd.Timestamp("2026-04-01", tz="UTC"),
                                                        pd.Timestamp("2026-01-01", tz="UTC")))


@case("E65")
def _targets_period_text() -> Any:
    _, log, tl = company()
    return salesperf.targets(log, tl, 100_000.0, period="2026Q1")


@case("E66")
def _benchmark_rate() -> Any:
    _, log, tl = company()
    return salesperf.leak_counts(log, tl).assess(benchmark={"Engaged": 1.5})


@case("E67")
def _instrument_bad_toml() -> Any:
    return salesperf.Instrument.from_text('name = "x"\nversion = \n')


@case("E68")
def _instrument_unknown_practice() -> Any:
    text = salesperf.Instrument.default_text().replace('practice = "downtime"', 'practice = "lunch"', 1)
    assert text != salesperf.Instrument.default_text()
    return salesperf.Instrument.from_text(text)


@case("E69")
def _answer_off_scale() -> Any:
    return salesperf.score_answers(answers(value=[5.0, 7.0]))


@case("E70")
def _answers_missing_column() -> Any:
    return salesperf.score_answers(answers().drop(columns="value"))


@case("E71")
def _answer_unknown_statement() -> Any:
    return salesperf.score_answers(answers(statement=["cr1", "zz9"]))


@case("E72")
def _answer_null_respondent() -> Any:
    return salesperf.score_answers(answers(respondent=["m1", None]))


@case("E73")
def _answer_twice() -> Any:
    return salesperf.score_answers(answers(respondent=["m1", "m1"], role=["manager", "manager"]))


@case("E74")
def _answer_role_changes() -> Any:
    return salesperf.score_answers(answers(respondent=["m1", "m1"], statement=["cr1", "cr2"]))


@case("E75")
def _answer_not_number() -> Any:
    return salesperf.score_answers(answers(value=[5, "agree"]))


@case("E76")
def _instrument_format() -> Any:
    return salesperf.Instrument.from_text("name: x", format="yaml")


# ---- serialized states

@case("E77")
def _state_truncated() -> Any:
    data = state_bytes()
    return read_funnel(data[: len(data) // 2])


@case("E78")
def _state_bit_flip() -> Any:
    data = bytearray(state_bytes())
    data[40] ^= 0x04  # a bit of the payload
    return read_funnel(bytes(data))


@case("E79")
def _state_magic() -> Any:
    _, log, tl = company()
    return read_funnel(salesperf.leak_counts(log, tl).to_bytes())


@case("E80")
def _state_version() -> Any:
    data = bytearray(state_bytes())
    data[8:12] = struct.pack("<I", 99)
    return read_funnel(bytes(data))


@case("E81")
def _state_extra_bytes() -> Any:
    return read_funnel(state_bytes() + b"\0\0\0\0")


@case("E82")
def _state_flags() -> Any:
    data = bytearray(state_bytes())
    data[12:16] = struct.pack("<I", 1)
    return read_funnel(bytes(data))


@case("E83")
def _state_not_bytes() -> Any:
    return salesperf.Funnel.from_bytes(state_bytes().hex())


@case("E84")
def _merge_different_units() -> Any:
    _, log, tl = company()
    return salesperf.funnel(log, tl, by="rep") + salesperf.funnel(log, tl, by="segment")


@case("E85")
def _merge_different_calendar() -> Any:
    _, log, tl = company()
    return salesperf.indicators(log, tl, period="month") + salesperf.indicators(log, tl, period="week")


@case("E86")
def _merge_different_types() -> Any:
    _, log, tl = company()
    return salesperf.funnel(log, tl) + salesperf.leak_counts(log, tl)


@case("E100")
def _merge_overflow() -> Any:
    # A funnel whose one count is 2^62 (no log comes near: such bytes are fabricated or
    # tampered with), merged with itself: 2^63 does not fit in int64.
    def string(text: str) -> bytes:
        return struct.pack("<I", len(text)) + text.encode()

    payload = struct.pack("<II", 3, 1) + b"".join(string(s) for s in ("S0", "Won", "Lost"))
    payload += string("rep") + struct.pack("<I", 1) + string("ana")
    payload += struct.pack("<qqq", 0, 2**62, 1)              # moves from S0 to S0, Won, Lost
    payload += struct.pack("<qqq", 0, 0, 0)                  # dwell (int128) and visits
    payload += struct.pack("<qqqq", 0, 0, 0, 0)              # open deals, valued, dollars
    payload += struct.pack("<q", 0)                          # ignored transitions
    checksum = 14695981039346656037
    for byte in payload:
        checksum = ((checksum ^ byte) * 1099511628211) % 2**64
    data = b"SPFUN\0\0\1" + struct.pack("<IIQ", 1, 0, len(payload)) + payload + struct.pack("<Q", checksum)
    funnel = read_funnel(data)
    assert funnel.moves().loc["S0", "Won"] == 2**62  # the state itself is readable
    return funnel + funnel


# ---- options

@case("E87")
def _other_log() -> Any:
    _, _, tl = company()
    return salesperf.funnel(tiny_log(), tl)


@case("E88")
def _bad_calendar() -> Any:
    _, log, tl = company()
    return salesperf.indicators(log, tl, period="fortnight")


@case("E89")
def _bad_by() -> Any:
    _, log, tl = company()
    return salesperf.funnel(log, tl, by="region")


@case("E90")
def _naive_as_of() -> Any:
    _, log, _ = company()
    return company()[0].stage_model().run(log, as_of=pd.Timestamp("2026-01-01"))


@case("E91")
def _number_as_duration() -> Any:
    _, log, tl = company()
    return salesperf.what_if(log, tl, lookback=90)


# ---- the command line (run returns argv; the case writes its files to tmp_path)

@case("E92", files=True)
def _cli_missing_file(tmp_path: Path) -> list[str]:
    model_path = tmp_path / "model.toml"
    model_path.write_text(model().to_toml())
    return ["score", str(tmp_path / "nope.csv"), "--model", str(model_path), "-o", str(tmp_path / "s.csv")]


@case("E93", files=True)
def _cli_bad_flag(tmp_path: Path) -> list[str]:
    return ["score", "events.csv", "--model", "model.toml", "-o", "s.csv", "--perod", "week"]


@case("E94", files=True)
def _cli_bad_model(tmp_path: Path) -> list[str]:
    events_path = tmp_path / "events.csv"
    df = events()
    df["actor"] = df["action"].map(VOCAB)
    df.to_csv(events_path, index=False)
    model_path = tmp_path / "model.toml"
    model_path.write_text('version = 1\n[[stages]]\nname = "Engaged"\nrules = [{ any = ["reply"] }]\n'
                          'window = "30x"\n')
    return ["score", str(events_path), "--model", str(model_path), "-o", str(tmp_path / "s.csv")]


# ----------------------------------------------------------------------- the tests

_BUILTIN = {"InvalidArgumentError": ValueError, "TimezoneError": ValueError, "ColumnNotFoundError": KeyError,
            "NotFoundError": KeyError, "OutOfRangeError": IndexError, "FailedPreconditionError": RuntimeError,
            "DataLossError": ValueError}
_CODE = {"InvalidArgumentError": "kInvalidArgument", "TimezoneError": "kInvalidArgument",
         "ColumnNotFoundError": "kNotFound", "NotFoundError": "kNotFound", "OutOfRangeError": "kOutOfRange",
         "FailedPreconditionError": "kFailedPrecondition", "DataLossError": "kDataLoss"}


def test_catalogue_is_large_and_complete() -> None:
    assert len(ENTRIES) >= 40
    # Ids are E01, E02, ... with none missing; a kind added later joins its section, so
    # the page need not list them in numeric order.
    numbered = sorted(ENTRIES, key=lambda i: int(i[1:]))
    assert numbered == [f"E{i:02d}" for i in range(1, len(ENTRIES) + 1)], "ids are E01, E02, ... without gaps"
    assert set(PYTHON_ENTRIES) - set(CASES) == set(), "catalogue ids without a case"
    assert set(CASES) - set(PYTHON_ENTRIES) == set(), "cases without a (Python) catalogue entry"
    inputs = {e.input for e in ENTRIES.values()}
    assert inputs == {"events", "stage model", "plan", "survey", "serialized state", "options", "CLI"}


@pytest.mark.parametrize("entry_id", sorted(ENTRIES))
def test_entry_is_well_formed(entry_id: str) -> None:
    e = ENTRIES[entry_id]
    literal = re.sub(r"<[a-z_ ]+>", "", e.message)
    assert len(literal) >= 10, f"{entry_id}: the documented message is mostly placeholders"
    assert e.wrong and e.fix
    if e.exception.startswith("exit code"):
        assert e.input == "CLI" and e.code == "—"
        return
    if entry_id in CPP_ONLY:
        assert e.code.startswith("k")
        return
    assert hasattr(errors, e.exception), f"{entry_id}: no salesperf.errors.{e.exception}"
    assert e.code in (_CODE[e.exception], "—"), f"{entry_id}: {e.exception} comes from {_CODE[e.exception]}"


def _check_message(entry: Entry, message: str) -> None:
    assert message_regex(entry.message).match(message), (
        f"{entry.id}: message\n  {message!r}\ndoes not match the documented\n  {entry.message!r}")


def test_cpp_only_entries_are_the_cpp_tests_cases() -> None:
    # Each C++-only entry is a Kind{"<id>", absl::StatusCode::<code>, R"(<message>)", ...}
    # of the C++ test, with the catalogue's code and message verbatim, and back.
    source = CPP_TEST.read_text(encoding="utf-8")
    kinds = re.findall(r'Kind\{"(E\d\d)", absl::StatusCode::(k\w+),\s*R"\((.*?)\)"', source)
    assert len(kinds) == len(CPP_ONLY) >= 1
    assert {k[0]: (k[1], k[2]) for k in kinds} == {i: (ENTRIES[i].code, ENTRIES[i].message) for i in CPP_ONLY}


@pytest.mark.parametrize("entry_id", PYTHON_ENTRIES)
def test_entry_case(entry_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entry = ENTRIES[entry_id]
    c = CASES[entry_id]
    if c.files:
        code = re.fullmatch(r"exit code (\d+)", entry.exception)
        assert code, entry.exception
        from salesperf.__main__ import main

        argv = c.run(tmp_path)
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse's own errors
            rc = e.code
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == int(code.group(1))
        _check_message(entry, err[-1])
        return
    cls = getattr(errors, entry.exception)
    if c.rejected is not None:
        reason, column, row = c.rejected
        # The catalogue says what the report shows.
        assert f"`{reason}`" in entry.wrong and f"column `{column}`" in entry.wrong, entry.wrong
        log = c.run(False)
        report = log.report
        # Every input row (4; 5 with the repeated one) is accounted for.
        assert report.rows_in == (5 if reason == "duplicate_event" else 4)
        assert report.rows_in == report.rows_accepted + report.rows_rejected
        assert report.rows_rejected == 1 and len(log) == report.rows_accepted
        rejected = report.rejected
        assert rejected[["row", "reason", "column"]].values.tolist() == [[row, reason, column]]
        by_reason = report.by_reason.set_index("reason")["rows"]
        assert by_reason[reason] == 1 and by_reason.sum() == 1
        assert row not in set(log.to_pandas()["row"])
        with pytest.raises(cls) as info:
            c.run(True)
        assert info.value.row == row and info.value.column == column
    else:
        with pytest.raises(cls) as info:
            c.run()
    assert type(info.value) is cls, f"{entry_id}: raised {type(info.value).__name__}, documented {entry.exception}"
    if entry.exception in _BUILTIN:
        assert isinstance(info.value, _BUILTIN[entry.exception])
    _check_message(entry, str(info.value))


# Errors about one input row carry its 0-based position and column (salesperf.errors.Error).
ROW_ERRORS = {"E24": (1, "time"), "E25": (1, "amount"), "E69": (1, "value"), "E71": (1, "statement"),
              "E72": (1, "respondent"), "E73": (1, "statement"), "E74": (1, "role"), "E75": (1, "value")}


@pytest.mark.parametrize("entry_id", sorted(ROW_ERRORS))
def test_row_errors_name_row_and_column(entry_id: str) -> None:
    assert "row <row>" in ENTRIES[entry_id].message
    with pytest.raises(errors.Error) as info:
        CASES[entry_id].run()
    assert (info.value.row, info.value.column) == ROW_ERRORS[entry_id]


def test_errors_without_a_row_have_none() -> None:
    with pytest.raises(errors.Error) as info:
        CASES["E15"].run()
    assert info.value.row is None and info.value.column is None


def test_not_found_message_is_not_quoted() -> None:
    # KeyError's str() quotes its argument; salesperf's KeyErrors show the text.
    e = errors.NotFoundError("the log has no dimension 'x'")
    assert str(e) == "the log has no dimension 'x'" and isinstance(e, KeyError)
    assert str(errors.NotFoundError()) == ""


def test_empty_columns_from_lists_are_an_empty_log() -> None:
    # pandas makes [] a float64 column: no values, so no floating-point times.
    log = salesperf.EventLog.from_pandas(pd.DataFrame({"deal": [], "time": [], "action": []}), vocabulary=VOCAB)
    assert (log.report.rows_in, log.report.rows_accepted, log.report.rows_rejected, len(log)) == (0, 0, 0, 0)


def test_tz_is_applied_when_it_is_a_zone() -> None:
    # The E29 check does not refuse good zones: 09:00 in Amsterdam in January is 08:00Z.
    log = ingest(events(time=["2026-01-01 09:00", "2026-01-02 09:00", "2026-01-05 09:00", "2026-01-03 09:00"]),
                 tz="Europe/Amsterdam")
    assert log.to_pandas()["time"].iloc[0] == pd.Timestamp("2026-01-01 08:00", tz="UTC")


def test_benchmark_checks_name_the_stage_and_keep_good_rates() -> None:
    _, log, tl = company()
    counts = salesperf.leak_counts(log, tl)
    with pytest.raises(errors.InvalidArgumentError, match=r"benchmark: 2 target rates for the 6 open stages"):
        counts.assess(benchmark=[0.5, 0.5])
    with pytest.raises(errors.InvalidArgumentError, match=r"stage 'Lead' has the target rate -0.1"):
        counts.assess(benchmark=[-0.1, 0.5, 0.5, 0.5, 0.5, 0.5])
    # Rates in [0, 1] (and stages left out, NaN) are fine.
    assert counts.assess(benchmark={"Engaged": 1.0}).benchmark == "target"


def test_from_bytes_takes_bytes_like() -> None:
    data = state_bytes()
    assert salesperf.Funnel.from_bytes(bytearray(data)) == salesperf.Funnel.from_bytes(memoryview(data))


def test_message_regex_is_strict() -> None:
    # The matcher itself: placeholders match something, literals match only themselves.
    rx = message_regex("row <row>, column '<column>': null_deal")
    assert rx.match("row 3, column 'deal': null_deal")
    assert not rx.match("row 3, column 'deal': null_time")
    assert not rx.match("row , column 'deal': null_deal")
    assert not rx.match("a row 3, column 'deal': null_deal")


def test_mixed_offsets_are_not_an_error() -> None:
    # The notes of the catalogue: text times with different UTC offsets are one
    # instant each, converted to UTC; unsorted input is sorted, not rejected.
    df = events(time=["2026-01-01T10:00+02:00", "2026-01-01T09:30Z", "2026-01-01T03:00-05:00",
                      "2026-01-03T00:00Z"])
    log = ingest(df)
    assert log.report.rows_rejected == 0 and not log.report.input_was_sorted
    got = log.to_pandas()
    # In UTC the rows are 08:00, 09:30, 08:00 (deal d1) and d2's: sorted per deal by
    # time, ties in input order, so d1 is rows 0, 2, 1.
    assert got["row"].tolist() == [0, 2, 1, 3]
    assert got["time"].tolist() == list(pd.to_datetime(
        ["2026-01-01T08:00Z", "2026-01-01T08:00Z", "2026-01-01T09:30Z", "2026-01-03T00:00Z"], utc=True))


def test_empty_log_is_accounted_for() -> None:
    log = ingest(events().iloc[:0])
    assert (log.report.rows_in, log.report.rows_accepted, log.report.rows_rejected) == (0, 0, 0)
    assert len(log) == 0 and log.num_deals == 0


if __name__ == "__main__":  # print every case's outcome, to write the catalogue from
    import tempfile

    for cid, c in CASES.items():
        try:
            if c.files:
                from salesperf.__main__ import main

                with tempfile.TemporaryDirectory() as d:
                    try:
                        rc = main(c.run(Path(d)))
                    except SystemExit as e:
                        rc = e.code
                    print(cid, "exit", rc)
                continue
            out = c.run(True) if c.rejected else c.run()
            print(cid, "NO ERROR", repr(out)[:100])
        except Exception as e:  # noqa: BLE001
            print(cid, type(e).__name__, getattr(e, "row", None), getattr(e, "column", None), "|", str(e)[:300])
