"""CRM snapshots to events: one row per opportunity becomes the events it implies.

Most CRM exports are *snapshots*: one row per opportunity with its current stage,
a few dates, a value, an owner and an account, but no history. salesperf works on
event logs, so :func:`snapshot_to_events` turns each row into the events the row
implies (``reached:<stage>`` for every stage the deal reached, then ``won`` or
``lost``), with rules that are stated, not guessed:

* a **won** deal reached every open stage, then ``won`` at the close date;
* a **lost** deal reached the first stage and every stage up to the last one whose
  date column is filled, then ``lost`` at the close date;
* an **open** deal reached every stage up to its current one;
* a stage's time is its own date column when it has one and it is filled, else the
  earliest later known date of the deal, else ``as_of`` (default: the latest date
  in the snapshot); the times of a deal are then made non-decreasing;
* the deal's value is the ``amount`` of each of its events (a missing value is
  ``pd.NA`` in a nullable ``Float64`` column: a missing amount, not a NaN).

Every stage event has the actor ``stage_actor`` (default ``"buyer"``). That is a
claim: a CRM stage is what the rep recorded, and it is buyer behaviour only when
the CRM requires buyer evidence to set it (a reply, a stated need, a signature).

>>> import pandas as pd, salesperf
>>> snap = pd.DataFrame({
...     "opportunity_id": ["A", "B"],
...     "deal_stage": ["Won", "Engaging"],
...     "engage_date": ["2017-01-02", "2017-02-01"],
...     "close_date": ["2017-01-20", None],
...     "close_value": [1200.0, None],
...     "sales_agent": ["Ann", "Bo"],
...     "account": ["Acme", "Initech"],
... })
>>> ev = salesperf.crm.snapshot_to_events(
...     snap, stages=["Prospecting", "Engaging"], stage_dates={"Engaging": "engage_date"})
>>> ev[["deal", "action", "amount"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
[['A', 'reached:Prospecting', 1200.0], ['A', 'reached:Engaging', 1200.0],
 ['A', 'won', 1200.0], ['B', 'reached:Prospecting', <NA>], ['B', 'reached:Engaging', <NA>]]
>>> log = salesperf.EventLog.from_pandas(ev)   # the actor column gives the vocabulary
>>> log.report.rows_rejected
0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _columns
from .errors import ColumnNotFoundError, InvalidArgumentError

__all__ = ["REACHED_PREFIX", "snapshot_to_events", "snapshot_vocabulary", "stage_action"]

#: Prefix of the action of a stage reached: ``reached:<stage>``.
REACHED_PREFIX = "reached:"
_WON_ACTION = "won"
_LOST_ACTION = "lost"
_ACTORS = ("buyer", "seller", "system")
_RESERVED = ("deal", "time", "action", "actor", "rep", "account", "amount", "snapshot_row")
_NAT = np.iinfo(np.int64).min


def stage_action(stage: str) -> str:
    """The action of reaching ``stage``: ``"reached:" + stage``.

    >>> stage_action("Engaging")
    'reached:Engaging'
    """
    return f"{REACHED_PREFIX}{stage}"


def snapshot_vocabulary(
    stages: Sequence[str], *, stage_actor: str = "buyer", outcome_actor: str = "buyer"
) -> dict[str, str]:
    """The vocabulary of the events :func:`snapshot_to_events` makes: ``{action: actor}``.

    Pass it as ``vocabulary=`` to :meth:`salesperf.EventLog.from_pandas` when the
    events lose their ``actor`` column (for instance after a selection of columns);
    with the ``actor`` column present, ``from_pandas`` builds the same vocabulary.

    >>> snapshot_vocabulary(["Prospecting", "Engaging"])
    {'reached:Prospecting': 'buyer', 'reached:Engaging': 'buyer', 'won': 'buyer', 'lost': 'buyer'}
    """
    _check_actor(stage_actor, "stage_actor")
    _check_actor(outcome_actor, "outcome_actor")
    stages = _check_stages(stages)
    out = {stage_action(s): stage_actor for s in stages}
    out[_WON_ACTION] = outcome_actor
    out[_LOST_ACTION] = outcome_actor
    return out


def snapshot_to_events(
    df: pd.DataFrame,
    *,
    deal: str = "opportunity_id",
    stage: str = "deal_stage",
    stages: Sequence[str],
    won: str = "Won",
    lost: str = "Lost",
    stage_dates: Mapping[str, str] | None = None,
    close_date: str | None = "close_date",
    value: str | None = "close_value",
    owner: str | None = "sales_agent",
    account: str | None = "account",
    dimensions: Sequence[str] = (),
    as_of: Any = None,
    tz: str = "UTC",
    date_format: str | None = None,
    stage_actor: str = "buyer",
    outcome_actor: str = "buyer",
) -> pd.DataFrame:
    """Turn a CRM snapshot (one row per opportunity) into events for :class:`~salesperf.EventLog`.

    Parameters
    ----------
    df:
        The snapshot: one row per opportunity.
    deal, stage:
        The opportunity id column and its current-stage column.
    stages:
        The open stages in funnel order, e.g. ``["Prospecting", "Engaging"]``.
    won, lost:
        The labels of the closed stages in the ``stage`` column.
    stage_dates:
        ``{stage: date column}`` for the stages whose entry date the CRM keeps,
        e.g. ``{"Engaging": "engage_date"}``.
    close_date:
        The date column of the close (won or lost); ``None`` when there is none.
    value, owner, account:
        The deal value (becomes ``amount``), the owning rep (``rep``) and the
        account (``account``) columns; ``None`` leaves one out.
    dimensions:
        Extra snapshot columns copied onto every event of the row (product,
        region, ...); pass the same names to ``from_pandas(dimensions=...)``.
    as_of:
        When the snapshot was taken: the time of stages with no known date.
        Default: the latest date in the snapshot. Naive values are in ``tz``.
    tz:
        The zone of naive dates (date columns and ``as_of``).
    date_format:
        A ``pandas.to_datetime`` format for text dates (default ISO 8601).
    stage_actor, outcome_actor:
        The actor of the ``reached:<stage>`` events and of ``won`` / ``lost``
        (default ``"buyer"`` for both; see the caveat in the module docs).

    Returns
    -------
    pandas.DataFrame
        One row per event, ordered by snapshot row then event, with columns
        ``deal``, ``time`` (tz-aware UTC), ``action``, ``actor``, ``rep``,
        ``account``, ``amount`` (nullable ``Float64``; ``pd.NA`` = no value), the
        ``dimensions``, and ``snapshot_row`` (the 0-based snapshot row it came
        from). ``EventLog.from_pandas(events, dimensions=[...])`` ingests it.

    Rules
    -----
    * Won: every stage of ``stages``, then ``won`` at ``close_date``.
    * Lost: the first stage and every stage up to the last one whose date column
      is filled, then ``lost`` at ``close_date``.
    * Open (the stage is one of ``stages``): every stage up to the current one.
    * A stage's time: its own date column if present and filled, else the
      earliest later known date of the deal (a later stage's date or the close
      date), else ``as_of``; then the deal's times are made non-decreasing
      (a date earlier than the one before it is moved up to it).
    * A won or lost deal without a close date gets a null ``won`` / ``lost``
      time, which ingestion rejects as ``null_time`` (listed in the report,
      never invented).

    Raises
    ------
    InvalidArgumentError
        A stage label that is none of ``stages`` / ``won`` / ``lost`` (naming the
        row and the value), a repeated opportunity id, a date that does not parse
        (naming row, column and value), or bad options.
    ColumnNotFoundError
        A column named in the arguments is not in ``df``.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"id": ["L"], "stage": ["Lost"], "engaged": [None],
    ...                      "closed": ["2017-03-01"], "value": [0.0]})
    >>> ev = snapshot_to_events(snap, deal="id", stage="stage", stages=["Prospecting", "Engaging"],
    ...                         stage_dates={"Engaging": "engaged"}, close_date="closed",
    ...                         value="value", owner=None, account=None)
    >>> ev[["action", "time"]].astype(str).values.tolist()
    [['reached:Prospecting', '2017-03-01 00:00:00+00:00'], ['lost', '2017-03-01 00:00:00+00:00']]
    """
    if not isinstance(df, pd.DataFrame):
        raise InvalidArgumentError(f"df must be a pandas DataFrame, not {type(df).__name__}")
    stages = _check_stages(stages)
    _check_actor(stage_actor, "stage_actor")
    _check_actor(outcome_actor, "outcome_actor")
    won, lost = str(won), str(lost)
    if won == lost or won in stages or lost in stages:
        raise InvalidArgumentError(
            f"won={won!r} and lost={lost!r} must differ from each other and from the open "
            f"stages {stages}")
    stage_dates = dict(stage_dates or {})
    for s in stage_dates:
        if s not in stages:
            raise InvalidArgumentError(
                f"stage_dates names stage {s!r}, which is not one of the open stages {stages}")
    dims = [str(d) for d in dimensions]
    clash = [d for d in dims if d in _RESERVED]
    if clash:
        raise InvalidArgumentError(
            f"dimension {clash[0]!r} has the name of an event column; rename it first "
            f"(event columns: {list(_RESERVED)})")
    if len(set(dims)) != len(dims):
        raise InvalidArgumentError(f"dimensions are repeated: {dims}")

    def need(column: str | None, role: str) -> None:
        if column is not None and column not in df.columns:
            raise ColumnNotFoundError(
                f"column {column!r} (for {role}) is not in the snapshot; columns are "
                f"{[str(c) for c in df.columns]}")

    need(deal, "deal")
    need(stage, "stage")
    need(close_date, "close_date")
    need(value, "value")
    need(owner, "owner")
    need(account, "account")
    for s, col in stage_dates.items():
        need(col, f"the date of stage {s!r}")
    for d in dims:
        need(d, "dimension")

    n = len(df)
    k = len(stages)
    # --- the current stage of each row: 0..k-1 open, k won, k+1 lost.
    labels = df[stage]
    position = {s: i for i, s in enumerate(stages)}
    position[won] = k
    position[lost] = k + 1
    text = labels.astype("string")
    pos = text.map(position)  # NA where unknown or missing
    bad = pos.isna().to_numpy(dtype=bool)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raw = labels.iloc[row]
        what = "is missing" if pd.isna(raw) else f"is {raw!r}"
        _raise_row(
            row, stage,
            f"row {row}, column {stage!r}: the stage {what}, which is none of the open "
            f"stages {stages}, won={won!r} or lost={lost!r} ({int(bad.sum())} such rows)")
    cur = pos.to_numpy(dtype=np.int64)

    ids = df[deal]
    dup = ids.duplicated(keep="first").to_numpy(dtype=bool) & ids.notna().to_numpy(dtype=bool)
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((ids == ids.iloc[row]).to_numpy(dtype=bool))[0])
        _raise_row(
            row, deal,
            f"row {row}, column {deal!r}: opportunity {ids.iloc[row]!r} repeats row {first}; "
            "a snapshot has one row per opportunity")

    # --- known dates: one column per open stage, then the close.
    known = np.full((n, k + 1), _NAT, dtype=np.int64)
    for s, col in stage_dates.items():
        known[:, position[s]] = _dates_ns(df[col], col, tz=tz, date_format=date_format)
    if close_date is not None:
        known[:, k] = _dates_ns(df[close_date], close_date, tz=tz, date_format=date_format)
    has = known != _NAT

    # --- which events each row implies.
    is_won = cur == k
    is_lost = cur == k + 1
    is_open = cur < k
    reached = np.zeros((n, k + 1), dtype=bool)
    idx = np.arange(k)
    reached[:, :k] |= is_won[:, None]
    reached[:, :k] |= is_open[:, None] & (idx[None, :] <= cur[:, None])
    if is_lost.any():
        filled = has[:, :k]
        last = np.where(filled.any(axis=1), k - 1 - np.argmax(filled[:, ::-1], axis=1), 0)
        reached[:, :k] |= is_lost[:, None] & (idx[None, :] <= last[:, None])
    reached[:, k] = ~is_open

    # --- times: own date, else the earliest later known date, else as_of; then non-decreasing.
    as_of_ns = _as_of_ns(as_of, known, tz)
    usable = has & reached
    later = np.where(usable, known, np.iinfo(np.int64).max)
    later = np.minimum.accumulate(later[:, ::-1], axis=1)[:, ::-1]  # min over j' >= j
    times = np.where(usable, known, later)
    no_date = times == np.iinfo(np.int64).max
    if (no_date & reached)[:, :k].any():
        if as_of_ns is None:
            raise InvalidArgumentError(
                "the snapshot has no dates at all: pass as_of= (when the snapshot was taken)")
        times[:, :k] = np.where(no_date[:, :k], as_of_ns, times[:, :k])
    times[:, k] = np.where(has[:, k], known[:, k], _NAT)  # the close: its own date or null
    floor = np.where(reached & (times != _NAT) & (times != np.iinfo(np.int64).max),
                     times, _NAT)
    floor = np.maximum.accumulate(floor, axis=1)
    times = np.where(times == _NAT, _NAT, np.maximum(times, floor))

    # --- the events, row by row in stage order.
    rows, cols = np.nonzero(reached)  # row-major: by row, then stage order
    actions = np.array([stage_action(s) for s in stages] + [_WON_ACTION], dtype=object)
    action = actions[cols].copy()
    action[(cols == k) & is_lost[rows]] = _LOST_ACTION
    actor = np.where(cols == k, outcome_actor, stage_actor).astype(object)
    out: dict[str, Any] = {
        "deal": ids.iloc[rows].reset_index(drop=True),
        "time": pd.Series(pd.to_datetime(times[rows, cols].view("datetime64[ns]")),
                          dtype="datetime64[ns]").dt.tz_localize("UTC"),
        "action": pd.Series(action, dtype="string"),
        "actor": pd.Series(actor, dtype="string"),
    }
    if owner is not None:
        out["rep"] = df[owner].iloc[rows].reset_index(drop=True)
    if account is not None:
        out["account"] = df[account].iloc[rows].reset_index(drop=True)
    if value is not None:
        out["amount"] = _values(df[value], value).iloc[rows].reset_index(drop=True)
    for d in dims:
        out[d] = df[d].iloc[rows].reset_index(drop=True)
    out["snapshot_row"] = pd.Series(rows.astype(np.int64))
    return pd.DataFrame(out)


# ---------------------------------------------------------------------- helpers
def _raise_row(row: int, column: str, message: str) -> None:
    err = InvalidArgumentError(message)
    err.row = row
    err.column = column
    raise err


def _check_actor(actor: str, name: str) -> None:
    if actor not in _ACTORS:
        raise InvalidArgumentError(f"{name} must be one of {list(_ACTORS)}, not {actor!r}")


def _check_stages(stages: Sequence[str]) -> list[str]:
    if isinstance(stages, str):
        raise InvalidArgumentError(f"stages must be a list of stage names, not the string {stages!r}")
    out = [str(s) for s in stages]
    if not out:
        raise InvalidArgumentError("stages is empty: give the open stages in funnel order")
    if len(set(out)) != len(out):
        raise InvalidArgumentError(f"stages are repeated: {out}")
    return out


def _dates_ns(col: pd.Series, name: str, *, tz: str, date_format: str | None) -> np.ndarray:
    """UTC nanoseconds of a date column (NaT where missing); naive dates are in ``tz``.

    Parsed by the same rules as event times (``_columns.time_spec``); a date that
    cannot be placed in time is an error naming its row, since a snapshot row has no
    other source for it.
    """
    ns, flags = _columns.time_spec(col, tz=tz, time_format=date_format, time_unit="ns")
    if flags is not None:
        row = int(np.flatnonzero(flags)[0])
        what = "is ambiguous in zone " + repr(tz) if flags[row] == _columns.FLAG_AMBIGUOUS \
            else "is not a date"
        _raise_row(row, name, f"row {row}, column {name!r}: {col.iloc[row]!r} {what} "
                              f"({int((flags != 0).sum())} such rows)")
    return np.array(ns, dtype=np.int64, copy=True)


def _as_of_ns(as_of: Any, known: np.ndarray, tz: str) -> int | None:
    if as_of is None:
        present = known[known != _NAT]
        return int(present.max()) if present.size else None
    try:
        ts = pd.Timestamp(as_of)
    except (ValueError, TypeError) as e:
        raise InvalidArgumentError(f"as_of={as_of!r} is not a time: {e}") from e
    if pd.isna(ts):
        raise InvalidArgumentError("as_of is missing (NaT): give a time or leave it None")
    if ts.tzinfo is None:
        ts = ts.tz_localize(tz)
    return int(ts.tz_convert("UTC").as_unit("ns").value)


def _values(col: pd.Series, name: str) -> pd.Series:
    """Deal values as nullable Float64: NaN and None become pd.NA (a missing amount)."""
    if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        numbers = pd.to_numeric(col, errors="coerce")
        text = col.astype("string")
        bad = (numbers.isna() & text.notna() & (text.str.strip() != "")).to_numpy(dtype=bool)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            _raise_row(row, name, f"row {row}, column {name!r}: {col.iloc[row]!r} is not a number")
        col = numbers
    values = col.astype("Float64")
    return values.mask(values.isna(), pd.NA)
