"""The funnel as an absorbing Markov chain: where deals go from each stage, the chance
that a deal in a stage ends Won, how long it takes to close, and what the open
pipeline is expected to bring in.

The chain is counted from the stage changes deals actually made (the jump chain):
``P[i][j]`` is the share of the moves out of open stage ``i`` that went to ``j``. Won
and Lost absorb. The definitions, with their edge cases, are in ``docs/funnel.md``
and the header ``salesperf/funnel.h``.

>>> import salesperf
>>> company = salesperf.synth.company(events=20_000, seed=7)
>>> log = company.event_log()
>>> timelines = company.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
>>> f = salesperf.funnel(log, timelines, by="rep")
>>> stages = f.stages()
>>> list(stages.columns)
['exits', 'win_probability', 'loss_probability', 'mean_days_in_stage', 'expected_days_to_close', 'open_deals']
>>> bool((stages["win_probability"].diff().dropna() > 0).all())  # closer to the end, likelier to win
True
>>> bool(f.matrix().loc["Commit", ["Won", "Lost"]].sum() <= 1)
True
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._state import MergeableState
from .errors import InvalidArgumentError
from .event_log import EventLog
from .indicators import _units
from .stages import Timelines


def funnel(log: EventLog, timelines: Timelines, *, by: Any = "rep", owner: str = "most_active") -> Funnel:
    """The funnel's Markov chain per unit (``by`` as in :func:`salesperf.indicators`)
    and for the whole organisation.

    >>> import salesperf
    >>> c = salesperf.synth.company(events=5_000, seed=2)
    >>> log = c.event_log()
    >>> salesperf.funnel(log, c.stage_model().run(log), by=None).units
    ['all']
    """
    if timelines._log is not log:
        raise InvalidArgumentError("timelines were computed from another log: pass the log they came from")
    units = _units(log, by, owner)
    return Funnel(_core.count_funnel(log._core, timelines._core, units))


class Funnel(MergeableState):
    """Counts of stage moves, dwell times and open deals per unit, and the absorbing
    chain solved from them. Merge two with ``a + b`` (different deals, same stages);
    ``to_bytes`` / ``from_bytes`` and pickle keep the counts."""

    _core_type = _core.FunnelCounts

    @property
    def ignored(self) -> int:
        """Transitions that are not moves of the chain (entries from no stage,
        reopenings, exclusions)."""
        return int(self._core.ignored)

    def _chain(self, unit: str | None) -> Any:
        if unit is None:
            return _core.solve_funnel(self._core, -1)
        try:
            index = self.units.index(unit)
        except ValueError:
            raise InvalidArgumentError(f"no unit {unit!r}; units are {self.units[:10]}") from None
        return _core.solve_funnel(self._core, index)

    def matrix(self, unit: str | None = None) -> pd.DataFrame:
        """Transition probabilities: rows the open stages, columns every stage (Won and
        Lost last). A row of NaN: no deal has left that stage yet."""
        c = self._chain(unit)
        o, names = int(c.num_open), list(c.stage_names)
        p = np.asarray(c.probability, dtype=float).reshape(o, len(names))
        return pd.DataFrame(p, index=pd.Index(names[:o], name="from"), columns=pd.Index(names, name="to"))

    def moves(self, unit: str | None = None) -> pd.DataFrame:
        """The counted moves behind :meth:`matrix`."""
        c = self._chain(unit)
        o, names = int(c.num_open), list(c.stage_names)
        m = np.asarray(c.moves, dtype=np.int64).reshape(o, len(names))
        return pd.DataFrame(m, index=pd.Index(names[:o], name="from"), columns=pd.Index(names, name="to"))

    def stages(self, unit: str | None = None) -> pd.DataFrame:
        """Per open stage: moves out (``exits``), the probability of ending Won and Lost,
        mean days per visit, expected days until the deal closes, and open deals now."""
        c = self._chain(unit)
        o = int(c.num_open)
        exits = np.asarray(c.moves, dtype=np.int64).reshape(o, -1).sum(axis=1)
        return pd.DataFrame({
            "exits": exits,
            "win_probability": np.asarray(c.win_probability, dtype=float),
            "loss_probability": np.asarray(c.loss_probability, dtype=float),
            "mean_days_in_stage": np.asarray(c.mean_days_in_stage, dtype=float),
            "expected_days_to_close": np.asarray(c.expected_days_to_close, dtype=float),
            "open_deals": np.asarray(c.open_deals, dtype=np.int64),
        }, index=pd.Index(list(c.stage_names)[:o], name="stage"))

    def summary(self) -> pd.DataFrame:
        """Per unit, and ``(all)`` for the organisation: open deals, their dollars, the
        expected value of the open pipeline (dollars x win probability of their stage)
        and open deals in stages with no win probability yet."""
        rows = []
        units = self.units  # one list: looking each unit up by name would be quadratic
        for index, label in [*enumerate(units), (-1, "(all)")]:
            c = _core.solve_funnel(self._core, index)
            rows.append({"unit": label, "open_deals": int(sum(c.open_deals)),
                         "open_dollars": float(c.open_dollars),
                         "expected_open_value": float(c.expected_open_value),
                         "open_deals_unpriced": int(c.open_deals_unpriced)})
        return pd.DataFrame(rows).set_index("unit")

    def __repr__(self) -> str:
        return (f"Funnel(by {self._core.unit_kind}: {len(self.units):,} units, "
                f"{len(self.stage_names) - 2} open stages)")

    def _repr_html_(self) -> str:
        return f"<div><b>{html.escape(repr(self))}</b>{self.stages().to_html(float_format='{:,.3f}'.format)}</div>"


__all__ = ["Funnel", "funnel"]
