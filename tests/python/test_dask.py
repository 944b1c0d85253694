"""salesperf.dask on a real distributed.LocalCluster (2 worker processes over TCP): the
merged accumulators are byte-identical to a single process's, every row is accounted
for, and a frame that splits a deal is refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from indicator_reference import units_by_owner

import salesperf
from salesperf.errors import InvalidArgumentError

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
spd = pytest.importorskip("salesperf.dask")

DIMENSIONS = ["segment", "territory", "product", "lead_source", "team"]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, protocol="tcp",
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as c:
        assert all(addr.startswith("tcp://") for addr in c.scheduler_info()["workers"])
        yield c


@pytest.fixture(scope="module")
def company() -> Any:
    return salesperf.synth.company(events=80_000, seed=11)


def ingest_options(company: Any) -> dict[str, Any]:
    return {"vocabulary": company.vocabulary, "dimensions": DIMENSIONS}


def single_process(events: pd.DataFrame, company: Any, model: Any, by: Any, period: str) -> dict[str, Any]:
    log = salesperf.EventLog.from_pandas(events, **ingest_options(company))
    timelines = model.run(log)
    return {"log": log,
            "indicators": salesperf.indicators(log, timelines, by=by, period=period),
            "funnel": salesperf.funnel(log, timelines, by=by),
            "leak_counts": salesperf.leak_counts(log, timelines, by=by)}


@pytest.mark.parametrize("by,period", [("rep", "month"), ("segment", "week"), (None, "quarter")])
def test_cluster_result_is_byte_identical_to_one_process(client: Any, company: Any, by: Any, period: str) -> None:
    model = company.stage_model(stall_after="45d", close_stalled_after="30d")
    frame = spd.partition_by_deal(dd.from_pandas(company.events, npartitions=3), npartitions=5)
    result = spd.run(frame, model, by=by, period=period, ingest=ingest_options(company))
    ref = single_process(company.events, company, model, by, period)
    # every partition held whole deals, and more than one partition held some
    assert result.ingest.partitions == 5
    assert result.ingest.deals == ref["log"].num_deals
    for name in ("indicators", "funnel", "leak_counts"):
        assert getattr(result, name).to_bytes() == ref[name].to_bytes(), name
    pd.testing.assert_frame_equal(result.indicators.table(), ref["indicators"].table())
    assert result.as_of == model.run(ref["log"]).as_of


def test_ingest_accounting_adds_up_over_partitions(client: Any, company: Any) -> None:
    events = company.events.copy()
    events["action"] = events["action"].astype(object)
    events["deal"] = events["deal"].astype(object)
    rng = np.random.default_rng(4)
    bad = rng.choice(len(events), 40, replace=False)
    events.loc[bad[:15], "deal"] = None                 # missing deal ids
    events.loc[bad[15:30], "action"] = "fax_sent"        # unknown action
    events.loc[bad[30:], "amount"] = np.nan              # NaN amounts (rejected by default)
    frame = spd.partition_by_deal(dd.from_pandas(events, npartitions=4), npartitions=3)
    model = company.stage_model()
    result = spd.run(frame, model, ingest=ingest_options(company))
    ref = salesperf.EventLog.from_pandas(events, **ingest_options(company)).report
    got = result.ingest
    assert got.rows_in == len(events) == got.rows_accepted + got.rows_rejected
    assert (got.rows_accepted, got.rows_rejected) == (ref.rows_accepted, ref.rows_rejected)
    expected = ref.by_reason.set_index(["reason", "column"])["rows"]
    assert got.by_reason.set_index(["reason", "column"])["rows"].reindex(expected.index).tolist() == expected.tolist()
    per = got.per_partition
    assert per["rows_in"].sum() == len(events) and per["rows_rejected"].sum() == got.rows_rejected == 40
    assert (per["rows_in"] == per["rows_accepted"] + per["rows_rejected"]).all()
    # up to 20 rejected rows listed per partition, each with its partition
    listed = got.rejected.groupby("partition").size().reindex(per.index, fill_value=0)
    assert listed.tolist() == np.minimum(per["rows_rejected"], 20).tolist()


def test_a_deal_split_over_partitions_is_refused(client: Any, company: Any) -> None:
    # row-range partitions of the whole frame cut deals at the boundaries
    frame = dd.from_pandas(company.events.reset_index(drop=True), npartitions=4, sort=False)
    with pytest.raises(InvalidArgumentError, match=r"deal '.+' is in partitions \[\d, \d\].*partition_by_deal"):
        spd.run(frame, company.stage_model(), ingest=ingest_options(company))


def test_percentile_stall_limits_and_bad_options_are_refused(company: Any) -> None:
    frame = dd.from_pandas(company.events, npartitions=2)
    d = company.stage_model().to_dict()
    d["stages"][2]["stall"] = {"percentile": 90}
    with pytest.raises(InvalidArgumentError, match="stage 'Qualified': percentile stall limits"):
        spd.run(frame, salesperf.StageModel.from_dict(d))
    with pytest.raises(InvalidArgumentError, match="at least one"):
        spd.run(frame, company.stage_model(), indicators=False, funnel=False, leak_counts=False)
    with pytest.raises(InvalidArgumentError, match="by must be"):
        spd.run(frame, company.stage_model(), by={"D1": "x"})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="no column 'deal_id'"):
        spd.partition_by_deal(frame, deal="deal_id")


def test_explicit_as_of_matches_one_process(client: Any, company: Any) -> None:
    as_of = pd.Timestamp("2025-06-30", tz="UTC")
    model = company.stage_model(stall_after="30d")
    frame = spd.partition_by_deal(dd.from_pandas(company.events, npartitions=2))
    result = spd.run(frame, model, as_of=as_of, funnel=False, ingest=ingest_options(company))
    log = company.event_log()
    timelines = model.run(log, as_of=as_of)
    assert result.funnel is None and result.as_of == as_of
    assert result.indicators.to_bytes() == salesperf.indicators(log, timelines, by="rep").to_bytes()
    assert result.leak_counts.to_bytes() == salesperf.leak_counts(log, timelines, by="rep").to_bytes()


def test_partition_states_rows_merge_to_one_process(company: Any) -> None:
    """The applyInPandas path without Spark: pandas hands each bucket of deals to
    partition_states, merge_states adds the rows up (in a shuffled order)."""
    events = company.events
    model = company.stage_model(stall_after="45d")
    as_of = events["time"].max()
    bucket = pd.util.hash_pandas_object(events["deal"].astype(str), index=False) % 4
    rows = [spd.partition_states(g, model, as_of=as_of, partition=int(b), ingest=ingest_options(company))
            for b, g in events.groupby(bucket.to_numpy())]
    merged = spd.merge_states(pd.concat(rows[::-1], ignore_index=True))
    ref = single_process(events, company, model, "rep", "month")
    for name in ("indicators", "funnel", "leak_counts"):
        assert getattr(merged, name).to_bytes() == ref[name].to_bytes(), name
    assert merged.ingest.rows_in == len(events) and merged.ingest.partitions == 4
    assert merged.as_of == as_of
    with pytest.raises(InvalidArgumentError, match="as_of is required"):
        spd.partition_states(events, model, as_of=None)
    with pytest.raises(InvalidArgumentError, match="missing columns"):
        spd.merge_states(pd.DataFrame({"partition": [0]}))


def test_cluster_deviants_and_behaviours_equal_one_process(client: Any, company: Any) -> None:
    """covariates=[...] and behaviours=True: the merged counts are byte-identical to the
    whole log's, and the assessed tables equal salesperf.deviants() / behaviours() on
    the whole log exactly; the counts also agree with a pandas reference."""
    from salesperf.behaviours import BehaviourCounts
    from salesperf.deviance import DeviantCounts

    model = company.stage_model(stall_after="45d", close_stalled_after="30d")
    frame = spd.partition_by_deal(dd.from_pandas(company.events, npartitions=3), npartitions=5)
    cov = ["segment", "lead_source"]
    result = spd.run(frame, model, indicators=False, funnel=False, leak_counts=False, covariates=cov,
                     behaviours=True, ingest=ingest_options(company))
    assert result.indicators is None and result.ingest.partitions == 5
    log = salesperf.EventLog.from_pandas(company.events, **ingest_options(company))
    tl = model.run(log)
    assert result.deviant_counts.to_bytes() == DeviantCounts.count(log, tl, covariates=cov).to_bytes()
    assert result.behaviour_counts.to_bytes() == BehaviourCounts.count(log, tl).to_bytes()
    dev = salesperf.deviants(log, tl, covariates=cov)
    pd.testing.assert_frame_equal(result.deviants.table(), dev.table(), check_exact=True)
    pd.testing.assert_series_equal(result.deviants.coefficients(), dev.coefficients(), check_exact=True)
    beh = salesperf.behaviours(log, tl, deviants=dev)
    pd.testing.assert_frame_equal(result.behaviours.table(), beh.table(), check_exact=True)
    assert result.behaviours.with_deviants and result.behaviours.table()["deviant_units"].sum() > 0
    # Independent of salesperf's own figures: decided and won deals per rep in pandas.
    deals = tl.deals
    entered = tl.entered[tl.stage_names[:-2]].notna().any(axis=1)
    outcome = deals["outcome"].astype(str)
    decided = entered & outcome.isin(["won", "lost", "stalled"])
    units = units_by_owner(log.to_pandas())  # deal -> rep, written apart from salesperf
    frame_ref = pd.DataFrame({"decided": decided, "won": decided & (outcome == "won")})
    frame_ref["unit"] = units.astype(str).reindex(frame_ref.index.astype(str)).to_numpy()
    want = frame_ref.groupby("unit")[["decided", "won"]].sum()
    got = result.deviants.table().assign(unit=lambda t: t["unit"].astype(str)).set_index("unit")
    assert sorted(got.index) == sorted(want.index)
    assert (got.loc[want.index, "decided"] == want["decided"]).all()
    assert (got.loc[want.index, "won"] == want["won"]).all()
    trials = result.behaviours.trials()["trials"]
    assert trials.sum() > 0 and (result.behaviours.table().groupby("stage", observed=True)["present"].max() <= trials).all()


def test_partition_states_with_deviants_and_behaviours(company: Any) -> None:
    events = company.events
    model = company.stage_model(stall_after="45d")
    as_of = events["time"].max()
    bucket = pd.util.hash_pandas_object(events["deal"].astype(str), index=False) % 3
    rows = [spd.partition_states(g, model, as_of=as_of, partition=int(b), ingest=ingest_options(company),
                                 indicators=False, funnel=False, leak_counts=False, covariates=["segment"],
                                 behaviours=True, follow_up_window="12h")
            for b, g in events.groupby(bucket.to_numpy())]
    merged = spd.merge_states(pd.concat(rows[::-1], ignore_index=True), behaviour_options={"min_support": 20})
    log = salesperf.EventLog.from_pandas(events, **ingest_options(company))
    tl = model.run(log, as_of=as_of)
    dev = salesperf.deviants(log, tl, covariates=["segment"])
    pd.testing.assert_frame_equal(merged.deviants.table(), dev.table(), check_exact=True)
    beh = salesperf.behaviours(log, tl, deviants=dev, follow_up_window="12h", min_support=20)
    pd.testing.assert_frame_equal(merged.behaviours.table(), beh.table(), check_exact=True)
    with pytest.raises(InvalidArgumentError):
        merged.deviants.deal_probability()


def spark_recipe() -> str:
    """The recipe's code, as docs/scale.md shows it."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "scale.md").read_text()
    start = text.index("```python\n# salesperf: spark recipe")
    return text[start + len("```python\n"):text.index("```", start + 3)]


def test_spark_recipe_is_in_the_docs_and_compiles() -> None:
    compile(spark_recipe(), "docs/scale.md", "exec")


def test_spark_recipe_runs_on_spark(company: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed: the Spark recipe runs only with it")
    import sys

    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)  # workers need this Python's packages
    spark = (pyspark.sql.SparkSession.builder.master("local[2]")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    try:
        events = spark.createDataFrame(company.events.astype({c: str for c in company.events.columns
                                                              if str(company.events[c].dtype) == "category"}))
        scope: dict[str, Any] = {"spark": spark, "events": events, "model": company.stage_model(),
                                 "ingest": {**ingest_options(company), "tz": "UTC"}}
        exec(spark_recipe(), scope)
        ref = single_process(company.events, company, company.stage_model(), "rep", "month")
        assert scope["result"].indicators.to_bytes() == ref["indicators"].to_bytes()
    finally:
        spark.stop()
