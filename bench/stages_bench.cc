// The stage engine's speed: RunStages over the synthetic company's log.
//   BM_RunStages/<events>/<threads>  a 6-stage buyer ladder with conversion windows,
//                                    an all-within rule, a distinct-contacts rule and
//                                    recorded regressions (threads: 1, or 0 = all)
//   BM_ScanLog/<events>              the peer: one pass reading the deal, time and
//                                    action columns (the floor for any engine)
// items_per_second counts events. Compile happens once, outside the timed loop.
#include <benchmark/benchmark.h>

#include <map>

#include "salesperf/synth.h"
#include "salesperf/timelines.h"

namespace {

const salesperf::EventLog& Log(int64_t events) {
  static std::map<int64_t, salesperf::EventLog> cache;
  auto it = cache.find(events);
  if (it != cache.end()) return it->second;
  salesperf::SynthOptions o;
  o.events = events;
  o.seed = 11;
  auto company = salesperf::GenerateCompany(o);
  auto in = salesperf::Ingest(company->columns(), company->vocabulary());
  return cache.emplace(events, std::move(in->log)).first->second;
}

salesperf::StageModel Model() {
  using salesperf::Days;
  salesperf::StageModel m;
  m.AddStage("Lead").Any({"opportunity_created"});
  m.AddStage("Engaged").Any({"reply"}).Window(Days(30));
  m.AddStage("Qualified").Any({"state_need"}).Window(Days(45));
  m.AddStage("Budget").All({{"state_need"}, {"share_budget"}}, Days(60)).Window(Days(45));
  m.AddStage("Proposal").Any({"request_proposal"}).Window(Days(60));
  m.AddStage("Commit").DistinctContacts({"verbal_commit", "request_proposal"}, 1, Days(90));
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  salesperf::StageRule back;
  back.filters = {{"decline"}};  // never fires before Lost does: exercises the lookup
  m.SetRegression(salesperf::Regression::kRecord).Regress(back, "Qualified");
  return m;
}

void BM_RunStages(benchmark::State& state) {
  const salesperf::EventLog& log = Log(state.range(0));
  auto machine = salesperf::Compile(Model(), log);
  if (!machine.ok()) {
    state.SkipWithError(std::string(machine.status().message()).c_str());
    return;
  }
  salesperf::RunOptions options;
  options.threads = static_cast<int>(state.range(1));
  for (auto _ : state) {
    auto t = salesperf::RunStages(*machine, log, options);
    benchmark::DoNotOptimize(t->outcome.data());
  }
  state.SetItemsProcessed(state.iterations() * log.size());
}

void BM_ScanLog(benchmark::State& state) {
  const salesperf::EventLog& log = Log(state.range(0));
  for (auto _ : state) {
    int64_t acc = 0;
    const auto deal = log.deal();
    const auto time = log.time();
    const auto action = log.action();
    for (size_t k = 0; k < time.size(); ++k) acc += deal[k] ^ time[k] ^ action[k];
    benchmark::DoNotOptimize(acc);
  }
  state.SetItemsProcessed(state.iterations() * log.size());
}

BENCHMARK(BM_ScanLog)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RunStages)
    ->ArgsProduct({{10'000'000}, {1, 0}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
