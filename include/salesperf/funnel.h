// salesperf/funnel.h — the funnel as an absorbing Markov chain: per unit and for the
// whole organisation, the stage-to-stage transition matrix, each stage's probability
// of ending Won and expected time to close, and the expected value of the open
// pipeline.
//
//   absl::StatusOr<salesperf::FunnelCounts> counts =
//       salesperf::CountFunnel(log, timelines, units);       // mergeable, per unit
//   absl::StatusOr<salesperf::FunnelChain> org = salesperf::SolveFunnel(*counts, -1);
//   org->win_probability[k];        // P(Won | the deal is in open stage k now)
//   org->expected_days_to_close[k]; // E[days until Won or Lost | in stage k]
//   absl::StatusOr<salesperf::FunnelChain> c =
//       salesperf::SolveMoves(stage_names, num_open, moves);  // from the caller's moves
//
// ===================================================================================
// DEFINITIONS
// ===================================================================================
// States: the open stages 0..O-1 are transient; Won (O) and Lost (O+1) absorb. The
// chain is the jump chain of the deals' stage changes: only changes that happened
// count, so open deals contribute the moves they made and nothing for where they are.
// From Timelines::transitions, for the deal's unit:
//   moves[i][j]   transitions with from = i (an open stage) and to = j (an open stage,
//                 Won or Lost), any kind but kExcluded and kReopened: kProgressed,
//                 kSkipped, kRegressed, kWon, kLost (stall closes included).
//   Transitions from no stage (-1), from Won or Lost (reopenings), and exclusions are
//   not moves of the chain; they are counted in `ignored` so the accounting is whole:
//   every transition is a move or ignored.
//   dwell_ns[i], dwell_visits[i]  time spent in open stage i on the visits that ended
//                 with a move out of i: for consecutive transitions a, b of the same
//                 deal with a.to = i and b.from = i, b.time - a.time. (Under
//                 Regression::kFollow a move back has no transition row; a visit whose
//                 next row does not start from i is not counted.)
//   open_deals[i], open_valued[i], open_dollars[i]  deals whose outcome at as_of is
//                 open or stalled and whose current stage is i; those with a value, and
//                 the sum of their values in fixed point (kDollarScale, exact).
// Solving (SolveFunnel, and SolveMoves for a moves matrix alone), with n_i = Σ_j moves[i][j]:
//   P[i][j] = moves[i][j] / n_i. Q = P over transient columns, R over Won, Lost.
//   N = (I - Q)^-1 (fundamental matrix), B = N R: B[i][0] = win probability from i,
//   B[i][1] = loss probability. h_i = dwell_ns[i] / dwell_visits[i] in days; expected
//   time to close from i = (N h)_i.
//   A stage with n_i = 0 has no data: its row of P is NaN, and so are the win
//   probability and expected time of every stage from which the chain can reach it
//   (its absorption would be unknown). Likewise a stage with moves but no measured
//   dwell time gives NaN expected times for every stage that can reach it.
//   Expected open pipeline value = Σ_i open_dollars[i] × win_probability[i] over stages
//   with a win probability; open deals in a NaN stage are counted in
//   `open_deals_unpriced`.
//   `I - Q` is singular when some set of stages is never left (a closed loop of
//   regressions with no exit): those stages, the stages with moves that cannot reach
//   Won or Lost, are then NaN too, and so is every stage that can reach them, as for a
//   stage with no data. The chain is solved over the remaining stages, which move only
//   among themselves and to Won or Lost, by state reduction (Grassmann-Taksar-Heyman),
//   not by inverting `I - Q`: no subtraction, so nearly singular chains (stages deals
//   almost never leave) keep full relative precision. Win and loss probabilities lie
//   in [0, 1] and sum to 1 to within a few ulps (docs/funnel.md). A stage whose
//   figures underflow the double range is NaN.
//   Open dollars are summed like Indicators' (each value rounded half away from zero
//   to 1/kDollarScale, summed in 128 bits); a value of magnitude 9e14 or more is an
//   InvalidArgument naming the deal.
#ifndef SALESPERF_FUNNEL_H_
#define SALESPERF_FUNNEL_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "salesperf/event_log.h"
#include "salesperf/indicators.h"
#include "salesperf/timelines.h"

namespace salesperf {

// The counts behind the chain, per unit: a mergeable accumulator like Indicators.
// Units sorted by name and kept only when they hold a move, a visit or an open deal,
// so that splitting the deals of a log in any way and merging the parts gives an
// accumulator equal (operator==, and byte for byte) to the single-pass one. The unit
// kind of an accumulator without units is taken from the next Update or Merge.
class FunnelCounts {
 public:
  static constexpr uint32_t kFormatVersion = 1;

  FunnelCounts() = default;

  // An empty accumulator for these stages (open stages, then "Won", "Lost").
  static absl::StatusOr<FunnelCounts> Create(std::vector<std::string> stage_names, int32_t num_open);

  // Adds every deal of `log` with its `timelines` and `units`. FailedPrecondition when
  // the timelines' stages differ from this accumulator's, the units' kind differs from
  // that of an accumulator holding units, or the timelines or units do not fit the log;
  // InvalidArgument for an open deal's value too large for the fixed-point sums.
  absl::Status Update(const EventLog& log, const Timelines& timelines, const Units& units);
  // FailedPrecondition when the stages or unit kinds differ (a kind "" merges with any);
  // OutOfRange, naming the unit and the count, when a sum would overflow (int64
  // counts, Int128 sums: only deserialized states come near). On error *this is
  // unchanged.
  absl::Status Merge(const FunnelCounts& other);

  // Byte format: WrapState (salesperf/state.h) with magic "SPFUN\0\0\1", payload:
  //   u32 num_stages, num_open; str stage names...; str unit kind; u32 num_units;
  //   str names...; then per unit: i64 moves[O][O+2] (row-major); per open stage
  //   i64 dwell_ns_lo, dwell_ns_hi (the int128 sum), dwell_visits; per open stage
  //   i64 open_deals, open_valued, open_dollars lo, hi; then i64 ignored.
  //   Deserialize: DataLoss for truncated or corrupted bytes and for contents that no
  //   Update could produce (units unsorted, repeated or empty, negative counts, more
  //   valued than open deals, ...); FailedPrecondition for another version. The
  //   default-constructed object (no stages) is num_stages = num_open = 0 and nothing
  //   else, and reads back equal.
  std::string Serialize() const;
  static absl::StatusOr<FunnelCounts> Deserialize(std::string_view bytes);
  friend bool operator==(const FunnelCounts&, const FunnelCounts&) = default;

  const std::vector<std::string>& stage_names() const { return stage_names_; }
  int32_t num_open() const { return num_open_; }
  const std::string& unit_kind() const { return unit_kind_; }
  const std::vector<std::string>& unit_names() const { return unit_names_; }
  int32_t num_units() const { return static_cast<int32_t>(unit_names_.size()); }
  // unit u, from open stage i, to stage j (0..num_stages-1).
  int64_t moves(int32_t u, int32_t i, int32_t j) const;
  Int128 dwell_ns(int32_t u, int32_t i) const;
  int64_t dwell_visits(int32_t u, int32_t i) const;
  int64_t open_deals(int32_t u, int32_t i) const;
  int64_t open_valued(int32_t u, int32_t i) const;
  Int128 open_dollars_fixed(int32_t u, int32_t i) const;
  int64_t ignored() const { return ignored_; }  // transitions that are not moves

 private:
  friend class FunnelBuilder;
  std::vector<std::string> stage_names_;
  int32_t num_open_ = 0;
  std::string unit_kind_;
  std::vector<std::string> unit_names_;
  std::vector<int64_t> moves_;        // units x O x (O + 2)
  std::vector<Int128> dwell_ns_;      // units x O
  std::vector<int64_t> dwell_visits_; // units x O
  std::vector<int64_t> open_deals_;   // units x O
  std::vector<int64_t> open_valued_;  // units x O
  std::vector<Int128> open_dollars_;  // units x O
  int64_t ignored_ = 0;
};

absl::StatusOr<FunnelCounts> CountFunnel(const EventLog& log, const Timelines& timelines,
                                         const Units& units);

// The solved chain of one unit, or of the whole organisation (every unit summed).
struct FunnelChain {
  std::vector<std::string> stage_names;
  int32_t num_open = 0;
  std::vector<int64_t> moves;               // O x (O + 2), row-major
  std::vector<double> probability;          // O x (O + 2), row-major; NaN rows: no data
  std::vector<double> win_probability;      // per open stage
  std::vector<double> loss_probability;     // per open stage
  std::vector<double> mean_days_in_stage;   // h_i
  std::vector<double> expected_days_to_close;
  std::vector<int64_t> open_deals;          // per open stage
  double open_dollars = 0;                  // Σ values of open deals
  double expected_open_value = 0;           // Σ open dollars × win probability
  int64_t open_deals_unpriced = 0;          // open deals in stages with no win probability
};

// unit = an index into counts.unit_names(), or -1 for the organisation.
// InvalidArgument for a unit out of range; OutOfRange, naming the stage, when the
// organisation's sums over units (or the open dollars over stages) do not fit.
absl::StatusOr<FunnelChain> SolveFunnel(const FunnelCounts& counts, int32_t unit);

// The chain of a moves matrix alone (O x (O + 2), row-major, as FunnelChain::moves),
// for moves the caller counted (e.g. only those before some time), solved exactly as
// SolveFunnel solves it (one shared solver). dwell_ns and dwell_visits, per open
// stage, give the expected times; when both are empty no stage has dwell data, so
// mean_days_in_stage and expected_days_to_close are NaN. The result has no open
// deals (open_deals 0, open_dollars and expected_open_value 0). InvalidArgument when
// the stage names do not hold num_open open stages plus Won and Lost, a size differs,
// or a count is negative.
absl::StatusOr<FunnelChain> SolveMoves(std::vector<std::string> stage_names, int32_t num_open,
                                       std::span<const int64_t> moves, std::span<const Int128> dwell_ns = {},
                                       std::span<const int64_t> dwell_visits = {});

}  // namespace salesperf

#endif  // SALESPERF_FUNNEL_H_
