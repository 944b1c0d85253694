"""What every mergeable accumulator (Indicators, Funnel, LeakCounts) offers in Python,
written once: its units and stages, merge and ``+``, equality, and the versioned,
checksummed bytes behind pickle."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from .errors import InvalidArgumentError

S = TypeVar("S", bound="MergeableState")


class MergeableState:
    """Base of the Python accumulators: ``_core`` is the C++ object, which has
    ``merge``, ``serialize`` and ``==``; a subclass sets ``_core_type`` to that C++
    class."""

    _core_type: ClassVar[Any]  # the C++ class, whose static deserialize reads to_bytes

    def __init__(self, core: Any) -> None:
        self._core = core

    @property
    def units(self) -> list[str]:
        """Unit labels, sorted."""
        return list(self._core.unit_names)

    @property
    def unit_kind(self) -> str:
        """What the units are: "rep", a dimension's name, "all", "team", ..."""
        return str(self._core.unit_kind)

    @property
    def stage_names(self) -> list[str]:
        """The open stages, then "Won" and "Lost"."""
        return list(self._core.stage_names)

    def merge(self: S, other: S) -> S:
        """The accumulator of both sets of deals (neither operand changes). The two
        must share their settings (stages, calendar, as_of, ...);
        :class:`~salesperf.errors.FailedPreconditionError` says which differs."""
        if type(other) is not type(self):
            raise InvalidArgumentError(
                f"merge takes {type(self).__name__}, not {type(other).__name__}")
        return type(self)(self._core.merge(other._core))

    def __add__(self: S, other: S) -> S:
        return self.merge(other)

    def to_bytes(self) -> bytes:
        """The state in salesperf's versioned, checksummed byte format."""
        return bytes(self._core.serialize())

    @classmethod
    def from_bytes(cls: type[S], data: bytes) -> S:
        """Reads :meth:`to_bytes`. Raises :class:`~salesperf.errors.DataLossError` for
        truncated or corrupted bytes, and
        :class:`~salesperf.errors.FailedPreconditionError` for another format version."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidArgumentError(
                f"{cls.__name__}.from_bytes takes bytes (from to_bytes), not {type(data).__name__}")
        return cls(cls._core_type.deserialize(bytes(data)))

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (type(self).from_bytes, (self.to_bytes(),))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and bool(self._core == other._core)

    __hash__ = None  # type: ignore[assignment]
