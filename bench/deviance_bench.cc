// The speed of positive deviance and plan against actual on the synthetic company.
//   BM_Behaviours/<events>   AssessBehaviours by rep: one pass over every deal's events
//                            building the features per stage, the stratified tables,
//                            the tests, the proxy screen and the sentences
//   BM_EventFloor/<events>   the peer: one pass over the same event columns (time,
//                            action's actor, contact, contact_role) per deal that only
//                            folds them into a per-deal sum, the least a per-event
//                            feature pass must read
//   BM_Deviants/<events>     AssessDeviants with three covariates (logistic fit by
//                            Newton, expected wins, gamma-Poisson prior)
//   BM_Diagnose/<events>     DiagnoseReps with the behaviours (active weeks, volumes,
//                            adoption, answers)
//   BM_PlanVsActual/<events> one bookings objective per rep for the last quarter
//   BM_DeviantCountsMerge/<events>   the whole log's DeviantCounts serialized, read
//                            back, merged into an empty accumulator and with itself:
//                            what carrying and merging the state costs on a cluster
//   BM_BehaviourCountsMerge/<events> the same for BehaviourCounts
//   BM_BehaviourCount/<events>       BehaviourCounts::Count alone (a partition's work)
// items_per_second counts events for the first two, deals for the others.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "salesperf/deviance.h"
#include "salesperf/synth.h"
#include "salesperf/targets.h"
#include "salesperf/timelines.h"
#include "synth_fixture.h"

namespace {

using salesperf_bench::Fixture;
using salesperf_bench::Get;

template <typename T>
bool Check(benchmark::State& state, const absl::StatusOr<T>& r) {
  if (r.ok()) return true;
  state.SkipWithError(std::string(r.status().message()).c_str());
  return false;
}

void BM_Behaviours(benchmark::State& state) {
  const Fixture f = Get(state.range(0));
  for (auto _ : state) {
    auto b = salesperf::AssessBehaviours(f.log, f.timelines, f.units);
    if (!Check(state, b)) return;
    benchmark::DoNotOptimize(b->rows.q_value.data());
  }
  state.SetItemsProcessed(state.iterations() * f.log.size());
}

void BM_EventFloor(benchmark::State& state) {
  const Fixture f = Get(state.range(0));
  const auto time = f.log.time();
  const auto action = f.log.action();
  const auto contact = f.log.contact();
  const auto role = f.log.contact_role();
  const auto actors = f.log.action_actors();
  const auto offsets = f.log.deal_offsets();
  std::vector<int64_t> per_deal(static_cast<size_t>(f.log.num_deals()), 0);
  for (auto _ : state) {
    for (size_t d = 0; d + 1 < offsets.size(); ++d) {
      int64_t acc = 0;
      for (int64_t e = offsets[d]; e < offsets[d + 1]; ++e) {
        const auto i = static_cast<size_t>(e);
        acc += (time[i] >> 20) ^ (actors[static_cast<size_t>(action[i])] * 7 + contact[i] + role[i]);
      }
      per_deal[d] = acc;
    }
    benchmark::DoNotOptimize(per_deal.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * f.log.size());
}

salesperf::DeviantOptions DeviantOpts() {
  salesperf::DeviantOptions o;
  o.covariates = {"segment", "lead_source", "product"};
  return o;
}

void BM_Deviants(benchmark::State& state) {
  const Fixture f = Get(state.range(0));
  for (auto _ : state) {
    auto d = salesperf::AssessDeviants(f.log, f.timelines, f.units, DeviantOpts());
    if (!Check(state, d)) return;
    benchmark::DoNotOptimize(d->ratio_shrunk.data());
  }
  state.SetItemsProcessed(state.iterations() * f.log.num_deals());
}

void BM_Diagnose(benchmark::State& state) {
  const Fixture f = Get(state.range(0));
  auto dev = salesperf::AssessDeviants(f.log, f.timelines, f.units, DeviantOpts());
  auto beh = salesperf::AssessBehaviours(f.log, f.timelines, f.units);
  if (!Check(state, dev) || !Check(state, beh)) return;
  for (auto _ : state) {
    auto r = salesperf::DiagnoseReps(f.log, f.timelines, f.units, *dev, &*beh);
    if (!Check(state, r)) return;
    benchmark::DoNotOptimize(r->volume.data());
  }
  state.SetItemsProcessed(state.iterations() * f.log.num_deals());
}

void BM_PlanVsActual(benchmark::State& state) {
  const Fixture f = Get(state.range(0));
  constexpr int64_t kDay = 86'400'000'000'000LL;
  std::vector<salesperf::Objective> objectives;
  for (const std::string& rep : f.units.names) {
    salesperf::Objective o;
    o.unit = rep;
    o.period_end = f.timelines.as_of + kDay;
    o.period_start = o.period_end - 91 * kDay;
    o.target = 1'000'000;
    objectives.push_back(o);
  }
  for (auto _ : state) {
    auto r = salesperf::PlanVsActual(f.log, f.timelines, f.units, objectives);
    if (!Check(state, r)) return;
    benchmark::DoNotOptimize(r->rows.forecast.data());
  }
  state.SetItemsProcessed(state.iterations() * f.log.num_deals());
}

// Serialize, Deserialize and Merge of the whole log's counts: what a cluster adds per
// partition on top of Count.
template <typename Counts, typename CountFn>
void MergeBench(benchmark::State& state, CountFn count) {
  const Fixture f = Get(state.range(0));
  auto c = count(f);
  if (!Check(state, c)) return;
  for (auto _ : state) {
    auto back = Counts::Deserialize(c->Serialize());
    if (!Check(state, back)) return;
    Counts merged;
    if (!merged.Merge(*back).ok() || !merged.Merge(*c).ok()) {
      state.SkipWithError("merge failed");
      return;
    }
    benchmark::DoNotOptimize(merged.num_cells());
  }
  state.SetItemsProcessed(state.iterations() * f.log.num_deals());
}

// Count alone (the per-partition work on a cluster), for the share of AssessBehaviours.
void BM_BehaviourCount(benchmark::State& state) {
  const Fixture f = Get(state.range(0));
  for (auto _ : state) {
    auto c = salesperf::BehaviourCounts::Count(f.log, f.timelines, f.units);
    if (!Check(state, c)) return;
    benchmark::DoNotOptimize(c->num_cells());
  }
  state.SetItemsProcessed(state.iterations() * f.log.size());
}

void BM_DeviantCountsMerge(benchmark::State& state) {
  MergeBench<salesperf::DeviantCounts>(state, [](const Fixture& f) {
    return salesperf::DeviantCounts::Count(f.log, f.timelines, f.units, DeviantOpts().covariates);
  });
}

void BM_BehaviourCountsMerge(benchmark::State& state) {
  MergeBench<salesperf::BehaviourCounts>(
      state, [](const Fixture& f) { return salesperf::BehaviourCounts::Count(f.log, f.timelines, f.units); });
}

}  // namespace

BENCHMARK(BM_BehaviourCount)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DeviantCountsMerge)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BehaviourCountsMerge)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Behaviours)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EventFloor)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Deviants)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Diagnose)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PlanVsActual)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
