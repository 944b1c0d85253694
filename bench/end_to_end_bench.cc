// The whole path at scale: ingest the synthetic company's columns, compile and run the
// stalled 6-stage ladder, and compute every leading indicator by rep and month.
//   BM_EndToEnd/<events>/<threads>  Ingest + Compile + RunStages + UnitsByRep +
//                                   ComputeIndicators (threads: 1, or 0 = all cores)
//   BM_ReadColumns/<events>         the peer: one pass summing the time column as the
//                                   generator holds it (the memory-bandwidth floor)
// items_per_second counts events. Generation happens once, outside the timed loop; the
// 100M case needs about 12 GB of memory:
//   build/release/bench/end_to_end_bench --benchmark_filter=/100000000/
#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <memory>

#include "salesperf/indicators.h"
#include "salesperf/synth.h"
#include "salesperf/timelines.h"
#include "synth_fixture.h"

namespace {

const salesperf::SyntheticCompany& Company(int64_t events) {
  static std::map<int64_t, std::unique_ptr<salesperf::SyntheticCompany>> cache;
  auto it = cache.find(events);
  if (it != cache.end()) return *it->second;
  salesperf::SynthOptions o;
  o.events = events;
  o.seed = 11;
  auto company = salesperf::GenerateCompany(o);
  return *cache.emplace(events, std::make_unique<salesperf::SyntheticCompany>(std::move(*company)))
              .first->second;
}

void BM_EndToEnd(benchmark::State& state) {
  const salesperf::SyntheticCompany& company = Company(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  const salesperf::EventColumns columns = company.columns();
  size_t events = 0;
  double ingest_s = 0, stages_s = 0, indicators_s = 0;
  using Clock = std::chrono::steady_clock;
  const auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  for (auto _ : state) {
    auto t = Clock::now();
    salesperf::IngestOptions io;
    io.threads = threads;
    auto in = salesperf::Ingest(columns, company.vocabulary(), io);
    if (!in.ok()) {
      state.SkipWithError(std::string(in.status().message()).c_str());
      return;
    }
    ingest_s += since(t);
    t = Clock::now();
    auto machine = salesperf::Compile(salesperf_bench::StalledModel(), in->log);
    salesperf::RunOptions ro;
    ro.threads = threads;
    auto timelines = salesperf::RunStages(*machine, in->log, ro);
    stages_s += since(t);
    t = Clock::now();
    auto units = salesperf::UnitsByRep(in->log);
    salesperf::IndicatorOptions options;
    options.threads = threads;
    auto ind = salesperf::ComputeIndicators(*machine, in->log, *timelines, *units, options);
    if (!ind.ok()) {
      state.SkipWithError(std::string(ind.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(ind->num_cells());
    indicators_s += since(t);
    events = in->log.size();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(events));
  // Seconds per run of each step (they add up to the total, less freeing the results).
  const auto runs = static_cast<double>(state.iterations());
  state.counters["ingest_s"] = ingest_s / runs;
  state.counters["stages_s"] = stages_s / runs;
  state.counters["indicators_s"] = indicators_s / runs;
}

void BM_ReadColumns(benchmark::State& state) {
  const salesperf::SyntheticCompany& company = Company(state.range(0));
  const salesperf::EventColumns c = company.columns();
  for (auto _ : state) {
    int64_t acc = 0;
    const size_t n = c.time.size();
    for (size_t k = 0; k < n; ++k) acc += c.time[k];
    benchmark::DoNotOptimize(acc);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(c.time.size()));
}

BENCHMARK(BM_ReadColumns)->Arg(10'000'000)->Arg(100'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EndToEnd)
    ->ArgsProduct({{10'000'000, 100'000'000}, {1, 0}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
