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

The deviant and behaviour figures (``_walk``) replay each deal's events in time order
as salesperf/stage_model.h describes (default policies, no stall limits): the first
``sign`` or ``decline`` closes the deal and later events are ignored; a stage action
ENTERS its stage only when that stage is above the deal's current one (so a stage the
deal skipped is not entered, and an action of a lower stage moves nothing). A deal is
decided when it entered an open stage and closed; it is a trial at an entered stage k
when it advanced (entered a higher stage, or was won) or failed there (lost from k).
The behaviour features follow salesperf/deviance.h part 2, on the seller (``actor ==
"seller"``) and buyer events strictly before the stage's entry, and the follow-up
window (24 h) after it, before the deal's next transition.
"""

from __future__ import annotations

import hashlib
from itertools import pairwise
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
    walk = _walk(events)
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
        "deviants": _deviant_figures(events, walk, st["owner"]),
        "behaviours": _behaviour_figures(events, walk),
    }


# ---- DeviantCounts and BehaviourCounts: each deal replayed event by event ----

DEVIANT_COVARIATES = ["segment", "lead_source"]
FOLLOW_UP = pd.Timedelta("24h")
CADENCE = pd.Timedelta("7d")


def _walk(events: pd.DataFrame) -> pd.DataFrame:
    """Per deal: outcome ("won", "lost", "open"), the highest stage entered (-1: none),
    the stages it entered (``entered``: {stage index: (time, index in moves)}), the
    times of its transitions in order (``moves``: stage entries and the close), and its
    events (time order)."""
    rank = {a: k for k, (_, a) in enumerate(LADDER)}
    ev = events.assign(action=events["action"].astype(str), actor=events["actor"].astype(str),
                       contact=events["contact"].astype(object), role=events["contact_role"].astype(object))
    ev = ev.reset_index(drop=True).sort_values(["deal", "time"], kind="stable")
    rows = []
    for deal, g in ev.groupby("deal", observed=True, sort=True):
        current, outcome, entered, moves = -1, "open", {}, []
        for t, a in zip(g["time"], g["action"]):
            if outcome != "open":
                continue  # a closed deal ignores every later event (no reopening)
            if a == LOST_ACTION:
                outcome = "lost"
                moves.append(t)
            elif a == WON_ACTION:
                outcome = "won"
                moves.append(t)
            elif a in rank and rank[a] > current:
                current = rank[a]
                entered[current] = (t, len(moves))
                moves.append(t)
        rows.append({"deal": str(deal), "outcome": outcome, "furthest": current, "entered": entered,
                     "moves": moves, "events": g})
    return pd.DataFrame(rows).set_index("deal")


def _first_non_null(events: pd.DataFrame, column: str) -> pd.Series:
    """Per deal: the first non-null value of ``column`` in time order, "(none)" if all null."""
    ev = events.reset_index(drop=True).sort_values(["deal", "time"], kind="stable")
    ev = ev[ev[column].notna()]
    first = ev.groupby("deal", observed=True)[column].first().astype(str)
    first.index = first.index.astype(str)
    return first.reindex(events["deal"].astype(str).unique()).fillna("(none)")


def _deviant_figures(events: pd.DataFrame, walk: pd.DataFrame, owner: pd.Series) -> dict[str, Any]:
    """Per rep the decided deals, the wins and the dollars won; the decided deals; each
    covariate's levels among them (sorted, without "(none)"); and the number of (rep,
    levels) cells."""
    decided = walk[(walk["furthest"] >= 0) & walk["outcome"].isin(["won", "lost"])]
    d = pd.DataFrame({"owner": owner.reindex(decided.index), "won": decided["outcome"] == "won"})
    # The deal's value: the last non-missing amount among all its events.
    ev = events.reset_index(drop=True).sort_values(["deal", "time"], kind="stable")
    value = ev[ev["amount"].notna()].groupby("deal", observed=True)["amount"].last()
    value.index = value.index.astype(str)
    d["value"] = value.reindex(d.index)
    for c in DEVIANT_COVARIATES:
        d[c] = _first_non_null(events, c).reindex(d.index)
    units = sorted(owner.unique().tolist())
    per_unit: dict[str, Any] = {}
    for u in units:
        g = d[d["owner"] == u]
        per_unit[u] = {"decided": len(g), "won": int(g["won"].sum())}
        # A deal without a value would count at the mean (deviance.h): not derived
        # here, so won_value is only stated when every decided deal has a value.
        if d["value"].notna().all():
            per_unit[u]["won_value"] = float(g.loc[g["won"], "value"].sum())
    return {
        "decided_deals": len(d),
        "per_unit": per_unit,
        "levels": {c: sorted(x for x in d[c].unique() if x != "(none)") for c in DEVIANT_COVARIATES},
        "cells": int(d.groupby(["owner", *DEVIANT_COVARIATES]).ngroups),
    }


def _features(g: pd.DataFrame, e: pd.Timestamp, next_move: pd.Timestamp | None, actions: list[str],
              roles: list[str]) -> dict[str, bool]:
    """The features of one deal at a stage it entered at ``e`` (deviance.h part 2)."""
    seller = g[g["actor"] == "seller"]
    before = seller[seller["time"] < e]
    after = seller[(seller["time"] > e) & (seller["time"] <= e + FOLLOW_UP)]
    if next_move is not None:
        after = after[after["time"] < next_move]
    out = {"follow_up": len(after) > 0}
    for a in actions:
        for r in roles:
            out[f"{a}@{r}"] = bool(((before["action"] == a) & (before["role"] == r)).any())
    n_contacts = before["contact"].dropna().nunique()
    n_roles = before["role"].dropna().nunique()
    for m in (2, 3, 4):
        out[f"contacts>={m}"] = n_contacts >= m
    for m in (2, 3):
        out[f"roles>={m}"] = n_roles >= m
    buyer = g[(g["actor"] == "buyer") & (g["time"] < e)]
    out["buyer_contacts>=2"] = buyer["contact"].dropna().nunique() >= 2
    times = list(before["time"]) + [e]
    out["cadence<=7d"] = len(before) > 0 and all(b - a <= CADENCE for a, b in pairwise(times))
    return out


def _behaviour_figures(events: pd.DataFrame, walk: pd.DataFrame) -> dict[str, Any]:
    """Per open stage: the trials, how many advanced, and per feature the trials with
    it and how many of those advanced ([present, advanced_present])."""
    actor = events["actor"].astype(str)
    actions = sorted(events.loc[actor == "seller", "action"].astype(str).unique())
    roles = sorted(str(r) for r in events["contact_role"].dropna().unique())
    out: dict[str, Any] = {}
    stats: dict[int, dict[str, Any]] = {k: {"trials": 0, "advanced": 0, "features": {}} for k in range(len(LADDER))}
    for _, w in walk.iterrows():
        for k, (e, i) in w["entered"].items():
            advanced = w["outcome"] == "won" or k < w["furthest"]
            failed = k == w["furthest"] and w["outcome"] == "lost"
            if not (advanced or failed):
                continue
            # The deal's next transition after the one that entered k (None: none).
            nxt = w["moves"][i + 1] if i + 1 < len(w["moves"]) else None
            s = stats[k]
            s["trials"] += 1
            s["advanced"] += int(advanced)
            for f, present in _features(w["events"], e, nxt, actions, roles).items():
                cell = s["features"].setdefault(f, [0, 0])
                cell[0] += int(present)
                cell[1] += int(present and advanced)
    for k, (stage, _) in enumerate(LADDER):
        out[stage] = stats[k]
    return out


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
    if kind == "deviants":
        t = state.assess().table()
        per_unit = {}
        for u, d, w, v in zip(t["unit"].astype(str), t["decided"], t["won"], t["won_value"]):
            per_unit[u] = {"decided": int(d), "won": int(w), "won_value": float(v)}
        out = {"decided_deals": state.decided_deals, "per_unit": {u: per_unit[u] for u in sorted(per_unit)},
               "levels": state.levels, "cells": int(state._core.num_cells)}
        return {"units": state.units, "figures": out}
    if kind == "behaviours":
        a = state.assess()
        t = a.table()
        trials = a.trials()["trials"]
        out = {}
        for stage in a.stage_names:
            rows = t[t["stage"] == stage]
            advanced = rows["advanced_present"] + rows["advanced_absent"]
            assert advanced.nunique() == 1, stage  # every row splits the same trials
            out[stage] = {"trials": int(trials[stage]), "advanced": int(advanced.iloc[0]),
                          "features": {f: [int(p), int(ap)] for f, p, ap in
                                       zip(rows["feature"], rows["present"], rows["advanced_present"])}}
        return {"units": state.units, "figures": out}
    raise KeyError(kind)
