// salesperf/targets.h — working backwards from the number: from a revenue target per
// unit and period, the wins, stage entries and leading-indicator occurrences each
// unit needs per week, when they are needed, and the gap to the current run rate,
// with intervals that carry the uncertainty of the rates; and the what-if of adding
// reps against raising one stage's conversion.
//
//   salesperf::TargetOptions o;
//   o.period_start = ...; o.period_end = ...;          // the target's period
//   o.targets = {{"rep-01", 250'000}, {"rep-02", 180'000}};
//   absl::StatusOr<salesperf::TargetPlan> plan = salesperf::PlanTargets(log, timelines, units, o);
//   plan->rows.entries_per_week[i];   // unit rows.unit[i] must see this many deals enter
//                                     // stage rows.stage[i] each week ...
//   plan->rows.needed_from[i];        // ... from this instant (lagged by cycle time)
//
// Source in practice: a revenue number is a result, not an instruction; managers
// manage the activities that produce it (Jordan & Vazzana). Start from the number,
// derive the objectives (wins, conversion at each stage), then the activities.
//
// ===================================================================================
// DEFINITIONS
// ===================================================================================
// The history is the whole log, judged at timelines.as_of. Per unit u (Units) and open
// stage k, with the fates of salesperf/leaks.h (one cohort: every deal):
//   x_k, n_k   advanced and trials at stage k (leaks.h);
//   m_k, κ_k   the pooled rate and beta-binomial concentration over the units
//              (BetaBinomialConcentration); the unit's rate posterior is
//              Beta(x_k + κ_k m_k, n_k - x_k + κ_k (1 - m_k)) — with κ_k = 0, the
//              Jeffreys Beta(x_k + 1/2, n_k - x_k + 1/2). rate_k is its mean.
//              RateSource::kOrganisation uses the pooled counts (Σx, Σn) with the
//              Jeffreys posterior for every unit instead.
//   win_k      Π_{j>=k} rate_j: the chance a deal entering stage k is won.
//   value      the mean value of the unit's won deals that have a value, and its
//              standard error s/√w (w won valued deals, s their sample sd; NaN when
//              w = 1, and the draws then keep value fixed); a unit with fewer than
//              min_won won valued deals uses the organisation's (both figures).
//   lag_k      the median, over the unit's won deals that entered stage k, of the days
//              from their first entry into k to the win (outcome_time); the
//              organisation's when the unit has fewer than min_won such deals.
//   run_rate_k deals of the unit whose first entry into k falls in
//              [as_of - lookback, as_of), per week (7 days).
//   occurrences_per_entry_k  the events of the actions in the stage's entry rules
//              (the leading indicators: needs stated, proposals requested, ...) on
//              the unit's deals in the same window, per deal entering k in it (1 when
//              no deal entered); NaN when the machine is not given.
// The plan, for target T (dollars) over [period_start, period_end), W weeks long:
//   wins_needed      = T / value
//   entries_needed_k = wins_needed / win_k
//   entries_per_week_k = entries_needed_k / W
//   occurrences_per_week_k = entries_per_week_k × occurrences_per_entry_k
//   needed_from_k, needed_to_k = period_start - lag_k, period_end - lag_k: when the
//              entries must happen for their wins to land in the period (lag_k in
//              ns, rounded to the nearest; kNullInstant when lag_k is NaN)
//   gap_per_week_k   = entries_per_week_k - run_rate_k (positive: more is needed)
//   Intervals (lower, upper at `interval`, central): Monte Carlo with `draws` draws
//   from a SplitMix64 stream seeded by `seed` (deterministic on every machine): each
//   draw takes every rate_j from its beta posterior and value from
//   Normal(value, standard error) floored at 1% of value, and recomputes
//   entries_per_week_k; the bounds are the draws' empirical quantiles (linear
//   interpolation, numpy's default). Each planned unit has its own stream, its state
//   starting at seed XOR SplitMix64's finaliser of (u + 1), u its index in Units, so
//   a unit's interval does not depend on which other units have targets; a draw takes
//   rate_0 .. rate_{O-1} (each Ga(a) / (Ga(a) + Ga(b)), Marsaglia–Tsang), then one
//   Box–Muller normal.
// Units with no target are not planned. A unit whose win_k is 0 or NaN, or whose value
// is NaN or not positive, has NaN needs (and bounds).
//
// What-if (WhatIf), over a horizon of H weeks for the whole organisation (rates, value
// and run rates as in the plan, with RateSource::kUnit):
//   baseline    Σ over units of run-rate wins × value: run_rate_0 × win_0 × value per
//               week, times H (the revenue the current flow produces);
//   add_reps    N new reps, each reaching the median unit's weekly revenue (the median,
//               linear interpolation, over every unit of Units) after a linear ramp of
//               R weeks (week t earns min(1, t / R) of it):
//               N × median × Σ_{t=1..H} min(1, t / R) (R = 0: each term 1; a
//               fractional H adds its last part-week, (H - ⌊H⌋) × min(1, (⌊H⌋+1) / R));
//   raise_stage the same flow with stage k's rate multiplied by (1 + x), capped at 1:
//               Σ over units of run_rate_0 × value × (win_0 with rate_k raised) - baseline
//               per week, times H.
#ifndef SALESPERF_TARGETS_H_
#define SALESPERF_TARGETS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "salesperf/event_log.h"
#include "salesperf/indicators.h"
#include "salesperf/stage_model.h"
#include "salesperf/timelines.h"

namespace salesperf {

enum class RateSource : uint8_t { kUnit = 0, kOrganisation = 1 };

struct TargetOptions {
  int64_t period_start = kNullInstant;  // required
  int64_t period_end = kNullInstant;    // required, > period_start
  std::vector<std::pair<std::string, double>> targets;  // unit name -> dollars (> 0)
  RateSource rates = RateSource::kUnit;
  int64_t lookback = 90LL * 86'400'000'000'000LL;  // ns, > 0
  int64_t min_won = 5;       // >= 1
  int32_t draws = 2000;      // 100 .. 1,000,000
  uint64_t seed = 1;
  double interval = 0.8;     // in (0, 1)
};

struct TargetRows {  // unit x open stage, units in Units order, only units with a target
  std::vector<int32_t> unit, stage;
  std::vector<double> target, value, value_se, wins_needed;
  std::vector<double> rate, win_probability, lag_days;
  std::vector<double> entries_needed, entries_per_week, entries_lower, entries_upper;
  std::vector<double> occurrences_per_entry, occurrences_per_week;
  std::vector<int64_t> needed_from, needed_to;  // UTC ns
  std::vector<double> run_rate, gap_per_week;
  size_t size() const { return unit.size(); }
};

struct TargetPlan {
  std::vector<std::string> stage_names;  // open stages, then "Won", "Lost"
  int32_t num_open = 0;
  std::vector<std::string> unit_names;   // the Units' names
  double weeks = 0;
  TargetRows rows;
};

// InvalidArgument naming the option or the unit (a target for a unit the Units lack,
// a non-positive or non-finite target, bad period or options); FailedPrecondition
// when timelines or units do not fit the log. `machine` may be null (then
// occurrences are NaN).
absl::StatusOr<TargetPlan> PlanTargets(const EventLog& log, const Timelines& timelines, const Units& units,
                                       const TargetOptions& options, const StageMachine* machine = nullptr);

struct WhatIfOptions {
  double horizon_weeks = 52;  // > 0
  int32_t add_reps = 1;       // >= 0
  double ramp_weeks = 13;     // >= 0 (0: full speed at once)
  int32_t stage = 0;          // the open stage whose rate is raised
  double raise = 0.10;        // > -1: relative change of that stage's rate
  int64_t lookback = 90LL * 86'400'000'000'000LL;
  int64_t min_won = 5;
};
struct WhatIf {
  double baseline_revenue = 0;      // over the horizon
  double add_reps_revenue = 0;      // extra revenue from the new reps
  double raise_stage_revenue = 0;   // extra revenue from the raised stage
  double median_unit_weekly = 0;    // the median unit's weekly revenue at its run rate
};
absl::StatusOr<WhatIf> WhatIfRevenue(const EventLog& log, const Timelines& timelines, const Units& units,
                                     const WhatIfOptions& options);

// The beta sampler of the intervals, exposed for tests: n draws of Beta(a, b) from the
// SplitMix64 stream whose state starts at `seed`. InvalidArgument unless a, b are
// positive and finite and n >= 0.
absl::StatusOr<std::vector<double>> BetaDraws(double a, double b, int64_t n, uint64_t seed);

}  // namespace salesperf

#endif  // SALESPERF_TARGETS_H_
