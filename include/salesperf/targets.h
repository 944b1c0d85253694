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
#include <limits>
#include <span>
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

// ---- Plan against actual --------------------------------------------------------
// Objectives per unit and period (Jordan & Vazzana: revenue, margin and bookings
// objectives per rep, monitored monthly or quarterly), judged at timelines.as_of.
// salesperf has no revenue-recognition schedule: a won deal's value counts in full at
// its win (outcome_time), so "revenue" and "bookings" are both kBookings.
//   kBookings  Σ value of the unit's deals won in the period (a won deal without a
//              value counts 0 and is counted in unvalued_wins);
//   kMargin    the same × the objective's margin_rate (required, in [0, 1]);
//   kWins      the number of the unit's deals won in the period.
// Per objective, over [period_start, period_end), with as_of = timelines.as_of:
//   actual       the metric over wins in [period_start, period_end) at or before as_of
//                (a win exactly at period_end belongs to the next period);
//   attainment   actual / target;
//   elapsed      clamp((as_of - period_start) / (period_end - period_start), 0, 1);
//   shape        the historical share of a period's metric that lands by `elapsed`:
//                over the organisation's (every unit's) wins in the up to
//                `shape_periods` whole periods of the same length before period_start
//                (period i = [period_start - i L, period_start - (i - 1) L), i = 1..,
//                only those starting at or after the log's first event), Σ metric of
//                wins whose offset (time - its period's start) / L < elapsed, over Σ
//                metric of all of them; `elapsed` itself when they hold no metric
//                (a straight line: no history to shape it); 1 when elapsed = 1;
//   expected_to_date  target × shape;  pacing = actual / expected_to_date (NaN at 0);
//   the pipeline: the unit's deals whose outcome at as_of is Open (stalled deals are
//   not counted), each at its current stage k with its first entry e_k into it:
//     p_win_k    the organisation's chance a deal at k is won: Π_{j>=k} x_j / n_j over
//                every unit's deals (leaks.h trials, one cohort); NaN when a
//                stage has no trials;
//     p_time     the chance its win lands by period_end given it has waited
//                a = as_of - e_k: over the organisation's won deals that entered k,
//                D = win time - first entry into k, #(a < D <= a + R) / #(D > a) with
//                R = period_end - max(as_of, period_start) (0 when as_of >= period_end,
//                the period is over); 0 when no won deal waited longer than a;
//     q          p_win_k × p_time; the deal adds value × q to the forecast (for kWins,
//                q; for kMargin, value × margin_rate × q);
//   pipeline_value    Σ value of those open deals (unweighted; kMargin: value ×
//                margin_rate, so that coverage compares margin with margin; kWins: their
//                count); an open deal without a value counts 0 (as an unvalued win
//                does in actual) but is still in open_deals; an open deal that never
//                entered an open stage has no stage to forecast from and is left out;
//   weighted_pipeline Σ of their contributions; forecast = actual + weighted_pipeline;
//   forecast_sd  sqrt(Σ contribution_weight² q (1 - q)) (contribution_weight = value,
//                value × margin_rate or 1): the spread if the deals are independent;
//   coverage     pipeline_value / (target - actual) (NaN when the target is met);
//   gap          target - forecast (positive: short).
// Objectives whose period has not started yet (as_of < period_start) have actual 0,
// elapsed 0 and their forecast from the whole pipeline as above.
enum class PlanMetric : uint8_t { kBookings = 0, kMargin = 1, kWins = 2 };

struct Objective {
  std::string unit;          // a name of the Units
  PlanMetric metric = PlanMetric::kBookings;
  int64_t period_start = kNullInstant;  // UTC ns, required
  int64_t period_end = kNullInstant;    // required, > period_start
  double target = 0;         // > 0, finite
  double margin_rate = std::numeric_limits<double>::quiet_NaN();  // kMargin only (ignored otherwise)
};

struct PlanActualOptions {
  int32_t shape_periods = 8;  // >= 0
};

struct PlanActualRows {  // one per objective, in the given order
  std::vector<int32_t> unit;
  std::vector<double> target, actual, attainment, elapsed, shape, expected_to_date, pacing;
  std::vector<double> pipeline_value, weighted_pipeline, forecast, forecast_sd, coverage, gap;
  std::vector<int64_t> won_deals, unvalued_wins, open_deals;
  size_t size() const { return unit.size(); }
};

struct PlanActual {
  std::vector<std::string> unit_names;
  int64_t as_of = 0;
  std::vector<double> stage_win_probability;  // p_win_k per open stage
  PlanActualRows rows;
};

// InvalidArgument naming the objective (its index and unit) and field: an unknown
// unit, a bad period, target or margin rate; FailedPrecondition when timelines or
// units do not fit the log.
absl::StatusOr<PlanActual> PlanVsActual(const EventLog& log, const Timelines& timelines, const Units& units,
                                        std::span<const Objective> objectives,
                                        const PlanActualOptions& options = {});

// ---- Key accounts of a territory plan --------------------------------------------
// For each (rep, account) pair of the plan and the period [from, to) (kNullInstant:
// open), with the account of a deal the first non-null account among its events:
//   touched     the rep (the event's rep column) logged a seller activity on a deal of
//               the account in the period;
//   engaged     a buyer action on a deal of the account in the period;
//   opened      deals of the account whose first event falls in the period;
//   won, won_value  deals of the account won (outcome_time) in the period, their value;
//   kind        "maintenance" when a deal of the account was won before `from`, else
//               "new business" (with from open: "new business" always);
//   known       false when the log has no such account (then every count is 0) — a key
//               account nobody has worked yet is a finding, not an error.
// A rep the log does not know is not an error either (touched is then false).
struct KeyAccount {
  std::string rep;
  std::string account;
};
struct KeyAccountRows {  // one per pair, in the given order
  std::vector<uint8_t> known, touched, engaged;
  std::vector<int64_t> opened, won;
  std::vector<double> won_value;
  std::vector<std::string> kind;
  size_t size() const { return known.size(); }
};
// FailedPrecondition when the log has no account or no rep column, or timelines do not
// fit it; InvalidArgument when from >= to (both set).
absl::StatusOr<KeyAccountRows> KeyAccountProgress(const EventLog& log, const Timelines& timelines,
                                                  std::span<const KeyAccount> plan,
                                                  int64_t from = kNullInstant, int64_t to = kNullInstant);

}  // namespace salesperf

#endif  // SALESPERF_TARGETS_H_
