// salesperf/timelines.h — running a StageMachine over an EventLog: per-deal stage
// timelines and the table of stage transitions.
//
//   absl::StatusOr<salesperf::StageMachine> machine = salesperf::Compile(model, log);
//   absl::StatusOr<salesperf::Timelines> t = salesperf::RunStages(*machine, log);
//   t->outcome[d];                               // Outcome::kWon, ...
//   t->first_entered[d * t->num_stages() + s];   // when deal d first entered stage s
//
// The semantics are those of salesperf/stage_model.h. Deals are independent, so the
// run splits them across threads; the result is identical for any thread count.
#ifndef SALESPERF_TIMELINES_H_
#define SALESPERF_TIMELINES_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "salesperf/column.h"
#include "salesperf/event_log.h"
#include "salesperf/stage_model.h"

namespace salesperf {

enum class Outcome : uint8_t { kOpen = 0, kWon = 1, kLost = 2, kStalled = 3, kExcluded = 4 };
std::string_view OutcomeName(Outcome o);  // "open", "won", "lost", "stalled", "excluded"

enum class TransitionKind : uint8_t {
  kProgressed = 0,  // to the next open stage
  kSkipped = 1,     // to a higher open stage, passing over others
  kRegressed = 2,   // back to a lower stage (regress rule, kRecord)
  kReopened = 3,    // from Won or Lost back to an open stage
  kWon = 4,
  kLost = 5,
  kExcluded = 6,
};
std::string_view TransitionKindName(TransitionKind k);

// Lost reason when a stalled deal was closed at the horizon (not an action code).
inline constexpr int32_t kReasonStalled = -2;

struct RunOptions {
  std::optional<int64_t> as_of;  // when stalls are judged; default: the last event time
  int threads = 0;               // 0 = every core
};

struct Timelines {
  std::vector<std::string> stage_names;  // open stages, then "Won", "Lost"
  int32_t num_open = 0;
  int32_t num_stages() const { return static_cast<int32_t>(stage_names.size()); }
  int64_t as_of = 0;
  // Per open stage: the stall limit used (nanoseconds), -1 when the stage has none.
  std::vector<int64_t> stall_limit;

  // Per deal (indexed by the log's deal code).
  Column<int32_t> current_stage;  // last open stage reached (-1: none); kept when closed
  Column<uint8_t> outcome;        // Outcome
  Column<int64_t> outcome_time;   // won/lost/excluded: when; stalled: since; open: kNullInstant
  Column<int32_t> lost_reason;    // action code; kReasonStalled; -1 when not lost
  Column<double> value;           // last non-missing amount, NaN if none
  // Deals in an open stage after their last event (so also those now stalled, or
  // closed as stalled): the later of the current visit's start and the last buyer
  // action, which stalls are judged from; kNullInstant otherwise.
  Column<int64_t> quiet_since;
  // Deals closed as stalled: their stage's last_left before the close, so that an
  // update can undo the close; kNullInstant otherwise.
  Column<int64_t> left_before_close;

  // Per deal and stage, deal-major: index d * num_stages() + s. kNullInstant when never.
  Column<int64_t> first_entered;
  Column<int64_t> last_left;

  // Transitions, ordered by deal, then time, then the order they happened in.
  struct Transitions {
    Column<int32_t> deal, from, to;  // from = -1 when the deal had no stage
    Column<int64_t> time;
    Column<uint8_t> kind;            // TransitionKind
    Column<uint8_t> in_window;       // 0 when it left a windowed stage upwards too late
    Column<int32_t> action;          // the event's action code; -1 for a stall close
    size_t size() const { return time.size(); }
    void Add(int32_t d, int32_t f, int32_t t, int64_t when, TransitionKind k, bool in_win, int32_t a) {
      deal.push_back(d);
      from.push_back(f);
      to.push_back(t);
      time.push_back(when);
      kind.push_back(static_cast<uint8_t>(k));
      in_window.push_back(in_win ? 1 : 0);
      action.push_back(a);
    }
    friend bool operator==(const Transitions&, const Transitions&) = default;
  } transitions;

  friend bool operator==(const Timelines&, const Timelines&) = default;
};

// Runs `machine` (compiled against `log`) over every deal of `log`.
absl::StatusOr<Timelines> RunStages(const StageMachine& machine, const EventLog& log,
                                    const RunOptions& options = {});

// The timelines of a log that grew by a batch (AppendEvents), recomputing only the
// deals the batch touched: `log` is Appended::log, `previous` the timelines of the
// base log under the same model, `touched` is Appended::touched_deals. Untouched deals
// are taken from `previous`; stalls are judged again for every deal at the new as_of.
// Gives exactly RunStages(machine, log, options). FailedPrecondition when a stage has
// a percentile stall limit (it depends on every deal: run RunStages instead) or when
// `previous` does not fit the machine and log.
absl::StatusOr<Timelines> UpdateStages(const StageMachine& machine, const EventLog& log,
                                       const Timelines& previous, std::span<const int32_t> touched,
                                       const RunOptions& options = {});

}  // namespace salesperf

#endif  // SALESPERF_TIMELINES_H_
