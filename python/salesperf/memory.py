"""The memory salesperf keeps for reuse between runs.

Large columns (1 MiB or more: event logs, stage timelines, the generator's columns)
come from a process-wide cache. When one is freed its memory is kept, up to a limit,
and handed to the next column of the same size, so a second run over a log of the
same shape does not pay the operating system again for fresh pages: on the
development machine, writing 400 MB into fresh memory took ten times as long as into
memory already held. The limit defaults to an eighth of physical memory, at most
4 GiB (environment variable ``SALESPERF_COLUMN_CACHE_MB`` overrides it; 0 turns the
cache off).

>>> import salesperf
>>> salesperf.memory.set_cache_limit(256 << 20)
>>> log = salesperf.synth.company(events=200_000, seed=1).event_log()
>>> del log
>>> salesperf.memory.cache_info()["cached_bytes"] > 0
True
>>> salesperf.memory.release()
>>> salesperf.memory.cache_info()["cached_bytes"]
0
"""

from __future__ import annotations

from typing import TypedDict

from . import _core
from .errors import InvalidArgumentError

__all__ = ["CacheInfo", "cache_info", "release", "set_cache_limit"]


class CacheInfo(TypedDict):
    """The cache's figures: ``limit_bytes`` the most it holds, ``cached_bytes`` and
    ``cached_blocks`` what it holds now, ``hits`` and ``misses`` the large
    allocations served from it and from the operating system since the start."""

    limit_bytes: int
    cached_bytes: int
    cached_blocks: int
    hits: int
    misses: int


def cache_info() -> CacheInfo:
    """The column cache's figures now (see :class:`CacheInfo`)."""
    d = _core.column_cache_stats()
    return CacheInfo(limit_bytes=d["limit_bytes"], cached_bytes=d["cached_bytes"],
                     cached_blocks=d["cached_blocks"], hits=d["hits"], misses=d["misses"])


def set_cache_limit(nbytes: int) -> None:
    """Keep at most ``nbytes`` of freed columns for reuse (0 turns the cache off);
    what is held beyond the new limit is returned to the operating system at once."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise InvalidArgumentError(f"set_cache_limit: nbytes must be a non-negative int, got {nbytes!r}")
    _core.set_column_cache_limit(nbytes)


def release() -> None:
    """Return every cached column to the operating system (the limit is unchanged).
    Call it after a large run in a long-lived session to give the memory back."""
    _core.release_column_cache()
