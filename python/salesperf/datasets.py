"""The two real datasets of salesperf's tests and examples: BPIC 2012 and Maven CRM.

Neither is shipped with salesperf. They live in a ``data`` folder beside the
project's checkout (``../shared/data`` relative to the repository), or wherever the
environment variable ``SALESPERF_SHARED_DATA`` points (at the ``data`` folder
itself). Loaders raise :class:`FileNotFoundError` saying where they looked.

* ``bpic2012/events.csv.gz``: 262,200 events of 13,087 loan applications at a Dutch
  financial institute (BPI Challenge 2012). Cite it wherever results are shown:
  :data:`BPIC2012_CITATION`.
* ``maven_crm/``: a CRM opportunity export (one row per opportunity, no history) of
  a fictitious hardware company, from Maven Analytics' data playground.

>>> import salesperf
>>> log = salesperf.datasets.load_bpic2012()          # doctest: +SKIP
>>> log.report.rows_in                                # doctest: +SKIP
262200
>>> print(salesperf.datasets.BPIC2012_CITATION)      # doctest: +ELLIPSIS
BPI Challenge 2012, B.F. van Dongen, 4TU.ResearchData, doi:10.4121/uuid:3926db30-...
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from .crm import snapshot_to_events
from .event_log import EventLog, Vocabulary
from .stages import StageModel

__all__ = [
    "BPIC2012_CITATION",
    "ENV_VAR",
    "MAVEN_CRM_STAGES",
    "MavenCRM",
    "bpic2012_path",
    "bpic2012_vocabulary",
    "load_bpic2012",
    "maven_crm",
    "maven_crm_path",
    "maven_crm_snapshot",
    "shared_data_path",
]

#: The environment variable naming the shared ``data`` folder.
ENV_VAR = "SALESPERF_SHARED_DATA"

#: Cite this wherever results from the BPIC 2012 log are shown (docs, notebooks,
#: reports): the 4TU.ResearchData terms of use require citing the author.
BPIC2012_CITATION = (
    "BPI Challenge 2012, B.F. van Dongen, 4TU.ResearchData, "
    "doi:10.4121/uuid:3926db30-f712-4394-aebc-75976070e91f"
)

#: The open stages of the Maven CRM pipeline, in funnel order.
MAVEN_CRM_STAGES = ("Prospecting", "Engaging")

_BPIC_COLUMNS: dict[str, Any] = {
    "deal": "case:concept:name",
    "time": "time:timestamp",
    "action": "concept:name",
    "rep": "org:resource",
    "amount": "case:AMOUNT_REQ",
    # SCHEDULE / START / COMPLETE of one work item are different events, not duplicates.
    "dimensions": ["lifecycle:transition"],
}


def _candidates() -> list[tuple[Path, str]]:
    env = os.environ.get(ENV_VAR)
    if env:
        return [(Path(env), f"${ENV_VAR}")]
    repo = Path(__file__).resolve().parents[2]  # python/salesperf/datasets.py -> repo
    found = [(repo.parent / "shared" / "data", "../shared/data beside the repository")]
    cwd = Path.cwd().parent / "shared" / "data"
    if cwd.resolve() != found[0][0].resolve():
        found.append((cwd, "../shared/data beside the working directory"))
    return found


def shared_data_path(*parts: str) -> Path:
    """The shared ``data`` folder (or a path inside it), which must exist.

    ``$SALESPERF_SHARED_DATA`` when set, else ``../shared/data`` beside the
    repository (or beside the working directory).

    >>> shared_data_path("bpic2012", "events.csv.gz").name   # doctest: +SKIP
    'events.csv.gz'
    """
    tried = []
    for base, how in _candidates():
        path = base.joinpath(*parts)
        if path.exists():
            return path
        tried.append(f"{path} ({how})")
    what = "/".join(parts) or "the shared data folder"
    raise FileNotFoundError(
        f"salesperf's shared data {what!r} is not there; looked in: " + "; ".join(tried)
        + f". Put the data folder beside the checkout as ../shared/data, or set {ENV_VAR} "
        "to the data folder (the one holding bpic2012/ and maven_crm/).")


# ------------------------------------------------------------------------ BPIC 2012
def bpic2012_path() -> Path:
    """The path of the BPIC 2012 event log, ``bpic2012/events.csv.gz``.

    Raises :class:`FileNotFoundError`, naming where it looked, when it is absent.
    """
    return shared_data_path("bpic2012", "events.csv.gz")


def bpic2012_vocabulary() -> Vocabulary:
    """Who performs each BPIC 2012 activity.

    The customer (buyer) submits (``A_SUBMITTED``), returns the signed offer
    (``O_SENT_BACK``) or withdraws (``A_CANCELLED``); employees' work items
    (``W_``) are the seller's activities; every other application (``A_``) and
    offer (``O_``) state is the institute's decision (system).

    >>> v = bpic2012_vocabulary()
    >>> [v.resolve(a) for a in ("A_SUBMITTED", "O_SENT", "W_Nabellen offertes", "A_DECLINED")]
    ['buyer', 'system', 'seller', 'system']
    """
    return Vocabulary(
        {"A_SUBMITTED": "buyer", "O_SENT_BACK": "buyer", "A_CANCELLED": "buyer"},
        prefixes={"W_": "seller", "A_": "system", "O_": "system"},
    )


def load_bpic2012(path: str | os.PathLike[str] | None = None, **kwargs: Any) -> EventLog:
    """Ingest the BPIC 2012 log with :meth:`EventLog.read_csv`.

    Columns: deal = ``case:concept:name``, time = ``time:timestamp`` (offsets mix
    +01:00 and +02:00; normalised to UTC), action = ``concept:name``, rep =
    ``org:resource`` (empty on work-item events: a null rep), amount =
    ``case:AMOUNT_REQ``, and ``lifecycle:transition`` as a dimension, which keeps a
    work item's SCHEDULE / START / COMPLETE events apart. ``kwargs`` override any
    of these and pass other options (``strict=True``, ...) to ``read_csv``.
    Show :data:`BPIC2012_CITATION` with any result.

    >>> log = load_bpic2012()                                     # doctest: +SKIP
    >>> log.num_deals                                             # doctest: +SKIP
    13087
    """
    options: dict[str, Any] = dict(_BPIC_COLUMNS)
    options["vocabulary"] = bpic2012_vocabulary()
    options.update(kwargs)
    return EventLog.read_csv(bpic2012_path() if path is None else path, **options)


# ------------------------------------------------------------------------ Maven CRM
class MavenCRM(NamedTuple):
    """The Maven CRM snapshot as events and as an ingested :class:`EventLog`."""

    events: pd.DataFrame
    log: EventLog


def maven_crm_path() -> Path:
    """The Maven CRM folder, ``maven_crm/`` (holding ``sales_pipeline.csv`` ...)."""
    return shared_data_path("maven_crm")


def maven_crm_snapshot(
    path: str | os.PathLike[str] | None = None, *, fix_product_names: bool = True
) -> pd.DataFrame:
    """The Maven CRM pipeline, one row per opportunity, joined with its sales team.

    ``sales_pipeline.csv`` left-joined on ``sales_agent`` with ``sales_teams.csv``
    (adding ``manager`` and ``regional_office``). Ids and dates stay text; values
    are numbers. With ``fix_product_names`` the pipeline's ``"GTXPro"`` is spelt
    ``"GTX Pro"`` as in ``products.csv`` (the export's one naming quirk that
    breaks a join).

    >>> snap = maven_crm_snapshot()                                   # doctest: +SKIP
    >>> snap["deal_stage"].value_counts().to_dict()                   # doctest: +SKIP
    {'Won': 4238, 'Lost': 2473, 'Engaging': 1589, 'Prospecting': 500}
    """
    folder = maven_crm_path() if path is None else Path(path)
    text_columns = ["opportunity_id", "sales_agent", "product", "account", "deal_stage",
                    "engage_date", "close_date"]
    pipeline = pd.read_csv(folder / "sales_pipeline.csv",
                           dtype={c: "string" for c in text_columns} | {"close_value": "float64"})
    teams = pd.read_csv(folder / "sales_teams.csv", dtype="string")
    if fix_product_names:
        pipeline["product"] = pipeline["product"].replace({"GTXPro": "GTX Pro"})
    return pipeline.merge(teams, on="sales_agent", how="left", validate="many_to_one")


def maven_crm(
    path: str | os.PathLike[str] | None = None, *, fix_product_names: bool = True, **kwargs: Any
) -> MavenCRM:
    """The Maven CRM snapshot as events (:func:`salesperf.crm.snapshot_to_events`) and a log.

    Stages ``Prospecting`` then ``Engaging`` (entered on ``engage_date``), closed
    as ``Won`` / ``Lost`` on ``close_date``; value ``close_value`` (0 on every lost
    deal, missing on open ones); rep ``sales_agent``; ``account``; dimensions
    ``product``, ``manager`` and ``regional_office``. ``kwargs`` go to
    :meth:`EventLog.from_pandas` (``strict=True``, ...).

    >>> events, log = maven_crm()                                    # doctest: +SKIP
    >>> log.report.rows_rejected                                     # doctest: +SKIP
    0
    """
    snapshot = maven_crm_snapshot(path, fix_product_names=fix_product_names)
    dims = ["product", "manager", "regional_office"]
    events = snapshot_to_events(
        snapshot, stages=list(MAVEN_CRM_STAGES), stage_dates={"Engaging": "engage_date"},
        dimensions=dims)
    log = EventLog.from_pandas(events, dimensions=dims, **kwargs)
    return MavenCRM(events, log)


# The stages of a loan application read as a sales funnel. The customer's own acts
# (applying, returning the signed offer, cancelling) are buyer behaviour; the
# institute's decisions are system facts, which stages may also rest on. Seller work
# items (W_*) never move a stage.
BPIC2012_STAGES: tuple[tuple[str, str], ...] = (
    ("Submitted", "A_SUBMITTED"),       # the customer applies (buyer)
    ("PreAccepted", "A_PREACCEPTED"),   # the institute pre-accepts (system)
    ("Accepted", "A_ACCEPTED"),         # the application is accepted (system)
    ("OfferSent", "O_SENT"),            # an offer goes out (system)
    ("OfferReturned", "O_SENT_BACK"),   # the customer returns the signed offer (buyer)
)
BPIC2012_WON = ("A_APPROVED",)
BPIC2012_LOST = ("A_DECLINED", "A_CANCELLED")  # declined by the institute / cancelled by the customer


def bpic2012_stage_model() -> StageModel:
    """The buyer-behaviour funnel of the BPIC 2012 log (strict ordering, latch).

    Submitted → PreAccepted → Accepted → OfferSent → OfferReturned (the customer
    returns the signed offer) → Won (``A_APPROVED``); Lost when the institute
    declines (``A_DECLINED``) or the customer cancels (``A_CANCELLED``), the reason
    being that action.

    >>> [s for s in bpic2012_stage_model().stage_names]
    ['Submitted', 'PreAccepted', 'Accepted', 'OfferSent', 'OfferReturned']
    """
    return StageModel(
        stages=[{"name": name, "rules": [{"any": [action]}]} for name, action in BPIC2012_STAGES],
        won=[{"any": list(BPIC2012_WON)}],
        lost=[{"any": list(BPIC2012_LOST)}],
    )
