// Fuzz target: the C++ entry points that receive a plan's columns. Plans (targets per
// unit, objectives, key-account lists) are read from files only in Python
// (salesperf.targets: pandas DataFrames); what reaches C++ is their columns, so these
// are fuzzed: PlanTargets (TargetOptions), PlanVsActual (Objective rows and
// PlanActualOptions), KeyAccountProgress (rep, account pairs and a period) and
// WhatIfRevenue (WhatIfOptions), on the fixed log (salesperf::fuzz::FixedLog) and its
// timelines under the fixed model.
//
// Input: one selector byte (which entry point), then the fields. Checked after a
// success: one row per objective / pair / (unit with a target) x stage, in order,
// with elapsed in [0, 1] and non-negative counts.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "salesperf/targets.h"

namespace salesperf::fuzz {
namespace plan_fuzz {

struct Fixture {
  Ingested in;
  StageMachine machine;
  Timelines timelines;
  Units units;
};

inline const Fixture& Fix() {
  static const Fixture f = [] {
    Fixture x;
    x.in = FixedLog(40, 7);
    absl::StatusOr<StageMachine> m = Compile(FixedModel(true, true, true), x.in.log);
    SP_FUZZ_CHECK(m.ok(), m.status().ToString());
    x.machine = *m;
    RunOptions run;
    run.threads = 1;
    absl::StatusOr<Timelines> t = RunStages(x.machine, x.in.log, run);
    SP_FUZZ_CHECK(t.ok(), t.status().ToString());
    x.timelines = *t;
    absl::StatusOr<Units> u = UnitsByRep(x.in.log);
    SP_FUZZ_CHECK(u.ok(), u.status().ToString());
    x.units = *u;
    return x;
  }();
  return f;
}

inline std::string UnitName(FuzzedDataProvider& p, const Units& units) {
  if (!units.names.empty() && p.ConsumeIntegralInRange<int>(0, 7) != 0) {
    return units.names[p.ConsumeIntegralInRange<size_t>(0, units.names.size() - 1)];
  }
  return p.ConsumeRandomLengthString(6);
}

// t + days, saturating at the int64 range (the sum itself must not overflow here).
inline int64_t PlusDays(int64_t t, int64_t days) {
  int64_t out = 0;
  if (__builtin_add_overflow(t, days * kDayNs, &out)) return days < 0 ? kNullInstant + 1 : INT64_MAX;
  return out;
}

inline int64_t Lookback(FuzzedDataProvider& p) {
  return p.ConsumeBool() ? p.ConsumeIntegralInRange<int64_t>(1, 400) * kDayNs / 2 : InterestingTime(p);
}

inline void Targets(FuzzedDataProvider& p, const Fixture& f) {
  TargetOptions o;
  o.period_start = InterestingTime(p);
  o.period_end = p.ConsumeBool() ? PlusDays(o.period_start, p.ConsumeIntegralInRange<int64_t>(-1, 200))
                                 : InterestingTime(p);
  const int k = p.ConsumeIntegralInRange<int>(0, 5);
  for (int i = 0; i < k; ++i) o.targets.emplace_back(UnitName(p, f.units), InterestingDouble(p));
  o.rates = p.ConsumeBool() ? RateSource::kUnit : RateSource::kOrganisation;
  o.lookback = Lookback(p);
  o.min_won = p.ConsumeIntegralInRange<int64_t>(-1, 8);
  // Small draw counts keep runs fast; the edges of the valid range are errors or slow.
  o.draws = p.PickValueInArray<int32_t>({99, 100, 101, 250, 0, -5, 1'000'001});
  o.seed = p.ConsumeIntegral<uint64_t>();
  o.interval = p.ConsumeBool() ? 0.8 : InterestingDouble(p);
  const StageMachine* machine = p.ConsumeBool() ? &f.machine : nullptr;
  absl::StatusOr<TargetPlan> plan = PlanTargets(f.in.log, f.timelines, f.units, o, machine);
  if (!plan.ok()) {
    CheckCleanError(plan.status(), "PlanTargets");
    return;
  }
  const TargetRows& r = plan->rows;
  SP_FUZZ_CHECK(r.size() % static_cast<size_t>(std::max(plan->num_open, 1)) == 0, "rows per unit");
  SP_FUZZ_CHECK(r.stage.size() == r.size() && r.entries_lower.size() == r.size() && r.gap_per_week.size() == r.size() &&
                    r.needed_from.size() == r.size(),
                "target row columns");
  for (size_t i = 0; i < r.size(); ++i) {
    SP_FUZZ_CHECK(r.unit[i] >= 0 && r.unit[i] < static_cast<int32_t>(plan->unit_names.size()), "unit index");
    SP_FUZZ_CHECK(r.stage[i] >= 0 && r.stage[i] < plan->num_open, "stage index");
    SP_FUZZ_CHECK(!(r.entries_lower[i] > r.entries_upper[i]), "interval bounds out of order");
  }
}

inline void Objectives(FuzzedDataProvider& p, const Fixture& f) {
  std::vector<Objective> objectives;
  const int k = p.ConsumeIntegralInRange<int>(0, 6);
  for (int i = 0; i < k; ++i) {
    Objective o;
    o.unit = UnitName(p, f.units);
    o.metric = static_cast<PlanMetric>(p.ConsumeIntegralInRange<int>(0, 2));
    o.period_start = InterestingTime(p);
    o.period_end = p.ConsumeBool() ? PlusDays(o.period_start, p.ConsumeIntegralInRange<int64_t>(-1, 200))
                                   : InterestingTime(p);
    o.target = InterestingDouble(p);
    o.margin_rate = p.ConsumeBool() ? 0.3 : InterestingDouble(p);
    objectives.push_back(o);
  }
  PlanActualOptions options;
  options.shape_periods = p.ConsumeIntegralInRange<int32_t>(-1, 12);
  absl::StatusOr<PlanActual> pa = PlanVsActual(f.in.log, f.timelines, f.units, objectives, options);
  if (!pa.ok()) {
    CheckCleanError(pa.status(), "PlanVsActual");
    return;
  }
  const PlanActualRows& r = pa->rows;
  SP_FUZZ_CHECK(r.size() == objectives.size(), "one row per objective");
  SP_FUZZ_CHECK(r.forecast.size() == r.size() && r.open_deals.size() == r.size() && r.elapsed.size() == r.size(),
                "plan-actual columns");
  for (size_t i = 0; i < r.size(); ++i) {
    SP_FUZZ_CHECK(r.elapsed[i] >= 0 && r.elapsed[i] <= 1, "elapsed outside [0, 1]");
    SP_FUZZ_CHECK(!(r.shape[i] < 0) && !(r.shape[i] > 1 + 1e-12), "shape outside [0, 1]");
    SP_FUZZ_CHECK(r.won_deals[i] >= 0 && r.unvalued_wins[i] >= 0 && r.open_deals[i] >= 0, "negative counts");
    SP_FUZZ_CHECK(!(r.forecast_sd[i] < 0), "negative forecast sd");
  }
}

inline void KeyAccounts(FuzzedDataProvider& p, const Fixture& f) {
  static const std::vector<std::string> kReps = {"ana", "bo", "cy", "di", "zed", ""};
  static const std::vector<std::string> kAccounts = {"acme", "globex", "initech", "umbrella", "hooli", "nope", ""};
  std::vector<KeyAccount> plan;
  const int k = p.ConsumeIntegralInRange<int>(0, 8);
  for (int i = 0; i < k; ++i) {
    plan.push_back({kReps[p.ConsumeIntegralInRange<size_t>(0, kReps.size() - 1)],
                    p.ConsumeIntegralInRange<int>(0, 7) == 0
                        ? p.ConsumeRandomLengthString(6)
                        : kAccounts[p.ConsumeIntegralInRange<size_t>(0, kAccounts.size() - 1)]});
  }
  const int64_t from = InterestingTime(p), to = InterestingTime(p);
  absl::StatusOr<KeyAccountRows> rows = KeyAccountProgress(f.in.log, f.timelines, plan, from, to);
  if (!rows.ok()) {
    CheckCleanError(rows.status(), "KeyAccountProgress");
    return;
  }
  SP_FUZZ_CHECK(rows->size() == plan.size() && rows->kind.size() == plan.size(), "one row per pair");
  for (size_t i = 0; i < rows->size(); ++i) {
    SP_FUZZ_CHECK(rows->opened[i] >= 0 && rows->won[i] >= 0, "negative counts");
    if (!rows->known[i]) SP_FUZZ_CHECK(rows->opened[i] == 0 && rows->won[i] == 0, "unknown account with counts");
  }
}

inline void WhatIfs(FuzzedDataProvider& p, const Fixture& f) {
  WhatIfOptions o;
  o.horizon_weeks = p.ConsumeBool() ? p.ConsumeFloatingPointInRange<double>(0, 104) : InterestingDouble(p);
  o.add_reps = p.ConsumeIntegralInRange<int32_t>(-1, 20);
  o.ramp_weeks = p.ConsumeBool() ? p.ConsumeFloatingPointInRange<double>(0, 26) : InterestingDouble(p);
  o.stage = p.ConsumeIntegralInRange<int32_t>(-1, 6);
  o.raise = p.ConsumeBool() ? p.ConsumeFloatingPointInRange<double>(-1.5, 3) : InterestingDouble(p);
  o.lookback = Lookback(p);
  o.min_won = p.ConsumeIntegralInRange<int64_t>(-1, 8);
  absl::StatusOr<WhatIf> w = WhatIfRevenue(f.in.log, f.timelines, f.units, o);
  if (!w.ok()) CheckCleanError(w.status(), "WhatIfRevenue");
}

inline int Run(const uint8_t* data, size_t size) {
  const Fixture& f = Fix();
  FuzzedDataProvider p(data, size);
  switch (p.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: Targets(p, f); break;
    case 1: Objectives(p, f); break;
    case 2: KeyAccounts(p, f); break;
    default: WhatIfs(p, f); break;
  }
  return 0;
}

}  // namespace plan_fuzz

inline int FuzzPlan(const uint8_t* data, size_t size) { return plan_fuzz::Run(data, size); }

}  // namespace salesperf::fuzz

SP_FUZZ_ENTRY(FuzzPlan)
