"""Exceptions raised by salesperf.

Every exception derives from :class:`Error`, and also from the built-in exception a
Python user would expect (``ValueError`` for bad input, ``KeyError`` for a missing
name), so ``except ValueError`` keeps working. Errors about one input row carry
``row`` (0-based position in the input) and ``column`` attributes.

>>> import salesperf
>>> issubclass(salesperf.errors.InvalidArgumentError, ValueError)
True
"""

from __future__ import annotations


class Error(Exception):
    """Base class of every salesperf error.

    ``row`` and ``column`` name the input row (0-based) and column at fault, when
    the error is about one row; otherwise they are ``None``.
    """

    row: int | None = None
    column: str | None = None


class InvalidArgumentError(Error, ValueError):
    """Bad input: a malformed column, row, option or rule."""


class TimezoneError(InvalidArgumentError):
    """Times whose zone is unknown (naive datetimes without ``tz=``)."""


class ColumnNotFoundError(Error, KeyError):
    """A column named in the arguments is not in the data."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ""


class NotFoundError(Error, KeyError):
    """A name (stage, rep, action) that does not exist."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ""


class OutOfRangeError(Error, IndexError):
    """A value outside the range the operation supports."""


class FailedPreconditionError(Error, RuntimeError):
    """The operation is not valid in the object's current state."""


class DataLossError(Error, ValueError):
    """Serialized bytes that are truncated, corrupted or of an unknown version."""


class UnimplementedError(Error, NotImplementedError):
    """A feature that this version does not support."""


class ResourceExhaustedError(Error, MemoryError):
    """An input too large for the operation."""


class InternalError(Error, RuntimeError):
    """A bug in salesperf: please report it with the input that caused it."""


__all__ = [
    "ColumnNotFoundError",
    "DataLossError",
    "Error",
    "FailedPreconditionError",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "OutOfRangeError",
    "ResourceExhaustedError",
    "TimezoneError",
    "UnimplementedError",
]
