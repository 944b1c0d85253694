// salesperf/indicators.h — leading indicators: occurrences plus dollars, cohort
// conversion, time in stage, buyer response, pipeline flow and velocity, per unit
// (rep, team, segment, ...) and calendar period, kept in a mergeable accumulator.
//
//   absl::StatusOr<salesperf::Units> reps = salesperf::UnitsByRep(log);
//   salesperf::IndicatorOptions options;
//   options.calendar = salesperf::Calendar(salesperf::Grain::kMonth);
//   absl::StatusOr<salesperf::Indicators> ind =
//       salesperf::ComputeIndicators(machine, log, timelines, *reps, options);
//   absl::StatusOr<salesperf::IndicatorTable> table = salesperf::MakeTable(*ind);
//   // table->indicator[i] == "win_rate", table->value[i], table->lower[i], ...
//
// Splitting the deals of a log in any way, running ComputeIndicators on each part
// (in threads, processes or on a cluster), and merging the parts (Merge, or
// Serialize on one side and Deserialize + Merge on the other) gives an accumulator
// equal (operator==, and byte for byte in Serialize) to the single-pass one. This
// holds because every figure is attributed to a deal's unit, every field is an
// integer count or an exact fixed-point sum, and the state is kept in a canonical
// order.
//
// ===================================================================================
// DEFINITIONS (docs/indicators.md explains them for people; tests hold both to this)
// ===================================================================================
// Notation: for deal d, fe[s] = first_entered[d][s] of its Timelines (open stages
// 0..O-1, Won = O, Lost = O+1), value = Timelines::value[d] (NaN = no value),
// P(t) = the calendar period holding instant t, u = the deal's unit.
// Every figure of deal d goes to unit u; events and transitions go to the cell
// (u, P(their time)); first entries to (u, P(fe[s])). Excluded deals are counted
// wherever their history puts them (they did enter stages) and are never pending.
//
// Event counts, cell (u, P(event time)):
//   occurrences[a]  events with action a (every repeat counted).
//   deals[a]        distinct deals with at least one a-event in the cell.
//   answered[a]     for a seller action a: a-events followed by a buyer action of the
//                   same deal at a later log position within response_window
//                   (t_buyer - t_event <= window). 0 for other actors.
// Transitions (Timelines::transitions), cell (u, P(time)):
//   entries[s]      transitions into s (s an open stage, Won or Lost), re-entries too.
//   progressed      kind kProgressed or kSkipped (a deal's first entry into an open
//                   stage is one: a move up from no stage).   regressed: kind kRegressed.
//   reopened        kind kReopened.
//   won, lost       transitions into Won / into Lost (stall closes included).
//   won_dollars, won_valued, lost_dollars, lost_valued: the deal's value summed over
//                   those transitions, and how many had a value.
//   created         the deal's first transition, unless it is an exclusion
//                   (a deal whose first stage is Won or Lost is created and closed).
//   created_dollars, created_valued: likewise over created.
//   excluded_open   exclusions from an open stage.
// Open deals (no field: derived by MakeTable per unit over consecutive periods):
//   open_end(p) = open_end(p-1) + created + reopened - won - lost - excluded_open,
//   open_start(p) = open_end(p-1), starting from 0 before the unit's first cell. This
//   equals the number of the unit's deals open (in an open stage) at the end of p.
// First entries, cell (u, P(fe[s])), for every stage s with fe[s] set:
//   deals_entered[s], dollars_entered[s], valued_entered[s].
// Cohort conversion, cell (u, P(fe[k])), open stage k, window W = the stage's own
// conversion window, else IndicatorOptions::conversion_window, else none (infinite):
//   next = min{ fe[s] : s > k, s open or Won, fe[s] >= fe[k] } (unset if none)
//   won_at = fe[Won] if fe[Won] >= fe[k]
//   advanced      next set and next - fe[k] <= W.
//   otherwise, at as_of (the accumulator's, from the Timelines):
//     failed      the deal is won or lost, or it is open or stalled and the window has
//                 closed (fe[k] + W <= as_of), or it was excluded at time x with
//                 x - fe[k] >= W (the window closed before the exclusion);
//     pending     the deal is open or stalled and fe[k] + W > as_of;
//     (neither)   it was excluded inside the window: left out of the ratio.
//   won_in_window, won_failed, won_pending: the same with won_at in place of next.
// Durations (histograms over DurationBucket of the whole duration_resolution steps,
// floored; see DurationBucket below):
//   time in stage k, cell (u, P(fe[k])): from fe[k] to exit = min{ fe[s] : s > k
//     (Won and Lost included), fe[s] >= fe[k] }, or, if none, last_left[k] when it is
//     >= fe[k] and the deal did not leave k by its exclusion: observed. Otherwise
//     censored at as_of - fe[k] (open or stalled deals; 0 if negative) or at x - fe[k]
//     (excluded at x; an exclusion sets last_left of the stage it ends, but is no exit).
//   cycle time, cell (u, P(c)), c = min over s of fe[s] (the deal's creation), for
//     deals with c set: to min{fe[Won], fe[Lost]} >= c: observed; otherwise censored
//     as above (with c for fe[k]).
// Stalls, cell (u, P(onset)), deals whose outcome at as_of is kStalled:
//   stalled, stalled_dollars, stalled_valued, onset = quiet_since + the stall limit
//   of the deal's current stage (the deal has been stalled continuously since then).
//
// Canonical state. Units are kept sorted by name and only when they hold at least one
// cell; actions sorted by label and only when they occur at least once; cells sorted by
// (unit, period) and only when some counter or sum in them is not zero; duration bins
// sorted by (cell, stage, bucket) and only when not empty. Update, Merge, RollUp and
// Deserialize all leave the state canonical, so equal figures mean equal objects and
// equal bytes. The unit kind of an empty accumulator is "" and is taken from the first
// Update or Merge; merging two different non-empty kinds is FailedPrecondition.
//
// Dollars are summed exactly in fixed point: each value is rounded to the nearest
// 1/10,000 (kDollarScale) and summed in 128-bit integers. A value whose magnitude
// reaches 9e14 is an InvalidArgument naming the deal.
#ifndef SALESPERF_INDICATORS_H_
#define SALESPERF_INDICATORS_H_

#include <bit>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "salesperf/calendar.h"
#include "salesperf/column.h"
#include "salesperf/event_log.h"
#include "salesperf/stage_model.h"
#include "salesperf/state.h"
#include "salesperf/timelines.h"

namespace salesperf {

// ---- Units: whose figures a deal's are ---------------------------------------------

// Every deal of a log belongs to exactly one unit (no deal is left out: deals with
// no rep or no dimension value go to the unit kNoUnitName).
struct Units {
  std::string kind;                 // "rep", a dimension's name, "all", or the caller's
  std::vector<std::string> names;   // unit labels, distinct
  Column<int32_t> of_deal;          // per deal code of the log: index into names
  friend bool operator==(const Units&, const Units&) = default;
};
inline constexpr std::string_view kNoUnitName = "(none)";

// Which rep owns a deal when its events name several.
enum class OwnerRule : uint8_t {
  kMostActive,  // the rep on most of the deal's seller events (ties: the one seen
                // first); with no seller event naming a rep, the first rep on any event
  kFirst,       // the rep of the deal's first event that names one
  kLast,        // the rep of the deal's last event that names one
};

// Units by deal owner. FailedPrecondition when the log has no rep column.
absl::StatusOr<Units> UnitsByRep(const EventLog& log, OwnerRule rule = OwnerRule::kMostActive);
// Units by a dimension column (segment, territory, ...): the first non-null value
// among the deal's events. NotFound naming the dimension when the log has none such.
absl::StatusOr<Units> UnitsByDimension(const EventLog& log, std::string_view dimension);
// One unit holding every deal.
Units SingleUnit(const EventLog& log, std::string name = "all");
// Units from the caller: unit_of_deal[d] indexes names. InvalidArgument when the
// size differs from the log's deal count, an index is out of range, or a name repeats.
absl::StatusOr<Units> UnitsFromCodes(const EventLog& log, std::span<const int32_t> unit_of_deal,
                                     std::vector<std::string> names, std::string kind = "custom");

// ---- The accumulator ---------------------------------------------------------------

struct IndicatorOptions {
  Calendar calendar{Grain::kMonth};
  // For stages without a conversion window of their own; nullopt = no limit.
  std::optional<int64_t> conversion_window;
  int64_t response_window = Days(7);       // for answered[a]; > 0
  int64_t duration_resolution = Seconds(60);  // the step of duration buckets; > 0
  int threads = 0;                         // ComputeIndicators only; 0 = every core
};

inline constexpr int64_t kDollarScale = 10'000;
// A value's magnitude must stay below this to be summed exactly (value x kDollarScale
// fits in an int64 with room to spare).
inline constexpr double kMaxDollars = 9e14;
// A fixed-point sum as dollars: the whole and the fractional part converted separately,
// so that sums beyond 2^53 / kDollarScale lose no cents to the division.
inline double FixedToDollars(Int128 fixed) {
  const Int128 q = fixed / kDollarScale;
  const Int128 r = fixed % kDollarScale;
  return static_cast<double>(q) + static_cast<double>(r) / static_cast<double>(kDollarScale);
}

// Field positions within a cell's block of int64 counters. A cell's block is
// [per-action fields: kActionFields x num_actions]
// [per-stage fields:  kStageFields x num_stages ]
// [per-open-stage:    kCohortFields x num_open  ]
// [cell fields:       kCellFields               ].
enum ActionField : int { kOccurrences = 0, kDeals = 1, kAnswered = 2, kActionFields = 3 };
enum StageField : int { kEntries = 0, kDealsEntered = 1, kValuedEntered = 2, kStageFields = 3 };
enum CohortField : int {
  kAdvanced = 0, kFailed = 1, kPending = 2, kWonInWindow = 3, kWonFailed = 4, kWonPending = 5,
  kCohortFields = 6
};
enum CellField : int {
  kCreated = 0, kCreatedValued, kProgressed, kRegressed, kReopened, kWon, kWonValued, kLost,
  kLostValued, kExcludedOpen, kStalled, kStalledValued, kCellFields
};
// Dollar sums per cell: [dollars_entered x num_stages][kDollarCellFields].
enum DollarField : int {
  kCreatedDollars = 0, kWonDollars, kLostDollars, kStalledDollars, kDollarCellFields
};

// Duration buckets, log-linear (as in HdrHistogram), so that a histogram has a bounded
// number of buckets whatever the number of deals: a duration d >= 0 is
// v = floor(d / duration_resolution) whole steps; v < 128 is bucket v (exact); beyond,
// each doubling has 64 buckets: with e = bit_width(v) - 7 and m = v >> e (64..127),
// the bucket is 128 + 64 (e - 1) + (m - 64), and its lower edge m << e steps. A
// bucket's lower edge is within 1/64 (1.6%) below every duration in it, and a
// (cell, stage) has at most 3,712 buckets.
inline constexpr int64_t kExactBuckets = 128;
constexpr int64_t DurationBucket(int64_t steps) {
  if (steps < kExactBuckets) return steps;
  const int e = static_cast<int>(std::bit_width(static_cast<uint64_t>(steps))) - 7;
  return kExactBuckets + 64 * (e - 1) + ((steps >> e) - 64);
}
// The largest bucket (that of INT64_MAX steps).
inline constexpr int64_t kMaxDurationBucket = DurationBucket(std::numeric_limits<int64_t>::max());
// The first step count of a bucket (the inverse of DurationBucket on lower edges);
// `bucket` must be in [0, kMaxDurationBucket].
constexpr int64_t BucketLowerSteps(int64_t bucket) {
  if (bucket < kExactBuckets) return bucket;
  const int64_t e = (bucket - kExactBuckets) / 64 + 1;
  const int64_t m = (bucket - kExactBuckets) % 64 + 64;
  return m << e;
}

// One histogram bin: in `cell`, for `stage` (an open stage, or -1 for cycle time),
// durations whose DurationBucket is `bucket`.
struct DurationBin {
  int32_t cell;
  int32_t stage;
  int64_t bucket;
  int64_t observed;  // deals whose duration ended there
  int64_t censored;  // deals still going (or excluded) after that long
  friend bool operator==(const DurationBin&, const DurationBin&) = default;
};

class Indicators {
 public:
  static constexpr uint32_t kFormatVersion = 1;

  Indicators() = default;

  // An empty accumulator for `machine`'s stages and windows, judging maturity at
  // `as_of` (use Timelines::as_of). InvalidArgument for a non-positive
  // response_window, duration_resolution or conversion_window.
  static absl::StatusOr<Indicators> Create(const StageMachine& machine, int64_t as_of,
                                           const IndicatorOptions& options = {});

  // Adds the deals [first_deal, last_deal) of `log` (every deal when last_deal = -1)
  // with their `timelines` (from machine and log) and `units` (of log). Action and
  // unit labels are merged in by name. FailedPrecondition when the timelines' stages
  // or as_of differ from this accumulator's, or the sizes do not fit the log;
  // InvalidArgument for a value too large for the fixed-point sums (naming the deal).
  // Adding a deal twice counts it twice.
  absl::Status Update(const EventLog& log, const Timelines& timelines, const Units& units,
                      int32_t first_deal = 0, int32_t last_deal = -1);

  // Adds `other` (from other deals). FailedPrecondition, saying which setting
  // differs, when the calendar, stages, windows, response window, resolution or
  // as_of differ. Actions with the same label and different actors are an error.
  // OutOfRange when a sum would overflow (a count beyond INT64_MAX, a dollar sum
  // beyond the Int128 range: only deserialized states get there), naming the field
  // (as MakeTable names it, e.g. "won", "occurrences:call", "won_dollars"), the unit
  // and the period. On any error the accumulator is left unchanged (Update merges
  // its tally the same way).
  absl::Status Merge(const Indicators& other);

  // Units regrouped: unit i of this accumulator goes to group parent[i] (an index
  // into `names`); every figure of the group is the sum of its units' (exact, since
  // every field is additive). InvalidArgument when parent's size is not
  // num_units() or an index is out of range; OutOfRange, naming the field, the group
  // and the period, when a group's sum would overflow (as for Merge).
  absl::StatusOr<Indicators> RollUp(std::span<const int32_t> parent, std::vector<std::string> names,
                                    std::string kind) const;

  // ---- Byte format (little-endian), version 1 ----
  //   magic "SPIND\0\0\1" (8 bytes) | u32 version | u32 flags (0) | u64 payload size |
  //   payload | u64 checksum (FNV-1a 64 over the payload).
  //   payload: str calendar spec | i64 as_of | i64 response_window | i64 resolution |
  //     u32 num_stages, num_open; str stage names...; i64 window per open stage
  //     (INT64_MAX = none) | str unit kind | u32 num_units; str names... |
  //     u32 num_actions; (str label, u8 actor)... | u64 num_cells; per cell (i32 unit,
  //     i64 period) | i64 counters (num_cells x block_size) | dollars (num_cells x
  //     dollar_block_size, each as i64 low then i64 high) | u64 num_bins; bins
  //     (i32 cell, i32 stage, i64 bucket, i64 observed, i64 censored).
  //   str = u32 length + bytes. Deserialize checks magic, version, sizes and the
  //   checksum before trusting anything: DataLoss for truncated or corrupted bytes,
  //   FailedPrecondition for another version, naming what is wrong.
  //   A default-constructed Indicators() (no stages) round-trips: 0 stages and 0 open
  //   ones are accepted only with every other field as in Indicators() but the unit
  //   kind (RollUp may give it one): no units, actions, cells or bins. Any other
  //   state needs num_stages = num_open + 2.
  std::string Serialize() const;
  static absl::StatusOr<Indicators> Deserialize(std::string_view bytes);

  friend bool operator==(const Indicators&, const Indicators&) = default;

  // ---- Reading the state (canonical order) ----
  const Calendar& calendar() const { return calendar_; }
  int64_t as_of() const { return as_of_; }
  int64_t response_window() const { return response_window_; }
  int64_t duration_resolution() const { return resolution_; }
  const std::vector<std::string>& stage_names() const { return stage_names_; }
  int32_t num_stages() const { return static_cast<int32_t>(stage_names_.size()); }
  int32_t num_open() const { return num_open_; }
  const std::vector<int64_t>& windows() const { return windows_; }  // per open stage
  const std::string& unit_kind() const { return unit_kind_; }
  const std::vector<std::string>& unit_names() const { return unit_names_; }  // sorted
  int32_t num_units() const { return static_cast<int32_t>(unit_names_.size()); }
  const std::vector<std::string>& action_names() const { return action_names_; }  // sorted
  const std::vector<uint8_t>& action_actors() const { return action_actors_; }     // Actor
  int32_t num_actions() const { return static_cast<int32_t>(action_names_.size()); }

  // Cells sorted by (unit, period); only cells where something was counted.
  int64_t num_cells() const { return static_cast<int64_t>(cell_unit_.size()); }
  int32_t cell_unit(int64_t c) const { return cell_unit_[c]; }
  int64_t cell_period(int64_t c) const { return cell_period_[c]; }

  int block_size() const {
    return kActionFields * num_actions() + kStageFields * num_stages() + kCohortFields * num_open_ +
           kCellFields;
  }
  int dollar_block_size() const { return num_stages() + kDollarCellFields; }
  int64_t action(int64_t c, int32_t a, ActionField f) const {
    return counters_[c * block_size() + kActionFields * a + f];
  }
  int64_t stage(int64_t c, int32_t s, StageField f) const {
    return counters_[c * block_size() + kActionFields * num_actions() + kStageFields * s + f];
  }
  int64_t cohort(int64_t c, int32_t k, CohortField f) const {
    return counters_[c * block_size() + kActionFields * num_actions() + kStageFields * num_stages() +
                     kCohortFields * k + f];
  }
  int64_t cell(int64_t c, CellField f) const {
    return counters_[c * block_size() + block_size() - kCellFields + f];
  }
  // Exact fixed-point sums (divide by kDollarScale), and as doubles.
  Int128 dollars_entered_fixed(int64_t c, int32_t s) const { return dollars_[c * dollar_block_size() + s]; }
  Int128 dollars_fixed(int64_t c, DollarField f) const {
    return dollars_[c * dollar_block_size() + num_stages() + f];
  }
  double dollars_entered(int64_t c, int32_t s) const;
  double dollars(int64_t c, DollarField f) const;

  // Duration bins sorted by (cell, stage, bucket); cycle time has stage -1.
  const std::vector<DurationBin>& duration_bins() const { return bins_; }

 private:
  Calendar calendar_;
  int64_t as_of_ = 0;
  int64_t response_window_ = Days(7);
  int64_t resolution_ = Hours(1);
  std::vector<std::string> stage_names_;
  int32_t num_open_ = 0;
  std::vector<int64_t> windows_;
  std::string unit_kind_;
  std::vector<std::string> unit_names_;
  std::vector<std::string> action_names_;
  std::vector<uint8_t> action_actors_;
  std::vector<int32_t> cell_unit_;
  std::vector<int64_t> cell_period_;
  std::vector<int64_t> counters_;  // num_cells x block_size
  std::vector<Int128> dollars_;    // num_cells x dollar_block_size
  std::vector<DurationBin> bins_;
  friend class IndicatorsBuilder;
};

// Create + Update over every deal, split across options.threads and merged: the
// result is identical for every thread count.
absl::StatusOr<Indicators> ComputeIndicators(const StageMachine& machine, const EventLog& log,
                                             const Timelines& timelines, const Units& units,
                                             const IndicatorOptions& options = {});

// ---- The table: figures per unit and period ----------------------------------------

struct TableOptions {
  double confidence = 0.95;    // of every interval
  bool include_all_periods = true;  // also rows with period "all" (every period summed)
};

// One row per (unit, period, indicator), long ("tidy") form. Periods run, per unit,
// from its first cell to the accumulator's last period (over every cell), every period
// included (a period with nothing counted has zero counts and NaN ratios). Rows are
// ordered by unit (as unit_names), then period, then indicator (in the order of
// indicator_names). period_labels are Calendar::Label of every period from the
// earliest unit's first cell to the last one, then "all" when include_all_periods.
//
// Indicators, in this order (x = an action label, in the accumulator's action order;
// s = a stage name, open stages then Won, Lost; k = an open stage name):
//   per action x: occurrences:x, deals:x, answered:x (answered[a]/occurrences[a],
//     Wilson; only for seller actions),
//   buyer_actions, seller_activities (occurrences of buyer / seller actions),
//   buyer_response_ratio (buyer_actions / seller_activities, no interval),
//   per stage s: entries:s, deals_entered:s, dollars_entered:s,
//   per open stage k: conversion:k (advanced / (advanced + failed), Wilson),
//     win_from:k (won_in_window / (won_in_window + won_failed), Wilson), pending:k,
//     time_in_stage_median:k, time_in_stage_p90:k,
//   created, created_dollars, progressed, regressed, reopened, won, won_dollars, lost,
//   lost_dollars, excluded (excluded_open: exclusions from an open stage), stalled,
//   stalled_dollars, open_start, open_end, avg_won_size (won_dollars / won_valued),
//   win_rate (won / (won + lost), Wilson), win_rate_value (won_dollars / (won_dollars +
//   lost_dollars), no interval), cycle_time_median, cycle_time_p90, velocity (created x
//   win_rate x avg_won_size / cycle_time_median, dollars per day).
// A ratio whose denominator is 0 is NaN (so is velocity when a factor is NaN or the
// median is 0), and so are its lower and upper bounds.
// Medians and p90s: days (ns / 86400e9) at the Kaplan–Meier quantile of the cell's
// duration histogram (KaplanMeierCounts over buckets), reported as the lower edge of
// the bucket (BucketLowerSteps(bucket) x duration_resolution); NaN when the curve does
// not reach it.
// Dollars: the exact fixed-point sums divided by kDollarScale ("all" sums the fixed
// point values first, so it is exact too).
// n: for a ratio, its denominator (answered: occurrences; conversion, win_from, win_rate:
// the decided deals; buyer_response_ratio: seller_activities; avg_won_size: won_valued;
// win_rate_value: won_valued + lost_valued); for a median or p90, the visits behind it
// (observed + censored); for velocity, the cycle-time visits; for a dollar sum, the
// valued deals summed (valued_entered, created_valued, ...); for a count (pending:k,
// open_start, open_end included), the count itself. lower/upper: NaN where there is no
// interval. immature: for conversion:k (win_from:k), whether any deal of the cohort is
// pending (won_pending); else false.
// previous: the same indicator of the unit's previous period (NaN for its first period,
// and for "all"). p_change: for ratios with a Wilson interval, the two-sided p value of
// TwoProportionTest(previous x, previous n, x, n); NaN otherwise, and when either n is 0.
// open_start / open_end: the recurrence above over the unit's consecutive periods.
// Period "all" sums every period of the unit (counters, dollars, and histogram bins per
// (stage, bucket)); its open_start is 0 and its open_end that of the last period.
// InvalidArgument: confidence not in (0, 1). FailedPrecondition: an accumulator whose
// state is not canonical (cells or bins out of order or range). OutOfRange, naming the
// unit, the period and the sum, when a sum does not fit its type (a field of "all"
// over the unit's periods, histogram bins, a denominator such as won + lost or
// won_dollars + lost_dollars, open_end): only deserialized states hold such counts.
struct IndicatorTable {
  std::vector<std::string> unit_names;       // unit[i] indexes these
  std::vector<std::string> period_labels;    // period[i] indexes these; "all" last when present
  std::vector<int64_t> period_index;         // the calendar index of each label (INT64_MAX for "all")
  std::vector<std::string> indicator_names;  // indicator[i] indexes these
  Column<int32_t> unit;
  Column<int32_t> period;
  Column<int32_t> indicator;
  Column<double> value, lower, upper;
  Column<int64_t> n;
  Column<double> previous, p_change;
  Column<uint8_t> immature;
  size_t size() const { return value.size(); }
};

absl::StatusOr<IndicatorTable> MakeTable(const Indicators& indicators, const TableOptions& options = {});

// The least-squares slope (TrendSlope) of each (unit, indicator) over its last
// `periods` periods (excluding "all"), with its interval. Rows ordered by unit, then
// indicator. InvalidArgument for periods < 2.
// The periods are the `periods` calendar periods (by period_index) ending at the last
// one the unit has a row for (fewer when its rows start later); each value sits at its
// period's position, so a NaN value or a period without a row is skipped without
// shifting the others. last: the value of that last period; n: the values used. Every
// (unit, indicator) of the table has a row (slope NaN, n 0 when it has no values).
// InvalidArgument also for a confidence outside (0, 1), a malformed table (columns of
// different lengths, codes out of range, two rows for one unit, period and indicator)
// and an infinite value.
struct TrendTable {
  std::vector<std::string> unit_names;
  std::vector<std::string> indicator_names;
  Column<int32_t> unit, indicator;
  Column<double> slope, lower, upper, last;
  Column<int64_t> n;
  size_t size() const { return slope.size(); }
};
absl::StatusOr<TrendTable> MakeTrends(const IndicatorTable& table, int periods = 6,
                                      double confidence = 0.95);

// ---- Deal warnings ---------------------------------------------------------------

struct WarningOptions {
  // "Dark": quiet for longer than this percentile of the completed time in the deal's
  // current stage (Kaplan–Meier over every deal of the run, not only the unit's).
  double dark_percentile = 90;
  // Contact roles that count as decision makers (compared as labels).
  std::vector<std::string> decision_maker_roles = {"decision_maker"};
};

// One row per deal that is open or stalled at as_of and in an open stage, ordered by
// deal code:
//   stalled          the stage model's stall rule says so (outcome kStalled)
//   dark             as_of - quiet_since > the dark percentile of its stage (0 when
//                    the stage has no completed visits to judge by, or the percentile
//                    is not reached: normal_days is then NaN). The percentile is the
//                    Kaplan–Meier quantile (exact nanoseconds, no histogram) of the time
//                    in stage as defined for the indicators (an exclusion from the stage
//                    and an open or stalled deal still in it are censored).
//   single_threaded  every buyer event with a contact names the same one (or none
//                    does); -1 when the log has no contact column
//   no_decision_maker no buyer event from a contact whose role is a decision maker;
//                    -1 when the log has no contact_role column
//   quiet_days       (as_of - quiet_since) in days; normal_days: the percentile used.
// "Buyer event": an event whose action's actor is Actor::kBuyer; seller and system
// events never count for contacts or roles. InvalidArgument: dark_percentile outside
// (0, 100]. FailedPrecondition: timelines that do not fit the log.
struct DealWarnings {
  Column<int32_t> deal;      // deal code
  Column<int32_t> stage;     // current open stage
  Column<uint8_t> stalled, dark;
  Column<int8_t> single_threaded, no_decision_maker;
  Column<double> quiet_days, normal_days;
  size_t size() const { return deal.size(); }
};
absl::StatusOr<DealWarnings> FindDealWarnings(const EventLog& log, const Timelines& timelines,
                                              const WarningOptions& options = {});

}  // namespace salesperf

#endif  // SALESPERF_INDICATORS_H_
