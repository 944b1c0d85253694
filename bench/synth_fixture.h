// The benchmarks' inputs: the synthetic company's log (seed 11, cached per size), and
// for the per-unit analyses the stage model with stall limits and its timelines by rep.
#ifndef SALESPERF_BENCH_SYNTH_FIXTURE_H_
#define SALESPERF_BENCH_SYNTH_FIXTURE_H_

#include <cstdint>
#include <map>
#include <utility>

#include "salesperf/indicators.h"
#include "salesperf/synth.h"
#include "salesperf/timelines.h"

namespace salesperf_bench {

// The synthetic company's log with about `events` events and `reps` reps (seed 11).
inline const salesperf::EventLog& SynthLog(int64_t events, int32_t reps = 24) {
  static std::map<std::pair<int64_t, int32_t>, salesperf::EventLog> cache;
  auto it = cache.find({events, reps});
  if (it != cache.end()) return it->second;
  salesperf::SynthOptions o;
  o.events = events;
  o.reps = reps;
  o.seed = 11;
  auto company = salesperf::GenerateCompany(o);
  auto in = salesperf::Ingest(company->columns(), company->vocabulary());
  return cache.emplace(std::make_pair(events, reps), std::move(in->log)).first->second;
}

// The synthetic ladder with a 45-day stall limit on every stage after Lead and stalled
// deals closed 30 days later (so that buyers who go dark become decided failures).
inline salesperf::StageModel StalledModel() {
  using salesperf::Days;
  salesperf::StageModel m;
  m.AddStage("Lead").Any({"opportunity_created"});
  m.AddStage("Engaged").Any({"reply"}).StallAfter(Days(45));
  m.AddStage("Qualified").Any({"state_need"}).StallAfter(Days(45));
  m.AddStage("Budget").Any({"share_budget"}).StallAfter(Days(45));
  m.AddStage("Proposal").Any({"request_proposal"}).StallAfter(Days(45));
  m.AddStage("Commit").Any({"verbal_commit"}).StallAfter(Days(45));
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  m.CloseStalledAfter(Days(30));
  return m;
}

struct StalledRun {
  const salesperf::EventLog* log = nullptr;
  salesperf::Timelines timelines;
  salesperf::Units units;  // by rep (most active)
};

// SynthLog(events, reps) run through StalledModel(), cached.
inline const StalledRun& GetStalledRun(int64_t events, int32_t reps = 24) {
  static std::map<std::pair<int64_t, int32_t>, StalledRun> cache;
  auto it = cache.find({events, reps});
  if (it != cache.end()) return it->second;
  StalledRun f;
  f.log = &SynthLog(events, reps);
  auto machine = salesperf::Compile(StalledModel(), *f.log);
  f.timelines = *salesperf::RunStages(*machine, *f.log);
  f.units = *salesperf::UnitsByRep(*f.log);
  return cache.emplace(std::make_pair(events, reps), std::move(f)).first->second;
}

// The stalled run by reference, for the per-unit benchmarks (leaks, deviance).
struct Fixture {
  const salesperf::EventLog& log;
  const salesperf::Timelines& timelines;
  const salesperf::Units& units;
};

inline Fixture Get(int64_t events, int32_t reps = 24) {
  const StalledRun& r = GetStalledRun(events, reps);
  return Fixture{*r.log, r.timelines, r.units};
}

}  // namespace salesperf_bench

#endif  // SALESPERF_BENCH_SYNTH_FIXTURE_H_
