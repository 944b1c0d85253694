"""Headline figures of the golden states, two ways: from the events with plain pandas
(``pandas_figures``: no salesperf code beyond the synthetic company's events), and
from a loaded state through salesperf's public reading API (``library_figures``).
make_golden.py stores the first in the JSON next to each state; the tests compare the
second, read from the golden bytes, against it.

The company's stage model is the synthetic ladder (``SyntheticCompany.stage_model``):
Lead <- opportunity_created, Engaged <- reply, Qualified <- state_need, Budget <-
share_budget, Proposal <- request_proposal, Commit <- verbal_commit, Won <- sign, Lost
<- decline; units are reps, each deal owned by the rep on most of its seller events
(ties: the one seen first). With these rules, in pandas:

* a deal reached stage k when it has an event of the action of stage k or of any
  later stage (``sign`` counts as reaching every open stage);
* a deal is won when it has a ``sign``, lost when it has a ``decline`` and no
  ``sign``, open otherwise; an open deal is in the highest stage it reached.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

LADDER = [("Lead", "opportunity_created"), ("Engaged", "reply"), ("Qualified", "state_need"),
          ("Budget", "share_budget"), ("Proposal", "request_proposal"), ("Commit", "verbal_commit")]
WON_ACTION, LOST_ACTION = "sign", "decline"

# The fixed company every golden file is computed from.
COMPANY = {"events": 5_000, "seed": 20261123, "threads": 1}
INDICATOR_OPTIONS = {"by": "rep", "period": "month"}


def events_hash(events: pd.DataFrame) -> str:
    """SHA-256 of the events as text (every column, in order): changes exactly when
    the synthetic generator's output changes."""
    text = events.astype(str).to_csv(index=False, lineterminator="\n")
    return hashlib.sha256(text.encode()).hexdigest()


def owners(events: pd.DataFrame) -> pd.Series:
    """Deal -> owning rep: most seller events, ties to the rep seen first in the
    deal's (time-ordered) events; no seller event naming a rep: first rep on any."""
    ev = events.reset_index(drop=True)
    ev = ev.assign(pos=np.arange(len(ev)))
    ev = ev[ev["rep"].notna()]
    first_seen = ev.groupby(["deal", "rep"], observed=True)["pos"].min()
    seller = ev[ev["actor"].astype(str) == "seller"]
    counts = seller.groupby(["deal", "rep"], observed=True).size()
    t = pd.DataFrame({"first": first_seen}).join(counts.rename("n")).fillna({"n": 0}).reset_index()
    t = t.sort_values(["deal", "n", "first"], ascending=[True, False, True])
    return t.drop_duplicates("deal").set_index("deal")["rep"].astype(str)


def _status(events: pd.DataFrame) -> pd.DataFrame:
    """Per deal: owner, won, lost, highest open stage reached (-1: none)."""
    acts = events.groupby("deal", observed=True)["action"].agg(lambda s: set(s.astype(str)))
    rank = {a: k for k, (_, a) in enumerate(LADDER)}
    won = acts.map(lambda s: WON_ACTION in s)
    lost = acts.map(lambda s: LOST_ACTION in s) & ~won
    highest = acts.map(lambda s: max([rank[a] for a in s if a in rank], default=-1))
    out = pd.DataFrame({"won": won, "lost": lost, "highest": highest})
    out["owner"] = owners(events).reindex(out.index)
    return out


def pandas_figures(events: pd.DataFrame) -> dict[str, Any]:
    """Every headline figure, from the events alone."""
    st = _status(events)
    stages = [s for s, _ in LADDER]
    ev = events.assign(owner=events["deal"].astype(str).map(st["owner"].to_dict()),
                       period=events["time"].dt.strftime("%Y-%m"),
                       action=events["action"].astype(str))
    occ = ev.groupby(["owner", "period", "action"]).size()
    deals = ev.groupby(["owner", "period", "action"])["deal"].nunique()
    occurrences = {f"{u}|{p}|{a}": int(n) for (u, p, a), n in occ.items()}
    distinct = {f"{u}|{p}|{a}": int(n) for (u, p, a), n in deals.items()}

    funnel_open: dict[str, dict[str, int]] = {}
    leaks: dict[str, dict[str, Any]] = {}
    for unit, g in st.groupby("owner"):
        is_open = ~g["won"] & ~g["lost"]
        funnel_open[str(unit)] = {stages[k]: int((is_open & (g["highest"] == k)).sum())
                                  for k in range(len(stages))}
        reached = [int(((g["highest"] >= k) | g["won"]).sum()) for k in range(len(stages))]
        leaks[str(unit)] = {"deals": len(g), "won": int(g["won"].sum()), "reached": reached}
    return {
        "num_events": len(events),
        "num_deals": int(events["deal"].nunique()),
        "units": sorted(st["owner"].unique().tolist()),
        "indicators": {
            "occurrences": occurrences,
            "deals": distinct,
            "won": {str(u): int(n) for u, n in st.groupby("owner")["won"].sum().items()},
        },
        "funnel": {"open_deals": funnel_open},
        "leaks": leaks,
    }


def library_figures(kind: str, state: Any) -> dict[str, Any]:
    """The figures of ``pandas_figures()[kind]`` (plus the unit list), read from a
    state through salesperf's public API."""
    if kind == "indicators":
        t = state.table()
        t = t.assign(unit=t["unit"].astype(str), period=t["period"].astype(str),
                     indicator=t["indicator"].astype(str))
        out: dict[str, Any] = {"occurrences": {}, "deals": {}, "won": {}}
        per = t[t["period"] != "all"]
        for prefix, key in (("occurrences:", "occurrences"), ("deals:", "deals")):
            sel = per[per["indicator"].str.startswith(prefix) & (per["value"] > 0)]
            out[key] = {f"{u}|{p}|{i[len(prefix):]}": int(v)
                        for u, p, i, v in zip(sel["unit"], sel["period"], sel["indicator"], sel["value"])}
        won = t[(t["period"] == "all") & (t["indicator"] == "won")]
        out["won"] = {u: int(v) for u, v in zip(won["unit"], won["value"]) if u in state.units}
        return {"units": state.units, "figures": out}
    if kind == "funnel":
        open_deals = {u: {s: int(n) for s, n in state.stages(u)["open_deals"].items()} for u in state.units}
        return {"units": state.units, "figures": {"open_deals": open_deals}}
    if kind == "leaks":
        core = state._core
        deals, won, reached = np.asarray(core.deals), np.asarray(core.won), np.asarray(core.reached)
        out = {u: {"deals": int(deals[i, 0]), "won": int(won[i, 0]),
                   "reached": [int(x) for x in reached[i, 0, :]]}
               for i, u in enumerate(state.units)}
        return {"units": state.units, "figures": out}
    raise KeyError(kind)
