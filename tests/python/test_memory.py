"""The column cache seen from Python: a second run reuses the first run's memory, the
limit holds, release gives it back, and results are the same with the cache on or off."""

import pandas as pd
import pytest

import salesperf
from salesperf.errors import InvalidArgumentError


@pytest.fixture
def cache():
    before = salesperf.memory.cache_info()["limit_bytes"]
    salesperf.memory.release()
    yield salesperf.memory
    salesperf.memory.set_cache_limit(before)
    salesperf.memory.release()


def test_a_second_run_reuses_the_first_runs_columns(cache):
    cache.set_cache_limit(512 << 20)
    company = salesperf.synth.company(events=300_000, seed=4)
    first = company.event_log()
    del first
    held = cache.cache_info()
    assert held["cached_bytes"] > 2 * (300_000 * 4)  # at least the int32 columns of a log
    hits = held["hits"]
    second = company.event_log()
    after = cache.cache_info()
    assert after["hits"] > hits
    assert after["cached_bytes"] < held["cached_bytes"]
    assert len(second) > 250_000


def test_results_do_not_depend_on_the_cache(cache):
    company = salesperf.synth.company(events=300_000, seed=5)
    model = company.stage_model()
    cache.set_cache_limit(0)
    log_off = company.event_log()
    off = salesperf.indicators(log_off, model.run(log_off), by="rep", period="month").table()
    assert cache.cache_info()["cached_bytes"] == 0
    cache.set_cache_limit(512 << 20)
    warm = company.event_log()  # fill the cache, then free it
    del warm
    log_on = company.event_log()
    on = salesperf.indicators(log_on, model.run(log_on), by="rep", period="month").table()
    pd.testing.assert_frame_equal(off, on)


def test_the_limit_holds_and_release_empties(cache):
    cache.set_cache_limit(3 << 20)
    for _ in range(3):
        log = salesperf.synth.company(events=300_000, seed=6).event_log()
        del log
    info = cache.cache_info()
    assert info["limit_bytes"] == 3 << 20
    assert info["cached_bytes"] <= 3 << 20
    cache.release()
    assert cache.cache_info()["cached_bytes"] == 0
    assert cache.cache_info()["cached_blocks"] == 0


@pytest.mark.parametrize("bad", [-1, 1.5, "1GB", True])
def test_a_bad_limit_is_refused(cache, bad):
    with pytest.raises(InvalidArgumentError, match="nbytes"):
        cache.set_cache_limit(bad)
