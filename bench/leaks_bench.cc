// The leak assessment's speed: counting fates per deal, and assessing the counts.
//   BM_CountLeaks/<events>    CountLeaks over the synthetic company, by rep (one pass
//                             over the deals' timelines)
//   BM_DealFloor/<events>     the peer: one pass over the same per-deal columns
//                             (outcome, value, every stage's first entry) that only
//                             sums them, the least a per-deal count must read
//   BM_Assess/<units>         AssessLeaks on counts with that many units (random
//                             counts, 6 stages): κ fits, benchmarks, posteriors
// items_per_second counts deals for the first two, rows (units x stages) for the last.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "salesperf/leaks.h"
#include "salesperf/synth.h"
#include "salesperf/timelines.h"
#include "synth_fixture.h"

namespace {

using salesperf_bench::Fixture;
using salesperf_bench::Get;

void BM_CountLeaks(benchmark::State& state) {
  const Fixture f = Get(state.range(0));
  for (auto _ : state) {
    auto c = salesperf::CountLeaks(f.log, f.timelines, f.units);
    if (!c.ok()) {
      state.SkipWithError(std::string(c.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(c->num_units());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.log.deals().size()));
}

void BM_DealFloor(benchmark::State& state) {
  const Fixture f = Get(state.range(0));
  const auto& t = f.timelines;
  const size_t deals = f.log.deals().size();
  const size_t stages = static_cast<size_t>(t.num_stages());
  std::vector<int64_t> per_unit(f.units.names.size() * 8, 0);
  for (auto _ : state) {
    for (size_t d = 0; d < deals; ++d) {
      int64_t* row = &per_unit[static_cast<size_t>(f.units.of_deal[d]) * 8];
      row[t.outcome[d] & 7] += 1;
      for (size_t s = 0; s < stages; ++s) row[s & 7] += t.first_entered[d * stages + s] != salesperf::kNullInstant;
      row[7] += t.value[d] == t.value[d];
    }
    benchmark::DoNotOptimize(per_unit.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(deals));
}

void BM_Assess(benchmark::State& state) {
  const auto reps = static_cast<int32_t>(state.range(0));
  const Fixture f = Get(std::max<int64_t>(200'000, 400LL * reps), reps);
  auto counts = salesperf::CountLeaks(f.log, f.timelines, f.units);
  salesperf::LeakOptions options;
  options.benchmark = salesperf::Benchmark::kTopQuartile;
  int64_t rows = 0;
  for (auto _ : state) {
    auto a = salesperf::AssessLeaks(*counts, options);
    if (!a.ok()) {
      state.SkipWithError(std::string(a.status().message()).c_str());
      return;
    }
    rows = static_cast<int64_t>(a->rows.size());
    benchmark::DoNotOptimize(a->rows.shrunk_dollars.data());
  }
  state.SetItemsProcessed(state.iterations() * rows);
  state.counters["rows"] = static_cast<double>(rows);
}

}  // namespace

BENCHMARK(BM_CountLeaks)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DealFloor)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Assess)->Arg(24)->Arg(1'000)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
