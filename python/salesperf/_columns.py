"""Turning user columns (pandas, numpy, Arrow) into the buffers the C++ core reads.

Ids become ``(values int64, valid uint8 | None, labels list[str] | None)``: raw
integer ids pass through without a copy; strings are dictionary-encoded with
pandas/Arrow (never by hand). Times become UTC int64 nanoseconds plus per-row flags
saying why a value could not be a time.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InvalidArgumentError, TimezoneError

IdSpec = tuple[np.ndarray, "np.ndarray | None", "list[str] | None"]

# TimeFlag values of the C++ core (salesperf/event_log.h).
FLAG_OK, FLAG_UNPARSEABLE, FLAG_NAIVE, FLAG_AMBIGUOUS = 0, 1, 2, 3

# A UTC offset after a time of day ("...T10:00+02:00", "... 10:00:00.5Z"); the "-10"
# that ends a bare date ("2024-01-10") is not one.
_OFFSET_AT_END = re.compile(
    r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|(?:UTC|GMT)?[+-]\d{2}(?::?\d{2})?)\s*$")
_UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def _labels(values: Any) -> list[str]:
    return [str(v) for v in values]


def _fits_int64(values: Any, name: str) -> None:
    """uint64 ids above 2**63 - 1 have no int64 value: refuse them instead of wrapping
    them into negative numbers."""
    arr = np.asarray(values)
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > 2**63 - 1:
        raise InvalidArgumentError(f"column '{name}': uint64 ids above 2**63-1 do not fit int64 "
                                   f"(largest {int(arr.max())}); pass them as strings")


def id_spec(col: Any, name: str) -> IdSpec:
    """Encode one id column (pandas Series, numpy array or Arrow array)."""
    if isinstance(col, (pa.Array, pa.ChunkedArray)):
        return _arrow_id_spec(col, name)
    if isinstance(col, np.ndarray) and col.ndim == 1 and col.dtype.kind in "iu":
        _fits_int64(col, name)
        return col.astype(np.int64, copy=False), None, None  # no copy for int64
    s = col if isinstance(col, pd.Series) else pd.Series(col)
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        codes = s.cat.codes.to_numpy()
        if pd.api.types.is_integer_dtype(cats.dtype):
            valid = codes >= 0
            values = np.where(valid, cats.to_numpy(dtype=np.int64)[np.maximum(codes, 0)], 0)
            return values.astype(np.int64, copy=False), valid.view(np.uint8), None
        labels = _labels(cats)
        codes = codes.astype(np.int64)
        empty = [i for i, v in enumerate(labels) if v.strip() == ""]
        if empty:
            codes[np.isin(codes, empty)] = -1
        return codes, None, labels
    if pd.api.types.is_bool_dtype(dtype):
        raise InvalidArgumentError(f"column '{name}': ids must be strings or integers, not booleans")
    if pd.api.types.is_integer_dtype(dtype):
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):  # nullable Int64, ...
            valid = s.notna().to_numpy()
            if str(dtype) == "UInt64":
                _fits_int64(s.dropna().to_numpy(dtype=np.uint64), name)
            return s.to_numpy(dtype=np.int64, na_value=0), valid.view(np.uint8), None
        _fits_int64(s.to_numpy(), name)
        return s.to_numpy().astype(np.int64, copy=False), None, None
    if pd.api.types.is_float_dtype(dtype):
        arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
        valid = ~np.isnan(arr)
        finite = arr[valid]
        if not np.all(finite == np.floor(finite)) or (finite.size and np.abs(finite).max() > 2**53):
            raise InvalidArgumentError(
                f"column '{name}': ids must be strings or integers; this float column has "
                "non-integer values"
            )
        return np.where(valid, arr, 0).astype(np.int64), valid.view(np.uint8), None
    if pd.api.types.is_datetime64_any_dtype(dtype):
        raise InvalidArgumentError(f"column '{name}': ids must be strings or integers, not times")
    # Strings / objects: pandas' hash table does the encoding; blank strings are null.
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    labels = _labels(uniques)
    codes = codes.astype(np.int64, copy=False)
    empty = [i for i, v in enumerate(labels) if v.strip() == ""]
    if empty:
        codes = codes.copy()
        codes[np.isin(codes, empty)] = -1
    return codes, None, labels


def _arrow_id_spec(col: pa.Array | pa.ChunkedArray, name: str) -> IdSpec:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    t = col.type
    if pa.types.is_integer(t):
        if pa.types.is_uint64(t):
            _fits_int64(col.drop_null().to_numpy(zero_copy_only=False), name)
        if col.null_count == 0:
            return col.to_numpy(zero_copy_only=False).astype(np.int64, copy=False), None, None
        valid = col.is_valid().to_numpy(zero_copy_only=False)
        return col.fill_null(0).to_numpy().astype(np.int64, copy=False), valid.view(np.uint8), None
    if pa.types.is_dictionary(t) or pa.types.is_string(t) or pa.types.is_large_string(t) \
            or pa.types.is_string_view(t):
        if not pa.types.is_dictionary(t):
            if pa.types.is_string_view(t):
                col = col.cast(pa.string())
            col = pc.dictionary_encode(col)
        dictionary = col.dictionary
        if pa.types.is_integer(dictionary.type):
            return _arrow_id_spec(col.dictionary_decode(), name)
        labels = _labels(dictionary.to_pylist())
        codes = col.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        empty = [i for i, v in enumerate(labels) if v.strip() == ""]
        if empty:
            codes[np.isin(codes, empty)] = -1
        return codes, None, labels
    return id_spec(col.to_pandas(), name)


def _utc_ns(s: pd.Series) -> np.ndarray:
    """UTC nanoseconds of a tz-aware datetime Series (NaT stays NaT's bit pattern)."""
    s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    if s.dtype != np.dtype("datetime64[ns]"):
        try:
            s = s.astype("datetime64[ns]")
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime) as e:
            raise InvalidArgumentError(f"column 'time': a value is outside the range of "
                                       f"nanosecond timestamps (1677..2262): {e}") from e
    return s.to_numpy().view(np.int64)


def time_spec(
    col: Any, *, tz: str | None, time_format: str | None, time_unit: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """UTC int64 nanoseconds and optional per-row TimeFlag codes."""
    if isinstance(col, (pa.Array, pa.ChunkedArray)):
        t = col.type
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            col = col.to_pandas(timestamp_as_object=False, date_as_object=False)
        else:
            col = col.to_pandas()
    s = col if isinstance(col, pd.Series) else pd.Series(col)
    dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _utc_ns(s), None
    if pd.api.types.is_datetime64_dtype(dtype):
        if tz is None:
            raise TimezoneError(
                "column 'time' holds naive datetimes (no time zone), which could mean any "
                "zone: pass tz='UTC' or the zone they were recorded in, e.g. "
                "tz='Europe/Amsterdam'"
            )
        return _localize(s, tz)
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        if time_unit not in _UNIT_NS:
            raise InvalidArgumentError(f"time_unit must be one of {sorted(_UNIT_NS)}, not {time_unit!r}")
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):
            arr = s.to_numpy(dtype=np.int64, na_value=np.iinfo(np.int64).min)
            null = s.isna().to_numpy()
        else:
            arr = s.to_numpy().astype(np.int64, copy=False)
            null = None
        scale = _UNIT_NS[time_unit]
        if scale != 1:
            limit = np.iinfo(np.int64).max // scale
            over = np.abs(arr) > limit
            if null is not None:
                over &= ~null
            if over.any():
                row = int(np.flatnonzero(over)[0])
                err = InvalidArgumentError(
                    f"column 'time' row {row}: {arr[row]} {time_unit} overflows int64 nanoseconds")
                err.row, err.column = row, "time"
                raise err
            arr = arr * scale
            if null is not None:
                arr[null] = np.iinfo(np.int64).min
        return arr, None
    if pd.api.types.is_float_dtype(dtype):
        if len(s) == 0:  # an empty column built from [] is float64: no times, nothing wrong
            return np.empty(0, dtype=np.int64), None
        raise InvalidArgumentError(
            "column 'time' is floating point: give datetimes, ISO 8601 text, or int64 with time_unit")
    return _parse_text(s, tz=tz, time_format=time_format)


def _localize(s: pd.Series, tz: str) -> tuple[np.ndarray, np.ndarray | None]:
    before = s.isna().to_numpy()
    try:
        local = s.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    except Exception as e:  # pytz / zoneinfo / dateutil each raise their own kind
        if "timezone" not in type(e).__name__.lower() and not isinstance(e, (KeyError, ValueError)):
            raise
        raise InvalidArgumentError(
            f"tz: {tz!r} is not a time zone; give an IANA name such as 'UTC' or 'Europe/Amsterdam'") from None
    ns = _utc_ns(local)
    ambiguous = local.isna().to_numpy() & ~before
    if ambiguous.any():
        flags = np.zeros(len(s), dtype=np.uint8)
        flags[ambiguous] = FLAG_AMBIGUOUS
        return ns, flags
    return ns, None


def _parse_text(s: pd.Series, *, tz: str | None, time_format: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    text = s.astype("string")
    blank = text.isna() | (text.str.strip() == "")
    blank_np = blank.to_numpy(dtype=bool)
    has_offset = text.str.contains(_OFFSET_AT_END, regex=True).fillna(False).to_numpy(dtype=bool)
    fmt = time_format if time_format is not None else "ISO8601"
    out = np.full(len(s), np.iinfo(np.int64).min, dtype=np.int64)
    flags = np.zeros(len(s), dtype=np.uint8)
    aware_rows = has_offset & ~blank_np
    if aware_rows.any():
        parsed = pd.to_datetime(text[aware_rows], utc=True, format=fmt, errors="coerce")
        out[aware_rows] = _utc_ns(pd.Series(parsed))
    naive_rows = ~has_offset & ~blank_np
    if naive_rows.any():
        parsed_naive = pd.Series(pd.to_datetime(text[naive_rows], format=fmt, errors="coerce"))
        if isinstance(parsed_naive.dtype, pd.DatetimeTZDtype):  # e.g. a format with %z
            out[naive_rows] = _utc_ns(parsed_naive)
        elif tz is None:
            ok = parsed_naive.notna().to_numpy()
            idx = np.flatnonzero(naive_rows)
            flags[idx[ok]] = FLAG_NAIVE
        else:
            ns, local_flags = _localize(parsed_naive, tz)
            out[naive_rows] = ns
            if local_flags is not None:
                flags[naive_rows] = local_flags
    unparsed = (out == np.iinfo(np.int64).min) & ~blank_np & (flags == FLAG_OK)
    flags[unparsed] = FLAG_UNPARSEABLE
    return out, (flags if flags.any() else None)


def amount_spec(col: Any, *, name: str = "amount") -> tuple[np.ndarray, np.ndarray | None]:
    """float64 amounts and an optional validity mask (0 = missing, e.g. pd.NA)."""
    if isinstance(col, (pa.Array, pa.ChunkedArray)):
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
                or pa.types.is_decimal(col.type)):
            col = col.to_pandas()
        else:
            valid = None if col.null_count == 0 else col.is_valid().to_numpy(zero_copy_only=False)
            values = col.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
            return values, (None if valid is None else valid.view(np.uint8))
    s = col if isinstance(col, pd.Series) else pd.Series(col)
    if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
        try:
            s = pd.to_numeric(s, errors="raise")
        except (ValueError, TypeError) as e:
            raise InvalidArgumentError(f"column '{name}': amounts must be numbers ({e})") from e
    if isinstance(s.dtype, pd.api.extensions.ExtensionDtype):  # nullable: NA means missing
        valid = s.notna().to_numpy()
        values = s.to_numpy(dtype=np.float64, na_value=0.0)
        # Nullable floats keep NaN (as distinct from NA) as a value.
        return values, (None if valid.all() else valid.view(np.uint8))
    return s.to_numpy().astype(np.float64, copy=False), None


def duration_ns(value: Any, name: str, *, positive: bool = False) -> int:
    """A duration given as text ("24h", "90d", "13w") or a timedelta, in nanoseconds.

    A bare number is an error (is 7 days, hours or nanoseconds?), as are NaT and, with
    ``positive``, a duration that is not above zero; each message names ``name``."""
    if isinstance(value, (bool, int, float, np.integer, np.floating)):
        raise InvalidArgumentError(f"{name}: give a duration such as '24h' or '90d', not the number {value!r}")
    try:
        td = pd.Timedelta(value)
    except (ValueError, TypeError) as e:
        raise InvalidArgumentError(f"{name}: {value!r} is not a duration ({e})") from None
    if pd.isna(td):
        raise InvalidArgumentError(f"{name}: NaT is not a duration")
    ns = int(td.value)
    if positive and ns <= 0:
        raise InvalidArgumentError(f"{name} must be positive, got {value!r}")
    return ns
