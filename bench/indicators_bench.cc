// The leading indicators' speed and memory: ComputeIndicators over the synthetic
// company's log, rep x month.
//   BM_Indicators/<events>/<threads>   the full indicator set (every field of
//                                       indicators.h) for rep x month
//   BM_CountFloor/<events>             the peer: one pass that only counts events per
//                                       (deal owner, month, action) into a dense array,
//                                       the least any per-period indicator must do
//   BM_Table/<events>                   MakeTable on the accumulator (not per event)
// items_per_second counts events. Counters: state_bytes (the serialized accumulator)
// and state_bytes_per_event, to show the state does not grow with the events.
// The event count defaults to 10M (and 1M); SALESPERF_BENCH_EVENTS=100000000 runs the
// 100M-event case of the issue (needs about 8 GB).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "salesperf/indicators.h"
#include "salesperf/synth.h"
#include "salesperf/timelines.h"

namespace {

struct Fixture {
  salesperf::EventLog log;
  salesperf::StageMachine machine;
  salesperf::Timelines timelines;
  salesperf::Units units;
};

salesperf::StageModel Model() {
  using salesperf::Days;
  salesperf::StageModel m;
  m.AddStage("Lead").Any({"opportunity_created"});
  m.AddStage("Engaged").Any({"reply"}).Window(Days(30));
  m.AddStage("Qualified").Any({"state_need"}).Window(Days(45));
  m.AddStage("Budget").Any({"share_budget"}).Window(Days(45));
  m.AddStage("Proposal").Any({"request_proposal"}).Window(Days(60)).StallAfter(Days(30));
  m.AddStage("Commit").Any({"verbal_commit"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  return m;
}

const Fixture& Get(int64_t events) {
  static std::map<int64_t, Fixture> cache;
  auto it = cache.find(events);
  if (it != cache.end()) return it->second;
  salesperf::SynthOptions o;
  o.events = events;
  o.seed = 11;
  auto company = salesperf::GenerateCompany(o);
  auto in = salesperf::Ingest(company->columns(), company->vocabulary());
  Fixture f;
  f.log = std::move(in->log);
  f.machine = *salesperf::Compile(Model(), f.log);
  f.timelines = *salesperf::RunStages(f.machine, f.log);
  f.units = *salesperf::UnitsByRep(f.log);
  return cache.emplace(events, std::move(f)).first->second;
}

void BM_Indicators(benchmark::State& state) {
  const Fixture& f = Get(state.range(0));
  salesperf::IndicatorOptions options;
  options.calendar = salesperf::Calendar(salesperf::Grain::kMonth);
  options.threads = static_cast<int>(state.range(1));
  size_t bytes = 0;
  for (auto _ : state) {
    auto ind = salesperf::ComputeIndicators(f.machine, f.log, f.timelines, f.units, options);
    if (!ind.ok()) {
      state.SkipWithError(std::string(ind.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(ind->num_cells());
    state.PauseTiming();
    bytes = ind->Serialize().size();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * f.log.size());
  state.counters["state_bytes"] = static_cast<double>(bytes);
  state.counters["state_bytes_per_event"] = static_cast<double>(bytes) / static_cast<double>(f.log.size());
}

void BM_CountFloor(benchmark::State& state) {
  const Fixture& f = Get(state.range(0));
  const salesperf::Calendar months(salesperf::Grain::kMonth);
  const auto time = f.log.time();
  const auto deal = f.log.deal();
  const auto action = f.log.action();
  const int64_t first = months.PeriodIndex(*std::min_element(time.begin(), time.end()));
  const int64_t last = months.PeriodIndex(*std::max_element(time.begin(), time.end()));
  const int64_t num_actions = f.log.actions().size();
  const int64_t num_units = static_cast<int64_t>(f.units.names.size());
  std::vector<int64_t> counts(static_cast<size_t>((last - first + 1) * num_units * num_actions));
  for (auto _ : state) {
    std::fill(counts.begin(), counts.end(), 0);
    for (size_t k = 0; k < time.size(); ++k) {
      const int64_t p = months.PeriodIndex(time[k]) - first;
      ++counts[static_cast<size_t>((p * num_units + f.units.of_deal[deal[k]]) * num_actions + action[k])];
    }
    benchmark::DoNotOptimize(counts.data());
  }
  state.SetItemsProcessed(state.iterations() * f.log.size());
}

void BM_Table(benchmark::State& state) {
  const Fixture& f = Get(state.range(0));
  auto ind = salesperf::ComputeIndicators(f.machine, f.log, f.timelines, f.units);
  for (auto _ : state) {
    auto table = salesperf::MakeTable(*ind);
    benchmark::DoNotOptimize(table->value.data());
  }
  state.counters["rows"] = static_cast<double>(salesperf::MakeTable(*ind)->size());
}

int64_t Events() {
  const char* env = std::getenv("SALESPERF_BENCH_EVENTS");
  return env != nullptr ? std::atoll(env) : 10'000'000;
}

const bool registered = [] {
  const int64_t n = Events();
  benchmark::RegisterBenchmark("BM_CountFloor", BM_CountFloor)
      ->Args({n})->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("BM_Indicators", BM_Indicators)
      ->ArgsProduct({{1'000'000, n}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("BM_Table", BM_Table)->Args({n})->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
