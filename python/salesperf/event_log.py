"""The event log: buyer, seller and system actions per deal, and how it was ingested.

>>> import pandas as pd, salesperf
>>> df = pd.DataFrame({
...     "deal": ["D1", "D1", "D2"],
...     "time": pd.to_datetime(["2026-01-05", "2026-01-02", "2026-01-03"], utc=True),
...     "action": ["reply", "email", "email"],
... })
>>> log = salesperf.EventLog.from_pandas(
...     df, vocabulary={"reply": "buyer", "email": "seller"})
>>> len(log), log.report.rows_rejected
(3, 0)
>>> log.to_pandas()["action"].tolist()   # sorted by deal, then time
['email', 'reply', 'email']
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Union

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from . import _columns, _core
from .errors import ColumnNotFoundError, InvalidArgumentError

ACTORS = ("buyer", "seller", "system")
_OPTIONAL_IDS = ("rep", "account", "contact", "contact_role")
_DEFAULT_MIN_TIME = pd.Timestamp("1970-01-01", tz="UTC")
_DEFAULT_MAX_TIME = pd.Timestamp("2200-01-01", tz="UTC")


class _Default(str):
    """A default column name: used when the column exists, skipped when it does not."""


class Vocabulary:
    """Which actions exist and who performs each: ``buyer``, ``seller`` or ``system``.

    An action is known when it is listed by name, or else when it starts with a
    prefix of a prefix rule (the longest matching prefix wins). Rows whose action
    is neither are rejected as ``unknown_action`` and listed in the ingest report;
    nothing is guessed.

    >>> v = Vocabulary({"O_SENT_BACK": "buyer"}, prefixes={"W_": "seller", "O_": "system"})
    >>> v.resolve("O_SENT_BACK"), v.resolve("O_SENT"), v.resolve("W_Nabellen offertes")
    ('buyer', 'system', 'seller')
    >>> v.resolve("X") is None
    True
    """

    def __init__(
        self,
        actions: Mapping[str, str] | None = None,
        *,
        prefixes: Mapping[str, str] | None = None,
    ) -> None:
        self._core = _core.Vocabulary()
        for name, actor in (actions or {}).items():
            self._core.add(str(name), str(actor))
        for prefix, actor in (prefixes or {}).items():
            self._core.add_prefix(str(prefix), str(actor))

    @classmethod
    def from_pairs(cls, actions: Iterable[Any], actors: Iterable[Any]) -> Vocabulary:
        """A vocabulary from an action column and an actor column of the same rows.

        An action seen with two different actors is an error naming both.
        """
        pairs = _distinct_pairs(actions, actors)
        clash = pairs[pairs.duplicated("action", keep=False)]
        if not clash.empty:
            name = clash["action"].iloc[0]
            got = sorted(clash.loc[clash["action"] == name, "actor"].astype(str))
            raise InvalidArgumentError(
                f"column 'actor': action {name!r} appears with different actors {got}")
        return cls({str(a): str(b).lower() for a, b in zip(pairs["action"], pairs["actor"])})

    def resolve(self, action: str) -> str | None:
        """The actor of ``action``, or ``None`` when it is unknown."""
        return self._core.resolve(action)

    @property
    def actions(self) -> dict[str, str]:
        """Actions listed by name, with their actors, in the order listed."""
        return dict(self._core.actions)

    @property
    def prefixes(self) -> dict[str, str]:
        """Prefix rules, with their actors."""
        return dict(self._core.prefixes)

    def __len__(self) -> int:
        return len(self._core.actions)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self.actions == other.actions and self.prefixes == other.prefixes

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        by_actor: dict[str, int] = {a: 0 for a in ACTORS}
        for actor in self.actions.values():
            by_actor[actor] += 1
        counts = ", ".join(f"{n} {a}" for a, n in by_actor.items())
        rules = f", prefixes {self.prefixes}" if self.prefixes else ""
        return f"Vocabulary({len(self)} actions: {counts}{rules})"

    def _repr_html_(self, max_rows: int = 40) -> str:
        actions = list(self.actions.items())
        rows: list[Sequence[Any]] = [(a, actor) for a, actor in actions[:max_rows]]
        if len(actions) > max_rows:
            rows.append((f"... {len(actions) - max_rows} more", ""))
        rows += [(f"{prefix}*", actor) for prefix, actor in self.prefixes.items()]
        return f"<div><b>{html.escape(repr(self))}</b>{_html_table(('action', 'actor'), rows)}</div>"


def _distinct_pairs(actions: Iterable[Any], actors: Iterable[Any]) -> pd.DataFrame:
    """The distinct (action, actor) pairs of two columns, nulls dropped, in the order of
    their first row. Columnar: categorical columns (and Arrow dictionaries) pair their
    codes; other columns are hashed by pandas. No Python object per row."""
    a = actions if isinstance(actions, pd.Series) else pd.Series(
        actions if isinstance(actions, (np.ndarray, pd.Categorical, pd.Index)) else list(actions))
    b = actors if isinstance(actors, pd.Series) else pd.Series(
        actors if isinstance(actors, (np.ndarray, pd.Categorical, pd.Index)) else list(actors))
    if len(a) != len(b):
        raise InvalidArgumentError(f"column 'actor': {len(b)} rows, but 'action' has {len(a)}")
    if isinstance(a.dtype, pd.CategoricalDtype) and isinstance(b.dtype, pd.CategoricalDtype):
        ca = a.cat.codes.to_numpy().astype(np.int64)
        cb = b.cat.codes.to_numpy().astype(np.int64)
        width = len(b.cat.categories)
        both = (ca >= 0) & (cb >= 0)
        key: npt.NDArray[np.int64] = ca[both] * width + cb[both]
        seen = np.asarray(pd.unique(key), dtype=np.int64)  # in order of first appearance
        return pd.DataFrame({"action": a.cat.categories.take(seen // width),
                             "actor": b.cat.categories.take(seen % width)})
    frame = pd.DataFrame({"action": a.to_numpy(), "actor": b.to_numpy()}).dropna()
    return frame.drop_duplicates().reset_index(drop=True)


def _html_table(header: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None) -> str:
    """A small HTML table, every cell escaped (used by the ``_repr_html_`` methods)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


VocabularyLike = Union[Vocabulary, Mapping[str, str], None]


def _as_vocabulary(vocabulary: VocabularyLike, frame_actions: Any, frame_actors: Any) -> Vocabulary:
    if isinstance(vocabulary, Vocabulary):
        return vocabulary
    if vocabulary is not None:
        return Vocabulary(vocabulary)
    if frame_actors is not None:
        return Vocabulary.from_pairs(frame_actions, frame_actors)
    raise InvalidArgumentError(
        "no vocabulary: pass vocabulary={action: 'buyer' | 'seller' | 'system'} (or a "
        "salesperf.Vocabulary with prefix rules), or include an 'actor' column")


class IngestReport:
    """The accounting of one ingestion: ``rows_in == rows_accepted + rows_rejected``.

    ``rejected`` is a DataFrame of the rejected rows: their 0-based input row, the
    reason, the column at fault, the row a duplicate repeats, and the row's input
    values. ``by_reason`` counts rows per reason.
    """

    def __init__(self, core: Any, source: Any = None) -> None:
        self._core = core
        self._source = source

    rows_in = property(lambda self: int(self._core.rows_in), doc="Rows in the input.")
    rows_accepted = property(lambda self: int(self._core.rows_accepted), doc="Rows that became events.")
    rows_rejected = property(lambda self: int(self._core.rows_rejected), doc="Rows rejected, with a reason each.")
    deals = property(lambda self: int(self._core.deals), doc="Deals with at least one accepted event.")
    input_was_sorted = property(
        lambda self: bool(self._core.input_was_sorted),
        doc="Whether the input was already in (deal, time) order.")

    @property
    def unknown_actions(self) -> dict[str, int]:
        """Actions outside the vocabulary, with how many rows carried each."""
        return dict(self._core.unknown_actions)

    @property
    def prefix_matched_actions(self) -> list[str]:
        """Actions known only through a prefix rule of the vocabulary."""
        return list(self._core.prefix_matched_actions)

    @property
    def by_reason(self) -> pd.DataFrame:
        """Rejected rows per reason (every reason listed, zeros included)."""
        counts = self._core.rejected_by_reason
        return pd.DataFrame(
            {
                "reason": [r for r, _ in _core.REJECT_REASONS],
                "column": [c for _, c in _core.REJECT_REASONS],
                "rows": [int(counts[r]) for r, _ in _core.REJECT_REASONS],
            }
        )

    @property
    def rejected(self) -> pd.DataFrame:
        """One row per rejected input row: row, reason, column, duplicate_of, then its values."""
        rows, reasons, dup = self._core.rejected_rows
        names = [r for r, _ in _core.REJECT_REASONS]
        cols = [c for _, c in _core.REJECT_REASONS]
        out = pd.DataFrame(
            {
                "row": rows,
                "reason": pd.Categorical.from_codes(reasons.astype(np.int64),
                                                    categories=pd.Index(names)),
                "column": [cols[r] for r in reasons],
                "duplicate_of": pd.array(np.where(dup >= 0, dup, 0), dtype="Int64"),
            }
        )
        out.loc[dup < 0, "duplicate_of"] = pd.NA
        if self._source is not None and len(out):
            values = _take_rows(self._source, rows)
            if values is not None:
                values = values.add_prefix("input_") if any(c in out.columns for c in values.columns) \
                    else values
                out = pd.concat([out, values.reset_index(drop=True)], axis=1)
        return out

    def summary(self) -> str:
        """A few lines for people: the accounting and each reason with its count."""
        return str(self._core.summary())

    def __repr__(self) -> str:
        return (f"IngestReport(rows_in={self.rows_in:,}, accepted={self.rows_accepted:,}, "
                f"rejected={self.rows_rejected:,}, deals={self.deals:,})")

    def _repr_html_(self) -> str:
        table = self.by_reason
        rows = "".join(
            f"<tr><td>{html.escape(str(reason))}</td><td>{html.escape(str(column))}</td>"
            f"<td style='text-align:right'>{int(n):,}</td></tr>"
            for reason, column, n in zip(table["reason"], table["column"], table["rows"]) if n
        )
        unknown = "".join(
            f"<li><code>{html.escape(a)}</code>: {n:,} rows</li>" for a, n in self.unknown_actions.items()
        )
        return (
            "<div><b>IngestReport</b>: "
            f"{self.rows_in:,} rows in = {self.rows_accepted:,} accepted + "
            f"{self.rows_rejected:,} rejected; {self.deals:,} deals"
            + (f"<table><tr><th>reason</th><th>column</th><th>rows</th></tr>{rows}</table>" if rows else "")
            + (f"<p>Unknown actions:</p><ul>{unknown}</ul>" if unknown else "")
            + "</div>"
        )


def _take_rows(source: Any, rows: np.ndarray) -> pd.DataFrame | None:
    if isinstance(source, pd.DataFrame):
        return source.iloc[rows]
    if isinstance(source, pa.Table):
        taken: pd.DataFrame = source.take(pa.array(rows)).to_pandas()
        return taken
    if isinstance(source, Mapping):
        return pd.DataFrame({str(k): np.asarray(v)[rows] for k, v in source.items()})
    return None


ColumnArg = Union[str, None]


class EventLog:
    """Buyer, seller and system actions per deal: columnar, immutable, sorted by (deal, time).

    Build one with :meth:`from_pandas`, :meth:`from_arrow` (pyarrow, polars,
    DuckDB: anything with ``__arrow_c_stream__``), :meth:`read_csv` or
    :meth:`read_parquet`. Every input row is either an event or a rejected row
    in :attr:`report`.
    """

    def __init__(self, core: Any, report: IngestReport, vocabulary: Vocabulary) -> None:
        self._core = core
        self.report = report
        self.vocabulary = vocabulary
        #: After :meth:`append`: codes of the deals that gained events, and batch rows
        #: not added because the log already had them.
        self.touched_deals: np.ndarray | None = None
        self.duplicate_rows: np.ndarray | None = None

    # ----------------------------------------------------------------- building
    @classmethod
    def from_pandas(
        cls,
        data: pd.DataFrame | Mapping[str, Any],
        *,
        deal: str = "deal",
        time: str = "time",
        action: str = "action",
        rep: ColumnArg = _Default("rep"),
        account: ColumnArg = _Default("account"),
        contact: ColumnArg = _Default("contact"),
        contact_role: ColumnArg = _Default("contact_role"),
        amount: ColumnArg = _Default("amount"),
        actor: ColumnArg = _Default("actor"),
        dimensions: Sequence[str] = (),
        vocabulary: VocabularyLike = None,
        tz: str | None = None,
        time_format: str | None = None,
        time_unit: str = "ns",
        strict: bool = False,
        nan_amount: str = "reject",
        allow_negative_amount: bool = False,
        min_time: Any = _DEFAULT_MIN_TIME,
        max_time: Any = _DEFAULT_MAX_TIME,
        threads: int = 0,
    ) -> EventLog:
        """Ingest a pandas DataFrame (or a dict of columns / numpy arrays).

        Parameters
        ----------
        deal, time, action:
            Required columns. Ids may be strings, integers, categoricals or
            nullable integers.
        rep, account, contact, contact_role, amount:
            Optional columns; by default used when a column of that name exists.
            Pass ``None`` to leave one out, or another name to map it.
        actor:
            A column giving each row's actor; used to build the vocabulary when
            ``vocabulary`` is not given.
        dimensions:
            Extra id columns kept with the events (segment, territory, product, ...).
        vocabulary:
            A :class:`Vocabulary` or ``{action: actor}``.
        tz:
            The zone of naive times (datetimes or text without an offset). Without
            it naive datetimes raise :class:`~salesperf.errors.TimezoneError`, and
            naive text rows are rejected as ``naive_time``.
        time_format:
            A ``pandas.to_datetime`` format for text times (default ISO 8601).
        time_unit:
            Unit of integer times since 1970-01-01T00:00Z: ``s``, ``ms``, ``us`` or ``ns``.
        strict:
            Raise on the first bad row (an :class:`~salesperf.errors.InvalidArgumentError`
            with ``row`` and ``column``) instead of rejecting it.
        nan_amount:
            ``"reject"`` (default) rejects rows whose amount is NaN; ``"null"`` keeps
            them with a missing amount. A null (``pd.NA``) amount is always allowed.
        allow_negative_amount:
            Keep negative amounts (credits, refunds) instead of rejecting them.
        min_time, max_time:
            The plausible range of times; rows outside are rejected.
        threads:
            Worker threads for the C++ core (0 = every core); the result is the
            same for every value. The GIL is released while the core works.

        Examples
        --------
        >>> import salesperf, pandas as pd
        >>> df = pd.DataFrame({"deal": [1, 1], "time": ["2026-03-01T10:00+01:00", "bad"],
        ...                    "action": ["reply", "reply"]})
        >>> log = salesperf.EventLog.from_pandas(df, vocabulary={"reply": "buyer"})
        >>> log.report.rejected[["row", "reason", "column"]].values.tolist()
        [[1, 'unparseable_time', 'time']]
        """
        if isinstance(data, pd.DataFrame):
            twice = sorted({str(n) for n in data.columns[data.columns.duplicated()]})
            if twice:
                raise InvalidArgumentError(f"columns {twice} appear more than once in the data")
            columns = {str(name): data[name] for name in data.columns}
        else:  # a mapping of arrays: used as they are, so numpy buffers are not copied
            columns = {str(name): values for name, values in data.items()}
        return cls._build(
            columns, data, deal=deal, time=time, action=action, rep=rep, account=account,
            contact=contact, contact_role=contact_role, amount=amount, actor=actor,
            dimensions=dimensions, vocabulary=vocabulary, tz=tz, time_format=time_format,
            time_unit=time_unit, strict=strict, nan_amount=nan_amount,
            allow_negative_amount=allow_negative_amount, min_time=min_time, max_time=max_time,
            threads=threads)

    @classmethod
    def from_arrow(cls, data: Any, **kwargs: Any) -> EventLog:
        """Ingest anything with ``__arrow_c_stream__``: a pyarrow Table, a polars
        DataFrame, a DuckDB result, pandas >= 2.2 ...; same keywords as :meth:`from_pandas`.

        Numeric columns are handed to the core without a copy when they have one
        chunk and no nulls; string columns are dictionary-encoded by Arrow.
        """
        if isinstance(data, pa.Table):
            table = data
        elif isinstance(data, pa.RecordBatch):
            table = pa.Table.from_batches([data])
        elif hasattr(data, "__arrow_c_stream__"):
            table = pa.RecordBatchReader.from_stream(data).read_all()
        else:
            raise InvalidArgumentError(
                f"{type(data).__name__} is not Arrow data: it has no __arrow_c_stream__")
        columns = {name: table.column(name) for name in table.column_names}
        return cls._build(columns, table, **kwargs)

    @classmethod
    def read_csv(cls, path: str | os.PathLike[str], **kwargs: Any) -> EventLog:
        """Read a CSV file (optionally .gz) with pyarrow and ingest it.

        Every column is read as text first, so ids keep leading zeros and times are
        parsed by the same rules as text times in :meth:`from_pandas`; ``amount``
        is converted to a number. Same keywords as :meth:`from_pandas`.
        """
        import pyarrow.csv as pacsv

        header = pacsv.open_csv(path).schema.names
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in header}, strings_can_be_null=True),
        )
        amount = kwargs.get("amount", "amount")
        if amount and amount in table.column_names:
            amount_text = table.column(amount).to_pandas()
            numbers = pd.to_numeric(amount_text, errors="coerce")
            bad = numbers.isna() & amount_text.notna() & (amount_text.str.strip() != "")
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                err = InvalidArgumentError(
                    f"{os.fspath(path)}: row {row}, column {amount!r}: {amount_text.iloc[row]!r} "
                    "is not a number")
                err.row, err.column = row, str(amount)
                raise err
            idx = table.column_names.index(amount)
            # Blank cells are missing amounts (null), not NaN.
            table = table.set_column(idx, amount, pa.array(
                numbers.to_numpy(dtype=np.float64), pa.float64(), mask=numbers.isna().to_numpy()))
        return cls.from_arrow(table, **kwargs)

    @classmethod
    def read_parquet(cls, path: str | os.PathLike[str], **kwargs: Any) -> EventLog:
        """Read a Parquet file with pyarrow and ingest it (keywords of :meth:`from_pandas`)."""
        import pyarrow.parquet as pq

        return cls.from_arrow(pq.read_table(path), **kwargs)

    @classmethod
    def _build(
        cls,
        columns: Mapping[str, Any],
        source: Any,
        *,
        deal: str = "deal",
        time: str = "time",
        action: str = "action",
        rep: ColumnArg = _Default("rep"),
        account: ColumnArg = _Default("account"),
        contact: ColumnArg = _Default("contact"),
        contact_role: ColumnArg = _Default("contact_role"),
        amount: ColumnArg = _Default("amount"),
        actor: ColumnArg = _Default("actor"),
        dimensions: Sequence[str] = (),
        vocabulary: VocabularyLike = None,
        **options: Any,
    ) -> EventLog:
        """Maps column roles to the given columns (pandas Series or Arrow arrays)."""

        def pick(arg: ColumnArg, role: str, required: bool = False) -> Any:
            if arg is None:
                return None
            if str(arg) not in columns:
                if isinstance(arg, _Default) and not required:
                    return None
                raise ColumnNotFoundError(
                    f"column {str(arg)!r} (for {role}) is not in the data; "
                    f"columns are {sorted(columns)}")
            return columns[str(arg)]

        cols = {"deal": pick(deal, "deal", True), "time": pick(time, "time", True),
                "action": pick(action, "action", True)}
        for role, arg in zip(_OPTIONAL_IDS, (rep, account, contact, contact_role)):
            cols[role] = pick(arg, role)
        cols["amount"] = pick(amount, "amount")
        dims = [(str(d), pick(d, "dimension", True)) for d in dimensions]
        actor_col = pick(actor, "actor") if vocabulary is None else None
        action_col = cols["action"]
        if actor_col is not None and isinstance(actor_col, (pa.Array, pa.ChunkedArray)):
            actor_col, action_col = actor_col.to_pandas(), action_col.to_pandas()
        vocab = _as_vocabulary(vocabulary, action_col, actor_col)
        return cls._ingest(cols, dims, vocab, source, **options)

    @classmethod
    def _ingest(
        cls,
        cols: Mapping[str, Any],
        dims: Sequence[tuple[str, Any]],
        vocab: Vocabulary,
        source: Any,
        *,
        tz: str | None = None,
        time_format: str | None = None,
        time_unit: str = "ns",
        strict: bool = False,
        nan_amount: str = "reject",
        allow_negative_amount: bool = False,
        min_time: Any = _DEFAULT_MIN_TIME,
        max_time: Any = _DEFAULT_MAX_TIME,
        threads: int = 0,
    ) -> EventLog:
        if nan_amount not in ("reject", "null"):
            raise InvalidArgumentError(f"nan_amount must be 'reject' or 'null', not {nan_amount!r}")
        lengths = {role: len(c) for role, c in cols.items() if c is not None}
        lengths.update({name: len(c) for name, c in dims})
        if len(set(lengths.values())) > 1:
            raise InvalidArgumentError(f"columns have different lengths: {lengths}")
        time_ns, flags = _columns.time_spec(cols["time"], tz=tz, time_format=time_format,
                                            time_unit=time_unit)
        spec: dict[str, Any] = {
            "deal": _columns.id_spec(cols["deal"], "deal"),
            "action": _columns.id_spec(cols["action"], "action"),
            "time": time_ns,
            "time_flags": flags,
            "dimensions": [(name, _columns.id_spec(c, name)) for name, c in dims],
        }
        for role in _OPTIONAL_IDS:
            spec[role] = None if cols[role] is None else _columns.id_spec(cols[role], role)
        if cols["amount"] is not None:
            spec["amount"], spec["amount_valid"] = _columns.amount_spec(cols["amount"])
        core, report = _core.ingest(
            spec, vocab._core, _to_ns(min_time, "min_time"), _to_ns(max_time, "max_time"),
            nan_amount == "null", allow_negative_amount, strict, int(threads))
        return cls(core, IngestReport(report, source), vocab)

    def append(self, batch: EventLog) -> EventLog:
        """This log grown by ``batch`` (say, a nightly extract ingested on its own).

        Every deal, rep, action ... keeps its code, so results computed on this log
        can be updated instead of recomputed (:meth:`salesperf.Timelines.update`).
        The returned log's ``touched_deals`` lists the deals that gained events, and
        ``duplicate_rows`` the batch rows already present (equal in every column),
        which are not added twice. Its ``report`` is the batch's.

        >>> import pandas as pd, salesperf
        >>> vocab = {"reply": "buyer"}
        >>> day = lambda d: pd.Timestamp(d, tz="UTC")
        >>> base = salesperf.EventLog.from_pandas(pd.DataFrame(
        ...     {"deal": ["a"], "time": [day("2026-01-01")], "action": ["reply"]}), vocabulary=vocab)
        >>> batch = salesperf.EventLog.from_pandas(pd.DataFrame(
        ...     {"deal": ["b", "a"], "time": [day("2026-01-02")] * 2, "action": ["reply"] * 2}),
        ...     vocabulary=vocab)
        >>> grown = base.append(batch)
        >>> grown.dictionary("deal"), grown.touched_deals.tolist()
        (['a', 'b'], [0, 1])
        """
        core, touched, duplicates = _core.append_events(self._core, batch._core)
        out = EventLog(core, batch.report, self.vocabulary)
        out.touched_deals = touched
        out.duplicate_rows = duplicates
        return out

    # ---------------------------------------------------------------- reading
    def __len__(self) -> int:
        return len(self._core)

    @property
    def num_deals(self) -> int:
        """Deals with at least one event."""
        return int(self._core.num_deals)

    @property
    def dimension_names(self) -> list[str]:
        """Names of the extra dimension columns."""
        return list(self._core.dimension_names)

    def dictionary(self, column: str) -> list[Any]:
        """The values behind the dense codes of an id column (``deal``, ``rep``, ...)."""
        if column in self.dimension_names:
            return list(self._core.dimension(self.dimension_names.index(column))[1])
        return list(self._core.dictionary(column))

    def codes(self, column: str) -> np.ndarray | None:
        """Dense int32 codes of an id column (a read-only view, no copy); ``None`` if absent."""
        if column in ("deal", "action"):
            return getattr(self._core, column)  # type: ignore[no-any-return]
        if column in self.dimension_names:
            return self._core.dimension(self.dimension_names.index(column))[0]  # type: ignore[no-any-return]
        return self._core.optional_column(column)  # type: ignore[no-any-return]

    @property
    def time_ns(self) -> np.ndarray:
        """UTC nanoseconds per event (a read-only view)."""
        return self._core.time  # type: ignore[no-any-return]

    @property
    def deal_offsets(self) -> np.ndarray:
        """Deal ``d``'s events are positions ``deal_offsets[d]:deal_offsets[d + 1]``."""
        return self._core.deal_offsets  # type: ignore[no-any-return]

    @property
    def actions(self) -> pd.DataFrame:
        """Each action in the log with its actor and number of events."""
        names = self.dictionary("action")
        actors = np.asarray(self._core.action_actors)
        counts = np.bincount(self._core.action, minlength=len(names))
        return pd.DataFrame(
            {"action": names, "actor": [ACTORS[a] for a in actors], "events": counts})

    def _categorical(self, column: str) -> pd.Categorical | None:
        codes = self.codes(column)
        if codes is None:
            return None
        labels = self.dictionary(column)
        return pd.Categorical.from_codes(codes, categories=pd.Index(labels))

    def to_pandas(self) -> pd.DataFrame:
        """The events as a DataFrame: ids as categoricals, ``time`` tz-aware UTC,
        ``actor`` per event, and ``row`` (the input row each event came from)."""
        out: dict[str, Any] = {
            "deal": self._categorical("deal"),
            "time": pd.to_datetime(np.asarray(self.time_ns), utc=True),
            "action": self._categorical("action"),
        }
        actors = np.asarray(self._core.action_actors)[np.asarray(self._core.action)]
        out["actor"] = pd.Categorical.from_codes(actors.astype(np.int64),
                                                 categories=pd.Index(list(ACTORS)))
        for role in _OPTIONAL_IDS:
            cat = self._categorical(role)
            if cat is not None:
                out[role] = cat
        amount = self._core.optional_column("amount")
        if amount is not None:
            out["amount"] = amount
        for name in self.dimension_names:
            out[name] = self._categorical(name)
        out["row"] = self._core.row
        return pd.DataFrame(out)

    def summary(self) -> dict[str, pd.DataFrame]:
        """Events by actor and action; per rep: deals, events, buyer actions, seller
        activities and buyer actions per seller activity (NaN for a rep with none)."""
        actions = self.actions.sort_values(["actor", "events"], ascending=[True, False])
        result = {"actions": actions.reset_index(drop=True)}
        rep_codes = self.codes("rep")
        if rep_codes is not None:
            frame = pd.DataFrame({
                "rep": np.asarray(rep_codes),
                "deal": np.asarray(self._core.deal),
                "actor": np.asarray(self._core.action_actors)[np.asarray(self._core.action)],
            })
            frame = frame[frame["rep"] >= 0]
            per_rep = frame.groupby("rep").agg(
                deals=("deal", "nunique"),
                events=("deal", "size"),
                buyer_actions=("actor", lambda a: int((a == 0).sum())),
                seller_activities=("actor", lambda a: int((a == 1).sum())),
            )
            per_rep.index = pd.Index([self.dictionary("rep")[i] for i in per_rep.index], name="rep")
            # Buyer actions per seller activity: effort invested with little buyer
            # response shows up as a low ratio.
            per_rep["buyer_per_seller"] = (
                per_rep["buyer_actions"] / per_rep["seller_activities"].where(
                    per_rep["seller_activities"] > 0)).round(3)
            result["reps"] = per_rep.sort_values("deals", ascending=False)
        return result

    def __repr__(self) -> str:
        return (f"EventLog({len(self):,} events, {self.num_deals:,} deals, "
                f"{len(self.dictionary('action'))} actions; {self.report!r})")

    def _repr_html_(self) -> str:
        head = self.to_pandas().head(5).to_html(index=False)
        return (f"<div><b>EventLog</b>: {len(self):,} events, {self.num_deals:,} deals, "
                f"{len(self.dictionary('action'))} actions{self.report._repr_html_()}{head}</div>")


def _to_ns(value: Any, name: str) -> int:
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise InvalidArgumentError(f"{name} must be tz-aware, e.g. pd.Timestamp('2000-01-01', tz='UTC')")
    return int(ts.tz_convert("UTC").value)


def ingest(data: Any, **kwargs: Any) -> EventLog:
    """Ingest events from a pandas DataFrame, a dict of columns, or Arrow data.

    Dispatches to :meth:`EventLog.from_pandas` or :meth:`EventLog.from_arrow`.

    >>> import salesperf, pyarrow as pa
    >>> t = pa.table({"deal": ["a"], "time": ["2026-01-01T00:00Z"], "action": ["reply"]})
    >>> salesperf.ingest(t, vocabulary={"reply": "buyer"}).num_deals
    1
    """
    if isinstance(data, (pd.DataFrame, Mapping)):
        return EventLog.from_pandas(data, **kwargs)
    return EventLog.from_arrow(data, **kwargs)
