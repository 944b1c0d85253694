// salesperf/leaks.h — where the bucket leaks: per unit (rep, team, territory, ...) and
// per stage, the deals that failed to advance against a benchmark, in deals and in
// dollars, shrunk by empirical Bayes so that small samples do not dominate, with an
// interval and the probability that each leak is real; and the accounting that proves
// every deal is counted once.
//
//   absl::StatusOr<salesperf::LeakCounts> counts =
//       salesperf::CountLeaks(log, timelines, units);              // mergeable
//   salesperf::LeakOptions options;
//   options.benchmark = salesperf::Benchmark::kTopQuartile;
//   absl::StatusOr<salesperf::LeakAssessment> leaks = salesperf::AssessLeaks(*counts, options);
//   leaks->rows.shrunk_dollars[i];   // dollars lost by unit rows.unit[i] at rows.stage[i]
//
// ===================================================================================
// DEFINITIONS
// ===================================================================================
// The funnel of a deal. Open stages 0..O-1 in order, then Won (O). A deal is in the
// funnel when it entered at least one open stage (first_entered != null); other deals
// (no stage, or Won or Lost without an open stage) are `outside` and are counted, per
// unit, and nowhere else. For a deal in the funnel:
//   entry      the lowest open stage it ever entered;
//   entry time the earliest first_entered over the open stages (its cohort time);
//   furthest   O when its outcome at as_of is Won, else the highest open stage it ever
//              entered (a deal won and then reopened is judged by where it is now).
//   It REACHED every stage k with entry <= k <= min(furthest, O-1): stages it skipped
//   between entry and furthest count as passed through.
// Per unit and open stage k, over the deals of one cohort (below) that reached k:
//   reached      deals that reached k;
//   entrants     deals whose entry is k;
//   advanced     deals with furthest > k (reached k+1, or Won from the last stage);
//   and, for the deals whose furthest is k, by their outcome at as_of:
//   lost[reason] outcome Lost, by reason: the losing action's name, or "(stalled)" for
//                a stalled deal closed at the horizon (Timelines::kReasonStalled);
//   stalled      outcome Stalled (open, beyond the stage's stall limit);
//   open         outcome Open (within normal time: pending);
//   excluded     outcome Excluded (censored where it was excluded).
//   Conservation, per unit, cohort and stage (tests prove it on random logs):
//     reached = advanced + Σ lost[reason] + stalled + open + excluded,
//     reached(k+1) = advanced(k) + entrants(k+1), reached(0) = entrants(0),
//   and per unit: deals = current cohort + past cohort + out of window + outside
//   (`out_of_window` counts funnel deals in neither cohort).
// Cohorts: a deal is in the current cohort when its entry time is in [cohort_from,
// cohort_to), in the past cohort when it is in [past_from, cohort_from) (only when
// cohort_from is set), else out of window. kNullInstant bounds are open.
//
// Assessment (AssessLeaks), per open stage k, on the current cohort unless said:
//   Lost reasons listed in LeakOptions::disqualify count as `disqualified` (the
//   qualification process working), the others as `lost`.
//   pending   = open + excluded (their result is not known: not trials);
//   trials  n = advanced + lost + disqualified + stalled = reached - pending;
//   converted x = advanced; raw rate = x / n (NaN when n = 0).
//   The prior (empirical Bayes, beta-binomial). Over the units with n >= 1: pooled
//   rate m = Σx / Σn, and the concentration κ that maximises the beta-binomial
//   marginal likelihood Σ_u [lnB(x_u + κm, n_u - x_u + κ(1-m)) - lnB(κm, κ(1-m))]
//   over κ in [kMinConcentration, kMaxConcentration] (golden-section search on ln κ,
//   to 1e-9 relative). κ is small when the units truly differ and large when their
//   differences are what chance alone would give. With fewer than two such units, or
//   m = 0 or 1, κ = 0: no shrinkage (nothing to learn the spread from); the shrunk
//   rate is then the raw rate, and the interval and probability below use the
//   Jeffreys posterior Beta(x + 1/2, n - x + 1/2) instead.
//   The benchmark rate b (per stage; per unit and stage for kOwnPast):
//     kTeamMedian   the median (linear interpolation, numpy's default) over units with
//                   n >= min_trials of their rates shrunk toward the pooled rate,
//                   (x + κm) / (n + κ);
//     kTopQuartile  the same at the 75th percentile;
//     kTarget       LeakOptions::target[k], as the user sets it (NaN: none);
//     kOwnPast      the unit's rate in the past cohort, shrunk toward the past
//                   cohort's pooled rate with the past cohort's κ (so a unit with no
//                   past trials is benchmarked at the pooled past rate, whatever
//                   κ; with κ = 0 the others get their raw past rate).
//     NaN when no unit qualifies (or no target, or no past trials at all).
//   Leak of unit u at stage k, with prior Beta(κb, κ(1-b)) centred on the benchmark
//   (b clamped to [1e-9, 1-1e-9] for the prior only) and posterior
//   Beta(x + κb, n - x + κ(1-b)):
//     expected          b n (conversions expected at the benchmark rate);
//     shortfall         b n - x (deals; negative: a surplus);
//     shrunk_rate       the posterior mean (x + κb) / (n + κ);
//     shrunk_shortfall  n (b - shrunk_rate) = shortfall × n / (n + κ);
//     shortfall_lower/upper  n (b - q) at the posterior's upper/lower (1-interval)/2
//                       quantiles q (so lower <= upper);
//     probability_real  P(p < b) under the posterior: the chance the unit's true rate
//                       is below the benchmark;
//     downstream_win    D_k = Π_{j>k} b_j, the benchmark's probability that a deal
//                       which advances past k is won (1 at the last open stage; NaN
//                       when a later benchmark is NaN);
//     average_value     the mean value of the unit's funnel deals in the cohort that
//                       have a value (LeakOptions::value = kOrganisation: of every
//                       unit's; a unit with no valued deal uses the organisation's);
//     dollars           shortfall × D_k × average_value; likewise shrunk_dollars,
//                       dollars_lower, dollars_upper from the shrunk and bound deals;
//     unit_level        the trial-weighted mean, over the unit's OTHER stages j with
//                       n_j >= 1, 0 < b_j < 1 and a shrunk rate, of logit(shrunk_rate_j)
//                       - logit(b_j) (logits clamp their argument to [1e-6, 1-1e-6]);
//                       0 when no other stage has one (docs/leaks.md: stage leaks,
//                       not weak reps);
//     own_benchmark     expit(logit(b) + unit_level): the benchmark at the unit's level;
//     own_shortfall     n (own_benchmark - (x + κ o) / (n + κ)) with o = own_benchmark
//                       (κ = 0: n (o - x / n));
//     own_probability   P(p < o) under Beta(x + κo', n - x + κ(1-o')), o' = o clamped
//                       as b is (κ = 0: the Jeffreys posterior);
//     flagged           own_probability >= flag_probability and own_shortfall
//                       >= min_relative_shortfall × own_benchmark × n (and n >= 1, b not
//                       NaN). n = 0: own_shortfall 0, own_probability NaN; b NaN: own_* NaN.
//   A row with n = 0 has rate, shrunk_rate and probability_real NaN and expected,
//   shortfall, shrunk_shortfall, their bounds and the dollars 0 (NaN when b is NaN,
//   and the dollars also when average_value is: gap_dollars = Σ_k dollars_k holds);
//   a row with b NaN has every figure from expected on NaN. Neither is flagged.
//   The rank orders all rows by shrunk_dollars, largest first (NaN last; ties by
//   unit, then stage): rank 1 is the biggest expected loss.
// The unit's total gap to the benchmark, in deals, with D_{k-1} = Π_{j>=k} b_j the
// benchmark's chance that a deal entering stage k is won:
//   gap = Σ_k entrants_k D_{k-1} - Σ_k pending_k D_{k-1} - won,
//   i.e. the wins the benchmark would give its deals from where they entered, less
//   the wins it would still give the pending deals from where they are, less the wins
//   they got. Because reached(k+1) = advanced(k) + entrants(k+1), the stage leaks
//   telescope to it exactly: Σ_k shortfall_k D_k = gap (NaN when a benchmark is NaN).
//   gap_dollars = gap × average_value = Σ_k dollars_k. The shrunk leaks sum to less;
//   the difference, `chance`, is the part of the gap the prior ascribes to noise.
#ifndef SALESPERF_LEAKS_H_
#define SALESPERF_LEAKS_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "salesperf/event_log.h"
#include "salesperf/indicators.h"
#include "salesperf/state.h"
#include "salesperf/timelines.h"

namespace salesperf {

inline constexpr double kMinConcentration = 1e-2;
inline constexpr double kMaxConcentration = 1e5;
// The name of the lost reason of a deal closed for stalling.
inline constexpr std::string_view kStalledReason = "(stalled)";

// The cohorts a LeakCounts splits deals into (UTC ns; kNullInstant = open bound).
struct LeakCohorts {
  int64_t cohort_from = kNullInstant;
  int64_t cohort_to = kNullInstant;
  int64_t past_from = kNullInstant;  // used only when cohort_from is set
  friend bool operator==(const LeakCohorts&, const LeakCohorts&) = default;
};

enum class Cohort : uint8_t { kCurrent = 0, kPast = 1 };

// The fate counts behind the assessment, per unit, cohort and open stage: a mergeable
// accumulator like Indicators and FunnelCounts. Units sorted by name and kept only
// when they hold a deal (in the funnel or outside it); lost reasons sorted by name and
// kept only when some count of theirs is non-zero; so any split of the deals merged
// in any order equals the single pass (operator==, and byte for byte).
class LeakCounts {
 public:
  static constexpr uint32_t kFormatVersion = 1;

  LeakCounts() = default;
  // An empty accumulator for these stages (open stages, then "Won", "Lost").
  // InvalidArgument when cohort_to <= cohort_from, or past_from >= cohort_from.
  static absl::StatusOr<LeakCounts> Create(std::vector<std::string> stage_names, int32_t num_open,
                                           LeakCohorts cohorts = {});

  // FailedPrecondition when the timelines' stages differ from this accumulator's, the
  // units' kind differs from that of an accumulator holding units, or the timelines
  // or units do not fit the log (sizes); InvalidArgument for a deal's value too large
  // for the fixed-point sums (naming the deal).
  absl::Status Update(const EventLog& log, const Timelines& timelines, const Units& units);
  // FailedPrecondition when the stages, cohorts or unit kinds differ. OutOfRange,
  // naming the count (and its cohort and stage) and the unit, when a sum would
  // overflow (only deserialized counts get near INT64_MAX). On any error the counts
  // are left unchanged.
  absl::Status Merge(const LeakCounts& other);

  // Byte format: WrapState with magic "SPLEAK\0\1", payload:
  //   u32 num_stages, num_open; str stage names...; i64 cohort_from, cohort_to,
  //   past_from; str unit kind; u32 num_units; str unit names...; u32 num_reasons;
  //   str reason names...; then per unit: i64 outside, out_of_window; then per unit,
  //   cohort (current, past): i64 deals, won, valued, value lo, value hi (the int128
  //   fixed-point sum, kDollarScale); then per open stage: i64 reached, entrants,
  //   advanced, stalled, open, excluded, then lost per reason.
  //   Deserialize: DataLoss for truncated or corrupted bytes and for contents no
  //   Update could produce (unsorted or repeated names, negative counts, a broken
  //   conservation identity, more valued than deals, ...); FailedPrecondition for
  //   another version. A default-constructed LeakCounts() (0 stages, 0 open) round-
  //   trips: no stages are accepted only with every other field as in LeakCounts().
  std::string Serialize() const;
  static absl::StatusOr<LeakCounts> Deserialize(std::string_view bytes);
  friend bool operator==(const LeakCounts&, const LeakCounts&) = default;

  const std::vector<std::string>& stage_names() const { return stage_names_; }
  int32_t num_open() const { return num_open_; }
  const LeakCohorts& cohorts() const { return cohorts_; }
  const std::string& unit_kind() const { return unit_kind_; }
  const std::vector<std::string>& unit_names() const { return unit_names_; }
  int32_t num_units() const { return static_cast<int32_t>(unit_names_.size()); }
  const std::vector<std::string>& reasons() const { return reasons_; }
  int32_t num_reasons() const { return static_cast<int32_t>(reasons_.size()); }

  int64_t outside(int32_t u) const;        // deals of u never in the funnel
  int64_t out_of_window(int32_t u) const;  // funnel deals of u in neither cohort
  // Per unit and cohort.
  int64_t deals(int32_t u, Cohort c) const;   // funnel deals
  int64_t won(int32_t u, Cohort c) const;
  int64_t valued(int32_t u, Cohort c) const;  // funnel deals with a value
  Int128 value_fixed(int32_t u, Cohort c) const;
  // Per unit, cohort and open stage k.
  int64_t reached(int32_t u, Cohort c, int32_t k) const;
  int64_t entrants(int32_t u, Cohort c, int32_t k) const;
  int64_t advanced(int32_t u, Cohort c, int32_t k) const;
  int64_t stalled(int32_t u, Cohort c, int32_t k) const;
  int64_t open(int32_t u, Cohort c, int32_t k) const;
  int64_t excluded(int32_t u, Cohort c, int32_t k) const;
  int64_t lost(int32_t u, Cohort c, int32_t k, int32_t reason) const;

 private:
  friend class LeakBuilder;
  std::vector<std::string> stage_names_;
  int32_t num_open_ = 0;
  LeakCohorts cohorts_;
  std::string unit_kind_;
  std::vector<std::string> unit_names_;
  std::vector<std::string> reasons_;
  std::vector<int64_t> outside_, out_of_window_;        // units
  std::vector<int64_t> deals_, won_, valued_;           // units x 2
  std::vector<Int128> value_;                           // units x 2
  std::vector<int64_t> reached_, entrants_, advanced_;  // units x 2 x O
  std::vector<int64_t> stalled_, open_, excluded_;      // units x 2 x O
  std::vector<int64_t> lost_;                           // units x 2 x O x reasons
};

absl::StatusOr<LeakCounts> CountLeaks(const EventLog& log, const Timelines& timelines,
                                      const Units& units, LeakCohorts cohorts = {});

enum class Benchmark : uint8_t { kTeamMedian = 0, kTopQuartile = 1, kTarget = 2, kOwnPast = 3 };
std::string_view BenchmarkName(Benchmark b);  // "team_median", "top_quartile", "target", "own_past"

enum class ValueBasis : uint8_t { kUnit = 0, kOrganisation = 1 };

struct LeakOptions {
  Benchmark benchmark = Benchmark::kTeamMedian;
  std::vector<double> target;            // kTarget: one rate in [0, 1] or NaN per open stage
  std::vector<std::string> disqualify;   // lost reasons that are disqualifications
  int64_t min_trials = 10;               // >= 1; units below this do not set team benchmarks
  double interval = 0.95;                // in (0, 1)
  double flag_probability = 0.95;        // in (0, 1]
  double min_relative_shortfall = 0.2;   // in [0, 1]
  ValueBasis value = ValueBasis::kUnit;
};

// Rows: every unit x open stage, unit-major (units in LeakCounts order).
struct LeakRows {
  std::vector<int32_t> unit, stage;
  std::vector<int64_t> reached, entrants, advanced, lost, disqualified, stalled, open, excluded;
  std::vector<int64_t> trials;
  std::vector<double> rate, shrunk_rate, benchmark;
  std::vector<double> expected, shortfall, shrunk_shortfall, shortfall_lower, shortfall_upper;
  std::vector<double> probability_real, downstream_win, average_value;
  std::vector<double> dollars, shrunk_dollars, dollars_lower, dollars_upper;
  std::vector<double> unit_level, own_benchmark, own_shortfall, own_probability;
  std::vector<uint8_t> flagged;
  std::vector<int32_t> rank;  // 1 = the largest shrunk_dollars
  size_t size() const { return unit.size(); }
};

struct LeakAssessment {
  std::vector<std::string> stage_names;  // open stages, then "Won", "Lost"
  int32_t num_open = 0;
  std::vector<std::string> unit_names;
  Benchmark benchmark = Benchmark::kTeamMedian;
  // Per open stage (current cohort): the prior and, except for kOwnPast, the benchmark.
  std::vector<double> pooled_rate, concentration, stage_benchmark;
  std::vector<int64_t> stage_units;  // units with n >= 1 at the stage
  LeakRows rows;
  // Per unit: the gap identity's terms, in deals; then dollars.
  std::vector<double> benchmark_wins;  // Σ entrants_k D_{k-1}
  std::vector<double> pending_wins;    // Σ pending_k D_{k-1}
  std::vector<int64_t> won;
  std::vector<double> gap, gap_dollars, shrunk_gap_dollars, chance_dollars, average_value;
  // Lost counts by reason, current cohort: long form, rows with a non-zero count.
  struct ReasonRow {
    int32_t unit, stage;
    std::string reason;
    bool disqualified;
    int64_t deals;
  };
  std::vector<ReasonRow> reasons;
};

// InvalidArgument, naming the option, for a target of the wrong length or outside
// [0, 1], kOwnPast without cohort_from, or an option out of range; a disqualify
// reason that no deal has is allowed (it just counts nothing).
absl::StatusOr<LeakAssessment> AssessLeaks(const LeakCounts& counts, const LeakOptions& options = {});

// The empirical-Bayes concentration alone (exposed for tests and for other metrics):
// the κ above for these per-unit converted and trial counts (units with n = 0 are
// ignored). InvalidArgument when sizes differ or some x > n or a count is negative.
absl::StatusOr<double> BetaBinomialConcentration(std::span<const int64_t> converted,
                                                 std::span<const int64_t> trials);

}  // namespace salesperf

#endif  // SALESPERF_LEAKS_H_
